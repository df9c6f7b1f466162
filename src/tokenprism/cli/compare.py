"""compare: several tokenizers on one text, with their detected properties under it.
(corpus and train-tokenizer live beside it, in cli/corpus.py and cli/train.py.)"""

from __future__ import annotations

import click

from ..errors import TokenizerNotFound
from ._app import app
from ._common import input_options, json_option, tokenizers_option
from ._io import emit_json, read_text, show



@app.command("compare")
@input_options
@tokenizers_option
@click.option("--preset", type=click.Choice(["book"]), help="A named set of tokenizers: 'book' = the eight of the Hands-On LLM lesson.")
@click.option("--no-special-tokens", is_flag=True, help="Do not add BOS/EOS, [CLS]/[SEP] around the text.")
@click.option("--split-special-tokens", is_flag=True, help="Treat special-token strings in the text as plain text.")
@click.option("--no-properties", is_flag=True, help="Leave out the table of detected properties.")
@json_option
def compare_cmd(text, file, errors, specs, preset, no_special_tokens, split_special_tokens, no_properties, as_json):
    """Several tokenizers side by side on one text (default: the book's test text).

    Each row: coloured tokens, count, characters and bytes per token, unknown tokens, lossless or
    not; then the places where the tokenizers cut the text differently, and a table of each
    tokenizer's detected properties. A tokenizer that cannot be loaded gets a row saying why.

    \b
    Examples:
      tokenprism compare -t gpt2 -t cl100k_base -t bert-base-uncased
      tokenprism compare --preset book
      tokenprism compare $'def f(x):\\n\\treturn x' -t gpt2 -t bigcode/starcoder2-15b --json
    """
    from ..comparison import BOOK_TEXT, compare

    content = read_text(text, file, errors=errors, default=BOOK_TEXT)
    result = compare(content, list(specs), preset=preset, add_special_tokens=not no_special_tokens,
                     split_special_tokens=split_special_tokens)
    if as_json:
        data = result.to_dict()
        if not no_properties:
            data["properties"] = {name: p.to_dict() for name, p in result.properties().items()}
        emit_json(data)
    else:
        from ..render.compare import comparison_view, properties_table

        show(comparison_view(result))
        if not no_properties and any(r.ok for r in result.rows):
            show(properties_table(result.properties()))
    check_compared(result)


def check_compared(result) -> None:
    """A comparison in which no tokenizer could be loaded compared nothing: that is an error (exit 2),
    named with the first row's reason, after the rows that say each one's."""
    if result.rows and not any(r.ok for r in result.rows):
        first = result.rows[0]
        raise TokenizerNotFound(
            f"nothing was compared: none of the {len(result.rows)} tokenizers could be loaded "
            f"(first, {first.tokenizer}: {first.error})"
        )


