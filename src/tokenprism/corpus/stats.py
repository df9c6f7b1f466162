"""Corpus statistics as a pure fold: documents in, additive tallies out, one `CorpusStats` at the end.

A `Tally` holds only sums and one count per vocabulary id, so memory does not grow with the corpus,
and tallies from different workers add up to exactly what one worker would have found.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer
    from .readers import Document

__all__ = ["Tally", "GroupStats", "CorpusStats", "TOTAL", "count_words", "tally_batch", "TokenizerJob"]

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


_WHITESPACE = b" \t\n\r\x0b\x0c"
_NEVER_IN_UTF8 = frozenset([0xC0, 0xC1, *range(0xF5, 0x100)])


def count_per_document(flags: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of each document's ids are flagged (`flags` over all ids; document k's from bounds[k]
    to bounds[k + 1]). The False appended is the end marker an empty last document points at."""
    return np.add.reduceat(np.append(flags, False), bounds[:-1])


def _single_spaced(data: bytes) -> bool:
    """No whitespace but single spaces between other characters (ASCII whitespace; a WordPiece
    tokenizer's own splitting on other spaces leaves them out of its tokens, so the byte check
    after this one catches those)."""
    return (len(data.translate(None, _WHITESPACE)) + data.count(b" ") == len(data) and b"  " not in data
            and not data.startswith(b" ") and not data.endswith(b" "))


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
    """What the fold needs of a tokenizer: how to encode many texts at once, how to tell whether
    each round-trips, and its unk id."""

    def __init__(self, name: str, vocab_size: int, unk: int | None, tokenizer: Tokenizer) -> None:
        self.name = name
        self.vocab_size = vocab_size
        self.unk = unk
        self.tokenizer = tokenizer

    @classmethod
    def of(cls, tok: Tokenizer, *, name: str | None = None) -> TokenizerJob:
        from ..compare import unknown_id

        return cls(name or tok.name, tok.vocab_size, unknown_id(tok), tok)

    @property
    def decodes_to_bytes(self) -> bool:
        """Byte-level tokenizers decode to exactly the concatenated bytes of their tokens."""
        tok = self.tokenizer
        return tok.backend == "tiktoken" or bool(getattr(tok, "byte_level", False))

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Ids through the backend's own parallel batch encoder (no offsets, no added tokens)."""
        fast = getattr(self.tokenizer, "encode_ids_batch", None)
        if fast is not None:
            return fast(texts)
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def round_trips(self, texts: list[str], data: list[bytes], ids: list[list[int]], flat: np.ndarray,
                    bounds: np.ndarray) -> list[bool]:
        """Whether decoding each document's ids gives its text back exactly (`flat`: all ids in one
        array, document k's from bounds[k] to bounds[k + 1])."""
        if self.tokenizer.backend == "tiktoken":
            # tiktoken cuts the UTF-8 of the text into tokens, so their bytes join back into it by
            # construction; only lone surrogates could not, and documents reach the fold without any
            # (the reader decodes bytes; corpus_stats repairs given strings as Tokenizer.encode does).
            return [True] * len(texts)
        if self.decodes_to_bytes:
            return self._byte_level_round_trips(data, ids, flat, bounds)
        if self.tokenizer.backend == "sentencepiece":
            return self._spm_round_trips(texts, data, ids, flat, bounds)
        if self.tokenizer.model_type == "WordPiece" and getattr(self.tokenizer, "backend_tokenizer", None) is not None:
            return self._wordpiece_round_trips(texts, data, ids)
        return [a == b for a, b in zip(self.decode(ids), texts)]

    def _enough_spaces(self, data: bytes, ids: list[int]) -> bool:
        """The decoder puts a space before every token but the first and the "##" continuations, and
        its clean-up takes out at most two around each punctuation token (" ' " → "'"): a text with
        fewer spaces than that (Chinese, say) cannot come back."""
        starts, punct = self._wordpiece_tables()
        row = np.asarray(ids, dtype=np.int64)
        return data.count(b" ") >= np.count_nonzero(starts[row]) - 1 - 2 * np.count_nonzero(punct[row])

    def _per_tokenizer(self, key: str, compute: Callable[[], Any]) -> Any:
        """A table computed once per tokenizer object and kept on it (jobs are rebuilt for every
        corpus run; the loaded tokenizer is not)."""
        store = self.tokenizer.__dict__
        if key not in store:
            store[key] = compute()
        return store[key]

    def _wordpiece_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Per id: does it start a word (no "##"), and could clean-up take a space out next to it."""
        return self._per_tokenizer("_tp_wordpiece_tables", self._build_wordpiece_tables)

    def _build_wordpiece_tables(self) -> tuple[np.ndarray, np.ndarray]:
        pieces = [self.tokenizer.backend_tokenizer.id_to_token(i) or "" for i in range(self.vocab_size)]
        prefix = self.tokenizer.backend_tokenizer.decoder.prefix
        starts = np.array([not p.startswith(prefix) for p in pieces], dtype=bool)
        punct = np.array([bool(p) and not p[0].isalnum() or p in ("n't", "not") for p in pieces], dtype=bool)
        return starts, punct

    def _byte_level_round_trips(self, data: list[bytes], ids: list[list[int]], flat: np.ndarray, bounds: np.ndarray) -> list[bool]:
        """A byte-level BPE with no normaliser and no added prefix space, whose vocabulary holds all
        256 byte symbols, cuts the text's bytes into tokens without changing or losing one: by
        construction its tokens' bytes join back into the text. Only documents holding an added token
        (which may have eaten the spaces around it) are joined to check."""
        added = self._byte_level_by_construction()
        if added is None:
            return self._bytes_equal(data, ids)
        lengths = np.diff(bounds)
        holds = count_per_document(added[flat], bounds)
        out = [bool(d) == bool(n) for d, n in zip(data, lengths)]  # an empty text: no tokens
        check = [k for k in range(len(ids)) if holds[k] and lengths[k]]
        for k, same in zip(check, self._bytes_equal([data[k] for k in check], [ids[k] for k in check])):
            out[k] = same
        return out

    def _byte_level_by_construction(self) -> np.ndarray | None:
        """Which ids are added tokens, for a tokenizer whose byte-level cut keeps every byte (None
        for any other: tiktoken's and the rest go through the join)."""
        return self._per_tokenizer("_tp_byte_level_exact", self._probe_byte_level)

    def _probe_byte_level(self) -> np.ndarray | None:
        import json

        from ..tokenizers.hf import bytes_to_unicode

        raw = getattr(self.tokenizer, "backend_tokenizer", None)
        if raw is None or raw.normalizer is not None:
            return None
        spec = json.loads(raw.to_str())
        steps = spec.get("pre_tokenizer") or {}
        steps = steps.get("pretokenizers", [steps]) if steps.get("type") == "Sequence" else [steps]
        byte_levels = [p for p in steps if p.get("type") == "ByteLevel"]
        if (len(byte_levels) != 1 or byte_levels[0].get("add_prefix_space")
                or any(p.get("type") not in ("ByteLevel", "Split", "Digits", "Punctuation") for p in steps)
                or (spec.get("decoder") or {}).get("type") != "ByteLevel" or (spec.get("model") or {}).get("type") != "BPE"):
            return None
        # Every byte that valid UTF-8 can hold must be a token (0xC0, 0xC1 and 0xF5-0xFF never occur).
        symbols = bytes_to_unicode()
        if any(raw.token_to_id(symbols[b]) is None for b in range(256) if b not in _NEVER_IN_UTF8):
            return None
        added = np.zeros(self.vocab_size, dtype=bool)
        added[[i for i in raw.get_added_tokens_decoder() if i < self.vocab_size]] = True
        return added

    def _spm_round_trips(self, texts: list[str], data: list[bytes], ids: list[list[int]], flat: np.ndarray,
                         bounds: np.ndarray) -> list[bool]:
        """SentencePiece decodes a piece to its text with ▁ as a space and a byte piece to its byte,
        then takes off the one space its dummy prefix put before the text. So a document without
        unknown or control pieces round-trips exactly when its pieces' bytes, joined, are its UTF-8
        with that one space before it: a C-level join instead of a decode and a string comparison
        (the decode was a fifth of the time). Where the model normalises nothing (Llama, Phi-3) even
        the join is not needed. The rest (unknown or control pieces, a text starting with two
        spaces) go through sentencepiece's own threaded decoder."""
        plain, strips = self._spm_plain()
        if plain is None:
            decoded = self.tokenizer.processor.decode(ids, num_threads=os.cpu_count() or 1)
            return [a == b for a, b in zip(decoded, texts)]
        lengths = np.diff(bounds)
        odd = count_per_document(~plain[flat], bounds)
        out, slow = [], []
        if self.tokenizer.normalizer_spec.identity:
            # The pieces spell the text as normalised ("▁" before it, ▁ for each space: nothing else
            # changes) and decoding spells it back, so only a text holding ▁ itself cannot come back.
            for k, text in enumerate(texts):
                if odd[k]:
                    slow.append(k)
                out.append(not text if lengths[k] == 0 else not odd[k] and "▁" not in text)
        else:
            for k, (joined, d) in enumerate(zip(self._joined(ids), data)):
                if lengths[k] == 0:
                    out.append(not d)
                elif odd[k] or joined.startswith(b"  "):
                    out.append(False)
                    slow.append(k)
                else:
                    out.append((joined[1:] if strips and joined[:1] == b" " else joined) == d)
        if slow:
            decoded = self.tokenizer.processor.decode([ids[k] for k in slow], num_threads=os.cpu_count() or 1)
            for k, text in zip(slow, decoded):
                out[k] = text == texts[k]
        return out

    def _spm_plain(self) -> tuple[np.ndarray | None, bool]:
        """(which ids decode by the rule above, whether decoding takes off a leading space), from
        probing the model; (None, False) for a model that treats whitespace as a suffix."""
        return self._per_tokenizer("_tp_spm_plain", self._probe_spm_plain)

    def _probe_spm_plain(self) -> tuple[np.ndarray | None, bool]:
        sp = self.tokenizer.processor
        n = sp.get_piece_size()
        plain = np.fromiter((not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)) for i in range(n)),
                            dtype=bool, count=n)
        lead = next((i for i in range(n) if plain[i] and len(sp.id_to_piece(i)) > 1
                     and sp.id_to_piece(i).startswith("▁") and "▁" not in sp.id_to_piece(i)[1:]), None)
        tail = next((i for i in range(n) if plain[i] and len(sp.id_to_piece(i)) > 1
                     and sp.id_to_piece(i).endswith("▁") and "▁" not in sp.id_to_piece(i)[:-1]), None)
        suffix_rule = tail is not None and sp.decode([tail]) != sp.id_to_piece(tail).replace("▁", " ")
        strips = lead is not None and sp.decode([lead]) == sp.id_to_piece(lead)[1:]
        return (None, False) if suffix_rule else (plain, strips)

    def decode(self, ids: list[list[int]]) -> list[str]:
        """Each document's ids back to text, through the backend's batch decoder where it has one."""
        tok = self.tokenizer
        raw = getattr(tok, "backend_tokenizer", None)
        if raw is not None:
            return raw.decode_batch(ids, skip_special_tokens=False)
        return [tok.decode(x) for x in ids]

    def _joined(self, ids: list[list[int]]) -> list[bytes]:
        """Each document's tokens' bytes joined (far cheaper than decoding to str)."""
        table = self.tokenizer.byte_table()
        return [b"".join(itemgetter(*row)(table)) if len(row) > 1 else (table[row[0]] if row else b"") for row in ids]

    def _bytes_equal(self, data: list[bytes], ids: list[list[int]]) -> list[bool]:
        return [joined == d for joined, d in zip(self._joined(ids), data)]

    def _wordpiece_round_trips(self, texts: list[str], data: list[bytes], ids: list[list[int]]) -> list[bool]:
        """The WordPiece decoder joins the tokens' own text with single spaces (and takes some out
        before punctuation), so a document cannot round-trip if it holds any other whitespace (a
        newline, a tab, two spaces, a space at either end), or if its non-space bytes differ from its
        tokens': only the others are decoded to check."""
        from tokenizers import decoders

        if not isinstance(self.tokenizer.backend_tokenizer.decoder, decoders.WordPiece):
            return [a == b for a, b in zip(self.decode(ids), texts)]
        out = [not d and not i for d, i in zip(data, ids)]  # an empty text comes back from no tokens
        spaced = [k for k, d in enumerate(data) if d and _single_spaced(d)]
        joined = self._joined([ids[k] for k in spaced])
        maybe = [k for k, j in zip(spaced, joined) if j == data[k].translate(None, b" ") and self._enough_spaces(data[k], ids[k])]
        for k, decoded in zip(maybe, self.decode([ids[k] for k in maybe]) if maybe else []):
            out[k] = decoded == texts[k]
        return out


def tally_batch(docs: Sequence[Document], job: TokenizerJob, tallies: dict[str, Tally],
                facts: list[tuple[int, int, int]], data: list[bytes], ids: list[list[int]] | None = None) -> None:
    """Encode one batch with one tokenizer (unless its `ids` are given) and add it to the per-group tallies.

    `facts` holds (chars, bytes, words) per document and `data` its UTF-8, computed once for all tokenizers.
    """
    texts = [d.text for d in docs]
    if ids is None:
        ids = job.encode(texts)
    lengths = [len(x) for x in ids]
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=sum(lengths))  # one pass, no per-document arrays
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    same = job.round_trips(texts, data, ids, flat, bounds)
    groups: dict[str, list[int]] = {}
    for k, d in enumerate(docs):
        groups.setdefault(d.group, []).append(k)
    for group, members in groups.items():
        t = tallies.get(group)
        if t is None:
            t = tallies[group] = Tally(job.vocab_size)
        for k in members:
            d, (chars, nbytes, words) = docs[k], facts[k]
            t.documents += d.part == 0
            t.chars += chars
            t.bytes += nbytes
            t.words += words
            t.tokens += lengths[k]
            if not same[k]:
                if d.part == 0 and d.last:
                    t.failed_single += 1
                else:
                    t.failed_multi.add(d.doc_id)
        part = flat if len(members) == len(docs) else np.concatenate([flat[bounds[k] : bounds[k + 1]] for k in members])
        t.counts += np.bincount(part, minlength=job.vocab_size)[: job.vocab_size]
        if job.unk is not None:
            t.unknown += int(np.count_nonzero(part == job.unk))


def doc_facts(docs: list[Document]) -> tuple[list[tuple[int, int, int]], list[bytes]]:
    """(chars, bytes, words) of each document, and its UTF-8.

    Text from elsewhere than our reader may hold lone surrogates, which no backend can encode:
    such a document is replaced in `docs` by its repaired text (U+FFFD), as `Tokenizer.encode` does.
    """
    data = []
    for k, d in enumerate(docs):
        try:
            data.append(d.text.encode("utf-8"))
        except UnicodeEncodeError:
            from ..tokenizers.base import repair_surrogates

            docs[k] = replace(d, text=repair_surrogates(d.text)[0])
            data.append(docs[k].text.encode("utf-8"))
    return [(len(d.text), len(b), count_words(b)) for d, b in zip(docs, data)], data


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
        # most frequent first; ties by id, so every engine lists the same tokens
        order = nonzero[np.lexsort((nonzero, -counts[nonzero]))][:top]
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

    def row(self, tokenizer: str, group: str = TOTAL) -> GroupStats:
        return next(r for r in self.rows if r.tokenizer == tokenizer and r.group == group)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows if r.group != TOTAL))

    @property
    def tokenizers(self) -> list[str]:
        return list(dict.fromkeys(r.tokenizer for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "seconds": round(self.seconds, 3), "read": self.report,
                "results": [r.to_dict() for r in self.rows]}

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
