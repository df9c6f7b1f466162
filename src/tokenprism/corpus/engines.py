"""Where work on batches runs: `local` (this process, a few batches in flight on threads) or `ray`
(Ray Data; a local Ray, or a cluster at an address). `ENGINES` is the one table of them: corpus
statistics, the FIM data pipeline and both CLI commands read it.

Every engine has the same signature, `engine(batches, work, *, address=None)`: it calls
`work(batch)` once per batch and yields the results in the order of the batches, so the same
batches give the same output on either engine. `work` is a picklable callable; Ray pickles it to
its workers, so it leaves loaded tokenizers behind and loads them again from their specs (`ray_spec`).

>>> list(ENGINES["local"]([[1, 2], [3]], sum))
[3, 3]
"""

from __future__ import annotations

import os
import pickle
from bisect import bisect_left
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, TypeVar

from ..errors import MissingDependency, UsageError

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["Engine", "ENGINES", "get_engine", "batches", "run_local", "run_ray", "import_ray", "start_ray", "ray_spec",
           "ray_actors"]

T = TypeVar("T")
B = TypeVar("B")
R = TypeVar("R")

#: Batches worked on ahead of the one whose result the caller waits for (see run_local).
AHEAD = 2
#: Pickled batches sent to Ray at a time: the most the driver holds (memory stays bounded). Each window
#: starts its own actors, which load the tokenizers and choose their id engines (a second or two each):
#: a window is worth a few seconds of every actor's work.
RAY_WINDOW_BYTES = 256 << 20
#: CPUs each Ray actor is given (its id engines use that many threads).
RAY_CPUS_PER_ACTOR = 1


class Engine(Protocol):
    """How every engine is called: `work(batch)` for each batch, the results in batch order."""

    def __call__(self, batches: Iterable[B], work: Callable[[B], R], *, address: str | None = None) -> Iterator[R]: ...


def _text_chars(doc: Any) -> int:
    return len(doc.text)


def batches(items: Iterable[T], *, batch_chars: int, batch_items: int = 512,
            chars: Callable[[T], int] = _text_chars) -> Iterator[list[T]]:
    """Group items (documents by default) into batches of at most `batch_chars` characters (or
    `batch_items` items): the only text an engine holds (a few batches at a time).

    >>> list(batches(["ab", "c", "de"], batch_chars=3, chars=len))
    [['ab', 'c'], ['de']]
    """
    if isinstance(items, list):  # documents in memory: cut the list, without a Python step per document
        yield from _list_batches(items, batch_chars=batch_chars, batch_items=batch_items, chars=chars)
        return
    batch: list[T] = []
    size = 0
    for item in items:
        batch.append(item)
        size += chars(item)
        if size >= batch_chars or len(batch) >= batch_items:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _list_batches(items: list[T], *, batch_chars: int, batch_items: int, chars: Callable[[T], int]) -> Iterator[list[T]]:
    """`batches` of a list: the same cuts, found on the running total of sizes."""
    from itertools import accumulate

    sizes = [len(d.text) for d in items] if chars is _text_chars else list(map(chars, items))
    ends = list(accumulate(sizes))
    start = 0
    while start < len(items):
        # the first item at which the batch reaches batch_chars, or batch_items items
        base = ends[start - 1] if start else 0
        stop = bisect_left(ends, base + batch_chars, lo=start, hi=min(len(items), start + batch_items)) + 1
        stop = min(stop, start + batch_items, len(items))
        yield items[start:stop]
        start = stop


def run_local(batches: Iterable[B], work: Callable[[B], R], *, address: str | None = None) -> Iterator[R]:
    """Work in this process, `AHEAD` batches ahead of the one whose result the caller waits for,
    each on its own thread: while one thread runs Python (a tally, the transform), the others'
    batch encoders, which let go of the GIL, keep every core busy, also across the end of a batch,
    where one encoder would wait for its longest text. `AHEAD` + 1 batches are in memory at a time.
    (`address` is Ray's; the local engine takes it to share the signature.)"""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(AHEAD + 1, thread_name_prefix="tokenprism-engine") as pool:
        in_flight: deque = deque()
        for batch in batches:
            in_flight.append(pool.submit(work, batch))
            if len(in_flight) > AHEAD:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


# --- Ray -------------------------------------------------------------------------------------------
_ENV_PREFIXES = ("HF_", "TOKENPRISM_", "TIKTOKEN_", "TOKENIZERS_")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("ray", "ray") from None
    return ray


def start_ray(ray: Any, address: str | None) -> None:
    if not ray.is_initialized():
        # Workers resolve tokenizers themselves: give them the same Hub cache, offline mode and ranks folder.
        env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        runtime_env = {"env_vars": env} if env else None
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env, log_to_driver=False)
    # our own progress bar shows progress; Ray Data's bars and INFO lines would garble it
    import logging

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True  # results in batch order, as they come
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def ray_spec(tok: Tokenizer) -> str:
    """A spec a Ray worker can load: the name it was loaded by, or the file it came from."""
    if os.path.exists(tok.source):
        return tok.source
    return tok.name


class _RayActor:
    """A Ray Data callable class: each actor unpickles the work once and prepares it (a corpus fold
    loads its tokenizers and chooses their id engines, `Fold.prepare`), then works on one pickled
    batch per row and returns the pickled result. Its engines get the actor's CPUs, not the node's."""

    #: the pickled work and the CPUs of each actor: set on a subclass per run (`_actor_class`), so that
    #: Ray ships them with the class rather than as constructor arguments in its object store
    work_payload = b""
    cpus = 1

    def __init__(self) -> None:
        # gigatoken's (rayon's) and quicktok's/tiktoken's thread pools: as many threads as CPUs given
        os.environ["RAYON_NUM_THREADS"] = os.environ["TOKENPRISM_THREADS"] = str(self.cpus)
        self.work = pickle.loads(self.work_payload)
        prepare = getattr(self.work, "prepare", None)
        if prepare is not None:
            prepare()

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        results = [pickle.dumps(self.work(pickle.loads(b))) for b in rows["batch"]]
        return {"order": rows["order"], "result": np.array(results, dtype=object)}


def ray_actors(ray: Any) -> int:
    """How many actors work at once: $TOKENPRISM_RAY_ACTORS, else one per `RAY_CPUS_PER_ACTOR` CPUs
    of the cluster."""
    given = os.environ.get("TOKENPRISM_RAY_ACTORS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise UsageError(f"TOKENPRISM_RAY_ACTORS={given!r}: give a number of actors, 1 or more")
        return int(given)
    return max(1, int(ray.cluster_resources().get("CPU", 1)) // RAY_CPUS_PER_ACTOR)


def _windows(batches: Iterable[Any], max_bytes: int) -> Iterator[list[dict[str, Any]]]:
    """Pickled batches, numbered, in windows of about `max_bytes`."""
    window: list[dict[str, Any]] = []
    size = 0
    for order, batch in enumerate(batches):
        data = pickle.dumps(batch)
        window.append({"order": order, "batch": data})
        size += len(data)
        if size >= max_bytes:
            yield window
            window, size = [], 0
    if window:
        yield window


def run_ray(batches: Iterable[B], work: Callable[[B], R], *, address: str | None = None) -> Iterator[R]:
    """Work with Ray Data in actors (`map_batches` with a callable class, `ray_actors` of them, each
    holding the loaded work), one window of at most `RAY_WINDOW_BYTES` of pickled batches at a time,
    each batch one row; the results come back in batch order."""
    ray = import_ray()
    start_ray(ray, address)
    actors = ray_actors(ray)
    actor = type("WorkActor", (_RayActor,), {"work_payload": pickle.dumps(work), "cpus": RAY_CPUS_PER_ACTOR})
    for window in _windows(batches, RAY_WINDOW_BYTES):
        ds = ray.data.from_items(window).map_batches(
            actor, concurrency=min(actors, len(window)), num_cpus=RAY_CPUS_PER_ACTOR, batch_size=1, batch_format="numpy")
        for row in ds.iter_rows():  # (in order: start_ray sets preserve_order)
            yield pickle.loads(row["result"])


#: Engine name → engine. The CLI's --engine choices are these keys.
ENGINES: dict[str, Engine] = {"local": run_local, "ray": run_ray}


def get_engine(name: str) -> Engine:
    """The engine called `name` in `ENGINES`.

    >>> get_engine("local") is run_local
    True
    """
    found = ENGINES.get(name)
    if found is None:
        raise UsageError(f"unknown engine {name!r}: use {' or '.join(ENGINES)}")
    return found
