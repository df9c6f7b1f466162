"""Issue 16, outputs: whole or clearly partial. Files are written under a partial name and renamed on
success; a failed or interrupted run leaves nothing (an older output untouched) and says so; shard
folders are replaced whole; standard output is flushed under our control (a full disk is one line and
exit 2, a closed pipe the usual quiet exit). Every case runs the real command in a subprocess."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import fixture

SENTINELS = "<PRE>,<SUF>,<MID>,<EOT>"


def cli(*args: str, stdout: object = subprocess.PIPE, limit_file_bytes: int | None = None, timeout: float = 300,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:  # a "disk" that is full after `limit_file_bytes`: writes past it fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run([sys.executable, "-m", "tokenprism", *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=cwd,
                          preexec_fn=limit if limit_file_bytes is not None else None)


def assert_error(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr[-2000:]
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), done.stderr
    for word in words:
        assert word in line, line
    return line


def no_partials(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".partial" in p.name or p.name.endswith(".old")]


def write_corpus(folder: Path, *, files: int, lines: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = ["def", "return", "value", "(", ")", ":", "print", "alpha", "beta", "if", "else", "for", "in", "range", "x", "y"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        body = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(lines))
        (folder / f"f{i:03d}.py").write_text(body + "\n", encoding="utf-8")
    return folder


# --- fim-transform --------------------------------------------------------------------------------
def test_a_run_that_fails_validation_leaves_the_old_output_untouched(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "in", files=3, lines=50)
    (corpus / "f001.py").write_text("x = '<PRE>'  # a sentinel in the data\n", encoding="utf-8")
    for name in ("out.jsonl", "out.txt"):
        out = tmp_path / name
        out.write_text("the previous, whole output\n", encoding="utf-8")
        done = cli("fim-transform", str(corpus), "-o", str(out), "--sentinels", SENTINELS)
        assert_error(done, f"nothing was written to {out}")
        assert out.read_text(encoding="utf-8") == "the previous, whole output\n"
    assert no_partials(tmp_path)


def test_ctrl_c_leaves_no_output_that_looks_whole(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "in", files=12, lines=20_000)  # ~20 MB: tens of seconds of encoding
    out = tmp_path / "fim.jsonl"
    partial = tmp_path / "fim.partial.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "tokenprism", "fim-transform", str(corpus), "-o", str(out), "-t", "prism-tiny",
                             "--level", "context", "--context-length", "256"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 120
        while not (partial.exists() and partial.stat().st_size > 0):
            assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.stderr.read()[-500:]}"
            assert time.monotonic() < deadline, "no partial output appeared within 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"nothing was written to {out}" in err
    assert not out.exists() and no_partials(tmp_path)


def test_a_shard_folder_is_replaced_whole(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "in", files=3, lines=200)
    shards = tmp_path / "ids"
    args = ["fim-transform", str(corpus), "-o", str(shards), "-t", "prism-tiny", "--json"]
    first = cli(*args, "--shard-tokens", "500")
    assert first.returncode == 0, first.stderr
    assert len(list(shards.glob("shard-*.npy"))) > 3
    second = cli(*args, "--shard-tokens", "100000000", "--seed", "7")
    assert second.returncode == 0, second.stderr
    meta = json.loads((shards / "meta.json").read_text())
    assert sorted(p.name for p in shards.iterdir()) == ["meta.json", "shard-00000.npy"]
    assert meta["seed"] == 7 and [s["file"] for s in meta["shards"]] == ["shard-00000.npy"]
    assert no_partials(tmp_path)


def test_a_folder_holding_other_files_is_never_replaced(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "in", files=1, lines=20)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert_error(cli("fim-transform", str(corpus), "-o", str(mine), "-t", "prism-tiny"), "holds other files")
    assert (mine / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["out.jsonl", "shards"])
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path, name: str) -> None:
    corpus = write_corpus(tmp_path / "in", files=4, lines=3000)
    out = tmp_path / name
    done = cli("fim-transform", str(corpus), "-o", str(out), "-t", "prism-tiny", limit_file_bytes=64 * 1024)
    assert_error(done, "cannot write", "nothing was written")
    assert not out.exists() and no_partials(tmp_path)


def test_a_real_small_filesystem_fills_up(tmp_path: Path) -> None:
    """A 256 KiB tmpfs, where the runner lets us mount one (root in a container); else skipped."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()[:80] or 'not permitted'}); the RLIMIT_FSIZE tests stand in")
    try:
        corpus = write_corpus(tmp_path / "in", files=4, lines=3000)
        assert_error(cli("fim-transform", str(corpus), "-o", str(mount / "out.jsonl"), "--sentinels", SENTINELS),
                     "No space left on device")
        assert list(mount.iterdir()) == []
        with open(mount / "tokens.json", "w") as fh:
            assert_error(cli("tokenize", "-f", str(corpus / "f000.py"), "--json", stdout=fh), "No space left on device")
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


# --- standard output --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["tokenize", "hello world", "--json"],
    ["tokenize", "hello world", "--ids-only"],
    ["tokenize", "hello world"],
    ["count", "{corpus}", "--json"],
    ["count", "{corpus}"],
    ["decode", "1", "2", "3"],
    ["decode", "1", "2", "3", "--json"],
    ["corpus", "{corpus}", "-t", "prism-tiny", "--json"],
    ["info", "--json"],
])
def test_standard_output_on_a_full_disk_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    corpus = write_corpus(tmp_path / "in", files=2, lines=10)
    args = [a.replace("{corpus}", str(corpus)) for a in command]
    with open("/dev/full", "w") as full:
        assert_error(cli(*args, stdout=full), "cannot write the output", "No space left on device")


def test_a_large_json_on_a_file_too_small_is_never_exit_0(tmp_path: Path) -> None:
    """The interpreter used to drop the error of a partial write: `tokenize --json > file` on a full disk
    exited 0 with the output cut at 1 MiB."""
    text = tmp_path / "text.txt"
    text.write_text("hello world, " * 200_000, encoding="utf-8")
    with open(tmp_path / "out.json", "w") as fh:
        assert_error(cli("tokenize", "-f", str(text), "--json", stdout=fh, limit_file_bytes=1 << 20), "cannot write the output")


def test_a_closed_pipe_is_the_usual_quiet_exit(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("hello world, " * 100_000, encoding="utf-8")
    for flag in ("--ids-only", "--json"):
        proc = subprocess.Popen([sys.executable, "-m", "tokenprism", "tokenize", "-f", str(text), flag], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert proc.stdout is not None
        proc.stdout.read(10)
        proc.stdout.close()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and err == b"", err


def test_other_writers_never_leave_a_cut_file(tmp_path: Path) -> None:
    """--npy and train-tokenizer write under a partial name too: a failure leaves the old file."""
    npy = tmp_path / "v.npy"
    npy.write_bytes(b"old")
    done = cli("embed", "hello", "--npy", str(npy), limit_file_bytes=100)
    if done.returncode != 0 and "MissingDependency" not in done.stderr and "pip install" in done.stderr:
        pytest.skip("the embeddings need torch")
    assert_error(done, "cannot write")
    assert npy.read_bytes() == b"old" and no_partials(tmp_path)
    bert = fixture("tokenizers/bert-base-uncased/vocab.txt")
    out = tmp_path / "trained"
    done = cli("train-tokenizer", str(bert), "-o", str(out), "--vocab-size", "300", limit_file_bytes=1000)
    assert_error(done, "cannot write")
    assert not (out / "tokenizer.json").exists() and no_partials(tmp_path)
