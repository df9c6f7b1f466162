"""What the model commands share (explain, generate, score, infill): the options that load a model,
the console, numbered sections, and the live table of steps."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from ._io import new_console

__all__ = ["model_option", "loading_options", "load_model_from", "section", "escape", "run_live", "finish"]

model_option = click.option(
    "-m", "--model", "model_spec", default="prism-tiny", show_default=True,
    help="Causal LM: a Hub id (gpt2), a local folder, or prism-tiny (bundled, offline).",
)


_LOADING = ("engine", "device", "dtype", "allow_pickle", "trust_remote_code", "revision")


def loading_options(f: Callable) -> Callable:
    """Where and how the model is loaded (engine, device, dtype, the two consents, revision); the
    command receives them together as one `loading` dict, which `load_model_from` takes as it is."""
    from ..models.engines import ENGINES

    @functools.wraps(f)
    def command(**params: Any) -> Any:
        return f(loading={k: params.pop(k) for k in _LOADING}, **params)

    options = [
        click.option("--engine", type=click.Choice(list(ENGINES)), default="auto", show_default=True,
                     help="numpy: the transparent Llama engine (no torch); torch: transformers; auto: numpy for the bundled models."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps (torch engine)."),
        click.option("--dtype", type=click.Choice(["auto", "float32", "float16", "bfloat16"]), default="auto", show_default=True,
                     help="Weights' precision (auto: float32 on CPU)."),
        click.option("--allow-pickle", is_flag=True, help="Also load pickle weights (pytorch_model.bin), which can run code."),
        click.option("--trust-remote-code", is_flag=True, help="Run the model's own Python code from its repo (only if you trust it)."),
        click.option("--revision", default=None, help="Hub revision (branch, tag or commit)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_model_from(spec: str, loading: dict[str, Any]) -> Any:
    """Load the model, with one status line on a terminal while it takes (the libraries' own bars stay off)."""
    from ..models import load_model

    if not sys.stderr.isatty():
        return load_model(spec, **loading)
    with new_console(stderr=True).status(f"loading {spec} …", spinner="dots"):
        return load_model(spec, **loading)


def section(console: Any, number: int, title: str) -> None:
    console.print(f"\n[bold]{number} · {title}[/bold]")


def escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class _GrowingTable:
    """The steps so far as a table, built only when the display draws (a few times a second), not at
    every step: a 200-token run on a terminal costs about what it costs piped."""

    def __init__(self, steps: list, *, show_top: bool) -> None:
        self.steps, self.show_top = steps, show_top

    def __rich__(self) -> Any:
        from ..render.steps import steps_table

        return steps_table(self.steps, show_top=self.show_top)


def run_live(console: Any, run: Callable[[Callable], Any], *, show_top: bool) -> Any:
    """Run a generation while a live table grows one row per step (plain output when not a terminal).

    On a terminal the table is redrawn at most 8 times a second, from the steps so far; piped, it is
    printed once at the end."""
    from rich.live import Live

    steps: list = []
    with Live(_GrowingTable(steps, show_top=show_top), console=console, refresh_per_second=8,
              auto_refresh=console.is_terminal):
        result = run(steps.append)
    if not console.is_terminal:
        console.line()  # the last row printed when the live display closed ends without a newline
    return result


def finish(gen: Any) -> None:
    """After showing what was made: Ctrl-C still ends the command as interrupted (exit 130)."""
    if gen.stop_reason == "interrupted":
        raise KeyboardInterrupt
