"""`embed`: texts → one vector per token (any layer), or one vector per text, with the tokens' labels.

    TEXT → TOKENS → IDS → [input embeddings → layer 1 → … → layer N] → vectors

The tokens are tokenprism's own (special tokens included), so every vector lines up with a token
that `tokenprism tokenize` would show for the same model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Sequence, Union

from ..errors import InputError, ModelError, UsageError
from ..types import Encoding
from .model import DEFAULT_MODEL, EmbeddingModel, load_embedding_model

if TYPE_CHECKING:
    import numpy as np

__all__ = ["embed", "Embeddings", "Layer", "ModelSpec", "encode_texts"]

#: A layer index (0 = input embeddings, -1 = last) or "all".
Layer = Union[int, str]
#: A model name, folder, Hub id, or an already loaded `EmbeddingModel`.
ModelSpec = Union[str, "os.PathLike[str]", EmbeddingModel]


@dataclass(frozen=True)
class Embeddings:
    """Vectors and the tokens they belong to.

    Per token (``sentence=False``): `vectors` is ``[batch, tokens, dim]`` (``[layers, batch, tokens, dim]``
    for ``layer="all"``); texts shorter than the longest are padded with zero vectors after their
    `lengths`. Per text (``sentence=True``): ``[batch, dim]`` (``[layers, batch, dim]``).
    """

    model: str
    texts: list[str]
    layer: int | str  # the resolved index (0 … N) or "all"
    vectors: np.ndarray
    encodings: list[Encoding]
    sentence: bool = False
    pooling: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.vectors.shape)

    @property
    def dim(self) -> int:
        return self.shape[-1]

    @property
    def lengths(self) -> list[int]:
        return [len(e.ids) for e in self.encodings]

    @cached_property
    def tokens(self) -> list[list[str]]:
        """Each text's token labels, special tokens included (``[CLS]``, ``hello``, ``world``, ``[SEP]``)."""
        return [[t.label for t in e.tokens] for e in self.encodings]

    @property
    def ids(self) -> list[list[int]]:
        return [list(e.ids) for e in self.encodings]

    @property
    def pieces(self) -> list[list[str]]:
        return [list(e.pieces) for e in self.encodings]

    def token_vectors(self, index: int) -> np.ndarray:
        """The vectors of text `index`'s real tokens, without padding: ``[tokens, dim]`` (or ``[layers, …]``)."""
        if self.sentence:
            raise UsageError("these are sentence vectors; call embed(..., sentence=False) for per-token vectors")
        return self.vectors[..., index, : self.lengths[index], :]

    def to_numpy(self) -> np.ndarray:
        return self.vectors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``np.asarray(d["vectors"]).shape == tuple(d["shape"])``."""
        return {
            "model": self.model,
            "layer": self.layer,
            "sentence": self.sentence,
            "shape": list(self.shape),
            "texts": list(self.texts),
            "tokens": self.tokens,
            "ids": self.ids,
            "lengths": self.lengths,
            "pooling": self.pooling,
            "vectors": self.vectors.tolist(),
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)

    def __repr__(self) -> str:
        kind = "sentence" if self.sentence else "token"
        return f"Embeddings(model={self.model!r}, layer={self.layer!r}, {kind} vectors, shape={list(self.shape)})"


def embed(
    texts: str | Sequence[str],
    *,
    model: ModelSpec = DEFAULT_MODEL,
    layer: Layer = -1,
    sentence: bool = False,
    max_length: int | None = None,
    batch_size: int = 32,
) -> Embeddings:
    """Run texts through a model and keep the vectors of one layer (or all of them).

    >>> e = embed("Hello world")                    # doctest: +SKIP
    >>> e.shape, e.tokens[0]                        # doctest: +SKIP
    ((1, 4, 384), ['[CLS]', 'hello', 'world', '[SEP]'])
    >>> embed(["a cat", "a dog"], sentence=True).shape   # doctest: +SKIP
    (2, 384)
    """
    items = _check_texts(texts)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, not {batch_size!r}")
    m = model if isinstance(model, EmbeddingModel) else load_embedding_model(model)
    picked = _pick_layers(m, layer)
    encodings, notes = encode_texts(m, items, max_length=max_length)
    vectors = _run(m, encodings, picked, sentence=sentence, batch_size=batch_size)
    if sentence and m.pooling.unsupported:
        notes.append(f"the model's {', '.join(m.pooling.unsupported)} module(s) after pooling were not applied")
    return Embeddings(
        model=m.name,
        texts=items,
        layer="all" if layer == "all" else picked[0],
        vectors=vectors,
        encodings=encodings,
        sentence=sentence,
        pooling=m.pooling.describe() if sentence else None,
        notes=notes,
    )


def _check_texts(texts: str | Sequence[str]) -> list[str]:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise InputError("no texts given: pass at least one text to embed")
    for i, t in enumerate(items, 1):
        if not isinstance(t, str):
            raise InputError(f"text {i} is a {type(t).__name__}, not a string; pass texts as strings")
    return items


def _pick_layers(m: EmbeddingModel, layer: Layer) -> list[int]:
    if layer == "all":
        return list(range(m.layers + 1))
    if isinstance(layer, str) and layer.strip().lstrip("-").isdigit():
        layer = int(layer)
    return [m.resolve_layer(layer)]  # type: ignore[arg-type]


def encode_texts(m: EmbeddingModel, texts: list[str], *, max_length: int | None = None) -> tuple[list[Encoding], list[str]]:
    """Tokenize with tokenprism's tokenizer, truncating to the model's limit the way Hugging Face does
    (the tokens added after the text, like [SEP], are kept), and say which texts were cut."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1):
        raise UsageError(f"max_length must be a positive integer, not {max_length!r}")
    limit = m.max_length if max_length is None else min(max_length, m.max_length)
    reason = f"max_length {limit}" if limit < m.max_length else f"{m.name} reads at most {m.max_length}"
    notes = []
    if m.wrap is not None:
        cls, sep = (m.tokenizer.id_to_piece(i) for i in m.wrap)
        notes.append(f"added {cls} … {sep} around each text, as the model expects (its tokenizer file adds none)")
    encodings = []
    for i, enc in enumerate(m.tokenizer.encode_batch(texts), 1):
        _check_ids(m, enc, i)
        notes.extend(f"text {i}: {note}" for note in enc.notes)
        if m.wrap is not None:
            enc = _wrap(m, enc, *m.wrap)
        if len(enc.ids) > limit:
            notes.append(f"truncated text {i} from {len(enc.ids)} to {limit} tokens ({reason})")
            enc = _truncate(m, enc, limit)
        encodings.append(enc)
    return encodings, notes


def _check_ids(m: EmbeddingModel, enc: Encoding, number: int) -> None:
    if not enc.ids:
        raise InputError(f"text {number} gives no tokens for {m.name}; pass text that is not empty")
    top, rows = max(enc.ids), m.vocab_rows
    if top >= rows:
        raise ModelError(
            f"text {number} has token id {top} but {m.name}'s embedding table has {rows} rows: "
            "its tokenizer does not fit this model"
        )


def _wrap(m: EmbeddingModel, enc: Encoding, cls: int, sep: int) -> Encoding:
    end = len(enc.text)
    return Encoding(
        m.tokenizer, enc.text, [cls, *enc.ids, sep], offsets=[(0, 0), *enc.offsets, (end, end)],
        added=[0, len(enc.ids) + 1], notes=enc.notes,
    )


def _truncate(m: EmbeddingModel, enc: Encoding, limit: int) -> Encoding:
    n = len(enc.ids)
    tail = 0
    while tail < n and (n - 1 - tail) in enc.added:
        tail += 1
    if tail >= limit:
        raise UsageError(f"max_length {limit} leaves no room for text between the {tail} special tokens {m.name} adds")
    keep = list(range(limit - tail)) + list(range(n - tail, n))
    offsets = enc.offsets
    added = [j for j, i in enumerate(keep) if i in enc.added]
    return Encoding(
        m.tokenizer, enc.text, [enc.ids[i] for i in keep], offsets=[offsets[i] for i in keep], added=added, notes=enc.notes
    )


def _run(m: EmbeddingModel, encodings: list[Encoding], layers: list[int], *, sentence: bool, batch_size: int) -> Any:
    """Batches of similar length (longest first, as sentence-transformers does) → numpy, in input order."""
    import numpy as np
    import torch

    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    width = max(len(e.ids) for e in encodings)
    out: Any = None
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            result = _forward(m, [encodings[i] for i in rows], layers, sentence=sentence).cpu().numpy()
            if out is None:  # the width of the hidden states, which may differ from the input embeddings'
                lead = result.shape[:-3] if not sentence else result.shape[:-2]
                tail = (len(encodings), result.shape[-1]) if sentence else (len(encodings), width, result.shape[-1])
                out = np.zeros((*lead, *tail), dtype=np.float32)
            if sentence:
                out[..., rows, :] = result
            else:
                out[..., rows, : result.shape[-2], :] = result
    return out


def _forward(m: EmbeddingModel, batch: list[Encoding], layers: list[int], *, sentence: bool) -> Any:
    """One padded batch through the network → the chosen layers' vectors (pooled if `sentence`)."""
    import torch

    width = max(len(e.ids) for e in batch)
    ids = torch.tensor([e.ids + [m.pad_id] * (width - len(e.ids)) for e in batch], dtype=torch.long, device=m.device)
    mask = torch.tensor([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in batch], dtype=torch.long, device=m.device)
    last_only = layers == [m.layers]
    output = m.network(input_ids=ids, attention_mask=mask, output_hidden_states=not last_only)
    hidden = output.last_hidden_state if last_only else _stack(m, output.hidden_states, layers)
    keep = mask.bool()
    if not sentence:
        return hidden * keep.unsqueeze(-1).to(hidden.dtype)
    from .pooling import pool

    if m.pooling.skip_special:
        special = torch.tensor([e.special + [False] * (width - len(e.ids)) for e in batch], dtype=torch.bool, device=m.device)
    else:  # sentence-transformers averages every attended token, [CLS] and [SEP] included
        special = torch.zeros_like(keep)
    return pool(hidden, keep, special, m.pooling)


def _stack(m: EmbeddingModel, states: Any, layers: list[int]) -> Any:
    import torch

    if len(layers) == 1:
        return states[layers[0]]
    widths = sorted({int(states[i].shape[-1]) for i in layers})
    if len(widths) > 1:  # ALBERT: 128-wide input embeddings, wider layers
        raise ModelError(f"{m.name}'s layers have different widths ({widths}), so they cannot be stacked; pick one --layer")
    return torch.stack([states[i] for i in layers])
