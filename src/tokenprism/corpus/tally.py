"""Tallies at the speed of the id engine: a batch's facts (characters, bytes, words) and its ids are
counted on flat numpy arrays, with Python looping over documents only where one fails to round-trip.

What one batch costs here besides encoding: one UTF-8 encode (one copy where the batch is ASCII), one
scan of its bytes in cache-sized chunks (words, and the documents an id engine's spot check must see),
one `bincount` per tokenizer and group (token counts), and the round-trip check.

>>> facts = batch_facts([Document("two words", "a"), Document("", "b")])
>>> facts.words.tolist(), facts.nbytes.tolist()
([2, 0], [9, 0])
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterator, NamedTuple, Sequence

import numpy as np

from ..tokenizers.fast import has_rare_characters
from .readers import Document
from .stats import _ASCII_SPACE, _CJK_LEAD, Tally

if TYPE_CHECKING:
    from ..tokenizers.fast_engines import FlatIds

__all__ = ["BatchFacts", "ByteSlices", "batch_facts", "tally_flat"]

# byte → 1 where it is ASCII whitespace / a kana-CJK lead byte, else 0 (tables for bytes.translate)
_SPACE_BYTES = bytes(_ASCII_SPACE.astype(np.uint8))
_CJK_BYTES = bytes(_CJK_LEAD.astype(np.uint8))
# byte → its class in one scan: 1 ASCII whitespace, 2 an ASCII byte outside tab, newline, return and
# the printable range (a control, DEL: such a document is spot-checked, `fast.has_rare_characters`;
# vertical tab and form feed are both, and a chunk holding a 2 is looked at again with _SPACE_BYTES)
_CLASS_BYTES = bytes(2 if (b < 32 and b not in (9, 10, 13)) or b == 127 else int(_ASCII_SPACE[b]) for b in range(256))
#: Bytes scanned at a time: the scan's temporaries stay in cache and their memory is reused (over a
#: whole batch at once, faulting in fresh pages for each temporary cost more than the scan itself).
SCAN_BYTES = 1 << 16


class ByteSlices(Sequence[bytes]):
    """Each document's UTF-8 as a slice of the batch's bytes, cut only when asked for (the round-trip
    checks of byte-level tokenizers never ask)."""

    def __init__(self, blob: bytes, bounds: np.ndarray) -> None:
        self.blob, self.bounds = blob, bounds.tolist()

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __iter__(self) -> Iterator[bytes]:
        blob, bounds = self.blob, self.bounds
        return (blob[start:end] for start, end in zip(bounds, bounds[1:]))

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return self.blob[self.bounds[k]:self.bounds[k + 1]]


class BatchFacts(NamedTuple):
    """Per document of a batch: its text (lone surrogates repaired), UTF-8, characters, bytes, words
    (per document where the batch holds several groups, else one total), whether it is a document's
    first part, and its group (`groups`: the batch's groups, in order); `rare`: the documents holding a
    character outside the common scripts (`fast.rare_texts`, found in the same scan)."""

    texts: list[str]
    data: Sequence[bytes]
    chars: np.ndarray
    nbytes: np.ndarray
    words: np.ndarray
    firsts: np.ndarray
    group_of: list[str]
    groups: list[str]
    rare: list[int]


def batch_facts(docs: list[Document]) -> BatchFacts:
    """The facts of a batch, computed once for all tokenizers. A document holding lone surrogates
    (text from elsewhere than our reader) is replaced in `docs` by its repaired text, as
    `Tokenizer.encode` would encode it."""
    texts = [d.text for d in docs]
    n = len(docs)
    chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    joined = "".join(texts)
    if joined.isascii():  # (a flag CPython keeps: free) the bytes are the characters
        blob, nbytes, others = joined.encode("ascii"), chars, []
    else:
        try:
            data = [t.encode("utf-8") for t in texts]
        except UnicodeEncodeError:
            data = _repaired(docs)
            texts = [d.text for d in docs]
        blob, nbytes = b"".join(data), np.fromiter(map(len, data), dtype=np.int64, count=n)
        others = [k for k, t in enumerate(texts) if not t.isascii() and has_rare_characters(t)]
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(nbytes, out=bounds[1:])
    group_of = [d.group for d in docs]
    groups = list(dict.fromkeys(group_of))
    firsts = np.fromiter((d.part == 0 for d in docs), dtype=bool, count=n)
    words, odd = _scan(blob, bounds, per_document=len(groups) > 1)
    rare = sorted(set(others).union(np.unique(np.searchsorted(bounds, odd, side="right") - 1).tolist()))
    return BatchFacts(texts, ByteSlices(blob, bounds), chars, nbytes, words, firsts, group_of, groups, rare)


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


def _scan(blob: bytes, bounds: np.ndarray, *, per_document: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`stats.count_words` of every document at once (or, unless `per_document`, of all together, as
    an array of one), and where the odd ASCII bytes are (`_CLASS_BYTES`' 2s), in one pass over the
    batch's bytes, `SCAN_BYTES` at a time. Words: word starts (a non-space after a space, or at a
    document's start) plus kana/CJK characters."""
    nbytes = np.diff(bounds)
    if not blob:
        return np.zeros(len(nbytes) if per_document else 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cjk = not blob.isascii()
    total, found, odd = 0, [], []
    before = False  # whether the byte before the chunk is a space (before the first: as if not)
    for at in range(0, len(blob), SCAN_BYTES):
        chunk = blob[at:at + SCAN_BYTES]
        classes = chunk.translate(_CLASS_BYTES)
        if 2 in classes:  # (memchr: free) controls here: spaces by their own table
            odd.append(np.flatnonzero(np.frombuffer(classes, dtype=np.uint8) == 2) + at)
            classes = chunk.translate(_SPACE_BYTES)
        space = np.frombuffer(classes, dtype=bool)
        # a word starts at p+1 where space[p] > space[p+1] (a space, then not)
        starts = space[:-1] > space[1:]
        if per_document:
            found.append(np.flatnonzero(starts) + (at + 1))
            if before and not space[0]:
                found.append(np.array([at]))
        else:
            total += np.count_nonzero(starts) + (before and not space[0])
        if cjk:
            lead = np.frombuffer(chunk.translate(_CJK_BYTES), dtype=bool)
            if per_document:
                found.append(np.flatnonzero(lead) + at)
            else:
                total += np.count_nonzero(lead)
        before = bool(space[-1])
    # then the documents' first bytes: a word starts there unless a space-to-word step above counted it
    firsts = bounds[:-1][nbytes > 0]
    space_at = _ASCII_SPACE[np.frombuffer(blob, dtype=np.uint8)[np.concatenate((firsts, np.maximum(firsts - 1, 0)))]]
    first_words = ~space_at[:len(firsts)] & ~((firsts > 0) & space_at[len(firsts):])
    odd_at = np.concatenate(odd) if odd else np.zeros(0, dtype=np.int64)
    if not per_document:
        return np.array([total + np.count_nonzero(first_words)], dtype=np.int64), odd_at
    positions = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    words = np.diff(np.searchsorted(positions, bounds)).astype(np.int64)
    words[nbytes > 0] += first_words
    return words, odd_at


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
    counts = np.bincount(flat, minlength=vocab_size)[:vocab_size]
    t = tallies.get(group)
    if t is None:  # (its counts are this batch's: no zeros to allocate and add to)
        t = tallies[group] = Tally(vocab_size, counts=counts)
    else:
        t.counts += counts
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
    if unk is not None:
        t.unknown += int(np.count_nonzero(flat == unk))
