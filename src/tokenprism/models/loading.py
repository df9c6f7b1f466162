"""Model spec → a folder on disk → a loaded causal LM, with checks that fail early and say why.

The helpers here are shared with the embeddings module: `resolve_model_path` (Hub id, local folder or
a bundled name → folder), `pick_device` and `pick_dtype`. torch and transformers are imported inside
the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import ModelError, TokenizerNotFound, TokenprismError, UsageError
from ..files import read_json

#: One model load at a time in this process: transformers' from_pretrained builds models on the "meta"
#: device by patching module-global state, so two loads in two threads corrupt each other.
LOADING = threading.RLock()

__all__ = [
    "resolve_model_path",
    "pick_device",
    "pick_dtype",
    "weight_files",
    "check_layers",
    "WeightFiles",
    "check_can_generate",
    "read_config",
    "MODEL_FILES",
    "PICKLE_FILES",
]

#: Files a causal LM needs from the Hub besides its tokenizer's (those come from the tokenizer file
#: table, tokenizers.registry.hub_patterns): safetensors only, unless pickle is allowed.
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
    "chat_template.jinja",
    "README.md",
)
PICKLE_FILES = ("pytorch_model*.bin", "pytorch_model.bin.index.json")
_REMOTE_CODE_FILES = ("*.py",)

_DTYPES = {
    "float32": "float32", "fp32": "float32", "float": "float32",
    "float16": "float16", "fp16": "float16", "half": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
}  # fmt: skip


def resolve_model_path(
    spec: str | os.PathLike[str],
    *,
    revision: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
) -> Path:
    """The local folder a model spec names: a bundled name (prism-tiny), a folder, or a Hub id
    fetched through huggingface_hub's cache (honours HF_HUB_OFFLINE, HF_HOME, HF_ENDPOINT).

    >>> resolve_model_path("prism-tiny")                     # doctest: +SKIP
    PosixPath('.../tokenprism/assets/prism-tiny')
    """
    from ..tokenizers.registry import BUNDLED, bundled_path, hub_patterns, is_hub_id, resolve_hub_files

    text = os.fspath(spec).strip()
    if not text:
        raise ModelError("empty model spec: pass a Hub id (gpt2), a local folder, or prism-tiny")
    if text in BUNDLED:
        path = bundled_path(text)
        if not (path / "config.json").is_file():
            raise ModelError(f"the bundled {text} is missing from this install ({path}); reinstall tokenprism")
        return path
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"{path} is a file; a model is a folder with config.json and model.safetensors")
        return path
    if not is_hub_id(text):
        raise ModelError(f"no model folder {text!r} and it is not a Hub id (owner/name); check the path")
    patterns = MODEL_FILES + hub_patterns() + (PICKLE_FILES if allow_pickle else ()) + (_REMOTE_CODE_FILES if trust_remote_code else ())
    try:
        with quiet_hub():
            return resolve_hub_files(text, revision=revision, patterns=patterns)
    except TokenizerNotFound as exc:  # the Hub helper is shared with tokenizers; say "model" here
        raise ModelError(str(exc)) from None


def read_config(folder: Path) -> dict[str, Any]:
    """config.json of a model folder, as a dict (a clear error when absent or malformed)."""
    path = folder / "config.json"
    if not path.is_file():
        raise ModelError(f"{folder} has no config.json: not a Hugging Face model folder")
    config = read_json(path, error=ModelError, expect=dict)
    for key, kind in _CONFIG_TYPES.items():  # the fields read before any library checks the rest
        value = config.get(key)
        if value is not None and not (isinstance(value, kind) and not isinstance(value, bool) or kind is bool and isinstance(value, bool)):
            raise ModelError(f"config.json's {key} is {str(value)[:40]!r}, not {_KIND_NAMES[kind]}; fix {path}")
    if not all(isinstance(a, str) for a in config.get("architectures") or []):
        raise ModelError(f"config.json's architectures must be class names (strings); fix {path}")
    return config


_CONFIG_TYPES: dict[str, type] = {"model_type": str, "architectures": list, "auto_map": dict, "is_encoder_decoder": bool,
                                  "is_decoder": bool, "tie_word_embeddings": bool}
_KIND_NAMES = {str: "a string", list: "a list", dict: "an object", bool: "true or false"}


@dataclass(frozen=True)
class WeightFiles:
    """The weight files a load will actually read, and their format ("safetensors" or "pickle").

    `entry` is the file the loader opens first (a weights file or an index of shards); `files` are
    every file it will read weights from (an index's shards included)."""

    format: str
    entry: Path
    files: tuple[Path, ...]

    @property
    def use_safetensors(self) -> bool:
        """What to tell transformers' from_pretrained, so that it opens `entry` and nothing else."""
        return self.entry.name.startswith("model.safetensors")


#: transformers' own order when it looks for weights in a folder (after config.json's transformers_weights).
_WEIGHT_ENTRIES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def weight_files(folder: Path, *, allow_pickle: bool) -> WeightFiles:
    """Which files a load of `folder` reads, decided from those files alone (never from what else lies
    in the folder): the entry transformers would open, and every shard its index names. A weights file
    that is not .safetensors is a pickle, which can run code when loaded, so it needs `allow_pickle`.

    >>> weight_files(resolve_model_path("prism-tiny"), allow_pickle=False).format      # doctest: +SKIP
    'safetensors'
    """
    entry = _weights_entry(folder)
    files = _index_shards(folder, entry) if entry.name.endswith(".index.json") else (entry,)
    pickles = [f.name for f in files if not f.name.endswith(".safetensors")]
    if pickles and not allow_pickle:
        raise ModelError(
            f"{folder} keeps its weights as pickle ({pickles[0]}), which can run code when loaded; "
            "pass --allow-pickle (allow_pickle=True) if you trust the source"
        )
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ModelError(f"{entry.name} names {missing[0]}, which is not in {folder}; re-download the model")
    return WeightFiles("pickle" if pickles else "safetensors", entry, files)


def _weights_entry(folder: Path) -> Path:
    explicit = _explicit_weights(folder)
    if explicit is not None:
        return folder / explicit
    for name in _WEIGHT_ENTRIES:
        if (folder / name).is_file():
            return folder / name
    hint = " (Hub download: the repo may ship only pytorch_model.bin; try --allow-pickle)" if "snapshots" in folder.parts else ""
    raise ModelError(f"{folder} has no model weights: no model.safetensors (or index of shards){hint}")


def _explicit_weights(folder: Path) -> str | None:
    """config.json's `transformers_weights`: a file transformers then loads whatever else is there."""
    config = folder / "config.json"
    name = read_json(config, error=ModelError, expect=dict).get("transformers_weights") if config.is_file() else None
    if name is None:
        return None
    if not _is_plain_name(name):
        raise ModelError(f"config.json's transformers_weights ({str(name)[:80]!r}) must name a file in {folder}; fix config.json")
    return name


def _index_shards(folder: Path, index: Path) -> tuple[Path, ...]:
    weight_map = read_json(index, error=ModelError, expect=dict).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ModelError(f"{index} has no weight_map; re-download the model")
    names = sorted(set(weight_map.values()), key=str)
    bad = next((n for n in names if not _is_plain_name(n)), None)
    if bad is not None:
        raise ModelError(f"{index.name} names {str(bad)[:80]!r}, not a file in {folder}; re-download the model")
    return tuple(folder / n for n in names)


def _is_plain_name(name: object) -> bool:
    """A file name inside the folder: no separators, no '..', nothing that climbs out."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name and "\0" not in name


#: Layer counts a config may give, by the names families use.
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
_LAYER_INDEX = re.compile(r"\.(\d+)\.")


def check_layers(plan: WeightFiles, config: dict[str, Any]) -> None:
    """Refuse, before transformers builds anything, a config with more layers than the weights hold
    (num_hidden_layers 2**40 would have it build modules for ever): safetensors headers name every
    tensor, and layer tensors carry their index (``model.layers.11.…``, ``h.11.…``)."""
    if plan.format != "safetensors":
        return
    held = -1
    for path in plan.files:
        for name in _tensor_names(path):
            held = max(held, *(int(m) for m in _LAYER_INDEX.findall(name)), -1)
    for key in _LAYER_KEYS:
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ModelError(f"config.json's {key} is {str(value)[:40]!r}, not a layer count; fix config.json")
        if held >= 0 and value > held + 1:
            raise ModelError(f"config.json's {key} is {value}, but the weights hold {held + 1} layers; "
                             "the weights and config.json do not belong together")


def _tensor_names(path: Path) -> list[str]:
    """The tensor names in a safetensors file's header (8 bytes of length, then JSON)."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size <= 100_000_000:
                raise ValueError(f"a header of {size:,} bytes")
            header = json.loads(fh.read(size))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} could not be read ({str(exc)[:160]}); re-download or re-save the weights") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path} could not be read (its header is not an object); re-download or re-save the weights")
    return [name for name in header if name != "__metadata__"]


def check_can_generate(config: dict[str, Any], *, name: str) -> None:
    """Refuse, before any weights load, models that cannot predict the next token."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = config.get("model_type", "")
    if config.get("is_encoder_decoder"):
        raise ModelError(
            f"{name} is an encoder-decoder ({model_type}) model; step-by-step generation supports decoder-only causal LMs"
        )
    archs = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    # BERT-family types also map to a *ForCausalLM class, which predicts nothing useful unless the
    # checkpoint was trained as a decoder (is_decoder); a masked-LM checkpoint is an encoder.
    encoder_family = model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not config.get("is_decoder")
    if archs:
        causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
        ok = any(a in causal or a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
    else:
        ok = model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    ok = ok and not encoder_family
    if not ok:
        kind = ", ".join(archs) or model_type or "unknown"
        raise ModelError(f"this model cannot generate ({name} is {kind}, an encoder); try `tokenprism embed`")


def pick_device(device: str = "auto") -> str:
    """"auto" → cuda if available, else mps, else cpu; anything else is checked and returned.

    >>> pick_device("cpu")
    'cpu'
    """
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = device.split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is available to torch here; use --device cpu")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps: Apple's MPS is not available here; use --device cpu")
    if kind not in ("cpu", "cuda", "mps"):
        raise UsageError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def pick_dtype(dtype: str = "auto", device: str = "cpu") -> Any:
    """A torch dtype: "auto" is float32 on CPU, bfloat16 on a GPU that has it, else float16.

    >>> str(pick_dtype("auto", "cpu"))
    'torch.float32'
    """
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.startswith("mps") else torch.float32
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise UsageError(f"unknown dtype {dtype!r}: use auto, float32, float16 or bfloat16")
    return getattr(torch, name)


@contextlib.contextmanager
def quiet_hub() -> Iterator[None]:
    """No huggingface_hub download bars (the CLI shows one status line of its own); restored after."""
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_off = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        (disable_progress_bars if was_off else enable_progress_bars)()


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No progress bars or log lines of transformers' or huggingface_hub's own while a model loads.
    Both libraries keep these switches in module state, so they are restored afterwards. (transformers'
    GGUF converter draws a plain tqdm bar that its switch does not reach: it is replaced for the load.)
    """
    import importlib

    from transformers.utils import logging as hf_logging

    try:
        gguf_utils = importlib.import_module("transformers.modeling_gguf_pytorch_utils")
    except ImportError:  # a transformers without GGUF support: nothing to silence there
        gguf_utils = None
    was_on, level, bar = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity(), getattr(gguf_utils, "tqdm", None)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if bar is not None:
        gguf_utils.tqdm = lambda items, *args, **kwargs: items
    try:
        with quiet_hub():
            yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
        (hf_logging.enable_progress_bar if was_on else hf_logging.disable_progress_bar)()
        hf_logging.set_verbosity(level)


@contextlib.contextmanager
def weights_errors(folder: Path, *, what: str = "the model") -> Iterator[None]:
    """Whatever reading weights raises (a truncated or corrupt safetensors file, a pickle that torch's
    weights_only loader refuses, a shape that does not fit the config) as one ModelError line."""
    try:
        yield
    except TokenprismError:
        raise
    except ImportError as exc:
        raise ModelError(f"cannot load {what} in {folder}: {_first_line(exc)}; install what it names") from None
    except pickle.UnpicklingError as exc:  # torch's weights_only loader met something that is not a tensor
        found = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line or "global" in line), "")
        raise ModelError(f"refused {what} in {folder}: its pickle weights hold more than tensors ({found[:160] or 'unsafe'}); "
                         "do not load this file, get safetensors weights instead") from None
    except Exception as exc:  # noqa: BLE001 - safetensors, torch and pickle each raise their own types
        raise ModelError(f"{what} in {folder} could not be read ({_first_line(exc)}); re-download or re-save the weights") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:240]
