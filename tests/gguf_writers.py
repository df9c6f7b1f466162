"""GGUF files written by the `gguf` package's own writer (llama.cpp's gguf-py), from real fixture tokenizers,
the way llama.cpp's convert_hf_to_gguf.py writes them: test inputs our reader has never seen, made by the
reference implementation of the format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np


def _writer(path: Path, arch: str, name: str):
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    return writer


def _finish(writer) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_t5_gguf(spiece: Path, path: Path) -> Path:
    """A T5 (Unigram) vocab-only GGUF from a SentencePiece model, as convert_hf_to_gguf's T5 set_vocab does."""
    import gguf
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    sp = spm.SentencePieceProcessor(model_file=str(spiece))
    proto = model_pb2.ModelProto()
    proto.ParseFromString(spiece.read_bytes())
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        kind = gguf.TokenType.NORMAL
        if sp.is_unknown(i):
            kind = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            kind = gguf.TokenType.CONTROL
        elif sp.is_unused(i):
            kind = gguf.TokenType.UNUSED
        elif sp.is_byte(i):
            kind = gguf.TokenType.BYTE
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        types.append(kind)
    writer = _writer(path, "t5", "t5-vocab")
    writer.add_tokenizer_model("t5")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_add_space_prefix(proto.normalizer_spec.add_dummy_prefix)
    writer.add_remove_extra_whitespaces(proto.normalizer_spec.remove_extra_whitespaces)
    if proto.normalizer_spec.precompiled_charsmap:
        writer.add_precompiled_charsmap(proto.normalizer_spec.precompiled_charsmap)
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_pad_token_id(max(sp.pad_id(), 0))
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(True)
    _finish(writer)
    return path


def write_bpe_gguf(tokenizer_json: Path, path: Path, *, pre: str, arch: str = "qwen2") -> Path:
    """A byte-level BPE vocab-only GGUF from a tokenizer.json, as convert_hf_to_gguf's gpt2 vocab does:
    ids without a token become [PADn] (unused), added special tokens control, other added ones user-defined."""
    raw = tokenizer_json.read_bytes()
    data = json.loads(gzip.decompress(raw) if tokenizer_json.name.endswith(".gz") else raw)
    writer = _writer(path, arch, f"{arch}-vocab")
    _add_bpe_vocab(writer, data, pre=pre)
    _finish(writer)
    return path


def _add_bpe_vocab(writer, data: dict, *, pre: str) -> None:
    import gguf

    vocab: dict[str, int] = dict(data["model"]["vocab"])
    added = {t["id"]: t for t in data.get("added_tokens", [])}
    size = max([*vocab.values(), *added]) + 1
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(size):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        elif i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    endoftext = next((i for i, t in added.items() if t["content"] == "<|endoftext|>"), None)
    if endoftext is not None:
        writer.add_bos_token_id(endoftext)
        writer.add_eos_token_id(endoftext)
    writer.add_add_bos_token(False)


def _permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf's LlamaModel.permute: each head's rotary halves interleaved for llama.cpp's kernel."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def write_llama_gguf(folder: Path, path: Path, *, qtype: str = "F32") -> Path:
    """A Llama model folder (config.json, model.safetensors, tokenizer.json) as a GGUF file the way
    convert_hf_to_gguf writes one: llama.* metadata, blk.N.* names, query/key rows permuted, 2-D weights
    in `qtype` (F32, F16 or Q8_0, quantized by gguf-py) and norms in F32."""
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim", config["hidden_size"] // heads)
    writer = _writer(path, "llama", folder.name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_dimension_count(head_dim)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    theta = (config.get("rope_parameters") or {}).get("rope_theta", config.get("rope_theta", 10000.0))
    writer.add_rope_freq_base(theta)
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type({"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16,
                          "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[qtype])
    _add_bpe_vocab(writer, json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")), pre="gpt-2")
    names = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
    layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for name, data in weights.items():
        stem, kind = name.rsplit(".", 1)
        if stem.startswith("model.layers."):
            index, rest = stem[len("model.layers."):].split(".", 1)
            target = f"blk.{index}.{layer[rest]}.{kind}"
        else:
            target = f"{names[stem]}.{kind}"
        data = data.astype(np.float32)
        if stem.endswith("q_proj"):
            data = _permute(data, heads)
        elif stem.endswith("k_proj"):
            data = _permute(data, kv_heads)
        if data.ndim == 1 or qtype == "F32":
            writer.add_tensor(target, data)
        elif qtype == "F16":
            writer.add_tensor(target, data.astype(np.float16))
        else:
            kind_q = gguf.GGMLQuantizationType[qtype]
            writer.add_tensor(target, gguf.quants.quantize(data, kind_q), raw_dtype=kind_q)
    _finish(writer)
    return path


def write_model_gguf(path: Path, tensors: dict[str, tuple[tuple[int, ...], str]]) -> Path:
    """A small llama-architecture GGUF with tensors of the given (shape, ggml type name), zero-filled:
    for `info`'s parameter count and quantization table. Shapes are numpy order (rows, columns)."""
    import gguf

    writer = _writer(path, "llama", "tiny-test-model")
    writer.add_context_length(2048)
    writer.add_embedding_length(64)
    writer.add_block_count(1)
    writer.add_head_count(4)
    writer.add_rope_dimension_count(16)
    writer.add_rope_freq_base(10000.0)
    writer.add_license("mit")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([b"<unk>", b"<s>", b"</s>", b"\xe2\x96\x81a", b"a"])
    writer.add_token_scores([0.0, 0.0, 0.0, -1.0, -2.0])
    writer.add_token_types([2, 3, 3, 1, 1])
    writer.add_chat_template("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}")
    for name, (shape, kind) in tensors.items():
        if kind in ("F32", "F16"):
            writer.add_tensor(name, np.zeros(shape, dtype=np.float32 if kind == "F32" else np.float16))
            continue
        qtype = gguf.GGMLQuantizationType[kind]
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        rows = shape[:-1]
        writer.add_tensor(name, np.zeros((*rows, shape[-1] // block * size), dtype=np.uint8), raw_dtype=qtype)
    _finish(writer)
    return path
