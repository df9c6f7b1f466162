"""compare(): counts and ids equal the reference libraries called directly (and the fixture's
expected tokenization); the book preset resolves through a real Hugging Face cache layout; a
tokenizer that cannot be had gets an error row; disagreements mark where the cuts differ."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from conftest import TOKENIZER_FIXTURES, fixture
from hub_cache import HUB_FILES, build_hub_cache, hub_env
from tokenprism.comparison import BOOK_TEXT, PRESETS, Comparison, compare, find_disagreements

EXPECTED_KEYS = {"tokenizer", "count", "ids", "tokens", "chars_per_token", "bytes_per_token", "unknown", "lossless"}


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(fixture("tokenizers/expected_test_text_tokenization.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    """HF cache (in its own layout) + offline + the tiktoken ranks folder, set for this module."""
    fixture("tokenizers/gpt2/vocab.json")
    import huggingface_hub.constants as hf_constants

    cache = build_hub_cache(tmp_path_factory.mktemp("hf-cache"), TOKENIZER_FIXTURES)
    env = hub_env(cache, TOKENIZER_FIXTURES)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # huggingface_hub reads HF_HUB_CACHE once at import; point the already-imported constant there too
    old_cache = hf_constants.HF_HUB_CACHE
    hf_constants.HF_HUB_CACHE = str(cache)
    yield cache
    hf_constants.HF_HUB_CACHE = old_cache
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def book(hub) -> Comparison:
    return compare(preset="book")


def test_book_text_is_the_lesson_text(expected):
    assert BOOK_TEXT == expected["text"]


def test_book_preset_resolves_through_the_cache_and_galactica_says_why(book):
    fixture("tokenizers/starcoder2/tokenizer.json")  # a book row (not vendored: OpenRAIL-M)
    assert [r.tokenizer for r in book.rows] == list(PRESETS["book"])
    failed = {r.tokenizer: r.error for r in book.rows if not r.ok}
    assert list(failed) == ["facebook/galactica-1.3b"]
    assert "not in the Hugging Face cache" in failed["facebook/galactica-1.3b"]
    for row in book.rows:
        if row.ok and row.tokenizer != "gpt-4":
            assert "snapshots" in row.tok.source  # came out of the cache, not a local path


# Hub id in the preset → (key in the expected file, reference encoder built straight from the library)
def _hf_file(rel: str):
    from tokenizers import Tokenizer

    return lambda text: Tokenizer.from_file(str(fixture(f"tokenizers/{rel}"))).encode(text).ids


def _bert(rel: str, lowercase: bool):
    from tokenizers import BertWordPieceTokenizer

    return lambda text: BertWordPieceTokenizer(str(TOKENIZER_FIXTURES / rel), lowercase=lowercase).encode(text).ids


def _gpt2(text: str) -> list[int]:
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer(str(TOKENIZER_FIXTURES / "gpt2/vocab.json"), str(TOKENIZER_FIXTURES / "gpt2/merges.txt"))
    return tok.encode(text).ids


REFERENCES = {
    "bert-base-uncased": ("bert-base-uncased (vocab.txt, WordPiece lowercase)", _bert("bert-base-uncased/vocab.txt", True)),
    "bert-base-cased": ("bert-base-cased (vocab.txt, WordPiece cased)", _bert("bert-base-cased/vocab.txt", False)),
    "gpt2": ("gpt2 (vocab.json+merges.txt)", _gpt2),
    "google/flan-t5-small": ("flan-t5 / t5-small tokenizer.json", _hf_file("flan-t5/tokenizer.json")),
    "bigcode/starcoder2-15b": ("starcoder2 tokenizer.json", _hf_file("starcoder2/tokenizer.json")),
    "microsoft/Phi-3-mini-4k-instruct": ("phi-3-mini tokenizer.json (add_special)", _hf_file("phi-3-mini/tokenizer.json")),
}


@pytest.mark.parametrize("spec", list(REFERENCES))
def test_hub_rows_equal_tokenizers_library_and_expected_file(book, expected, spec):
    fixture(f"tokenizers/{HUB_FILES[spec][0]}")  # the repo's files (StarCoder2's are not vendored)
    key, reference = REFERENCES[spec]
    row = next(r for r in book.rows if r.tokenizer == spec)
    assert row.encoding.ids == reference(BOOK_TEXT)
    assert row.encoding.ids == expected["results"][key]["ids"]
    assert row.count == expected["results"][key]["n_tokens"]


def test_gpt4_row_equals_tiktoken_itself(book, expected, tmp_path, monkeypatch):
    """tiktoken's own get_encoding, fed the ranks file through its own cache (keyed by the URL's sha1)."""
    import tiktoken
    import tiktoken.registry

    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).symlink_to(TOKENIZER_FIXTURES / "openai-tiktoken/cl100k_base.tiktoken")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    reference = tiktoken.get_encoding("cl100k_base").encode(BOOK_TEXT)
    row = next(r for r in book.rows if r.tokenizer == "gpt-4")
    assert row.encoding.ids == reference == expected["results"]["cl100k_base (tiktoken ranks=100256)"]["ids"]


@pytest.mark.parametrize(
    "rel, key",
    [
        ("flan-t5/spiece.model", "t5 spiece.model (sentencepiece, no </s>)"),
        ("phi-3-mini/tokenizer.model", "llama2/phi-3 tokenizer.model (sentencepiece)"),
        ("deberta-v3/spm.model", "deberta-v3 spm.model (sentencepiece, no [CLS]/[SEP])"),
    ],
)
def test_sentencepiece_files_equal_sentencepiece_library(expected, rel, key):
    import sentencepiece as spm

    path = fixture(f"tokenizers/{rel}")
    row = compare(BOOK_TEXT, [str(path)]).rows[0]
    reference = spm.SentencePieceProcessor(model_file=str(path)).encode(BOOK_TEXT)
    assert row.encoding.ids == reference
    assert row.encoding.ids == expected["results"][key]["ids"]


def test_qwen2_gz_equals_tokenizers_library(expected):
    import gzip

    from tokenizers import Tokenizer

    path = fixture("tokenizers/qwen2/tokenizer.json.gz")
    reference = Tokenizer.from_str(gzip.open(path, "rt", encoding="utf-8").read()).encode(BOOK_TEXT).ids
    row = compare(BOOK_TEXT, [str(path)]).rows[0]
    assert row.encoding.ids == reference == expected["results"]["qwen2 tokenizer.json.gz"]["ids"]


def test_unknown_counts_match_the_unk_ids_of_the_reference(book, expected):
    fixture("tokenizers/starcoder2/tokenizer.json")  # a book row (not vendored: OpenRAIL-M)
    rows = {r.tokenizer: r for r in book.rows}
    # [UNK] is line 100 of BERT's vocab.txt; <unk> is id 2 of T5; byte-level ones have none
    vocab = (TOKENIZER_FIXTURES / "bert-base-uncased/vocab.txt").read_text(encoding="utf-8").split("\n")
    unk = vocab.index("[UNK]")
    assert rows["bert-base-uncased"].unknown == expected["results"]["bert-base-uncased (vocab.txt, WordPiece lowercase)"]["ids"].count(unk) == 2
    assert rows["google/flan-t5-small"].unknown == expected["results"]["flan-t5 / t5-small tokenizer.json"]["ids"].count(2) == 2
    for spec in ("gpt2", "gpt-4", "bigcode/starcoder2-15b", "microsoft/Phi-3-mini-4k-instruct"):
        assert rows[spec].unknown == 0


def test_typed_unk_string_is_not_unknown(hub):
    row = compare("hello [UNK] world", ["bert-base-uncased"]).rows[0]
    assert row.unknown == 0
    assert compare("hello 🎵 world", ["bert-base-uncased"]).rows[0].unknown == 1


def test_ratios_and_lossless(book):
    nbytes = len(BOOK_TEXT.encode("utf-8"))
    for row in (r for r in book.rows if r.ok):
        text_tokens = row.count - len(row.encoding.added)
        assert row.chars_per_token == pytest.approx(len(BOOK_TEXT) / text_tokens)
        assert row.bytes_per_token == pytest.approx(nbytes / text_tokens)
        decoded = row.tok.decode([t for i, t in enumerate(row.encoding.ids) if i not in row.encoding.added])
        assert row.lossless == (decoded == BOOK_TEXT)
    rows = {r.tokenizer: r for r in book.rows}
    assert rows["gpt2"].lossless and rows["gpt-4"].lossless
    assert not rows["bert-base-uncased"].lossless and not rows["google/flan-t5-small"].lossless


def test_to_dict_has_the_issue_shape(book):
    data = json.loads(json.dumps(book.to_dict(), ensure_ascii=False))
    assert data["text"] == BOOK_TEXT
    for item in data["rows"]:
        if "error" in item:
            assert set(item) == {"tokenizer", "error"}
        else:
            assert set(item) == EXPECTED_KEYS
            assert item["count"] == len(item["ids"]) == len(item["tokens"])
    assert data["disagreements"] and {"start", "end", "text", "tokens"} <= set(data["disagreements"][0])


def _cuts(enc) -> set[int]:
    """Positions a tokenizer cuts at, straight from its offsets (no token spans across them)."""
    spans = [(s, e) for s, e in enc.offsets if e > s]
    inside = {p for s, e in spans for p in range(s + 1, e)}
    return {p for s, e in spans for p in (s, e)} - inside


def _covered(enc) -> set[int]:
    return {c for s, e in enc.offsets for c in range(s, e)}


def test_disagreements_are_exactly_where_cuts_differ(book):
    fixture("tokenizers/starcoder2/tokenizer.json")  # a book row (not vendored: OpenRAIL-M)
    encs = {r.tokenizer: r.encoding for r in book.rows if r.ok}
    disputed = set()
    for p in range(1, len(BOOK_TEXT)):
        votes = {p in _cuts(e) for e in encs.values() if {p - 1, p} <= _covered(e)}
        if votes == {True, False}:
            disputed.add(p)
    spans = [(d.start, d.end) for d in book.disagreements]
    assert all(any(s < p < e for s, e in spans) for p in disputed)  # every disputed cut is inside a span
    assert all(any(s < p < e for p in disputed) for s, e in spans)  # every span holds a disputed cut
    capital = next(d for d in book.disagreements if "CAPITAL" in d.text)
    assert capital.tokens["gpt2"] == [" CAP", "ITAL"] and capital.tokens["gpt-4"] == [" CAPITAL"]
    digits = next(d for d in book.disagreements if d.text == "600")
    assert digits.tokens["bigcode/starcoder2-15b"] == ["6", "0", "0"] and digits.tokens["gpt2"] == ["600"]


def test_same_tokenizer_twice_has_no_disagreements(hub):
    a = compare(BOOK_TEXT, ["gpt2"]).rows[0].encoding
    assert find_disagreements({"a": a, "b": a}) == []


def test_a_tokenizer_that_cannot_be_had_does_not_stop_the_others(tmp_path):
    rows = compare("hello", [str(fixture("tokenizers/gpt2")), str(tmp_path / "missing"), "no-such-org/no-such-repo"]).rows
    assert rows[0].ok and rows[0].count == 1
    assert not rows[1].ok and rows[1].error
    assert not rows[2].ok and "no-such-org/no-such-repo" in rows[2].error


def test_add_special_tokens_default_matches_tokenize(hub):
    with_specials = compare("hi", ["bert-base-uncased"]).rows[0]
    without = compare("hi", ["bert-base-uncased"], add_special_tokens=False).rows[0]
    assert with_specials.encoding.pieces == ["[CLS]", "hi", "[SEP]"] and without.encoding.pieces == ["hi"]


def test_html_is_escaped_and_self_contained(hub):
    html = compare('<script>alert("x")</script>', ["gpt2", "bert-base-uncased", "nope/nope"])._repr_html_()
    assert "<script" not in html and "&lt;" in html and "not available" in html
    assert "http" not in html
