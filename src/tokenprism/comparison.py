"""Several tokenizers side by side on one text: counts, compression, unknown tokens, round-trip, and
the places where they cut the text differently.

>>> cmp = compare("def add(a, b):", ["gpt2", "cl100k_base"])        # doctest: +SKIP
>>> [(r.tokenizer, r.count) for r in cmp.rows]                      # doctest: +SKIP
[('gpt2', 6), ('cl100k_base', 6)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from .errors import TokenprismError, UsageError
from .types import Encoding

if TYPE_CHECKING:
    from .properties import Properties
    from .tokenizers.base import Tokenizer

__all__ = ["compare", "Comparison", "ComparisonRow", "Disagreement", "BOOK_TEXT", "PRESETS", "expand_specs"]

#: The test text of the "Hands-On Large Language Models" tokenizer lesson.
BOOK_TEXT = (
    "\nEnglish and CAPITALIZATION\n🎵 鸟\nshow_tokens False None elif == >= else: "
    'two tabs:"\t\t" Three tabs: "\t\t\t"\n12.0*50=600\n'
)

#: Named sets of specs. Presets name Hub ids (and an OpenAI encoding), resolved like any spec.
PRESETS: dict[str, tuple[str, ...]] = {
    "book": (
        "bert-base-uncased",
        "bert-base-cased",
        "gpt2",
        "google/flan-t5-small",
        "gpt-4",
        "bigcode/starcoder2-15b",
        "facebook/galactica-1.3b",
        "microsoft/Phi-3-mini-4k-instruct",
    ),
}


@dataclass(frozen=True)
class ComparisonRow:
    """One tokenizer's result, or why it could not be had (`error`)."""

    tokenizer: str
    encoding: Encoding | None = None
    error: str | None = None
    unknown: int = 0
    tok: Tokenizer | None = None

    @property
    def ok(self) -> bool:
        return self.encoding is not None

    @property
    def count(self) -> int:
        return self.encoding.count if self.encoding is not None else 0

    @property
    def text_tokens(self) -> int:
        """Tokens that stand for the text (the ones the tokenizer added around it not counted)."""
        enc = self.encoding
        return enc.count - len(enc.added) if enc is not None else 0

    @property
    def chars_per_token(self) -> float:
        return _ratio(len(self.encoding.text), self.text_tokens) if self.encoding is not None else 0.0

    @property
    def bytes_per_token(self) -> float:
        return _ratio(len(self.encoding.text.encode("utf-8")), self.text_tokens) if self.encoding is not None else 0.0

    @property
    def lossless(self) -> bool:
        return self.encoding.lossless if self.encoding is not None else False

    def summary(self) -> dict[str, Any]:
        """`to_dict` without the tokens: the counts and ratios (what a table row shows)."""
        if self.encoding is None:
            return {"tokenizer": self.tokenizer, "error": self.error}
        return {
            "tokenizer": self.tokenizer,
            "count": self.count,
            "chars_per_token": round(self.chars_per_token, 4),
            "bytes_per_token": round(self.bytes_per_token, 4),
            "unknown": self.unknown,
            "lossless": self.lossless,
        }

    def to_dict(self) -> dict[str, Any]:
        if self.encoding is None:
            return self.summary()
        return {**self.summary(), "ids": list(self.encoding.ids), "tokens": self.encoding.token_dicts()}


@dataclass(frozen=True)
class Disagreement:
    """A stretch of text the tokenizers cut differently, with each tokenizer's tokens over it."""

    start: int
    end: int
    text: str
    tokens: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "tokens": self.tokens}


@dataclass(frozen=True)
class Comparison:
    """The result of `compare`: one row per tokenizer (in the order asked) and the disagreements."""

    text: str
    rows: list[ComparisonRow]
    disagreements: list[Disagreement]

    def properties(self) -> dict[str, Properties]:
        """Each loaded tokenizer's detected properties (probing costs a few encodes each)."""
        from .properties import detect_properties

        return {r.tokenizer: detect_properties(r.tok) for r in self.rows if r.tok is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "rows": [r.to_dict() for r in self.rows],
            "disagreements": [d.to_dict() for d in self.disagreements],
        }

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)


def expand_specs(specs: Sequence[str | Tokenizer] | str | None, *, preset: str | None = None) -> list[str | Tokenizer]:
    """Specs with preset names expanded: ``["book"]`` or ``preset="book"`` → the eight of the lesson."""
    if isinstance(specs, str):
        specs = [specs]
    out: list[str | Tokenizer] = []
    if preset is not None:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        out.extend(PRESETS[preset])
    for spec in specs or ():
        out.extend(PRESETS[spec] if isinstance(spec, str) and spec in PRESETS else [spec])
    if not out:
        raise UsageError("no tokenizers to compare: pass -t SPEC (repeat it) or --preset book")
    return out


def compare(
    text: str | None = None,
    specs: Sequence[str | Tokenizer] | str | None = None,
    *,
    preset: str | None = None,
    add_special_tokens: bool = True,
    split_special_tokens: bool = False,
) -> Comparison:
    """Encode one text with several tokenizers; a tokenizer that cannot be loaded gets an error row.

    `text` defaults to the book's test text (`BOOK_TEXT`); `specs` may hold spec strings, loaded
    `Tokenizer` objects, or a preset name ("book").

    >>> cmp = compare(specs=["gpt2", "bert-base-uncased"])          # doctest: +SKIP
    >>> cmp.rows[1].unknown, cmp.disagreements[0].text               # doctest: +SKIP
    (2, ' CAPITAL')
    """
    text = BOOK_TEXT if text is None else text
    rows = [
        _row(spec, text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
        for spec in expand_specs(specs if specs is not None or preset else "book", preset=preset)
    ]
    encodings = {r.tokenizer: r.encoding for r in rows if r.encoding is not None}
    return Comparison(text=encodings[next(iter(encodings))].text if encodings else text, rows=rows,
                      disagreements=find_disagreements(encodings))


def _row(spec: str | Tokenizer, text: str, *, add_special_tokens: bool, split_special_tokens: bool) -> ComparisonRow:
    name = spec if isinstance(spec, str) else spec.name
    try:
        tok = _load(spec)
        enc = tok.encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    except TokenprismError as exc:
        return ComparisonRow(tokenizer=name, error=str(exc))
    return ComparisonRow(tokenizer=name, encoding=enc, unknown=count_unknown(tok, enc), tok=tok)


def _load(spec: str | Tokenizer) -> Tokenizer:
    if not isinstance(spec, str):
        return spec
    from .tokenizers.registry import load_tokenizer

    return load_tokenizer(spec)


def count_unknown(tok: Tokenizer, enc: Encoding) -> int:
    """Tokens of `enc` that are the unknown token; an unk-token string typed in the text is not unknown."""
    tid = tok.unknown_id
    if tid is None:
        return 0
    piece = tok.id_to_piece(tid)
    text, added = enc.text, enc.added
    return sum(
        1 for i, (t, (s, e)) in enumerate(zip(enc.ids, enc.offsets)) if t == tid and i not in added and text[s:e] != piece
    )


# --- where the tokenizers cut the text differently ------------------------------------------------------
# Everything here is linear in the text and the tokens (numpy over character positions, one
# searchsorted per span): 100 KB with eight tokenizers takes a fraction of a second.


def _cuts(text_len: int, offsets: Sequence[tuple[int, int]]) -> tuple[Any, Any]:
    """One tokenizer's view of the positions 0..n of a text: covered[c] (some token covers character
    c) and across[p] (a token spans over position p, so there is no cut there)."""
    import numpy as np

    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = spans[:, 0], spans[:, 1]
    wide = ends > starts
    cover = np.zeros(text_len + 2, dtype=np.int64)
    np.add.at(cover, starts[wide], 1)
    np.add.at(cover, ends[wide], -1)
    long = ends - starts > 1
    over = np.zeros(text_len + 2, dtype=np.int64)
    np.add.at(over, starts[long] + 1, 1)
    np.add.at(over, ends[long], -1)
    return np.cumsum(cover)[: text_len + 1] > 0, np.cumsum(over)[: text_len + 1] > 0


def find_disagreements(encodings: dict[str, Encoding]) -> list[Disagreement]:
    """Stretches where one tokenizer cuts and another (that kept the characters on both sides) does not.

    Each stretch runs between the nearest positions where all tokenizers agree; positions inside
    one character (byte-level fragments) are never cuts, since offsets are in characters.
    """
    import numpy as np

    if len(encodings) < 2:
        return []
    text = next(iter(encodings.values())).text
    n = len(text)
    if n < 2:
        return []
    all_cut = np.ones(n - 1, dtype=bool)  # positions 1..n-1
    any_cut = np.zeros(n - 1, dtype=bool)
    for enc in encodings.values():
        covered, across = _cuts(n, enc.offsets)
        # a tokenizer that dropped the character on either side (BERT drops spaces) says nothing here
        opinion = covered[: n - 1] & covered[1:n]
        cuts = ~across[1:n]
        all_cut &= ~opinion | cuts
        any_cut |= opinion & cuts
    agreed = np.concatenate(([0], np.flatnonzero(all_cut) + 1, [n]))
    disputed = np.flatnonzero(~all_cut & any_cut) + 1
    right = np.unique(np.searchsorted(agreed, disputed))  # the agreed position after each disputed one
    starts, ends = agreed[right - 1], agreed[right]
    tokens = {name: _Overlaps(enc).labels_in(starts, ends) for name, enc in encodings.items()}
    return [Disagreement(start=a, end=b, text=text[a:b], tokens={name: tokens[name][k] for name in encodings})
            for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist()))]


class _Overlaps:
    """The labels of an encoding's tokens that cover part of [start, end), found by bisection: its
    tokens with a width, sorted by start, and the furthest any of them reaches up to each."""

    def __init__(self, enc: Encoding) -> None:
        import numpy as np

        spans = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        wide = np.flatnonzero(spans[:, 1] > spans[:, 0])  # (zero-width added tokens cover nothing)
        self.order = wide[np.argsort(spans[wide, 0], kind="stable")]
        self.starts, self.ends = spans[self.order, 0], spans[self.order, 1]
        self.reach = np.maximum.accumulate(self.ends) if len(self.ends) else self.ends
        self.labels = enc.labels

    def labels_in(self, starts: Any, ends: Any) -> list[list[str]]:
        """For each span [starts[k], ends[k]), the labels of the tokens covering part of it."""
        import numpy as np

        los = np.searchsorted(self.reach, starts, side="right").tolist()  # the first token reaching past the start
        his = np.searchsorted(self.starts, ends, side="left").tolist()
        labels, order, token_ends = self.labels, self.order, self.ends
        return [[labels[i] for i in order[lo:hi][token_ends[lo:hi] > start].tolist()]
                for lo, hi, start in zip(los, his, starts.tolist())]


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0
