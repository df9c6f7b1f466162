"""The tensor maths of one generation step: what the model thinks (`Distribution`) and how the next
token is picked from it (`pick`: greedy, or temperature → top-k → top-p → sample, in the order and
with the rules transformers uses, so the same seed gives the same sample in both).
"""

from __future__ import annotations

import contextlib
import math
import secrets
from dataclasses import dataclass
from typing import Iterator

import torch

__all__ = ["Sampling", "Distribution", "pick", "sampling_probs", "one_thread", "new_generator", "random_seed"]

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


class Distribution:
    """The model's own next-token distribution: the softmax of the logits, before any sampling setting.

    >>> d = Distribution(torch.tensor([2.0, 1.0, 0.0]))
    >>> round(d.prob(0), 4), [i for i, _ in d.top(2)]
    (0.6652, [0, 1])
    """

    def __init__(self, logits: torch.Tensor, *, keep: int = 10) -> None:
        self.logits = logits
        self.logprobs = torch.log_softmax(logits, dim=-1)
        self._keep = min(max(keep, 2), logits.shape[-1])  # ranked once, for both `top` and `argmax`
        self._ranked: tuple[list[float], list[int]] | None = None

    def ranked(self) -> tuple[list[float], list[int]]:
        """The `keep` highest log-probabilities and their ids, most likely first (computed once)."""
        if self._ranked is None:
            values, indices = torch.topk(self.logprobs, self._keep)
            self._ranked = (values.tolist(), indices.tolist())
        return self._ranked

    def prob(self, token_id: int) -> float:
        return math.exp(self.logprob(token_id))

    def logprob(self, token_id: int) -> float:
        return float(self.logprobs[token_id])

    def entropy_bits(self) -> float:
        """Shannon entropy in bits: 0 when the model is certain, log2(vocab) when it has no idea."""
        probs = torch.softmax(self.logits, dim=-1)
        nats = -float(torch.dot(probs, self.logprobs))  # one fused pass over the vocabulary
        if math.isnan(nats):
            # A token masked to -inf gives 0·(−inf); entr(0) is 0, which is what it contributes.
            nats = float(torch.special.entr(probs).sum())
        return nats / _LN2

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k most likely tokens and their probabilities, most likely first."""
        if k <= 0:
            return []
        if k <= self._keep:
            values, indices = self.ranked()
        else:
            found = torch.topk(self.logprobs, min(k, self.logprobs.shape[-1]))
            values, indices = found.values.tolist(), found.indices.tolist()
        return [(i, math.exp(v)) for v, i in zip(values[:k], indices[:k])]

    def argmax(self) -> int:
        """The most likely id, exactly as `torch.argmax(logits)` (and so transformers' greedy) picks it.

        A strict leader in the ranking is the argmax (log_softmax keeps the order of the logits);
        a tie there is settled by argmax itself, which takes the lowest id.
        """
        values, indices = self.ranked()
        if values[0] > values[1]:
            return indices[0]
        return int(torch.argmax(self.logits))


def only(logits: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """The logits with every id but `ids` masked to -inf, so that only `ids` can be picked (and the
    probabilities shown are the model's, renormalised over them)."""
    index = torch.tensor(ids, dtype=torch.long, device=logits.device)
    masked = torch.full_like(logits, float("-inf"))
    masked[index] = logits[index]
    return masked


def pick(guess: Distribution, sampling: Sampling, generator: torch.Generator | None) -> int:
    """The next token id: the most likely one (greedy), or a sample from the reshaped distribution."""
    if sampling.greedy:
        return guess.argmax()
    return int(torch.multinomial(sampling_probs(guess.logits, sampling), num_samples=1, generator=generator))


def sampling_probs(logits: torch.Tensor, sampling: Sampling) -> torch.Tensor:
    """The distribution `pick` samples from (for tests and displays); one-hot at the argmax when greedy."""
    if sampling.greedy:
        return torch.nn.functional.one_hot(torch.argmax(logits), logits.shape[-1]).float()
    scores = logits / sampling.temperature
    if sampling.top_k is not None:
        scores = _keep_top_k(scores, sampling.top_k)
    if sampling.top_p is not None and sampling.top_p < 1.0:
        scores = _keep_top_p(scores, sampling.top_p)
    return torch.softmax(scores, dim=-1)


def _keep_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    # As transformers' TopKLogitsWarper: ties with the k-th score are kept.
    kth = torch.topk(scores, min(k, scores.shape[-1])).values[-1]
    return scores.masked_fill(scores < kth, float("-inf"))


def _keep_top_p(scores: torch.Tensor, p: float) -> torch.Tensor:
    # As transformers' TopPLogitsWarper: drop the least likely tokens whose total is at most 1 - p,
    # always keeping the most likely one.
    sorted_scores, order = torch.sort(scores, descending=False)
    drop_sorted = sorted_scores.softmax(dim=-1).cumsum(dim=-1) <= (1 - p)
    drop_sorted[-1] = False
    drop = drop_sorted.scatter(0, order, drop_sorted)
    return scores.masked_fill(drop, float("-inf"))


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the per-step maths over the vocabulary on one CPU thread.

    Vectors of 50k-150k floats gain nothing from splitting across threads, and on a busy machine
    each split waits for a descheduled thread: measured 5 ms instead of 0.05 ms for one `exp` on two
    shared cores. The model's own matrix products keep every thread (the setting is restored).
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def random_seed() -> int:
    """A fresh seed, recorded in the result so that any sample can be replayed."""
    return secrets.randbelow(2**31)


def new_generator(device: str, seed: int) -> torch.Generator:
    """A random stream of its own: the same seed gives the same samples, whatever else uses torch's RNG."""
    return torch.Generator(device=device).manual_seed(seed)
