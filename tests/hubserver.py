"""A minimal stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1, serving real files.

huggingface_hub talks to it through HF_ENDPOINT exactly as it talks to the Hub: repo info at
/api/models/{repo}/revision/{rev}, files at /{repo}/resolve/{rev}/{path} (HEAD for metadata, GET for
bytes). Only what snapshot_download uses is implemented.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer:
    def __init__(self, repos: dict[str, dict[str, Path]]) -> None:
        self.repos = repos
        self.requests: list[str] = []
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes, headers: dict[str, str], head: bool) -> None:
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _route(self, head: bool) -> None:
                path = unquote(urlparse(self.path).path)
                server.requests.append(f"{self.command} {path}")
                if path.startswith("/api/models/") and "/tree/" in path:
                    repo = path[len("/api/models/"):].split("/tree/")[0]
                    files = server.repos.get(repo, {})
                    tree = [{"type": "file", "path": n, "size": p.stat().st_size,
                             "oid": hashlib.sha1(p.read_bytes()).hexdigest()} for n, p in files.items()]
                    return self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, head)
                if path.startswith("/api/models/"):
                    repo = path[len("/api/models/"):].split("/revision/")[0]
                    if repo not in server.repos:
                        return self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, head)
                    info = {"id": repo, "sha": COMMIT, "siblings": [{"rfilename": n} for n in server.repos[repo]]}
                    return self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"}, head)
                for repo, files in server.repos.items():
                    prefix = f"/{repo}/resolve/"
                    if path.startswith(prefix):
                        name = path[len(prefix):].split("/", 1)[1]
                        if name not in files:
                            return self._send(404, b"", {"X-Error-Code": "EntryNotFound"}, head)
                        body = files[name].read_bytes()
                        etag = hashlib.sha256(body).hexdigest()
                        return self._send(200, body, {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}, head)
                return self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)

            def do_GET(self) -> None:
                self._route(head=False)

            def do_HEAD(self) -> None:
                self._route(head=True)

        return Handler
