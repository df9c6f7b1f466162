"""A real uvicorn server on 127.0.0.1 (a free port) running a tokenprism app in a background thread,
for the web tests: real HTTP, real sockets, and the app object at hand to look at its state."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterator

import httpx


class LiveServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """Server-sent events of a streamed httpx response, as (event, data) pairs."""
    event, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


def start_serve(args: list[str], env: dict[str, str], *, wait_s: float = 90) -> tuple[Any, str]:
    """`tokenprism serve ARGS` as a subprocess on a free port of 127.0.0.1: (the process, its URL), once
    /api/config answers. The caller terminates the process."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tokenprism", "serve", "--port", str(port), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            httpx.get(url + "api/config", timeout=2).raise_for_status()
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"tokenprism serve did not start: {proc.stderr.read()[-2000:]}") from None
            time.sleep(0.25)
