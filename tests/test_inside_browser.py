"""The Inside tab in a real headless Chromium (the server, browser and page fixtures of
test_web_browser.py: `tokenprism serve -m prism-tiny` on 127.0.0.1): the logit-lens grid for a
prompt, hover for the top tokens, click a token for its attention, attribution for the next token.
The model's own prediction is checked against transformers. Screenshot: test-artifacts/web-inside.png.
"""

from __future__ import annotations

import pytest

from test_web_browser import PRISM, browser, page, prism_ids, screenshot, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROMPT = "def add(a, b):\n    return"


def transformers_next_token() -> int:
    """prism-tiny's greedy next id after PROMPT, by transformers (the reference)."""
    torch = pytest.importorskip("torch")
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(PRISM).eval()
    with torch.inference_mode():
        return int(model(torch.tensor([prism_ids(PROMPT)])).logits[0, -1].argmax())


def test_inside_tab_shows_the_lens_grid_attention_and_attribution(page) -> None:  # noqa: F811 - the fixture
    ids = prism_ids(PROMPT)
    page.click("#tab-inside")
    page.fill("#ins-prompt", PROMPT)
    page.click("#ins-run")
    page.wait_for_function("n => document.querySelectorAll('#ins-grid td.ins-cell').length === n", arg=5 * len(ids))
    assert page.locator("#ins-grid th.ins-tok").count() == len(ids)
    # the output row's last cell is the model's own guess, underlined as the final prediction
    last = page.locator("#ins-grid tbody tr >> nth=-1").locator("td.ins-cell >> nth=-1")
    assert "final" in last.get_attribute("class")
    expected = transformers_next_token()
    from tokenizers import Tokenizer

    label = Tokenizer.from_file(str(PRISM / "tokenizer.json")).decode([expected]).replace(" ", "·")
    assert last.text_content() == label[:10]
    # hover: top tokens, entropy, KL
    page.hover("#ins-grid td.ins-cell >> nth=2")
    tip = page.text_content("#tip")
    assert page.is_visible("#tip") and "entropy" in tip and "KL to final" in tip and "top" in tip
    # click a token: its attention per layer and head, and where it looked (positions 0..2, summing to 1)
    page.click("#ins-grid th.ins-tok >> nth=2")
    page.wait_for_function("(t => t.includes('(#2)') && !t.includes('loading'))(document.getElementById('ins-att-title').textContent)")
    assert page.locator("#ins-att td.ins-head").count() == 4 * 8  # prism-tiny: 4 layers × 8 heads
    shares = page.eval_on_selector_all("#ins-looked .ins-looked-num", "n => n.map(x => parseFloat(x.textContent))")
    assert len(shares) == 3 and abs(sum(shares) - 100) < 0.5
    page.click("#ins-att td.ins-head >> nth=5")
    assert page.text_content("#ins-looked-title") == "layer 1 · head 5"
    # attribution of the model's guess: one chip per prompt token
    page.click("#ins-attr-run")
    page.wait_for_function("n => document.querySelectorAll('#ins-attr .ins-chip').length === n", arg=len(ids), timeout=120_000)
    assert "completeness" in page.text_content("#ins-attr-status")
    page.hover("#ins-grid td.ins-cell >> nth=-1")
    screenshot(page, "inside")
