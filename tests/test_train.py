"""train_tokenizer(): every algorithm writes a folder load_tokenizer reads; a tokenizer trained on
code keeps an indentation run as one token where one trained on English does not (seen via compare)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tokenprism import load_tokenizer
from tokenprism.comparison import compare
from tokenprism.errors import InputError, UsageError
from tokenprism.train import ALGORITHMS, train_tokenizer

INDENTED = "def area(width, height):\n        return width * height\n"
RUN = " " * 7  # GPT-2's pattern puts all but the last space of an indentation run in one pre-token


def _code(folder: Path) -> Path:
    folder.mkdir()
    rng = random.Random(1)
    names = ["total", "count", "value", "item", "index", "result", "width", "height"]
    lines = []
    for i in range(200):
        a, b = rng.sample(names, 2)
        lines.append(f"def f{i}({a}, {b}):\n    if {a} > {b}:\n        return {a} - {b}\n"
                     f"    for x in range({b}):\n        {a} += x\n    return {a} * {b}\n\n")
    (folder / "code.py").write_text("".join(lines), encoding="utf-8")
    return folder


def _english(folder: Path) -> Path:
    folder.mkdir()
    rng = random.Random(2)
    words = "the a river city people walked slowly through quiet streets and talked about old books music weather".split()
    sentences = [" ".join(rng.choice(words) for _ in range(12)).capitalize() + "." for _ in range(1500)]
    (folder / "english.txt").write_text(" ".join(sentences), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train")
    return _code(root / "code"), _english(root / "english")


def _run_tokens(enc, start: int, end: int) -> list[str]:
    return [t.text for t in enc.tokens if t.start < end and t.end > start]


def test_code_tokenizer_keeps_indentation_as_one_token(corpora, tmp_path):
    code, english = corpora
    code_tok = train_tokenizer([code], algorithm="byte-bpe", vocab_size=400, output=tmp_path / "code-tok")
    english_tok = train_tokenizer([english], algorithm="byte-bpe", vocab_size=400, output=tmp_path / "en-tok")
    cmp = compare(INDENTED, [str(code_tok.output), str(english_tok.output)])
    start = INDENTED.index(RUN)
    code_row, english_row = cmp.rows
    assert len(_run_tokens(code_row.encoding, start, start + len(RUN))) == 1  # e.g. "\n       "
    assert len(_run_tokens(english_row.encoding, start, start + len(RUN))) > 1
    assert any(d.start <= start and d.end >= start + len(RUN) for d in cmp.disagreements)
    assert code_row.lossless and english_row.lossless


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_writes_a_loadable_folder(corpora, tmp_path, algorithm):
    code, english = corpora
    result = train_tokenizer([code, english], algorithm=algorithm, vocab_size=300, output=tmp_path / algorithm,
                             special_tokens=["<extra>"], show_merges=5)
    assert (result.output / "tokenizer.json").is_file()
    config = json.loads((result.output / "tokenizer_config.json").read_text())
    tok = load_tokenizer(str(result.output))
    assert tok.vocab_size == result.vocab_size <= 300 + 10
    assert "<extra>" in tok.special_tokens and "<extra>" in config["additional_special_tokens"]
    enc = tok.encode("return width * height", add_special_tokens=False)
    assert enc.count > 0
    if algorithm in ("bpe", "byte-bpe"):
        assert len(result.merges) == 5
        # the first merge joins two pieces into a piece the vocab holds
        left, right = result.merges[0]
        assert tok.piece_to_id(left + right) is not None
    else:
        assert result.merges == []


def test_wordpiece_frames_with_cls_sep_and_lowercases(corpora, tmp_path):
    _, english = corpora
    result = train_tokenizer([english], algorithm="wordpiece", vocab_size=300, lowercase=True, output=tmp_path / "wp")
    enc = result.tokenizer.encode("The River")
    assert enc.pieces[0] == "[CLS]" and enc.pieces[-1] == "[SEP]"
    assert enc.pieces[1:-1] == result.tokenizer.encode("the river").pieces[1:-1]


def test_bad_input(tmp_path, corpora):
    code, _ = corpora
    with pytest.raises(UsageError):
        train_tokenizer([code], algorithm="sentencepiece", vocab_size=100, output=tmp_path / "x")
    with pytest.raises(UsageError):
        train_tokenizer([code], vocab_size=0, output=tmp_path / "x")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "nothing.txt").write_text("")
    with pytest.raises(InputError, match="empty"):
        train_tokenizer([empty], vocab_size=100, output=tmp_path / "y")
    with pytest.raises(InputError, match="no such file"):
        train_tokenizer([tmp_path / "missing"], vocab_size=100, output=tmp_path / "z")
