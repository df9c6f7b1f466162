"""The maths of one generation step, in numpy for every engine: what the model thinks
(`Distribution`) and how the next token is picked from it (`pick`: greedy, or temperature → top-k →
top-p → sample, in the order and with the rules of transformers' logits warpers).

Random numbers come from numpy's PCG64 generator seeded with the run's seed, whichever engine made
the logits: the numpy engine and the torch engine give the same sample for the same seed.
(transformers' own `generate()` draws from torch's global generator instead, so its samples follow
the same distribution but not the same stream.)
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import numpy as np

__all__ = ["Sampling", "Distribution", "pick", "sampling_probs", "only", "new_generator", "random_seed"]

_LN2 = math.log(2.0)


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen. temperature 0 (or None) is greedy; top_k/top_p only shape sampling."""

    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None

    @property
    def greedy(self) -> bool:
        return not self.temperature


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p for every token: logits minus their log-sum-exp (shifted by the max so exp never overflows)."""
    peak = np.max(logits)
    if not np.isfinite(peak):  # every token masked: nothing can be picked (callers never mask all)
        return np.full_like(logits, -np.inf)
    shifted = logits - peak
    return shifted - np.log(np.sum(np.exp(shifted)))


class Distribution:
    """The model's own next-token distribution: the softmax of the logits, before any sampling setting.

    >>> d = Distribution(np.array([2.0, 1.0, 0.0], dtype=np.float32))
    >>> round(d.prob(0), 4), [i for i, _ in d.top(2)]
    (0.6652, [0, 1])
    """

    def __init__(self, logits: np.ndarray, *, keep: int = 10) -> None:
        self.logits = np.asarray(logits, dtype=np.float32)
        self.logprobs = log_softmax(self.logits)
        self._keep = min(max(keep, 2), self.logits.shape[-1])  # ranked once, for both `top` and `argmax`
        self._ranked: tuple[list[float], list[int]] | None = None

    def _rank(self, k: int) -> tuple[list[float], list[int]]:
        # argpartition finds the k best in one linear pass; only those k are then sorted.
        k = min(k, self.logprobs.shape[-1])
        best = np.argpartition(-self.logprobs, k - 1)[:k]
        best = best[np.lexsort((best, -self.logprobs[best]))]  # most likely first; ties: lowest id first
        return self.logprobs[best].tolist(), best.tolist()

    def ranked(self) -> tuple[list[float], list[int]]:
        """The `keep` highest log-probabilities and their ids, most likely first (computed once)."""
        if self._ranked is None:
            self._ranked = self._rank(self._keep)
        return self._ranked

    def prob(self, token_id: int) -> float:
        return math.exp(self.logprob(token_id))

    def logprob(self, token_id: int) -> float:
        return float(self.logprobs[token_id])

    def entropy_bits(self) -> float:
        """Shannon entropy in bits: 0 when the model is certain, log2(vocab) when it has no idea."""
        probs = np.exp(self.logprobs)
        finite = probs > 0  # a token masked to -inf contributes 0·log 0 = 0
        nats = -float(np.dot(probs[finite], self.logprobs[finite]))
        return max(nats, 0.0) / _LN2

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k most likely tokens and their probabilities, most likely first."""
        if k <= 0:
            return []
        values, indices = self.ranked() if k <= self._keep else self._rank(k)
        return [(i, math.exp(v)) for v, i in zip(values[:k], indices[:k])]

    def argmax(self) -> int:
        """The most likely id, as `argmax(logits)` (and so transformers' greedy) picks it: the lowest id on a tie."""
        return int(np.argmax(self.logits))


def only(logits: np.ndarray, ids: list[int]) -> np.ndarray:
    """The logits with every id but `ids` masked to -inf, so that only `ids` can be picked (and the
    probabilities shown are the model's, renormalised over them)."""
    masked = np.full_like(logits, -np.inf)
    masked[ids] = logits[ids]
    return masked


def pick(guess: Distribution, sampling: Sampling, generator: np.random.Generator | None) -> int:
    """The next token id: the most likely one (greedy), or a sample from the reshaped distribution."""
    if sampling.greedy:
        return guess.argmax()
    assert generator is not None, "sampling needs a generator (new_generator(seed))"
    probs = sampling_probs(guess.logits, sampling)
    # Inverse-CDF sampling: one uniform number, then the first token whose running total passes it.
    total = np.cumsum(probs, dtype=np.float64)
    index = int(np.searchsorted(total, generator.random() * total[-1], side="right"))
    return min(index, len(probs) - 1)


def sampling_probs(logits: np.ndarray, sampling: Sampling) -> np.ndarray:
    """The distribution `pick` samples from (for tests and displays); one-hot at the argmax when greedy."""
    if sampling.greedy:
        onehot = np.zeros(logits.shape[-1], dtype=np.float32)
        onehot[int(np.argmax(logits))] = 1.0
        return onehot
    scores = np.asarray(logits, dtype=np.float32) / np.float32(sampling.temperature)
    if sampling.top_k is not None:
        scores = _keep_top_k(scores, sampling.top_k)
    if sampling.top_p is not None and sampling.top_p < 1.0:
        scores = _keep_top_p(scores, sampling.top_p)
    return np.exp(log_softmax(scores))


def _keep_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # As transformers' TopKLogitsWarper: ties with the k-th score are kept.
    k = min(k, scores.shape[-1])
    kth = np.partition(scores, -k)[-k]
    return np.where(scores < kth, -np.inf, scores).astype(np.float32)


def _keep_top_p(scores: np.ndarray, p: float) -> np.ndarray:
    # As transformers' TopPLogitsWarper: drop the least likely tokens whose total is at most 1 - p,
    # always keeping the most likely one.
    order = np.argsort(scores, kind="stable")
    cumulative = np.cumsum(np.exp(log_softmax(scores[order])))
    drop_sorted = cumulative <= (1 - p)
    drop_sorted[-1] = False
    drop = np.zeros_like(drop_sorted)
    drop[order] = drop_sorted
    return np.where(drop, -np.inf, scores).astype(np.float32)


def random_seed() -> int:
    """A fresh seed, recorded in the result so that any sample can be replayed."""
    return secrets.randbelow(2**31)


def new_generator(seed: int) -> np.random.Generator:
    """A random stream of its own (numpy's PCG64): the same seed gives the same samples, on every engine."""
    return np.random.Generator(np.random.PCG64(seed))
