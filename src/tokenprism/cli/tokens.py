"""tokenize, decode, count, info: the tokenizer half of the path."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ..errors import UsageError
from ._app import app
from ._common import input_options, json_option, tokenizer_option
from ._fast import run_tokenize
from ._io import emit_json, load, show



@app.command()
@input_options
@tokenizer_option
@click.option("--ids-only", is_flag=True, help="Print only the ids, space-separated.")
@click.option("--no-special-tokens", is_flag=True, help="Do not add BOS/EOS, [CLS]/[SEP] around the text (add_special_tokens=False).")
@click.option("--split-special-tokens", is_flag=True, help="Treat special-token strings in the text as plain text.")
@click.option("--explain", is_flag=True, help="Show how each token was built: BPE merges with their ranks, WordPiece's longest matches, Unigram's best cut beside the runners-up.")
@json_option
def tokenize(text, file, errors, spec, ids_only, no_special_tokens, split_special_tokens, explain, as_json):
    """Show every token of a text, with its id, piece and the exact text it covers.

    \b
    Examples:
      tokenprism tokenize "Hello world" -t gpt2
      tokenprism tokenize --file notes.md -t cl100k_base --json
      echo "<|endoftext|> is special" | tokenprism tokenize - -t gpt-4o
      tokenprism tokenize "unbelievable" -t bert-base-uncased --explain
    """
    run_tokenize(text=text, file=file, errors=errors, spec=spec, ids_only=ids_only, no_special_tokens=no_special_tokens,
                 split_special_tokens=split_special_tokens, explain=explain, as_json=as_json)


_ASCII_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _parse_ids(values: tuple[str, ...]) -> list[object]:
    """Ids from arguments ('3323 622', '3323,622', '[3323, 622]') or '-' for stdin; kept as given
    when not integers so that the tokenizer names the bad one."""
    if values == ("-",):
        values = (sys.stdin.read(),)
    raw = " ".join(values).replace(",", " ").replace("[", " ").replace("]", " ").split()
    if not raw:
        raise UsageError("no ids given: pass ids as arguments, e.g. tokenprism decode 3323 622 -t gpt2")
    # ASCII digits only: int() also reads "٣" (an Arabic-Indic 3) and Python's isdigit() takes "²"
    return [int(item) if _ASCII_INT.fullmatch(item) else item for item in raw]


@app.command(context_settings={"ignore_unknown_options": True})
@click.argument("ids", nargs=-1, type=click.UNPROCESSED)
@tokenizer_option
@click.option("--skip-special-tokens", is_flag=True, help="Leave special tokens out of the joined text.")
@json_option
def decode(ids, spec, skip_special_tokens, as_json):
    """Turn ids back into tokens and text; fragments of a character are shown as bytes.

    \b
    Examples:
      tokenprism decode 3351 752 -t gpt2
      tokenprism decode 8582 236 113 -t gpt2 --json
    """
    dec = load(spec).decode_tokens(_parse_ids(ids), skip_special_tokens=skip_special_tokens)
    if as_json:
        emit_json(dec.to_dict())
    else:
        from ..render.terminal import decoding_view

        show(decoding_view(dec))


@app.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@tokenizer_option
@click.option("--no-gitignore", is_flag=True, help="Count files that .gitignore excludes too.")
@json_option
def count(paths, spec, no_gitignore, as_json):
    """Count the tokens of files and folders (binary files skipped, .gitignore respected).

    \b
    Examples:
      tokenprism count src/ README.md -t cl100k_base
      tokenprism count . -t gpt2 --json
    """
    from ..count import count_paths

    report = count_paths(load(spec), list(paths), respect_gitignore=not no_gitignore)
    if as_json:
        emit_json(report.to_dict())
    else:
        from ..render.terminal import count_view

        show(count_view(report))
        for path, reason in report.skipped:  # FIFOs, devices, symlinks out of the folder, bad .gitignore lines
            click.echo(f"skipped {path}: {reason}", err=True)


@app.command()
@tokenizer_option
@click.option("--probe/--no-probe", default=True, help="Detect properties by probing the tokenizer's behaviour.")
@json_option
def info(spec, probe, as_json):
    """What a tokenizer is: vocab size, special tokens, model type, what was loaded from where.

    \b
    Examples:
      tokenprism info -t bert-base-uncased
      tokenprism info -t cl100k_base --json
    """
    tok = load(spec)
    details = tok.info()
    properties = None
    if probe:
        from ..properties import detect_properties

        properties = detect_properties(tok)
    # which engine id-only work (count, corpus, fim-transform) uses at scale, and why (tokenizers/fast.py)
    engine = tok.ids_engine() if probe else None
    ids = {"engine": engine.name, "verified": getattr(engine, "verified", ""),
           "passed_over": list(getattr(engine, "tried", []))} if engine is not None else None
    if as_json:
        data = details.to_dict()
        if properties is not None:
            data["properties"] = properties.to_dict()
        if ids is not None:
            data["ids_engine"] = ids
        emit_json(data)
    else:
        from ..render.terminal import info_view

        show(info_view(details, properties.summary() if properties is not None else None))
        if ids is not None:
            click.echo(f"ids engine (count, corpus, fim-transform from 4 MB): {ids['engine']} — {ids['verified']}")
