"""`load_model`: spec → a `Model`, on the engine that fits.

    prism-tiny, a Llama folder without torch, --engine numpy  → the numpy engine (transparent.py)
    anything else, --engine torch                              → transformers (auto.py)

Both take the same path to a folder (a Hub id, a local folder, a bundled name) and the same checks
before anything heavy loads.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelError, UsageError
from .loading import LOADING, WeightFiles, check_can_generate, check_layers, pick_device, pick_dtype, read_config, resolve_model_path, weight_files
from .protocol import Model

__all__ = ["load_model", "as_model", "ENGINES", "EngineChoice"]

EngineChoice = Literal["auto", "numpy", "torch"]
#: engine name → what it runs (the CLI's --engine choices come from here).
ENGINES: dict[str, str] = {
    "auto": "numpy for the bundled models (and Llama folders when torch is absent), else torch",
    "numpy": "the transparent numpy Llama engine (no torch)",
    "torch": "transformers' AutoModelForCausalLM",
}

_cache: dict[tuple[Any, ...], Model] = {}


def load_model(
    spec: str | os.PathLike[str] = "prism-tiny",
    *,
    engine: EngineChoice = "auto",
    device: str = "auto",
    dtype: str = "auto",
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> Model:
    """Load a causal LM by Hub id, local folder or "prism-tiny"; loaded models are kept, so a second
    call with the same arguments is free.

    Safetensors weights only, unless `allow_pickle`; the model's own Python code only with
    `trust_remote_code`. The libraries' own progress bars stay off (the CLI shows a status line).

    >>> model = load_model("prism-tiny")                               # doctest: +SKIP
    >>> model = load_model("gpt2", engine="torch", dtype="float32")    # doctest: +SKIP
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    key = (os.fspath(spec), engine, device, str(dtype), allow_pickle, trust_remote_code, revision)
    with LOADING:
        model = _cache.get(key)
        if model is None:
            model = _cache[key] = _load_uncached(key[0], engine=engine, device=device, dtype=dtype, allow_pickle=allow_pickle,
                                                 trust_remote_code=trust_remote_code, revision=revision)
        return model


def _load_uncached(spec: str, *, engine: str, device: str, dtype: str, allow_pickle: bool, trust_remote_code: bool,
                   revision: str | None) -> Model:
    from ..tokenizers.registry import load_tokenizer

    if spec.strip().lower().endswith(".gguf"):  # a llama.cpp model file: weights and tokenizer in one (gguf_model.py)
        from .gguf_model import load_gguf_model

        return load_gguf_model(spec, engine=engine, device=device, dtype=dtype)
    folder = resolve_model_path(spec, revision=revision, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
    config = read_config(folder)
    if config.get("auto_map") and not trust_remote_code:
        raise ModelError(f"{spec} needs its own Python code (auto_map in config.json); pass --trust-remote-code if you trust it")
    plan = weight_files(folder, allow_pickle=allow_pickle)
    check_layers(plan, config)
    chosen = choose_engine(engine, spec=spec, config=config, weights=plan.format, device=device)
    # The tokenizer comes from the same place, through the same loader as `tokenprism tokenize`.
    tokenizer = load_tokenizer(spec, revision=revision)
    if chosen == "numpy":
        from .transparent import NumpyModel

        return NumpyModel(folder, tokenizer, name=spec, dtype=_numpy_dtype(dtype))
    return _load_torch(spec, folder, tokenizer, config=config, plan=plan, device=device, dtype=dtype,
                       trust_remote_code=trust_remote_code)


def choose_engine(engine: str, *, spec: str, config: dict[str, Any], weights: str, device: str) -> str:
    """Which engine runs this model: the one asked for, or for "auto" numpy where it can and should."""
    from ..tokenizers.registry import BUNDLED
    from .transparent import NUMPY_MODEL_TYPES

    runs_on_numpy = config.get("model_type") in NUMPY_MODEL_TYPES and weights == "safetensors"
    if engine == "numpy":
        if not runs_on_numpy:
            raise ModelError(f"the numpy engine runs Llama-architecture safetensors models; {spec} is "
                             f"{config.get('model_type') or 'unknown'} ({weights}): use --engine torch")
        if device not in ("auto", "cpu"):
            raise UsageError(f"the numpy engine runs on the CPU; --device {device} needs --engine torch")
        return "numpy"
    if engine == "torch":
        return "torch"
    wants_cpu = device in ("auto", "cpu")
    torch_missing = importlib.util.find_spec("torch") is None
    return "numpy" if runs_on_numpy and wants_cpu and (spec in BUNDLED or torch_missing) else "torch"


def _numpy_dtype(dtype: str) -> str:
    if dtype in ("auto", "float32", "fp32", "float"):
        return "float32"
    raise UsageError(f"the numpy engine computes in float32; --dtype {dtype} needs --engine torch")


def _load_torch(spec: str, folder: Path, tokenizer: Any, *, config: dict[str, Any], plan: WeightFiles, device: str,
                dtype: str, trust_remote_code: bool) -> Model:
    from ..errors import MissingDependency
    from .auto import TorchModel, load_module

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise MissingDependency("torch", "lm")
    check_can_generate(config, name=spec)
    device = pick_device(device)
    module = load_module(folder, device=device, dtype=pick_dtype(dtype, device), use_safetensors=plan.use_safetensors,
                         trust_remote_code=trust_remote_code)
    return TorchModel(module, tokenizer, name=spec, path=folder, weights=plan.format)


def as_model(model: Model | str | os.PathLike[str]) -> Model:
    """A loaded model as it is, or a spec loaded with the defaults (what every verb's `model=` takes)."""
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    return model
