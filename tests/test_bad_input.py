"""Bad input gets a typed, one-line error; odd but valid input is handled, never lost."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from conftest import PRISM_TINY, fixture
from tokenprism import (
    InvalidTokenId,
    TokenizerFileError,
    TokenizerNotFound,
    load_tokenizer,
)

SPECS = ["gpt2", "bert-base-uncased", "flan-t5/spiece.model", "openai-tiktoken/cl100k_base.tiktoken", "phi-3-mini", "qwen2"]


@pytest.fixture(params=SPECS)
def tok(request):
    return load_tokenizer(fixture(f"tokenizers/{request.param}"))


# --- malformed files ---------------------------------------------------------------------------
def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text, text
    return text


def test_truncated_tokenizer_json(tmp_path: Path) -> None:
    data = fixture("tokenizers/starcoder2/tokenizer.json", instead=PRISM_TINY / "tokenizer.json").read_bytes()
    (tmp_path / "tokenizer.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(TokenizerFileError) as err:
        load_tokenizer(tmp_path)
    assert "tokenizer.json" in _one_line(err.value)


def test_tokenizer_json_that_makes_rust_panic(tmp_path: Path) -> None:
    """A structurally valid JSON with an impossible model: the Rust side may panic; we convert."""
    (tmp_path / "tokenizer.json").write_text('{"version":"1.0","model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}')
    with pytest.raises(TokenizerFileError):
        load_tokenizer(tmp_path)


def test_gzip_that_is_not_gzip(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json.gz").write_bytes(b"not gzip at all")
    with pytest.raises(TokenizerFileError):
        load_tokenizer(tmp_path)


def _ranks_lines() -> list[bytes]:
    return fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken").read_bytes().splitlines()


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda lines: lines[:1000] + [b"!!notbase64!! 1000"] + lines[1001:], "bad base64"),
        (lambda lines: lines[:300] + [lines[299]] + lines[301:], "duplicate"),
        (lambda lines: lines[50:], "single-byte"),
        (lambda lines: lines[:10] + [b"onlyonefield"], "expected"),
    ],
)
def test_bad_tiktoken_files(tmp_path: Path, mutate, needle: str) -> None:
    path = tmp_path / "cl100k_base.tiktoken"
    path.write_bytes(b"\n".join(mutate(_ranks_lines())))
    with pytest.raises(TokenizerFileError) as err:
        load_tokenizer(path)
    assert needle in _one_line(err.value)


def test_truncated_sentencepiece_model(tmp_path: Path) -> None:
    data = fixture("tokenizers/flan-t5/spiece.model").read_bytes()
    (tmp_path / "spiece.model").write_bytes(data[:1000])
    with pytest.raises(TokenizerFileError):
        load_tokenizer(tmp_path)


def test_unknown_spec_names_what_was_tried() -> None:
    with pytest.raises(TokenizerNotFound) as err:
        load_tokenizer("no/such-tokenizer-anywhere")
    assert "HF_HUB_OFFLINE" in _one_line(err.value)
    with pytest.raises(TokenizerNotFound):
        load_tokenizer("./not a path/x.json")


def test_folder_without_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hi")
    with pytest.raises(TokenizerNotFound) as err:
        load_tokenizer(tmp_path)
    # what the folder holds is counted, never named: an error can travel to a web page (issue 16)
    assert "holds no tokenizer file (1 other entry)" in str(err.value) and "README.md" not in str(err.value)


# --- odd text -----------------------------------------------------------------------------------
def test_lone_surrogate_has_one_policy(tok) -> None:
    enc = tok.encode("a\ud800b")
    assert enc.text == "a\ufffdb"
    assert any("surrogate" in n for n in enc.notes)


def test_split_surrogate_pair_is_the_character(tok) -> None:
    assert tok.encode("x\ud83c\udfb5y").ids == tok.encode("x🎵y").ids


def test_empty_text(tok) -> None:
    enc = tok.encode("", add_special_tokens=False)
    assert enc.count == 0 and enc.tokens == []


@pytest.mark.parametrize("text", ["a\x00b", "\ufeffhello", "line\r\nnext\r\n", "\x07\x1b[31mred\x1b[0m\x7f"])
def test_control_characters(tok, text: str) -> None:
    enc = tok.encode(text)
    assert all(0 <= s <= e <= len(text) for s, e in enc.offsets)
    enc.to_dict()


@pytest.mark.parametrize("ch", ["a", " ", "^", "_"])
def test_million_repeats(ch: str) -> None:
    from tokenizers import Tokenizer as Raw

    path = fixture("tokenizers/starcoder2/tokenizer.json", instead=PRISM_TINY / "tokenizer.json")
    tok = load_tokenizer(path)
    text = ch * 1_000_000
    assert tok.count(text) == len(Raw.from_file(str(path)).encode(text, add_special_tokens=False).ids)


def test_fifty_megabytes_counts_exactly() -> None:
    import tiktoken  # noqa: F401 - the reference

    tok = load_tokenizer(fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken"))
    text = ("The quick brown fox jumps over the lazy dog. 12345 🎵\n" * 1_000_000)[: 50_000_000]
    enc = tok.encode(text)
    assert enc.count == len(tok.encoding.encode(text, allowed_special="all"))
    html = enc._repr_html_()
    assert "more tokens not shown" in html


# --- decode -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1, 10**9, "x", 1.5, None, True])
def test_decode_rejects_bad_ids(tok, bad) -> None:
    with pytest.raises(InvalidTokenId) as err:
        tok.decode_tokens([1, bad])
    assert repr(bad) in str(err.value) or str(bad) in str(err.value)


def test_decode_id_in_tiktoken_gap() -> None:
    tok = load_tokenizer(fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken"))
    with pytest.raises(InvalidTokenId):
        tok.decode_tokens([100256])


def test_decoding_fragments_shows_bytes_and_joins() -> None:
    tok = load_tokenizer(fixture("tokenizers/gpt2"))
    ids = tok.encode("🎵").ids
    dec = tok.decode_tokens(ids)
    assert dec.labels[0] == "<0xF0 0x9F>"
    assert dec.text == "🎵"
    assert all("\ufffd" not in lab for lab in dec.labels)


def test_special_tokens_typed_in_text_are_marked() -> None:
    tok = load_tokenizer(fixture("tokenizers/phi-3-mini"))
    enc = tok.encode("<|user|>hi<|end|>")
    assert [t.piece for t in enc.parsed_special_tokens] == ["<|user|>", "<|end|>"]
    plain = tok.encode("<|user|>hi", split_special_tokens=True)
    assert 32010 not in plain.ids


def test_tiktoken_special_tokens_parsed_and_noted() -> None:
    tok = load_tokenizer(fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken"))
    enc = tok.encode("a<|endoftext|>b")
    assert 100257 in enc.ids and any("tiktoken itself would raise" in n for n in enc.notes)
    assert 100257 not in tok.encode("a<|endoftext|>b", split_special_tokens=True).ids
