"""Infill end to end: the bundled prism-tiny filling a gap, the stop at the end-of-middle token, the
random-weight GPT-2 (no sentinels) refused, and the `tokenprism infill` command as a user runs it."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import subprocess
import sys

import pytest
from conftest import REPO, fixture
from model_helpers import FAKE_GPT2, PRISM_TINY, load

from tokenprism.cli import main
from tokenprism.errors import InputError, UsageError
from tokenprism.infilling import fim_prompt_for, infill, infill_prompt

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))"
HEALED = "def add(a, b):"  # the prefix less its last token, which token healing takes back
KEYS = {"model", "format", "mode", "prompt", "prompt_tokens", "steps", "middle", "text", "stop_reason", "seed", "notes"}


def _trained() -> None:
    """Skip where the bundled weights are a placeholder that cannot infill yet."""
    log = PRISM_TINY / "training_log.json"
    if log.is_file() and json.loads(log.read_text()).get("held_loss", 0) > 6:
        pytest.skip("the bundled prism-tiny is an untrained placeholder (held-out loss > 6 nats)")


@pytest.fixture(scope="module")
def tiny():
    return load("prism-tiny")


def test_prism_tiny_fills_the_body(tiny) -> None:
    _trained()
    result = infill(prefix=PREFIX, suffix=SUFFIX, max_new_tokens=32, model=tiny)
    assert result.stop_reason == "eos"
    assert result.steps[-1].id in result.fim_prompt.stop_ids | tiny.eos_ids
    assert result.middle.strip()
    assert result.text == PREFIX + result.middle + SUFFIX


@pytest.mark.xfail(strict=False, reason="the bundled prism-tiny (held-out perplexity 50.9) writes and closes a middle, "
                   "but for `def add(a, b)` it writes `self.assertEqual(a, b)` (reads `self`, undefined), not `return a + b`: "
                   "it needs more training than 2 CPU cores gave (scripts/train_prism_tiny.py)")
def test_prism_tiny_body_is_plausible(tiny) -> None:
    _trained()
    result = infill(prefix=PREFIX, suffix=SUFFIX, max_new_tokens=32, model=tiny)
    function = ast.parse(result.text).body[0]  # the completed file is valid Python
    code = function.body[1:] if ast.get_docstring(function) is not None else function.body
    names = [node for statement in code for node in ast.walk(statement) if isinstance(node, ast.Name)]
    read = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    known = {"a", "b"} | set(dir(builtins)) | {n.id for n in names if isinstance(n.ctx, ast.Store)}
    # code past any docstring that reads both arguments and nothing undefined (no `self.…` in a function)
    assert {"a", "b"} <= read <= known, result.middle


def test_result_shape_and_json(tiny) -> None:
    result = infill(prefix=PREFIX, suffix=SUFFIX, max_new_tokens=3, model=tiny)
    data = json.loads(json.dumps(result.to_dict()))
    assert data.keys() == KEYS
    assert data["format"] == "starcoder" and data["mode"] == "psm"
    assert data["prompt"] == f"<fim_prefix>{HEALED}<fim_suffix>{SUFFIX}<fim_middle>"
    assert [t["id"] for t in data["prompt_tokens"]] == result.fim_prompt.ids
    assert 1 <= len(data["steps"]) <= 3
    assert data["text"] == PREFIX + data["middle"] + SUFFIX
    html = result._repr_html_()
    assert 'class="tp-middle"' in html and "&lt;fim_middle&gt;" in html


def test_stops_at_an_end_of_middle_id_and_leaves_it_out(tiny) -> None:
    """Make the model's own first greedy choice an end token: one step, an empty middle."""
    prompt = fim_prompt_for(tiny, prefix=PREFIX, suffix=SUFFIX)
    first = infill_prompt(tiny, prompt, max_new_tokens=1).steps[0].id
    ending = dataclasses.replace(prompt, stop_ids=frozenset({first}))
    result = infill_prompt(tiny, ending, max_new_tokens=10)
    assert [s.id for s in result.steps] == [first]
    assert result.stop_reason == "eos" and result.middle == ""
    assert result.text == PREFIX + SUFFIX


def test_spm_mode_and_sampling_replay(tiny) -> None:
    a = infill(prefix=PREFIX, suffix=SUFFIX, mode="spm", max_new_tokens=4, temperature=1.0, seed=7, model=tiny)
    b = infill(prefix=PREFIX, suffix=SUFFIX, mode="spm", max_new_tokens=4, temperature=1.0, seed=7, model=tiny)
    assert a.mode == "spm" and a.prompt.startswith("<fim_prefix><fim_suffix>")
    assert [s.id for s in a.steps] == [s.id for s in b.steps] and a.seed == 7


def test_long_texts_are_cut_to_the_context_window(tiny) -> None:
    prefix = "".join(f"x{i} = {i}\n" for i in range(300))
    result = infill(prefix=prefix, suffix=SUFFIX, max_new_tokens=8, model=tiny)
    assert len(result.fim_prompt.ids) + 8 <= tiny.context_length
    assert result.notes and result.text == prefix + result.middle + SUFFIX


def test_bad_settings(tiny) -> None:
    with pytest.raises(UsageError, match="leaves no room"):
        infill(prefix="a", suffix="b", max_new_tokens=tiny.context_length, model=tiny)
    with pytest.raises(UsageError, match="temperature"):
        infill(prefix="a", suffix="b", temperature=-1, model=tiny)


def test_a_model_without_sentinels_is_refused() -> None:
    model = load(str(FAKE_GPT2))
    with pytest.raises(InputError, match="this tokenizer has no FIM sentinels"):
        infill(prefix="a", suffix="b", model=model)


# --- the command ----------------------------------------------------------------------------------
def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json(tiny, capsys) -> None:
    code, out, _ = run(["infill", "--prefix", PREFIX, "--suffix", SUFFIX, "-n", "3", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data.keys() == KEYS and data["text"] == PREFIX + data["middle"] + SUFFIX


def test_cli_display(tiny, capsys) -> None:
    code, out, _ = run(["infill", "--prefix", PREFIX, "--suffix", SUFFIX, "-n", "2"], capsys)
    assert code == 0
    assert "<fim_prefix>" in out and "sentinels: <fim_prefix> = 1" in out and "completed text" in out


def test_cli_file_with_one_fill(tiny, tmp_path, capsys) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(PREFIX + "<FILL>" + SUFFIX, encoding="utf-8")
    code, out, _ = run(["infill", "--file", str(path), "-n", "2", "--json"], capsys)
    assert code == 0 and json.loads(out)["prompt"] == f"<fim_prefix>{HEALED}<fim_suffix>{SUFFIX}<fim_middle>"
    code, out, _ = run(["infill", "--file", str(path), "-n", "2", "--json", "--no-heal"], capsys)
    assert code == 0 and json.loads(out)["prompt"] == f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"


@pytest.mark.parametrize("content, message", [("no marker", "has no <FILL> markers"), ("a<FILL>b<FILL>c", "has 2 <FILL>")])
def test_cli_file_needs_exactly_one_fill(tmp_path, capsys, content: str, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(["infill", "--file", str(path)], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_cli_usage_errors(capsys) -> None:
    assert run(["infill"], capsys)[0] == 2
    code, _, err = run(["infill", "--prefix", "a", "--file", "x.py"], capsys)
    assert code == 2 and "not both" in err
    code, _, err = run(["infill", "-m", str(FAKE_GPT2), "--prefix", "a", "--suffix", "b"], capsys)
    assert code == 2 and "no FIM sentinels" in err


def test_cli_prompt_only_needs_no_model(capsys) -> None:
    """--prompt-only -t assembles for any tokenizer, without torch or transformers."""
    starcoder2 = str(fixture("tokenizers/starcoder2", instead=PRISM_TINY))
    script = (
        "import sys; from tokenprism.cli import main\n"
        f"code = main(['infill', '--prompt-only', '-t', {starcoder2!r}, '--prefix', 'x = ', '--suffix', '', '--json', '--no-heal'])\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["prompt"] == "<fim_prefix>x = <fim_suffix><fim_middle>"
    assert data["ids"][0] == 1 and data["ids"][-1] == 2  # <fim_prefix>, <fim_middle> in StarCoder2's vocab
