"""detect_properties() on every fixture tokenizer: what each is known to do (the issue's examples,
and each tokenizer's documented behaviour), found by probing, never from its name."""

from __future__ import annotations

import shutil

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.properties import Properties, detect_properties

# fixture (relative to fixtures/tokenizers) → properties it must show
EXPECTED = {
    "bert-base-uncased": dict(algorithm="WordPiece", lowercase=True, strips_accents=True, normalization="NFD", keeps_newlines=False,
                              keeps_tabs=False, unknown_chars="unk token", byte_level=False, prefix_space=False),
    "bert-base-cased": dict(algorithm="WordPiece", lowercase=False, strips_accents=False, keeps_newlines=False,
                            unknown_chars="unk token", normalization="none"),
    "gpt2": dict(algorithm="byte-level BPE", byte_level=True, lowercase=False, keeps_newlines=True, keeps_tabs=True,
                 keeps_space_runs=True, merges_spaces=False, unknown_chars="byte-level", prefix_space=False,
                 normalization="none"),
    "flan-t5/tokenizer.json": dict(algorithm="Unigram", keeps_newlines=False, keeps_space_runs=False,
                                   unknown_chars="unk token", normalization="NFKC", prefix_space=True, lowercase=False),
    "flan-t5/spiece.model": dict(algorithm="Unigram", keeps_newlines=False, unknown_chars="unk token",
                                 normalization="NFKC", prefix_space=True),
    "openai-tiktoken/cl100k_base.tiktoken": dict(algorithm="tiktoken BPE", byte_level=True, merges_spaces=True,
                                                 keeps_newlines=True, digits="grouped up to 3", unknown_chars="byte-level"),
    "openai-tiktoken/o200k_base.tiktoken": dict(algorithm="tiktoken BPE", merges_spaces=True, digits="grouped up to 3"),
    "starcoder2": dict(algorithm="byte-level BPE", digits="single", merges_spaces=True, keeps_tabs=True,
                       fim={"prefix": "<fim_prefix>", "middle": "<fim_middle>", "suffix": "<fim_suffix>", "pad": "<fim_pad>"}),
    "phi-3-mini": dict(algorithm="BPE", unknown_chars="byte fallback", digits="single", chat_template=True,
                       max_length=4096, prefix_space=True, keeps_newlines=True, byte_level=False),
    "phi-3-mini/tokenizer.model": dict(algorithm="BPE", unknown_chars="byte fallback", digits="single", prefix_space=True),
    "qwen2": dict(algorithm="byte-level BPE", normalization="NFC", digits="single", unknown_chars="byte-level"),
    "deberta-v3": dict(algorithm="Unigram", normalization="NFKC", keeps_newlines=False, prefix_space=True),
}


@pytest.fixture(scope="module", params=list(EXPECTED))
def case(request) -> tuple[str, Properties]:
    rel = request.param
    return rel, detect_properties(load_tokenizer(str(fixture(f"tokenizers/{rel}"))))


def test_properties_of_each_fixture(case):
    rel, props = case
    got = {k: getattr(props, k) for k in EXPECTED[rel]}
    assert got == EXPECTED[rel]


def test_special_token_roles_and_chat_tokens():
    bert = detect_properties(load_tokenizer(str(fixture("tokenizers/bert-base-uncased"))))
    assert bert.roles["unk"] == "[UNK]" and bert.roles["cls"] == "[CLS]" and bert.roles["mask"] == "[MASK]"
    t5 = detect_properties(load_tokenizer(str(fixture("tokenizers/flan-t5/tokenizer.json"))))
    assert t5.roles["unk"] == "<unk>"  # declared by the Unigram model, no config beside the file
    phi = detect_properties(load_tokenizer(str(fixture("tokenizers/phi-3-mini"))))
    assert {"<|user|>", "<|assistant|>", "<|system|>", "<|end|>"} <= set(phi.chat_tokens)
    assert phi.fim == {}


def test_to_dict_has_the_issue_keys(case):
    _, props = case
    data = props.to_dict()
    assert {"algorithm", "byte_level", "lowercase", "strips_accents", "normalization", "keeps_newlines",
            "merges_spaces", "digits", "unknown_chars", "prefix_space", "max_length", "chat_template", "fim"} <= set(data)


def test_found_by_probing_not_by_name(tmp_path):
    """The same files under a misleading name give the same answers; a trained lowercasing
    tokenizer is seen to lowercase."""
    from tokenprism.train import train_tokenizer

    disguised = tmp_path / "gpt2-definitely-not-bert"
    shutil.copytree(fixture("tokenizers/bert-base-uncased"), disguised)
    assert detect_properties(load_tokenizer(str(disguised))).lowercase is True
    corpus = ["The Quick Brown Fox jumps over the lazy dog. 12345 67890"] * 50
    trained = train_tokenizer(corpus, texts=True, algorithm="wordpiece", vocab_size=200, lowercase=True,
                              output=tmp_path / "lower", min_frequency=1)
    props = detect_properties(trained.tokenizer)
    assert props.lowercase is True and props.algorithm == "WordPiece" and props.keeps_newlines is False
    cased = train_tokenizer(corpus, texts=True, algorithm="byte-bpe", vocab_size=300, output=tmp_path / "cased", min_frequency=1)
    props = detect_properties(cased.tokenizer)
    assert props.lowercase is False and props.byte_level is True and props.unknown_chars == "byte-level"
