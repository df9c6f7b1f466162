"""The `tokenprism` command line: one short function per command, each mirroring one library verb.

Commands are click commands registered on `app` (_app.py), each module imported only when its command
runs. `tokenize`, the command people time, also has a path without click (_fast.py), taken when its
arguments are plain. Every `TokenprismError` becomes a one-line message and exit code 2 here, in one
place (tracebacks only with --debug).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ..errors import TokenprismError
from ._io import OutputError, discard_stdout, flush_stdout, guarded_stdout

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tokenprism` script."""
    args = sys.argv[1:] if argv is None else argv
    from ._fast import fast_command

    run = fast_command(args)
    if run is None:
        from ._app import click_main

        def run() -> int:
            return click_main(args)

    with guarded_stdout():
        return guarded(run, debug="--debug" in args)


def guarded(run: Callable[[], int | None], *, debug: bool) -> int:
    """Run a command and turn how it ended into an exit code: 2 and one line for our errors (a write
    to standard output that failed included: the output is flushed here, never left to the exit),
    130 for Ctrl-C, 0 when the reader of our output went away."""
    try:
        code = run() or 0
        flush_stdout()
        return code
    except TokenprismError as exc:
        if isinstance(exc, OutputError):
            discard_stdout()
        if debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        discard_stdout()
        return 0


def __getattr__(name: str) -> Any:
    if name == "app":  # the click group, built on first use
        from ._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
