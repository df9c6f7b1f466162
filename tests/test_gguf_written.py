"""GGUF files the test writes with the `gguf` package (llama.cpp's gguf-py) from real fixture tokenizers, checked
against the reference library of the same tokenizer: the Unigram (t5) path against sentencepiece, a 151k
byte-level BPE (qwen2) against Hugging Face tokenizers, and `info` against gguf-py's own reader."""

from __future__ import annotations

import gzip
import json
import unicodedata

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.cli import main
from tokenprism.errors import InputError

gguf = pytest.importorskip("gguf", reason="the gguf package (test extra) writes these files")
from gguf_writers import write_bpe_gguf, write_model_gguf, write_t5_gguf

TEXTS = ["Hello world", "  leading and  double  spaces  ", "ＡＢＣ ① ﬁne café naïve", "鸟 日本語の文", "tab\tnew\nline",
         "12.0*50=600 1234567", "a\u0301 cafe\u0301", "Don't stop, y'all.", "ⅷ ½ ™", "x = f(a, b)  # note\n"]


def _inp_texts() -> list[str]:
    return fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf.inp").read_bytes().decode().split("\n__ggml_vocab_test__\n")


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    spiece = fixture("tokenizers/flan-t5/spiece.model")
    return spiece, load_tokenizer(write_t5_gguf(spiece, tmp_path_factory.mktemp("t5") / "t5.gguf"))


def test_unigram_matches_sentencepiece(t5) -> None:
    import sentencepiece as spm

    spiece, tok = t5
    sp = spm.SentencePieceProcessor(model_file=str(spiece))
    assert tok.model_type == "Unigram"
    for text in TEXTS + _inp_texts() + ["<unk> </s> typed"]:
        # split_special_tokens: control tokens typed in the text are text, as sentencepiece reads them
        assert tok.encode(text, add_special_tokens=False, split_special_tokens=True).ids == sp.encode(text), text


def test_unigram_adds_eos_and_parses_control_tokens(t5) -> None:
    _, tok = t5
    enc = tok.encode("Hello </s> world")
    assert enc.ids[-1] == 1 and enc.added == {len(enc.ids) - 1}  # t5: add_eos_token
    assert enc.ids.count(1) == 2  # the typed </s> is parsed, as llama.cpp does with parse_special
    assert [t.text for t in enc.tokens][:2] == ["Hello", "</s>"]
    assert tok.decode(tok.encode("ＡＢＣ café", add_special_tokens=False).ids) == "ABC café"  # NFKC by the charsmap


def test_unigram_without_byte_fallback_gives_unk(tmp_path) -> None:
    """DeBERTa-v3's model falls back to bytes in sentencepiece; llama.cpp's Unigram has no byte fallback, so a
    character no token covers is the unknown token (consecutive ones merged), and the rest matches."""
    import sentencepiece as spm

    model = fixture("tokenizers/deberta-v3/spm.model")
    tok = load_tokenizer(write_t5_gguf(model, tmp_path / "deberta.gguf"))
    sp = spm.SentencePieceProcessor(model_file=str(model))
    for text in TEXTS:
        assert tok.encode(text, add_special_tokens=False, split_special_tokens=True).ids == sp.encode(text), text
    assert tok.encode("\U00013000\U00013001", add_special_tokens=False).ids == [sp.piece_to_id("▁"), sp.unk_id()]


@pytest.fixture(scope="module")
def qwen2(tmp_path_factory):
    source = fixture("tokenizers/qwen2/tokenizer.json.gz")
    path = write_bpe_gguf(source, tmp_path_factory.mktemp("qwen2") / "qwen2.gguf", pre="qwen2")
    return source, path


def test_qwen2_bpe_matches_tokenizers(qwen2) -> None:
    """A 151k byte-level BPE with the qwen2 pre-tokenizer. Hugging Face normalises to NFC first and llama.cpp does
    not (its GGUF has no normaliser), so the texts are compared in NFC, where both read the same characters."""
    from tokenizers import Tokenizer as RawTokenizer

    source, path = qwen2
    tok = load_tokenizer(path)
    ref = RawTokenizer.from_str(gzip.decompress(source.read_bytes()).decode("utf-8"))
    assert tok.vocab_size == 151646 and tok.model_type == "byte-level BPE"
    corpus = sorted(fixture("corpus/udhr").glob("*.txt"))[:8]
    texts = TEXTS + _inp_texts() + [p.read_bytes().decode("utf-8")[:6000] for p in corpus]
    for text in (unicodedata.normalize("NFC", t) for t in texts):
        assert tok.encode(text, add_special_tokens=False).ids == ref.encode(text, add_special_tokens=False).ids, text[:40]


def test_qwen2_reads_no_nfc(qwen2) -> None:
    _, path = qwen2
    tok = load_tokenizer(path)
    assert tok.encode("e\u0301", add_special_tokens=False).ids != tok.encode("\u00e9", add_special_tokens=False).ids


TENSORS = {
    "token_embd.weight": ((5, 64), "Q8_0"),
    "blk.0.attn_q.weight": ((64, 64), "Q8_0"),
    "blk.0.ffn_up.weight": ((16, 256), "Q4_K"),
    "blk.0.attn_norm.weight": ((64,), "F32"),
    "output_norm.weight": ((64,), "F16"),
}


def test_info_of_a_model_file_matches_gguf_py(tmp_path, capsys) -> None:
    path = write_model_gguf(tmp_path / "tiny.gguf", TENSORS)
    assert main(["info", "-t", str(path), "--json", "--no-probe"]) == 0
    facts = json.loads(capsys.readouterr().out)["gguf"]
    reader = gguf.GGUFReader(str(path))
    assert facts["parameters"] == sum(int(t.n_elements) for t in reader.tensors) == 5 * 64 + 64 * 64 + 16 * 256 + 64 + 64
    assert facts["tensors"] == len(reader.tensors) == 5
    by_type: dict[str, list[int]] = {}
    for t in reader.tensors:
        by_type.setdefault(t.tensor_type.name, []).append(int(t.n_bytes))
    assert {k: (v["tensors"], v["bytes"]) for k, v in facts["quantization"].items()} == {k: (len(v), sum(v)) for k, v in by_type.items()}
    assert next(iter(facts["quantization"])) == "Q8_0"  # most bytes first
    assert facts["architecture"] == "llama" and facts["name"] == "tiny-test-model" and facts["license"] == "mit"
    assert facts["context_length"] == 2048 and facts["file_type"] == "Q8_0" and facts["file_size"] == path.stat().st_size
    assert facts["rope"] == {"dimension_count": 16, "freq_base": 10000.0}
    assert "<|{{ m.role }}|>" in facts["chat_template"]


def test_chat_template_from_gguf_renders_only_sandboxed(tmp_path) -> None:
    tok = load_tokenizer(write_model_gguf(tmp_path / "tiny.gguf", TENSORS))
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}]) == "<|user|>hi"
    tok.chat_template = "{{ ''.__class__.__mro__[1].__subclasses__() }}"  # CVE-2024-34359's shape
    with pytest.raises(InputError):
        tok.apply_chat_template([{"role": "user", "content": "hi"}])
