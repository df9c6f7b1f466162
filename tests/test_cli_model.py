"""explain, generate and score on the command line: what they print equals what the library computes,
and every bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import REPO
from model_helpers import FAKE_GPT2, build_bert, build_pickle_only, load

from tokenprism import generate, score
from tokenprism.cli import main

pytest.importorskip("torch")


@pytest.fixture
def fake() -> str:
    load(str(FAKE_GPT2))  # skips when the fixture is absent
    return str(FAKE_GPT2)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_shows_the_seven_steps(capsys, fake):
    code, out, err = run(capsys, "explain", "Hello world", "-m", fake, "-n", "3")
    assert code == 0, err
    titles = ["1 · the text", "2 · its 2 tokens", "3 · their ids", "4 · the model guesses", "5 · the new ids", "6 · their tokens", "7 · the text"]
    positions = [out.index(t) for t in titles]
    assert positions == sorted(positions)
    expected = generate("Hello world", model=load(fake), max_new_tokens=3)
    assert "15496 995" in out  # the prompt's ids, as the tokenizer gives them
    assert " ".join(map(str, expected.ids)) in out
    assert out.rstrip().splitlines()[-1].endswith("reached --max-new-tokens")


def test_explain_runs_on_prism_tiny_by_default(capsys):
    load("prism-tiny")  # skips until the bundled model exists
    code, out, err = run(capsys, "explain", "if __name__ == ", "-n", "2")
    assert code == 0, err
    assert "prism-tiny" in out and "7 · the text" in out


def test_generate_json_equals_the_library(capsys, fake):
    code, out, err = run(capsys, "generate", "Hello", "-m", fake, "-n", "5", "--temperature", "0.9", "--seed", "4", "--show-top", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    expected = generate("Hello", model=load(fake), max_new_tokens=5, temperature=0.9, seed=4, show_top=3).to_dict()
    assert data == json.loads(json.dumps(expected))


def test_generate_stream_prints_the_text(capsys, fake):
    code, out, err = run(capsys, "generate", "Hello", "-m", fake, "-n", "6", "--temperature", "1", "--seed", "2", "--stream")
    assert code == 0, err
    expected = generate("Hello", model=load(fake), max_new_tokens=6, temperature=1.0, seed=2)
    assert out == "Hello" + expected.text + "\n"
    assert "seed 2" in err


def test_generate_table_shows_every_step(capsys, fake):
    code, out, err = run(capsys, "generate", "Hello", "-m", fake, "-n", "4")
    assert code == 0, err
    expected = generate("Hello", model=load(fake), max_new_tokens=4)
    for step in expected.steps:
        assert str(step.id) in out
    assert "top alternatives" in out


def test_score_json_equals_the_library(capsys, fake):
    code, out, err = run(capsys, "score", "Hello world, again", "-m", fake, "--json")
    assert code == 0, err
    data = json.loads(out)
    expected = score("Hello world, again", model=load(fake))
    assert data["perplexity"] == pytest.approx(expected.perplexity)
    assert [t["id"] for t in data["tokens"]] == [t.id for t in expected.tokens]
    code, out, err = run(capsys, "score", "Hello world, again", "-m", fake)
    assert code == 0 and "perplexity" in out


def one_line_error(capsys, *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_input_is_one_line_and_exit_2(capsys, fake, tmp_path):
    bert, pickled = str(build_bert(tmp_path / "bert")), str(build_pickle_only(tmp_path / "pickled"))
    capsys.readouterr()  # building them printed transformers' progress bars
    assert "empty prompt" in one_line_error(capsys, "generate", "", "-m", fake)
    assert "empty prompt" in one_line_error(capsys, "explain", "", "-m", fake)
    assert "temperature" in one_line_error(capsys, "generate", "Hi", "-m", fake, "--temperature", "-1")
    assert "greedy" in one_line_error(capsys, "generate", "Hi", "-m", fake, "--temperature", "0", "--top-k", "3")
    assert "--chat" in one_line_error(capsys, "generate", "Hi", "-m", fake, "--system", "Be brief.")
    assert "no chat template" in one_line_error(capsys, "generate", "Hi", "-m", fake, "--chat")
    assert "context window" in one_line_error(capsys, "generate", "Hi", "-m", fake, "-n", "5000")
    assert "empty text" in one_line_error(capsys, "score", "", "-m", fake)
    assert "not a Hub id" in one_line_error(capsys, "generate", "Hi", "-m", str(tmp_path / "missing" / "folder"))
    err = one_line_error(capsys, "generate", "Hi", "-m", bert)
    assert "cannot generate" in err and "tokenprism embed" in err
    assert "--allow-pickle" in one_line_error(capsys, "generate", "Hi", "-m", pickled)


def test_allow_pickle_flag_loads_pickle_weights(capsys, tmp_path):
    folder = str(build_pickle_only(tmp_path / "pickled"))
    code, out, err = run(capsys, "generate", "Hello", "-m", folder, "-n", "2", "--allow-pickle", "--json")
    assert code == 0, err
    assert json.loads(out)["steps"][0]["id"] == generate("Hello", model=load(str(FAKE_GPT2)), max_new_tokens=1).ids[0]


def test_ctrl_c_mid_generation_keeps_what_was_generated(fake):
    """A real SIGINT to a real `tokenprism generate` process, after it has streamed a few steps."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tokenprism.cli import main; raise SystemExit(main())", "generate", "Hello",
         "-m", fake, "-n", "1000", "--temperature", "1", "--seed", "3", "--json", "--stream"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    final = json.loads(rest.strip().splitlines()[-1])
    assert final["stop_reason"] == "interrupted"
    assert 3 <= len(final["steps"]) < 1000
    assert [json.loads(line) for line in lines] == final["steps"][:3]
    assert "Traceback" not in err
