"""Corpus statistics as work an engine runs: one batch of documents in, the tallies of every tokenizer
per group out. Tallies add up (`merge_tallies`), so batches can be folded anywhere in any order.
"""

from __future__ import annotations

from typing import Sequence

from .readers import Document
from .stats import Tally, TokenizerJob, doc_facts, tally_batch

__all__ = ["Tallies", "Fold", "fold_batch", "merge_tallies"]

Tallies = dict[str, dict[str, Tally]]  # tokenizer name → group → tally


def fold_batch(docs: Sequence[Document], jobs: Sequence[TokenizerJob]) -> Tallies:
    """Encode one batch with every tokenizer and tally it per group."""
    docs = list(docs)
    facts, data = doc_facts(docs)  # (first: it repairs lone surrogates, which no backend encodes)
    texts = [d.text for d in docs]
    out: Tallies = {}
    for job in jobs:
        tally_batch(docs, job, out.setdefault(job.name, {}), facts, data, job.encode(texts))
    return out


def merge_tallies(into: Tallies, other: Tallies) -> Tallies:
    for name, groups in other.items():
        mine = into.setdefault(name, {})
        for group, tally in groups.items():
            if group in mine:
                mine[group].merge(tally)
            else:
                mine[group] = tally
    return into


class Fold:
    """The engines' work: a batch of documents → (its tallies, its characters, for progress).

    Holds the loaded tokenizers' jobs here; pickled to a Ray worker it keeps only their names and
    specs, and the worker loads the tokenizers again on its first batch."""

    def __init__(self, names: Sequence[str], specs: Sequence[str], jobs: Sequence[TokenizerJob] | None = None) -> None:
        self.names, self.specs = list(names), list(specs)
        self.jobs = list(jobs) if jobs is not None else None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "jobs": None}

    def __call__(self, docs: list[Document]) -> tuple[Tallies, int]:
        if self.jobs is None:
            from ..tokenizers.registry import load_tokenizer

            self.jobs = [TokenizerJob.of(load_tokenizer(s), name=n) for n, s in zip(self.names, self.specs)]
        return fold_batch(docs, self.jobs), sum(len(d.text) for d in docs)
