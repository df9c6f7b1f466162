"""Corpus statistics as a pure fold: documents in, additive tallies out, one `CorpusStats` at the end.

A `Tally` holds only sums and one count per vocabulary id, so memory does not grow with the corpus,
and tallies from different workers add up to exactly what one worker would have found.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..tokenizers.roundtrip import IdBatch

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer
    from ..tokenizers.fast import CheckedIds, IdsRun
    from ..tokenizers.fast_engines import FlatIds

__all__ = ["Tally", "GroupStats", "CorpusStats", "TOTAL", "count_words", "TokenizerJob"]

#: The group name of the row that sums all groups of a tokenizer.
TOTAL = "(all)"

# Scripts written without spaces between words: each character counts as a word of its own.
# Their UTF-8 lead bytes 0xE3-0xE9 cover U+3000-U+9FFF (kana, CJK ideographs, the ideographic space).
_CJK_LEAD = np.zeros(256, dtype=bool)
_CJK_LEAD[0xE3:0xEA] = True
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 32]] = True


def count_words(data: bytes) -> int:
    """Words for fertility: runs of non-whitespace (ASCII whitespace), plus one per kana/CJK
    character (U+3000-U+9FFF), counted on the UTF-8 bytes without building any strings.

    >>> count_words("two words".encode())
    2
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size == 0:
        return 0
    space = _ASCII_SPACE[arr]
    starts = int(np.count_nonzero(~space[1:] & space[:-1])) + (0 if space[0] else 1)
    return starts + int(np.count_nonzero(_CJK_LEAD[arr]))


@dataclass
class Tally:
    """Additive counts of one tokenizer over one group of documents."""

    vocab_size: int
    documents: int = 0
    chars: int = 0
    bytes: int = 0
    words: int = 0
    tokens: int = 0
    unknown: int = 0
    failed_single: int = 0  # one-part documents that did not round-trip
    failed_multi: set[int] = field(default_factory=set)  # ids of many-part documents with a part that did not
    counts: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.counts is None:
            self.counts = np.zeros(self.vocab_size, dtype=np.int64)

    def merge(self, other: Tally) -> Tally:
        self.documents += other.documents
        self.chars += other.chars
        self.bytes += other.bytes
        self.words += other.words
        self.tokens += other.tokens
        self.unknown += other.unknown
        self.failed_single += other.failed_single
        self.failed_multi |= other.failed_multi
        self.counts += other.counts
        return self


class TokenizerJob:
    """What the fold needs of a tokenizer: its name, vocabulary size and unk id, its run's id encoder
    (the tokenizer's fastest verified engine, spot-checked: tokenizers/fast.py), and the tokenizer
    itself, which tells whether each text round-trips."""

    def __init__(self, name: str, vocab_size: int, unk: int | None, tokenizer: Tokenizer,
                 ids: CheckedIds | None = None) -> None:
        self.name = name
        self.vocab_size = vocab_size
        self.unk = unk
        self.tokenizer = tokenizer
        self._ids = ids

    @classmethod
    def of(cls, tok: Tokenizer, *, name: str | None = None, ids_engine: str = "fast") -> TokenizerJob:
        """`ids_engine`: "fast" (the tokenizer's chosen engine, see `Tokenizer.ids_engine`) or "reference"."""
        from ..tokenizers.fast import CheckedIds
        from ..tokenizers.fast_engines import ReferenceEngine

        ids = CheckedIds(tok, ReferenceEngine(tok) if ids_engine == "reference" else None)
        return cls(name or tok.name, tok.vocab_size, tok.unknown_id, tok, ids)

    @property
    def ids(self) -> CheckedIds:
        if self._ids is None:
            from ..tokenizers.fast import CheckedIds

            self._ids = CheckedIds(self.tokenizer)
        return self._ids

    def encode_flat(self, texts: list[str], *, note: IdsRun | None = None, rare: list[int] | None = None) -> FlatIds:
        """Ids of many texts as one flat array (no offsets, no added tokens); `rare`: see `CheckedIds.encode`."""
        return self.ids.encode(texts, note=note, rare=rare)

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Ids of many texts, one list each."""
        return list(self.encode_flat(texts).rows())

    def round_trips(self, texts: list[str], data: list[bytes], ids: Sequence[Sequence[int]], flat: np.ndarray,
                    bounds: np.ndarray) -> list[bool]:
        """Whether decoding each document's ids gives its text back exactly (`data`: each text's UTF-8;
        `flat`: all ids in one array, document k's from bounds[k] to bounds[k + 1])."""
        return self.tokenizer.round_trips(IdBatch(texts, data, ids, flat, bounds))  # type: ignore[arg-type]


@dataclass(frozen=True)
class GroupStats:
    """The statistics of one tokenizer over one group of documents (or all of them: group "(all)")."""

    tokenizer: str
    group: str
    documents: int
    chars: int
    bytes: int
    words: int
    tokens: int
    unknown: int
    lossless_documents: int
    distinct_ids: int
    vocab_size: int
    top_tokens: list[tuple[int, str, int]]  # (id, label, count), most frequent first

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / self.tokens if self.tokens else 0.0

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0

    @property
    def unknown_rate(self) -> float:
        return self.unknown / self.tokens if self.tokens else 0.0

    @property
    def lossless_share(self) -> float:
        return self.lossless_documents / self.documents if self.documents else 0.0

    @property
    def vocab_used(self) -> float:
        return self.distinct_ids / self.vocab_size if self.vocab_size else 0.0

    @classmethod
    def from_tally(cls, name: str, group: str, t: Tally, tok: Tokenizer, top: int) -> GroupStats:
        counts = t.counts
        nonzero = np.flatnonzero(counts)
        # the candidates: every id counted at least as often as the top-th most frequent (ties included)
        least = np.partition(counts[nonzero], -top)[-top] if 0 < top < nonzero.size else 1
        candidates = nonzero[counts[nonzero] >= least]
        # most frequent first; ties by id, so every engine lists the same tokens
        order = candidates[np.lexsort((candidates, -counts[candidates]))][:top]
        return cls(
            tokenizer=name, group=group, documents=t.documents, chars=t.chars, bytes=t.bytes, words=t.words,
            tokens=t.tokens, unknown=t.unknown, lossless_documents=t.documents - t.failed_single - len(t.failed_multi),
            distinct_ids=int(nonzero.size), vocab_size=t.vocab_size,
            top_tokens=[(int(i), tok.label(int(i)), int(counts[i])) for i in order],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer, "group": self.group, "documents": self.documents, "chars": self.chars,
            "bytes": self.bytes, "words": self.words, "tokens": self.tokens,
            "bytes_per_token": round(self.bytes_per_token, 4), "chars_per_token": round(self.chars_per_token, 4),
            "tokens_per_word": round(self.tokens_per_word, 4), "unknown": self.unknown,
            "unknown_rate": round(self.unknown_rate, 6), "lossless_documents": self.lossless_documents,
            "lossless_share": round(self.lossless_share, 4), "distinct_ids": self.distinct_ids,
            "vocab_size": self.vocab_size, "vocab_used": round(self.vocab_used, 4),
            "top_tokens": [{"id": i, "token": label, "count": c} for i, label, c in self.top_tokens],
        }


_CSV_FIELDS = ("tokenizer", "group", "documents", "chars", "bytes", "words", "tokens", "bytes_per_token",
               "chars_per_token", "tokens_per_word", "unknown", "unknown_rate", "lossless_documents",
               "lossless_share", "distinct_ids", "vocab_size", "vocab_used")


@dataclass(frozen=True)
class CorpusStats:
    """The result of `corpus_stats`: one `GroupStats` per tokenizer and group (and an "(all)" row each)."""

    rows: list[GroupStats]
    engine: str
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)
    #: per tokenizer: which id engine produced its numbers, what it was verified on, what the checks found
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)

    def row(self, tokenizer: str, group: str = TOTAL) -> GroupStats:
        return next(r for r in self.rows if r.tokenizer == tokenizer and r.group == group)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows if r.group != TOTAL))

    @property
    def tokenizers(self) -> list[str]:
        return list(dict.fromkeys(r.tokenizer for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "seconds": round(self.seconds, 3), "read": self.report, "ids": self.ids,
                "rows": [r.to_dict() for r in self.rows]}

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow(r.to_dict())
        return out.getvalue()

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)
