"""The Tokenizer contract's hooks (tokenizers/base.py) on GGUF tokenizers: what the analyses ask of any backend
(batch ids, round-trip verdicts, the unknown id, byte level, the normaliser, the byte table) answered as
llama.cpp's tokenizer behaves."""

from __future__ import annotations

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.tokenizers.roundtrip import IdBatch

RARE = "\U00013000"  # a character no vocabulary holds
PLAIN = ["Hello world", " leading", "  two  spaces ", "line\nbreak\ttab", "🎵 鸟 日本語の文", "ﬁne café naïve", RARE, "",
         "x = 12.0*50", "Don't stop.", "a\u0301", "def area(w, h):\n    return w * h\n", "a , b", "<s>x</s> [CLS]"]

# name → (byte level, the unknown id, a normaliser is declared)
VOCABS = {"gpt-2": (True, None, False), "starcoder": (True, None, False), "llama-spm": (False, 0, False),
          "phi-3": (False, 0, False), "bert-bge": (False, 100, True)}


@pytest.fixture(params=list(VOCABS), scope="module")
def case(request):
    return request.param, load_tokenizer(fixture(f"llama-cpp-vocab/ggml-vocab-{request.param}.gguf"))


def test_byte_level_unknown_id_and_normaliser(case) -> None:
    name, tok = case
    byte_level, unk, normaliser = VOCABS[name]
    assert tok.byte_level is byte_level
    assert tok.unknown_id == unk
    assert (tok.declared_normalizer is not None) is normaliser
    rare = tok.encode("a" + RARE + "b", add_special_tokens=False).ids
    # BERT's WordPiece gives the unknown token; Llama's SentencePiece falls back to bytes; byte-level cuts bytes
    assert (unk in rare) is (name == "bert-bge")


def test_batch_ids_mean_what_encode_means(case) -> None:
    _, tok = case
    assert tok.encode_ids_batch(PLAIN) == [tok.encode(t, add_special_tokens=False).ids for t in PLAIN]
    assert tok.encode_ids_batch(PLAIN, add_special_tokens=True) == [tok.encode(t).ids for t in PLAIN]
    typed = [f"a {s} b" for s in tok.special_tokens][:20]
    assert tok.encode_ids_batch(typed, split_special_tokens=True) == [
        tok.encode(t, add_special_tokens=False, split_special_tokens=True).ids for t in typed]


def test_round_trip_verdicts_are_decodings(case) -> None:
    _, tok = case
    corpus = fixture("corpus/udhr")
    texts = PLAIN + [(corpus / n).read_text(encoding="utf-8")[:3000] for n in ("eng.txt", "jpn.txt", "ara.txt")]
    ids = tok.encode_ids_batch(texts)
    assert tok.round_trips(IdBatch.of(texts, ids)) == [tok.decode(i) == t for i, t in zip(ids, texts)]


def test_byte_table_is_each_tokens_bytes(case) -> None:
    _, tok = case
    table = tok.byte_table()
    assert len(table) == tok.vocab_size
    if tok.byte_level:  # no clean-up of spaces needed in these: decoding is joining the bytes
        for text in ["Hello world", "🎵 鸟", "x = 12.0*50\n"]:
            ids = tok.encode(text, add_special_tokens=False).ids
            assert b"".join(table[i] for i in ids) == text.encode() == tok.decode(ids).encode()
