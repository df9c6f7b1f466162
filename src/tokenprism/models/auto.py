"""The torch engine: any Hugging Face causal LM, through transformers' `AutoModelForCausalLM`.

It implements the `Model` protocol (protocol.py): logits come back as float32 numpy vectors, so the
generation loop and sampling are the same as on the numpy engine.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ModelError
from .loading import quiet_loading, weights_errors
from .protocol import Internals, ModelFacts

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["TorchModel", "load_module"]

#: Where families keep the final norm, on the base model (Llama, Qwen2, Gemma: norm; GPT-2: ln_f; GPT-NeoX …).
FINAL_NORMS = ("norm", "ln_f", "final_layer_norm", "final_layernorm", "norm_f", "final_norm")
#: Switching a model to eager attention (to read its weights) and back is model-wide: one pass at a time.
_EAGER = threading.Lock()


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

    def internals(self, ids: Sequence[int], *, attentions: bool = False, last: bool = False) -> Internals:
        """One pass keeping every layer's hidden states, all before the final norm (transformers gives
        the last one after it, so that one is caught on its way into the norm), and the attention
        weights if asked (for that pass the model computes attention eagerly: fused kernels never
        hold the weights). With `last`, only the last position's rows are kept and its logits computed."""
        import torch

        inputs = torch.tensor([list(ids)], dtype=torch.long, device=self.module.device)
        keep = slice(-1, None) if last else slice(None)
        caught, me = [], threading.get_ident()

        def catch(module: Any, args: tuple, kwargs: dict) -> None:
            if threading.get_ident() == me:  # another thread's pass on the same model is not ours
                caught.append((args[0] if args else next(iter(kwargs.values())))[0, keep])

        extra = {"logits_to_keep": 1} if last and self._keep_last else {}
        hook = self.final_norm.register_forward_pre_hook(catch, with_kwargs=True)
        try:
            with self._attention_weights(attentions), torch.inference_mode():
                out = self.module(input_ids=inputs, use_cache=False, output_hidden_states=True, output_attentions=attentions,
                                  **extra)
        finally:
            hook.remove()
        if not caught:
            raise ModelError(f"{self.architecture} never ran its final norm; the logit lens does not support this family")
        return Internals(
            hidden_states=[h[0, keep].float().cpu().numpy() for h in out.hidden_states[:-1]] + [caught[-1].float().cpu().numpy()],
            attentions=self._weights(out.attentions, keep) if attentions else None,
            logits=out.logits[0, keep].float().cpu().numpy(),
            offset=len(ids) - 1 if last else 0,
        )

    def unembed(self, hidden: np.ndarray) -> np.ndarray:
        """The model's own last step on any residual vectors: its final norm (RMSNorm, LayerNorm, Gemma's
        1 + weight), its head (tied or not), then what the family does to the logits after it."""
        import torch

        x = torch.as_tensor(np.asarray(hidden, dtype=np.float32), device=self.module.device).to(self.module.dtype)
        with torch.inference_mode():
            logits = self.module.get_output_embeddings()(self.final_norm(x))
            return _finish_logits(self.module, logits).float().cpu().numpy()

    @cached_property
    def final_norm(self) -> Any:
        base = self.module.base_model
        for name in FINAL_NORMS:
            module = getattr(base, name, None)
            if callable(module):
                return module
        raise ModelError(f"{self.architecture} keeps its final norm under a name the logit lens does not know "
                         f"({', '.join(FINAL_NORMS)}); this family is not supported")

    @contextmanager
    def _attention_weights(self, wanted: bool) -> Any:
        """Eager attention for the pass when weights are wanted, then the model's own kind again."""
        config = self.module.config
        if not wanted or getattr(config, "_attn_implementation", "eager") == "eager":
            yield
            return
        with _EAGER:
            previous = config._attn_implementation
            try:
                self.module.set_attn_implementation("eager")
            except (AttributeError, ValueError, ImportError) as exc:
                raise ModelError(f"{self.name} cannot switch to eager attention ({exc}); reload it with "
                                 "attn_implementation='eager' to see its attention weights") from None
            try:
                yield
            finally:
                self.module.set_attn_implementation(previous)

    def _weights(self, attentions: Any, keep: slice) -> list[np.ndarray]:
        layers = self.config.get("num_hidden_layers") or self.config.get("n_layer")
        if not attentions or any(a is None for a in attentions) or (layers and len(attentions) != layers):
            raise ModelError(f"{self.name} computed attention without returning its weights; reload it with "
                             "attn_implementation='eager'")
        return [a[0, :, keep].float().cpu().numpy() for a in attentions]

    def to_dict(self) -> dict[str, Any]:
        return self.facts_dict()


def _finish_logits(module: Any, logits: Any) -> Any:
    """What a family does between its head and its logits (each checked against the family's own forward)."""
    import torch

    scale = getattr(module, "logit_scale", None)  # Cohere multiplies them by a constant
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        logits = logits * scale
    divisor = getattr(module.config, "logits_scaling", None)  # Granite divides them
    if divisor:
        logits = logits / divisor
    cap = getattr(module.config, "final_logit_softcapping", None)  # Gemma 2 squashes them into (-cap, cap)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def load_module(folder: Path, *, device: str, dtype: Any, use_safetensors: bool, trust_remote_code: bool) -> Any:
    """transformers' causal LM from the files `weight_files` chose (`use_safetensors` makes it open
    those); pickle is read with torch's weights_only loader, never the one that runs code."""
    from transformers import AutoModelForCausalLM

    with quiet_loading(), weights_errors(folder):
        module = AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=dtype, use_safetensors=use_safetensors, weights_only=True,
            trust_remote_code=trust_remote_code, local_files_only=True,
        )
    return module.to(device).eval()
