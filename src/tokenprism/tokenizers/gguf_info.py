"""What `tokenprism info` tells about a GGUF file beyond its tokenizer: the model it holds.

Architecture, parameter count (from the tensor shapes), quantization types by tensor count and bytes,
context length, RoPE settings, file size, name and licence, and the chat template (shown as text; it is
rendered only in Jinja's sandbox, by `tokenizers.chat`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .gguf_file import GGUFFile

if TYPE_CHECKING:
    from .gguf_vocab import Vocab

__all__ = ["model_facts", "FILE_TYPES"]

#: general.file_type → llama.cpp's name of the file's overall quantization (its llama_ftype)
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}
_SHAPE_KEYS = ("context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
               "attention.head_count_kv", "vocab_size", "expert_count", "expert_used_count")


def model_facts(gguf: GGUFFile, vocab: Vocab) -> dict[str, Any]:
    """The facts of an open GGUF file, as a JSON-ready dict.

    >>> with GGUFFile("model.gguf") as g:                          # doctest: +SKIP
    ...     model_facts(g, read_vocab(g))["parameters"]
    1235814400
    """
    arch = _text(gguf, "general.architecture")
    file_type = gguf.get("general.file_type")
    facts: dict[str, Any] = {
        "file_size": gguf.size,
        "version": gguf.version,
        "architecture": arch,
        "name": _text(gguf, "general.name"),
        "license": _text(gguf, "general.license"),
        "file_type": FILE_TYPES.get(file_type, str(file_type)) if isinstance(file_type, int) else None,
        "parameters": sum(t.n_elements for t in gguf.tensors),
        "tensors": len(gguf.tensors),
        "quantization": _quantization(gguf) or None,  # None: a vocab-only file
        "tokenizer": {
            "model": vocab.model, "pre": vocab.pre or None, "tokens": len(vocab.tokens), "merges": vocab.n_merges,
            "add_bos": vocab.add_bos, "add_eos": vocab.add_eos, "add_space_prefix": vocab.add_space_prefix,
        },
        "chat_template": _text(gguf, "tokenizer.chat_template"),
    }
    if arch:
        for key in _SHAPE_KEYS:
            value = gguf.get(f"{arch}.{key}")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                facts[key.replace("attention.", "")] = value
        rope = {k[len(arch) + 6 :]: v for k, v in gguf.metadata.items()
                if k.startswith(f"{arch}.rope.") and isinstance(gguf.get(k), (int, float, str))}
        facts["rope"] = rope or None
    return facts


def _text(gguf: GGUFFile, key: str) -> str | None:
    value = gguf.get(key)
    return value if isinstance(value, str) else None


def _quantization(gguf: GGUFFile) -> dict[str, dict[str, int]]:
    """Tensor count and bytes per ggml type, the type with the most bytes first."""
    by_type: dict[str, dict[str, int]] = {}
    for t in gguf.tensors:
        entry = by_type.setdefault(t.type_name, {"tensors": 0, "bytes": 0, "parameters": 0})
        entry["tensors"] += 1
        entry["bytes"] += t.n_bytes
        entry["parameters"] += t.n_elements
    return dict(sorted(by_type.items(), key=lambda kv: -kv[1]["bytes"]))
