"""Statistics of tokenizers over a corpus: bytes/token, chars/token, tokens/word, unknown rate,
lossless share, vocabulary used, most frequent tokens; per tokenizer and per group.

Memory is bounded whatever the corpus size: text is read in 1 MiB blocks and handed on in parts
of about 64 Ki characters; a few batches (`batch_chars`, 1 Mi characters by default; with Ray
one window of 64 MiB of them) are held with their ids, and each tokenizer keeps one count per
vocabulary id per group. Roughly: 8 bytes × vocab size × groups × tokenizers + about 100 bytes
per character of one batch, times the batches in flight (see `engines.run_local`).

>>> stats = corpus_stats(read_corpus(["corpus/"]), ["gpt2", "cl100k_base"])     # doctest: +SKIP
>>> stats.row("gpt2").bytes_per_token                                           # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from ..errors import InputError, UsageError
from .readers import CorpusReader, Document, ReadReport, read_corpus
from .stats import TOTAL, CorpusStats, GroupStats, Tally, TokenizerJob

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["corpus_stats", "CorpusStats", "GroupStats", "Document", "read_corpus", "CorpusReader", "ReadReport", "TOTAL"]

#: Characters per batch handed to a backend's batch encoder.
BATCH_CHARS = 1 << 20


def corpus_stats(
    documents: Iterable[Document | str],
    tokenizers: Sequence[str | Tokenizer],
    *,
    engine: str = "local",
    ray_address: str | None = None,
    batch_chars: int = BATCH_CHARS,
    top: int = 10,
    progress: Callable[[int], None] | None = None,
) -> CorpusStats:
    """Fold documents (plain strings, `Document`s, or a `read_corpus(...)` reader) through each tokenizer.

    >>> corpus_stats(["def f(x):\\n    return x\\n"], ["gpt2"]).row("gpt2").tokens   # doctest: +SKIP
    11
    """
    from ..tokenizers.registry import load_tokenizer
    from .engines import batches, get_engine, ray_spec
    from .fold import Fold, Tallies, merge_tallies

    run = get_engine(engine)
    if not tokenizers:
        raise UsageError("no tokenizers given: pass -t SPEC (repeat it for several)")
    toks = [t if not isinstance(t, str) else load_tokenizer(t) for t in tokenizers]
    names = [t if isinstance(t, str) else t.name for t in tokenizers]
    specs = [t if isinstance(t, str) else ray_spec(t) for t in tokenizers]
    fold = Fold(names, specs, [TokenizerJob.of(tok, name=n) for n, tok in zip(names, toks)])
    started = time.perf_counter()
    tallies: Tallies = {}
    docs = _as_documents(documents)
    for batch_tallies, chars in run(batches(docs, batch_chars=batch_chars), fold, address=ray_address):
        merge_tallies(tallies, batch_tallies)
        if progress is not None:
            progress(chars)
    seconds = time.perf_counter() - started
    report = getattr(documents, "report", None)
    if not any(t.chars for groups in tallies.values() for t in groups.values()):
        raise InputError(_empty_message(report))
    rows = [row for name, tok in zip(names, toks) for row in _rows(name, tok, tallies.get(name, {}), top)]
    return CorpusStats(rows=rows, engine=engine, seconds=seconds, report=report.to_dict() if report else {})


def _as_documents(documents: Iterable[Document | str]) -> Iterable[Document]:
    if isinstance(documents, CorpusReader):
        return documents
    return (d if isinstance(d, Document) else Document(d, "all", i) for i, d in enumerate(documents))


def _rows(name: str, tok: Tokenizer, groups: dict[str, Tally], top: int) -> list[GroupStats]:
    rows = [GroupStats.from_tally(name, g, t, tok, top) for g, t in sorted(groups.items())]
    total = Tally(tok.vocab_size)
    for t in groups.values():
        total.merge(t)
    return rows + [GroupStats.from_tally(name, TOTAL, total, tok, top)]


def _empty_message(report: ReadReport | None) -> str:
    if report is None:
        return "the corpus is empty: no documents were given"
    skipped = f"; skipped {len(report.skipped)} file(s), e.g. {report.skipped[0][0]} ({report.skipped[0][1]})" if report.skipped else ""
    return f"the corpus is empty: no readable text documents under the given paths{skipped}"
