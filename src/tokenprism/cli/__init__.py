"""The `tokenprism` command line: one short function per command, each mirroring one library verb.

Command modules register themselves on `app` when imported; every `TokenprismError` becomes a
one-line message and exit code 2 here, in one place (tracebacks only with --debug).
"""

from __future__ import annotations

import sys

import click

from ..errors import TokenprismError

__all__ = ["app", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="tokenprism")
@click.pass_context
def app(ctx: click.Context, debug: bool) -> None:
    """See how a language model sees text: TEXT → TOKENS → IDS → MODEL → IDS → TOKENS → TEXT.

    \b
    Shell completion (bash):  eval "$(_TOKENPRISM_COMPLETE=bash_source tokenprism)"
    """
    ctx.obj = {"debug": debug}


# Each module below adds its commands to `app`. Keep their imports light: heavy libraries are
# imported inside the command functions.
from . import tokens  # noqa: E402,F401

for _optional in ("compare", "model", "fim_data", "infill", "embed", "serve"):
    try:
        __import__(f"{__name__}.{_optional}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"{__name__}.{_optional}":
            raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tokenprism` script."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app.main(args=args, prog_name="tokenprism", standalone_mode=False)
    except TokenprismError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return 0
