"""Generation as server-sent events: the library's step loop runs in its own thread, each `Step` is
sent as it is made, and the loop stops when the client goes away, when the time limit passes, or when
the model is done.

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
from typing import Any, AsyncIterator, Callable, Iterator

from ..errors import TokenprismError
from .config import scrub_paths
from .payload import step_payload

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
    """One generation: `steps` makes the library's Step iterator (called in the worker thread);
    `label` turns the ids so far into new text; `deadline_s` bounds its wall time."""

    steps: Callable[[], Iterator[Any]]
    new_text: Callable[[int], str]
    deadline_s: float
    slots: GenerationSlots
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False  # the worker thread was started (and will give the slot back)


def _worker(run: StepRun, put: Callable[[tuple[str, Any]], None]) -> None:
    started = time.monotonic()
    reason = "done"
    made = 0
    try:
        for step in run.steps():
            made += 1
            put(("step", step))
            # Checked between steps: one forward pass is the most a stop or a timeout waits for.
            if run.stop.is_set():
                reason = "cancelled"
                break
            if time.monotonic() - started > run.deadline_s:
                reason = "time"
                break
        put(("end", reason))
    except TokenprismError as exc:
        put(("error", scrub_paths(str(exc))))
    except Exception as exc:  # noqa: BLE001 - a model can fail in many ways; the page gets one line
        put(("error", f"generation failed ({type(exc).__name__}); see the server's log"))
        raise
    finally:
        run.slots.give_back(steps=made)


async def stream_steps(run: StepRun, first: dict[str, Any], finish: Callable[[str], dict[str, Any]]) -> AsyncIterator[bytes]:
    """The event stream of one generation. `first` is sent as the ``prompt`` event; `finish(reason)`
    makes the ``done`` event's data. If the client disconnects, the stream is cancelled and the
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
    count = 0
    try:
        yield sse("prompt", first)
        while True:
            kind, value = await queue.get()
            if kind == "step":
                count += 1
                yield sse("step", step_payload(value, run.new_text(value.id)))
            elif kind == "end":
                yield sse("done", finish("time" if value == "time" else "done"))
                return
            else:
                yield sse("error", {"error": value})
                return
    finally:
        run.stop.set()
