"""A malformed GGUF file is a one-line TokenizerFileError naming the field, in bounded time and memory: bad magic
and versions, truncation, counts and lengths up to 2^64, nested arrays, arrays of the wrong type or length,
special ids beyond the vocabulary, byte tokens that are not bytes, bad alignment, tensors beyond the file."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.errors import TokenizerFileError
from tokenprism.tokenizers.gguf import GGUFTokenizer

U8, I32, U32, F32, BOOL, STR, ARR, U64 = 0, 5, 4, 6, 7, 8, 9, 10
HUGE = (1 << 64) - 1


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv(key: str, vtype: int, payload: bytes) -> bytes:
    return s(key) + struct.pack("<I", vtype) + payload


def arr(elem: int, items: list, fmt: str = "") -> bytes:
    body = b"".join(s(x) for x in items) if elem == STR else b"".join(struct.pack(fmt, x) for x in items)
    return struct.pack("<IQ", elem, len(items)) + body


TOKENS = ["<unk>", "<s>", "</s>", "▁a", "a", "b", "▁ab", *(f"<0x{b:02X}>" for b in range(256))]
TYPES = [2, 3, 3, 1, 1, 1, 1, *([6] * 256)]


def vocab_kvs(**override: bytes) -> list[bytes]:
    """A complete little SentencePiece vocabulary; `override` replaces (or with b"" drops) a key's bytes."""
    pairs = {
        "general.architecture": kv("general.architecture", STR, s("llama")),
        "tokenizer.ggml.model": kv("tokenizer.ggml.model", STR, s("llama")),
        "tokenizer.ggml.tokens": kv("tokenizer.ggml.tokens", ARR, arr(STR, TOKENS)),
        "tokenizer.ggml.scores": kv("tokenizer.ggml.scores", ARR, arr(F32, [0.0] * 3 + [-1.0, -2.0, -3.0, -0.5] + [0.0] * 256, "<f")),
        "tokenizer.ggml.token_type": kv("tokenizer.ggml.token_type", ARR, arr(I32, TYPES, "<i")),
    }
    pairs.update(override)
    return [v for v in pairs.values() if v]


def gguf(kvs: list[bytes], *, version: int = 3, tensors: list[bytes] = (), data: bytes = b"", magic: bytes = b"GGUF") -> bytes:
    head = magic + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    if tensors:
        head += b"\x00" * (-len(head) % 32)
    return head + data


def tensor(name: str, shape: tuple[int, ...], ggml_type: int, offset: int) -> bytes:
    return s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", ggml_type, offset)


def refused(tmp_path: Path, data: bytes, match: str) -> str:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    start = time.perf_counter()
    with pytest.raises(TokenizerFileError, match=match) as err:
        GGUFTokenizer(path)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message
    return message


def test_the_little_vocabulary_itself_works(tmp_path) -> None:
    path = tmp_path / "ok.gguf"
    path.write_bytes(gguf(vocab_kvs()))
    tok = load_tokenizer(path)
    assert tok.encode("ab a", add_special_tokens=False).ids == [6, 3]
    # "▁é" is no token and neither is "▁": byte tokens for E2 96 81 C3 A9
    assert tok.encode("é", add_special_tokens=False).ids == [7 + b for b in "▁é".encode()]


@pytest.mark.parametrize(
    "data,match",
    [
        (b"GGML" + bytes(40), "not a GGUF file"),
        (b"GGUF" + struct.pack("<I", 1) + bytes(40), "version 1"),
        (b"GGUF" + struct.pack("<I", 7) + bytes(40), "version is 7"),
        (b"GGUF" + struct.pack(">I", 3) + bytes(40), "big-endian"),
        (b"GGUF\x03\x00", "header is cut off"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, HUGE), "metadata count claims"),
        (b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 0), "tensor count claims"),
    ],
)
def test_header(tmp_path, data: bytes, match: str) -> None:
    refused(tmp_path, data, match)


def test_truncated_anywhere(tmp_path) -> None:
    whole = gguf(vocab_kvs())
    for cut in (30, 60, len(whole) // 3, len(whole) // 2, len(whole) - 3):
        refused(tmp_path, whole[:cut], "cut off|claims|left")


@pytest.mark.parametrize(
    "override,match",
    [
        ({"x": s("k") + struct.pack("<IQ", STR, HUGE)}, "metadata key 'k' claims 18,446,744,073,709,551,615 bytes"),
        ({"x": s("k") + struct.pack("<IIQ", ARR, STR, HUGE)}, "metadata key 'k' claims .* strings"),
        ({"x": s("k") + struct.pack("<IIQ", ARR, U64, 1 << 61)}, "metadata key 'k' claims .* elements"),
        ({"x": s("k") + struct.pack("<IIQ", ARR, ARR, 2)}, "metadata key 'k' is an array of arrays"),
        ({"x": s("k") + struct.pack("<I", 99)}, "metadata key 'k' has unknown value type 99"),
        ({"x": struct.pack("<Q", HUGE)}, "metadata key 2 .*claims"),
        ({"x": kv("tokenizer.ggml.model", STR, s("gpt2"))}, "'tokenizer.ggml.model' appears twice"),
    ],
)
def test_metadata_counts_and_types(tmp_path, override: dict, match: str) -> None:
    kvs = vocab_kvs()
    kvs.insert(2, override["x"])
    refused(tmp_path, gguf(kvs), match)


@pytest.mark.parametrize(
    "override,match",
    [
        ({"tokenizer.ggml.scores": kv("tokenizer.ggml.scores", ARR, arr(STR, ["x"] * len(TOKENS)))}, "tokenizer.ggml.scores' is an array of .* string, expected an array of f32 or i32"),
        ({"tokenizer.ggml.scores": kv("tokenizer.ggml.scores", ARR, arr(F32, [0.0] * 5, "<f"))}, "tokenizer.ggml.scores has 5 entries for 263 tokens"),
        ({"tokenizer.ggml.token_type": kv("tokenizer.ggml.token_type", ARR, arr(F32, [1.0] * len(TOKENS), "<f"))}, "token_type' is an array of .* f32, expected an array of i32"),
        ({"tokenizer.ggml.token_type": kv("tokenizer.ggml.token_type", ARR, arr(I32, [1] * 9, "<i"))}, "token_type has 9 entries for 263 tokens"),
        ({"tokenizer.ggml.tokens": kv("tokenizer.ggml.tokens", ARR, arr(I32, [1, 2], "<i"))}, "tokenizer.ggml.tokens' is an array of 2 i32, expected an array of strings"),
        ({"tokenizer.ggml.tokens": kv("tokenizer.ggml.tokens", ARR, arr(STR, ["a", "a"]))}, "holds 'a' twice"),
        ({"tokenizer.ggml.tokens": b""}, "no tokenizer.ggml.tokens"),
        ({"tokenizer.ggml.model": kv("tokenizer.ggml.model", STR, s("rwkv"))}, "the 'rwkv' tokenizer"),
        ({"tokenizer.ggml.model": kv("tokenizer.ggml.model", U32, struct.pack("<I", 1))}, "tokenizer.ggml.model' is u32, expected str"),
        ({"b": kv("tokenizer.ggml.bos_token_id", U32, struct.pack("<I", 99999))}, "bos_token_id is 99999, beyond the vocabulary of 263"),
        ({"b": kv("tokenizer.ggml.eos_token_id", U32, struct.pack("<I", 1 << 31))}, "eos_token_id is 2147483648, beyond"),
        ({"b": kv("tokenizer.ggml.add_bos_token", U32, struct.pack("<I", 1))}, "add_bos_token' is u32, expected bool"),
        ({"tokenizer.ggml.token_type": kv("tokenizer.ggml.token_type", ARR, arr(I32, [2, 3, 3, 6, *TYPES[4:]], "<i"))}, "token 3 '▁a' has tokenizer.ggml.token_type 6 \\(byte\\) but is not of the form <0xNN>"),
        ({"a": kv("general.alignment", U32, struct.pack("<I", 0))}, "general.alignment' is 0, not a power of two"),
        ({"a": kv("general.alignment", U32, struct.pack("<I", 48))}, "general.alignment' is 48, not a power of two"),
        ({"a": kv("general.alignment", U64, struct.pack("<Q", 32))}, "general.alignment' is u64, expected u32"),
    ],
)
def test_vocabulary_fields(tmp_path, override: dict, match: str) -> None:
    refused(tmp_path, gguf(vocab_kvs(**override)), match)


def test_a_default_id_beyond_the_vocabulary_is_dropped_as_llama_cpp_does(tmp_path) -> None:
    """Ids llama.cpp ignores with a warning (a padding id past the end, common in converted Llama 3 files) are
    noted, not refused; bos and eos, which tokenizing itself adds, are refused above."""
    path = tmp_path / "pad.gguf"
    path.write_bytes(gguf(vocab_kvs(p=kv("tokenizer.ggml.padding_token_id", U32, struct.pack("<I", 263)))))
    tok = load_tokenizer(path)
    assert "pad" not in tok.roles and any("padding_token_id = 263" in note for note in tok.inferred)


@pytest.mark.parametrize(
    "tensors,data,match",
    [
        ([tensor("w", (32, 2), 0, 1 << 40)], bytes(256), "tensor 'w' spans bytes"),
        ([tensor("w", (32, 2), 0, 8)], bytes(256), "tensor 'w' starts at offset 8, not a multiple of the alignment 32"),
        ([tensor("w", (33,), 8, 0)], bytes(256), "rows of 33 elements, not a multiple of Q8_0's block of 32"),
        ([tensor("w", (4,), 4, 0)], bytes(64), "unknown ggml type 4"),
        ([tensor("w", (1 << 40, 1 << 40), 0, 0)], bytes(64), "more than ggml can index"),
        ([tensor("w", (1,) * 5, 0, 0)], bytes(64), "5 dimensions"),
        ([tensor("w" * 64, (4,), 0, 0)], bytes(64), "64 bytes long"),
        ([tensor("w", (4,), 0, 0), tensor("w", (4,), 0, 32)], bytes(64), "repeats the name 'w'"),
    ],
)
def test_tensor_table(tmp_path, tensors: list[bytes], data: bytes, match: str) -> None:
    refused(tmp_path, gguf(vocab_kvs(), tensors=tensors, data=data), match)


def test_a_file_that_is_no_tokenizer(tmp_path) -> None:
    refused(tmp_path, gguf([kv("general.architecture", STR, s("clip"))]), "holds no tokenizer")
    refused(tmp_path, gguf([kv("tokenizer.ggml.model", STR, s("no_vocab"))]), "has no vocabulary")


def test_errors_reach_the_cli_as_one_line(tmp_path, capsys) -> None:
    from tokenprism.cli import main

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(fixture("llama-cpp-vocab/ggml-vocab-bert-bge.gguf").read_bytes()[:5000])
    assert main(["tokenize", "hi", "-t", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "tokenizer.ggml.tokens" in err and "\n" not in err


def test_an_unknown_pre_tokenizer_gets_llama_cpps_fallback_with_a_warning(tmp_path) -> None:
    """As llama.cpp does for a file without tokenizer.ggml.pre: its 'default' regexes, and a visible warning
    (llama.cpp refuses a pre name it does not know; a newer converter's name should not lock the file out)."""
    data = fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf").read_bytes()
    key = s("tokenizer.ggml.pre") + struct.pack("<I", STR) + s("gpt-2")
    assert data.count(key) == 1
    path = tmp_path / "new-pre.gguf"
    path.write_bytes(data.replace(key, key[:-5] + b"gpt-9"))
    with pytest.warns(UserWarning, match="unknown tokenizer.ggml.pre 'gpt-9'"):
        tok = GGUFTokenizer(path)
    assert any("'default' pre-tokenizer" in note for note in tok.info().inferred)
    # the default regexes cut punctuation off first: "I'm" is I ' m, where GPT-2's own regex keeps 'm
    assert [tok.id_to_piece(i) for i in tok.encode("I'm", add_special_tokens=False).ids] == ["I", "'", "m"]
