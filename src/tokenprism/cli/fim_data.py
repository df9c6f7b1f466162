"""fim-transform: FIM training data from files, folders, JSONL and Parquet (Bavarian et al. 2022).

The command is `tokenprism.fim.write_fim_data` behind options; engines and output formats are the
library's tables (`corpus.engines.ENGINES`, `fim.writers.WRITERS`).
"""

from __future__ import annotations

import click

from ..corpus.engines import ENGINES
from ..fim.writers import WRITERS
from ._app import app
from ._common import json_option, tokenizer_option
from ._io import emit_json


@app.command("fim-transform")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="out.txt (text), out.jsonl (JSONL) or a folder (token-id .npy shards); see --format.")
@click.option("--field", help="JSONL key / Parquet column holding the text (default: text); also the JSONL output key.")
@click.option("--fim-rate", type=float, default=0.5, show_default=True, help="Share of documents given FIM.")
@click.option("--spm-rate", type=float, default=0.5, show_default=True, help="Share of FIM documents in SPM order.")
@click.option("--level", type=click.Choice(["document", "context"]), default="document", show_default=True,
              help="document: transform whole documents; context: pack into --context-length tokens first.")
@click.option("--context-length", type=int, default=2048, show_default=True, help="Tokens per context (--level context).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same output.")
@tokenizer_option
@click.option("--sentinels", help="Explicit sentinel strings PRE,SUF,MID,EOT (default: the tokenizer's own).")
@click.option("--format", "out_format", type=click.Choice(["auto", *WRITERS]), default="auto", show_default=True,
              help="auto: from -o (.txt text, .jsonl JSONL, else a folder of token ids).")
@click.option("--shard-tokens", type=int, default=1 << 26, show_default=True, help="Token ids per .npy shard.")
@click.option("--engine", type=click.Choice(list(ENGINES)), default="local", show_default=True,
              help="local: this process; ray: Ray Data (a local Ray, or --ray-address).")
@click.option("--ray-address", help="Address of an existing Ray cluster (default: start a local Ray).")
@json_option
def fim_transform_cmd(paths, output, field, fim_rate, spm_rate, level, context_length, seed, spec, sentinels,
                      out_format, shard_tokens, engine, ray_address, as_json):
    """Make fill-in-the-middle training data: with probability --fim-rate cut each document at two
    random characters into prefix/middle/suffix and write PSM (<PRE>p<SUF>s<MID>m<EOT>) or, for
    --spm-rate of them, SPM (<PRE><SUF>s<MID>p m<EOT>). Un-permutable; --seed makes it repeatable.

    \b
    Examples:
      tokenprism fim-transform src/ -o fim.jsonl -t prism-tiny
      tokenprism fim-transform docs.jsonl --field content -o fim.txt --sentinels '<PRE>,<SUF>,<MID>,<EOT>'
      tokenprism fim-transform corpus/ -o shards/ -t bigcode/starcoder2-3b --level context --context-length 4096
    """
    from ..fim import write_fim_data

    try:
        summary = write_fim_data(
            paths, output, tokenizer=spec, sentinels=sentinels, field=field, fim_rate=fim_rate, spm_rate=spm_rate,
            level=level, context_length=context_length, seed=seed, output_format=out_format, shard_tokens=shard_tokens,
            engine=engine, ray_address=ray_address,
        )
    except KeyboardInterrupt:
        click.echo(f"fim-transform stopped: nothing was written to {output}", err=True)
        raise
    if as_json:
        emit_json(summary)
    else:
        tokens = f", {summary['tokens']:,} tokens" if "tokens" in summary else ""
        click.echo(f"{summary['documents']:,} documents → {summary['outputs']:,} {level} outputs{tokens} → "
                   f"{summary['output']} ({summary['format']})")
