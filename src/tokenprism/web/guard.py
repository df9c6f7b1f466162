"""The door every request passes before the app sees it (a plain ASGI middleware, no buffering tricks):

1. the Host header must name this server (localhost, 127.0.0.1 or [::1] with its port), so a web page
   on another site cannot reach it through DNS rebinding → 421; a browser request sent by another
   site's page (its Origin header) → 403;
2. a body larger than the limit is refused with 413, whether its Content-Length says so or the bytes
   that actually arrive do (a chunked upload has no Content-Length); a body that does not arrive
   within the body timeout is answered 408 and its connection closed (a client trickling a byte at a
   time holds nothing for long);
3. past the concurrency limit a request is answered 429 at once, rather than queued without bound;
   only requests whose body has arrived count, so slow senders cannot fill the slots;
4. whatever the app raises that it did not answer itself (a backend panic is a BaseException, which
   the framework's handlers never see) becomes a JSON 500: every answer is JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

import anyio

__all__ = ["Guard", "error_json", "host_problem", "LOOPBACK_NAMES"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_log = logging.getLogger("tokenprism.web")
#: Bytes read past the limit (and dropped) so the client, still sending, can read our 413.
_DRAIN_BYTES = 8_000_000


def error_json(message: str) -> bytes:
    """The one shape of every error body: {"error": "..."}."""
    return json.dumps({"error": message}, ensure_ascii=True).encode("ascii")


def host_problem(scope: Scope, allowed: tuple[str, ...]) -> str | None:
    """Why this request's Host header is refused, or None when it names this server.

    >>> host_problem({"headers": [(b"host", b"localhost:8000")], "server": ("127.0.0.1", 8000)}, ())
    >>> host_problem({"headers": [(b"host", b"evil.example:8000")], "server": ("127.0.0.1", 8000)}, ())
    'the Host header names evil.example, not this server; open the page at http://127.0.0.1:8000/'
    """
    raw = next((v for k, v in scope.get("headers", ()) if k == b"host"), None)
    server = scope.get("server") or ("127.0.0.1", 80)
    origin = f"http://{_url_host(server[0])}:{server[1]}/"
    if raw is None:
        return f"no Host header; open the page at {origin}"
    name, port = split_host(raw.decode("latin-1").strip().lower())
    if name not in LOOPBACK_NAMES and name not in allowed:
        return f"the Host header names {name or 'nothing'}, not this server; open the page at {origin}"
    if port is not None and server[1] is not None and port != int(server[1]):
        return f"the Host header names port {port}, not this server's {server[1]}; open the page at {origin}"
    return None


def origin_problem(scope: Scope, allowed: tuple[str, ...]) -> str | None:
    """A browser names the page that sent a request in Origin: refuse other sites' pages, so that a
    form on some web site cannot make this server work (it could not read the answer anyway)."""
    raw = next((v for k, v in scope.get("headers", ()) if k == b"origin"), None)
    if raw is None:
        return None
    value = raw.decode("latin-1").strip().lower()
    scheme, _, rest = value.partition("://")
    name, port = split_host(rest.rstrip("/"))
    server_port = (scope.get("server") or ("", None))[1]
    if scheme == "http" and (name in LOOPBACK_NAMES or name in allowed) and port == server_port:
        return None
    return f"requests from other sites' pages ({value[:80]}) are refused"


def split_host(value: str) -> tuple[str, int | None]:
    """"[::1]:8000" → ("::1", 8000); "localhost" → ("localhost", 80)."""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = value.partition(":")
    if not port_text:
        return name, 80
    return (name, int(port_text)) if port_text.isdigit() else ("", None)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


#: Sent with every answer: the page may load only its own files and talk only to its own server, so
#: even a token string that slipped past escaping could not load or run anything.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class Guard:
    """ASGI middleware: Host check, concurrency limit, body size limit (see the module docstring)."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_body_bytes: int, concurrency_limit: int,
                 allowed_hosts: tuple[str, ...] = (), body_timeout_s: float = 10.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.concurrency_limit = concurrency_limit
        self.body_timeout_s = body_timeout_s
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.active = 0  # requests inside the app now; only touched on the event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = with_headers(send, SECURITY_HEADERS)
        problem = host_problem(scope, self.allowed_hosts)
        if problem is not None:
            await respond(send, 421, problem)
            return
        problem = origin_problem(scope, self.allowed_hosts)
        if problem is not None:
            await respond(send, 403, problem)
            return
        if scope["method"] in _BODY_METHODS:
            body = await self._body(scope, receive, send)
            if body is None:  # answered already (413, 408)
                return
            receive = replay(body, receive)
        if self.active >= self.concurrency_limit:
            await respond(send, 429, f"the server is busy ({self.concurrency_limit} requests at once); try again in a moment",
                          headers=[(b"retry-after", b"1")])
            return
        self.active += 1
        try:
            await self._run(scope, receive, send)
        finally:
            self.active -= 1

    async def _body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The request's whole body, or None once it has been answered: too large (413), or not all
        there within the body timeout (408, and the connection closed)."""
        too_big = f"the request body is larger than {self.max_body_bytes:,} bytes; send less text"
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await respond(send, 413, too_big)
            return None
        try:
            with anyio.fail_after(self.body_timeout_s):
                body = await read_body(receive, self.max_body_bytes)
        except TimeoutError:
            await respond(send, 408, f"the request body did not arrive within {self.body_timeout_s:g} s; send it at once",
                          headers=[(b"connection", b"close")])
            return None
        if body is None:
            await respond(send, 413, too_big)
        return body

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app; what escapes it unanswered is a JSON 500 (the framework answers plain text)."""
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
            if started:
                raise  # answered (the app's own 500) or half sent: the server logs it and closes the connection
            _log.exception("unanswered error on %s", scope.get("path"))
            await respond(send, 500, "internal error; see the server's log")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once more than `limit` bytes arrived (the rest, up to a bound, is
    read and dropped so that a client still sending can read the answer)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        size += len(message.get("body", b""))
        if size <= limit:
            chunks.append(message.get("body", b""))
        elif size > limit + _DRAIN_BYTES:
            return None
        if not message.get("more_body", False):
            return b"".join(chunks) if size <= limit else None


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then listens on (for http.disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive_again() -> Message:
        return pending.pop() if pending else await receive()

    return receive_again


def with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return send_with_headers


async def respond(send: Send, status: int, message: str, *, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_json(message)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})
