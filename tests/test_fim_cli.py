"""`tokenprism fim-transform`: files, JSONL and Parquet in; text, JSONL and token-id shards out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tokenprism.cli import main
from tokenprism.fim import Sentinels, unpermute

from conftest import PRISM_TINY, fixture

DOCS = [
    "def add(a, b):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n",
    "x",
    "",
    "import os\nprint(os.getcwd())\n" * 5,
    "ünïcödé text — with ✓ marks and 😀\n",
]
STAR = Sentinels.starcoder()


@pytest.fixture(scope="module")
def starcoder2() -> str:
    return str(fixture("tokenizers/starcoder2", instead=PRISM_TINY))


@pytest.fixture(scope="module")
def reference(starcoder2):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(starcoder2) / "tokenizer.json"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, doc in enumerate(DOCS):
        (folder / f"doc{i}.py").write_text(doc, encoding="utf-8")
    return folder


def run(*args: str) -> int:
    return main(["fim-transform", *args])


def jsonl(path: Path, key: str = "text") -> list[str]:
    return [json.loads(line)[key] for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_output_unpermutes_to_the_input(corpus, starcoder2, tmp_path) -> None:
    out = tmp_path / "fim.jsonl"
    assert run(str(corpus), "-o", str(out), "-t", starcoder2, "--fim-rate", "1", "--seed", "3") == 0
    outputs = jsonl(out)
    assert [unpermute(o, sentinels=STAR) for o in outputs] == [d + STAR.eot for d in DOCS]
    assert sum(o.startswith(STAR.prefix) for o in outputs) == sum(len(d) >= 2 for d in DOCS)


def test_text_output_is_the_same_stream_and_the_seed_repeats(corpus, starcoder2, tmp_path) -> None:
    args = [str(corpus), "-t", starcoder2, "--seed", "9"]
    run(*args, "-o", str(tmp_path / "a.jsonl"))
    run(*args, "-o", str(tmp_path / "b.txt"))
    run(*args, "-o", str(tmp_path / "c.txt"))
    text = (tmp_path / "b.txt").read_text(encoding="utf-8")
    assert text == "".join(jsonl(tmp_path / "a.jsonl")) == (tmp_path / "c.txt").read_text(encoding="utf-8")


def test_token_id_shards_equal_the_reference_encoding(corpus, starcoder2, reference, tmp_path, capsys) -> None:
    run(str(corpus), "-t", starcoder2, "-o", str(tmp_path / "t.jsonl"), "--fim-rate", "0.7")
    assert run(str(corpus), "-t", starcoder2, "-o", str(tmp_path / "ids"), "--fim-rate", "0.7",
               "--shard-tokens", "16", "--json") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    shards = sorted((tmp_path / "ids").glob("shard-*.npy"))
    assert len(shards) == len(summary["shards"]) > 1
    stream = np.concatenate([np.load(s) for s in shards])
    assert stream.dtype == np.uint16  # StarCoder2's 49,152 ids fit
    expected = [i for t in jsonl(tmp_path / "t.jsonl") for i in reference.encode(t, add_special_tokens=False).ids]
    assert stream.tolist() == expected
    assert summary["sentinel_ids"] == [reference.token_to_id(s) for s in STAR.as_tuple()]
    assert json.loads((tmp_path / "ids" / "meta.json").read_text())["tokens"] == len(expected)


def test_context_level_packs_then_transforms(corpus, starcoder2, reference, tmp_path) -> None:
    out = tmp_path / "ctx.jsonl"
    assert run(str(corpus), "-t", starcoder2, "-o", str(out), "--level", "context", "--context-length", "12",
               "--fim-rate", "1") == 0
    contexts = jsonl(out)
    assert "".join(unpermute(c, sentinels=STAR) for c in contexts) == "".join(d + STAR.eot for d in DOCS)
    plain = [reference.encode(unpermute(c, sentinels=STAR), add_special_tokens=False).ids for c in contexts]
    assert max(map(len, plain)) <= 12 + 2  # cuts fall on token boundaries; re-tokenizing a cut may shift by one


def test_jsonl_and_parquet_inputs_with_field_and_explicit_sentinels(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"body": d}) + "\n" for d in DOCS), encoding="utf-8")
    pq.write_table(pa.table({"body": DOCS}), tmp_path / "in.parquet")
    for name in ("in.jsonl", "in.parquet"):
        out = tmp_path / f"{name}.out.jsonl"
        assert run(str(tmp_path / name), "--field", "body", "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>", "-o", str(out),
                   "--spm-rate", "1", "--fim-rate", "1") == 0
        outputs = jsonl(out, "body")
        assert [unpermute(o, sentinels=s) for o in outputs] == [d + "<EOT>" for d in DOCS]
        assert all(o.startswith("<PRE><SUF>") for o, d in zip(outputs, DOCS) if len(d) >= 2)


def test_bad_input_is_one_line_and_exit_2(corpus, starcoder2, tmp_path, capsys) -> None:
    ids = str(tmp_path / "ids")
    assert run(str(corpus), "-t", starcoder2, "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>", "-o", ids) == 2
    assert "single special token" in capsys.readouterr().err
    assert run(str(corpus), "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>", "-o", str(tmp_path / "x.txt"), "--fim-rate", "2") == 2
    assert "fim-rate" in capsys.readouterr().err
    assert run(str(tmp_path / "missing"), "-t", starcoder2, "-o", str(tmp_path / "x.txt")) == 2
    assert "no such file" in capsys.readouterr().err
    bert = str(fixture("tokenizers/bert-base-uncased"))
    assert run(str(corpus), "-t", bert, "-o", str(tmp_path / "x.txt")) == 2
    assert "no FIM sentinels" in capsys.readouterr().err
    (tmp_path / "with.txt").write_text("a <fim_middle> in the data", encoding="utf-8")
    assert run(str(tmp_path / "with.txt"), "-t", starcoder2, "-o", str(tmp_path / "y.txt")) == 2
    assert "contains the sentinel" in capsys.readouterr().err


def test_ray_engine_missing_is_a_clear_error(corpus, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert run(str(corpus), "--sentinels", "<PRE>,<SUF>,<MID>,<EOT>", "-o", str(tmp_path / "r.txt"), "--engine", "ray") == 2
    assert "pip install 'tokenprism[ray]'" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_engine_gives_the_local_output(corpus, starcoder2, tmp_path) -> None:
    pytest.importorskip("ray")
    for engine in ("local", "ray"):
        for out in (f"{engine}.jsonl", f"{engine}-ids"):
            assert run(str(corpus), "-t", starcoder2, "-o", str(tmp_path / out), "--engine", engine,
                       "--level", "context", "--context-length", "16", "--seed", "4") == 0
    assert jsonl(tmp_path / "ray.jsonl") == jsonl(tmp_path / "local.jsonl")
    assert np.array_equal(np.load(tmp_path / "ray-ids" / "shard-00000.npy"), np.load(tmp_path / "local-ids" / "shard-00000.npy"))
