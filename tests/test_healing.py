"""Token healing: the last token of a prompt is taken back and the model writes it again, in tokens of
its own choosing, so the text still starts exactly as the user wrote it (healing.py)."""

from __future__ import annotations

import pytest
from conftest import PRISM_TINY, fixture
from model_helpers import load

from tokenprism import load_tokenizer
from tokenprism.fim.formats import assemble_fim_prompt
from tokenprism.infilling import infill
from tokenprism.run import Run
from tokenprism.tokenizers.healing import agreeing_ids, still_to_write, strip_taken_back, take_back

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))"


@pytest.fixture(scope="module")
def tiny():
    return load("prism-tiny")


def _taken(tok, text: str):
    return take_back(tok, text, tok.encode(text, add_special_tokens=False).ids)


def test_takes_back_the_last_token(tiny) -> None:
    tok = tiny.tokenizer
    assert _taken(tok, PREFIX) == ("def add(a, b):", b"\n    ")
    assert _taken(tok, "x = foo") == ("x =", b" foo")
    assert _taken(tok, "") is None
    assert _taken(tok, "end<|endoftext|>") is None  # a special token is never taken back


def test_a_character_split_over_tokens_is_taken_back_whole() -> None:
    tok = load_tokenizer(str(fixture("tokenizers/gpt2")))
    ids = tok.encode("note 🎵", add_special_tokens=False).ids
    assert tok.token_bytes(ids[-1]) != "🎵".encode()  # the emoji's bytes span several tokens
    assert take_back(tok, "note 🎵", ids) == ("note ", "🎵".encode())


def test_sentencepiece_with_its_leading_space() -> None:
    tok = load_tokenizer(str(fixture("tokenizers/phi-3-mini/tokenizer.model")))
    text = "x = value"
    kept, taken = take_back(tok, text, tok.encode(text, add_special_tokens=False).ids)
    assert kept + taken.decode() == text and taken == b" value"


def test_agreeing_ids_write_the_pending_text_and_nothing_else(tiny) -> None:
    tok = tiny.tokenizer
    pending = b"\n    "
    allowed = agreeing_ids(tok, pending)
    assert tok.piece_to_id("Ċ") in allowed and tok.encode(PREFIX).ids[-1] in allowed
    for i in allowed:
        data = tok.token_bytes(i)
        assert not tok.is_special(i) and (data.startswith(pending) or pending.startswith(data))
    assert tok.encode("return").ids[0] not in allowed


def test_pending_text_shrinks_as_it_is_written() -> None:
    assert still_to_write(b"\n    ", b"\n   ") == b" "
    assert still_to_write(b" ", b" return") == b""
    assert strip_taken_back(b"\n    return a", b"\n    ") == b"return a"
    assert strip_taken_back(b"\n  ", b"\n    ") == b""  # stopped before the taken-back text was written


@pytest.mark.parametrize("temperature", [None, 1.0])
def test_generation_starts_by_writing_the_text_taken_back(tiny, temperature) -> None:
    tok = tiny.tokenizer
    for text in (PREFIX, "for i in range(", "import o"):
        kept, taken = _taken(tok, text)
        steps = list(Run(tiny, tok.encode(kept).ids, max_new_tokens=6, start_with=taken,
                                    temperature=temperature, seed=3, show_top=2))
        written = b"".join(tok.token_bytes(s.id) for s in steps)
        assert written.startswith(taken) or taken.startswith(written), (text, written)
        allowed = set(agreeing_ids(tok, taken))  # the first step chose among these only, its alternatives too
        assert steps[0].id in allowed and all(c.id in allowed for c in steps[0].top if c.prob > 0)


def test_infill_heals_by_default_and_keeps_the_text_whole(tiny) -> None:
    healed = infill(prefix=PREFIX, suffix=SUFFIX, max_new_tokens=8, model=tiny)
    assert healed.prompt == f"<fim_prefix>def add(a, b):<fim_suffix>{SUFFIX}<fim_middle>"
    assert healed.fim_prompt.healed == b"\n    " and any("token healing" in n for n in healed.notes)
    written = b"".join(tiny.tokenizer.token_bytes(i) for i in healed.ids)
    assert written.startswith(b"\n    ")
    assert healed.text == PREFIX + healed.middle + SUFFIX and not healed.middle.startswith("\n    ")
    plain = infill(prefix=PREFIX, suffix=SUFFIX, max_new_tokens=2, heal=False, model=tiny)
    assert plain.prompt == f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>" and plain.fim_prompt.healed == b""


def test_prompt_only_heals_for_any_tokenizer() -> None:
    tok = load_tokenizer(str(fixture("tokenizers/starcoder2", instead=PRISM_TINY)))
    prompt = assemble_fim_prompt(tok, prefix="x = ", suffix="", heal=True)
    assert prompt.text == "<fim_prefix>x =<fim_suffix><fim_middle>" and prompt.healed == b" "
    assert assemble_fim_prompt(tok, prefix="", suffix="y", heal=True).healed == b""
