"""The tokenizer commands as a user runs them: exit codes, one-line errors, the JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fixture
from tokenprism.cli import main


def run(args: list[str], capsys, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def gpt2() -> str:
    return str(fixture("tokenizers/gpt2"))


def test_tokenize_json_schema(gpt2: str, capsys) -> None:
    code, out, _ = run(["tokenize", "Hello 🎵", "-t", gpt2, "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert {"tokenizer", "text", "count", "ids", "tokens", "lossless"} <= data.keys()
    assert data["ids"] == [15496, 12520, 236, 113]
    assert {"id", "piece", "text", "start", "end", "special"} <= data["tokens"][0].keys()
    assert data["tokens"][1]["fragment"] is True


def test_tokenize_display_and_ids_only(gpt2: str, capsys) -> None:
    code, out, _ = run(["tokenize", "Hello world", "-t", gpt2], capsys)
    assert code == 0 and "Hello" in out and "·world" in out and "15496" in out
    code, out, _ = run(["tokenize", "Hello world", "-t", gpt2, "--ids-only"], capsys)
    assert out.strip() == "15496 995"


def test_special_token_flags(capsys) -> None:
    bert = str(fixture("tokenizers/bert-base-uncased"))
    _, out, _ = run(["tokenize", "hi [SEP] x", "-t", bert, "--ids-only"], capsys)
    assert out.split() == ["101", "7632", "102", "1060", "102"]
    _, out, _ = run(["tokenize", "hi", "-t", bert, "--ids-only", "--no-special-tokens"], capsys)
    assert out.split() == ["7632"]
    _, out, _ = run(["tokenize", "hi [SEP]", "-t", bert, "--ids-only", "--split-special-tokens"], capsys)
    assert "102" in out.split()[:-1] or out.split().count("102") == 1


def test_parsed_special_token_is_flagged_visibly(capsys) -> None:
    phi = str(fixture("tokenizers/phi-3-mini"))
    _, out, _ = run(["tokenize", "<|user|>hi", "-t", phi], capsys)
    assert "parsed from your text" in out


def test_stdin_and_file(gpt2: str, capsys, monkeypatch, tmp_path: Path) -> None:
    code, out, _ = run(["tokenize", "-", "-t", gpt2, "--ids-only"], capsys, stdin=b"Hello world", monkeypatch=monkeypatch)
    assert out.strip() == "15496 995"
    path = tmp_path / "t.txt"
    path.write_bytes(b"Hello world")
    _, out, _ = run(["tokenize", "--file", str(path), "-t", gpt2, "--ids-only"], capsys)
    assert out.strip() == "15496 995"


def test_invalid_utf8_names_offset_and_replace_goes_on(gpt2: str, capsys, tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"abc\xffdef")
    code, out, err = run(["tokenize", "--file", str(path), "-t", gpt2], capsys)
    assert code == 2 and "byte offset 3" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(["tokenize", "--file", str(path), "-t", gpt2, "--errors", "replace", "--json"], capsys)
    assert code == 0 and json.loads(out)["text"] == "abc\ufffddef"


def test_decode(capsys) -> None:
    phi3 = str(fixture("tokenizers/phi-3-mini"))
    code, out, _ = run(["decode", "3323", "622", "-t", phi3, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and [t["label"] for t in data["tokens"]] == [" Sub", "ject"] and data["text"] == "Subject"


@pytest.mark.parametrize("bad", ["-1", "50257", "abc", "1.5"])
def test_decode_bad_id_exit_2(gpt2: str, capsys, bad: str) -> None:
    code, _, err = run(["decode", "5", bad, "-t", gpt2], capsys)
    assert code == 2 and bad in err and len(err.strip().splitlines()) == 1


def test_count_skips_binary_and_respects_gitignore(gpt2: str, capsys, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("ignored/\n*.log\n")
    (tmp_path / "a.txt").write_text("Hello world")
    (tmp_path / "b.log").write_text("Hello world")
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "c.txt").write_text("Hello world")
    (tmp_path / "img.bin").write_bytes(b"\x89PNG\x00\x00")
    code, out, _ = run(["count", str(tmp_path), "-t", gpt2, "--json"], capsys)
    data = json.loads(out)
    files = sorted(Path(f["path"]).name for f in data["files"])
    assert code == 0 and ".gitignore" in files and "a.txt" in files and "b.log" not in files and "c.txt" not in files
    assert data["skipped_binary"] and data["total"] == sum(f["tokens"] for f in data["files"])


def test_count_missing_path(gpt2: str, capsys) -> None:
    code, _, err = run(["count", "/no/such/path", "-t", gpt2], capsys)
    assert code == 2


def test_info(capsys) -> None:
    code, out, _ = run(["info", "-t", str(fixture("tokenizers/bert-base-uncased")), "--json", "--no-probe"], capsys)
    data = json.loads(out)
    assert code == 0 and data["vocab_size"] == 30522 and data["model_type"] == "WordPiece"
    assert any("lowercases" in note for note in data["inferred"])
    assert {"token": "[CLS]", "id": 101, "role": "cls"} in data["special_tokens"]


def test_unknown_tokenizer_is_one_line_exit_2(capsys) -> None:
    code, _, err = run(["tokenize", "x", "-t", "nope/does-not-exist"], capsys)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_console_script_and_debug_flag(gpt2: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tokenprism", "decode", "-1", "-t", gpt2], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "tokenprism", "--debug", "decode", "x", "-t", gpt2], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_help_everywhere() -> None:
    for cmd in ([], ["tokenize"], ["decode"], ["count"], ["info"]):
        proc = subprocess.run([sys.executable, "-m", "tokenprism", *cmd, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "Usage" in proc.stdout


# --- tokenize without click (cli/_fast.py) ------------------------------------------------------
def test_fast_path_reads_the_options_the_click_command_declares() -> None:
    """The fast parser's table is the click command's: same option strings, names, flags and defaults."""
    import click

    from tokenprism.cli._fast import TOKENIZE_DEFAULTS, TOKENIZE_OPTIONS
    from tokenprism.cli.tokens import tokenize

    declared = {opt: (p.name, not p.is_flag) for p in tokenize.params if isinstance(p, click.Option) for opt in p.opts}
    assert declared == TOKENIZE_OPTIONS
    parsed = tokenize.make_context("tokenize", ["some text"]).params  # what click fills in when nothing is given
    assert parsed == {**TOKENIZE_DEFAULTS, "text": "some text"}
    choices = next(p for p in tokenize.params if p.name == "errors").type.choices
    assert tuple(choices) == ("strict", "replace")


@pytest.mark.parametrize("args", [
    ["Hello 🎵 world", "--json"],
    ["--ids-only", "Hello", "--no-special-tokens"],
    ["<|endoftext|> is special", "--split-special-tokens", "--json"],
    ["--file=FILE", "--errors", "replace", "--json"],
    ["-f", "FILE", "--ids-only"],
    ["Hello"],
    ["--file", "missing.txt"],
    ["--file", "FILE", "also text"],
])
def test_fast_path_gives_what_click_gives(args: list[str], gpt2: str, capsys, tmp_path: Path) -> None:
    from tokenprism.cli import guarded
    from tokenprism.cli._app import click_main
    from tokenprism.cli._fast import fast_command

    (tmp_path / "in.txt").write_bytes(b"caf\xe9 au lait\n")
    args = ["tokenize", *(a.replace("FILE", str(tmp_path / "in.txt")) for a in args), "-t", gpt2]
    assert fast_command(args) is not None
    fast = (main(args), *capsys.readouterr())
    slow = (guarded(lambda: click_main(args), debug=False), *capsys.readouterr())
    assert fast == slow


@pytest.mark.parametrize("rest", [["--help"], ["-h"], ["--jsn", "x"], ["x", "--json", "--json"], ["--", "-x"],
                                  ["-tgpt2", "x"], ["x", "--errors", "loose"], ["x", "-t"], ["--json=yes", "x"], ["a", "b"]])
def test_anything_unusual_goes_to_click(rest: list[str]) -> None:
    from tokenprism.cli._fast import fast_command

    assert fast_command(["tokenize", *rest]) is None
    assert fast_command(["--debug", "tokenize", "x"]) is None and fast_command(["count", "x"]) is None


def test_tokenize_does_not_import_click(gpt2: str) -> None:
    script = (
        "import sys; from tokenprism.cli import main\n"
        f"code = main(['tokenize', 'Hello', '-t', {gpt2!r}, '--json'])\n"
        "assert 'click' not in sys.modules, 'click was imported'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ids"] == [15496]
