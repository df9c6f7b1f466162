"""How a token is built: each tokenizer's model replayed on one word, step by step.

A tokenizer cuts text in two stages: it first splits the text into words (normalising, pre-tokenizing,
matching special tokens), then its *model* cuts each word into pieces of its vocabulary. This module
replays the second stage, from the word's raw characters (or bytes) to the tokens, with the tables the
backend reads from its own files (`Tokenizer.model_rules`, `Tokenizer.model_words`):

* BPE (GPT-2's byte-level, tiktoken, SentencePiece's) merges the adjacent pair of lowest rank, again
  and again, until no pair merges: each merge is a step, with its rank.
* WordPiece (BERT) takes the longest piece of the vocabulary at the start of what is left, then again
  after it ("##" inside a word); a word it cannot cover is one [UNK].
* Unigram (T5, DeBERTa-v3) picks the cut whose pieces' scores (log-probabilities) add up highest:
  shown beside the next best cuts of the same word.

The replay is exact: it ends in the tokens the tokenizer produced (`WordAnatomy.exact`), which the
tests hold for every fixture tokenizer on llama.cpp's test strings.

>>> explain_token("gpt2", "Hello world", 1).steps                     # doctest: +SKIP
[Merge(left='Ġ', right='w', rank=...), …, Merge(left='Ġw', right='orld', rank=...)]
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from ..errors import InputError

if TYPE_CHECKING:
    from ..types import Encoding
    from .base import ModelRules, ModelWord, Tokenizer

__all__ = ["Merge", "Match", "Cut", "WordAnatomy", "TokenAnatomy", "Anatomy", "explain_token", "explain_tokens",
           "replay_bpe", "longest_match", "best_cuts"]

#: How many cuts a Unigram word shows: the best and the runners-up.
CUTS_SHOWN = 4
_METASPACE = "\u2581"  # ▁: SentencePiece's visible space, where its words begin
_NEVER = float("inf")


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


# --- the algorithms: pure functions over one word -------------------------------------------
def replay_bpe(symbols: Sequence[str], rank: Callable[[str, str], float | None]) -> tuple[list[str], list[Merge]]:
    """Merge the adjacent pair of lowest rank until no pair merges (minbpe's loop): the final symbols
    and every merge in the order it happened.

    >>> ranks = {("l", "o"): 0, ("lo", "w"): 1}
    >>> replay_bpe(list("low"), lambda a, b: ranks.get((a, b)))[0]
    ['low']
    """
    parts = list(symbols)
    starts = [0]
    for part in parts[:-1]:
        starts.append(starts[-1] + len(part))

    def pair_rank(a: str, b: str) -> float:
        found = rank(a, b)
        return _NEVER if found is None else found

    # ranks[i]: the rank of merging parts[i] with parts[i + 1]; only the two pairs beside a merge change
    ranks = [pair_rank(a, b) for a, b in zip(parts, parts[1:])]
    merges: list[Merge] = []
    while ranks:
        best = min(ranks)
        if best == _NEVER:
            break
        i = ranks.index(best)  # ties go to the leftmost pair, as in every BPE implementation we replay
        merges.append(Merge(parts[i], parts[i + 1], best, starts[i]))
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
        del starts[i + 1], ranks[i]
        if i > 0:
            ranks[i - 1] = pair_rank(parts[i - 1], parts[i])
        if i < len(ranks):
            ranks[i] = pair_rank(parts[i], parts[i + 1])
    return parts, merges


def longest_match(word: str, pieces: Any, *, prefix: str = "##", max_chars: int = 100) -> list[Match]:
    """WordPiece's greedy longest match, step by step; a last step with `piece=None` means the word
    could not be covered (it becomes the unknown token).

    >>> [m.piece for m in longest_match("playing", {"play", "##ing"})]
    ['play', '##ing']
    """
    if len(word) > max_chars:  # too long to try: the whole word is unknown
        return [Match(0, len(word), None, 0)]
    steps, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = (prefix if start else "") + word[start:end]
            if piece in pieces:
                steps.append(Match(start, end, piece, len(word) - end))
                start = end
                break
        else:
            steps.append(Match(start, len(word), None, len(word) - start))
            break
    return steps


def best_cuts(word: str, score: Callable[[str], float | None], *, unk_score: float, longest: int,
              n: int = CUTS_SHOWN) -> list[Cut]:
    """The `n` best ways to cut `word` into pieces, best first: Viterbi that keeps the n best paths
    into every position instead of one. A character no piece covers alone is cut as unknown (scored
    `unk_score`), as SentencePiece's lattice does. Ties keep the longer last piece, as it does too.

    >>> scores = {"a": -2.0, "b": -2.0, "ab": -3.0}
    >>> best_cuts("ab", scores.get, unk_score=-20.0, longest=2, n=2)
    [Cut(pieces=('ab',), score=-3.0), Cut(pieces=('a', 'b'), score=-4.0)]
    """
    # paths[end]: the n best (score, pieces) that cut word[:end]
    paths: list[list[tuple[float, tuple[str, ...]]]] = [[(0.0, ())]] + [[] for _ in word]
    for end in range(1, len(word) + 1):
        found = []
        for start in range(max(0, end - longest), end):
            piece = word[start:end]
            value = score(piece)
            if value is None and end - start == 1:
                value = unk_score
            if value is None:
                continue
            found.extend((total + value, cut + (piece,)) for total, cut in paths[start])
        # nlargest is stable: among equal scores the earliest start (the longest last piece) wins
        paths[end] = heapq.nlargest(n, found, key=lambda path: path[0])
    return [Cut(pieces, total) for total, pieces in paths[-1]]


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


# --- the model of each kind, on one word -----------------------------------------------------
def _bpe_word(word: ModelWord, rules: ModelRules) -> tuple[list[str], list[Merge], list[str]]:
    """The BPE replay of a word: final symbols, merges, notes (a word taken whole)."""
    assert rules.rank is not None
    final, merges = replay_bpe(list(word.symbols), rules.rank)
    notes = []
    if rules.whole_words and word.symbols in rules.pieces and final != [word.symbols]:
        # tiktoken (and HF's ignore_merges) look a word up whole before merging anything
        notes.append("the whole word is a token, so it is taken as it is, without merges")
        final, merges = [word.symbols], []
    return final, merges, notes


def _unigram_word(word: ModelWord, rules: ModelRules) -> tuple[list[str], list[Cut]]:
    scores = rules.scores or {}
    cuts = best_cuts(word.symbols, scores.get, unk_score=rules.unk_score, longest=rules.longest_piece)
    return (list(cuts[0].pieces) if cuts else []), cuts


def _to_ids(symbols: list[str], rules: ModelRules) -> tuple[list[int], list[tuple[int, int]], list[str]]:
    """Final symbols → ids, with each token's span in the word: a symbol that is no piece becomes its
    bytes' pieces (byte fallback) or the unknown token (consecutive ones fused where the model does)."""
    ids: list[int] = []
    spans: list[tuple[int, int]] = []
    notes: list[str] = []
    pos = 0
    last_unknown = False
    for symbol in symbols:
        end = pos + len(symbol)
        tid = rules.pieces.get(symbol)
        if tid is not None:
            ids.append(tid)
            spans.append((pos, end))
            last_unknown = False
        elif rules.byte_ids and all(rules.byte_ids[b] is not None for b in symbol.encode("utf-8", "surrogatepass")):
            data = symbol.encode("utf-8", "surrogatepass")
            ids.extend(rules.byte_ids[b] for b in data)  # type: ignore[misc]
            spans.extend([(pos, end)] * len(data))
            notes.append(f"{symbol!r} is no piece of the vocabulary: it becomes its {len(data)} UTF-8 byte(s) (byte fallback)")
            last_unknown = False
        elif rules.unk_id is not None:
            if last_unknown and rules.fuse_unk:
                spans[-1] = (spans[-1][0], end)
            else:
                ids.append(rules.unk_id)
                spans.append((pos, end))
            notes.append(f"{symbol!r} is no piece of the vocabulary: it becomes the unknown token")
            last_unknown = True
        pos = end
    return ids, spans, list(dict.fromkeys(notes))


def build_word(word: ModelWord, rules: ModelRules, *, algorithm: str, pieces: Sequence[str], byte_level: bool) -> WordAnatomy:
    """Replay the model on one word (see the module's docstring)."""
    merges: list[Merge] = []
    matches: list[Match] = []
    cuts: list[Cut] = []
    if rules.algorithm == "wordpiece":
        matches = longest_match(word.symbols, rules.pieces, prefix=rules.prefix, max_chars=rules.max_chars)
        final = [word.symbols[m.start : m.end] for m in matches]
        if matches and matches[-1].piece is None:
            ids = [rules.unk_id] if rules.unk_id is not None else []
            spans, notes = [(0, len(word.symbols))], ["no piece of the vocabulary covers the rest of the word: the whole word becomes the unknown token"]
        else:
            ids = [rules.pieces[m.piece] for m in matches if m.piece is not None]
            spans, notes = [(m.start, m.end) for m in matches], []
    else:
        if rules.algorithm == "bpe":
            final, merges, notes = _bpe_word(word, rules)
        else:
            final, cuts = _unigram_word(word, rules)
            notes = []
        ids, spans, more = _to_ids(final, rules)
        notes += more
    return WordAnatomy(algorithm=algorithm, symbols=word.symbols, ids=list(word.ids), pieces=list(pieces),
                       spans=spans if len(spans) == len(word.ids) else [(0, len(word.symbols))] * len(word.ids),
                       first=word.first, replayed=ids, final=final, merges=merges, matches=matches, cuts=cuts, notes=notes,
                       rank_name=rules.rank_name if rules.algorithm == "bpe" else "", byte_level=byte_level,
                       family=rules.algorithm)


def split_at_words(word: WordAnatomy, rules: ModelRules, *, algorithm: str, byte_level: bool) -> list[WordAnatomy]:
    """A SentencePiece-style word (a whole sentence, spaces written ▁) cut where a token begins with ▁,
    so that each part shows one word. Exact: the BPE merges and the best Unigram cut never cross a
    token boundary, so each part replays on its own to the same tokens; Unigram's runners-up are then
    the next best cuts of that word alone."""
    cuts = [i for i in range(1, len(word.ids)) if word.pieces[i].startswith(_METASPACE) and word.spans[i][0] > word.spans[i - 1][0]]
    if not cuts or not word.exact:
        return [word]
    parts = []
    for lo, hi in zip([0] + cuts, cuts + [len(word.ids)]):
        start, end = word.spans[lo][0], word.spans[hi - 1][1]
        sub = _sub_word(word, lo, hi, start, end, rules)
        if rules.algorithm == "unigram":
            sub = build_word(_as_model_word(sub), rules, algorithm=algorithm, pieces=sub.pieces, byte_level=byte_level)
        parts.append(sub)
    return parts


def _sub_word(word: WordAnatomy, lo: int, hi: int, start: int, end: int, rules: ModelRules) -> WordAnatomy:
    """The tokens [lo, hi) of a word, which cover its symbols [start, end)."""
    merges = [m._replace(start=m.start - start) for m in word.merges if start <= m.start and m.start + len(m.merged) <= end]
    final, pos = [], 0
    for symbol in word.final:
        if start <= pos < end:
            final.append(symbol)
        pos += len(symbol)
    return WordAnatomy(algorithm=word.algorithm, symbols=word.symbols[start:end], ids=word.ids[lo:hi],
                       pieces=word.pieces[lo:hi], spans=[(s - start, e - start) for s, e in word.spans[lo:hi]],
                       first=word.first + lo, replayed=word.replayed[lo:hi], final=final, merges=merges,
                       notes=_to_ids(final, rules)[2], rank_name=word.rank_name, byte_level=word.byte_level,
                       family=word.family)


def _as_model_word(word: WordAnatomy) -> ModelWord:
    from .base import ModelWord

    return ModelWord(word.symbols, word.first, tuple(word.ids))


# --- the verbs ----------------------------------------------------------------------------------
def explain_tokens(tokenizer: Tokenizer | str, text: str, *, add_special_tokens: bool = True,
                   split_special_tokens: bool = False) -> Anatomy:
    """How every token of `text` was built, replayed from each word's characters or bytes.

    >>> a = explain_tokens("gpt2", "Hello world")                    # doctest: +SKIP
    >>> [t.piece for t in a.tokens], a.exact                          # doctest: +SKIP
    (['Hello', 'Ġworld'], True)
    """
    tok = _tokenizer(tokenizer)
    enc = tok.encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    words = _words_of(tok, enc, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    by_index = {w.first + i: w for w in words for i in range(len(w.ids))}
    return Anatomy(tokenizer=tok.name, text=enc.text,
                   tokens=[_token(tok, enc, i, by_index.get(i)) for i in range(enc.count)])


def explain_token(tokenizer: Tokenizer | str, text: str, index: int, *, add_special_tokens: bool = True,
                  split_special_tokens: bool = False) -> TokenAnatomy:
    """How the token at `index` of `text`'s encoding was built: the word it came from and each step
    of the tokenizer's model (BPE merges with their ranks, WordPiece's longest matches, Unigram's best
    cut beside the runners-up). A negative index counts from the end.

    >>> t = explain_token("gpt2", "Hello world", 1)                  # doctest: +SKIP
    >>> [(m.left, m.right, m.rank) for m in t.steps]                  # doctest: +SKIP
    [('Ġ', 'w', 0), ('o', 'r', 1), ('Ġw', 'or', ...), ('Ġwor', 'ld', ...)]
    """
    tok = _tokenizer(tokenizer)
    enc = tok.encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    if not -enc.count <= index < enc.count:
        raise InputError(f"no token {index}: the text has {enc.count} token(s), numbered 0 to {enc.count - 1}")
    index %= enc.count
    words = _words_of(tok, enc, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    word = next((w for w in words if w.first <= index < w.first + len(w.ids)), None)
    return _token(tok, enc, index, word)


def _tokenizer(tokenizer: Tokenizer | str) -> Tokenizer:
    if isinstance(tokenizer, str):
        from .registry import load_tokenizer

        return load_tokenizer(tokenizer)
    return tokenizer


def _words_of(tok: Tokenizer, enc: Encoding, *, add_special_tokens: bool, split_special_tokens: bool) -> list[WordAnatomy]:
    rules = tok.model_rules()
    algorithm, byte_level = tok.model_type, tok.byte_level
    out: list[WordAnatomy] = []
    for word in tok.model_words(enc.text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens):
        pieces = enc.pieces[word.first : word.first + len(word.ids)]
        built = build_word(word, rules, algorithm=algorithm, pieces=pieces, byte_level=byte_level)
        out.extend(split_at_words(built, rules, algorithm=algorithm, byte_level=byte_level)
                   if rules.algorithm != "wordpiece" else [built])
    return out


def _token(tok: Tokenizer, enc: Encoding, index: int, word: WordAnatomy | None) -> TokenAnatomy:
    tid = enc.ids[index]
    why = ""
    if word is None:
        if index in enc.added:
            why = "added around the text by the tokenizer (turn it off with add_special_tokens=False / --no-special-tokens)"
        elif enc.special[index]:
            why = "a special token: its string in the text is matched whole, before the model sees the text"
        else:
            why = "an added token: matched whole in the text, before the model sees the text"
    return TokenAnatomy(tokenizer=tok.name, index=index, id=tid, piece=enc.pieces[index], label=tok.label(tid),
                        word=word, why=why)
