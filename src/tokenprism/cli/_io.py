"""What commands do with text and output, without click (the fast path of `tokenize` uses it too)."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import InvalidUTF8, UsageError

__all__ = ["decode_bytes", "read_text", "emit_json", "load", "new_console", "show"]


def decode_bytes(data: bytes, *, errors: str, source: str) -> str:
    """UTF-8 bytes → str; on bad bytes name the offset (strict) or replace them with U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if errors == "replace":
            return data.decode("utf-8", "replace")
        raise InvalidUTF8(exc.start, source=source) from None


def read_text(text: str | None, file: str | None, *, errors: str, default: str | None = None) -> str:
    """The text a command works on: the argument, '-' or --file - (stdin), or --file PATH."""
    if text is not None and file is not None:
        raise UsageError("give the text either as an argument or with --file, not both")
    if file is not None or text == "-":
        if file in (None, "-"):
            return decode_bytes(sys.stdin.buffer.read(), errors=errors, source="stdin")
        try:
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror}") from None
        return decode_bytes(data, errors=errors, source=file)
    if text is None:
        if default is not None:
            return default
        raise UsageError("no text given: pass TEXT, '-' for stdin, or --file PATH")
    return text


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def load(spec: str):
    from ..tokenizers.registry import load_tokenizer

    return load_tokenizer(spec)


def new_console(**kwargs: Any) -> Any:
    """The terminal console every display goes through (rich is imported only here, only when used)."""
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False, **kwargs)


def show(renderable: object) -> None:
    new_console().print(renderable)
