"""Renderers: every token string escaped, whitespace visible, fragments as bytes, big inputs elided."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.render.html import encoding_html, id_colour
from tokenprism.render.terminal import encoding_view

XSS = ['<script>alert(1)</script>', '" onmouseover="alert(1)', "<img src=x onerror=alert(1)>", "' onclick='x"]


@pytest.fixture(scope="module")
def gpt2():
    return load_tokenizer(fixture("tokenizers/gpt2"))


@pytest.mark.parametrize("text", XSS)
def test_html_escapes_text_and_attributes(gpt2, text: str) -> None:
    html = encoding_html(gpt2.encode(text))
    assert "<script>" not in html and "<img" not in html
    # no attribute is opened by the data: every quote inside attributes is an entity
    for attr in re.findall(r'title="([^"]*)"', html):
        assert "<" not in attr and ">" not in attr


def test_same_id_same_colour_unless_its_neighbour_has_it(gpt2) -> None:
    enc = gpt2.encode("the ok the the")  # 1169 12876 262 262: the second " the" sits beside the first
    html = encoding_html(enc)
    assert enc.ids[2] == enc.ids[3] == 262
    assert html.count(id_colour(262)) == 1 and html.count(id_colour(262, turned=True)) == 1
    assert id_colour(1) != id_colour(2)


def test_whitespace_visible_and_fragments_as_bytes(gpt2) -> None:
    html = encoding_html(gpt2.encode("a b\tc\n🎵"))
    assert "·b" in html and "→" in html and "↵" in html and "&lt;0x8E&gt;" in html
    console = Console(width=200, record=True)
    with console.capture() as cap:
        console.print(encoding_view(gpt2.encode("a 🎵")))
    assert "<0x8E>" in cap.get() and "�" not in cap.get()


def test_display_elides_large_inputs(gpt2) -> None:
    enc = gpt2.encode("word " * 6000)
    assert "more tokens not shown" in encoding_html(enc)
    console = Console(width=200)
    with console.capture() as cap:
        console.print(encoding_view(enc))
    assert "more tokens not shown" in cap.get()


def test_special_token_from_text_is_marked_in_html() -> None:
    tok = load_tokenizer(fixture("tokenizers/phi-3-mini"))
    html = encoding_html(tok.encode("<|user|>hi"))
    assert "tp-from-text" in html and "parsed from your text" in html


def test_notebook_repr(gpt2) -> None:
    assert gpt2.encode("hi")._repr_html_().startswith("<style>")


def test_decoding_and_info_render_in_notebooks(gpt2) -> None:
    html = gpt2.decode_tokens([8582, 236, 113])._repr_html_()
    assert "&lt;0xF0 0x9F&gt;" in html and "🎵" in html
    assert "byte-level BPE" in gpt2.info()._repr_html_()


def test_head_equals_the_first_tokens() -> None:
    for spec in ("gpt2", "openai-tiktoken/cl100k_base.tiktoken", "phi-3-mini/tokenizer.model", "bert-base-uncased"):
        tok = load_tokenizer(fixture(f"tokenizers/{spec}"))
        text = "Hello 🎵 <|endoftext|> [UNK] wörld\n" * 50
        fresh, full = tok.encode(text), tok.encode(text)
        assert fresh.head(37) == full.tokens[:37]
