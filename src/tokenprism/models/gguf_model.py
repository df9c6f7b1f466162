"""Models from GGUF files (llama.cpp, Ollama, LM Studio): `-m model.gguf`.

Llama-architecture files whose weights are F32, F16, BF16 or Q8_0 run on the numpy engine: each tensor is
dequantized to float32 and renamed to the Hugging Face layout, and the query and key rows are put back in
the order transformers uses (llama.cpp's converter interleaves them for its rotary kernel). Other files go
to transformers, which dequantizes the architectures it knows from GGUF (torch engine); anything neither can
run is a `ModelError` that names what is unsupported. The tokenizer is the file's own (tokenizers/gguf.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency, ModelError, TokenprismError, UsageError
from .protocol import Model
from .transparent import NumpyModel

__all__ = ["load_gguf_model", "NUMPY_TENSOR_TYPES"]

#: ggml types the numpy engine dequantizes; the architectures it runs (llama.cpp writes Mistral as llama)
NUMPY_TENSOR_TYPES = frozenset({"F32", "F16", "BF16", "Q8_0"})
_NUMPY_ARCHS = frozenset({"llama"})
_GLOBAL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_LAYER = {
    "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}  # fmt: skip


def load_gguf_model(spec: str, *, engine: str = "auto", device: str = "auto", dtype: str = "auto") -> Model:
    """A GGUF file as a `Model`: the numpy engine where it can (see the module docstring), else transformers.

    >>> load_gguf_model("tinyllama-q8_0.gguf").forward([1, 15043])[0].shape    # doctest: +SKIP
    (32000,)
    """
    from ..tokenizers.gguf_file import GGUFFile
    from ..tokenizers.registry import load_tokenizer

    path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelError(f"no GGUF file {spec!r}; pass the path of a .gguf model file")
    tokenizer = load_tokenizer(str(path))
    with GGUFFile(path) as gguf:
        arch = gguf.get("general.architecture")
        if not gguf.tensors:
            raise ModelError(f"{path.name} holds a vocabulary only (no tensors): use it with -t, not -m")
        unsupported = sorted({t.type_name for t in gguf.tensors} - NUMPY_TENSOR_TYPES)
        numpy_ok = arch in _NUMPY_ARCHS and not unsupported
        if engine == "torch" or (engine == "auto" and not (numpy_ok and device in ("auto", "cpu"))):
            return _torch_model(path, spec, tokenizer, device=device, dtype=dtype, arch=arch)
        if not numpy_ok:
            why = f"architecture {arch!r}" if arch not in _NUMPY_ARCHS else f"{', '.join(unsupported)} tensors"
            raise ModelError(f"the numpy engine runs Llama-architecture GGUF files in {', '.join(sorted(NUMPY_TENSOR_TYPES))}; "
                             f"{path.name} has {why}: use --engine torch (transformers dequantizes what it knows)")
        if device not in ("auto", "cpu"):
            raise UsageError(f"the numpy engine runs on the CPU; --device {device} needs --engine torch")
        if dtype not in ("auto", "float32", "fp32", "float"):
            raise UsageError(f"the numpy engine computes in float32; --dtype {dtype} needs --engine torch")
        config = llama_config(gguf, tokenizer.vocab_size)
        tensors, rope_factors = llama_tensors(gguf, config)
    return GGUFNumpyModel(path, tokenizer, name=spec, config=config, tensors=tensors, rope_factors=rope_factors)


class GGUFNumpyModel(NumpyModel):
    """A Llama-architecture GGUF file on the numpy engine (weights dequantized to float32)."""

    def __init__(self, path: Path, tokenizer: Any, *, name: str, config: dict, tensors: dict[str, np.ndarray],
                 rope_factors: np.ndarray | None) -> None:  # not NumpyModel's: no folder is read
        from .llama import LlamaEngine

        self.core = LlamaEngine(config, tensors, dtype="float32")
        if rope_factors is not None:  # Llama 3.1's long-context scaling, stored by llama.cpp as per-pair divisors
            self.core.inv_freq = (self.core.inv_freq / rope_factors).astype(np.float32)
        self.tokenizer = tokenizer
        self.name = name
        self.path = path
        self.weights = "gguf"
        self.config = config
        self.generation_config = {}
        self._dtype = "float32"


def _torch_model(path: Path, spec: str, tokenizer: Any, *, device: str, dtype: str, arch: Any) -> Model:
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise MissingDependency("torch", "lm")
    from transformers import AutoModelForCausalLM

    from .auto import TorchModel
    from .loading import LOADING, pick_device, pick_dtype, quiet_loading

    if importlib.util.find_spec("accelerate") is None:  # transformers needs it to read GGUF weights
        raise MissingDependency("accelerate", "lm")
    device = pick_device(device)
    try:
        with LOADING, quiet_loading():
            module = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=pick_dtype(dtype, device))
    except TokenprismError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers refuses unknown architectures and quant types variously
        raise ModelError(f"transformers cannot load {path.name} (architecture {arch!r}): {str(exc).splitlines()[0][:160]}; "
                         "the numpy engine runs Llama files in F32, F16, BF16 or Q8_0") from None
    module.to(device).eval()
    return TorchModel(module, tokenizer, name=spec, path=path, weights="gguf")


# --- reading a Llama GGUF ---------------------------------------------------------------------------
def llama_config(gguf: Any, vocab_size: int) -> dict[str, Any]:
    """A transformers-style config.json for the numpy engine, from llama.cpp's metadata keys."""

    def get(key: str, default: Any = None) -> Any:
        value = gguf.get(f"llama.{key}", default)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise ModelError(f"{gguf.path.name}: llama.{key} is {value!r}, not a number (per-layer values are not supported)")
        return value

    heads = get("attention.head_count")
    hidden = get("embedding_length")
    names = {t.name for t in gguf.tensors}
    config = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
        "num_hidden_layers": get("block_count"), "hidden_size": hidden, "intermediate_size": get("feed_forward_length"),
        "num_attention_heads": heads, "num_key_value_heads": get("attention.head_count_kv", heads),
        "rms_norm_eps": float(get("attention.layer_norm_rms_epsilon", 1e-5)),
        "rope_theta": float(get("rope.freq_base", 10000.0)), "max_position_embeddings": get("context_length"),
        "vocab_size": vocab_size, "tie_word_embeddings": "output.weight" not in names,
    }  # fmt: skip
    if isinstance(heads, int) and isinstance(hidden, int) and heads:
        config["head_dim"] = get("attention.key_length", get("rope.dimension_count", hidden // heads))
    scaling = gguf.get("llama.rope.scaling.type")
    if scaling == "linear":
        config["rope_scaling"] = {"rope_type": "linear", "factor": float(get("rope.scaling.factor", 1.0))}
    elif scaling not in (None, "none"):
        raise ModelError(f"{gguf.path.name} uses {scaling!r} rotary scaling, which the numpy engine does not run; use --engine torch")
    for key in ("bos_token_id", "eos_token_id"):
        value = gguf.get(f"tokenizer.ggml.{key}")
        if isinstance(value, int):
            config[key] = value
    return config


def llama_tensors(gguf: Any, config: dict) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The file's tensors as float32 arrays under transformers' names, query/key rows un-interleaved;
    and llama.cpp's rope_freqs divisors when the file has them."""
    tensors: dict[str, np.ndarray] = {}
    rope_factors = None
    for info in gguf.tensors:
        data = dequantize(info.type_name, gguf.tensor_bytes(info), tuple(reversed(info.shape)))
        name = _hf_name(info.name)
        if info.name == "rope_freqs.weight":
            rope_factors = data
            continue
        if name is None:
            raise ModelError(f"{gguf.path.name} has a tensor {info.name!r} a Llama model does not have; use --engine torch")
        if name.endswith("q_proj.weight"):
            data = unpermute(data, config["num_attention_heads"])
        elif name.endswith("k_proj.weight"):
            data = unpermute(data, config["num_key_value_heads"])
        tensors[name] = data
    return tensors, rope_factors


def _hf_name(name: str) -> str | None:
    stem, _, kind = name.rpartition(".")
    if stem in _GLOBAL:
        return f"{_GLOBAL[stem]}.{kind}"
    parts = stem.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER:
        return f"model.layers.{parts[1]}.{_LAYER[parts[2]]}.{kind}"
    return None


def unpermute(weight: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's converter: within each head it stores the rotary pairs' first halves, then the
    second halves, interleaved ((x0, x_d/2), (x1, x_d/2+1), …); transformers keeps the halves apart.

    >>> unpermute(np.arange(8).reshape(8, 1), 1).ravel().tolist()
    [0, 2, 4, 6, 1, 3, 5, 7]
    """
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def dequantize(kind: str, raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A tensor's bytes as float32 of `shape`. Q8_0: blocks of 32 weights, each an f16 scale then 32 int8s."""
    if kind == "F32":
        values = raw.view("<f4")
    elif kind == "F16":
        values = raw.view("<f2").astype(np.float32)
    elif kind == "BF16":
        values = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
    elif kind == "Q8_0":
        blocks = raw.view(np.dtype([("d", "<f2"), ("qs", "i1", 32)]))
        values = (blocks["d"].astype(np.float32)[:, None] * blocks["qs"].astype(np.float32)).ravel()
    else:
        raise ModelError(f"{kind} tensors are not dequantized by the numpy engine ({', '.join(sorted(NUMPY_TENSOR_TYPES))} are)")
    return np.ascontiguousarray(values.reshape(shape), dtype=np.float32)
