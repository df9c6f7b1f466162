"""The command line's rough edges a learner met (issue 19): exit codes and the texts people read.

Each test runs the real command (in-process through `tokenprism.cli.main`, or as a subprocess where the
environment or a signal matters) and checks what a learner sees; counts come from the reference libraries.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import REPO, fixture
from tokenprism.cli import main

PRISM = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"
needs_prism = pytest.mark.skipif(not (PRISM / "model.safetensors").is_file(), reason="the bundled prism-tiny model is not built yet")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def command(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`tokenprism ARGS` as a separate process (its own environment: offline, an empty Hub cache …)."""
    full = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tokenprism", *args], capture_output=True, text=True, env=full,
                          timeout=timeout)


@pytest.fixture
def offline_empty(tmp_path) -> dict[str, str]:
    """An environment in which no Hub id and no OpenAI encoding can be had: offline, empty caches."""
    (tmp_path / "hub").mkdir()
    (tmp_path / "tiktoken").mkdir()
    return {"HF_HUB_CACHE": str(tmp_path / "hub"), "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),
            "TOKENPRISM_TIKTOKEN_DIR": str(tmp_path / "tiktoken")}


# --- compare, serve -----------------------------------------------------------------------------------
def test_compare_that_compares_nothing_exits_2_with_the_reason(offline_empty) -> None:
    done = command("compare", "--preset", "book", "--no-properties", env=offline_empty)
    assert done.returncode == 2
    assert done.stdout.count("not available") == 8  # each row still says why
    assert done.stderr.startswith("error: nothing was compared: none of the 8 tokenizers could be loaded")
    assert "bert-base-uncased" in done.stderr and "HF_HUB_OFFLINE" in done.stderr
    assert done.stderr.count("\n") == 1


def test_compare_with_one_loadable_tokenizer_still_exits_0(offline_empty) -> None:
    done = command("compare", "-t", "prism-tiny", "-t", "gpt2", "--no-properties", env=offline_empty)
    assert done.returncode == 0, done.stderr
    assert "not available" in done.stdout


def test_serve_with_the_book_preset_keeps_only_what_loads(offline_empty) -> None:
    code = ("import json; from tokenprism.cli.serve import serve_specs; "
            "print(json.dumps(serve_specs(('prism-tiny', 'book'))))")
    full = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", **offline_empty}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    kept, left_out = json.loads(done.stdout)
    assert kept == ["prism-tiny"]
    assert set(left_out) == {"bert-base-uncased", "bert-base-cased", "gpt2", "google/flan-t5-small", "gpt-4",
                             "bigcode/starcoder2-15b", "facebook/galactica-1.3b", "microsoft/Phi-3-mini-4k-instruct"}
    assert "HF_HUB_OFFLINE" in left_out["facebook/galactica-1.3b"]


# --- short labels, info ---------------------------------------------------------------------------------
def test_labels_are_folder_names_and_the_path_is_in_info(capsys) -> None:
    gpt2, bert = str(fixture("tokenizers/gpt2")), str(fixture("tokenizers/bert-base-uncased"))
    code, out, _ = run(capsys, "compare", "-t", gpt2, "-t", bert, "Hello world")
    assert code == 0
    assert gpt2 not in out and bert not in out
    assert re.search(r"^gpt2  ", out, re.M) and re.search(r"^bert-base-uncased  ", out, re.M)
    table = out[out.index("detected properties"):]
    assert "gpt2" in table and "bert-base-uncased" in table
    code, out, _ = run(capsys, "info", "-t", gpt2)
    assert re.search(r"tokenizer\s+gpt2\s*$", out, re.M) and gpt2 in out  # short name; the full path as the source


def test_the_properties_table_fits_80_columns() -> None:
    gpt2, bert = str(fixture("tokenizers/gpt2")), str(fixture("tokenizers/bert-base-uncased"))
    done = command("compare", "-t", gpt2, "-t", bert, "Hello world", env={"COLUMNS": "80"})
    table = done.stdout[done.stdout.index("detected properties"):]
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "│ gpt2" in table or "┃ gpt2" in table


def test_info_says_each_fact_once(capsys) -> None:
    code, out, _ = run(capsys, "info", "-t", str(fixture("tokenizers/gpt2")))
    assert code == 0
    names = [line.split("  ")[0].strip() for line in out.splitlines() if line.strip() and not line.startswith("    ")]
    assert names.count("chat template") == 1 and "vocab" not in names and "algorithm" not in names
    assert "model type" in names and "vocab size" in names


# --- help examples match README ------------------------------------------------------------------------
def test_help_examples_agree_with_readme(capsys) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    _, out, _ = run(capsys, "explain", "--help")
    assert 'tokenprism explain "if __name__ =="' in out and '"if __name__ == "' not in out
    assert 'tokenprism explain "if __name__ =="' in readme
    _, out, _ = run(capsys, "compare", "--help")
    assert "tokenprism compare $'def f(x):\\n\\treturn x'" in out  # a shell that reads \n as a newline
    assert '"def f(x):\\n' not in out


# --- corpus, fim-transform, count -----------------------------------------------------------------------
def test_corpus_field_that_no_record_has_names_the_problem(tmp_path, capsys) -> None:
    data = tmp_path / "docs.jsonl"
    data.write_text('{"text": "hello world"}\n{"text": "more"}\n', encoding="utf-8")
    code, _, err = run(capsys, "corpus", str(data), "--field", "body", "-t", "prism-tiny")
    assert code == 2
    assert str(data) in err and "'body'" in err and "'text'" in err and "--field" in err
    assert "empty" not in err


def test_fim_transform_names_the_file_and_line_of_a_sentinel(tmp_path, capsys) -> None:
    data = tmp_path / "docs.jsonl"
    data.write_text('{"text": "fine"}\n\n{"text": "a <PRE> b"}\n', encoding="utf-8")
    code, _, err = run(capsys, "fim-transform", str(data), "-o", str(tmp_path / "out.txt"),
                       "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>")
    assert code == 2 and f"{data}:3:" in err and "'<PRE>'" in err
    text = tmp_path / "notes.txt"
    text.write_text("one\ntwo\nthree <MID> here\n", encoding="utf-8")
    code, _, err = run(capsys, "fim-transform", str(text), "-o", str(tmp_path / "out2.txt"),
                       "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>")
    assert code == 2 and f"{text}:3:" in err and "document" not in err


def test_count_names_skipped_binary_files_and_totals_the_characters(tmp_path, capsys) -> None:
    from tokenizers import Tokenizer

    (tmp_path / "a.txt").write_text("hello world\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("def f(x):\n    return x\n", encoding="utf-8")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01binary")
    code, out, _ = run(capsys, "count", str(tmp_path))
    assert code == 0
    total = next(line for line in out.splitlines() if "total" in line)
    reference = Tokenizer.from_file(str(PRISM / "tokenizer.json"))
    texts = ["hello world\n", "def f(x):\n    return x\n"]
    tokens, chars = (int(n.replace(",", "")) for n in total.split()[:2])
    assert tokens == sum(len(reference.encode(t, add_special_tokens=False).ids) for t in texts)
    assert chars == sum(len(t) for t in texts)
    assert "skipped 1 binary file: " in out and "blob.bin" in out


# --- wording ------------------------------------------------------------------------------------------
def test_one_token_is_singular(capsys) -> None:
    code, out, _ = run(capsys, "tokenize", "a")
    assert code == 0 and " 1 token · " in out and "1 tokens" not in out


@needs_prism
def test_one_new_token_is_singular(capsys) -> None:
    code, out, _ = run(capsys, "generate", "def f(x):", "-n", "1")
    assert code == 0 and "1 new token ·" in out and "1 new tokens" not in out


@needs_prism
def test_infill_output_does_not_start_with_a_blank_line(capsys) -> None:
    code, out, _ = run(capsys, "infill", "--prefix", "def add(a, b):\n    ", "--suffix", "\n", "-n", "2")
    assert code == 0 and out.startswith("1 · the prompt the model reads")


@needs_prism
def test_explain_has_a_legend_and_says_the_pick_is_greedy(capsys) -> None:
    code, out, _ = run(capsys, "explain", "def add(a, b):\n\treturn", "-n", "2")
    assert code == 0
    assert "· is a space, → a tab, ↵ a newline" in out
    assert "greedy: it always takes the most likely one" in out
    assert "in bits" in out and "1 bit = a coin toss between two" in out
    assert "trained only on Python source" not in out  # the prompt is code


def test_ctrl_c_says_interrupted_once_and_no_aborted() -> None:
    """A real SIGINT to `tokenprism generate --stream` after it printed a few tokens."""
    pytest.importorskip("torch")
    fake = str(fixture("models/fake-gpt2-random-tiny"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "tokenprism", "generate", "Hello", "-m", fake, "-n", "1000",
                             "--temperature", "1", "--seed", "3", "--stream"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdout.read(12)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted (Ctrl-C); kept what was generated" in err
    assert "aborted" not in err.lower() and "Traceback" not in err


# --- token boundaries without colour --------------------------------------------------------------------
def test_token_boundaries_show_without_colour() -> None:
    from tokenizers import Tokenizer

    text = "aaaa bbbb aaaa"
    labels = [t.replace("Ġ", "·").replace("▁", "·") for t in Tokenizer.from_file(str(PRISM / "tokenizer.json")).encode(text).tokens]
    piped = command("tokenize", text)  # not a terminal: no colour at all
    assert piped.stdout.splitlines()[1] == "▏".join(labels)
    no_colour = command("tokenize", text, env={"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm-256color"})
    assert "▏".join(labels) in re.sub(r"\x1b\[[0-9;]*m", "", no_colour.stdout)
    sixteen = command("tokenize", text, env={"FORCE_COLOR": "1", "TERM": "xterm", "COLORTERM": ""})
    line = sixteen.stdout.splitlines()[1]
    assert "▏" not in line and line.count("\x1b[4") + line.count(";4m") + line.count(";4;") >= len(labels) // 2
    full = command("tokenize", text, env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLORTERM": "truecolor"})
    backgrounds = re.findall(r"48;2;(\d+;\d+;\d+)", full.stdout.splitlines()[1])
    assert len(backgrounds) == len(labels) and all(a != b for a, b in zip(backgrounds, backgrounds[1:]))


# --- embeddings -----------------------------------------------------------------------------------------
def test_embed_layer_0_is_described_as_the_embedding_layer(capsys) -> None:
    pytest.importorskip("torch")
    code, out, _ = run(capsys, "embed", "--help")
    assert "0 = the embedding layer's output" in out and "input embeddings" not in out
    code, out, _ = run(capsys, "embed", "Hello world", "--layer", "0")
    assert code == 0
    assert "layer 0 is the embedding layer's output" in out and "position" in out and "LayerNorm" in out
    assert "shape [1, 4, 384] = batch 1 (texts) × tokens 4 × dimensions 384" in out


def test_similar_plot_shows_both_matrices(tmp_path, capsys) -> None:
    pytest.importorskip("torch")
    plot = tmp_path / "bank.html"
    code, _, err = run(capsys, "similar", "bank", "-c", "money in the bank", "-c", "the river bank", "--plot", str(plot))
    assert code == 0, err
    page = plot.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "contextual (layer 6)" in page and "static (the embedding table" in page


# --- the bundled model says what it is ------------------------------------------------------------------
@needs_prism
@pytest.mark.parametrize("verb", ["explain", "generate"])
def test_prism_tiny_says_once_it_only_read_python(verb, capsys) -> None:
    code, out, err = run(capsys, verb, "The capital of France is", "-n", "2")
    assert code == 0
    said = (out + err).count("trained only on Python source")
    assert said == 1 and "-m gpt2" in out + err
    code, out, err = run(capsys, verb, "def add(a, b):", "-n", "2")
    assert "trained only on Python source" not in out + err


def test_looks_like_code_is_the_documented_rule() -> None:
    from tokenprism.cli._live import looks_like_code

    code = ["def add(a, b):", "if __name__ ==", "import ", "x = 1", "for i in range(10):", "# a comment", "@property",
            "class A", "print"]
    prose = ["The capital of France is", "Hello, how are you?", "Write a short apology email to Sarah.",
             "Note: this is prose", "What is a token?"]
    assert all(looks_like_code(t) for t in code)
    assert not any(looks_like_code(t) for t in prose)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "when the prompt does not look like code" in readme
