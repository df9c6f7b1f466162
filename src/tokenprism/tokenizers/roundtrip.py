"""Whether a batch of texts round-trips (decoding their ids gives each text back), answered without
decoding where the way a decoder works makes that possible.

Decoding millions of documents to compare strings costs more than encoding them. Each check here
knows one kind of decoder (byte-level, WordPiece, SentencePiece) and is fed that kind's facts by the
backend that has it (`Tokenizer.roundtrip_checker`); every check gives the verdicts decoding would.
Only corpus statistics import this module (numpy is not on the tokenize path).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Callable, Protocol, Sequence

import numpy as np

__all__ = ["IdBatch", "RoundTripCheck", "count_per_document", "ExactCheck", "DecodeCheck", "ByteJoinCheck",
           "ByteLevelCheck", "WordPieceCheck", "SentencePieceCheck", "NEVER_IN_UTF8"]

#: Bytes that valid UTF-8 never holds: a byte-level vocabulary may lack them and still cut every text.
NEVER_IN_UTF8 = frozenset([0xC0, 0xC1, *range(0xF5, 0x100)])

_WHITESPACE = b" \t\n\r\x0b\x0c"

ByteTable = Callable[[], list[bytes]]
BatchDecoder = Callable[[list[list[int]]], list[str]]


@dataclass(frozen=True)
class IdBatch:
    """Texts with their ids: `data` holds each text's UTF-8, `flat` all ids in one array, and
    document k's ids are flat[bounds[k]:bounds[k + 1]]."""

    texts: list[str]
    data: list[bytes]
    ids: list[list[int]]
    flat: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, texts: list[str], ids: list[list[int]]) -> IdBatch:
        """A batch from texts (without lone surrogates) and their ids.

        >>> IdBatch.of(["ab", ""], [[1, 2], []]).bounds.tolist()
        [0, 2, 2]
        """
        lengths = [len(x) for x in ids]
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=sum(lengths))
        bounds = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        return cls(texts, [t.encode("utf-8") for t in texts], ids, flat, bounds)


class RoundTripCheck(Protocol):
    def __call__(self, batch: IdBatch) -> list[bool]: ...


def count_per_document(flags: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of each document's ids are flagged (`flags` over all ids; document k's from bounds[k]
    to bounds[k + 1]). The False appended is the end marker an empty last document points at.

    >>> count_per_document(np.array([True, False, True]), np.array([0, 2, 3])).tolist()
    [1, 1]
    """
    return np.add.reduceat(np.append(flags, False), bounds[:-1])


def joined_bytes(table: list[bytes], ids: list[list[int]]) -> list[bytes]:
    """Each document's tokens' bytes joined (far cheaper than decoding to str)."""
    return [b"".join(itemgetter(*row)(table)) if len(row) > 1 else (table[row[0]] if row else b"") for row in ids]


def _bytes_equal(table: list[bytes], data: list[bytes], ids: list[list[int]]) -> list[bool]:
    return [joined == d for joined, d in zip(joined_bytes(table, ids), data)]


class ExactCheck:
    """Tokens cut the text's UTF-8 and keep every byte (tiktoken): every text comes back by
    construction. Only lone surrogates could not, and `Tokenizer.encode` and the corpus repair those first."""

    def __call__(self, batch: IdBatch) -> list[bool]:
        return [True] * len(batch.texts)


@dataclass(frozen=True)
class DecodeCheck:
    """The plain way: decode every document and compare."""

    decode: BatchDecoder

    def __call__(self, batch: IdBatch) -> list[bool]:
        return [a == b for a, b in zip(self.decode(batch.ids), batch.texts)]


@dataclass(frozen=True)
class ByteJoinCheck:
    """A byte-level decoder gives back exactly its tokens' bytes: join them and compare with the UTF-8."""

    table: ByteTable

    def __call__(self, batch: IdBatch) -> list[bool]:
        return _bytes_equal(self.table(), batch.data, batch.ids)


class ByteLevelCheck:
    """A byte-level BPE with no normaliser and no added prefix space, whose vocabulary holds all
    256 byte symbols, cuts the text's bytes into tokens without changing or losing one: by
    construction its tokens' bytes join back into the text. Only documents holding an added token
    (which may have eaten the spaces around it) are joined to check."""

    def __init__(self, added_ids: Sequence[int], vocab_size: int, table: ByteTable) -> None:
        self.added = np.zeros(vocab_size, dtype=bool)
        self.added[list(added_ids)] = True
        self.lowest = min(added_ids, default=vocab_size)  # (added tokens come last: one comparison rules most out)
        self.table = table

    def __call__(self, batch: IdBatch) -> list[bool]:
        data, ids = batch.data, batch.ids
        lengths = np.diff(batch.bounds).tolist()
        out = [bool(t) == bool(n) for t, n in zip(batch.texts, lengths)]  # an empty text: no tokens
        if not np.any(batch.flat >= self.lowest):
            return out
        holds = count_per_document(self.added[batch.flat], batch.bounds).tolist()
        check = [k for k in range(len(ids)) if holds[k] and lengths[k]]
        for k, same in zip(check, _bytes_equal(self.table(), [data[k] for k in check], [ids[k] for k in check])):
            out[k] = same
        return out


def _single_spaced(data: bytes) -> bool:
    """No whitespace but single spaces between other characters (ASCII whitespace; a WordPiece
    tokenizer's own splitting on other spaces leaves them out of its tokens, so the byte check
    after this one catches those)."""
    return (len(data.translate(None, _WHITESPACE)) + data.count(b" ") == len(data) and b"  " not in data
            and not data.startswith(b" ") and not data.endswith(b" "))


class WordPieceCheck:
    """The WordPiece decoder joins the tokens' own text with single spaces (and takes some out
    before punctuation), so a document cannot round-trip if it holds any other whitespace (a
    newline, a tab, two spaces, a space at either end), or if its non-space bytes differ from its
    tokens': only the others are decoded to check."""

    def __init__(self, pieces: Sequence[str], prefix: str, table: ByteTable, decode: BatchDecoder) -> None:
        # Per id: does it start a word (no "##"), and could clean-up take a space out next to it.
        self.starts = np.array([not p.startswith(prefix) for p in pieces], dtype=bool)
        self.punct = np.array([bool(p) and not p[0].isalnum() or p in ("n't", "not") for p in pieces], dtype=bool)
        self.table = table
        self.decode = decode

    def _enough_spaces(self, data: bytes, ids: list[int]) -> bool:
        """The decoder puts a space before every token but the first and the "##" continuations, and
        its clean-up takes out at most two around each punctuation token (" ' " → "'"): a text with
        fewer spaces than that (Chinese, say) cannot come back."""
        row = np.asarray(ids, dtype=np.int64)
        return data.count(b" ") >= np.count_nonzero(self.starts[row]) - 1 - 2 * np.count_nonzero(self.punct[row])

    def __call__(self, batch: IdBatch) -> list[bool]:
        texts, data, ids = batch.texts, batch.data, batch.ids
        out = [not d and not i for d, i in zip(data, ids)]  # an empty text comes back from no tokens
        spaced = [k for k, d in enumerate(data) if d and _single_spaced(d)]
        joined = joined_bytes(self.table(), [ids[k] for k in spaced])
        maybe = [k for k, j in zip(spaced, joined) if j == data[k].translate(None, b" ") and self._enough_spaces(data[k], ids[k])]
        for k, decoded in zip(maybe, self.decode([ids[k] for k in maybe]) if maybe else []):
            out[k] = decoded == texts[k]
        return out


class SentencePieceCheck:
    """SentencePiece decodes a piece to its text with ▁ as a space and a byte piece to its byte,
    then takes off the one space its dummy prefix put before the text. So a document without
    unknown or control pieces round-trips exactly when its pieces' bytes, joined, are its UTF-8
    with that one space before it: a C-level join instead of a decode and a string comparison
    (the decode was a fifth of the time). Where the model normalises nothing (Llama, Phi-3) even
    the join is not needed. The rest (unknown or control pieces, a text starting with two
    spaces) go through the decoder.

    `plain[i]`: id i decodes by that rule; `strips`: decoding takes off a leading space;
    `identity`: the model changes nothing in the text but spaces (written ▁) and the dummy prefix."""

    def __init__(self, plain: Sequence[bool], *, strips: bool, identity: bool, table: ByteTable, decode: BatchDecoder) -> None:
        self.plain = np.asarray(plain, dtype=bool)
        self.strips = strips
        self.identity = identity
        self.table = table
        self.decode = decode

    def __call__(self, batch: IdBatch) -> list[bool]:
        texts, data, ids = batch.texts, batch.data, batch.ids
        lengths = np.diff(batch.bounds)
        odd = count_per_document(~self.plain[batch.flat], batch.bounds)
        out: list[bool] = []
        slow: list[int] = []
        if self.identity:
            # The pieces spell the text as normalised ("▁" before it, ▁ for each space: nothing else
            # changes) and decoding spells it back, so only a text holding ▁ itself cannot come back.
            for k, text in enumerate(texts):
                if odd[k]:
                    slow.append(k)
                out.append(not text if lengths[k] == 0 else not odd[k] and "▁" not in text)
        else:
            for k, (joined, d) in enumerate(zip(joined_bytes(self.table(), ids), data)):
                if lengths[k] == 0:
                    out.append(not d)
                elif odd[k] or joined.startswith(b"  "):
                    out.append(False)
                    slow.append(k)
                else:
                    out.append((joined[1:] if self.strips and joined[:1] == b" " else joined) == d)
        if slow:
            for k, text in zip(slow, self.decode([ids[k] for k in slow])):
                out[k] = text == texts[k]
        return out
