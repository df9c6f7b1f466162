"""lens, attention, attribute and explain --inside on the command line: what they print is what the
library computes (tests/test_inside.py checks the library against transformers), pictures are
written, and every bad input is one line on stderr and exit code 2, before any model loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from model_helpers import FAKE_GPT2, load

from tokenprism import attention, attribute, lens
from tokenprism.cli import main

PROMPT = "def add(a, b):\n    return"


@pytest.fixture(scope="module")
def tiny():
    return load("prism-tiny")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_lens_json_is_the_librarys(capsys, tiny):
    code, out, err = run(capsys, "lens", PROMPT, "--top", "3", "--json")
    assert code == 0, err
    assert json.loads(out) == json.loads(json.dumps(lens(PROMPT, model=tiny, top=3).to_dict()))


def test_lens_draws_the_grid_with_the_final_prediction(capsys, tiny):
    code, out, err = run(capsys, "lens", PROMPT)
    assert code == 0, err
    rows = [line.split()[0] for line in out.splitlines() if line.strip().startswith(("embeddings", "layer"))]
    assert rows == ["embeddings", "layer", "layer", "layer", "layer"]
    guess = lens(PROMPT, model=tiny).prediction(-1)
    assert f"the model predicts {guess.token.replace(' ', '·')}" in out


def test_lens_of_the_last_position_on_the_fake_gpt2(capsys):
    load(str(FAKE_GPT2))
    code, out, err = run(capsys, "lens", "Hello world", "-m", str(FAKE_GPT2), "--positions", "last", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [layer["layer"] for layer in data["layers"]] == [0, 1]
    assert [c["position"] for layer in data["layers"] for c in layer["positions"]] == [1, 1]


def test_attention_json_and_plots(capsys, tiny, tmp_path):
    page, png = tmp_path / "heads.html", tmp_path / "head.png"
    code, out, err = run(capsys, "attention", PROMPT, "--layer", "-1", "--head", "2", "--json", "--plot", str(page))
    assert code == 0, err
    data = json.loads(out)
    expected = attention(PROMPT, model=tiny, layer=-1, head=2).layers[0].weights[0]
    assert data["layers"][0]["layer"] == 4 and np.allclose(data["layers"][0]["heads"][0]["weights"], expected)
    assert "<svg" in page.read_text(encoding="utf-8")
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, "attention", PROMPT, "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "heat maps written" in out
    assert "where" in out and "head 7" in out  # the layers × heads overview of prism-tiny's 8 heads


def test_attribute_json(capsys, tiny):
    pytest.importorskip("torch")
    code, out, err = run(capsys, "attribute", PROMPT, "--target", " a", "--steps", "32", "--json")
    assert code == 0, err
    data = json.loads(out)
    expected = attribute(PROMPT, " a", model=tiny, steps=32)
    assert np.allclose(data["attributions"], expected.attributions, atol=1e-5)
    assert data["completeness"]["relative_error"] <= 0.01 and data["method"] == "integrated-gradients"
    code, out, err = run(capsys, "attribute", PROMPT, "--target", " a", "--method", "grad-x-input")
    assert code == 0, err
    assert "completeness" in out and "need not add up" in out


def test_explain_inside_shows_how_the_first_guess_formed(capsys, tiny):
    code, out, err = run(capsys, "explain", PROMPT, "-n", "2", "--inside")
    assert code == 0, err
    section = out[out.index("8 · inside the model"):]
    for name in ("embeddings", "layer 1", "layer 4", "the model's guess", "looked most at"):
        assert name in section
    first = lens(PROMPT, model=tiny, positions="last").prediction(-1)
    guess_line = next(line for line in section.splitlines() if "the model's guess" in line)
    assert first.token.replace(" ", "·") in guess_line


@pytest.mark.parametrize("args", [
    ["lens", PROMPT, "--top", "0"],
    ["lens", ""],
    ["attention", PROMPT, "--layer", "0"],
    ["attention", PROMPT, "--layer", "9"],
    ["attention", PROMPT, "--token", "99"],
    ["attention", PROMPT, "--plot", "heads.txt"],
    ["attribute", PROMPT, "--target", ""],
    ["attribute", PROMPT, "--target", " a", "--steps", "0"],
    ["lens", PROMPT, "-m", "no/such-model-here"],
])
def test_bad_input_is_one_line_and_exit_2(capsys, tiny, args):
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    assert err.strip() and len(err.strip().splitlines()) == 1


def test_help_has_examples(capsys):
    for command in ("lens", "attention", "attribute"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and f"tokenprism {command} " in out and "Examples" in out


def test_generate_show_attention_is_what_each_step_saw(capsys):
    """Each step's row, taken from one pass over prompt + new ids, equals the last row of a pass over
    only what that step had (causal attention), and the JSON names the tokens looked at."""
    import numpy as np

    from tokenprism import load_model
    from tokenprism.cli import main

    assert main(["generate", "def add(a, b):", "-n", "4", "--show-attention", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    model = load_model("prism-tiny")
    ids = data["prompt_ids"] + [s["id"] for s in data["steps"]]
    assert [row["step"] for row in data["attention"]] == [1, 2, 3, 4]
    for row in data["attention"]:
        upto = len(data["prompt_ids"]) + row["step"] - 1  # the ids the step had read
        weights = model.internals(ids[:upto], attentions=True, last=True).attentions
        looked = np.concatenate([w[:, -1] for w in weights]).mean(axis=0)
        best = [spot["position"] for spot in row["looked_at"]]
        assert best == list(np.argsort(-looked, kind="stable")[:3])
        assert [spot["weight"] for spot in row["looked_at"]] == pytest.approx([looked[j] for j in best], abs=1e-5)
    assert main(["generate", "def add(a, b):", "-n", "2", "--show-attention"]) == 0
    assert "where each step looked" in capsys.readouterr().out
