"""A preset (the book's eight tokenizers) on a server that may not hold them all: which configured
tokenizers stand for the preset's, and why each of the others is missing.

A server started with ``-t ./bert-base-uncased -t ./gpt2`` holds the book's tokenizers as folders:
the Book preset ticks those, keeps every configured tokenizer selectable, and names the missing ones
with the reason (left out at start-up because they could not be loaded, or never named and not on
this machine). Nothing here loads or downloads anything.
"""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Any

from .config import Settings, scrub_paths

__all__ = ["preset_status", "stands_for"]


def _names(spec: str) -> set[str]:
    """What a preset spec may be called on disk: its Hub id, the repo's name ("org--name" as the
    Hub cache writes it), and an OpenAI alias's encoding name (gpt-4 → cl100k_base)."""
    from ..tokenizers.registry import alias_encoding

    names = {spec.lower(), spec.rsplit("/", 1)[-1].lower(), spec.replace("/", "--").lower()}
    encoding = alias_encoding(spec)
    return names | ({encoding.lower()} if encoding else set())


def _called(configured: str) -> set[str]:
    """What a configured spec is called: itself, its short label, and that label's last part without a suffix."""
    from ..tokenizers.registry import spec_label

    label = spec_label(configured)
    last = PurePosixPath(label.replace("\\", "/")).name
    return {configured.lower(), label.lower(), last.lower(), PurePosixPath(last).stem.lower()}


def stands_for(configured: str, preset_spec: str) -> bool:
    """Whether a configured spec is the preset's tokenizer under another name (a folder named after it).

    >>> stands_for("/data/tok/bert-base-uncased", "bert-base-uncased"), stands_for("/x/cl100k_base.tiktoken", "gpt-4")
    (True, True)
    """
    return bool(_called(configured) & _names(preset_spec))


@functools.lru_cache(maxsize=8)
def preset_status(settings: Settings, name: str) -> dict[str, Any]:
    """``{"specs": configured specs that stand for the preset's, in its order, "missing": {preset spec:
    why it is not here}}``."""
    from ..comparison import PRESETS

    left_out = dict(settings.left_out)
    specs: list[str] = []
    missing: dict[str, str] = {}
    for wanted in PRESETS[name]:
        here = [c for c in settings.tokenizers if c == wanted or stands_for(c, wanted)]
        if here:
            specs.extend(c for c in here if c not in specs)
        else:
            missing[wanted] = scrub_paths(left_out.get(wanted) or _why_missing(wanted))
    return {"specs": specs, "missing": missing}


def _why_missing(spec: str) -> str:
    from ..tokenizers.registry import available_offline

    if available_offline(spec):
        return f"this server was not started with it; restart it with -t {spec} (or -t book)"
    return (f"its files are not on this machine (not in the Hugging Face cache or tiktoken's) and this server was not "
            f"started with it; restart it with -t {spec} while online (it downloads once), or pass a local folder with -t")
