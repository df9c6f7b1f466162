"""The logit lens: what the model would predict if it stopped after each layer.

A decoder-only transformer keeps one vector per position (the residual stream); every layer adds to
it, and at the end the final norm and the head turn it into next-token scores. The lens applies that
same last step (the model's own final norm and head: `Model.unembed`) to the stream after every
layer, so you can watch the guess form:

    embeddings ─► layer 1 ─► layer 2 ─► … ─► layer L
        │            │          │              │
      unembed      unembed    unembed        unembed  = the model's own logits (checked)

Layer 0 is the embeddings, layer L the model's output. For every layer and position: the top tokens
with their probabilities, the entropy (bits), the KL divergence KL(final ‖ layer) in bits (how far
this layer's guess is from the final one), and the rank of the model's final prediction (1 = top).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal

import numpy as np

from ..errors import ModelError, UsageError
from ..run import Candidate, token_label
from .prompt import prompt_ids

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["lens", "Lens", "LensLayer", "LensCell", "Positions", "lens_logits_check"]

Positions = Literal["all", "last"]
_LN2 = math.log(2.0)
#: Most logits held at once per array (rows × vocab floats, 16 MB): a 128k vocabulary is read 32
#: positions at a time, prism-tiny's 8192 ids 512 at a time.
_BATCH_FLOATS = 1 << 22


@dataclass(frozen=True, slots=True)
class LensCell:
    """One layer's guess at one position: top tokens, entropy, distance to the final guess."""

    position: int
    top: tuple[Candidate, ...]
    entropy: float  # bits
    kl_to_final: float  # bits: KL(final ‖ this layer)
    rank_of_final: int  # where the model's final prediction ranks here (1 = top)

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "top": [c.to_dict() for c in self.top], "entropy": self.entropy,
                "kl_to_final": self.kl_to_final, "rank_of_final": self.rank_of_final}


@dataclass(frozen=True, slots=True)
class LensLayer:
    """Every asked position's guess after one layer (layer 0: the embeddings)."""

    layer: int
    positions: list[LensCell]

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "positions": [c.to_dict() for c in self.positions]}


@dataclass(frozen=True)
class Lens:
    """The result of `lens`: per layer and position, what the model would predict if it stopped there.

    >>> r = lens("def add(a, b):", model="prism-tiny")      # doctest: +SKIP
    >>> [c.top[0].token for c in r.column(-1)]             # the last position, layer by layer  # doctest: +SKIP
    """

    model: str
    prompt: str
    ids: list[int]
    tokens: list[str]
    layers: list[LensLayer]
    notes: tuple[str, ...] = ()

    @property
    def positions(self) -> list[int]:
        return [c.position for c in self.layers[-1].positions]

    def column(self, position: int = -1) -> list[LensCell]:
        """One position's cell in every layer, from the embeddings up (negative: from the end)."""
        where = position % len(self.ids)
        if where not in self.positions:
            raise UsageError(f"position {position} was not kept; run the lens with positions='all'")
        index = self.positions.index(where)
        return [layer.positions[index] for layer in self.layers]

    def prediction(self, position: int = -1) -> Candidate:
        """The model's own next-token guess after `position` (the last layer's top token)."""
        return self.column(position)[-1].top[0]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "prompt": self.prompt, "tokens": list(self.tokens),
                "layers": [layer.to_dict() for layer in self.layers]}

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def lens(prompt: str, *, model: Model | str = "prism-tiny", top: int = 5, positions: Positions = "all") -> Lens:
    """The logit lens over `prompt`: every layer's residual stream through the model's own final norm
    and head, at every position (or only the last, which keeps far less).

    >>> r = lens("The capital of France is", model="gpt2", positions="last")   # doctest: +SKIP
    >>> [(c.top[0].token, round(c.top[0].prob, 2)) for c in r.column(-1)]      # doctest: +SKIP
    """
    from ..models import as_model

    check_lens_options(top=top, positions=positions)
    model = as_model(model)
    ids, notes = prompt_ids(model, prompt)
    inside = model.internals(ids, last=positions == "last")
    states, tok = inside.hidden_states, model.tokenizer
    label = lru_cache(maxsize=None)(lambda i: token_label(tok, i))
    cells: list[list[LensCell]] = [[] for _ in states]
    # A few positions at a time, so that only a budget of logits is ever held (a 128k vocabulary × 100
    # positions × every layer would be gigabytes); within a chunk, one layer at a time beside the final one.
    # Chunks of one size (100 rows at 32 a time: 4 × 25, not 32, 32, 32, 4), so that each layer's arrays
    # reuse the memory the last one freed instead of growing the heap (bench_lens_memory.py measures it).
    budget = _rows_per_call(inside.logits.shape[-1])
    step = math.ceil(len(inside.logits) / math.ceil(len(inside.logits) / budget))
    for start in range(0, len(inside.logits), step):
        rows = slice(start, start + step)
        blocks = [h[rows] for h in states[:-1]]
        read = _unembedded(model, [states[-1][-1:], *blocks] if start == 0 else blocks, rows=budget)
        if start == 0:  # the final layer's last row through `unembed` against the model's own logits
            lens_logits_check(model, next(read), inside.logits[-1:], unembedded=True)
        final = _Distributions(inside.logits[rows])  # the last layer's lens: the model's own logits, checked
        offset = inside.offset + start
        for i, logits in enumerate(read):
            cells[i] += _cells(label, _Distributions(logits), final, top=top, offset=offset)
            del logits  # before the next layer's head product, not after it
        cells[-1] += _cells(label, final, final, top=top, offset=offset)
    return Lens(model=model.name, prompt=prompt, ids=ids, tokens=[label(i) for i in ids],
                layers=[LensLayer(layer=i, positions=c) for i, c in enumerate(cells)], notes=tuple(notes))


def check_lens_options(*, top: int, positions: str) -> None:
    """The checks that need no model (the CLI and the web make them before loading one)."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
        raise UsageError(f"--top must be a whole number from 1 to 100, not {top}")
    if positions not in ("all", "last"):
        raise UsageError(f"--positions must be all or last, not {positions!r}")


def lens_logits_check(model: Model, residual: np.ndarray, logits: np.ndarray, *, unembedded: bool = False) -> None:
    """`unembed` on the final layer must give the model's own logits; a family whose last step the lens
    does not know (an extra scaling after the head …) is refused rather than shown wrong. (The lens
    checks the last row: one row of the head, the same maths as every other.) `unembedded`: the
    residual has been through `unembed` already."""
    mine = residual if unembedded else _unembed(model, residual, rows=_rows_per_call(logits.shape[-1]))
    scale = max(1.0, float(np.max(np.abs(logits))))
    tolerance = (1e-3 if logits.dtype == np.float32 and model.dtype in ("float32", "float64") else 3e-2) * scale
    diff = float(np.max(np.abs(mine - logits)))
    if not diff <= tolerance:
        raise ModelError(f"the logit lens cannot reproduce {model.name}'s output from its last layer (differs by "
                         f"{diff:.3g}); this family's final step is not supported")


class _Distributions:
    """Rows of logits as softmax distributions, with only what the lens reads. Everything comes from
    `shifted` (logits minus the row's max, so exp never overflows) and exp of it, in float32:

        p = exp / Z    entropy = log Z − Σ p·shifted    KL(f ‖ l) = Σ p_f·shifted_f − log Z_f − Σ p_f·shifted_l + log Z_l
    """

    def __init__(self, logits: np.ndarray) -> None:
        # shifted in place: the lens owns these logits, and a 128k vocabulary makes every copy count
        self.shifted = np.subtract(logits, logits.max(axis=-1, keepdims=True), out=logits if logits.flags.writeable else None)
        self.exp = np.exp(self.shifted)
        self.total = self.exp.sum(axis=-1)
        self.log_total = np.log(self.total)

    def probs(self, row: int, ids: np.ndarray) -> np.ndarray:
        return self.exp[row, ids] / self.total[row]

    def mean_shifted(self, under: _Distributions) -> np.ndarray:
        """Σ p·shifted per row, p being `under`'s distribution and shifted this one's."""
        mean = np.einsum("rv,rv->r", under.exp, self.shifted) / under.total
        if np.isnan(mean).any():  # a masked (-inf) logit: 0 · -inf; such a term is 0
            mean = np.einsum("rv,rv->r", under.exp, np.nan_to_num(self.shifted, neginf=-1e30)) / under.total
        return mean

    def top(self, k: int) -> np.ndarray:
        """The k most likely ids of every row, most likely first. A few argmax passes (each a plain
        scan) beat a partition of the whole vocabulary for the handful of tokens a lens shows."""
        if k > 8:
            best = np.argpartition(self.shifted, -k, axis=-1)[:, -k:]
            order = np.argsort(-np.take_along_axis(self.shifted, best, axis=-1), axis=-1, kind="stable")
            return np.take_along_axis(best, order, axis=-1)
        work, rows = self.shifted, np.arange(len(self.shifted))  # in place, put back after: no copy of the rows
        best = np.empty((len(work), k), dtype=np.intp)
        kept = np.empty((len(work), k), dtype=work.dtype)
        for j in range(k):
            best[:, j] = work.argmax(axis=-1)
            kept[:, j] = work[rows, best[:, j]]
            work[rows, best[:, j]] = -np.inf
        for j in reversed(range(k)):
            work[rows, best[:, j]] = kept[:, j]
        return best

    @cached_property
    def expected_logprob(self) -> np.ndarray:
        """Σ p log p per row (nats): minus the entropy."""
        return self.mean_shifted(self) - self.log_total

    @cached_property
    def argmax(self) -> np.ndarray:
        return self.shifted.argmax(axis=-1)

    def entropy_bits(self) -> np.ndarray:
        return np.maximum(-self.expected_logprob, 0.0) / _LN2

    def kl_bits(self, final: _Distributions) -> np.ndarray:
        """KL(final ‖ self) per row: the bits lost by guessing with this layer instead of the last."""
        if self is final:
            return np.zeros(len(self.total), dtype=np.float32)
        return np.maximum(final.expected_logprob - self.mean_shifted(final) + self.log_total, 0.0) / _LN2


def _rows_per_call(width: int) -> int:
    """Rows of logits `width` wide (the head's, which can pass the tokenizer's vocabulary) in the budget."""
    return max(1, _BATCH_FLOATS // max(1, width))


def _unembed(model: Model, hidden: np.ndarray, *, rows: int) -> np.ndarray:
    parts = [model.unembed(hidden[i : i + rows]) for i in range(0, len(hidden), rows)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _unembedded(model: Model, blocks: list[np.ndarray], *, rows: int) -> Iterator[np.ndarray]:
    """`unembed` of each block in turn, consecutive blocks joined into one call while their logits fit
    the budget (`rows`): the head is read once for many rows (the last position of every layer is one
    call). Nothing is kept here once handed out, so the caller frees each block's logits when done."""
    group: list[np.ndarray] = []
    for block in [*blocks, None]:
        if group and (block is None or sum(len(b) for b in group) + len(block) > rows):
            parts = np.split(_unembed(model, np.concatenate(group) if len(group) > 1 else group[0], rows=rows),
                             np.cumsum([len(b) for b in group[:-1]]))
            while parts:
                yield parts.pop(0)
            group = []
        if block is not None:
            group.append(block)


def _cells(label: Callable[[int], str], dist: _Distributions, final: _Distributions, *, top: int, offset: int) -> list[LensCell]:
    """One layer's cells for a chunk of positions: top-k (sorted), entropy, KL to the final layer, and
    the rank of the final pick."""
    best = dist.top(min(top, dist.shifted.shape[-1]))
    entropy, kl = dist.entropy_bits(), dist.kl_bits(final)
    chosen = final.argmax
    ranks = (dist.shifted > dist.shifted[np.arange(len(chosen)), chosen][:, None]).sum(axis=-1) + 1
    cells = []
    for row, ids in enumerate(best):
        candidates = tuple(Candidate(int(i), label(int(i)), float(p)) for i, p in zip(ids, dist.probs(row, ids)))
        cells.append(LensCell(position=offset + row, top=candidates, entropy=float(entropy[row]), kl_to_final=float(kl[row]),
                              rank_of_final=int(ranks[row])))
    return cells
