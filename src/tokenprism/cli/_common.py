"""Options and helpers every command shares."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import click

from ..errors import InvalidUTF8, UsageError

tokenizer_option = click.option(
    "-t",
    "--tokenizer",
    "spec",
    default="prism-tiny",
    show_default=True,
    help="Tokenizer: a Hub id (gpt2), a local file or folder, an OpenAI encoding (cl100k_base, gpt-4o), or prism-tiny.",
)

tokenizers_option = click.option(
    "-t",
    "--tokenizer",
    "specs",
    multiple=True,
    help="Tokenizer spec; repeat for several (a Hub id, a local path, an OpenAI encoding, prism-tiny).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a display.")

errors_option = click.option(
    "--errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help="What to do with bytes that are not UTF-8 in --file or stdin.",
)


def input_options(f: Callable) -> Callable:
    """TEXT argument, '-' for stdin, or --file F, and the --errors policy."""
    f = click.argument("text", required=False)(f)
    f = click.option("--file", "-f", "file", type=click.Path(dir_okay=False, allow_dash=True), help="Read the text from a file ('-' = stdin).")(f)
    return errors_option(f)


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
    click.echo(json.dumps(obj, ensure_ascii=False))


def load(spec: str):
    from ..tokenizers.registry import load_tokenizer

    return load_tokenizer(spec)
