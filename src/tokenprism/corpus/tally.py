"""Tallies at the speed of the id engine: a batch's facts (characters, bytes, words) and its ids are
counted on flat numpy arrays, with Python looping over documents only where one fails to round-trip.

What one batch costs here besides encoding: one UTF-8 encode per document, one pass of numpy over the
batch's bytes (words), one `bincount` per tokenizer and group (token counts), and the round-trip check.

>>> facts = batch_facts([Document("two words", "a"), Document("", "b")])
>>> facts.words.tolist(), facts.nbytes.tolist()
([2, 0], [9, 0])
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

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
    """Per document of a batch: its text (lone surrogates repaired), UTF-8, characters, bytes, words
    (per document where the batch holds several groups, else one total), whether it is a document's
    first part, and its group (`groups`: the batch's groups, in order)."""

    texts: list[str]
    data: list[bytes]
    chars: np.ndarray
    nbytes: np.ndarray
    words: np.ndarray
    firsts: np.ndarray
    group_of: list[str]
    groups: list[str]


def batch_facts(docs: list[Document]) -> BatchFacts:
    """The facts of a batch, computed once for all tokenizers. A document holding lone surrogates
    (text from elsewhere than our reader) is replaced in `docs` by its repaired text, as
    `Tokenizer.encode` would encode it."""
    texts = [d.text for d in docs]
    try:
        data = [t.encode("utf-8") for t in texts]
    except UnicodeEncodeError:
        data = _repaired(docs)
        texts = [d.text for d in docs]
    n = len(docs)
    chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    nbytes = np.fromiter(map(len, data), dtype=np.int64, count=n)
    group_of = [d.group for d in docs]
    groups = list(dict.fromkeys(group_of))
    firsts = np.fromiter((d.part == 0 for d in docs), dtype=bool, count=n)
    return BatchFacts(texts, data, chars, nbytes, _words(b"".join(data), nbytes, per_document=len(groups) > 1),
                      firsts, group_of, groups)


def _repaired(docs: list[Document]) -> list[bytes]:
    from ..tokenizers.base import repair_surrogates

    data = []
    for k, d in enumerate(docs):
        try:
            data.append(d.text.encode("utf-8"))
        except UnicodeEncodeError:
            docs[k] = replace(d, text=repair_surrogates(d.text)[0])
            data.append(docs[k].text.encode("utf-8"))
    return data


def _words(joined: bytes, nbytes: np.ndarray, *, per_document: bool = True) -> np.ndarray:
    """`stats.count_words` of every document at once (or, unless `per_document`, of all together, as
    an array of one): word starts (a non-space after a space, or at a document's start) plus kana/CJK
    characters, found in one pass over the batch's bytes."""
    bounds = np.zeros(len(nbytes) + 1, dtype=np.int64)
    np.cumsum(nbytes, out=bounds[1:])
    if not joined:
        return np.zeros(len(nbytes) if per_document else 1, dtype=np.int64)
    space = np.frombuffer(joined.translate(_SPACE_BYTES), dtype=bool)  # (translate: 10× numpy's gather)
    # a word starts at p+1 where space[p] > space[p+1] (a space, then not); then the documents' first bytes
    starts = space[:-1] > space[1:]
    firsts = bounds[:-1][nbytes > 0]
    first_words = ~space[firsts] & ~((firsts > 0) & space[np.maximum(firsts - 1, 0)])
    cjk = None if joined.isascii() else np.frombuffer(joined.translate(_CJK_BYTES), dtype=bool)
    if not per_document:
        total = np.count_nonzero(starts) + np.count_nonzero(first_words) + (np.count_nonzero(cjk) if cjk is not None else 0)
        return np.array([total], dtype=np.int64)
    words = _per_document(np.flatnonzero(starts) + 1, bounds)
    words[nbytes > 0] += first_words
    if cjk is not None:
        words += _per_document(np.flatnonzero(cjk), bounds)
    return words


def _per_document(positions: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of the (sorted) byte positions fall in each document."""
    return np.diff(np.searchsorted(positions, bounds)).astype(np.int64)


def tally_flat(docs: list[Document], vocab_size: int, unk: int | None, tallies: dict[str, Tally], facts: BatchFacts,
               ids: FlatIds, same: list[bool]) -> None:
    """Add one tokenizer's ids of a batch (`same[k]`: document k round-trips) to its per-group tallies."""
    failed = np.flatnonzero(~np.asarray(same, dtype=bool)) if not all(same) else np.zeros(0, dtype=np.int64)
    if len(facts.groups) == 1:
        _add(tallies, facts.groups[0], docs, None, vocab_size, unk, facts, ids.flat, failed)
        return
    lengths = ids.lengths
    for group in facts.groups:
        members = np.fromiter((g == group for g in facts.group_of), dtype=bool, count=len(docs))
        _add(tallies, group, docs, members, vocab_size, unk, facts, ids.flat[np.repeat(members, lengths)],
             failed[members[failed]])


def _add(tallies: dict[str, Tally], group: str, docs: list[Document], members: np.ndarray | None, vocab_size: int,
         unk: int | None, facts: BatchFacts, flat: np.ndarray, failed: np.ndarray) -> None:
    """Add the documents of one group (`members`, a mask; None: all of them, and `facts.words` is their total)."""
    t = tallies.get(group)
    if t is None:
        t = tallies[group] = Tally(vocab_size)
    pick = (lambda a: a) if members is None else (lambda a: a[members])
    t.documents += int(np.count_nonzero(pick(facts.firsts)))
    t.chars += int(pick(facts.chars).sum())
    t.bytes += int(pick(facts.nbytes).sum())
    t.words += int(pick(facts.words).sum())
    t.tokens += int(flat.size)
    for k in failed.tolist():
        d = docs[k]
        if d.part == 0 and d.last:
            t.failed_single += 1
        else:
            t.failed_multi.add(d.doc_id)
    t.counts += np.bincount(flat, minlength=vocab_size)[:vocab_size]
    if unk is not None:
        t.unknown += int(np.count_nonzero(flat == unk))
