"""What the model commands share (explain, generate, score, infill): the options that load a model,
the console, numbered sections, and the live table of steps."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from ._io import new_console

__all__ = ["model_option", "loading_options", "load_model_from", "section", "escape", "run_live", "finish"]

model_option = click.option(
    "-m", "--model", "model_spec", default="prism-tiny", show_default=True,
    help="Causal LM: a Hub id (gpt2), a local folder, or prism-tiny (bundled, offline).",
)


def loading_options(f: Callable) -> Callable:
    """Where and how the model is loaded: device, dtype, and the two consents."""
    f = click.option("--revision", default=None, help="Hub revision (branch, tag or commit).")(f)
    f = click.option("--trust-remote-code", is_flag=True, help="Run the model's own Python code from its repo (only if you trust it).")(f)
    f = click.option("--allow-pickle", is_flag=True, help="Also load pickle weights (pytorch_model.bin), which can run code.")(f)
    f = click.option("--dtype", type=click.Choice(["auto", "float32", "float16", "bfloat16"]), default="auto", show_default=True,
                     help="Weights' precision (auto: float32 on CPU).")(f)
    return click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")(f)


def load_model_from(spec: str, options: dict[str, Any]) -> Any:
    from ..models import load_model

    return load_model(spec, progress=sys.stderr.isatty(), **options)


def section(console: Any, number: int, title: str) -> None:
    console.print(f"\n[bold]{number} · {title}[/bold]")


def escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def run_live(console: Any, run: Callable[[Callable], Any], *, show_top: bool) -> Any:
    """Run a generation while a live table grows one row per step (plain output when not a terminal)."""
    from rich.live import Live

    from ..render.steps import steps_table

    steps: list = []
    with Live(steps_table(steps, show_top=show_top), console=console, refresh_per_second=10,
              auto_refresh=console.is_terminal) as live:
        def on_step(step: Any) -> None:
            steps.append(step)
            live.update(steps_table(steps, show_top=show_top), refresh=console.is_terminal)

        result = run(on_step)
    if not console.is_terminal:
        console.line()  # the last row printed when the live display closed ends without a newline
    return result


def finish(gen: Any) -> None:
    """After showing what was made: Ctrl-C still ends the command as interrupted (exit 130)."""
    if gen.stop_reason == "interrupted":
        raise KeyboardInterrupt
