"""The numpy engine: the readable Llama forward pass of llama.py behind the `Model` protocol.

No torch, no transformers: the bundled prism-tiny runs here by default, and so does any local
Llama-architecture safetensors folder when torch is not installed (or with `--engine numpy`).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ModelError
from ..files import read_json
from .protocol import Internals, ModelFacts

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["NumpyModel", "NUMPY_MODEL_TYPES"]

#: config.json model types whose forward pass llama.py computes.
NUMPY_MODEL_TYPES = frozenset({"llama"})


class NumpyModel(ModelFacts):
    """A Llama-architecture model run by the numpy engine, with its tokenizer.

    >>> model = load_model("prism-tiny")          # the numpy engine by default     # doctest: +SKIP
    >>> logits, cache = model.forward([12, 34])                                     # doctest: +SKIP
    """

    engine = "numpy"
    device = "cpu"

    def __init__(self, folder: Path, tokenizer: Tokenizer, *, name: str, dtype: str = "float32") -> None:
        from .llama import LlamaEngine

        self.core = LlamaEngine.from_folder(folder, dtype=dtype)
        self.tokenizer = tokenizer
        self.name = name
        self.path = folder
        self.weights = "safetensors"
        self.config = self.core.config
        gen = folder / "generation_config.json"
        self.generation_config = read_json(gen, error=ModelError, expect=dict) if gen.is_file() else {}
        self._dtype = dtype

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def architecture(self) -> str:
        names = self.config.get("architectures") or ["LlamaForCausalLM"]
        return f"{names[0]} (numpy)"

    @cached_property
    def num_parameters(self) -> int:
        return int(self.core.num_parameters)

    def forward(self, ids: Sequence[int], cache: Any = None, *, use_cache: bool = True) -> tuple[np.ndarray, Any]:
        out = self.core.forward(ids, cache if use_cache else None, use_cache=use_cache)
        return out.logits, (out.cache if use_cache else None)

    def token_logprobs(self, ids: Sequence[int]) -> list[float]:
        return list(self.core.token_logprobs(ids))

    def internals(self, ids: Sequence[int], *, attentions: bool = False, last: bool = False) -> Internals:
        out = self.core.forward(ids, None, use_cache=False, hidden_states=True, attentions=attentions, all_logits=not last)
        keep = slice(-1, None) if last else slice(None)  # the rows asked for; the pass itself needs them all
        states = [*out.hidden_states[:-1], out.residual]  # every one before the final norm (see Internals)
        weights = None if out.attentions is None else [a[:, keep] for a in out.attentions]
        logits = out.logits[None] if last else out.all_logits
        return Internals(hidden_states=[h[keep] for h in states], attentions=weights, logits=logits,
                         offset=len(ids) - 1 if last else 0)

    def unembed(self, hidden: np.ndarray) -> np.ndarray:
        """The model's last step on any residual vectors: final RMSNorm, then the head."""
        core = self.core
        normed = core._rms_norm(np.asarray(hidden, dtype=core.dtype), core.final_norm)
        return (normed @ core.head.T).astype(np.float32, copy=False)

    def to_dict(self) -> dict[str, Any]:
        return self.facts_dict()
