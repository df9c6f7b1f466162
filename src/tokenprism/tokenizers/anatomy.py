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
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import InputError
from .anatomy_values import Anatomy, Cut, Match, Merge, TokenAnatomy, WordAnatomy, symbol_text

if TYPE_CHECKING:
    from ..types import Encoding
    from .base import ModelRules, ModelWord, Tokenizer

__all__ = ["Merge", "Match", "Cut", "WordAnatomy", "TokenAnatomy", "Anatomy", "explain_token", "explain_tokens",
           "replay_bpe", "longest_match", "best_cuts", "symbol_text"]

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
