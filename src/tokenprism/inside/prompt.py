"""The ids every inside view reads: the prompt as `generate` would feed it, so that the lens, the
attention and `explain --inside` look at exactly the pass that makes the first new token."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["prompt_ids"]


def prompt_ids(model: Model, prompt: str) -> tuple[list[int], list[str]]:
    """Prompt text → ids (left-truncated to the context window, with a note saying so).

    >>> prompt_ids(load_model("prism-tiny"), "def add(a, b):")      # doctest: +SKIP
    """
    from ..generation import prepare_prompt

    ready = prepare_prompt(model, prompt, max_new_tokens=1)
    return list(ready.ids), list(ready.notes)
