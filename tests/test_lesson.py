"""The lesson notebook (examples/lesson.ipynb) runs: executed with nbclient against the fixtures (the Hub
ids it loads resolve offline through a Hugging Face cache laid over them), its assertions hold, and its
HTML export opens in headless chromium without a single network request failing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import REPO, TOKENIZER_FIXTURES

pytestmark = pytest.mark.slow

LESSON = REPO / "examples" / "lesson.ipynb"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    """The notebook after a run, as nbformat's JSON."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from hub_cache import build_hub_cache, hub_env

    if not TOKENIZER_FIXTURES.exists():
        pytest.skip("no tokenizer fixtures (tests/data or ../shared/fixtures)")
    cache = build_hub_cache(tmp_path_factory.mktemp("hub"), TOKENIZER_FIXTURES)
    with pytest.MonkeyPatch.context() as env:  # the kernel inherits this process's environment
        for key, value in {**hub_env(cache, TOKENIZER_FIXTURES), "TOKENIZERS_PARALLELISM": "false"}.items():
            env.setenv(key, value)
        notebook = nbformat.read(LESSON, as_version=4)
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(LESSON.parent)}}).execute()
    return json.loads(nbformat.writes(notebook))


def outputs(cell: dict) -> str:
    """A code cell's printed text."""
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_every_cell_runs_and_its_assertions_hold(executed: dict) -> None:
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "a cell did not run"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"]


def test_the_lesson_shows_its_facts(executed: dict) -> None:
    """The printed facts are there (the cells assert them; here: that they ran rather than skipped)."""
    printed = "".join(outputs(c) for c in executed["cells"] if c["cell_type"] == "code")
    assert "[14350, 263, 3273, 3095, 3002, 4876, 304, 19235, 1048, 263, 16423, 292, 10171, 29889, 32001]" in printed
    assert "Hello / , / how / are / you / ?" in printed
    assert "Write / an / email / apolog / izing / " in printed and " / m / ish / ap / ." in printed
    assert "batch 1 (texts) × tokens 4 × dimensions 384" in printed or "embedding cells are skipped" in printed


def test_cells_without_their_tokenizer_skip_with_a_note(tmp_path) -> None:
    """Offline with an empty cache, the notebook still runs to the end: each missing tokenizer is a note."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(LESSON, as_version=4)
    # The tokenizer cells, up to the comparison (whose OpenAI row would try to download its ranks).
    stop = next(i for i, c in enumerate(notebook.cells) if "tokenprism.compare(" in c.source)
    notebook.cells = notebook.cells[:stop]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_CACHE", str(tmp_path))
        env.setenv("HF_HUB_OFFLINE", "1")
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(LESSON.parent)}}).execute()
    printed = "".join(outputs(c) for c in notebook.cells if c.cell_type == "code")
    for spec in ("microsoft/Phi-3-mini-4k-instruct", "gpt2", "bert-base-uncased", "google/flan-t5-small"):
        assert f"the cells that need {spec} are skipped here" in printed


def test_html_export_needs_no_network(executed: dict, tmp_path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from export_html import export_html
    finally:
        sys.path.remove(str(REPO / "examples"))
    from test_web_browser import ARGS

    page_file = tmp_path / "lesson.html"
    page_file.write_text(export_html(executed, title="lesson"), encoding="utf-8")
    failed, fetched = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("networkidle")
        text = page.inner_text("body")
        browser.close()
    assert not failed, failed
    assert all(url.startswith(("file:", "data:")) for url in fetched), fetched
    assert "How a language model sees text" in text
    assert "▁apolog" in text and "Hello / , / how / are / you / ?" in text
