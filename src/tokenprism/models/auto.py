"""The torch engine: any Hugging Face causal LM, through transformers' `AutoModelForCausalLM`.

It implements the `Model` protocol (protocol.py): logits come back as float32 numpy vectors, so the
generation loop and sampling are the same as on the numpy engine.
"""

from __future__ import annotations

import inspect
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ModelError
from .loading import quiet_loading
from .protocol import Internals, ModelFacts

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["TorchModel", "load_module"]


class TorchModel(ModelFacts):
    """A transformers causal LM and its tokenizer, behind the `Model` protocol.

    >>> model = load_model("gpt2", engine="torch")             # doctest: +SKIP
    >>> logits, cache = model.forward([12, 34])                # doctest: +SKIP
    """

    engine = "torch"

    def __init__(self, module: Any, tokenizer: Tokenizer, *, name: str, path: Path, weights: str) -> None:
        self.module = module
        self.tokenizer = tokenizer
        self.name = name
        self.path = path
        self.weights = weights
        self.config = module.config.to_dict()
        gen = getattr(module, "generation_config", None)
        self.generation_config = gen.to_dict() if gen is not None else {}
        params = inspect.signature(module.forward).parameters
        self._keep_last = "logits_to_keep" in params
        # transformers 5.2x renamed `past_key_values` to `cache` (argument and output alike).
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    # --- facts ---------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return str(self.module.device)

    @property
    def dtype(self) -> str:
        return str(self.module.dtype).removeprefix("torch.")

    @property
    def architecture(self) -> str:
        return type(self.module).__name__

    @cached_property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    # --- the one forward pass everything uses ----------------------------------------------------
    def forward(self, ids: Sequence[int], cache: Any = None, *, use_cache: bool = True) -> tuple[np.ndarray, Any]:
        """Run `ids` (after whatever `cache` already holds) through the model.

        Returns the float32 logits for the token after the last id, and the new cache (None when
        `use_cache` is False). Only the last position's logits are computed where the model allows.
        Inference mode is on for the call only, never left on for the caller's own torch code.
        """
        import torch

        inputs = torch.tensor([list(ids)], dtype=torch.long, device=self.module.device)
        extra = {"logits_to_keep": 1} if self._keep_last else {}
        with torch.inference_mode():
            out = self.module(input_ids=inputs, use_cache=use_cache, **{self._cache_arg: cache}, **extra)
        logits = out.logits[0, -1].float().cpu().numpy()
        return logits, (out.get(self._cache_arg) if use_cache else None)

    def token_logprobs(self, ids: Sequence[int]) -> list[float]:
        """Forced decoding: log p(ids[i] | ids[:i]) for every i ≥ 1, in one pass (natural log)."""
        import torch

        inputs = torch.tensor([list(ids)], dtype=torch.long, device=self.module.device)
        with torch.inference_mode():
            logits = self.module(input_ids=inputs, use_cache=False).logits[0, :-1].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            return logprobs.gather(1, inputs[0, 1:, None])[:, 0].tolist()

    def internals(self, ids: Sequence[int], *, attentions: bool = False) -> Internals:
        """One pass keeping every layer's hidden states (and attention weights: eager attention only)."""
        import torch

        inputs = torch.tensor([list(ids)], dtype=torch.long, device=self.module.device)
        with torch.inference_mode():
            out = self.module(input_ids=inputs, use_cache=False, output_hidden_states=True, output_attentions=attentions)
        weights = None
        if attentions:
            if out.attentions is None or any(a is None for a in out.attentions):
                raise ModelError(f"{self.name} computes attention without returning its weights; load it with eager attention")
            weights = [a[0].float().cpu().numpy() for a in out.attentions]
        return Internals(
            hidden_states=[h[0].float().cpu().numpy() for h in out.hidden_states],
            attentions=weights,
            logits=out.logits[0].float().cpu().numpy(),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.facts_dict()


def load_module(folder: Path, *, device: str, dtype: Any, safetensors: bool, trust_remote_code: bool) -> Any:
    from transformers import AutoModelForCausalLM

    with quiet_loading():
        try:
            module = AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=dtype, use_safetensors=True if safetensors else None,
                trust_remote_code=trust_remote_code, local_files_only=True,
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load the model in {folder}: {reason[:240]}") from None
    return module.to(device).eval()

