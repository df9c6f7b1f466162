"""Token healing: take the prompt's last token back and let the model write it again.

A prompt that stops where a token would normally go on shows the model a boundary it seldom saw in
training. `def add(a, b):\\n    ` ends with the whitespace token "\\n    ", but in training text that
indent was almost always cut as "\\n   " + " return": after "\\n    " the model has little idea what
comes next. Healing takes the last token back ("def add(a, b):") and lets only tokens that agree with
the text taken back come first ("\\n   ", then " return"), so the model picks its own boundary and the
text still begins exactly as the user wrote it. (The guidance library calls this token healing.)

>>> pending = b"\\n    "
>>> pending = still_to_write(pending, b"\\n   ")
>>> pending, still_to_write(pending, b" return")
(b' ', b'')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Tokenizer

__all__ = ["take_back", "agreeing_ids", "still_to_write", "strip_taken_back"]


def take_back(tokenizer: Tokenizer, text: str, ids: list[int]) -> tuple[str, bytes] | None:
    """(the text without its last token, that token's bytes), where `ids` encode `text` and end with
    an ordinary token whose bytes end the text; None where there is nothing to heal."""
    if not ids or tokenizer.is_special(ids[-1]):
        return None
    last = tokenizer.token_bytes(ids[-1])
    data = text.encode("utf-8")
    if not last or not data.endswith(last):  # a normalising tokenizer: its tokens do not spell the text
        return None
    kept = data[: len(data) - len(last)]
    try:
        return kept.decode("utf-8"), last
    except UnicodeDecodeError:  # the token starts inside a character: take back the whole character
        cut = len(kept)
        while cut > 0 and (kept[cut - 1] & 0xC0) == 0x80:
            cut -= 1
        cut = max(0, cut - 1)
        return kept[:cut].decode("utf-8", "replace"), data[cut:]


def agreeing_ids(tokenizer: Tokenizer, pending: bytes) -> list[int]:
    """Ids that may come next while `pending` is still to be written: ordinary tokens whose bytes
    start with it, or make a start of it (the rest then comes in the following steps)."""
    special = tokenizer._special_ids
    return [i for i, b in enumerate(tokenizer.byte_table())
            if b and i not in special and (b.startswith(pending) or pending.startswith(b))]


def still_to_write(pending: bytes, written: bytes) -> bytes:
    """What is left of `pending` once a token with bytes `written` has come (agreeing_ids' choice)."""
    return pending[len(written):] if pending.startswith(written) else b""


def strip_taken_back(new: bytes, taken: bytes) -> bytes:
    """The new bytes past the text taken back (b"" when generation stopped before writing it all)."""
    return new[len(taken):] if new.startswith(taken) else b""
