"""The page's rough edges a learner met (issue 19), in a real headless Chromium against `tokenprism serve`
(the harness of test_web_browser.py: Debian's chromium, Playwright, the book's tokenizers resolved
offline from a Hugging Face cache laid over the fixtures).

Bars: ids never split across lines at any width from 360 px; neighbouring tokens never share a colour
(and the page's colours are render/html.py's, the same rule); the Book preset on a server started with
-t folders keeps them selectable and names the book tokenizers it lacks, with why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_web_browser import PRISM, browser, page, screenshot, server, wait_for_count  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = (360, 375, 412, 420, 540, 768, 1024, 1280)
#: Text with long ids (gpt2's run to 50,256), repeated tokens side by side, digits and punctuation.
MANY_IDS = ("Tokenizers, unbelievably, chop 4996 antidisestablishmentarianism into 12345 pieces!!! " * 6
            + "aaaa bbbb aaaa    ....  ---- ==== " * 4)


def reference_ids(spec: str, text: str) -> list[int]:
    """The ids the reference library gives (transformers over the fixture files, tokenizers for prism-tiny)."""
    from conftest import TOKENIZER_FIXTURES

    if spec == "prism-tiny":
        from test_web_browser import prism_ids

        return prism_ids(text)
    from transformers import BertTokenizer, GPT2Tokenizer

    klass = {"gpt2": GPT2Tokenizer, "bert-base-uncased": BertTokenizer}[spec]
    return klass.from_pretrained(str(TOKENIZER_FIXTURES / spec))(text)["input_ids"]


def _tokenize(page, text: str, spec: str) -> list[int]:
    page.select_option("#tok-spec", spec)
    page.fill("#tok-text", text)
    ids = reference_ids(spec, text)
    wait_for_count(page, len(ids))
    page.wait_for_function("n => document.querySelectorAll('#tok-ids span').length === n", arg=len(ids))
    return ids


# An id's digits, measured as a Range over its text node: more than one line top means it was split.
SPLIT_IDS = """pane => [...document.querySelectorAll(pane + ' span')].filter(s => {
  const node = s.firstChild, digits = node.textContent.trimEnd().length, range = document.createRange();
  range.setStart(node, 0); range.setEnd(node, digits);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(s => s.textContent)"""


def test_ids_never_split_across_lines_at_any_width(page) -> None:
    ids = _tokenize(page, MANY_IDS, "gpt2")
    assert max(ids) > 10_000
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(50)
        assert page.evaluate(SPLIT_IDS, "#tok-ids") == [], f"ids split at {width} px"
        lines = page.evaluate("""() => new Set([...document.querySelectorAll('#tok-ids span')]
            .map(s => Math.round(s.getBoundingClientRect().top))).size""")
        assert width > 700 or lines > 1  # narrow panes do wrap: between ids


def _backgrounds(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "ns => ns.map(n => getComputedStyle(n).backgroundColor)")


def _hex(rgb: str) -> str:
    r, g, b = (int(v) for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _no_twins(colours: list[str]) -> None:
    twins = [k for k in range(1, len(colours)) if colours[k] == colours[k - 1]]
    assert not twins, f"neighbours {twins[:5]} share a colour"


def test_neighbouring_tokens_never_share_a_colour(page) -> None:
    from tokenprism.render.html import token_colours

    for spec in ("prism-tiny", "gpt2", "bert-base-uncased"):
        ids = _tokenize(page, MANY_IDS, spec)
        shown = [_hex(c) for c in _backgrounds(page, "#tok-tokens .tp-tok")]
        assert shown == token_colours(ids)  # the page's rule is render/html.py's
        _no_twins(shown)
        assert any(a == b for a, b in zip(ids, ids[1:]))  # the text does put one id next to itself
    # The same rule for any ids the page is asked about (the terminal's too: render/terminal.py uses turns()).
    sample = [5, 5, 5, 7, 8, 13, 21, 21, 34, 55, 89, 144] + list(range(0, 2000, 7))
    assert page.evaluate("ids => window.tokenprismChain(ids)", sample) == token_colours(sample)


def test_compare_rows_and_generation_keep_neighbours_apart(page) -> None:
    page.click("#tab-compare")
    page.fill("#cmp-text", MANY_IDS)
    page.wait_for_function("() => document.querySelectorAll('#cmp-rows .cmp-row .tp-tok').length > 100")
    page.wait_for_timeout(300)
    for k in range(page.eval_on_selector_all("#cmp-rows .cmp-row .tokens", "n => n.length")):
        _no_twins(_backgrounds(page, f"#cmp-rows .cmp-row .tokens >> nth={k} >> .tp-tok"))
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    page.click("#tab-generate")
    page.fill("#gen-prompt", "    x = x + 1\n    x = x + 1\n")
    page.fill("#gen-max", "16")
    page.click("#gen-run")
    page.wait_for_function("() => /new tokens? ·/.test(document.getElementById('gen-status').textContent)", timeout=180_000)
    _no_twins(_backgrounds(page, "#gen-out .tp-tok"))  # the prompt's tokens, then the new ones, in one chain


def test_generate_shows_the_prompt_as_tokens_and_ids(page) -> None:
    from tokenprism import load_tokenizer

    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    prompt = "def add(a, b):\n    return"
    page.click("#tab-generate")
    page.fill("#gen-prompt", prompt)
    page.fill("#gen-max", "4")
    page.click("#gen-run")
    page.wait_for_function("() => /new tokens? ·/.test(document.getElementById('gen-status').textContent)", timeout=180_000)
    ids = load_tokenizer("prism-tiny").encode(prompt).ids
    assert page.eval_on_selector_all("#gen-out .gen-prompt .pid", "n => n.map(x => Number(x.textContent))") == ids
    labels = page.eval_on_selector_all("#gen-out .gen-prompt .tp-tok", "n => n.map(x => x.textContent)")
    assert "".join(labels).replace("·", " ").replace("↵", "\n") == prompt


def test_infill_keeps_the_suffix_newlines_note_spaces_and_shows_probabilities(page) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    page.click("#tab-infill")
    # HTML drops the newline right after <textarea>: the suffix the page offers still starts with a blank line.
    assert page.input_value("#fim-suffix") == "\n\nprint(add(1, 2))"
    page.fill("#fim-max", "6")
    page.click("#fim-run")
    page.wait_for_function("() => /tokens? ·/.test(document.getElementById('fim-status').textContent)", timeout=180_000)
    notes = page.eval_on_selector_all("#fim-notes .note", "n => n.map(x => [x.textContent, getComputedStyle(x).whiteSpace])")
    healing = [n for n in notes if "heal" in n[0]]
    assert healing and all(ws == "pre-wrap" for _, ws in healing)
    steps = page.eval_on_selector_all("#fim-steps .step", "n => n.map(x => x.title)")
    assert steps and all(" · p " in t and "%" in t for t in steps)
    page.click("#fim-steps .step >> nth=0")
    assert "probability" in page.text_content("#fim-detail")
    assert page.eval_on_selector_all("#fim-detail table.alts tr", "n => n.length") >= 1


def test_wordpiece_pieces_keep_their_marker(page) -> None:
    _tokenize(page, "tokenization unbelievably", "bert-base-uncased")
    shown = page.eval_on_selector_all("#tok-tokens .tp-tok", "n => n.map(x => x.textContent)")
    assert "##ization" in shown and "token" in shown


@pytest.mark.parametrize("width", (360, 420))
def test_a_narrow_viewport_does_not_overflow(page, width) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    _tokenize(page, MANY_IDS, "gpt2")
    for tab in ("tokenize", "compare", "generate", "infill", "embed", "inside"):
        page.click(f"#tab-{tab}")
        if tab == "compare":
            page.wait_for_function("() => document.querySelectorAll('#cmp-rows .cmp-row').length > 2 && "
                                   "document.querySelector('#cmp-dis mark')")
        page.wait_for_timeout(300)
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(n => n.offsetParent !== null
            && n.getBoundingClientRect().right > document.documentElement.clientWidth + 1
            && !n.closest('.plot, .tokens, .ids, .gen-out, .ins-grid, .ins-att, .build-steps, pre, textarea, select'))
            .slice(0, 5).map(n => n.tagName + '#' + n.id + '.' + n.className)""")
        assert wide == [], f"{tab} at {width} px: {wide}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, f"{tab} scrolls sideways at {width} px"
        if tab in ("tokenize", "compare"):
            screenshot(page, f"narrow-{width}-{tab}")


def test_embeddings_tab_names_the_axes_of_each_tokens_vector(page) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    page.click("#tab-embed")
    page.check('input[name="emb-mode"][value="tokens"]')
    assert page.input_value("#emb-texts") == "Hello world"
    page.click("#emb-run")
    page.wait_for_selector("#emb-tokens table.vec-heat", timeout=180_000)
    shape = page.text_content("#emb-shape")
    assert "[1, 4, 384]" in shape and "batch (texts) 1" in shape and "tokens 4" in shape and "dimensions 384" in shape
    rows = page.eval_on_selector_all("#emb-tokens th.tok", "n => n.map(x => x.textContent)")
    assert rows == ["[CLS]", "hello", "world", "[SEP]"]
    assert page.eval_on_selector_all("#emb-tokens td", "n => n.length") == 4 * 16


def test_book_preset_on_the_book_server_names_what_it_left_out(page) -> None:
    """`serve -t book` (offline, Galactica not among the fixtures) leaves Galactica out with the real reason."""
    from tokenprism.comparison import PRESETS

    config = page.evaluate("() => fetch('/api/config').then(r => r.json())")
    assert "facebook/galactica-1.3b" not in config["tokenizers"]
    page.click("#tab-compare")
    page.click("#cmp-book")
    here = [s for s in PRESETS["book"] if s != "facebook/galactica-1.3b"]
    page.wait_for_function("names => [...document.querySelectorAll('#cmp-rows .cmp-row')].map(r => r.dataset.tokenizer).join() === names",
                           arg=",".join(here))
    assert page.eval_on_selector_all("#cmp-rows .cmp-err", "n => n.length") == 0
    why = page.text_content('#cmp-preset .missing[data-spec="facebook/galactica-1.3b"]')
    assert "could not be loaded" in why and "HF_HUB_OFFLINE" in why and "not configured" not in why
    # Asked for by name through the API, its row says the same, not "not configured".
    rows = page.evaluate("""() => fetch('/api/compare', {method: 'POST', headers: {'content-type': 'application/json'},
        body: JSON.stringify({text: 'hi', tokenizers: ['gpt2', 'facebook/galactica-1.3b']})}).then(r => r.json())""")["rows"]
    assert rows[0]["error"] is None and rows[1]["error"] == why.split(" — ", 1)[1]


# --- a server started with -t folders -------------------------------------------------------------
@pytest.fixture(scope="module")
def folder_server(tmp_path_factory):
    """`serve -t <folder> …`: the fixtures as folders named after the Hub repos (bert-base-uncased, gpt2,
    flan-t5-small), one named otherwise (phi-3-mini), and prism-tiny; offline with an empty Hub cache."""
    from conftest import TOKENIZER_FIXTURES

    if not TOKENIZER_FIXTURES.exists():
        pytest.skip("../shared/fixtures is absent beside the repo")
    root = tmp_path_factory.mktemp("folders")
    for name, fixture in (("bert-base-uncased", "bert-base-uncased"), ("gpt2", "gpt2"), ("flan-t5-small", "flan-t5"),
                          ("phi-3-mini", "phi-3-mini")):
        (root / name).symlink_to(Path(TOKENIZER_FIXTURES / fixture))
    from web_live import start_serve

    env = {k: v for k, v in os.environ.items() if k != "TOKENPRISM_TIKTOKEN_DIR"}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path_factory.mktemp("empty-hub")), TOKENIZERS_PARALLELISM="false",
               TIKTOKEN_CACHE_DIR=str(tmp_path_factory.mktemp("empty-tiktoken")))
    specs = [str(root / n) for n in ("bert-base-uncased", "gpt2", "flan-t5-small", "phi-3-mini")] + ["prism-tiny"]
    proc, url = start_serve([a for s in specs for a in ("-t", s)], env)
    yield url, specs
    proc.terminate()
    proc.wait(timeout=20)


def test_book_preset_on_a_server_started_with_folders(browser, folder_server) -> None:  # noqa: F811
    url, specs = folder_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "#compare")
    page.wait_for_selector("#cmp-specs input")
    page.click("#cmp-book")
    stand_ins = specs[:3]  # the folders named after the book's repos
    page.wait_for_function("n => document.querySelectorAll('#cmp-rows .cmp-row').length === n", arg=len(stand_ins))
    ticked = page.eval_on_selector_all("#cmp-specs input", "n => n.map(i => [i.value, i.checked, i.disabled])")
    assert [v for v, on, _ in ticked if on] == stand_ins
    assert all(not disabled for _, _, disabled in ticked)  # every configured tokenizer stays selectable
    chips = page.eval_on_selector_all("#cmp-specs .chip", "n => n.map(c => [c.textContent, c.title])")
    assert chips[:4] == [[Path(s).name, s] for s in specs[:4]]  # short labels, the full path on hover
    assert page.eval_on_selector_all("#cmp-rows .cmp-err", "n => n.length") == 0  # no red error rows
    missing = dict(page.eval_on_selector_all("#cmp-preset .missing", "n => n.map(x => [x.dataset.spec, x.textContent])"))
    assert set(missing) == {"bert-base-cased", "gpt-4", "bigcode/starcoder2-15b", "facebook/galactica-1.3b", "microsoft/Phi-3-mini-4k-instruct"}
    assert "not on this machine" in missing["facebook/galactica-1.3b"]  # the real reason, not "not configured"
    assert all("-t " in why for why in missing.values())  # and what to do
    assert "5 of its 8" not in page.text_content("#cmp-preset") and "3 of its 8" in page.text_content("#cmp-preset")
    # A configured tokenizer that is not the book's can still be ticked and compared beside them.
    page.check(f'#cmp-specs input[value="{specs[3]}"]')
    page.wait_for_function("n => document.querySelectorAll('#cmp-rows .cmp-row').length === n", arg=4)
    assert errors == []
    context.close()
