"""Every id we show equals the reference library's id, for every real tokenizer in ../shared/fixtures."""

from __future__ import annotations

import json

import pytest

from conftest import TOKENIZER_FIXTURES, fixture
from tokenprism import load_tokenizer

# key in expected_test_text_tokenization.json → spec relative to fixtures/tokenizers
EXPECTED = {
    "bert-base-uncased (vocab.txt, WordPiece lowercase)": "bert-base-uncased",
    "bert-base-cased (vocab.txt, WordPiece cased)": "bert-base-cased",
    "gpt2 (vocab.json+merges.txt)": "gpt2",
    "flan-t5 / t5-small tokenizer.json": "flan-t5/tokenizer.json",
    "t5 spiece.model (sentencepiece, no </s>)": "flan-t5/spiece.model",
    "cl100k_base (tiktoken ranks=100256)": "openai-tiktoken/cl100k_base.tiktoken",
    "o200k_base (tiktoken ranks=199998)": "openai-tiktoken/o200k_base.tiktoken",
    "starcoder2 tokenizer.json": "starcoder2",
    "phi-3-mini tokenizer.json (add_special)": "phi-3-mini",
    "llama2/phi-3 tokenizer.model (sentencepiece)": "phi-3-mini/tokenizer.model",
    "qwen2 tokenizer.json.gz": "qwen2",
    "deberta-v3 spm.model (sentencepiece, no [CLS]/[SEP])": "deberta-v3",
}

# llama.cpp's HF-generated expectations (add_special_tokens=False) → our fixture tokenizer
LLAMA_CPP = [
    ("ggml-vocab-gpt-2", "gpt2"),
    ("ggml-vocab-phi-3", "phi-3-mini/tokenizer.json"),
    ("ggml-vocab-llama-spm", "phi-3-mini/tokenizer.json"),
    ("ggml-vocab-bert-bge", "bert-base-uncased"),
    ("ggml-vocab-starcoder", "starcoder2"),
]


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(fixture("tokenizers/expected_test_text_tokenization.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("key", list(EXPECTED))
def test_book_text_matches_reference(expected: dict, key: str) -> None:
    tok = load_tokenizer(fixture(f"tokenizers/{EXPECTED[key]}"))
    want = expected["results"][key]
    enc = tok.encode(expected["text"])
    assert enc.ids == want["ids"]
    assert enc.count == want["n_tokens"]
    assert tok.base_vocab_size == want["vocab_size"] or tok.vocab_size == want["vocab_size"]


def _llama_cases(name: str) -> list[tuple[str, list[int]]]:
    inp = fixture(f"llama-cpp-vocab/{name}.gguf.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    out = fixture(f"llama-cpp-vocab/{name}.gguf.out").read_text(encoding="utf-8").split("\n")
    return [(text, [int(x) for x in ids.split()]) for text, ids in zip(inp, out)]


@pytest.mark.parametrize("vocab,spec", LLAMA_CPP)
def test_llama_cpp_cases(vocab: str, spec: str) -> None:
    tok = load_tokenizer(fixture(f"tokenizers/{spec}"))
    cases = _llama_cases(vocab)
    assert len(cases) >= 47
    bad = [(text, want, tok.encode(text, add_special_tokens=False).ids) for text, want in cases if tok.encode(text, add_special_tokens=False).ids != want]
    assert not bad, f"{len(bad)} of {len(cases)} differ; first: {bad[0]!r}"


SAMPLES = [
    "Hello world",
    "  leading spaces and trailing  ",
    "emoji 🎵🎶 and CJK 鸟 and 👩‍👩‍👧",
    "code:\n\tif x == 1:\n\t\treturn None\r\n",
    "12.0*50=600 1234567890",
    "Ünïcödé naïve café",
    "<|endoftext|> typed in the text",
    "",
]


def _tiktoken_reference(path):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS
    import tiktoken_ext.openai_public as public

    ranks = load_tiktoken_bpe(str(path))
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *a, **k: ranks
    try:
        params = ENCODING_CONSTRUCTORS[path.stem]()
    finally:
        public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_tiktoken_against_tiktoken(name: str) -> None:
    path = fixture(f"tokenizers/openai-tiktoken/{name}.tiktoken")
    ref = _tiktoken_reference(path)
    tok = load_tokenizer(path)
    for text in SAMPLES:
        assert tok.encode(text).ids == ref.encode(text, allowed_special="all")
        assert tok.encode(text, split_special_tokens=True).ids == ref.encode(text, disallowed_special=())


@pytest.mark.parametrize("spec", ["flan-t5/spiece.model", "phi-3-mini/tokenizer.model", "deberta-v3/spm.model"])
def test_sentencepiece_against_sentencepiece(spec: str) -> None:
    import sentencepiece as spm

    path = fixture(f"tokenizers/{spec}")
    ref = spm.SentencePieceProcessor(model_file=str(path))
    tok = load_tokenizer(path)
    for text in SAMPLES:
        if "<" in text:
            continue  # special-token strings are parsed by us, split by sentencepiece
        assert tok.encode(text).ids == ref.encode(text)
        assert tok.decode(ref.encode(text)) == ref.decode(ref.encode(text))


def test_phi3_tokenizer_json_equals_its_sentencepiece_model() -> None:
    """transformers 5 rebuilds Llama-class tokenizers from its own class (Metaspace, prepend_scheme=first),
    which differs from tokenizer.json and sentencepiece on leading spaces; we follow the files, and the
    files agree with each other."""
    import sentencepiece as spm

    ref = spm.SentencePieceProcessor(model_file=str(fixture("tokenizers/phi-3-mini/tokenizer.model")))
    tok = load_tokenizer(fixture("tokenizers/phi-3-mini/tokenizer.json"))
    for text in SAMPLES:
        if "<" not in text:
            assert tok.encode(text).ids == ref.encode(text), text


@pytest.mark.parametrize("spec", ["starcoder2", "flan-t5/tokenizer.json", "qwen2"])
def test_tokenizer_json_against_transformers(spec: str) -> None:
    """tokenizer(text) of transformers' fast tokenizer over the same files gives the same ids."""
    transformers = pytest.importorskip("transformers")
    path = fixture(f"tokenizers/{spec}")
    tok = load_tokenizer(path)
    if spec == "qwen2":
        import gzip
        from tokenizers import Tokenizer as Raw

        raw = Raw.from_str(gzip.open(path / "tokenizer.json.gz", "rt", encoding="utf-8").read())
        ref = transformers.PreTrainedTokenizerFast(tokenizer_object=raw)
    elif path.is_file():
        ref = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
    else:
        ref = transformers.AutoTokenizer.from_pretrained(str(path))
    for text in SAMPLES:
        assert tok.encode(text).ids == ref(text)["input_ids"], text
        assert tok.encode(text, add_special_tokens=False).ids == ref(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("spec,lower", [("bert-base-uncased", True), ("bert-base-cased", False)])
def test_vocab_txt_against_transformers_bert(spec: str, lower: bool) -> None:
    transformers = pytest.importorskip("transformers")
    path = fixture(f"tokenizers/{spec}/vocab.txt")
    ref = transformers.BertTokenizer.from_pretrained(str(path.parent), do_lower_case=lower)
    tok = load_tokenizer(path.parent)
    for text in SAMPLES:
        assert tok.encode(text).ids == ref(text)["input_ids"], text
        assert tok.encode(text).offsets == [tuple(o) for o in ref(text, return_offsets_mapping=True)["offset_mapping"]]


def test_gpt2_files_against_transformers() -> None:
    transformers = pytest.importorskip("transformers")
    folder = fixture("tokenizers/gpt2")
    ref = transformers.GPT2Tokenizer.from_pretrained(str(folder))
    tok = load_tokenizer(folder)
    for text in SAMPLES:
        assert tok.encode(text).ids == ref(text)["input_ids"], text
        assert tok.decode(tok.encode(text).ids) == ref.decode(ref(text)["input_ids"])
