"""llama.cpp's SentencePiece (SPM), BPE and WordPiece (WPM) tokenizers, on one piece of text each.

Each works as llama.cpp's does (its llm_tokenizer_*_session), so the ids are llama.cpp's ids:

* SPM merges the adjacent pair whose joined text is a token with the highest score (ties: leftmost),
  over the whole piece, then writes every leftover character that is no token as byte tokens.
* BPE cuts the piece into words (gguf_pre), maps each word's bytes to GPT-2's printable characters, and
  merges the adjacent pair with the lowest merge rank (ties: leftmost) until none is left.
* WPM lowercases and strips accents as llama.cpp does, cuts on whitespace and punctuation, then takes the
  longest token at each position of "▁word"; a word it cannot cover becomes the unknown token.
"""

from __future__ import annotations

import heapq
from typing import Callable

from .gguf_pre import (ACCENT_MARK, CONTROL, PUNCTUATION, SYMBOL, WHITESPACE, PreTokenizer, REGEXES, nfd_first,
                       to_lower, unicode_flags)
from .gguf_vocab import Vocab
from .base import bytes_to_unicode

__all__ = ["SPM", "BPE", "WPM"]

_SPACE = "\u2581"  # ▁, SentencePiece's visible space
_WORD_CACHE = 200_000  # words kept per BPE tokenizer before the cache is cleared


def _byte_fallback(vocab: Vocab, *, hex_form: bool) -> list[int | None]:
    """The token of each byte value for text no token covers: ``<0xNN>``, else the byte itself as a string."""
    index, out = vocab.token_to_id, []
    for b in range(256):
        raw = bytes([b]).decode("utf-8", "surrogateescape")
        out.append(index.get(f"<0x{b:02X}>") if hex_form else index.get(raw))
        if out[-1] is None and hex_form and vocab.kind != "bpe":
            out[-1] = index.get(raw)  # SentencePiece models without byte tokens may have the character itself
    return out


class SPM:
    """llama.cpp's SentencePiece tokenizer: score-ordered merges over the whole piece, byte fallback."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.index = vocab.token_to_id
        self.scores = vocab.scores.tolist()
        self.fallback = _byte_fallback(vocab, hex_form=True)
        self.unk = vocab.ids.get("unk")
        self._pairs: set[tuple[str, str]] | None = None
        self._cache: dict[str, list[int]] = {}

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """Every two characters that stand side by side inside some token."""
        if self._pairs is None:
            pairs: set[tuple[str, str]] = set()
            for token in self.vocab.tokens:
                pairs.update(zip(token, token[1:]))
            self._pairs = pairs
        return self._pairs

    def tokenize(self, text: str) -> list[int]:
        """`text` is already escaped (spaces as ▁, with the prefix space when one is due).

        llama.cpp merges over the whole text, but a merge joins two symbols into a token, so it can never
        join across two characters that no token holds side by side: the text is cut there, and each
        stretch (a word, mostly) is merged on its own, with the same result, and remembered."""
        pairs, cache, ids = self.pairs, self._cache, []
        start = 0
        for i in range(1, len(text) + 1):
            if i < len(text) and (text[i - 1], text[i]) in pairs:
                continue
            chunk = text[start:i]
            found = cache.get(chunk)
            if found is None:
                if len(cache) >= _WORD_CACHE:
                    cache.clear()
                found = cache[chunk] = self._chunk(chunk)
            ids.extend(found)
            start = i
        return ids

    def _chunk(self, text: str) -> list[int]:
        index, ids = self.index, []
        for symbol in self._merge(list(text)):
            tid = index.get(symbol)
            if tid is not None:
                ids.append(tid)
                continue
            for b in symbol.encode("utf-8", "surrogateescape"):
                tid = self.fallback[b] if self.fallback[b] is not None else self.unk
                if tid is not None:  # llama.cpp stops with an error here; we fall back to the unknown token
                    ids.append(tid)
        return ids

    def _merge(self, text: list[str]) -> list[str]:
        index, scores = self.index, self.scores

        def priority(left: str, right: str) -> float | None:
            tid = index.get(left + right)
            return None if tid is None else -scores[tid]  # the highest score merges first

        return merge_pairs(text, priority)


class BPE:
    """llama.cpp's BPE tokenizer: the pre type's regexes, GPT-2 byte mapping, rank-ordered merges."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.index = vocab.token_to_id
        self.pre = PreTokenizer(REGEXES[vocab.pre_type.regexes])
        self.fallback = _byte_fallback(vocab, hex_form=not vocab.byte_encode)
        self._ranks: dict[str, int] | None = None
        self._cache: dict[str, list[int]] = {}
        table = bytes_to_unicode()
        self._byte_chars = {b: table[b] for b in range(256)}  # latin-1 code point → GPT-2 character

    @property
    def ranks(self) -> dict[str, int]:
        """Merge "left right" → rank; the first of duplicate merges wins, as in llama.cpp's map."""
        if self._ranks is None:
            merges = self.vocab.merges
            self._ranks = dict(zip(reversed(merges), range(len(merges) - 1, -1, -1)))
        return self._ranks

    def words(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the words of a piece (after ▁-escaping, for models that escape spaces)."""
        return self.pre.split(text)

    def tokenize(self, text: str) -> list[int]:
        if self.vocab.escape_whitespaces:
            text = text.replace(" ", _SPACE)
        ids: list[int] = []
        for start, end in self.pre.split(text):
            ids.extend(self.word(text[start:end]))
        return ids

    def word(self, word: str) -> list[int]:
        """The ids of one word (as the pre-tokenizer cut it, before byte mapping)."""
        cached = self._cache.get(word)
        if cached is None:
            if len(self._cache) >= _WORD_CACHE:
                self._cache.clear()
            cached = self._cache[word] = self._word(word)
        return cached

    def _word(self, word: str) -> list[int]:
        if self.vocab.byte_encode:
            word = word.encode("utf-8").decode("latin-1").translate(self._byte_chars)
        index = self.index
        if self.vocab.ignore_merges and word in index:
            return [index[word]]
        if not self.vocab.byte_encode and word.strip("\n") == "" and word in index:
            return [index[word]]  # llama.cpp's Gemma 4 fix: a run of newlines that is a token stays whole
        ids: list[int] = []
        for symbol in self._merge(list(word)):
            tid = index.get(symbol)
            if tid is not None:
                ids.append(tid)
                continue
            for b in symbol.encode("utf-8", "surrogateescape"):
                if self.fallback[b] is not None:  # llama.cpp silently drops a byte with no token
                    ids.append(self.fallback[b])
        return ids

    def _rank(self, left: str, right: str) -> int | None:
        joined = f"{left} {right}"
        rank = self.ranks.get(joined)
        # llama.cpp splits each merge at its first space after the first character
        return rank if rank is not None and joined.find(" ", 1) == len(left) else None

    def _merge(self, parts: list[str]) -> list[str]:
        return merge_pairs(parts, self._rank) if len(parts) > 48 else self._merge_short(parts)

    def _merge_short(self, parts: list[str]) -> list[str]:
        """The same merges without a queue: fewer steps for the short words most text is made of."""
        rank = self._rank
        while len(parts) > 1:
            best, best_rank = -1, None
            for i in range(len(parts) - 1):
                r = rank(parts[i], parts[i + 1])
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best < 0:
                break
            parts[best : best + 2] = [parts[best] + parts[best + 1]]
        return parts

def merge_pairs(text: list[str], priority: Callable[[str, str], float | None]) -> list[str]:
    """Merge adjacent symbols, always the pair of lowest `priority` (ties: the leftmost), until no pair
    has one: llama.cpp's work queue, shared by SPM (−score of the joined token) and BPE (merge rank).
    A queued pair is skipped once either side has changed."""
    n = len(text)
    if n < 2:
        return text
    nxt, prv = list(range(1, n + 1)), list(range(-1, n - 1))
    nxt[-1] = -1
    heap: list[tuple[float, int, int, str]] = []

    def add(left: int, right: int) -> None:
        rank = priority(text[left], text[right])
        if rank is not None:
            heapq.heappush(heap, (rank, left, right, text[left] + text[right]))

    for i in range(1, n):
        add(i - 1, i)
    while heap:
        _, left, right, joined = heapq.heappop(heap)
        if not text[left] or not text[right] or text[left] + text[right] != joined:
            continue
        text[left], text[right] = joined, ""
        nxt[left] = nxt[right]
        if nxt[right] != -1:
            prv[nxt[right]] = left
        if prv[left] != -1:
            add(prv[left], left)
        if nxt[left] != -1:
            add(left, nxt[left])
    return [t for t in text if t]


def _is_chinese(cpt: int) -> bool:
    # the ranges of Hugging Face's BertPreTokenizer (0x2B920 as in its Rust code), as llama.cpp copies them
    return (0x4E00 <= cpt <= 0x9FFF or 0x3400 <= cpt <= 0x4DBF or 0x20000 <= cpt <= 0x2A6DF or 0x2A700 <= cpt <= 0x2B73F
            or 0x2B740 <= cpt <= 0x2B81F or 0x2B920 <= cpt <= 0x2CEAF or 0xF900 <= cpt <= 0xFAFF or 0x2F800 <= cpt <= 0x2FA1F)


class WPM:
    """llama.cpp's WordPiece: its own normaliser and word cutting, then greedy longest match on ▁word."""

    def __init__(self, vocab: Vocab) -> None:
        self.index = vocab.token_to_id
        self.unk = vocab.ids.get("unk")
        self.lowercase, self.strip_accents = vocab.lowercase, vocab.strip_accents
        self.max_len = max(map(len, vocab.tokens))  # in characters: the longest match worth trying

    def words(self, text: str) -> list[tuple[str, list[int]]]:
        """The words of a piece, each with the index in `text` of every character it kept."""
        words: list[tuple[str, list[int]]] = []
        chars: list[str] = []
        where: list[int] = []

        def finish() -> None:
            if chars:
                words.append(("".join(chars), list(where)))
                chars.clear()
                where.clear()

        for pos, ch in enumerate(text):
            if self.strip_accents:
                ch = nfd_first(ch)
            flags = unicode_flags(ch)
            if flags & WHITESPACE:
                finish()
                continue
            cpt = ord(ch)
            if cpt == 0 or cpt == 0xFFFD or flags & CONTROL or (self.strip_accents and flags & ACCENT_MARK):
                continue
            out = to_lower(ch) if self.lowercase else ch
            if flags & PUNCTUATION or (cpt < 0x7F and flags & SYMBOL) or _is_chinese(cpt):
                finish()
                words.append((out, [pos]))
            else:
                chars.append(out)
                where.append(pos)
        finish()
        return words

    def tokenize(self, text: str, spans: list[tuple[int, int]] | None = None) -> list[int]:
        ids: list[int] = []
        for word, where in self.words(text):
            found = self._word(_SPACE + word)
            if found is None:
                if self.unk is not None:
                    ids.append(self.unk)
                    if spans is not None:
                        spans.append((where[0], where[-1] + 1))
                continue
            for tid, (a, b) in found:
                ids.append(tid)
                if spans is not None:  # positions in "▁word" → characters of the text
                    a, b = max(a - 1, 0), b - 1
                    spans.append((where[a], where[b - 1] + 1) if b > a else (where[0], where[0]))
        return ids

    def _word(self, word: str) -> list[tuple[int, tuple[int, int]]] | None:
        index, n, found, i = self.index, len(word), [], 0
        while i < n:
            for j in range(min(n, i + self.max_len), i, -1):
                tid = index.get(word[i:j])
                if tid is not None:
                    found.append((tid, (i, j)))
                    i = j
                    break
            else:
                return None  # a position no token starts at: the whole word is unknown
        return found


Surface = Callable[[int], bytes]
