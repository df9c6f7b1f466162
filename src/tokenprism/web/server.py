"""How `tokenprism serve` runs the app: uvicorn, with deadlines no slow client can stretch.

uvicorn closes a connection that sits idle after a response (its keep-alive timeout), but it waits
forever for a request header that never ends, and for a connection that never sends one: a few dozen
such clients would hold the server. Here every connection must finish a request header within
`header_timeout_s` of opening, and within `keep_alive_s` of the previous response (idle connections
are closed then too); a connection that runs out of time with half a header gets a JSON 408 and is
closed. A request whose header has arrived is the app's: the Guard (guard.py) gives its body
`body_timeout_s`, and counts it against the concurrency limit only once the body is in.

>>> config = uvicorn_config(create_app(tokenizers=["prism-tiny"]), host="127.0.0.1", port=8000)   # doctest: +SKIP
>>> uvicorn.Server(config).run()                                                                  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from typing import Any

from .guard import error_json

__all__ = ["uvicorn_config", "deadline_protocol", "HEADER_TIMEOUT_S", "KEEP_ALIVE_S"]

#: Seconds a new connection has to send a whole request header.
HEADER_TIMEOUT_S = 10.0
#: Seconds an idle connection is kept after a response (and the next header must be whole by then).
#: Above a browser's habit of reusing a connection a few seconds later, so a page's POST never races
#: the server closing it.
KEEP_ALIVE_S = 20.0


def _timeout_response(seconds: float) -> bytes:
    body = error_json(f"the request header did not arrive within {seconds:g} s; send it at once")
    head = (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body


class _HeaderDeadline:
    """Mixed into uvicorn's HTTP protocol (httptools or h11, both keep `cycle`, `loop`, `transport`)."""

    header_timeout_s: float = HEADER_TIMEOUT_S

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._deadline: asyncio.TimerHandle | None = None
        self._header_started = False
        self._arm(self.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle  # type: ignore[attr-defined]
        if data and (cycle is None or cycle.response_complete):
            self._header_started = True  # bytes of a request whose header is not whole yet
        super().data_received(data)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._header_started = False
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self._arm(self.timeout_keep_alive)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, seconds)  # type: ignore[attr-defined]

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float) -> None:
        self._deadline = None
        transport, cycle = self.transport, self.cycle  # type: ignore[attr-defined]
        if transport.is_closing() or (cycle is not None and not cycle.response_complete):
            return  # a request is being answered: its body deadline and the app's limits apply
        if self._header_started:
            transport.write(_timeout_response(seconds))
        transport.close()


def deadline_protocol(header_timeout_s: float = HEADER_TIMEOUT_S) -> type[asyncio.Protocol]:
    """uvicorn's own HTTP protocol (httptools where installed, else h11) with the header deadline."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return type("DeadlineHTTPProtocol", (_HeaderDeadline, AutoHTTPProtocol), {"header_timeout_s": header_timeout_s})


def uvicorn_config(app: Any, *, host: str, port: int, header_timeout_s: float = HEADER_TIMEOUT_S,
                   keep_alive_s: float = KEEP_ALIVE_S, **options: Any) -> Any:
    """The uvicorn.Config `serve` runs (and the tests start): the deadlines above, no access log."""
    import uvicorn

    settings = {"log_level": "warning", "access_log": False, **options}
    return uvicorn.Config(app, host=host, port=port, http=deadline_protocol(header_timeout_s),
                          timeout_keep_alive=keep_alive_s, **settings)
