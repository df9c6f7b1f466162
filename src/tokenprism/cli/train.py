"""train-tokenizer: a tokenizer of your own, from your corpus."""

from __future__ import annotations

import click

from ._app import app
from ._common import json_option
from ._io import emit_json


@app.command("train-tokenizer")
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option("--algorithm", type=click.Choice(["bpe", "byte-bpe", "wordpiece", "unigram"]), default="byte-bpe", show_default=True)
@click.option("--vocab-size", type=int, default=8000, show_default=True, help="Size of the vocabulary to learn.")
@click.option("--special-tokens", multiple=True, help="Extra special tokens (repeat, or separate with commas).")
@click.option("--lowercase", is_flag=True, help="Lowercase text before training and encoding.")
@click.option("--min-frequency", type=int, default=2, show_default=True, help="Ignore pairs/pieces seen fewer times.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder to write tokenizer.json into.")
@click.option("--show-merges", type=int, default=0, help="Print the first N merges learned (BPE).")
@json_option
def train_cmd(corpus, algorithm, vocab_size, special_tokens, lowercase, min_frequency, output, show_merges, as_json):
    """Train a tokenizer (Hugging Face tokenizers' trainers) on files or folders, into a folder
    that every other command reads: -t OUTPUT.

    \b
    Examples:
      tokenprism train-tokenizer src/ --algorithm byte-bpe --vocab-size 4000 -o code-tok --show-merges 20
      tokenprism compare "        return x" -t code-tok -t gpt2
    """
    from ..train import train_tokenizer

    specials = [s.strip() for item in special_tokens for s in item.split(",") if s.strip()]
    result = train_tokenizer(list(corpus), algorithm=algorithm, vocab_size=vocab_size, output=output,
                             special_tokens=specials, lowercase=lowercase, min_frequency=min_frequency,
                             show_merges=show_merges)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"trained a {algorithm} tokenizer with {result.vocab_size:,} tokens into {result.output}")
    if show_merges and not result.merges:
        click.echo(f"({algorithm} learns no merges; try --algorithm bpe or byte-bpe)")
    tok = result.tokenizer
    for i, (left, right) in enumerate(result.merges, 1):
        merged = tok.piece_to_id(left + right)
        label = tok.label(merged) if merged is not None else left + right
        click.echo(f"{i:>4}. {_shown(tok, left)!r} + {_shown(tok, right)!r} → {label!r}")


def _shown(tok, piece: str) -> str:
    """A piece as the text it stands for (Ġ → space), falling back to the raw piece."""
    tid = tok.piece_to_id(piece)
    return tok.label(tid) if tid is not None else piece
