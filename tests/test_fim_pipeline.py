"""`tokenprism.fim.write_fim_data`, the library verb behind `tokenprism fim-transform`: a notebook call
writes the same files as the command, and the work it hands an engine survives the trip to a worker."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from tokenprism.cli import main
from tokenprism.errors import UsageError
from tokenprism.fim import Sentinels, fim_units, transform, unpermute, write_fim_data
from tokenprism.fim.pipeline import FimWork
from tokenprism.fim.writers import WRITERS, open_writer, pick_format

from conftest import PRISM_TINY, fixture

DOCS = [
    "def add(a, b):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n",
    "x",
    "",
    "import os\nprint(os.getcwd())\n" * 5,
    "ünïcödé text — with ✓ marks and 😀\n",
]
PLAIN = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")


@pytest.fixture(scope="module")
def starcoder2() -> str:
    return str(fixture("tokenizers/starcoder2", instead=PRISM_TINY))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, doc in enumerate(DOCS):
        (folder / f"doc{i}.py").write_text(doc, encoding="utf-8")
    return folder


def without_output(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "output"}


@pytest.mark.parametrize("name, level", [("fim.jsonl", "document"), ("fim.txt", "context"), ("ids", "document"),
                                         ("ids", "context")])
def test_a_notebook_call_writes_the_same_files_as_the_cli(corpus, starcoder2, tmp_path, name, level, capsys) -> None:
    cli_out, lib_out = tmp_path / "cli" / name, tmp_path / "lib" / name
    cli_out.parent.mkdir()
    lib_out.parent.mkdir()
    assert main(["fim-transform", str(corpus), "-t", starcoder2, "-o", str(cli_out), "--level", level,
                 "--context-length", "16", "--seed", "5", "--fim-rate", "0.8", "--shard-tokens", "40", "--json"]) == 0
    cli_summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    summary = write_fim_data(corpus, lib_out, tokenizer=starcoder2, level=level, context_length=16, seed=5,
                             fim_rate=0.8, shard_tokens=40)
    assert without_output(summary) == without_output(cli_summary)
    cli_files = sorted(p.relative_to(cli_out) for p in cli_out.rglob("*")) if cli_out.is_dir() else [Path()]
    lib_files = sorted(p.relative_to(lib_out) for p in lib_out.rglob("*")) if lib_out.is_dir() else [Path()]
    assert cli_files == lib_files
    for rel in cli_files:
        if rel.name == "meta.json":
            lib_meta, cli_meta = (json.loads((out / rel).read_text()) for out in (lib_out, cli_out))
            assert without_output(lib_meta) == without_output(cli_meta)
        else:
            assert (lib_out / rel).read_bytes() == (cli_out / rel).read_bytes(), rel


def test_text_output_is_the_in_memory_transform(corpus, tmp_path) -> None:
    """write_fim_data (files → files) writes exactly what fim_transform (strings → strings) yields."""
    summary = write_fim_data([corpus], tmp_path / "out.txt", sentinels=PLAIN, seed=3, fim_rate=1.0)
    expected = list(transform(DOCS, sentinels=PLAIN, seed=3, fim_rate=1.0))
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "".join(expected)
    assert summary["outputs"] == summary["documents"] == len(DOCS) and summary["files"] == len(DOCS)
    assert summary["sentinels"] == PLAIN.to_dict() and summary["engine"] == "local"
    assert [unpermute(o, sentinels=PLAIN) for o in expected] == [d + "<EOT>" for d in DOCS]


def test_sentinels_as_an_object_or_a_string_and_one_path(corpus, tmp_path) -> None:
    path = corpus / "doc0.py"
    write_fim_data(path, tmp_path / "a.jsonl", sentinels=PLAIN, fim_rate=1.0)
    write_fim_data(str(path), tmp_path / "b.jsonl", sentinels="<PRE>,<SUF>,<MID>,<EOT>", fim_rate=1.0)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert len((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_bad_options_are_typed_errors(corpus, tmp_path) -> None:
    with pytest.raises(UsageError, match="shard-tokens"):
        write_fim_data(corpus, tmp_path / "ids", sentinels=PLAIN, shard_tokens=0)
    with pytest.raises(UsageError, match="unknown engine 'spark': use local or ray"):
        write_fim_data(corpus, tmp_path / "x.txt", sentinels=PLAIN, engine="spark")
    with pytest.raises(UsageError, match="unknown output format"):
        write_fim_data(corpus, tmp_path / "x.txt", sentinels=PLAIN, output_format="csv")
    with pytest.raises(UsageError, match="needs the tokenizer"):
        open_writer("ids", tmp_path / "ids")


def test_output_format_follows_the_suffix_and_the_writers_table() -> None:
    assert [pick_format(p) for p in ("a.txt", "a.TEXT", "a.jsonl", "a.ndjson", "shards", "a.npy")] == [
        "text", "text", "jsonl", "jsonl", "ids", "ids"]
    assert all(pick_format("a.txt", requested=f) == f for f in WRITERS)


def test_the_work_survives_pickling_to_a_worker(starcoder2) -> None:
    """What Ray does to the work: pickled without its tokenizer, it loads it again from the spec and
    gives the same ids."""
    from tokenprism import load_tokenizer

    tok = load_tokenizer(starcoder2)
    marks = Sentinels.from_tokenizer(tok)
    units = list(fim_units(DOCS, sentinels=marks))
    work = FimWork(sentinels=marks, seed=2, fim_rate=0.9, spm_rate=0.5, tokenizer=tok)
    travelled = pickle.loads(pickle.dumps(work))
    assert travelled.tokenizer is None and travelled.spec == work.spec
    assert travelled(units) == work(units)
    assert [np.asarray(ids).size for ids in work(units)] == [len(tok.encode(t, add_special_tokens=False).ids) for t in
                                                            transform(DOCS, sentinels=marks, seed=2, fim_rate=0.9)]
