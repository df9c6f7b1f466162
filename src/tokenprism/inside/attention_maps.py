"""Attention: where each token looked.

In every layer, each attention head lets every position read from the positions before it (itself
included), with weights that sum to 1: the softmax of how well its query matches their keys. The
weights are a matrix per layer and head, row = the position that attends, column = the one attended
to. With grouped-query attention several query heads share one key head; each query head still has
its own weights, and they are shown per query head.

Layers are numbered as in the logit lens: layer 1 is the first block (layer 0 there is the
embeddings, which attend to nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UsageError
from ..run import token_label
from .prompt import prompt_ids

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["attention", "attention_over", "Attention", "AttentionLayer", "check_attention_options"]


@dataclass(frozen=True)
class AttentionLayer:
    """One layer's attention weights: `weights[k]` is head `heads[k]`'s matrix [positions, positions]."""

    layer: int
    heads: list[int]
    weights: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer,
                "heads": [{"head": h, "weights": w.tolist()} for h, w in zip(self.heads, self.weights)]}


@dataclass(frozen=True)
class Attention:
    """The result of `attention`: the weights of the layers and heads asked for, over the prompt.

    >>> a = attention("def add(a, b):", model="prism-tiny")      # doctest: +SKIP
    >>> a.looked_at(-1).round(2)           # the last token, averaged over every layer and head  # doctest: +SKIP
    """

    model: str
    prompt: str
    ids: list[int]
    tokens: list[str]
    layers: list[AttentionLayer]
    num_layers: int
    num_heads: int
    notes: tuple[str, ...] = field(default=())
    offset: int = 0  # the position of the weights' first row (len(ids) - 1 when only the last was kept)

    @property
    def square(self) -> bool:
        """Every position's row is kept (not only the last one's)."""
        return self.offset == 0

    def row(self, position: int) -> int:
        """The weights' row of `position` (negative: from the end)."""
        where = position % len(self.ids)
        if where < self.offset:
            raise UsageError(f"position {position}'s attention was not kept; run attention over every position")
        return where - self.offset

    def looked_at(self, position: int = -1, *, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """Where `position` looked: its row of weights averaged over the kept layers (or one `layer`)
        and heads (or one `head`); sums to 1 over the positions up to it."""
        row = self.row(position)
        picked = [lay.weights[[_head_index(lay, head)] if head is not None else slice(None), row] for lay in self._layers(layer)]
        return np.concatenate(picked).mean(axis=0)

    def where_steps_looked(self, start: int, *, top: int = 3) -> list[dict[str, Any]]:
        """For each token a generation wrote (from position `start` on): where the position that chose it
        looked, the `top` positions by weight averaged over layers and heads."""
        found = []
        for position in range(start, len(self.ids)):
            looked = self.looked_at(position - 1)
            best = np.argsort(-looked, kind="stable")[:top]
            found.append({"step": position - start + 1, "id": self.ids[position], "token": self.tokens[position],
                          "looked_at": [{"position": int(j), "id": self.ids[j], "token": self.tokens[j], "weight": float(looked[j])}
                                        for j in best]})
        return found

    def _layers(self, layer: int | None) -> list[AttentionLayer]:
        if layer is None:
            return self.layers
        number = _layer_number(layer, self.num_layers)
        found = [lay for lay in self.layers if lay.layer == number]
        if not found:
            raise UsageError(f"layer {layer} was not kept; run attention without --layer or with --layer {layer}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "tokens": list(self.tokens), "layers": [lay.to_dict() for lay in self.layers]}

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def attention(
    prompt: str, *, model: Model | str = "prism-tiny", layer: int | None = None, head: int | None = None, last: bool = False
) -> Attention:
    """Every layer's and head's attention weights over `prompt` (or one `layer`, numbered from 1,
    negative from the end; one `head`, numbered from 0). With `last`, only the last position's row
    is kept (where the token that makes the next guess looked), which is all `explain` needs.

    >>> a = attention("The cat sat on the mat", model="gpt2", layer=-1)     # doctest: +SKIP
    >>> a.layers[0].weights.shape                                          # doctest: +SKIP
    (12, 6, 6)
    """
    from ..models import as_model

    check_attention_options(layer=layer, head=head)
    model = as_model(model)
    ids, notes = prompt_ids(model, prompt)
    return attention_over(model, ids, prompt=prompt, layer=layer, head=head, last=last, notes=notes)


def attention_over(
    model: Model, ids: list[int], *, prompt: str, layer: int | None = None, head: int | None = None, last: bool = False,
    notes: list[str] | tuple[str, ...] = (),
) -> Attention:
    """`attention` over ids already made (a prompt and what a generation wrote after it: causal attention
    over the whole sequence in one pass is what each step saw when it was made)."""
    check_attention_options(layer=layer, head=head)
    weights = model.internals(ids, attentions=True, last=last).attentions or []
    total, heads = len(weights), weights[0].shape[0] if weights else 0
    numbers = [_layer_number(layer, total)] if layer is not None else list(range(1, total + 1))
    if head is not None and not 0 <= head < heads:
        raise UsageError(f"--head {head} is out of range: {model.name} has heads 0 to {heads - 1}")
    kept = [head] if head is not None else list(range(heads))
    layers = [AttentionLayer(layer=n, heads=kept, weights=np.ascontiguousarray(weights[n - 1][kept])) for n in numbers]
    tok = model.tokenizer
    return Attention(model=model.name, prompt=prompt, ids=ids, tokens=[token_label(tok, i) for i in ids], layers=layers,
                     num_layers=total, num_heads=heads, notes=tuple(notes), offset=len(ids) - 1 if last else 0)


def check_attention_options(*, layer: int | None, head: int | None) -> None:
    """The checks that need no model (made before one loads)."""
    if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int) or layer == 0):
        raise UsageError(f"--layer counts blocks from 1 (or from the end: -1 is the last), not {layer!r}")
    if head is not None and (isinstance(head, bool) or not isinstance(head, int) or head < 0):
        raise UsageError(f"--head counts heads from 0, not {head!r}")


def _layer_number(layer: int, total: int) -> int:
    number = layer if layer > 0 else total + 1 + layer
    if not 1 <= number <= total:
        raise UsageError(f"--layer {layer} is out of range: the model has layers 1 to {total} (or -1 to -{total})")
    return number


def _head_index(layer: AttentionLayer, head: int) -> int:
    if head not in layer.heads:
        raise UsageError(f"head {head} was not kept in layer {layer.layer}")
    return layer.heads.index(head)
