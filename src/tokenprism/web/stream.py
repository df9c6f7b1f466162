"""Generation as server-sent events: the library's `Run` (run.py) is iterated in its own thread,
each `Step` is sent as it is made with the text it completes, and the run is cancelled when the
client goes away or the time limit passes.

Events: ``prompt`` (the prompt's tokens), one ``step`` per new token, then ``done`` (why it stopped,
the new text) or ``error``. One thread per generation, because torch's inference mode is per thread:
the whole loop must run in the thread that entered it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from ..errors import TokenprismError
from .config import scrub_paths
from .payload import step_payload

if TYPE_CHECKING:
    from ..run import Run

__all__ = ["sse", "StepRun", "stream_steps", "GenerationSlots"]


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (JSON data on one line; ensure_ascii keeps lone surrogates sendable)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=True, separators=(',', ':'))}\n\n".encode("ascii")


class GenerationSlots:
    """At most `limit` generations at once; a slot is taken before streaming starts and given back
    when the generation's thread really ends (not merely when its client left)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.running = 0
        self.last_steps = 0  # steps the last finished generation made (a stopped one makes few)

    def try_take(self) -> bool:
        if not self._free.acquire(blocking=False):
            return False
        with self._lock:
            self.running += 1
        return True

    def give_back(self, *, steps: int = 0) -> None:
        with self._lock:
            self.running -= 1
            self.last_steps = steps
        self._free.release()


@dataclass
class StepRun:
    """One generation on the server: `make` builds the library's `Run` (called in the worker thread);
    `deadline_s` bounds its wall time."""

    make: Callable[[], Run]
    deadline_s: float
    slots: GenerationSlots
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False  # the worker thread was started (and will give the slot back)


def _worker(run: StepRun, put: Callable[[tuple[str, Any]], None]) -> None:
    started = time.monotonic()
    made = 0
    try:
        steps = run.make()
        for step in steps:
            made += 1
            put(("step", (step, steps.delta)))
            # Checked between steps: one forward pass is the most a stop or a timeout waits for.
            if run.stop.is_set():
                steps.cancel("interrupted")
            elif time.monotonic() - started > run.deadline_s:
                steps.cancel("time")
        put(("end", steps))
    except TokenprismError as exc:
        put(("error", scrub_paths(str(exc))))
    except Exception as exc:  # noqa: BLE001 - a model can fail in many ways; the page gets one line
        put(("error", f"generation failed ({type(exc).__name__}); see the server's log"))
        raise
    finally:
        run.slots.give_back(steps=made)


async def stream_steps(run: StepRun, first: dict[str, Any], finish: Callable[[Run], dict[str, Any]]) -> AsyncIterator[bytes]:
    """The event stream of one generation. `first` is sent as the ``prompt`` event; `finish(run)`
    makes the ``done`` event's data from the finished run. If the client disconnects, the stream is cancelled and the
    `finally` tells the worker to stop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the server shut down under us
            run.stop.set()

    thread = threading.Thread(target=_worker, args=(run, put), name="tokenprism-generate", daemon=True)
    run.started = True
    thread.start()
    try:
        yield sse("prompt", first)
        while True:
            kind, value = await queue.get()
            if kind == "step":
                yield sse("step", step_payload(*value))
            elif kind == "end":
                yield sse("done", finish(value))
                return
            else:
                yield sse("error", {"error": value})
                return
    finally:
        run.stop.set()
