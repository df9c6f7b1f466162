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
    import gguf

    raw = tokenizer_json.read_bytes()
    data = json.loads(gzip.decompress(raw) if tokenizer_json.name.endswith(".gz") else raw)
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
    writer = _writer(path, arch, f"{arch}-vocab")
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
