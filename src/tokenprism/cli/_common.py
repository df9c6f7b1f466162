"""Options every command shares (the helpers they use are in _io)."""

from __future__ import annotations

from typing import Callable

import click

__all__ = ["tokenizer_option", "tokenizers_option", "json_option", "errors_option", "input_options"]

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
