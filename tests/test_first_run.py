"""The first five minutes: the main job on the bundled model needs no torch, and every argument error
of a model command comes before anything heavy loads (instant, exit 2, nothing on stdout)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers")


def _run_cli(args: list[str]) -> dict:
    """Run the CLI in a fresh interpreter; report its exit code, output and which heavy modules it imported."""
    code = (
        "import sys, json, io, contextlib\n"
        "from tokenprism.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = main({args!r})\n"
        f"print(json.dumps({{'rc': rc, 'out': out.getvalue(), 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["err"] = proc.stderr
    return result


def test_explain_on_prism_tiny_imports_neither_torch_nor_transformers():
    result = _run_cli(["explain", "def add(a, b):", "-n", "4"])
    assert result["rc"] == 0, result["err"]
    for title in ("1 · the text", "4 · the model guesses", "7 · the text"):
        assert title in result["out"]
    assert "numpy engine" in result["out"]
    assert result["heavy"] == []


def test_library_main_job_imports_neither_torch_nor_transformers():
    code = (
        "import sys, json, tokenprism\n"
        "g = tokenprism.generate('def add(a, b):', max_new_tokens=3)\n"
        "s = tokenprism.score('import os')\n"
        "i = tokenprism.infill(prefix='x = ', suffix='\\n', max_new_tokens=3)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "def f():", "-n", "0"], "max-new-tokens"),
        (["explain", ""], "empty prompt"),
        (["explain", "x", "--show-top", "-1"], "show-top"),
        (["generate", "x", "--temperature", "-1"], "temperature"),
        (["generate", "x", "--top-p", "1.5"], "top-p"),
        (["generate", "x", "--top-k", "0"], "top-k"),
        (["generate", ""], "empty prompt"),
        (["generate", "x", "--system", "be brief"], "--chat"),
        (["generate", "x", "-n", "0"], "max-new-tokens"),
        (["score", ""], "empty text"),
        (["infill", "--prefix", "a", "--suffix", "b", "--temperature", "-1"], "temperature"),
        (["infill"], "nothing to fill"),
    ],
)
def test_argument_errors_come_before_any_model_loads(args, message):
    # A Hub model that is not in the cache: loading it would fail differently (and late); the check
    # must answer first, without importing torch.
    result = _run_cli([*args, "-m", "tokenprism-tests/not-cached-anywhere"])
    assert result["rc"] == 2
    assert result["out"] == ""
    assert message in result["err"] and "Traceback" not in result["err"]
    assert len(result["err"].strip().splitlines()) == 1
    assert result["heavy"] == []


def test_engine_choice_is_checked(capsys):
    from tokenprism.cli import main

    assert main(["explain", "x", "--engine", "numpy", "--dtype", "float16"]) == 2
    assert "numpy engine computes in float32" in capsys.readouterr().err
