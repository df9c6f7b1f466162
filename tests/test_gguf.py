"""GGUF tokenizers give llama.cpp's ids: every case of llama.cpp's own vocab test files (the .inp strings and
the .out ids its test-tokenizer-0 checks), and llama.cpp's round-trip properties (test-tokenizer-1-*)."""

from __future__ import annotations

import json

import pytest

from conftest import fixture
from tokenprism.errors import TokenizerFileError
from tokenprism.tokenizers.gguf import GGUFTokenizer, _clean_spaces

VOCABS = ["bert-bge", "gpt-2", "llama-spm", "phi-3", "starcoder"]
_SEP = "\n__ggml_vocab_test__\n"


def load(name: str) -> GGUFTokenizer:
    return GGUFTokenizer(fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf"))


def cases(name: str) -> list[tuple[str, list[int]]]:
    """The test strings and ids, split as llama.cpp's test-tokenizer-0 splits them (exact bytes; a
    separator at the very end starts no further case)."""
    raw = fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf.inp").read_bytes().decode("utf-8")
    texts, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(_SEP, pos)
        texts.append(raw[pos:] if nxt < 0 else raw[pos:nxt])
        if nxt < 0:
            break
        pos = nxt + len(_SEP)
    lines = fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf.out").read_bytes().decode("utf-8").split("\n")
    assert len(lines) >= len(texts)
    return [(text, [int(x) for x in line.split()]) for text, line in zip(texts, lines)]


@pytest.mark.parametrize("name", VOCABS)
def test_every_llama_cpp_case(name: str) -> None:
    tok, all_cases = load(name), cases(name)
    assert len(all_cases) == 46
    for split in (True, False):  # llama.cpp's test parses no control tokens; none is typed in these texts
        bad = [(text, want, got) for text, want in all_cases
               if (got := tok.encode(text, add_special_tokens=False, split_special_tokens=split).ids) != want]
        assert not bad, f"{len(bad)} of {len(all_cases)} differ; first: {bad[0]!r}"


@pytest.mark.parametrize("name", ["gpt-2", "starcoder", "llama-spm", "phi-3"])
def test_token_pieces_tokenize_back(name: str) -> None:
    """llama.cpp's test-tokenizer-1: a token's text, tokenized and decoded again, gives the same text."""
    tok = load(name)
    bad = []
    for tid in range(0, tok.vocab_size, 7):
        text = tok.decode([tid])
        if tok.is_special(tid) or "\ufffd" in text:
            continue
        again = tok.decode(tok.encode(text, add_special_tokens=False, split_special_tokens=True).ids)
        if again != text:
            bad.append((tid, text, again))
    assert not bad, f"{len(bad)} tokens do not come back; first: {bad[:3]!r}"


@pytest.mark.parametrize("name", ["gpt-2", "llama-spm"])
def test_code_points_round_trip(name: str) -> None:
    """llama.cpp's test-tokenizer-1: each code point, tokenized and decoded, comes back (▁ aside)."""
    tok = load(name)
    bad = []
    for cpt in [*range(1, 0x3000, 3), *range(0x3000, 0x110000, 997)]:
        if 0xD800 <= cpt < 0xE000 or cpt == 0x2581:
            continue
        text = chr(cpt)
        got = tok.decode(tok.encode(text, add_special_tokens=False, split_special_tokens=True).ids)
        if got != text:
            bad.append((hex(cpt), got))
    assert not bad, f"{len(bad)} code points do not come back; first: {bad[:5]!r}"


def test_special_tokens_are_parsed_unless_split() -> None:
    tok = load("starcoder")
    parsed = tok.encode("<fim_prefix>def f", add_special_tokens=False).ids
    assert parsed[0] == tok.piece_to_id("<fim_prefix>") and tok.is_special(parsed[0])
    split = tok.encode("<fim_prefix>def f", add_special_tokens=False, split_special_tokens=True).ids
    assert tok.piece_to_id("<fim_prefix>") not in split


def test_added_tokens_and_offsets() -> None:
    spm = load("llama-spm")
    enc = spm.encode("Hello world")
    assert enc.ids[0] == 1 and enc.added == {0}  # add_bos_token
    assert [t.text for t in enc.tokens] == ["", "Hello", " world"]
    bert = load("bert-bge")
    enc = bert.encode("Hello, World!")
    assert enc.ids[0] == 101 and enc.ids[-1] == 102  # [CLS] … [SEP]
    assert [t.text for t in enc.tokens][1:-1] == ["Hello", ",", "World", "!"]


def test_decode_is_llama_cpps_detokenize() -> None:
    spm = load("llama-spm")
    ids = spm.encode("Hello world").ids
    assert spm.decode(ids) == "<s> Hello world"  # llama.cpp strips the prefix space only from the first token
    assert spm.decode(ids[1:]) == "Hello world"
    assert spm.decode(ids, skip_special_tokens=True) == " Hello world"
    gpt2 = load("gpt-2")
    assert gpt2.decode(gpt2.encode("Hello , world !").ids) == "Hello, world!"  # clean_spaces, as llama.cpp


@pytest.mark.parametrize(
    "raw,clean",
    [(b"a , b .", b"a, b."), (b"x ' y", b"x'y"), (b"it 's I 'm we 're you 've", b"it's I'm we're you've"),
     (b"don 't he 'll", b"don 't he 'll"), (b"x ' ' y", b"x'' y"), (b"", b"")],
)
def test_clean_spaces_as_llama_cpp(raw: bytes, clean: bytes) -> None:
    assert _clean_spaces(raw) == clean


def test_not_a_gguf_file(tmp_path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(TokenizerFileError, match="not a GGUF file"):
        GGUFTokenizer(path)


@pytest.mark.parametrize("name", VOCABS)
def test_info_json_shows_the_model_file(name: str, capsys) -> None:
    from tokenprism.cli import main

    path = fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf")
    assert main(["info", "-t", str(path), "--json", "--no-probe"]) == 0
    data = json.loads(capsys.readouterr().out)
    facts = data["gguf"]
    assert data["backend"] == "gguf" and data["vocab_size"] == load(name).vocab_size
    assert {"architecture", "parameters", "tensors", "quantization", "context_length", "rope", "file_size", "name",
            "license", "file_type", "chat_template", "tokenizer"} <= facts.keys()
    assert facts["file_size"] == path.stat().st_size and facts["tensors"] == 0 and facts["parameters"] == 0  # vocab only
    assert facts["context_length"] > 0 and facts["tokenizer"]["tokens"] == data["vocab_size"]
    assert (facts["chat_template"] is not None) == (name == "phi-3") == data["chat_template"]


def test_any_gguf_path_is_a_tokenizer_spec(capsys) -> None:
    """`-t model.gguf` everywhere: the registry's *.gguf row."""
    from tokenprism import load_tokenizer
    from tokenprism.cli import main

    path = fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf")
    assert load_tokenizer(str(path)).backend == "gguf"
    assert main(["tokenize", "Hello world", "-t", str(path), "--ids-only"]) == 0
    assert capsys.readouterr().out.split() == ["15496", "995"]


def test_sentencepiece_merges_cut_where_no_token_spans() -> None:
    """SPM merges over the whole text; cutting it where no token holds the two characters side by side
    (and remembering the stretches) gives the same ids."""
    tok = load("llama-spm")
    text = (" " + fixture("corpus/udhr/eng.txt").read_bytes().decode("utf-8")[:4000]).replace(" ", "\u2581")
    assert tok._algorithm.tokenize(text) == tok._algorithm._chunk(text)


def test_llama_spm_equals_sentencepiece_on_a_book() -> None:
    """llama.cpp's SPM and sentencepiece agree on Llama 2's vocabulary over real prose."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(fixture("tokenizers/phi-3-mini/tokenizer.model")))
    books = sorted(fixture("corpus/english").glob("*.txt"))[:1]
    text = books[0].read_bytes().decode("utf-8")[:200_000]
    assert load("llama-spm").encode_ids_batch([text])[0] == sp.encode(text)


def test_bpe_short_and_long_word_merges_agree() -> None:
    from tokenprism.tokenizers.gguf_algos import merge_pairs

    bpe = load("gpt-2")._algorithm
    for word in ["=" * 100, "ab" * 60, "1234567890" * 10, "Ġthe" * 30, "x" * 49]:
        symbols = list(word)
        assert bpe._merge_short(list(symbols)) == merge_pairs(list(symbols), bpe._rank), word[:12]
