"""Statistics of tokenizers over a corpus: bytes/token, chars/token, tokens/word, unknown rate,
lossless share, vocabulary used, most frequent tokens; per tokenizer and per group.

Memory is bounded whatever the corpus size: text is read in 1 MiB blocks and handed on in parts
of about 64 Ki characters; a few batches (`batch_chars`, 1 Mi characters by default; with Ray
one window of 256 MiB of them) are held with their ids, and each tokenizer keeps one count per
vocabulary id per group. Roughly: 8 bytes × vocab size × groups × tokenizers + about 100 bytes
per character of one batch (10 with a fast id engine's flat arrays), times the batches in flight
(see `engines.run_local`).

>>> stats = corpus_stats(read_corpus(["corpus/"]), ["gpt2", "cl100k_base"])     # doctest: +SKIP
>>> stats.row("gpt2").bytes_per_token                                           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..errors import InputError, UsageError
from .readers import CorpusReader, Document, ReadReport, read_corpus

if TYPE_CHECKING:
    from .stats import CorpusStats, GroupStats, Tally
    from ..tokenizers.base import Tokenizer
    from ..tokenizers.fast import IdsRun
    from .engines import Engine
    from .fold import Fold, Tallies

__all__ = ["corpus_stats", "CorpusStats", "GroupStats", "Document", "read_corpus", "CorpusReader", "ReadReport", "TOTAL"]

_FROM_STATS = ("CorpusStats", "GroupStats", "TOTAL")


def __getattr__(name: str) -> Any:
    """The statistics' types, imported when first asked for: the CLI reads this package's tables
    (`engines.ENGINES`, `readers.GROUP_BY`) for its options, and `--help` should not load numpy."""
    if name in _FROM_STATS:
        from . import stats

        return getattr(stats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Characters per batch handed to a backend's batch encoder.
BATCH_CHARS = 1 << 20
#: Documents per batch at most (1 KB documents make batches of BATCH_CHARS: each call of an id engine
#: costs a few milliseconds besides its work, as much as a 100 KB batch of a fast engine's work).
BATCH_ITEMS = 1 << 14


def corpus_stats(
    documents: Iterable[Document | str],
    tokenizers: Sequence[str | Tokenizer],
    *,
    engine: str = "local",
    ray_address: str | None = None,
    batch_chars: int = BATCH_CHARS,
    top: int = 10,
    progress: Callable[[int], None] | None = None,
    ids_engine: str = "auto",
) -> CorpusStats:
    """Fold documents (plain strings, `Document`s, or a `read_corpus(...)` reader) through each tokenizer.

    `ids_engine`: "fast" encodes with each tokenizer's fastest verified engine (`Tokenizer.ids_engine`),
    spot-checked against its reference backend as the run goes; "reference" with the backend itself;
    "auto" (the default) is "fast" for a corpus of `MIN_BYTES` or more (or of unknown size). If a check
    finds a difference, the run switches to the reference, and a corpus that can be read again is
    counted again from the start by the reference for that tokenizer; `CorpusStats.ids` says so.

    >>> corpus_stats(["def f(x):\\n    return x\\n"], ["gpt2"]).row("gpt2").tokens   # doctest: +SKIP
    11
    """
    from ..tokenizers.registry import load_tokenizer
    from .engines import get_engine, ray_spec
    from .fold import Fold
    from .stats import CorpusStats, TokenizerJob

    run = get_engine(engine)
    if not tokenizers:
        raise UsageError("no tokenizers given: pass -t SPEC (repeat it for several)")
    policy = _ids_policy(ids_engine, documents)
    toks = [t if not isinstance(t, str) else load_tokenizer(t) for t in tokenizers]
    names = [t if isinstance(t, str) else t.name for t in tokenizers]
    specs = [t if isinstance(t, str) else ray_spec(t) for t in tokenizers]
    fold = Fold(names, specs, [TokenizerJob.of(tok, name=n, ids_engine=policy) for n, tok in zip(names, toks)],
                ids_engine=policy)
    started = time.perf_counter()
    if isinstance(documents, CorpusReader) and documents.cut is None:
        from ..tokenizers.cuts import TextCutter

        documents = copy.copy(documents)  # (the caller's reader stays as it was: a later run may bring other tokenizers)
        documents.cut = TextCutter(toks)  # long texts cut only where every tokenizer's ids stay exact
    tallies, runs = _fold_all(run, documents, fold, batch_chars=batch_chars, address=ray_address, progress=progress)
    switched = [n for n in names if runs.get(n) and runs[n].switched]
    again = _read_again(documents) if switched else None
    if again is not None:  # an engine disagreed with the reference: count those tokenizers again, exactly
        redo = Fold(switched, [specs[names.index(n)] for n in switched],
                    [TokenizerJob.of(toks[names.index(n)], name=n, ids_engine="reference") for n in switched],
                    ids_engine=policy, reference_only=switched)
        new_tallies, new_runs = _fold_all(run, again, redo, batch_chars=batch_chars, address=ray_address, progress=None)
        for n in switched:
            tallies[n] = new_tallies.get(n, {})
            new_runs[n].switched = [*runs[n].switched, "so it was counted again from the start by the reference"]
            runs[n] = new_runs[n]
    seconds = time.perf_counter() - started
    report = getattr(documents, "report", None)
    if not any(t.chars for groups in tallies.values() for t in groups.values()):
        raise InputError(_empty_message(report))
    rows = [row for name, tok in zip(names, toks) for row in _rows(name, tok, tallies.get(name, {}), top)]
    return CorpusStats(rows=rows, engine=engine, seconds=seconds, report=report.to_dict() if report else {},
                       ids={n: _ids_report(runs.get(n)) for n in names})


def _fold_all(run: Engine, documents: Iterable[Document | str], fold: Fold, *, batch_chars: int, address: str | None,
              progress: Callable[[int], None] | None) -> tuple[Tallies, dict[str, IdsRun]]:
    from .engines import batches
    from .fold import merge_into, merge_tallies

    tallies: Tallies = {}
    runs: dict[str, IdsRun] = {}
    for result in run(batches(_as_documents(documents), batch_chars=batch_chars, batch_items=BATCH_ITEMS), fold,
                      address=address):
        merge_tallies(tallies, result.tallies)
        merge_into(runs, result.runs)
        if progress is not None:
            progress(result.chars)
    return tallies, runs


def _ids_policy(ids_engine: str, documents: Iterable[Document | str]) -> str:
    """"fast" or "reference": for "auto", fast unless the corpus is known to be small."""
    if ids_engine not in ("auto", "fast", "reference"):
        raise UsageError(f"unknown ids engine {ids_engine!r}: use auto, fast or reference")
    if ids_engine != "auto":
        return ids_engine
    from ..tokenizers.fast import MIN_BYTES

    if isinstance(documents, CorpusReader):
        size: int | None = documents.total_bytes
    elif isinstance(documents, (list, tuple)):
        size = 0
        for d in documents:  # (until it is known to be enough)
            size += len(d.text if isinstance(d, Document) else d)
            if size >= MIN_BYTES:
                break
    else:
        size = None
    return "fast" if size is None or size >= MIN_BYTES else "reference"


def _read_again(documents: Iterable[Document | str]) -> Iterable[Document | str] | None:
    """The same documents once more, or None where they cannot be read again (an iterator)."""
    if isinstance(documents, CorpusReader):
        again = copy.copy(documents)
        again.report, again._next_id = ReadReport(), 0
        return again
    return documents if isinstance(documents, (list, tuple)) else None


def _ids_report(run: IdsRun | None) -> dict[str, Any]:
    """What `CorpusStats.ids` says of one tokenizer: the engine its numbers came from, and the checks."""
    if run is None:
        return {}
    engines = [name for name, n in run.engines.items() if n]
    return {"engine": " + ".join(engines), **run.to_dict()}


def _as_documents(documents: Iterable[Document | str]) -> Iterable[Document]:
    if isinstance(documents, CorpusReader):
        return documents
    if isinstance(documents, list) and all(type(d) is Document for d in documents):
        return documents  # (a list is cut into batches without a step per document: engines.batches)
    return (d if isinstance(d, Document) else Document(d, "all", i) for i, d in enumerate(documents))


def _rows(name: str, tok: Tokenizer, groups: dict[str, Tally], top: int) -> list[GroupStats]:
    from .stats import TOTAL, GroupStats, Tally

    rows = [GroupStats.from_tally(name, g, t, tok, top) for g, t in sorted(groups.items())]
    if len(rows) == 1:  # one group: its row is the total's
        return rows + [replace(rows[0], group=TOTAL)]
    total = Tally(tok.vocab_size)
    for t in groups.values():
        total.merge(t)
    return rows + [GroupStats.from_tally(name, TOTAL, total, tok, top)]


def _empty_message(report: ReadReport | None) -> str:
    if report is None:
        return "the corpus is empty: no documents were given"
    skipped = f"; skipped {len(report.skipped)} file(s), e.g. {report.skipped[0][0]} ({report.skipped[0][1]})" if report.skipped else ""
    return f"the corpus is empty: no readable text documents under the given paths{skipped}"
