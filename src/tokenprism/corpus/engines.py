"""Where the fold runs: `local` (this process; the backends' own batch encoders use every core) or
`ray` (Ray Data; a local Ray, or a cluster at an address). Both fold the same batches with the same
`tally_batch`, so they give the same numbers."""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import MissingDependency, UsageError
from .readers import Document
from .stats import Tally, TokenizerJob, doc_facts, tally_batch

__all__ = ["ENGINES", "batches", "run_local", "run_ray", "import_ray", "start_ray"]

ENGINES = ("local", "ray")
Tallies = dict[str, dict[str, Tally]]  # tokenizer name → group → tally
Progress = Callable[[int], None]  # called with the characters of text just done


def batches(docs: Iterable[Document], *, batch_chars: int, batch_docs: int = 512) -> Iterator[list[Document]]:
    """Group documents into batches of at most `batch_chars` characters (or `batch_docs` documents):
    the only text held in memory (a few batches at a time: see run_local)."""
    batch: list[Document] = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += len(doc.text)
        if size >= batch_chars or len(batch) >= batch_docs:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _merge(into: Tallies, other: Tallies) -> Tallies:
    for name, groups in other.items():
        mine = into.setdefault(name, {})
        for group, tally in groups.items():
            if group in mine:
                mine[group].merge(tally)
            else:
                mine[group] = tally
    return into


def fold_batch(docs: Sequence[Document], jobs: Sequence[TokenizerJob]) -> Tallies:
    return _tally(_encoded(docs, jobs), jobs)


#: A batch made ready for tallying: its documents, their (chars, bytes, words) and UTF-8, and each
#: tokenizer's ids for them.
_Encoded = tuple[list[Document], list[tuple[int, int, int]], list[bytes], list[list[list[int]]]]


def _encoded(docs: Sequence[Document], jobs: Sequence[TokenizerJob]) -> _Encoded:
    docs = list(docs)
    facts, data = doc_facts(docs)  # (first: it repairs lone surrogates, which no backend encodes)
    texts = [d.text for d in docs]
    return docs, facts, data, [job.encode(texts) for job in jobs]


def _tally(encoded: _Encoded, jobs: Sequence[TokenizerJob]) -> Tallies:
    docs, facts, data, ids = encoded
    out: Tallies = {}
    for job, job_ids in zip(jobs, ids):
        tally_batch(docs, job, out.setdefault(job.name, {}), facts, data, job_ids)
    return out


#: Batches being encoded while the oldest is tallied (see run_local).
AHEAD = 2


def run_local(docs: Iterable[Document], jobs: Sequence[TokenizerJob], *, batch_chars: int,
              progress: Progress | None = None) -> Tallies:
    """Fold the batches in this process, encoding ahead: while one batch is tallied (Python, one
    core), the next ones are being encoded in other threads, whose batch encoders let go of the GIL.
    Two batches in flight also keep every core busy across the end of a batch, where one encoder
    would wait for its longest document. `AHEAD` + 1 batches are in memory at a time."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    tallies: Tallies = {}
    with ThreadPoolExecutor(AHEAD, thread_name_prefix="tokenprism-encode") as pool:
        in_flight: deque = deque()
        for batch in batches(docs, batch_chars=batch_chars):
            in_flight.append(pool.submit(_encoded, batch, jobs))
            if len(in_flight) > AHEAD:
                _fold_into(tallies, in_flight.popleft().result(), jobs, progress)
        while in_flight:
            _fold_into(tallies, in_flight.popleft().result(), jobs, progress)
    return tallies


def _fold_into(tallies: Tallies, encoded: _Encoded, jobs: Sequence[TokenizerJob], progress: Progress | None) -> None:
    _merge(tallies, _tally(encoded, jobs))
    if progress is not None:
        progress(sum(len(d.text) for d in encoded[0]))


# --- Ray -------------------------------------------------------------------------------------------
_ENV_PREFIXES = ("HF_", "TOKENPRISM_", "TIKTOKEN_", "TOKENIZERS_")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("ray", "ray") from None
    return ray


def start_ray(ray: Any, address: str | None) -> None:
    if ray.is_initialized():
        return
    # Workers resolve tokenizers themselves: give them the same Hub cache, offline mode and ranks folder.
    env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
    runtime_env = {"env_vars": env} if env else None
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env, log_to_driver=False)
    # our own progress bar shows progress; Ray Data's bars and INFO lines would garble it
    import logging

    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


class _FoldBatches:
    """A Ray Data batch function: rebuilds the documents, folds them, returns the pickled tallies."""

    def __init__(self, specs: Sequence[str]) -> None:
        self.specs = list(specs)
        self.jobs: list[TokenizerJob] | None = None

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        if self.jobs is None:
            from ..tokenizers.registry import load_tokenizer

            self.jobs = [TokenizerJob.of(load_tokenizer(s), name=s) for s in self.specs]
        docs = [
            Document(str(t), str(g), int(i), int(p), bool(last))
            for t, g, i, p, last in zip(batch["text"], batch["group"], batch["doc_id"], batch["part"], batch["last"])
        ]
        return {"tallies": np.array([pickle.dumps(fold_batch(docs, self.jobs))], dtype=object)}


def ray_spec(tok: Any) -> str:
    """A spec a Ray worker can load: the name it was loaded by, or the file it came from."""
    if os.path.exists(tok.source):
        return tok.source
    return tok.name


def run_ray(docs: Iterable[Document], specs: Sequence[str], *, batch_chars: int, address: str | None = None,
            window_chars: int = 64 << 20, progress: Progress | None = None) -> Tallies:
    """Fold with Ray Data, one window of at most `window_chars` characters at a time (memory stays bounded)."""
    if not specs:
        raise UsageError("no tokenizers given for the Ray engine")
    ray = import_ray()
    start_ray(ray, address)
    fold = _FoldBatches(specs)
    tallies: Tallies = {}
    for window in batches(docs, batch_chars=window_chars, batch_docs=1 << 30):
        items = [{"text": d.text, "group": d.group, "doc_id": d.doc_id, "part": d.part, "last": d.last} for d in window]
        per_batch = max(1, round(len(items) * batch_chars / max(1, sum(len(d.text) for d in window))))
        ds = ray.data.from_items(items).map_batches(fold, batch_size=per_batch, batch_format="numpy")
        for row in ds.iter_rows():
            _merge(tallies, pickle.loads(row["tallies"]))
        if progress is not None:
            progress(sum(len(d.text) for d in window))
    return tallies
