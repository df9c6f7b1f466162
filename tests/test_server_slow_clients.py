"""A server no slow client can lock (issue 16): a real uvicorn on 127.0.0.1 started with the settings
`tokenprism serve` uses (web/server.py), raw sockets for the clients that misbehave, httpx for the
normal ones. Every wait is bounded."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Iterator

import httpx
import pytest

from tokenprism.web import create_app
from tokenprism.web.server import HEADER_TIMEOUT_S, KEEP_ALIVE_S, uvicorn_config
from web_live import LiveServer


class DeadlineServer(LiveServer):
    """`create_app` behind `uvicorn_config` (what `serve` runs), in a thread, on a free port."""

    def __init__(self, app: Any, **config: Any) -> None:
        import uvicorn

        self.app = app
        self.server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=0, lifespan="off", **config))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return sock

    def head(self, method: str = "POST", path: str = "/api/tokenize", length: int = 100) -> bytes:
        return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\ncontent-type: application/json\r\n"
                f"content-length: {length}\r\n\r\n").encode()


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(tokenizers=["prism-tiny"], models=["prism-tiny"])


@pytest.fixture()
def server(app: Any) -> Iterator[DeadlineServer]:
    with DeadlineServer(app) as live:
        yield live


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    start, data = time.monotonic(), b""
    sock.settimeout(limit_s)
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            pytest.fail(f"the connection was still open after {limit_s} s")
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - start


def json_body(response: bytes) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return json.loads(body)


def test_a_half_sent_header_is_answered_408_and_closed_within_30_s(server: DeadlineServer) -> None:
    sock = server.connect()
    sock.sendall(server.head()[:40])  # "POST /api/tokenize HTTP/1.1\r\nHost: 127.0…"
    response, took = read_until_closed(sock, 30)
    assert response.startswith(b"HTTP/1.1 408")
    assert "header did not arrive" in json_body(response)["error"]
    assert HEADER_TIMEOUT_S - 1 <= took < 30


def test_a_connection_that_never_speaks_is_closed(server: DeadlineServer) -> None:
    response, took = read_until_closed(server.connect(), 30)
    assert response == b"" and took < 30


def test_an_idle_keep_alive_connection_is_closed_and_so_is_a_late_half_header(app: Any) -> None:
    with DeadlineServer(app, keep_alive_s=2.0) as live:
        sock = live.connect()
        sock.sendall(f"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n\r\n".encode())
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        response, took = read_until_closed(sock, 30)
        assert took < 10
        # after a response, half of the next header is not a way to stay
        sock = live.connect()
        sock.sendall(f"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n\r\n".encode())
        sock.recv(65536)
        time.sleep(0.5)
        sock.sendall(b"GET /api/con")
        response, took = read_until_closed(sock, 30)
        assert response.startswith(b"HTTP/1.1 408") and took < 10


def test_a_body_that_does_not_arrive_is_answered_408_json_and_closed(app: Any) -> None:
    with DeadlineServer(create_app(tokenizers=["prism-tiny"], body_timeout_s=2.0)) as live:
        sock = live.connect()
        sock.sendall(live.head(length=50) + b'{"te')
        response, took = read_until_closed(sock, 30)
        assert response.startswith(b"HTTP/1.1 408")
        assert "body did not arrive within 2 s" in json_body(response)["error"]
        assert 1.5 <= took < 10


def test_seventy_trickling_clients_leave_room_for_normal_requests(server: DeadlineServer) -> None:
    """The bar: 70 connections that send a header, then one byte every 5 s; at least 8 of 10 normal
    requests succeed meanwhile (the concurrency limit, 64, counts only requests whose body is in)."""
    socks = []
    for _ in range(70):
        sock = server.connect()
        sock.sendall(server.head(length=1000))
        socks.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(5):
            for sock in socks:
                try:
                    sock.sendall(b" ")
                except OSError:
                    pass

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1)
        ok = 0
        with httpx.Client(base_url=server.url, timeout=20) as client:
            for i in range(10):
                reply = client.post("/api/tokenize", json={"text": f"normal request {i}"})
                ok += reply.status_code == 200
        assert ok >= 8, f"only {ok} of 10 normal requests succeeded under 70 trickling connections"
        # and the tricklers themselves are answered (408, JSON) and let go within the body timeout
        answers = [read_until_closed(sock, 30)[0] for sock in socks[:5]]
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers)
    finally:
        stop.set()
        for sock in socks:
            sock.close()


def test_a_backend_panic_is_a_json_error(app: Any, tmp_path: Any) -> None:
    """A tokenizer whose files pass the load checks but make the Rust library panic at encode (here a
    Replace normaliser put in place behind the checks' back): one JSON line, 422; never plain text."""
    from tokenizers import Tokenizer as RawTokenizer

    from tokenprism.tokenizers import registry
    from tokenprism.tokenizers.hf import HFTokenizer

    data = json.loads((registry.bundled_path("prism-tiny") / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"] = {"type": "Replace", "pattern": {"Regex": "\\b"}, "content": "Q"}
    spec = str(tmp_path / "panics")
    registry._cache[(spec, None, None)] = HFTokenizer(RawTokenizer.from_str(json.dumps(data)), name="panics", source=spec)
    try:
        with DeadlineServer(create_app(tokenizers=[spec])) as live, httpx.Client(base_url=live.url, timeout=20) as client:
            reply = client.post("/api/tokenize", json={"text": "hello world", "tokenizer": spec})
            assert reply.status_code == 422
            assert reply.headers["content-type"] == "application/json"
            assert "failed to encode" in reply.json()["error"] and "\n" not in reply.json()["error"]
    finally:
        registry._cache.pop((spec, None, None), None)


def test_what_escapes_the_app_is_a_json_500(tmp_path: Any) -> None:
    """pyo3's PanicException derives from BaseException, which the framework's handlers never see."""

    class Panic(BaseException):
        pass

    app = create_app(tokenizers=["prism-tiny"])

    @app.get("/boom")
    async def boom() -> None:
        raise Panic("a backend panicked")

    with DeadlineServer(app) as live, httpx.Client(base_url=live.url, timeout=20) as client:
        reply = client.get("/boom")
        assert reply.status_code == 500 and reply.headers["content-type"] == "application/json"
        assert reply.json() == {"error": "internal error; see the server's log"}
        assert client.get("/api/config").status_code == 200  # and the server goes on


def test_errors_never_list_a_folder(tmp_path: Any) -> None:
    folder = tmp_path / "not-a-tokenizer"
    folder.mkdir()
    for name in ("secret-plans.txt", "passwords.csv"):
        (folder / name).write_text("x")
    with DeadlineServer(create_app(tokenizers=["prism-tiny"], allow_local_paths=True)) as live, \
            httpx.Client(base_url=live.url, timeout=20) as client:
        reply = client.post("/api/tokenize", json={"text": "hi", "tokenizer": str(folder)})
        assert reply.status_code == 404
        message = reply.json()["error"]
        assert "secret-plans" not in message and "passwords" not in message
        assert str(tmp_path) not in message  # the server's own paths are scrubbed


def test_success_bodies_name_tokenizers_as_configured(tmp_path: Any) -> None:
    """A tokenizer configured by a relative path is shown by that name (or its short label), never by
    the absolute path the server resolved it to."""
    from conftest import fixture

    gpt2 = fixture("tokenizers/gpt2")
    link = tmp_path / "gpt2"
    link.symlink_to(gpt2)
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        app = create_app(tokenizers=["./gpt2", "prism-tiny"])
        with DeadlineServer(app) as live, httpx.Client(base_url=live.url, timeout=20) as client:
            bodies = [
                client.get("/api/config").text,
                client.post("/api/tokenize", json={"text": "hi there", "tokenizer": "./gpt2"}).text,
                client.get("/api/info", params={"tokenizer": "./gpt2"}).text,
                client.get("/api/info", params={"tokenizer": "prism-tiny"}).text,
                client.post("/api/compare", json={"text": "hi there"}).text,
                client.post("/api/explain-token", json={"text": "hi there", "index": 0, "tokenizer": "./gpt2"}).text,
            ]
    finally:
        os.chdir(here)
    for body in bodies:
        assert str(tmp_path) not in body and str(gpt2.parent) not in body and "site-packages" not in body, body[:300]


def test_max_new_tokens_above_the_cap_is_capped_with_a_note(app: Any) -> None:
    """Asking for more than the server's cap (256, prism-tiny's whole window) is capped to what fits
    beside the prompt, with a note, not refused."""
    with DeadlineServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        with client.stream("POST", "/api/generate", json={"prompt": "def add(a, b):", "max_new_tokens": 100_000}) as reply:
            assert reply.status_code == 200
            first = next(line for line in reply.iter_lines() if line.startswith("data: "))
        prompt = json.loads(first[6:])
        assert 0 < prompt["max_new_tokens"] <= 256 - len(prompt["ids"])
        assert any("capped" in note for note in prompt["notes"])


def test_the_settings_serve_passes_are_the_defaults_here() -> None:
    assert HEADER_TIMEOUT_S <= 30 and KEEP_ALIVE_S <= 30
