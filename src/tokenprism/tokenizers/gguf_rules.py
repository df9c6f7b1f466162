"""A GGUF tokenizer's tables and words, for replaying how its tokens are built (anatomy.py).

The tables are llama.cpp's: SPM merges the pair whose joined token scores highest, BPE the pair of
lowest merge rank, WPM matches the longest token of "▁word" (its vocabulary keeps "▁" for a word's
start where BERT writes "##" inside one), UGM cuts the normalised text where the scores add up highest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ModelWord
from .model_rules import ModelRules

if TYPE_CHECKING:
    from .gguf import GGUFTokenizer

__all__ = ["gguf_model_rules", "gguf_model_words"]

_SPACE = "\u2581"


def gguf_model_rules(tok: GGUFTokenizer) -> ModelRules:
    """The tables of the file's `tokenizer.ggml.model`, as llama.cpp's algorithm uses them."""
    from .gguf_vocab import NORMAL, USER_DEFINED

    v, algo = tok.vocab, tok._algorithm
    unk = v.ids.get("unk")
    if v.kind == "spm":
        scores = algo.scores
        return ModelRules("bpe", v.token_to_id, unk_id=unk, byte_ids=algo.fallback, rank_name="−score",
                          rank=lambda a, b: _neg(scores, v.token_to_id.get(a + b)))
    if v.kind == "bpe":
        return ModelRules("bpe", v.token_to_id, unk_id=unk, byte_ids=algo.fallback, rank=algo._rank,
                          whole_words=v.ignore_merges)
    if v.kind == "wpm":  # no "##": the word is matched as "▁word", and every piece after the first as it is
        return ModelRules("wordpiece", v.token_to_id, unk_id=unk, prefix="", max_chars=1 << 30)
    usable = {t: i for i, t in enumerate(v.tokens) if v.attrs[i] & (NORMAL | USER_DEFINED)}
    scores = {t: (0.0 if i in algo.user_ids else float(v.scores[i])) for t, i in usable.items()}
    return ModelRules("unigram", usable, unk_id=unk, fuse_unk=True, scores=scores, unk_score=algo.unknown_score)


def _neg(scores: list[float], tid: int | None) -> float | None:
    return None if tid is None else -scores[tid]


def gguf_model_words(tok: GGUFTokenizer, text: str, *, add_special_tokens: bool, split_special_tokens: bool) -> list[ModelWord]:
    """The words llama.cpp cuts each stretch of plain text into (special tokens matched first)."""
    v, algo = tok.vocab, tok._algorithm
    pieces = tok._partition(text, parse_special=not split_special_tokens)
    ids, _, parts = tok._encode_pieces(text, pieces, add_special_tokens)
    words: list[ModelWord] = []
    for start, end, tid, prefix, first, count in parts:
        if tid is not None or not count:
            continue
        piece, own = text[start:end], tuple(ids[first : first + count])
        if v.kind == "spm":
            words.append(ModelWord(((" " if prefix else "") + piece).replace(" ", _SPACE), first, own))
        elif v.kind == "ugm":
            words.append(ModelWord(algo.normalize(piece)[0].decode("utf-8", "surrogateescape"), first, own))
        else:
            words.extend(_split_words(tok, piece, ids, first))
    return words


def _split_words(tok: GGUFTokenizer, piece: str, ids: list[int], first: int) -> list[ModelWord]:
    """BPE's and WPM's words of one stretch, each with its share of the ids."""
    v, algo = tok.vocab, tok._algorithm
    out: list[ModelWord] = []
    if v.kind == "bpe":
        if v.escape_whitespaces:
            piece = piece.replace(" ", _SPACE)
        for s, e in algo.words(piece):
            word = piece[s:e]
            count = len(algo.word(word))
            symbols = word.encode("utf-8").decode("latin-1").translate(algo._byte_chars) if v.byte_encode else word
            out.append(ModelWord(symbols, first, tuple(ids[first : first + count])))
            first += count
        return out
    for word, _ in algo.words(piece):
        found = algo._word(_SPACE + word)
        count = len(found) if found is not None else int(algo.unk is not None)
        out.append(ModelWord(_SPACE + word, first, tuple(ids[first : first + count])))
        first += count
    return out
