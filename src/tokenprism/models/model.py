"""`Model`: a loaded causal LM and its tokenizer, and `load_model`, the one way to get one.

A Hub id, a local folder and the bundled prism-tiny all take the same path: resolve to a folder,
check the config and the weights before loading anything heavy, then `AutoModelForCausalLM`.
"""

from __future__ import annotations

import inspect
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ModelError
from .loading import (
    LOADING,
    check_can_generate,
    check_weights,
    pick_device,
    pick_dtype,
    quiet_loading,
    read_config,
    resolve_model_path,
)

if TYPE_CHECKING:
    import torch

    from ..tokenizers.base import Tokenizer

__all__ = ["Model", "load_model"]

_cache: dict[tuple[Any, ...], Model] = {}


class Model:
    """A causal language model ready to predict the next token, with its tokenizer.

    >>> model = load_model("prism-tiny")                     # doctest: +SKIP
    >>> model.tokenizer.encode("def add(a, b):").ids         # doctest: +SKIP
    >>> logits, cache = model.forward([12, 34])              # doctest: +SKIP
    """

    def __init__(self, module: Any, tokenizer: Tokenizer, *, name: str, path: Path, weights: str) -> None:
        self.module = module
        self.tokenizer = tokenizer
        self.name = name
        self.path = path
        self.weights = weights
        self.config = module.config
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

    @cached_property
    def context_length(self) -> int | None:
        """Most tokens the model can attend to (prompt and generated together), if the config says."""
        for key in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length"):
            value = getattr(self.config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    @cached_property
    def eos_ids(self) -> frozenset[int]:
        """Ids that end a generation: generation_config's, else config's, else the tokenizer's eos."""
        ids: set[int] = set()
        gen = getattr(self.module, "generation_config", None)
        for source in (gen, self.config):
            value = getattr(source, "eos_token_id", None) if source is not None else None
            ids |= {value} if isinstance(value, int) else set(value or ())
            if ids:
                return frozenset(ids)
        eos = self.tokenizer.roles.get("eos")
        tid = self.tokenizer.special_tokens.get(eos) if eos else None
        return frozenset([tid] if tid is not None else [])

    @cached_property
    def bos_id(self) -> int | None:
        value = getattr(self.config, "bos_token_id", None)
        if isinstance(value, int):
            return value
        bos = self.tokenizer.roles.get("bos")
        return self.tokenizer.special_tokens.get(bos) if bos else None

    @cached_property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    # --- the one forward pass everything uses ----------------------------------------------------
    def forward(self, ids: Sequence[int], cache: Any = None, *, use_cache: bool = True) -> tuple[torch.Tensor, Any]:
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
        return out.logits[0, -1].float(), (out.get(self._cache_arg) if use_cache else None)

    def token_logprobs(self, ids: Sequence[int]) -> list[float]:
        """Forced decoding: log p(ids[i] | ids[:i]) for every i ≥ 1, in one pass (natural log)."""
        import torch

        inputs = torch.tensor([list(ids)], dtype=torch.long, device=self.module.device)
        with torch.inference_mode():
            logits = self.module(input_ids=inputs, use_cache=False).logits[0, :-1].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            return logprobs.gather(1, inputs[0, 1:, None])[:, 0].tolist()

    # --- conversions ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "path": str(self.path),
            "architecture": type(self.module).__name__,
            "parameters": self.num_parameters,
            "device": self.device,
            "dtype": self.dtype,
            "weights": self.weights,
            "context_length": self.context_length,
            "tokenizer": self.tokenizer.name,
            "vocab_size": self.tokenizer.vocab_size,
        }

    def __repr__(self) -> str:
        return (
            f"<Model {self.name!r} {type(self.module).__name__}, {self.num_parameters:,} parameters, "
            f"{self.device}/{self.dtype}>"
        )


def load_model(
    spec: str | os.PathLike[str] = "prism-tiny",
    *,
    device: str = "auto",
    dtype: str = "auto",
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    revision: str | None = None,
    progress: bool = False,
) -> Model:
    """Load a causal LM by Hub id, local folder or "prism-tiny"; loaded models are kept, so a second
    call with the same arguments is free.

    Safetensors weights only, unless `allow_pickle`; the model's own Python code only with
    `trust_remote_code`. `progress` shows download and loading bars (the CLI turns it on).

    >>> model = load_model("prism-tiny")                          # doctest: +SKIP
    >>> model = load_model("gpt2", device="cpu", dtype="float32")  # doctest: +SKIP
    """
    device = pick_device(device)
    key = (os.fspath(spec), device, str(dtype), allow_pickle, trust_remote_code, revision)
    with LOADING:
        model = _cache.get(key)
        if model is None:
            model = _cache[key] = _load_uncached(
                key[0], device=device, dtype=dtype, allow_pickle=allow_pickle,
                trust_remote_code=trust_remote_code, revision=revision, progress=progress,
            )
        return model


def _load_uncached(
    spec: str, *, device: str, dtype: str, allow_pickle: bool, trust_remote_code: bool, revision: str | None, progress: bool
) -> Model:
    from ..tokenizers.registry import load_tokenizer

    folder = resolve_model_path(spec, revision=revision, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
    config = read_config(folder)
    if config.get("auto_map") and not trust_remote_code:
        raise ModelError(f"{spec} needs its own Python code (auto_map in config.json); pass --trust-remote-code if you trust it")
    check_can_generate(config, name=spec)
    weights = check_weights(folder, allow_pickle=allow_pickle)
    # The tokenizer comes from the same place, through the same loader as `tokenprism tokenize`.
    tokenizer = load_tokenizer(spec, revision=revision)
    module = _load_module(folder, device=device, dtype=pick_dtype(dtype, device),
                          safetensors=weights == "safetensors", trust_remote_code=trust_remote_code, progress=progress)
    return Model(module, tokenizer, name=spec, path=folder, weights=weights)


def _load_module(folder: Path, *, device: str, dtype: Any, safetensors: bool, trust_remote_code: bool, progress: bool) -> Any:
    from transformers import AutoModelForCausalLM

    with quiet_loading(progress=progress):
        try:
            module = AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=dtype, use_safetensors=True if safetensors else None,
                trust_remote_code=trust_remote_code, local_files_only=True,
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load the model in {folder}: {reason[:240]}") from None
    return module.to(device).eval()

