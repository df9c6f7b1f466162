"""The settings transformers reads beside a tokenizer file (tokenizer_config.json and
special_tokens_map.json): which special token plays which role, the chat template, the longest input.
Every backend reads them the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TokenizerFileError
from ..files import read_json
from .base import SPECIAL_ROLES

__all__ = ["read_json_config", "settings_beside", "roles_from_config", "chat_template_from_config", "max_length_from_config"]


def read_json_config(folder: Path, name: str) -> dict[str, Any]:
    """`folder/name` as a dict, {} where the file is absent (a malformed one raises TokenizerFileError)."""
    path = folder / name
    return read_json(path, error=TokenizerFileError, expect=dict) if path.is_file() else {}


def settings_beside(path: Path) -> dict[str, Any]:
    """special_tokens_map.json then tokenizer_config.json (which wins) from the folder of a tokenizer file."""
    return {**read_json_config(path.parent, "special_tokens_map.json"), **read_json_config(path.parent, "tokenizer_config.json")}


def roles_from_config(config: dict[str, Any]) -> dict[str, str]:
    """Role → token string, from ``bos_token``, ``eos_token``, … (a string or ``{"content": …}``).

    >>> roles_from_config({"eos_token": {"content": "</s>"}, "pad_token": None})
    {'eos': '</s>'}
    """
    roles = {}
    for role in SPECIAL_ROLES:
        value = config.get(f"{role}_token")
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str) and value:
            roles[role] = value
    return roles


def chat_template_from_config(config: dict[str, Any]) -> str | None:
    """The chat template (the "default" one where the config names several)."""
    template = config.get("chat_template")
    if isinstance(template, list):  # [{"name": "default", "template": ...}, ...]
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return template if isinstance(template, str) else None


def max_length_from_config(config: dict[str, Any]) -> int | None:
    """``model_max_length``, or None for transformers' "no limit" placeholder (1e30)."""
    limit = config.get("model_max_length")
    return int(limit) if isinstance(limit, (int, float)) and limit < 1e12 else None
