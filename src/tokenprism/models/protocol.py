"""The one contract between the generation loop and an engine: `Model`.

An engine turns ids into the next token's logits, with a cache that lets the next call feed only the
new token:

    forward([12, 34, 56])           → logits for the token after 56, cache
    forward([78], cache)            → logits for the token after 78 (the cache holds 12 34 56), cache

Everything that runs a model (generation, infill, scoring, the web page, the notebook) talks to this
protocol only, so an engine is one module: `auto.py` (any transformers causal LM, torch) and
`transparent.py` (the numpy Llama forward pass of llama.py) are the two today.
Logits are float32 numpy vectors whatever the engine, so sampling is the same maths everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ..tokenizers.base import Tokenizer

__all__ = ["Model", "Engine", "Internals", "ModelFacts", "CONTEXT_KEYS"]

Engine = Literal["numpy", "torch"]

#: config.json keys that give the context window, in the order families use them.
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")


@dataclass(frozen=True)
class Internals:
    """What happened inside one forward pass over a prompt.

    `hidden_states[0]` is the embeddings' output and `hidden_states[i]` the residual stream after
    layer i, each [rows, hidden] and none of them through the final norm (transformers' last hidden
    state is; here `unembed(hidden_states[-1])` gives `logits`: what a logit lens reads).
    `attentions[i]` is layer i's attention weights [heads, rows, positions] (row = the attending
    position, one per query head), or None when not asked for. The rows are every position, or only
    the last one when `internals(..., last=True)` was asked: `offset` is the first row's position."""

    hidden_states: list[np.ndarray]
    attentions: list[np.ndarray] | None
    logits: np.ndarray  # [rows, vocab]
    offset: int = 0


@runtime_checkable
class Model(Protocol):
    """A causal language model ready to predict the next token, with its tokenizer.

    >>> model = load_model("prism-tiny")                     # doctest: +SKIP
    >>> logits, cache = model.forward([12, 34])              # doctest: +SKIP
    >>> logits, cache = model.forward([56], cache)           # doctest: +SKIP
    """

    name: str
    tokenizer: Tokenizer
    path: Path
    weights: str  # the weight format that was really read: "safetensors", "gguf", "pickle"
    engine: Engine

    @property
    def device(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def context_length(self) -> int | None: ...
    @property
    def eos_ids(self) -> frozenset[int]: ...
    @property
    def bos_id(self) -> int | None: ...
    @property
    def num_parameters(self) -> int: ...
    @property
    def architecture(self) -> str: ...

    def forward(self, ids: Sequence[int], cache: Any = None, *, use_cache: bool = True) -> tuple[np.ndarray, Any]:
        """Run `ids` (after whatever `cache` holds): float32 logits of the next token, and the new cache."""
        ...

    def token_logprobs(self, ids: Sequence[int]) -> list[float]:
        """Forced decoding: log p(ids[i] | ids[:i]) for every i ≥ 1, in one pass (natural log)."""
        ...

    def internals(self, ids: Sequence[int], *, attentions: bool = False, last: bool = False) -> Internals:
        """One pass over `ids` keeping every layer's hidden states (and attention weights if asked),
        for every position, or for the last one only with `last`."""
        ...

    def unembed(self, hidden: np.ndarray) -> np.ndarray:
        """Residual-stream vectors [rows, hidden] → float32 logits [rows, vocab], through the model's
        own final norm and head (and whatever its family does after: Gemma's logit soft-capping …)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class ModelFacts:
    """The facts every engine reads the same way from config.json and generation_config.json:
    context window, end ids, BOS. An engine sets `config`, `generation_config` and `tokenizer`."""

    config: dict[str, Any]
    generation_config: dict[str, Any]
    tokenizer: Tokenizer

    @cached_property
    def context_length(self) -> int | None:
        """Most tokens the model can attend to (prompt and generated together), if the config says."""
        for key in CONTEXT_KEYS:
            value = self.config.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        """Ids that end a generation: generation_config's, else config's, else the tokenizer's eos."""
        for source in (self.generation_config, self.config):
            ids = _id_set(source.get("eos_token_id"))
            if ids:
                return ids
        eos = self.tokenizer.roles.get("eos")
        tid = self.tokenizer.special_tokens.get(eos) if eos else None
        return frozenset([tid] if tid is not None else [])

    @cached_property
    def bos_id(self) -> int | None:
        value = self.config.get("bos_token_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        bos = self.tokenizer.roles.get("bos")
        return self.tokenizer.special_tokens.get(bos) if bos else None

    def facts_dict(self) -> dict[str, Any]:
        """The keys of `to_dict` every engine shares."""
        return {
            "model": self.name,  # type: ignore[attr-defined]
            "path": str(self.path),  # type: ignore[attr-defined]
            "engine": self.engine,  # type: ignore[attr-defined]
            "architecture": self.architecture,  # type: ignore[attr-defined]
            "parameters": self.num_parameters,  # type: ignore[attr-defined]
            "device": self.device,  # type: ignore[attr-defined]
            "dtype": self.dtype,  # type: ignore[attr-defined]
            "weights": self.weights,  # type: ignore[attr-defined]
            "context_length": self.context_length,
            "tokenizer": self.tokenizer.name,
            "vocab_size": self.tokenizer.vocab_size,
        }

    def __repr__(self) -> str:
        return (
            f"<Model {self.name!r} {self.architecture}, {self.num_parameters:,} parameters, "  # type: ignore[attr-defined]
            f"{self.engine} engine, {self.device}/{self.dtype}>"  # type: ignore[attr-defined]
        )


def _id_set(value: Any) -> frozenset[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset([value])
    if isinstance(value, (list, tuple)):
        return frozenset(v for v in value if isinstance(v, int) and not isinstance(v, bool))
    return frozenset()
