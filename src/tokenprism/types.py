"""Value types of the tokenizer stage: `Token` (one token, as a view) and `Encoding` (parallel arrays).

An `Encoding` keeps the backend's raw output (ids, and offsets when the backend gives them) and
computes everything else on first use. Encoding 10 MB therefore costs what the backend costs; the
per-token views (`enc.tokens`) are built only when something looks at them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator, NamedTuple, Sequence

if TYPE_CHECKING:
    from .tokenizers.base import Tokenizer

__all__ = ["Token", "Encoding", "Decoding", "fragment_label"]


def fragment_label(data: bytes) -> str:
    """How a token that is not whole UTF-8 is shown: its bytes, e.g. ``<0xF0 0x9F>``.

    >>> fragment_label(b"\\xf0\\x9f")
    '<0xF0 0x9F>'
    """
    return "<" + " ".join(f"0x{b:02X}" for b in data) + ">"


def is_whole_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Token(NamedTuple):
    """One token of an `Encoding`.

    `piece` is the vocab entry (``Ġhello``, ``##ing``, ``▁the``, ``<0xF0>``); `text` is the exact slice of
    the input it covers (``text[start:end]``, empty for tokens the tokenizer added); `data` its bytes.
    A `fragment` holds part of a multi-byte character: it is shown as its bytes, never as "�".
    """

    index: int
    id: int
    piece: str
    text: str
    start: int
    end: int
    data: bytes
    special: bool
    fragment: bool
    from_text: bool  # a special token parsed from a special-token string typed in the text

    @property
    def label(self) -> str:
        """What a display shows for this token."""
        if self.special:
            return self.piece
        if self.fragment:
            return fragment_label(self.data)
        return self.data.decode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "piece": self.piece,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "special": self.special,
            "fragment": self.fragment,
            "from_text": self.from_text,
            "bytes": self.data.hex(" "),
        }


class Encoding:
    """The result of `Tokenizer.encode`: parallel arrays over the tokens of one text.

    >>> enc = load_tokenizer("gpt2").encode("Hello world")   # doctest: +SKIP
    >>> enc.ids, enc.pieces, enc.offsets                      # doctest: +SKIP
    ([15496, 995], ['Hello', 'Ġworld'], [(0, 5), (5, 11)])
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        text: str,
        ids: list[int],
        *,
        offsets: list[tuple[int, int]] | Callable[[], list[tuple[int, int]]] | None = None,
        added: Sequence[int] | Callable[[], Sequence[int]] = (),
        notes: Sequence[str] = (),
    ) -> None:
        self._tokenizer = tokenizer
        self.text = text
        self.ids = ids
        self._raw_offsets = offsets
        self._raw_added = added
        self.notes = list(notes)

    # --- the cheap facts -------------------------------------------------------------------
    @property
    def tokenizer(self) -> str:
        return self._tokenizer.name

    @property
    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    # --- computed on first use -------------------------------------------------------------
    @cached_property
    def offsets(self) -> list[tuple[int, int]]:
        """Character offsets into `text`, one (start, end) per token."""
        raw = self._raw_offsets
        if raw is None:
            return self._tokenizer._offsets(self.text, self.ids)
        return raw() if callable(raw) else raw

    @cached_property
    def added(self) -> frozenset[int]:
        """Indices of the tokens the tokenizer added around the text (BOS/EOS, [CLS]/[SEP])."""
        raw = self._raw_added
        return frozenset(raw() if callable(raw) else raw)

    @cached_property
    def pieces(self) -> list[str]:
        return _per_id(self.ids, self._tokenizer.id_to_piece)

    @cached_property
    def data(self) -> list[bytes]:
        """Each token's bytes (for special tokens: the UTF-8 of their string)."""
        return _per_id(self.ids, self._tokenizer.token_bytes)

    @cached_property
    def special(self) -> list[bool]:
        is_special = self._tokenizer.is_special
        return [is_special(i) for i in self.ids]

    @cached_property
    def labels(self) -> list[str]:
        """What a display shows for each token (`Token.label`)."""
        return _per_id(self.ids, self._tokenizer.label)

    @cached_property
    def fragments(self) -> list[bool]:
        """True for tokens that hold part of a character (shown as their bytes)."""
        whole = _per_id(self.data, is_whole_utf8)
        return [not sp and not w for sp, w in zip(self.special, whole)]

    @cached_property
    def from_text(self) -> list[bool]:
        """True for special tokens that stand for a special-token string typed in the text (not for an
        [UNK] standing in for a character the vocab lacks)."""
        added, text = self.added, self.text
        return [
            sp and i not in added and piece in text[s:e]
            for i, (sp, piece, (s, e)) in enumerate(zip(self.special, self.pieces, self.offsets))
        ]

    @cached_property
    def lossless(self) -> bool:
        """Whether decoding the ids (less those the tokenizer added) gives the text back exactly."""
        ids = self.ids if not self.added else [t for i, t in enumerate(self.ids) if i not in self.added]
        return self._tokenizer.decode(ids) == self.text

    @cached_property
    def tokens(self) -> list[Token]:
        return list(self)

    def __iter__(self) -> Iterator[Token]:
        text = self.text
        for i, (tid, piece, (s, e), data, sp, fr, ft) in enumerate(
            zip(self.ids, self.pieces, self.offsets, self.data, self.special, self.fragments, self.from_text)
        ):
            yield Token(i, tid, piece, text[s:e], s, e, data, sp, fr, ft)

    def head(self, n: int) -> list[Token]:
        """The first `n` tokens, without building views of the rest (a display of 50 MB shows a few
        thousand tokens; building 12 million views would take longer than the encode)."""
        if n >= self.count or "tokens" in self.__dict__:
            return self.tokens[:n]
        tok, text, added = self._tokenizer, self.text, self.added
        ids = self.ids[:n]
        raw = self._raw_offsets
        # The byte walk runs from the start, so the first n tokens' spans need only their own bytes.
        offsets = tok._offsets(text, ids) if raw is None else (raw() if callable(raw) else raw)[:n]
        views = []
        for i, (tid, (s, e)) in enumerate(zip(ids, offsets)):
            piece, data, sp = tok.id_to_piece(tid), tok.token_bytes(tid), tok.is_special(tid)
            from_text = sp and i not in added and piece in text[s:e]
            views.append(Token(i, tid, piece, text[s:e], s, e, data, sp, not sp and not is_whole_utf8(data), from_text))
        return views

    @property
    def parsed_special_tokens(self) -> list[Token]:
        """Special tokens that came from special-token strings typed in the text."""
        return [t for t in self.tokens if t.from_text]

    # --- conversions -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "text": self.text,
            "count": self.count,
            "ids": list(self.ids),
            "tokens": self.token_dicts(),
            "lossless": self.lossless,
            "notes": list(self.notes),
        }

    def token_dicts(self) -> list[dict[str, Any]]:
        """`[t.to_dict() for t in enc.tokens]`, built from the columns without a `Token` per token
        (what `tokenize --json` prints: its cost per token is flat, whatever the text's length)."""
        text, hexes = self.text, _per_id(self.data, lambda d: d.hex(" "))
        return [
            {"id": i, "piece": p, "text": text[s:e], "start": s, "end": e, "special": sp, "fragment": fr,
             "from_text": ft, "bytes": h}
            for i, p, (s, e), sp, fr, ft, h in zip(self.ids, self.pieces, self.offsets, self.special, self.fragments,
                                                   self.from_text, hexes)
        ]

    def to_numpy(self, dtype: str = "int64") -> Any:
        import numpy as np

        return np.asarray(self.ids, dtype=dtype)

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)

    def __repr__(self) -> str:
        return f"Encoding(tokenizer={self.tokenizer!r}, count={self.count}, ids={self.ids[:8]!r}{'…' if self.count > 8 else ''})"


def _per_id(keys: Sequence[Any], value: Callable[[Any], Any]) -> list[Any]:
    """`[value(k) for k in keys]`, calling `value` once per distinct key (a text repeats its tokens)."""
    seen: dict[Any, Any] = {}
    return [seen[k] if k in seen else seen.setdefault(k, value(k)) for k in keys]


class Decoding(NamedTuple):
    """The result of `Tokenizer.decode_tokens`: each id's piece and shown label, and the joined text.

    The joined `text` is the tokenizer's own decode of all ids together, so fragments of one character
    that are shown as bytes one by one still join into that character.
    """

    tokenizer: str
    ids: list[int]
    pieces: list[str]
    labels: list[str]
    special: list[bool]
    fragment: list[bool]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "ids": list(self.ids),
            "tokens": [
                {"id": i, "piece": p, "label": lab, "special": s, "fragment": f}
                for i, p, lab, s, f in zip(self.ids, self.pieces, self.labels, self.special, self.fragment)
            ],
            "text": self.text,
        }

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)
