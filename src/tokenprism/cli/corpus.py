"""corpus: statistics of tokenizers over files, folders, JSONL and Parquet."""

from __future__ import annotations

import click

from ..corpus.engines import ENGINES
from ..corpus.readers import GROUP_BY
from ._app import app
from ._common import json_option, tokenizers_option
from ._io import emit_json


@app.command("corpus")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@tokenizers_option
@click.option("--field", help="JSONL key / Parquet column holding the text (default: text).")
@click.option("--group-by", type=click.Choice(list(GROUP_BY)), default="folder", show_default=True,
              help="Statistics per subfolder, per file extension, or for everything together.")
@click.option("--engine", type=click.Choice(list(ENGINES)), default="local", show_default=True,
              help="local: the backends' own batch encoders on every core; ray: Ray Data.")
@click.option("--ray-address", help="Address of an existing Ray cluster (default: start a local Ray).")
@click.option("--ids-engine", type=click.Choice(["auto", "fast", "reference"]), default="auto", show_default=True,
              help="fast: each tokenizer's fastest verified engine ([fast] extra), spot-checked against its own "
                   "library; reference: the library itself; auto: fast from 4 MB of text.")
@click.option("--top", default=10, show_default=True, help="How many most frequent tokens to keep per row.")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a chart of bytes/token: out.png, out.svg or out.html.")
def corpus_cmd(paths, specs, field, group_by, engine, ray_address, ids_engine, top, as_json, as_csv, plot):
    """Tokenizer statistics over a corpus: bytes/token, chars/token, tokens/word, unknown rate,
    share of documents that round-trip, vocabulary used, most frequent tokens; per group.

    Binary and unreadable files are skipped and reported; bad UTF-8 is replaced and counted.

    \b
    Examples:
      tokenprism corpus data/ -t gpt2 -t cl100k_base
      tokenprism corpus docs.jsonl --field body -t gpt2 --json
      tokenprism corpus src/ -t bigcode/starcoder2-15b --group-by ext --plot bpt.png
    """
    from ..corpus import corpus_stats, read_corpus
    from ..errors import UsageError

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    reader = read_corpus(paths, field=field, group_by=group_by)
    quiet = as_json or as_csv
    stats = _with_progress(reader, lambda progress: corpus_stats(
        reader, list(specs), engine=engine, ray_address=ray_address, top=top, progress=progress, ids_engine=ids_engine),
        quiet=quiet)
    if plot:
        from ..render.corpus import write_plot

        written = write_plot(stats, plot)
        if not quiet:
            click.echo(f"chart written to {written}", err=True)
    if as_json:
        emit_json(stats.to_dict())
    elif as_csv:
        click.echo(stats.to_csv(), nl=False)
    else:
        from rich.console import Console

        from ..render.corpus import corpus_view

        console = Console(highlight=False)
        if not console.is_terminal:  # piped: a wide table rather than one folded to 80 columns
            console.width = 200
        console.print(corpus_view(stats))


def _with_progress(reader, run, *, quiet: bool):
    """Run with a rich progress bar on stderr (bytes read of the total), unless output is data."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return run(None)
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("tokenizing", total=reader.total_bytes or None)
        return run(lambda _chars: bar.update(task, completed=reader.report.bytes_read))
