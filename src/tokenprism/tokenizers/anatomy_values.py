"""The values of how a token is built (anatomy.py makes them): each step (a BPE merge, a WordPiece
match, a Unigram cut), a word's replay, one token's build and a whole text's. Their views are in
render/anatomy.py, reached through `_repr_html_`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["Merge", "Match", "Cut", "WordAnatomy", "TokenAnatomy", "Anatomy", "symbol_text"]

_METASPACE = "\u2581"  # ▁: SentencePiece's visible space


# --- the steps --------------------------------------------------------------------------------
class Merge(NamedTuple):
    """One BPE step: two adjacent symbols become one. `start` is where the merged symbol begins in
    the word (in characters of the model's alphabet)."""

    left: str
    right: str
    rank: float
    start: int

    @property
    def merged(self) -> str:
        return self.left + self.right


class Match(NamedTuple):
    """One WordPiece step: the longest piece of the vocabulary at `start` (None: no piece starts
    there, so the whole word becomes the unknown token); `tried` longer candidates were not pieces."""

    start: int
    end: int
    piece: str | None
    tried: int


class Cut(NamedTuple):
    """One way to cut a word into Unigram pieces, with its score (the sum of the pieces' scores)."""

    pieces: tuple[str, ...]
    score: float


# --- the values -------------------------------------------------------------------------------
@dataclass
class WordAnatomy:
    """How the model cut one word: its symbols, the steps, the tokens they ended in, and whether those
    are exactly the tokens the tokenizer produced."""

    algorithm: str
    symbols: str
    ids: list[int]
    pieces: list[str]
    #: where each token lies in `symbols` (characters): byte-fallback tokens share their character
    spans: list[tuple[int, int]]
    first: int
    replayed: list[int]
    #: the symbols the replay ended in (before byte fallback and unknown tokens)
    final: list[str] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rank_name: str = ""
    byte_level: bool = False
    #: "bpe", "wordpiece" or "unigram": which of the three algorithms cut it
    family: str = ""

    @property
    def exact(self) -> bool:
        """Whether the replay ended in exactly the tokens the tokenizer produced."""
        return self.replayed == self.ids

    @property
    def start_symbols(self) -> list[str]:
        """The symbols the model started from: characters (for byte-level BPE, one per byte)."""
        return list(self.symbols)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "family": self.family,
            "symbols": self.symbols,
            "text": symbol_text(self.symbols, byte_level=self.byte_level),
            "start_symbols": self.start_symbols,
            "first": self.first,
            "ids": list(self.ids),
            "pieces": list(self.pieces),
            "spans": [list(s) for s in self.spans],
            "final": list(self.final),
            "replayed": list(self.replayed),
            "exact": self.exact,
            "rank_name": self.rank_name,
            "merges": [{"left": m.left, "right": m.right, "merged": m.merged, "rank": _number(m.rank), "start": m.start}
                       for m in self.merges],
            "matches": [m._asdict() for m in self.matches],
            "cuts": [{"pieces": list(c.pieces), "score": c.score} for c in self.cuts],
            "notes": list(self.notes),
        }


@dataclass
class TokenAnatomy:
    """How one token of a text was built: the word it came from and the steps that made it. For a
    token the model did not build (a special token, one added around the text), `word` is None and
    `why` says where it came from.

    >>> explain_token("bert-base-uncased", "unbelievable", 2).piece      # doctest: +SKIP
    '##lie'
    """

    tokenizer: str
    index: int
    id: int
    piece: str
    label: str
    word: WordAnatomy | None
    why: str = ""

    @property
    def position(self) -> int:
        """Which token of its word this is (0 for the first)."""
        return self.index - self.word.first if self.word else 0

    @property
    def span(self) -> tuple[int, int]:
        """Where this token lies in its word's symbols."""
        return self.word.spans[self.position] if self.word else (0, 0)

    @property
    def steps(self) -> list[Merge]:
        """The merges that built this token, in the order they happened (BPE; [] for the others)."""
        if not self.word:
            return []
        start, end = self.span
        return [m for m in self.word.merges if start <= m.start and m.start + len(m.merged) <= end]

    def states(self) -> list[list[str]]:
        """The token's symbols before its first merge, then after each of its merges (BPE)."""
        if not self.word:
            return []
        start, end = self.span
        symbols = list(self.word.symbols[start:end])
        where = list(range(start, end))  # where each symbol begins in the word
        out = [list(symbols)]
        for m in self.steps:
            i = where.index(m.start)
            symbols[i : i + 2] = [m.merged]
            del where[i + 1]
            out.append(list(symbols))
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tokenizer": self.tokenizer, "index": self.index, "id": self.id, "piece": self.piece,
                                "label": self.label, "why": self.why, "word": None}
        if self.word:
            states = self.states()
            data.update(position=self.position, span=list(self.span), word=self.word.to_dict(), start=states[0],
                        steps=[{"left": m.left, "right": m.right, "merged": m.merged, "rank": _number(m.rank), "after": after}
                               for m, after in zip(self.steps, states[1:])])
        return data

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


@dataclass
class Anatomy:
    """How every token of a text was built (`explain_tokens`): one `TokenAnatomy` per token; tokens of
    the same word share their `WordAnatomy`."""

    tokenizer: str
    text: str
    tokens: list[TokenAnatomy]

    @property
    def words(self) -> list[WordAnatomy]:
        seen: dict[int, WordAnatomy] = {}
        for tok in self.tokens:
            if tok.word is not None:
                seen.setdefault(id(tok.word), tok.word)
        return list(seen.values())

    @property
    def exact(self) -> bool:
        return all(w.exact for w in self.words)

    def to_dict(self) -> dict[str, Any]:
        """The words once each, and the tokens with the index of their word (None: not built by the model)."""
        words = self.words
        number = {id(w): i for i, w in enumerate(words)}
        tokens = []
        for t in self.tokens:
            data = t.to_dict()
            if t.word is not None:
                data["word"] = number[id(t.word)]
            tokens.append(data)
        return {"tokenizer": self.tokenizer, "text": self.text, "exact": self.exact,
                "words": [w.to_dict() for w in words], "tokens": tokens}

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def symbol_text(symbols: str, *, byte_level: bool) -> str:
    """A word's symbols as text: GPT-2's byte characters back to the bytes they stand for, ▁ as a space.

    >>> symbol_text("Ġworld", byte_level=True), symbol_text("▁Hello", byte_level=False)
    (' world', ' Hello')
    """
    if byte_level:
        from .base import unicode_to_bytes

        table = unicode_to_bytes()
        data = bytes(table[c] for c in symbols if c in table)
        return data.decode("utf-8", "replace")
    return symbols.replace(_METASPACE, " ")
