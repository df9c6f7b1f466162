"""Several tokenizers side by side on one text: counts, compression, unknown tokens, round-trip, and
the places where they cut the text differently.

>>> cmp = compare("def add(a, b):", ["gpt2", "cl100k_base"])        # doctest: +SKIP
>>> [(r.tokenizer, r.count) for r in cmp.rows]                      # doctest: +SKIP
[('gpt2', 6), ('cl100k_base', 6)]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
        return {**self.summary(), "ids": list(self.encoding.ids), "tokens": [t.to_dict() for t in self.encoding.tokens]}


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
@dataclass(frozen=True)
class _Cuts:
    """One tokenizer's view of the character positions of a text."""

    covered: list[bool]  # covered[c]: some token covers character c
    across: list[bool]  # across[p]: a token spans over position p (so no cut there)

    def has_opinion(self, p: int) -> bool:
        # A tokenizer that dropped the character on either side (BERT drops spaces) says nothing here.
        return self.covered[p - 1] and self.covered[p]

    def cuts(self, p: int) -> bool:
        return not self.across[p]


def _cuts(text_len: int, offsets: Sequence[tuple[int, int]]) -> _Cuts:
    cover = [0] * (text_len + 1)
    over = [0] * (text_len + 2)
    for s, e in offsets:
        if e > s:
            cover[s] += 1
            cover[e] -= 1
            if e - s > 1:
                over[s + 1] += 1
                over[e] -= 1
    covered, across, run_c, run_a = [], [], 0, 0
    for p in range(text_len + 1):
        run_c += cover[p]
        run_a += over[p]
        covered.append(run_c > 0)
        across.append(run_a > 0)
    return _Cuts(covered, across)


def find_disagreements(encodings: dict[str, Encoding]) -> list[Disagreement]:
    """Stretches where one tokenizer cuts and another (that kept the characters on both sides) does not.

    Each stretch runs between the nearest positions where all tokenizers agree; positions inside
    one character (byte-level fragments) are never cuts, since offsets are in characters.
    """
    if len(encodings) < 2:
        return []
    text = next(iter(encodings.values())).text
    n = len(text)
    views = {name: _cuts(n, enc.offsets) for name, enc in encodings.items()}
    agreed, disputed = [0], []
    for p in range(1, n):
        votes = [v.cuts(p) for v in views.values() if v.has_opinion(p)]
        if all(votes):  # every tokenizer that kept both neighbours cuts here (or none did)
            agreed.append(p)
        elif any(votes):
            disputed.append(p)
    agreed.append(n)
    spans: list[tuple[int, int]] = []
    for p in disputed:
        i = bisect_left(agreed, p)
        span = (agreed[i - 1], agreed[i])
        if not spans or spans[-1] != span:
            spans.append(span)
    return [_disagreement(text, s, e, encodings) for s, e in spans]


def _disagreement(text: str, start: int, end: int, encodings: dict[str, Encoding]) -> Disagreement:
    return Disagreement(
        start=start, end=end, text=text[start:end],
        tokens={name: [t.label for t in _overlapping(enc, start, end)] for name, enc in encodings.items()},
    )


def _overlapping(enc: Encoding, start: int, end: int) -> list:
    """The tokens of `enc` that cover part of [start, end) (zero-width added tokens never do)."""
    index = enc.__dict__.get("_tp_start_index")
    if index is None:  # (start, token) of the tokens with a width, in text order
        index = enc.__dict__["_tp_start_index"] = sorted(
            ((t.start, t.index) for t in enc.tokens if t.end > t.start)
        )
    starts = [s for s, _ in index]
    lo = bisect_right(starts, start)
    # step back over tokens that start before `start` but reach into the span
    while lo > 0 and enc.tokens[index[lo - 1][1]].end > start:
        lo -= 1
    picked = [enc.tokens[i] for _, i in index[lo : bisect_left(starts, end)]]
    return [t for t in picked if t.end > start]


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0
