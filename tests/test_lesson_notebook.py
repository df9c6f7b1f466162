"""The notebook displays a learner met (issue 19), as a notebook shows them: cells executed by nbclient in a
real kernel, their text/html outputs drawn in headless Chromium under JupyterLab's own table rules.

Checks: the Comparison table is left-aligned and stays inside the output's width; a newline token in a
Generation/Infill table is one line, not a stack; the wording names Python's max_new_tokens, not a CLI
flag; loading a transformers model prints no red TqdmWarning; the Embeddings view draws a heat map and
names the [batch, tokens, dim] axes.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from conftest import REPO, TOKENIZER_FIXTURES, fixture

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
PRISM = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"

#: JupyterLab's rendermime rules for tables in an output (packages/rendermime/style/base.css): cells
#: right-aligned, a fixed layout centred by auto margins. A display must look right under them.
JUPYTER_TABLE_CSS = """
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none; font-size: 13px;
  table-layout: fixed; margin-left: auto; margin-bottom: 1em; margin-right: auto; }
.jp-RenderedHTMLCommon thead { vertical-align: bottom; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr { vertical-align: middle;
  padding: 0.5em; line-height: normal; white-space: normal; max-width: none; border: none; }
:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td, :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon th,
:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon tr { text-align: right; }
.jp-RenderedHTMLCommon th { font-weight: bold; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #f5f5f5; }
body { margin: 0; } .jp-OutputArea-output { width: 640px; overflow: hidden; }
"""

CELLS = {
    "load": "import tokenprism\nmodel = tokenprism.load_model({fake!r})",
    "compare": "text = 'English and CAPITALIZATION\\n🎵 鸟\\nshow_tokens False None elif == >= else: two tabs:\"\\t\\t\" ' * 4\n"
               "tokenprism.compare(text, ['prism-tiny', {gpt2!r}, {bert!r}])",
    "generate": "tiny = tokenprism.load_model('prism-tiny')\n"
                "g = tokenprism.generate('for i in range(10):', model=tiny, max_new_tokens=6)\n"
                "assert any('\\n' in s.token for s in g.steps), [s.token for s in g.steps]\ng",
    "infill": "tokenprism.infill(prefix='def add(a, b):\\n', suffix='\\n\\nprint(add(1, 2))\\n', model=tiny, max_new_tokens=6)",
    "embed": "tokenprism.embed('Hello world')",
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict]:
    """Each cell's outputs after a run in a real kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("torch")
    if not TOKENIZER_FIXTURES.exists():
        pytest.skip("no tokenizer fixtures")
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    names = {"fake": str(fixture("models/fake-gpt2-random-tiny")), "gpt2": str(TOKENIZER_FIXTURES / "gpt2"),
             "bert": str(TOKENIZER_FIXTURES / "bert-base-uncased")}
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source.format(**names)) for source in CELLS.values()]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("TOKENIZERS_PARALLELISM", "false")
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
    return {name: cell for name, cell in zip(CELLS, notebook.cells)}


def _html(cell) -> str:
    return "".join(o["data"]["text/html"] for o in cell.outputs if "data" in o and "text/html" in o["data"])


def test_every_cell_runs_and_loading_a_model_prints_no_warning(outputs) -> None:
    for name, cell in outputs.items():
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (name, errors[0]["ename"], errors[0]["evalue"])
    stderr = "".join(o.get("text", "") for o in outputs["load"].outputs if o.output_type == "stream")
    assert "TqdmWarning" not in stderr and "IProgress" not in stderr, stderr


def test_wording_is_python_not_command_line_flags(outputs) -> None:
    shown = html.unescape(_html(outputs["generate"]) + _html(outputs["infill"]))
    assert "--max-new-tokens" not in shown and "reached max_new_tokens" in shown


def test_embeddings_view_has_a_heat_map_and_names_the_axes(outputs) -> None:
    shown = _html(outputs["embed"])
    assert "[1, 4, 384] = batch 1 (texts) × tokens 4 × dimensions 384" in html.unescape(shown)
    assert shown.count("<tr><th>") >= 4 and 'class="tp-heatrows"' in shown
    assert shown.count('<td style="background:#') == 4 * 32  # every token's first 32 values, coloured


@pytest.fixture(scope="module")
def drawn(outputs, tmp_path_factory):
    """The outputs in one page under JupyterLab's table rules, open in headless Chromium."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    from test_web_browser import ARGS

    blocks = "".join(
        f'<div class="jp-OutputArea-output jp-RenderedHTMLCommon jp-RenderedHTML" id="out-{name}">{_html(cell)}</div>'
        for name, cell in outputs.items()
    )
    page_file = tmp_path_factory.mktemp("nb") / "outputs.html"
    page_file.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>{JUPYTER_TABLE_CSS}</style></head>"
                         f"<body>{blocks}</body></html>", encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 900})
        page.goto(page_file.as_uri())
        yield page
        browser.close()


def test_comparison_table_is_left_aligned_and_fits_the_output(drawn) -> None:
    cells = drawn.eval_on_selector_all("#out-compare table.tp-cmp td, #out-compare table.tp-cmp th",
                                       "ns => ns.map(n => getComputedStyle(n).textAlign)")
    assert cells and set(cells) == {"left"}
    box = drawn.evaluate("""() => { const out = document.getElementById('out-compare').getBoundingClientRect();
        const t = document.querySelector('#out-compare table.tp-cmp').getBoundingClientRect();
        return [out.left, out.right, t.left, t.right]; }""")
    assert abs(box[2] - box[0]) <= 1 and box[3] <= box[1] + 1, box  # starts at the left, ends inside


def test_newline_tokens_keep_table_cells_on_one_line(drawn) -> None:
    for name in ("generate", "infill"):
        tall = drawn.evaluate("""name => [...document.querySelectorAll('#out-' + name + ' table.tp-steps tr')].slice(1)
            .map(row => row.querySelector('td:nth-child(2) .tp-tok'))
            .filter(chip => chip && chip.getClientRects().length > 1).map(chip => chip.textContent)""", name)
        assert tall == [], (name, tall)
        labels = drawn.eval_on_selector_all(f"#out-{name} table.tp-steps td:nth-child(2) .tp-tok", "n => n.map(x => x.textContent)")
        assert any("↵" in label for label in labels) or name == "infill"
        aligned = drawn.eval_on_selector_all(f"#out-{name} table.tp-steps td:nth-child(2)", "n => n.map(x => getComputedStyle(x).textAlign)")
        assert set(aligned) == {"left"}
