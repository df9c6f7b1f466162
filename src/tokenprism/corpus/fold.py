"""Corpus statistics as work an engine runs: one batch of documents in, the tallies of every tokenizer
per group out (with a note of which id engine encoded them). Tallies and notes add up
(`merge_tallies`, `IdsRun.merge`), so batches can be folded anywhere in any order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from .readers import Document
from .stats import Tally, TokenizerJob
from .tally import batch_facts, tally_flat

if TYPE_CHECKING:
    from ..tokenizers.fast import IdsRun

__all__ = ["Tallies", "Fold", "FoldResult", "fold_batch", "merge_into", "merge_tallies"]

Tallies = dict[str, dict[str, Tally]]  # tokenizer name → group → tally


class FoldResult(NamedTuple):
    """One batch folded: the tallies, its characters (for progress), and per tokenizer its ids' engine."""

    tallies: Tallies
    chars: int
    runs: dict[str, IdsRun]


def fold_batch(docs: Sequence[Document], jobs: Sequence[TokenizerJob], runs: dict[str, IdsRun] | None = None) -> Tallies:
    """Encode one batch with every tokenizer and tally it per group; `runs` gets each tokenizer's ids note."""
    from ..tokenizers.fast import IdsRun

    docs = list(docs)
    facts = batch_facts(docs)  # (first: it repairs lone surrogates, which no backend encodes)
    out: Tallies = {}
    for job in jobs:
        note = IdsRun()
        ids = job.encode_flat(facts.texts, note=note, rare=facts.rare)
        same = job.round_trips(facts.texts, facts.data, ids.rows(), ids.flat, ids.bounds)
        tally_flat(docs, job.vocab_size, job.unk, out.setdefault(job.name, {}), facts, ids, same)
        if runs is not None:
            runs[job.name] = note
    return out


def merge_into(into: dict[Any, Any], other: dict[Any, Any]) -> dict[Any, Any]:
    """Merge each value of `other` into `into`'s value under the same key (`.merge`), or set it there."""
    for key, value in other.items():
        if key in into:
            into[key].merge(value)
        else:
            into[key] = value
    return into


def merge_tallies(into: Tallies, other: Tallies) -> Tallies:
    for name, groups in other.items():
        merge_into(into.setdefault(name, {}), groups)
    return into


class Fold:
    """The engines' work: a batch of documents → a `FoldResult`.

    Holds the loaded tokenizers' jobs here; pickled to a Ray worker it keeps only their names and
    specs (and which id engine each may use), and the worker loads the tokenizers, and chooses their
    id engines, once, on its first batch (`prepare`)."""

    def __init__(self, names: Sequence[str], specs: Sequence[str], jobs: Sequence[TokenizerJob] | None = None,
                 *, ids_engine: str = "fast", reference_only: Sequence[str] = ()) -> None:
        self.names, self.specs = list(names), list(specs)
        self.jobs = list(jobs) if jobs is not None else None
        self.ids_engine = ids_engine
        self.reference_only = set(reference_only)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "jobs": None}

    def prepare(self) -> Fold:
        """Load the tokenizers and their id engines (a Ray actor does it once, before its first batch)."""
        if self.jobs is None:
            from ..tokenizers.registry import load_tokenizer

            self.jobs = [
                TokenizerJob.of(load_tokenizer(s), name=n,
                                ids_engine="reference" if n in self.reference_only else self.ids_engine)
                for n, s in zip(self.names, self.specs)
            ]
        return self

    def __call__(self, docs: list[Document]) -> FoldResult:
        runs: dict[str, IdsRun] = {}
        tallies = fold_batch(docs, self.prepare().jobs or [], runs)
        return FoldResult(tallies, sum(len(d.text) for d in docs), runs)
