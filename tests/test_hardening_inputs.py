"""Issue 16, inputs: only regular files are read (FIFOs, devices, sockets and symlinks out of the folder
are skipped and reported, bad .gitignore lines reported and ignored); values in tokenizer files are
checked at load; every backend call is behind the safety boundary; large inputs are read in parts cut
where the tokenizer allows, the same ids as whole, in bounded memory. Each case runs the real command."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PRISM_TINY, fixture

GPT2 = "tokenizers/gpt2"


def cli(*args: str, timeout: float = 120, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokenprism", *args], capture_output=True, timeout=timeout, input=stdin,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def assert_error(done: subprocess.CompletedProcess, *words: str) -> str:
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, (done.returncode, err[-2000:])
    assert "Traceback" not in err and "panicked" not in err, err[-2000:]
    line = err.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    for word in words:
        assert word in line, line
    return line


def ok_json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout)


# --- what is read --------------------------------------------------------------------------------
@pytest.fixture()
def odd_folder(tmp_path: Path) -> Path:
    """A folder with one text file and everything that is not one: a FIFO, a socket, a symlink to a
    device, a symlink out of the folder, a symlink inside it, a broken symlink, a bad .gitignore line."""
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "a.txt").write_text("hello world\n", encoding="utf-8")
    (folder / "ignored.log").write_text("never counted\n", encoding="utf-8")
    (folder / ".gitignore").write_text("[z-a]\n*.log\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.txt"))
    (folder / "zero.txt").symlink_to("/dev/zero")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n", encoding="utf-8")
    (folder / "out.txt").symlink_to(outside)
    (folder / "in.txt").symlink_to(folder / "a.txt")
    (folder / "broken.txt").symlink_to(tmp_path / "nowhere")
    yield folder
    server.close()


def _reasons(skipped: list[dict]) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in skipped}


def test_count_reads_regular_files_only_and_says_what_it_skipped(odd_folder: Path) -> None:
    report = ok_json(cli("count", str(odd_folder), "--json"))
    assert sorted(Path(f["path"]).name for f in report["files"]) == [".gitignore", "a.txt", "in.txt"]
    reasons = _reasons(report["skipped"])
    assert "FIFO" in reasons["pipe.txt"] and "socket" in reasons["sock.txt"]
    assert "out of the scanned folder" in reasons["out.txt"] and "out of the scanned folder" in reasons["zero.txt"]
    assert "broken symlink" in reasons["broken.txt"]
    assert "[z-a]" in reasons[".gitignore"] and "invalid" in reasons[".gitignore"]
    shown = cli("count", str(odd_folder))
    assert shown.returncode == 0 and b"skipped" in shown.stderr and b"Traceback" not in shown.stderr


def test_corpus_and_fim_transform_do_not_hang_on_a_fifo(odd_folder: Path, tmp_path: Path) -> None:
    stats = ok_json(cli("corpus", str(odd_folder), "-t", "prism-tiny", "--json", timeout=60))
    reasons = _reasons(stats["read"]["skipped"])
    assert "FIFO" in reasons["pipe.txt"] and "out of the scanned folder" in reasons["out.txt"]
    out = tmp_path / "fim.jsonl"
    done = cli("fim-transform", str(odd_folder), "-o", str(out), "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>", "--json", timeout=60)
    summary = ok_json(done)
    assert "FIFO" in _reasons(summary["skipped"])["pipe.txt"]
    assert out.read_text(encoding="utf-8").count("\n") == summary["outputs"]


def test_a_fifo_named_directly_is_skipped_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p")
    report = ok_json(cli("count", str(tmp_path / "p"), "--json", timeout=30))
    assert report["files"] == [] and "FIFO" in report["skipped"][0]["reason"]
    assert_error(cli("tokenize", "hi", "-t", str(tmp_path / "p"), timeout=30), "neither a tokenizer file nor a folder")


# --- tokenizer files -----------------------------------------------------------------------------
def _tokenizer_json(tmp_path: Path, name: str, change: dict) -> Path:
    data = json.loads((PRISM_TINY / "tokenizer.json").read_text(encoding="utf-8"))
    data.update(change)
    folder = tmp_path / name
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _template(single: list, specials: dict) -> dict:
    return {"post_processor": {"type": "TemplateProcessing", "single": single, "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": specials}}


A = {"Sequence": {"id": "A", "type_id": 0}}
BAD_TOKENIZER_JSON = {
    "replace-empty": ({"normalizer": {"type": "Replace", "pattern": {"String": ""}, "content": "x"}}, "empty pattern"),
    "replace-empty-regex": ({"normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"Regex": "\\b"}, "content": "x"}]}}, "empty pattern"),
    "prepend-empty": ({"normalizer": {"type": "Prepend", "prepend": ""}}, "empty pattern"),
    "template-missing": (_template([{"SpecialToken": {"id": "<nope>", "type_id": 0}}, A], {}), "does not define it"),
    "template-beyond": (_template([{"SpecialToken": {"id": "<bos>", "type_id": 0}}, A],
                                  {"<bos>": {"id": "<bos>", "ids": [99_999_999], "tokens": ["<bos>"]}}), "beyond the vocabulary"),
    "bert-beyond": ({"post_processor": {"type": "BertProcessing", "sep": ["</s>", 10**9], "cls": ["<s>", 0]}}, "beyond the vocabulary"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENIZER_JSON))
def test_tokenizer_json_that_would_panic_or_name_missing_ids_is_refused_at_load(tmp_path: Path, case: str) -> None:
    change, words = BAD_TOKENIZER_JSON[case]
    folder = _tokenizer_json(tmp_path, case, change)
    for command in (["tokenize", "hello world"], ["info"], ["decode", "1", "2"]):
        assert_error(cli(*command, "-t", str(folder)), words)


def test_a_vocab_txt_without_unk_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("[CLS]\n[SEP]\nhello\nworld\n", encoding="utf-8")
    assert_error(cli("tokenize", "hello xyzzy", "-t", str(tmp_path / "vocab.txt")), "[UNK]")


@pytest.mark.parametrize("rank", ["-5", str(10**20), "4000000000", "16777216"])
def test_tiktoken_ranks_out_of_range_are_refused_at_load(tmp_path: Path, rank: str) -> None:
    lines = fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken").read_text().splitlines()[:300]
    lines[-1] = lines[-1].split()[0] + " " + rank
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "cl100k_base.tiktoken").write_text("\n".join(lines) + "\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n")
    for command in (["tokenize", "hello"], ["corpus", str(corpus)]):
        assert_error(cli(*command, "-t", str(folder / "cl100k_base.tiktoken")), "outside 0 to 16,777,215")


def test_dev_null_is_not_a_tokenizer() -> None:
    assert_error(cli("tokenize", "hi", "-t", "/dev/null"), "neither a tokenizer file nor a folder")


def test_a_panic_after_loading_is_one_typed_line(tmp_path: Path) -> None:
    """The boundary itself: a tokenizer the load checks never saw (built in place) panics in Rust at
    encode; every public verb answers with one TokenizerFileError."""
    from tokenizers import Tokenizer as RawTokenizer

    from tokenprism.errors import TokenizerFileError
    from tokenprism.tokenizers.hf import HFTokenizer

    data = json.loads((PRISM_TINY / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"] = {"type": "Replace", "pattern": {"Regex": "\\b"}, "content": "Q"}
    tok = HFTokenizer(RawTokenizer.from_str(json.dumps(data)), name="panics", source="built")
    for call in (lambda: tok.encode("hello world"), lambda: tok.encode_batch(["hello world"]),
                 lambda: tok.encode_ids_batch(["hello world"]), lambda: tok.count("hello world")):
        with pytest.raises(TokenizerFileError, match="panics: the tokenizer failed to encode"):
            call()


def test_the_lone_surrogate_note_names_where_it_stands() -> None:
    from tokenprism.tokenizers.registry import load_tokenizer

    enc = load_tokenizer("prism-tiny").encode("\ud83c\udfb5x\ud800y")
    assert enc.text[2] == "\ufffd"
    assert "first at character 2" in enc.notes[0]


# --- large inputs in parts -------------------------------------------------------------------------
def _words_text(chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    words = ("the of and to in is that it was for on are as with his they be at one have this from by hot word but what "
             "some we can out other were all there when up use your how said an each she which do their time if will way "
             "about many then them write would like so these her long make thing see him two has look more day could go "
             "come did number sound no most people my over know water than call first who may down side been now find "
             "café naïve 東京 日本語 🙂 1984 3.14 x=y+1; def f(a, b): return a*b").split()
    out, size = [], 0
    while size < chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 16)))
        line += rng.choice(["\n", "\n", ".\n", "\n\n", "  \n", "\t\n", " "])
        out.append(line)
        size += len(line)
    return "".join(out)


def _run_main(args: list[str]) -> str:
    from tokenprism.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(args) == 0
    return buf.getvalue()


@pytest.mark.parametrize("spec", [GPT2, "tokenizers/bert-base-uncased", "tokenizers/flan-t5", "prism-tiny",
                                  "tokenizers/openai-tiktoken/cl100k_base.tiktoken"])
def test_parts_give_what_the_whole_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    """With the thresholds made small, every streamed path (count, --ids-only, --json, stdin) gives the
    same output as the whole text: ids, tokens with their offsets, added tokens, lossless."""
    import tokenprism.cli._stream as stream
    import tokenprism.count as count
    import tokenprism.streamed as streamed

    tok = spec if spec == "prism-tiny" else str(fixture(spec))
    text = _words_text(30_000) + " [SEP] <|endoftext|> é"
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    outputs = {}
    for small in (False, True):
        monkeypatch.setattr(stream, "STREAM_BYTES", 1000 if small else 10**9)
        monkeypatch.setattr(count, "STREAM_BYTES", 1000 if small else 10**9)
        monkeypatch.setattr(streamed, "PART_CHARS", 700)
        outputs[small] = [json.loads(_run_main(["tokenize", "-f", str(path), "-t", tok, "--json", *flags]))
                          for flags in ([], ["--no-special-tokens"], ["--split-special-tokens"])]
        outputs[small] += [_run_main(["tokenize", "-f", str(path), "-t", tok, "--ids-only"]),
                           json.loads(_run_main(["count", str(path), "-t", tok, "--json"]))["total"]]
    assert outputs[True] == outputs[False]


def test_large_stdin_is_read_in_parts_too(tmp_path: Path) -> None:
    text = _words_text(5_000_000).encode()
    gpt2 = str(fixture(GPT2))
    streamed = cli("tokenize", "-", "-t", gpt2, "--ids-only", stdin=text, timeout=600)
    assert streamed.returncode == 0, streamed.stderr[-1000:]
    from tokenprism.tokenizers.registry import load_tokenizer

    assert [int(i) for i in streamed.stdout.split()] == load_tokenizer(gpt2).encode(text.decode()).ids
    bad = text[:4_500_000] + b"\xff" + text[4_500_000:]
    done = cli("tokenize", "-", "-t", gpt2, "--ids-only", stdin=bad, timeout=600)
    assert_error(done, "not valid UTF-8 at byte offset 4500000")
    assert done.stdout == b""  # checked before the first id is printed


def test_a_large_file_counts_what_the_reference_library_counts(tmp_path: Path) -> None:
    """Just above the streaming threshold, against tokenizers itself on the whole text."""
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    from tokenprism.files import STREAM_BYTES

    text = _words_text(STREAM_BYTES + 500_000, seed=3)
    path = tmp_path / "big.txt"
    path.write_text(text, encoding="utf-8")
    gpt2 = fixture(GPT2)
    raw = RawTokenizer(models.BPE.from_file(str(gpt2 / "vocab.json"), str(gpt2 / "merges.txt")))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    expected = len(raw.encode(text).ids)
    report = ok_json(cli("count", str(path), "-t", str(gpt2), "--json", timeout=600))
    assert report["total"] == expected
    assert report["files"][0]["characters"] == len(text)


# The command's own peak (VmHWM, reset at exec), written by the process as it exits. Not wait4's
# ru_maxrss: Linux carries that over from the parent across fork+exec, so a child of a pytest process
# that has grown to gigabytes would report the parent's size.
_PEAK = (
    "import atexit, sys\n"
    "def peak():\n"
    "    hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
    "    sys.stderr.write(f'\\nVMHWM {hwm}\\n')\n"
    "atexit.register(peak)\n"
    "from tokenprism.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _max_rss_mb(args: list[str], timeout: float) -> tuple[float, bytes]:
    """Run the command; its own peak resident memory (MB, VmHWM) and its stderr."""
    proc = subprocess.run([sys.executable, "-c", _PEAK, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-1000:]
    kilobytes = int(proc.stderr.rsplit(b"VMHWM ", 1)[1].split()[0])
    return kilobytes / 1024, proc.stderr


@pytest.fixture(scope="module")
def huge_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("huge")
    block = _words_text(10_000_000, seed=7).encode()
    files = {}
    for megabytes in (50, 200):
        path = folder / f"{megabytes}mb.txt"
        with open(path, "wb") as fh:
            written = 0
            while written < megabytes * 1_000_000:
                fh.write(block)
                written += len(block)
        files[megabytes] = path
    yield files
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("megabytes", [50, 200])
@pytest.mark.parametrize("command", ["count", "ids-only"])
def test_memory_stays_under_a_gigabyte_on_huge_files(huge_files: dict[int, Path], megabytes: int, command: str) -> None:
    """The bar: `count` and `tokenize --ids-only` with the GPT-2 tokenizer on 50 MB and 200 MB files,
    max RSS ≤ 1.0 GB (measured on this machine: 180–280 MB; README, "Limits")."""
    gpt2 = str(fixture(GPT2))
    path = str(huge_files[megabytes])
    args = ["count", path, "-t", gpt2, "--json"] if command == "count" else ["tokenize", "-f", path, "-t", gpt2, "--ids-only"]
    peak, err = _max_rss_mb(args, timeout=3000)
    print(f"{command} {megabytes} MB: max RSS {peak:.0f} MB")
    assert peak <= 1024, f"{command} on {megabytes} MB used {peak:.0f} MB"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_tokenize_json_on_a_large_file_streams_its_arrays(tmp_path: Path) -> None:
    """`tokenize --json` on 23 MB used 17.9 GB: its arrays are streamed now. A 20 MB file, max RSS ≤ 1 GB,
    and the output is one JSON object whose ids are the `--ids-only` ids."""
    path = tmp_path / "20mb.txt"
    block = _words_text(5_000_000, seed=11).encode()
    path.write_bytes(block * 4)
    gpt2 = str(fixture(GPT2))
    out = tmp_path / "out.json"
    with open(out, "wb") as fh:
        proc = subprocess.run([sys.executable, "-c", _PEAK, "tokenize", "-f", str(path), "-t", gpt2, "--json"], stdout=fh,
                              stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-1000:]
    peak = int(proc.stderr.rsplit(b"VMHWM ", 1)[1].split()[0]) / 1024
    print(f"tokenize --json 20 MB: max RSS {peak:.0f} MB")
    assert peak <= 1024
    with open(out, encoding="utf-8") as fh:
        data = json.load(fh)
    assert data["count"] == len(data["ids"]) == len(data["tokens"])
    assert data["text"] == path.read_text(encoding="utf-8") and data["lossless"] is True
    assert data["tokens"][-1]["end"] == len(data["text"])
