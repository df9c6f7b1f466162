"""The table of tokenizer file kinds (tokenizers/registry.py) is what a file, a folder and a Hub id are
resolved by: the same table answers all three, and a new kind of file is one row."""

from __future__ import annotations

import hashlib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from conftest import TOKENIZER_FIXTURES, fixture
from hub_cache import HUB_FILES, build_hub_cache
from tokenprism.errors import TokenizerFileError, TokenizerNotFound
from tokenprism.tokenizers import registry
from tokenprism.tokenizers.registry import TOKENIZER_FILE_KINDS, TokenizerFileKind, hub_patterns, load_local


def _link(folder: Path, name: str, rel: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(fixture(f"tokenizers/{rel}"))
    return folder / name


@pytest.mark.parametrize("rel, backend, model_type", [
    ("phi-3-mini", "hf", "BPE"),  # tokenizer.json and tokenizer.model: tokenizer.json comes first
    ("flan-t5", "hf", "Unigram"),  # tokenizer.json before spiece.model
    ("gpt2", "hf", "byte-level BPE"),  # vocab.json (+ merges.txt)
    ("bert-base-uncased", "hf", "WordPiece"),
    ("deberta-v3", "sentencepiece", "Unigram"),  # spm.model
    ("openai-tiktoken", "tiktoken", "tiktoken BPE"),  # *.tiktoken, first by name: cl100k_base
])
def test_folders_are_searched_in_table_order(rel, backend, model_type):
    tok = load_local(fixture(f"tokenizers/{rel}"), name=rel)
    assert (tok.backend, tok.model_type) == (backend, model_type)


def test_a_model_file_under_any_name_is_sentencepiece(tmp_path):
    _link(tmp_path / "odd", "my-tokenizer.model", "flan-t5/spiece.model")
    assert load_local(tmp_path / "odd", name="x").backend == "sentencepiece"
    assert load_local(tmp_path / "odd" / "my-tokenizer.model", name="x").backend == "sentencepiece"


def test_a_side_file_given_alone_loads_its_folder(tmp_path):
    """merges.txt and the settings files are read beside a tokenizer file; given alone, the folder is loaded."""
    _link(tmp_path / "gpt2", "vocab.json", "gpt2/vocab.json")
    merges = _link(tmp_path / "gpt2", "merges.txt", "gpt2/merges.txt")
    (tmp_path / "gpt2" / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    for given in (merges, tmp_path / "gpt2" / "tokenizer_config.json"):
        tok = load_local(given, name="gpt2")
        assert tok.model_type == "byte-level BPE" and tok.vocab_size == 50257


def test_other_names_by_their_ending(tmp_path):
    json_file = _link(tmp_path, "starcoder2-tokenizer.json", "phi-3-mini/tokenizer.json")
    assert load_local(json_file, name="x").model_type == "BPE"
    vocab = _link(tmp_path, "words.txt", "bert-base-cased/vocab.txt")
    assert load_local(vocab, name="x").model_type == "WordPiece"


def test_unknown_files_and_empty_folders_name_every_kind_in_the_table(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0")
    shown = [k.what for k in TOKENIZER_FILE_KINDS if k.what]
    with pytest.raises(TokenizerFileError, match="unknown tokenizer file type") as file_error:
        load_local(tmp_path / "weights.bin", name="x")
    with pytest.raises(TokenizerNotFound, match=r"holds no tokenizer file \(1 other entr(y|ies)\)") as folder_error:
        load_local(tmp_path, name="x")
    assert "weights.bin" not in str(folder_error.value)  # never a listing of the folder (errors reach web pages)
    for message in (str(file_error.value), str(folder_error.value)):
        assert all(what in message for what in shown)


def test_hub_downloads_the_tokenizer_kinds_and_nothing_else():
    patterns = hub_patterns()
    # every file the fixture Hub repos hold for their tokenizers is asked for …
    for files in HUB_FILES.values():
        for rel in files:
            assert any(fnmatchcase(Path(rel).name, p) for p in patterns), rel
    # … and neither model weights nor any .json/.txt/.model of a repo
    for other in ("model.safetensors", "pytorch_model.bin", "config.json", "README.txt", "model.onnx", "x.model", "x.gguf"):
        assert not any(fnmatchcase(other, p) for p in patterns), other


def test_available_offline_answers_from_the_caches(tmp_path, monkeypatch):
    """serve offers only what is on this machine: bundled, Hub cache (the table's files), tiktoken files."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(build_hub_cache(tmp_path / "hub", TOKENIZER_FIXTURES)))
    monkeypatch.delenv("TOKENPRISM_TIKTOKEN_DIR", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    assert registry.available_offline("prism-tiny")
    assert registry.available_offline("gpt2") and registry.available_offline("bert-base-uncased")
    assert not registry.available_offline("facebook/galactica-1.3b")
    assert not registry.available_offline("gpt-4")
    (tmp_path / "tiktoken").mkdir()
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    (tmp_path / "tiktoken" / hashlib.sha1(url.encode()).hexdigest()).symlink_to(fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken"))
    assert registry.available_offline("gpt-4") and not registry.available_offline("gpt-4o")
    monkeypatch.setenv("TOKENPRISM_TIKTOKEN_DIR", str(fixture("tokenizers/openai-tiktoken")))
    assert registry.available_offline("gpt-4o")


def test_a_new_kind_of_file_is_one_row(tmp_path, monkeypatch):
    """What the next backend (GGUF) does: a loader in its module and one row; files, folders, Hub
    patterns, error messages and spec parsing all follow from the row."""
    loaded: list[Path] = []

    def from_toy_file(path: Path, name: str):
        loaded.append(path)
        return load_local(fixture("tokenizers/gpt2"), name=name)

    row = TokenizerFileKind("*.toy", from_toy_file, "a .toy file", hub=False)
    monkeypatch.setattr(registry, "TOKENIZER_FILE_KINDS", registry.TOKENIZER_FILE_KINDS + (row,))
    (tmp_path / "vocab.toy").write_bytes(b"toy")
    assert load_local(tmp_path, name="t").vocab_size == 50257
    assert registry.load_tokenizer(str(tmp_path / "vocab.toy")).vocab_size == 50257
    assert loaded == [tmp_path / "vocab.toy"] * 2
    assert "*.toy" not in hub_patterns()
    (tmp_path / "vocab.toy.bak").write_bytes(b"")
    with pytest.raises(TokenizerFileError, match=r"or a \.toy file"):
        load_local(tmp_path / "vocab.toy.bak", name="t")
    with pytest.raises(TokenizerNotFound, match="not a local path"):
        registry.load_tokenizer("owner/missing.toy")  # a file name that is not here, not a Hub id
