"""The page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright), against
`tokenprism serve` started as a subprocess on 127.0.0.1 with the book's tokenizers resolved offline
from a Hugging Face cache laid out over the fixtures.

Counts and ids shown are checked against the reference libraries; XSS strings must render as text
and run nothing (checked with the page's Content-Security-Policy bypassed, so that escaping alone
is what is tested). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
PRISM = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"
XSS = ['<script>alert(1)</script>', '" onmouseover="alert(2)" x="', "<img src=x onerror=alert(3)>",
       "<img src=x onerror=\"window.__xss=1\">", "</span><b>bold</b>"]

if not CHROMIUM.exists():
    pytest.skip("Debian chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import TOKENIZER_FIXTURES
    from hub_cache import build_hub_cache, hub_env

    if not TOKENIZER_FIXTURES.exists():
        pytest.skip("../shared/fixtures is absent beside the repo")
    from web_live import start_serve

    cache = build_hub_cache(tmp_path_factory.mktemp("hub"), TOKENIZER_FIXTURES)
    env = {**os.environ, **hub_env(cache, TOKENIZER_FIXTURES), "TOKENIZERS_PARALLELISM": "false"}
    proc, url = start_serve(["-t", "prism-tiny", "-t", "book", "-m", "prism-tiny"], env)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.set_default_timeout(60_000)
    page.goto(server)
    page.wait_for_selector("#tok-tokens .tp-tok")
    yield page
    assert not page.errors, page.errors
    context.close()


def prism_ids(text: str) -> list[int]:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(PRISM / "tokenizer.json")).encode(text).ids


def wait_for_count(page, count: int, timeout: float = 60) -> None:
    page.wait_for_function("n => document.getElementById('tok-count')?.textContent === n.toLocaleString('en-US')",
                           arg=count, timeout=timeout * 1000)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def test_typing_updates_the_count_and_tokens(page) -> None:
    text = "def add(a, b):\n    return a + b  # café"
    page.fill("#tok-text", "")
    page.type("#tok-text", text, delay=5)
    ids = prism_ids(text)
    wait_for_count(page, len(ids))
    shown = page.eval_on_selector_all("#tok-ids span", "spans => spans.map(s => Number(s.textContent))")
    assert shown == ids
    assert page.eval_on_selector_all("#tok-tokens .tp-tok", "s => s.length") == len(ids)
    assert page.text_content("#tok-chars") == str(len(text))
    screenshot(page, "tokenize")


def test_hover_shows_the_id_and_links_the_panes(page) -> None:
    text = "Hello world, hello tokens"
    page.fill("#tok-text", text)
    ids = prism_ids(text)
    wait_for_count(page, len(ids))
    page.hover("#tok-tokens .tp-tok >> nth=1")
    tip = page.text_content("#tip")
    assert page.is_visible("#tip") and f"id {ids[1]}" in tip and "chars" in tip and "bytes" in tip
    assert "hl" in page.get_attribute("#tok-ids span >> nth=1", "class")
    page.hover("#tok-ids span >> nth=2")
    assert "hl" in page.get_attribute("#tok-tokens .tp-tok >> nth=2", "class")
    assert f"id {ids[2]}" in page.text_content("#tip")


def test_whitespace_toggle_and_colours_match_the_notebook(page) -> None:
    from tokenprism.render.html import id_colour

    page.fill("#tok-text", "a  b\tc\nd")
    wait_for_count(page, len(prism_ids("a  b\tc\nd")))
    shown = page.text_content("#tok-tokens")
    assert "·" in shown and "→" in shown and "↵" in shown
    page.uncheck("#tok-ws")
    assert page.text_content("#tok-tokens") == "a  b\tc\nd"
    sample = list(range(0, 3000)) + [50256, 100257, 151643, 199998]
    assert page.evaluate("ids => ids.map(window.tokenprismColour)", sample) == [id_colour(i) for i in sample]


@pytest.mark.parametrize("payload", XSS)
def test_xss_strings_render_as_text_and_run_nothing(page, payload) -> None:
    page.uncheck("#tok-ws")
    text = f"before {payload} after"
    page.fill("#tok-text", text)
    wait_for_count(page, len(prism_ids(text)))
    assert page.text_content("#tok-tokens") == text
    for i in range(min(8, page.eval_on_selector_all("#tok-tokens .tp-tok", "s => s.length"))):
        page.hover(f"#tok-tokens .tp-tok >> nth={i}")
    page.click("#tab-compare")
    page.fill("#cmp-text", text)
    page.wait_for_function("t => [...document.querySelectorAll('#cmp-rows .cmp-row')].length > 0 && "
                           "document.getElementById('cmp-dis').textContent.includes(t.slice(0, 6))", arg="before")
    page.wait_for_timeout(300)
    for selector in ("#tok-tokens", "#tok-ids", "#cmp-rows", "#cmp-dis", "#tip"):
        assert page.eval_on_selector(selector, "n => n.querySelectorAll('img, script, iframe').length") == 0, selector
    # A token is one text node: no element of any kind inside a token or a marked stretch.
    assert page.eval_on_selector_all(".tp-tok *, #cmp-dis mark *, #tip b *", "n => n.length") == 0
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []
    assert page.eval_on_selector_all("[onmouseover], [onerror]", "n => n.length") == 0


def test_compare_tab_shows_the_book_preset(page) -> None:
    from transformers import BertTokenizer, GPT2Tokenizer

    from conftest import TOKENIZER_FIXTURES
    from tokenprism.comparison import BOOK_TEXT, PRESETS

    page.click("#tab-compare")
    page.click("#cmp-book")
    here = [s for s in PRESETS["book"] if s != "facebook/galactica-1.3b"]  # not among the fixtures: left out by serve
    page.wait_for_function("names => [...document.querySelectorAll('#cmp-rows .cmp-row')].map(r => r.dataset.tokenizer).join() === names",
                           arg=",".join(here))
    page.wait_for_selector("#cmp-dis mark")
    assert page.input_value("#cmp-text") == BOOK_TEXT
    rows = page.eval_on_selector_all("#cmp-rows .cmp-row", "rows => rows.map(r => [r.dataset.tokenizer, r.textContent])")
    assert [name for name, _ in rows] == here
    by_name = dict(rows)
    gpt2 = GPT2Tokenizer.from_pretrained(str(TOKENIZER_FIXTURES / "gpt2"))
    bert = BertTokenizer.from_pretrained(str(TOKENIZER_FIXTURES / "bert-base-uncased"))
    assert f"{len(gpt2(BOOK_TEXT)['input_ids'])} tokens" in by_name["gpt2"]
    assert f"{len(bert(BOOK_TEXT)['input_ids'])} tokens" in by_name["bert-base-uncased"]
    assert "could not be loaded" in page.text_content('#cmp-preset [data-spec="facebook/galactica-1.3b"]')
    assert page.eval_on_selector_all("#cmp-rows .tp-tok.dis", "n => n.length") > 0
    page.hover("#cmp-dis mark >> nth=0")
    assert "gpt2" in page.text_content("#tip")
    screenshot(page, "compare")


def test_generation_with_prism_tiny_streams_tokens(page) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    page.click("#tab-generate")
    page.fill("#gen-max", "24")
    # Record how many steps were on the page at each change: streaming shows several counts.
    page.evaluate("""() => { window.__counts = [];
      new MutationObserver(() => window.__counts.push(document.querySelectorAll('#gen-out .step').length))
        .observe(document.getElementById('gen-out'), {childList: true}); }""")
    page.click("#gen-run")
    page.wait_for_function("() => /new tokens/.test(document.getElementById('gen-status').textContent)", timeout=180_000)
    steps = page.eval_on_selector_all("#gen-out .step", "n => n.length")
    assert 1 <= steps <= 24
    counts = [c for c in page.evaluate("() => window.__counts") if c]
    assert len(set(counts)) >= 2 or steps == 1, f"steps did not arrive one after another: {counts}"
    page.click("#gen-out .step >> nth=0")
    assert "probability" in page.text_content("#gen-detail") and page.eval_on_selector_all("#gen-detail tr", "n => n.length") >= 1
    screenshot(page, "generate")


@pytest.mark.slow
def test_a_pasted_100_kb_text_stays_responsive(page) -> None:
    from conftest import FIXTURES

    book = (FIXTURES / "corpus/english/carroll-alice.txt").read_text(encoding="utf-8")
    text = (book * 2)[:100_000]
    started = time.monotonic()
    page.fill("#tok-text", text)
    wait_for_count(page, len(prism_ids(text)), timeout=120)
    took = time.monotonic() - started
    # While the remaining chunks draw, the page still answers at once.
    t0 = time.monotonic()
    page.evaluate("() => document.getElementById('tok-count').textContent")
    assert time.monotonic() - t0 < 2
    page.wait_for_function("n => document.querySelectorAll('#tok-tokens .tp-tok').length === Math.min(n, 50000)",
                           arg=len(prism_ids(text)), timeout=120_000)
    page.type("#tok-text", "!")
    assert took < 60, f"100 KB took {took:.1f} s to show its count"


def test_infill_tab_shows_the_prompt_and_the_middle(page) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    page.click("#tab-infill")
    page.fill("#fim-max", "12")
    page.click("#fim-run")
    page.wait_for_function("() => /tokens ·/.test(document.getElementById('fim-status').textContent)", timeout=180_000)
    specials = page.eval_on_selector_all("#fim-prompt .tp-special", "n => n.map(s => s.textContent)")
    assert specials == ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"]
    result = page.text_content("#fim-result")
    assert result.startswith(page.input_value("#fim-prefix")) and result.endswith(page.input_value("#fim-suffix"))
    screenshot(page, "infill")


def test_embeddings_tab_draws_a_heat_map_and_a_scatter(page) -> None:
    pytest.importorskip("torch")
    page.click("#tab-embed")
    lines = [line for line in page.input_value("#emb-texts").splitlines() if line.strip()]
    page.click("#emb-run")
    page.wait_for_selector("#emb-scatter svg circle", timeout=180_000)
    n = len(lines)
    assert page.eval_on_selector_all("#emb-heat svg rect", "r => r.length") == n * n
    assert page.eval_on_selector_all("#emb-scatter svg circle", "c => c.length") == n
    diagonal = page.eval_on_selector_all("#emb-heat svg rect title", "t => t.map(x => x.textContent)")[0]
    assert diagonal.endswith("cosine 1.0000")
    screenshot(page, "embeddings")
