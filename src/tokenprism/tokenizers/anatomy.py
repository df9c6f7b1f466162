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
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from ..errors import InputError
from .anatomy_values import Anatomy, Cut, Match, Merge, TokenAnatomy, WordAnatomy, symbol_text

if TYPE_CHECKING:
    from ..types import Encoding
    from .base import ModelWord, Tokenizer
    from .model_rules import ModelRules

__all__ = ["Merge", "Match", "Cut", "WordAnatomy", "TokenAnatomy", "Anatomy", "explain_token", "explain_tokens",
           "replay_bpe", "longest_match", "best_cuts", "replay", "Replay", "parts_of", "Part", "symbol_text"]

#: How many cuts a Unigram word shows: the best and the runners-up.
CUTS_SHOWN = 4
_METASPACE = "\u2581"  # ▁: SentencePiece's visible space, where its words begin
_NEVER = float("inf")


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
    ranks = [pair_rank(a, b) for a, b in pairwise(parts)]
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
    # paths[end]: the n best ways to cut word[:end], as (score, where the last piece starts, which of
    # the paths into that start it extends): back-pointers, so a long word costs no more per position
    paths: list[list[tuple[float, int, int]]] = [[(0.0, -1, -1)]] + [[] for _ in word]
    for end in range(1, len(word) + 1):
        found = []
        for start in range(max(0, end - longest), end):
            value = score(word[start:end])
            if value is None and end - start == 1:
                value = unk_score
            if value is not None:
                found.extend((total + value, start, j) for j, (total, _, _) in enumerate(paths[start]))
        # nlargest is stable: among equal scores the earliest start (the longest last piece) wins
        paths[end] = heapq.nlargest(n, found, key=lambda path: path[0])
    return [Cut(_walk_back(word, paths, k), paths[-1][k][0]) for k in range(len(paths[-1]))]


def _walk_back(word: str, paths: list[list[tuple[float, int, int]]], k: int) -> tuple[str, ...]:
    pieces, end = [], len(word)
    while end > 0:
        _, start, k = paths[end][k]
        pieces.append(word[start:end])
        end = start
    return tuple(reversed(pieces))


# --- the model of each kind, on one word -----------------------------------------------------
class Replay(NamedTuple):
    """The model run on one word's symbols: the ids it ends in, each token's span in the word, the
    symbols before byte fallback, and the steps."""

    ids: list[int]
    spans: list[tuple[int, int]]
    final: list[str]
    merges: list[Merge]
    matches: list[Match]
    notes: list[str]


def replay(symbols: str, rules: ModelRules) -> Replay:
    """Run the tokenizer's model on one word (see the module's docstring)."""
    if rules.algorithm == "wordpiece":
        return _wordpiece(symbols, rules)
    merges: list[Merge] = []
    notes: list[str] = []
    if rules.algorithm == "bpe":
        assert rules.rank is not None
        final, merges = replay_bpe(list(symbols), rules.rank)
        if rules.whole_words and symbols in rules.pieces and final != [symbols]:
            # tiktoken (and HF's ignore_merges) look a word up whole before merging anything
            notes.append("the whole word is a token, so it is taken as it is, without merges")
            final, merges = [symbols], []
    else:
        cuts = best_cuts(symbols, (rules.scores or {}).get, unk_score=rules.unk_score, longest=rules.longest_piece, n=1)
        final = list(cuts[0].pieces) if cuts else []
    ids, spans, more = _to_ids(final, rules)
    return Replay(ids, spans, final, merges, [], notes + more)


def _wordpiece(symbols: str, rules: ModelRules) -> Replay:
    matches = longest_match(symbols, rules.pieces, prefix=rules.prefix, max_chars=rules.max_chars)
    final = [symbols[m.start : m.end] for m in matches]
    if matches and matches[-1].piece is None:
        return Replay([rules.unk_id] if rules.unk_id is not None else [], [(0, len(symbols))], final, [], matches,
                      ["no piece of the vocabulary covers the rest of the word: the whole word becomes the unknown token"])
    return Replay([rules.pieces[m.piece] for m in matches if m.piece is not None], [(m.start, m.end) for m in matches],
                  final, [], matches, [])


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
        data = symbol.encode("utf-8", "surrogatepass")
        unknown = False
        if tid is not None:
            ids.append(tid)
            spans.append((pos, end))
        elif rules.byte_ids and all(rules.byte_ids[b] is not None for b in data):
            ids.extend(rules.byte_ids[b] for b in data)  # type: ignore[misc]
            spans.extend([(pos, end)] * len(data))
            notes.append(f"{symbol!r} is no piece of the vocabulary: it becomes its {len(data)} UTF-8 byte(s) (byte fallback)")
        elif rules.unk_id is not None:
            unknown = True
            if last_unknown and rules.fuse_unk:
                spans[-1] = (spans[-1][0], end)
            else:
                ids.append(rules.unk_id)
                spans.append((pos, end))
            notes.append(f"{symbol!r} is no piece of the vocabulary: it becomes the unknown token")
        last_unknown = unknown
        pos = end
    return ids, spans, list(dict.fromkeys(notes))


class Part(NamedTuple):
    """A stretch [start, end) of a word's symbols, the tokenizer's ids for it (the first at index
    `first` of the encoding), and the model's replay on it."""

    start: int
    end: int
    first: int
    ids: tuple[int, ...]
    replay: Replay


def parts_of(word: ModelWord, rules: ModelRules, *, upto: int | None = None) -> list[Part]:
    """A word replayed in parts: a SentencePiece-style word (a whole sentence, its spaces written ▁) is
    cut where a run of ▁ begins, so that each part shows one word, and a long text costs no more than its
    words. Exact where the parts' tokens, one after another, are the word's: BPE's merges and Unigram's
    best cut never cross a boundary between tokens, so each part makes its tokens on its own. Where they
    are not, the word is replayed whole. With `upto`, parts after the one holding that token are left out.
    """
    s = word.symbols
    starts = [] if rules.algorithm == "wordpiece" else [
        p for p in range(1, len(s)) if s[p] == _METASPACE and s[p - 1] != _METASPACE]
    parts, done = [], 0
    for start, end in zip([0] + starts, starts + [len(s)]):
        replayed = replay(s[start:end], rules)
        ids = tuple(word.ids[done : done + len(replayed.ids)])
        if list(ids) != replayed.ids:
            return [Part(0, len(s), word.first, word.ids, replay(s, rules))]
        parts.append(Part(start, end, word.first + done, ids, replayed))
        done += len(ids)
        if upto is not None and upto < word.first + done:
            return parts
    if done != len(word.ids):
        return [Part(0, len(s), word.first, word.ids, replay(s, rules))]
    return parts


def build_word(part: Part, symbols: str, rules: ModelRules, *, algorithm: str, pieces: Sequence[str],
               byte_level: bool) -> WordAnatomy:
    """The anatomy of one part of a word: its replay, and for Unigram the runners-up."""
    text, r = symbols[part.start : part.end], part.replay
    cuts = (best_cuts(text, (rules.scores or {}).get, unk_score=rules.unk_score, longest=rules.longest_piece)
            if rules.algorithm == "unigram" else [])
    return WordAnatomy(algorithm=algorithm, symbols=text, ids=list(part.ids), pieces=list(pieces),
                       spans=r.spans if len(r.spans) == len(part.ids) else [(0, len(text))] * len(part.ids),
                       first=part.first, replayed=r.ids, final=r.final, merges=r.merges, matches=r.matches, cuts=cuts,
                       notes=r.notes, rank_name=rules.rank_name if rules.algorithm == "bpe" else "",
                       byte_level=byte_level, family=rules.algorithm)


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
        have = f"{enc.count} token(s), numbered 0 to {enc.count - 1}" if enc.count else "no tokens"
        raise InputError(f"no token {index}: the text has {have}")
    index %= enc.count
    words = _words_of(tok, enc, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens, index=index)
    word = next((w for w in words if w.first <= index < w.first + len(w.ids)), None)
    return _token(tok, enc, index, word)


def _tokenizer(tokenizer: Tokenizer | str) -> Tokenizer:
    if isinstance(tokenizer, str):
        from .registry import load_tokenizer

        return load_tokenizer(tokenizer)
    return tokenizer


def _words_of(tok: Tokenizer, enc: Encoding, *, add_special_tokens: bool, split_special_tokens: bool,
              index: int | None = None) -> list[WordAnatomy]:
    """Every word's anatomy (with `index`: only the word holding that token)."""
    rules = tok.model_rules()
    algorithm, byte_level = tok.model_type, tok.byte_level
    out: list[WordAnatomy] = []
    for word in tok.model_words(enc.text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens):
        if index is not None and not word.first <= index < word.first + len(word.ids):
            continue
        for part in parts_of(word, rules, upto=index):
            pieces = enc.pieces[part.first : part.first + len(part.ids)]
            out.append(build_word(part, word.symbols, rules, algorithm=algorithm, pieces=pieces, byte_level=byte_level))
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
