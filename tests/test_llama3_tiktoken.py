"""tiktoken ranks files recognised by what they hold: Meta's Llama-3 ``original/tokenizer.model`` (base64
rank lines under a SentencePiece name), read with Llama-3's split pattern and its 256 special tokens, as
Meta's tokenizer.py reads it; a clear error where a ranks file's pattern cannot be known.

No Llama-3 file is at hand (Meta's licence): the tests build one from cl100k's ranks, padded to Llama-3's
128,000 with tokens no text reaches, and compare with tiktoken given Llama-3's pattern.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.errors import TokenizerFileError, UsageError
from tokenprism.tokenizers.tik_files import LLAMA3_PATTERN, LLAMA3_RANKS, is_ranks_file, llama3_special_tokens

tiktoken = pytest.importorskip("tiktoken")
from tiktoken.load import load_tiktoken_bpe  # noqa: E402 - after the skip

TEXTS = ["Hello world", " Hello world", "I've been 'told he's there, 'RE you sure?", "3333333 3.3 3...3",
         "\n \n\n \n\n\n \t \t\t \t\n  \n   \n", "🚀 (normal) 😶\u200d🌫️ ✅ 🦙🦙", "нещо на Български ----=======",
         "<|begin_of_text|> in the text <|eot_id|>", "  leading spaces\r\n\r\ntrailing   "]


def _llama_cpp_strings() -> list[str]:
    path = fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf.inp")
    return path.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")


@pytest.fixture(scope="module")
def cl100k() -> Path:
    return fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken")


def _llama3_ranks(cl100k: Path, out: Path) -> Path:
    """cl100k's 100,256 ranks, then unreachable tokens up to rank 127,999: a ranks file of Llama-3's size."""
    lines = cl100k.read_bytes().splitlines()
    pad = [base64.b64encode(b"\x00\x00" + i.to_bytes(3, "big")) + b" %d" % (len(lines) + i)
           for i in range(LLAMA3_RANKS - len(lines))]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"\n".join(lines + pad) + b"\n")
    return out


@pytest.fixture(scope="module")
def meta_folder(cl100k: Path, tmp_path_factory) -> Path:
    """A Llama-3 checkpoint folder as Meta ships it: original/tokenizer.model and params.json."""
    root = tmp_path_factory.mktemp("llama3") / "original"
    _llama3_ranks(cl100k, root / "tokenizer.model")
    (root / "params.json").write_text(json.dumps({"dim": 4096, "n_layers": 32, "vocab_size": 128256}))
    return root


def _reference(ranks_file: Path, specials: dict[str, int]):
    return tiktoken.Encoding(name="llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=load_tiktoken_bpe(str(ranks_file)),
                             special_tokens=specials)


def test_a_ranks_file_named_tokenizer_model_is_read_as_ranks(meta_folder: Path) -> None:
    path = meta_folder / "tokenizer.model"
    assert is_ranks_file(path) and not is_ranks_file(fixture("tokenizers/flan-t5/spiece.model"))
    tok = load_tokenizer(str(path))
    assert tok.backend == "tiktoken" and tok.vocab_size == 128256 and tok.base_vocab_size == LLAMA3_RANKS
    assert tok.special_tokens["<|begin_of_text|>"] == 128000 and tok.special_tokens["<|eot_id|>"] == 128009
    assert len(tok.special_tokens) == 256 and tok.roles == {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>"}
    assert any("Llama-3's split pattern" in note and "params.json" in note for note in tok.info().inferred)
    assert load_tokenizer(str(meta_folder)).backend == "tiktoken"  # the folder, found by its tokenizer.model


def test_llama3_ids_equal_tiktoken_with_llama3s_pattern(meta_folder: Path) -> None:
    path = meta_folder / "tokenizer.model"
    tok, ref = load_tokenizer(str(path)), _reference(path, llama3_special_tokens())
    for text in TEXTS + _llama_cpp_strings():
        plain = ref.encode(text, allowed_special="all")
        assert tok.encode(text, add_special_tokens=False).ids == plain, text
        assert tok.encode(text).ids == [128000] + plain, text  # <|begin_of_text|> first, as Llama-3's tokenizer.json
        assert tok.encode(text, split_special_tokens=True, add_special_tokens=False).ids == ref.encode(text, disallowed_special=())
        assert tok.decode(tok.encode(text, add_special_tokens=False).ids) == text
    assert tok.encode_ids_batch(TEXTS) == [ref.encode(t, allowed_special="all") for t in TEXTS]
    assert tok.encode_ids_batch(TEXTS, add_special_tokens=True)[0][0] == 128000


def test_a_tokenizer_config_above_original_gives_the_names_and_template(cl100k: Path, tmp_path: Path) -> None:
    """Llama 3.1's repo: tokenizer_config.json at the root names the reserved slots it renamed."""
    path = _llama3_ranks(cl100k, tmp_path / "original" / "tokenizer.model")
    added = {str(128000 + i): {"content": name, "special": True} for name, i in
             [("<|begin_of_text|>", 0), ("<|end_of_text|>", 1), ("<|finetune_right_pad_id|>", 4), ("<|eom_id|>", 8),
              ("<|eot_id|>", 9), ("<|python_tag|>", 10)]}
    config = {"added_tokens_decoder": added, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
              "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}<|eot_id|>{% endfor %}"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    tok = load_tokenizer(str(path))
    assert tok.special_tokens["<|python_tag|>"] == 128010 and tok.special_tokens["<|finetune_right_pad_id|>"] == 128004
    assert tok.roles["eos"] == "<|eot_id|>" and tok.chat_template is not None
    assert tok.encode("hi <|python_tag|>").ids == [128000, 6151, 220, 128010]


def test_no_bos_when_the_config_says_so(meta_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "original"
    shutil.copytree(meta_folder, folder)
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<|begin_of_text|>", "add_bos_token": False}))
    assert load_tokenizer(str(folder / "tokenizer.model")).encode("Hello world").ids == [9906, 1917]


def test_a_ranks_file_of_unknown_pattern_is_a_clear_error(cl100k: Path, tmp_path: Path) -> None:
    """cl100k's ranks under another name, nothing beside: the pattern cannot be known."""
    for name in ("tokenizer.model", "mine.tiktoken"):
        path = tmp_path / name
        shutil.copy(cl100k, path)
        with pytest.raises(TokenizerFileError, match=r"split pattern cannot be known.*pattern=REGEX"):
            load_tokenizer(str(path))
    proc = subprocess.run([sys.executable, "-m", "tokenprism", "tokenize", "hi", "-t", str(tmp_path / "mine.tiktoken")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "pattern" in proc.stderr


def test_the_pattern_option_and_the_side_file(cl100k: Path, tmp_path: Path) -> None:
    path = tmp_path / "a" / "tokenizer.model"
    path.parent.mkdir()
    shutil.copy(cl100k, path)
    tok = load_tokenizer(str(path), pattern=LLAMA3_PATTERN)
    ref = _reference(path, {})
    for text in TEXTS:
        assert tok.encode(text).ids == ref.encode(text, disallowed_special=()), text
    assert any("pattern option" in note for note in tok.info().inferred)
    side = tmp_path / "b" / "mine.tiktoken"
    side.parent.mkdir()
    shutil.copy(cl100k, side)
    (side.parent / "tokenizer_config.json").write_text(json.dumps({"pattern": r"\S+|\s+"}))
    assert [len(x) for x in load_tokenizer(str(side)).encode("ab  cd").pieces] == [2, 2, 2]
    with pytest.raises(UsageError, match="pattern"):
        load_tokenizer(str(fixture("tokenizers/flan-t5/spiece.model")), pattern=r"\S+")


def test_sentencepiece_tokenizer_model_still_loads_as_sentencepiece() -> None:
    tok = load_tokenizer(str(fixture("tokenizers/phi-3-mini/tokenizer.model")))
    assert tok.backend == "sentencepiece"


@pytest.mark.slow
def test_plain_ids_equal_transformers_conversion(cl100k: Path, tmp_path: Path) -> None:
    """transformers reads a ranks file through its TikTokenConverter, with Llama-3's pattern."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path / "original"
    folder.mkdir()
    shutil.copy(cl100k, folder / "tokenizer.model")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))
    ref = transformers.AutoTokenizer.from_pretrained(str(folder))
    tok = load_tokenizer(str(folder / "tokenizer.model"), pattern=LLAMA3_PATTERN)
    for text in TEXTS + _llama_cpp_strings():
        assert tok.encode(text, split_special_tokens=True).ids == ref(text, add_special_tokens=False)["input_ids"], text
