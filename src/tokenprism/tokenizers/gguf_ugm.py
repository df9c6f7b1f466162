"""llama.cpp's Unigram tokenizer (T5 and friends): SentencePiece's normaliser and Viterbi, on bytes.

Normalising walks the text: a user-defined token's prefix is kept as it is; otherwise the longest match in
the `precompiled_charsmap` (an XOR-compressed double array, Kanda 2018) is replaced by its string; spaces
become ▁, with one before the text and runs merged as the model asks. Then the best-scoring cut into
tokens is found left to right (user-defined tokens score 0; a character no token covers costs the lowest
score less 10) and consecutive unknown tokens are merged into one, as llama.cpp does.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import TokenizerFileError
from .gguf_vocab import NORMAL, UNUSED, USER_DEFINED, Vocab

__all__ = ["UGM"]

_LOWEST = -sys.float_info.max


def _utf8_len(first: int) -> int:
    return (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4)[first >> 4]


class UGM:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.unk = vocab.ids.get("unk")
        attrs, scores = vocab.attrs, vocab.scores
        self.user_ids = {i for i, a in enumerate(attrs) if a & USER_DEFINED}  # scored 0, to be preferred
        normal = np.array([bool(a & NORMAL) for a in attrs])
        low = np.float32(scores[normal].min()) if normal.any() else np.float32(np.finfo(np.float32).max)
        self.unknown_score = float(low - np.float32(10.0))  # llama.cpp computes it in float32
        self._matcher: dict[bytes, int] | None = None
        self._user_prefixes: set[bytes] = set()
        for i, a in enumerate(attrs):
            if a & USER_DEFINED:
                raw = vocab.tokens[i].encode("utf-8", "surrogateescape")
                self._user_prefixes.update(raw[: k + 1] for k in range(len(raw)))
        self._score_list = scores.tolist()
        self._read_charsmap(vocab.charsmap)
        self.space = "\u2581".encode() if vocab.escape_whitespaces else b" "

    def _read_charsmap(self, data: bytes) -> None:
        if not data:
            self.xcda: list[int] = []
            self.replacements = b""
            return
        blob = int.from_bytes(data[:4], "little")
        self.xcda = np.frombuffer(data, dtype="<u4", count=blob // 4, offset=4).tolist()
        self.replacements = data[4 + blob :]

    @property
    def matcher(self) -> dict[bytes, int]:
        """Every prefix of every token the Viterbi may use → its id, or -1 for a prefix that is no token."""
        if self._matcher is None:
            matcher: dict[bytes, int] = {}
            for i, a in enumerate(self.vocab.attrs):
                if a & (NORMAL | USER_DEFINED | UNUSED):
                    raw = self.vocab.tokens[i].encode("utf-8", "surrogateescape")
                    for k in range(1, len(raw)):
                        matcher.setdefault(raw[:k], -1)
                    matcher[raw] = i
            self._matcher = matcher
        return self._matcher

    # --- normalising ------------------------------------------------------------------------------
    def normalize(self, text: str, *, track: bool = False) -> tuple[bytes, list[tuple[int, int]] | None]:
        """The normalised bytes, and (when tracked) the character span of the text each byte came from."""
        data = text.encode("utf-8")
        char_at = _char_index(text) if track else None
        vocab = self.vocab
        prepend = vocab.add_space_prefix  # treat_whitespace_as_suffix is never set from a GGUF file
        merge = vocab.remove_extra_whitespaces
        out, where = bytearray(), ([] if track else None)
        prepended = in_word = False
        pos = 0
        while pos < len(data):
            piece, used = self._normalize_prefix(data, pos)
            span = (char_at[pos], char_at[pos + used - 1] + 1) if char_at is not None else None
            for c in piece:
                if c != 0x20:
                    if not in_word:
                        in_word = True
                        if (prepend and not prepended) or merge:
                            out += self.space
                            prepended = True
                            if where is not None:
                                where.extend([(span[0], span[0])] * len(self.space))
                    out.append(c)
                    if where is not None:
                        where.append(span)
                else:
                    in_word = False
                    if not merge:
                        out += self.space
                        if where is not None:
                            where.extend([span] * len(self.space))
            pos += used
        return bytes(out), where

    def _normalize_prefix(self, data: bytes, pos: int) -> tuple[bytes, int]:
        user = 0
        while pos + user < len(data) and data[pos : pos + user + 1] in self._user_prefixes:
            user += 1
        if user:  # llama.cpp keeps the longest stretch that starts like a user-defined token, unchanged
            return data[pos : pos + user], user
        length, offset = self._charsmap_match(data, pos)
        if length:
            if offset >= len(self.replacements):
                raise TokenizerFileError("the GGUF file's precompiled_charsmap points beyond its replacement strings; it is corrupt")
            end = self.replacements.find(b"\x00", offset)
            if end < 0:
                raise TokenizerFileError("the GGUF file's precompiled_charsmap has an unterminated replacement string; it is corrupt")
            return self.replacements[offset:end], length
        size = min(_utf8_len(data[pos]), len(data) - pos)
        return data[pos : pos + size], size

    def _charsmap_match(self, data: bytes, pos: int) -> tuple[int, int]:
        """The longest prefix of data[pos:] the charsmap has a replacement for: (its length, the offset of
        the replacement), or (0, 0). Each packed node: BASE in bits 10-30 (shifted left 8 when bit 9 is
        set), LEAF in bit 8, LCHECK in bits 0-7 and 31; a leaf's BASE leads to a node holding the offset."""
        xcda = self.xcda
        if not xcda:
            return 0, 0
        size = len(xcda)

        def node(i: int) -> int:
            if i >= size:
                raise TokenizerFileError("the GGUF file's precompiled_charsmap is corrupt (an index beyond its table)")
            return xcda[i]

        def base(packed: int) -> int:
            return (packed >> 10) << ((packed & 512) >> 6)

        length = offset = 0
        index = base(node(0))
        for p in range(pos, len(data)):
            c = data[p]
            if c == 0:
                break
            index ^= c
            packed = node(index)
            if packed & 0x800000FF != c:
                break
            leaf = (packed >> 8) & 1
            index ^= base(packed)
            if leaf:
                length, offset = p - pos + 1, node(index) & 0x7FFFFFFF
        return length, offset

    # --- the best cut ----------------------------------------------------------------------------
    def tokenize(self, text: str, spans: list[tuple[int, int]] | None = None) -> list[int]:
        norm, where = self.normalize(text, track=spans is not None)
        n = len(norm)
        if not n:
            return []
        unk, matcher, scores, user = self.unk, self.matcher, self._score_list, self.user_ids
        best: list[tuple[int | None, int, float]] = [(unk, 0, _LOWEST)] * (n + 1)
        best[0] = (unk, 0, 0.0)
        pos = 0
        while pos < n:
            size = min(_utf8_len(norm[pos]), n - pos)
            here = best[pos][2]
            whole_char = False
            end = pos + 1
            while end <= n:
                tid = matcher.get(norm[pos:end])
                if tid is None:
                    break
                if tid >= 0:
                    whole_char = whole_char or end - pos == size
                    score = here + (0.0 if tid in user else scores[tid])
                    if score > best[end][2]:
                        best[end] = (tid, pos, score)
                end += 1
            if not whole_char:
                score = here + self.unknown_score
                if score > best[pos + size][2]:
                    best[pos + size] = (unk, pos, score)
            pos += size
        return self._backtrack(best, n, where, spans)

    def _backtrack(self, best: list, n: int, where: list | None, spans: list | None) -> list[int]:
        ids: list[int] = []
        cuts: list[tuple[int, int]] = []
        end, prev_unknown = n, False
        while True:
            tid, start, _ = best[end]
            unknown = tid == self.unk
            if prev_unknown and unknown and cuts:
                cuts[-1] = (start, cuts[-1][1])  # merged into the unknown token after it
            else:
                ids.append(tid)
                cuts.append((start, end))
            if start == 0:
                break
            prev_unknown, end = unknown, start
        ids.reverse()
        cuts.reverse()
        keep = [i for i, t in enumerate(ids) if t is not None]  # no unknown token in the vocab: dropped
        if spans is not None and where is not None:
            spans.extend((min(s for s, _ in where[a:b]), max(e for _, e in where[a:b])) for a, b in (cuts[i] for i in keep))
        return [ids[i] for i in keep]


def _char_index(text: str) -> list[int]:
    """For each UTF-8 byte of `text`, the index of its character."""
    index: list[int] = []
    for ci, ch in enumerate(text):
        index.extend([ci] * len(ch.encode("utf-8")))
    return index
