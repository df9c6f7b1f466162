"""Issue 14's small fixes: every role of a special token in `info`, whitespace grouping probed on long
runs, ids are ASCII integers (CLI and library), and `decode` takes a bare id as transformers' does."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import PRISM_TINY, fixture
from tokenprism import load_tokenizer
from tokenprism.cli import main
from tokenprism.errors import InvalidTokenId
from tokenprism.properties import detect_properties


def test_info_gives_every_role_of_a_special_token(capsys) -> None:
    info = load_tokenizer("prism-tiny").info()
    assert info.roles_of("<|endoftext|>") == ["bos", "eos", "unk"]
    assert main(["info", "-t", "prism-tiny", "--json", "--no-probe"]) == 0
    specials = {s["token"]: s["role"] for s in json.loads(capsys.readouterr().out)["special_tokens"]}
    assert specials["<|endoftext|>"] == "bos, eos, unk"
    assert main(["info", "-t", "prism-tiny", "--no-probe"]) == 0
    assert "<|endoftext|>=0 (bos, eos, unk)" in capsys.readouterr().out


def _four_space_bpe(folder):
    """A byte-level BPE whose longest space token holds 4 spaces, as a small one trained on indented code."""
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    from tokenprism.tokenizers.base import bytes_to_unicode

    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    vocab.update({"ĠĠ": 256, "ĠĠĠĠ": 257})
    raw = RawTokenizer(models.BPE(vocab, [("Ġ", "Ġ"), ("ĠĠ", "ĠĠ")]))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    folder.mkdir()
    raw.save(str(folder / "tokenizer.json"))
    return load_tokenizer(str(folder))


def test_space_runs_are_probed_long_enough(tmp_path) -> None:
    """8 spaces are 2 tokens, yet 'a' + 8 spaces + 'b' is 'a', 4, 2, 1, ' ', 'b' (the regex keeps the
    last space for the word): over a run of 8 this looked like 'one by one'. Not over 16."""
    tok = _four_space_bpe(tmp_path / "tok")
    assert len(tok.encode(" " * 8, add_special_tokens=False).ids) == 2
    assert len(tok.encode("a" + " " * 8 + "b", add_special_tokens=False).ids) == 6
    props = detect_properties(tok)
    assert props.merges_spaces and props.summary()["spaces"] == "merged", props.evidence
    gpt2 = detect_properties(load_tokenizer(str(fixture("tokenizers/gpt2"))))
    assert not gpt2.merges_spaces and gpt2.summary()["spaces"] == "one by one"  # GPT-2 has no space-run tokens


@pytest.mark.parametrize("bad", ["٣", "²", "３", "1_000", "0x10", "+-5"])
def test_decode_takes_only_ascii_integer_ids(bad: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tokenprism", "decode", bad, "-t", "prism-tiny"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "invalid token id" in proc.stderr
    with pytest.raises(InvalidTokenId):
        load_tokenizer("prism-tiny").decode_tokens([bad])


def test_decode_takes_ascii_ids_with_signs_and_spaces(capsys) -> None:
    assert main(["decode", "+33", "34", "-t", "prism-tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ids"] == [33, 34]
    assert load_tokenizer("prism-tiny").decode_tokens([" 33 "]).ids == [33]


@pytest.mark.parametrize("spec", ["prism-tiny", "tokenizers/flan-t5/spiece.model",
                                  "tokenizers/openai-tiktoken/cl100k_base.tiktoken", "llama-cpp-vocab/ggml-vocab-gpt-2.gguf"])
def test_decode_takes_a_bare_id(spec: str) -> None:
    """transformers' decode(3323) works; so does every backend's, and decode_tokens'."""
    tok = load_tokenizer(spec if spec == "prism-tiny" else str(fixture(spec)))
    assert tok.decode(33) == tok.decode([33]) == tok.decode(np.int64(33))
    assert tok.decode(33, skip_special_tokens=True) == tok.decode([33])
    assert tok.decode_tokens(33).ids == [33]


def test_decode_of_a_bare_id_matches_transformers() -> None:
    transformers = pytest.importorskip("transformers")
    ref = transformers.AutoTokenizer.from_pretrained(str(PRISM_TINY))
    assert load_tokenizer("prism-tiny").decode(300) == ref.decode(300)
