"""Notebook display: result objects render themselves as self-contained HTML (`_repr_html_`), built
on the same primitives as the page (render/html.py: escaping, the per-id colour), with every token
string escaped and nothing loaded from the network."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conftest import fixture
from tokenprism import compare, load_tokenizer
from tokenprism.render.html import id_colour, token_colours

XSS = '<script>alert(1)</script> " onmouseover="alert(2)" <img src=x onerror=alert(3)>'
NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def check_self_contained(html: str) -> None:
    """Parsed as a browser would: no script or image elements, no event-handler attributes, no URLs."""
    parser = _Tags()
    parser.feed(html)
    assert not parser.tags & {"script", "img", "iframe", "object", "embed"}, parser.tags
    assert parser.handlers == [], parser.handlers
    assert not NETWORK.search(html), "a notebook display must not load anything"


def test_encoding_html_escapes_and_uses_the_page_colours() -> None:
    enc = load_tokenizer("prism-tiny").encode(XSS)
    html = enc._repr_html_()
    check_self_contained(html)
    assert "&lt;script&gt;" in html or "&lt;" in html
    for colour in token_colours(enc.ids):  # each id's colour, turned where a neighbour has the same hue
        assert f"background:{colour}" in html


def test_comparison_html_is_self_contained() -> None:
    cmp = compare(XSS, ["prism-tiny", str(fixture("tokenizers/gpt2"))])
    html = cmp._repr_html_()
    check_self_contained(html)
    assert f"background:{id_colour(cmp.rows[1].encoding.ids[0])}" in html


def test_generation_html_is_self_contained() -> None:
    pytest.importorskip("torch")
    from tokenprism import generate

    gen = generate(XSS, model=str(fixture("models/fake-gpt2-random-tiny")), max_new_tokens=4)
    html = gen._repr_html_()
    check_self_contained(html)
    assert f"background:{id_colour(gen.steps[0].id)}" in html


def test_every_result_type_has_a_notebook_display() -> None:
    import tokenprism

    for name in ("Encoding", "Comparison", "Properties", "CorpusStats", "Generation", "ScoreResult", "Embeddings",
                 "Similarity", "Neighbors"):
        assert hasattr(getattr(tokenprism, name), "_repr_html_"), name
