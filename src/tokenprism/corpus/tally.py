"""Tallies at the speed of the id engine: a batch's facts (characters, bytes, words) and its ids are
counted on flat numpy arrays, with Python looping over documents only where one fails to round-trip.

What one batch costs here besides encoding: one UTF-8 encode per document, one pass of numpy over the
batch's bytes (words), one `bincount` per tokenizer and group (token counts), and the round-trip check.

>>> facts = batch_facts([Document("two words"), Document("")])
>>> facts.words.tolist(), facts.nbytes.tolist()
[2, 0]
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .readers import Document
from .stats import _ASCII_SPACE, _CJK_LEAD, Tally

if TYPE_CHECKING:
    from ..tokenizers.fast_engines import FlatIds

__all__ = ["BatchFacts", "batch_facts", "tally_flat"]

# byte → 1 where it is ASCII whitespace / a kana-CJK lead byte, else 0 (tables for bytes.translate)
_SPACE_BYTES = bytes(_ASCII_SPACE.astype(np.uint8))
_CJK_BYTES = bytes(_CJK_LEAD.astype(np.uint8))


class BatchFacts(NamedTuple):
    """Per document of a batch: its text (lone surrogates repaired), UTF-8, characters, bytes, words."""

    texts: list[str]
    data: list[bytes]
    chars: np.ndarray
    nbytes: np.ndarray
    words: np.ndarray


def batch_facts(docs: list[Document]) -> BatchFacts:
    """The facts of a batch, computed once for all tokenizers. A document holding lone surrogates
    (text from elsewhere than our reader) is replaced in `docs` by its repaired text, as
    `Tokenizer.encode` would encode it."""
    data: list[bytes] = []
    for k, d in enumerate(docs):
        try:
            data.append(d.text.encode("utf-8"))
        except UnicodeEncodeError:
            from ..tokenizers.base import repair_surrogates

            docs[k] = replace(d, text=repair_surrogates(d.text)[0])
            data.append(docs[k].text.encode("utf-8"))
    texts = [d.text for d in docs]
    n = len(docs)
    chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    nbytes = np.fromiter(map(len, data), dtype=np.int64, count=n)
    return BatchFacts(texts, data, chars, nbytes, _words(b"".join(data), nbytes))


def _words(joined: bytes, nbytes: np.ndarray) -> np.ndarray:
    """`stats.count_words` of every document at once: word starts (a non-space after a space, or at
    a document's start) plus kana/CJK characters, found in one pass over the batch's bytes."""
    bounds = np.zeros(len(nbytes) + 1, dtype=np.int64)
    np.cumsum(nbytes, out=bounds[1:])
    if not joined:
        return np.zeros(len(nbytes), dtype=np.int64)
    space = np.frombuffer(joined.translate(_SPACE_BYTES), dtype=bool)  # (translate: 10× numpy's gather)
    # a word starts at p+1 where space[p] > space[p+1] (a space, then not); then the documents' first bytes
    words = _per_document(np.flatnonzero(space[:-1] > space[1:]) + 1, bounds)
    firsts = bounds[:-1][nbytes > 0]
    words[nbytes > 0] += ~space[firsts] & ~((firsts > 0) & space[np.maximum(firsts - 1, 0)])
    if not joined.isascii():
        words += _per_document(np.flatnonzero(np.frombuffer(joined.translate(_CJK_BYTES), dtype=bool)), bounds)
    return words


def _per_document(positions: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of the (sorted) byte positions fall in each document."""
    return np.diff(np.searchsorted(positions, bounds)).astype(np.int64)


def tally_flat(docs: list[Document], vocab_size: int, unk: int | None, tallies: dict[str, Tally], facts: BatchFacts,
               ids: FlatIds, same: list[bool]) -> None:
    """Add one tokenizer's ids of a batch (`same[k]`: document k round-trips) to its per-group tallies."""
    groups = [d.group for d in docs]
    first = groups[0] if groups else None
    if all(g == first for g in groups):
        if first is not None:
            _add(tallies, first, docs, range(len(docs)), vocab_size, unk, facts, ids.flat, same)
        return
    lengths = ids.lengths
    for group in dict.fromkeys(groups):
        members = np.fromiter((g == group for g in groups), dtype=bool, count=len(groups))
        _add(tallies, group, docs, np.flatnonzero(members), vocab_size, unk, facts,
             ids.flat[np.repeat(members, lengths)], same)


def _add(tallies: dict[str, Tally], group: str, docs: list[Document], members: Any, vocab_size: int,
         unk: int | None, facts: BatchFacts, flat: np.ndarray, same: list[bool]) -> None:
    t = tallies.get(group)
    if t is None:
        t = tallies[group] = Tally(vocab_size)
    index = np.asarray(members, dtype=np.int64)
    t.documents += sum(1 for k in members if docs[k].part == 0)
    t.chars += int(facts.chars[index].sum())
    t.bytes += int(facts.nbytes[index].sum())
    t.words += int(facts.words[index].sum())
    t.tokens += int(flat.size)
    for k in members:
        if not same[k]:
            d = docs[k]
            if d.part == 0 and d.last:
                t.failed_single += 1
            else:
                t.failed_multi.add(d.doc_id)
    t.counts += np.bincount(flat, minlength=vocab_size)[:vocab_size]
    if unk is not None:
        t.unknown += int(np.count_nonzero(flat == unk))
