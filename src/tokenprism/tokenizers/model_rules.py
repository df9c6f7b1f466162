"""What a tokenizer's model cuts a word with (`ModelRules`), read by each backend from its own files
(`Tokenizer.model_rules`) for the anatomy view (anatomy.py), which replays the cuts. Apart from base.py
so that loading a tokenizer to tokenize never pays for `dataclasses` (and `inspect`, which it imports).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Mapping, Sequence

__all__ = ["ModelRules"]


@dataclass(frozen=True)
class ModelRules:
    """The tables a tokenizer's model cuts a word with, in the model's alphabet (see `ModelWord`); the
    algorithms that use them are in anatomy.py. Read from each backend's own files.

    `algorithm` is "bpe" (merge the adjacent pair of lowest `rank` until none merges), "wordpiece"
    (greedy longest match, `prefix` inside a word) or "unigram" (the cut of highest total `scores`).
    """

    algorithm: str
    #: piece → id: every piece the model can cut a word into
    pieces: Mapping[str, int]
    unk_id: int | None = None
    #: the id of each byte's piece (<0x41>), for characters no piece covers (byte fallback); () if none
    byte_ids: Sequence[int | None] = ()
    #: consecutive unknown characters become one unknown token
    fuse_unk: bool = False
    # --- BPE
    #: (left, right) → the rank of merging them (lower merges first), None when they never merge
    rank: Callable[[str, str], float | None] | None = None
    #: what the rank is: "merge rank" (the merges list), "token rank" (tiktoken), "−score" (SentencePiece)
    rank_name: str = "merge rank"
    #: a word that is itself a piece is taken whole, before any merge (tiktoken; HF's ignore_merges)
    whole_words: bool = False
    # --- WordPiece
    prefix: str = "##"
    max_chars: int = 100
    # --- Unigram
    #: piece → the score of cutting it (a log-probability)
    scores: Mapping[str, float] | None = None
    unk_score: float = 0.0

    @cached_property
    def longest_piece(self) -> int:
        """The most characters a piece holds (how far back a Unigram cut can start)."""
        return max(map(len, self.pieces), default=1)
