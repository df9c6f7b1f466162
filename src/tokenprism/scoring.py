"""Scoring: how likely a model finds a given text, token by token (forced decoding).

Instead of letting the model pick the next token, we feed it the text's own tokens and read off the
probability it gave each one. Surprisal is −log2 p (bits: how surprised the model was); perplexity is
exp of the mean negative log-likelihood (the number of equally likely choices the model was, on
average, torn between).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .models import Model

__all__ = ["score", "check_text", "ScoreResult", "ScoredToken", "windowed_logprobs"]

_LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class ScoredToken:
    """One token of the text and the probability the model gave it, given everything before it.

    The first token has no prediction (nothing comes before it), so its numbers are None — unless a
    BOS token starts the ids, in which case the BOS is the unscored one.
    """

    index: int
    id: int
    token: str
    special: bool
    prob: float | None
    logprob: float | None
    surprisal: float | None  # bits

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "special": self.special,
            "prob": self.prob,
            "logprob": self.logprob,
            "surprisal": self.surprisal,
        }


@dataclass(frozen=True)
class ScoreResult:
    """The result of `score`: every token's probability, the total log-likelihood and the perplexity."""

    model: str
    text: str
    tokens: list[ScoredToken]
    notes: list[str] = field(default_factory=list)

    @property
    def scored(self) -> list[ScoredToken]:
        return [t for t in self.tokens if t.logprob is not None]

    @property
    def total_logprob(self) -> float:
        """Sum of the natural-log probabilities of the scored tokens (the log-likelihood)."""
        return math.fsum(t.logprob for t in self.scored if t.logprob is not None)

    @property
    def total_bits(self) -> float:
        return -self.total_logprob / _LN2

    @property
    def bits_per_token(self) -> float:
        n = len(self.scored)
        return self.total_bits / n if n else math.nan

    @property
    def perplexity(self) -> float:
        n = len(self.scored)
        return math.exp(-self.total_logprob / n) if n else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "text": self.text,
            "tokens": [t.to_dict() for t in self.tokens],
            "scored_tokens": len(self.scored),
            "total_logprob": self.total_logprob,
            "total_bits": self.total_bits,
            "bits_per_token": self.bits_per_token,
            "perplexity": self.perplexity,
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)


def windowed_logprobs(model: Model, ids: list[int], context: int | None) -> list[float]:
    """log p(ids[i] | what comes before) for i ≥ 1; a text longer than the context window is read in
    windows that move by half a window (the strided method of transformers' perplexity guide), each
    token scored once, in the first window that holds it with context."""
    if context is None or len(ids) <= context:
        return model.token_logprobs(ids)
    stride = max(1, context // 2)
    scored: list[float] = []
    done = 1  # ids[0] has nothing before it
    for begin in range(0, len(ids), stride):
        end = min(begin + context, len(ids))
        window = model.token_logprobs(ids[begin:end])  # predicts ids[begin + 1 : end]
        scored += window[len(window) - (end - done) :]
        done = end
        if end == len(ids):
            break
    return scored


def check_text(text: str) -> None:
    """The check on a text to score that needs no model (the CLI makes it before loading one)."""
    if not text:
        raise InputError("empty text: give some text to score")


def score(text: str, *, model: Model | str = "prism-tiny") -> ScoreResult:
    """How likely `model` finds `text`: per-token probability and surprisal, total log-likelihood,
    perplexity.

    Where the tokenizer adds no BOS of its own and the model has one, it is put in front so that the
    text's first token gets a probability too (as lm-eval does for GPT-2).

    >>> r = score("import os", model="prism-tiny")                           # doctest: +SKIP
    >>> [(t.token, round(t.surprisal or 0, 1)) for t in r.tokens]      # doctest: +SKIP
    >>> r.perplexity                                                   # doctest: +SKIP
    """
    from .models import as_model
    from .run import token_label

    check_text(text)  # before any model loads
    model = as_model(model)
    tok = model.tokenizer
    enc = tok.encode(text)
    ids, notes = list(enc.ids), []
    if model.bos_id is not None and (not ids or ids[0] != model.bos_id):
        ids = [model.bos_id] + ids
        notes.append(f"put {token_label(tok, model.bos_id)} (BOS) in front so that the first token is scored too")
    if len(ids) < 2:
        raise InputError("the text is a single token and the model has no BOS to predict it from; give more text")
    context = model.context_length
    if context is not None and len(ids) > context:
        notes.append(
            f"the text has {len(ids)} tokens, more than the context window of {context}: scored in windows of "
            f"{context} moved by {context // 2}, so every token sees at least {context - context // 2} before it"
        )
    logprobs = [None, *windowed_logprobs(model, ids, context)]
    tokens = [
        ScoredToken(
            index=i, id=tid, token=token_label(tok, tid), special=tok.is_special(tid), prob=None if lp is None else math.exp(lp),
            logprob=lp, surprisal=None if lp is None else -lp / _LN2,
        )
        for i, (tid, lp) in enumerate(zip(ids, logprobs))
    ]
    return ScoreResult(model=model.name, text=text, tokens=tokens, notes=notes)
