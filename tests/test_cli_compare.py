"""The compare, corpus and train-tokenizer commands: the preset resolved through a real HF cache
layout in a fresh process, JSON/CSV/plot output, and bad input → one line, exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import FIXTURES, TOKENIZER_FIXTURES, fixture
from hub_cache import build_hub_cache, hub_env
from tokenprism.cli import main
from tokenprism.comparison import BOOK_TEXT, PRESETS

GPT2 = str(TOKENIZER_FIXTURES / "gpt2")
BERT = str(TOKENIZER_FIXTURES / "bert-base-uncased")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    fixture("tokenizers/gpt2/vocab.json")
    cache = build_hub_cache(tmp_path_factory.mktemp("hf-cache"), TOKENIZER_FIXTURES)
    return {**os.environ, **hub_env(cache, TOKENIZER_FIXTURES), "COLUMNS": "200"}


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from tokenprism.cli import main; sys.exit(main())", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, input=stdin, timeout=300)


def test_preset_book_json_in_a_fresh_process(env):
    fixture("tokenizers/starcoder2/tokenizer.json")  # a book row (not vendored: OpenRAIL-M)
    out = _cli(["compare", "--preset", "book", "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["text"] == BOOK_TEXT
    assert [r["tokenizer"] for r in data["rows"]] == list(PRESETS["book"])
    errors = {r["tokenizer"]: r["error"] for r in data["rows"] if "error" in r}
    assert list(errors) == ["facebook/galactica-1.3b"] and "Hugging Face cache" in errors["facebook/galactica-1.3b"]
    expected = json.loads((TOKENIZER_FIXTURES / "expected_test_text_tokenization.json").read_text(encoding="utf-8"))
    counts = {r["tokenizer"]: r["count"] for r in data["rows"] if "count" in r}
    assert counts["gpt2"] == expected["results"]["gpt2 (vocab.json+merges.txt)"]["n_tokens"]
    assert counts["gpt-4"] == expected["results"]["cl100k_base (tiktoken ranks=100256)"]["n_tokens"]
    assert data["properties"]["bigcode/starcoder2-15b"]["digits"] == "single"
    assert data["disagreements"]


def test_terminal_view_has_rows_disagreements_and_properties(capsys):
    assert main(["compare", "-t", GPT2, "-t", BERT, "-t", "no-such-org/no-such-repo"]) == 0
    out = capsys.readouterr().out
    assert "51 tokens" in out and "41 tokens" in out and "not available" in out
    assert "cut the text differently" in out and "detected properties" in out and "lowercase" in out


def test_text_from_stdin_and_file(env, tmp_path):
    out = _cli(["compare", "-", "-t", GPT2, "--json", "--no-properties"], env, stdin="hello world")
    assert json.loads(out.stdout)["rows"][0]["count"] == 2
    path = tmp_path / "t.txt"
    path.write_text("hello world", encoding="utf-8")
    assert main(["compare", "--file", str(path), "-t", GPT2, "--json"]) == 0


def test_compare_bad_input_exit_2(capsys):
    assert main(["compare", "hi"]) == 2
    assert "no tokenizers" in capsys.readouterr().err
    assert main(["compare", "--preset", "nope"]) == 2


def test_corpus_json_csv_plot(tmp_path, capsys):
    root = tmp_path / "c"
    (root / "en").mkdir(parents=True)
    (root / "en" / "eng.txt").write_bytes((FIXTURES / "corpus/udhr/eng.txt").read_bytes())  # a link out of the folder is not followed
    (root / "code").mkdir()
    (root / "code" / "a.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    (root / "code" / "blob.bin").write_bytes(b"\x00\x01\x02")
    assert main(["corpus", str(root), "-t", GPT2, "-t", BERT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {(r["tokenizer"], r["group"]) for r in data["rows"]} == {
        (t, g) for t in (GPT2, BERT) for g in ("code", "en", "(all)")
    }
    assert data["read"]["skipped"][0]["reason"].startswith("binary")
    assert main(["corpus", str(root), "-t", GPT2, "--csv", "--plot", str(tmp_path / "bpt.svg")]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("tokenizer,group") and len(csv_lines) == 4
    assert (tmp_path / "bpt.svg").read_text().lstrip().startswith("<?xml")
    assert main(["corpus", str(root), "-t", GPT2]) == 0
    assert "B/tok" in capsys.readouterr().out


def test_corpus_bad_input_exit_2(tmp_path, capsys):
    assert main(["corpus", str(tmp_path / "missing"), "-t", GPT2]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty.txt").write_text("")
    assert main(["corpus", str(tmp_path), "-t", GPT2]) == 2
    assert "corpus is empty" in capsys.readouterr().err
    assert main(["corpus", str(tmp_path), "-t", GPT2, "--plot", str(tmp_path / "x.gif")]) == 2


def test_train_then_compare(tmp_path, capsys):
    corpus = tmp_path / "code.py"
    corpus.write_text("".join(f"def f{i}(a):\n        return a + {i}\n" for i in range(300)), encoding="utf-8")
    out_dir = tmp_path / "tok"
    assert main(["train-tokenizer", str(corpus), "--algorithm", "byte-bpe", "--vocab-size", "300", "-o", str(out_dir),
                 "--show-merges", "3"]) == 0
    shown = capsys.readouterr().out
    assert "trained a byte-bpe tokenizer" in shown and "   1. " in shown
    assert main(["compare", "        return a", "-t", str(out_dir), "-t", GPT2, "--json", "--no-properties"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["count"] < rows[1]["count"]
    assert main(["train-tokenizer", str(corpus), "--vocab-size", "0", "-o", str(tmp_path / "bad")]) == 2
