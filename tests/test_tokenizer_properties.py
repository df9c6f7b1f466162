"""Property tests over every fixture tokenizer: offsets inside the text and in order, lossless
round trips where the tokenizer is lossless, and rendering that never raises."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.render.html import encoding_html
from tokenprism.render.terminal import encoding_view

ALL = [
    "bert-base-uncased", "bert-base-cased", "gpt2", "flan-t5/tokenizer.json", "flan-t5/spiece.model",
    "openai-tiktoken/cl100k_base.tiktoken", "openai-tiktoken/o200k_base.tiktoken", "starcoder2",
    "phi-3-mini", "phi-3-mini/tokenizer.model", "qwen2", "deberta-v3",
]
# byte-level (or byte-fallback without normalisation) tokenizers give every text back exactly
LOSSLESS = ["gpt2", "openai-tiktoken/cl100k_base.tiktoken", "openai-tiktoken/o200k_base.tiktoken", "starcoder2"]

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x1FAFF), max_size=60
) | st.sampled_from(["🎵 鸟", "\t\t\"x\"", "a\r\nb", "\x00\ufeffz", "   ", "<|endoftext|>", "[CLS] hi", "</s>"])

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", params=ALL)
def tok(request):
    return load_tokenizer(fixture(f"tokenizers/{request.param}"))


@SETTINGS
@given(text=texts)
def test_offsets_inside_text_and_ordered(tok, text: str) -> None:
    enc = tok.encode(text)
    assert len(enc.offsets) == len(enc.ids)
    previous_start = 0
    for start, end in enc.offsets:
        assert 0 <= start <= end <= len(enc.text)
        assert start >= previous_start or start == end  # added tokens sit at 0 or at the end
        previous_start = max(previous_start, start) if start < end else previous_start


@SETTINGS
@given(text=texts)
def test_rendering_never_raises(tok, text: str) -> None:
    enc = tok.encode(text)
    assert "<script" not in encoding_html(enc)
    encoding_view(enc)
    enc.to_dict()


@pytest.mark.parametrize("spec", LOSSLESS)
@settings(max_examples=80, deadline=None)
@given(text=texts)
def test_lossless_round_trip(spec: str, text: str) -> None:
    tok = load_tokenizer(fixture(f"tokenizers/{spec}"))
    enc = tok.encode(text)
    assert tok.decode(enc.ids) == text
    assert enc.lossless
    # the fragments' bytes, joined, are the text's bytes
    assert b"".join(enc.data) == text.encode("utf-8")


@settings(max_examples=80, deadline=None)
@given(text=texts)
def test_nfc_tokenizer_round_trips_nfc_text(text: str) -> None:
    """qwen2 normalises to NFC first (U+F900 becomes U+8C48), so only NFC text comes back exactly,
    and `lossless` says so for the rest."""
    import unicodedata

    tok = load_tokenizer(fixture("tokenizers/qwen2"))
    enc = tok.encode(text)
    assert tok.decode(enc.ids) == unicodedata.normalize("NFC", text)
    assert enc.lossless == (unicodedata.normalize("NFC", text) == text)
