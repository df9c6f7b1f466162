"""What the model commands share (explain, generate, score, infill): the options that load a model,
the console, numbered sections, and the live table of steps."""

from __future__ import annotations

import functools
import re
import sys
import time
from typing import Any, Callable

import click

from ._io import new_console

__all__ = ["model_option", "loading_options", "load_model_from", "section", "escape", "run_live", "finish", "looks_like_code",
           "bundled_note"]

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
    """A numbered heading; a blank line before each but the first (an output never starts with a blank line)."""
    console.print(f"{chr(10) if number > 1 else ''}[bold]{number} · {title}[/bold]")


def escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class _TableTail:
    """The last rows of the steps so far, built only when the display draws (a few times a second),
    never at every step, and never more rows than the terminal shows."""

    def __init__(self, steps: list, *, show_top: bool, rows: int) -> None:
        self.steps, self.show_top, self.rows = steps, show_top, rows

    def __rich__(self) -> Any:
        from ..render.steps import steps_table

        return steps_table(self.steps[-self.rows :], show_top=self.show_top)


def run_live(console: Any, run: Callable[[Callable], Any], *, show_top: bool) -> Any:
    """Run a generation and show its steps as a table. On a terminal the table's last rows grow live,
    redrawn from the generation's own thread at most 4 times a second (no refresh thread competing
    with the model for the cores), so a 200-token run costs about what it costs piped; then the whole
    table is printed once, as it is when the output is piped."""
    from rich.live import Live

    from ..render.steps import steps_table

    steps: list = []
    if not console.is_terminal:
        result = run(steps.append)
    else:
        tail = _TableTail(steps, show_top=show_top, rows=max(4, min(console.height - 6, 16)))
        with Live(tail, console=console, auto_refresh=False, transient=True) as live:
            drawn = [0.0]

            def on_step(step: Any) -> None:
                steps.append(step)
                if time.monotonic() - drawn[0] >= 0.25:
                    live.refresh()
                    drawn[0] = time.monotonic()

            result = run(on_step)
    console.print(steps_table(steps, show_top=show_top))
    return result


def finish(gen: Any) -> None:
    """After showing what was made: Ctrl-C still ends the command as interrupted (exit 130), quietly:
    the stop line has already said "interrupted (Ctrl-C); kept what was generated"."""
    if gen.stop_reason == "interrupted":
        raise click.exceptions.Exit(130)


#: A prompt "looks like code" when it has one of these: a Python keyword or decorator starting a line, a
#: bracket, brace, =, < or >, a dunder name, a line ending in a colon, or a comment line. Prose seldom has
#: any; the bundled model only knows code, so prose gets a note (see `bundled_note`).
_CODE_HINTS = re.compile(
    r"^\s*(?:def|class|import|from|return|if|elif|else|for|while|with|try|except|finally|print|async|await|"
    r"lambda|yield|raise|assert|pass|@)(?:\b|$)|[()\[\]{}=<>]|__\w+__|:[ \t]*$|^\s*#",
    re.MULTILINE,
)


def looks_like_code(text: str) -> bool:
    """Whether a prompt looks like (Python) code, by the simple rule of `_CODE_HINTS`.

    >>> looks_like_code("def add(a, b):"), looks_like_code("if __name__ =="), looks_like_code("The capital of France is")
    (True, True, False)
    """
    return bool(_CODE_HINTS.search(text))


BUNDLED_MODELS = ("prism-tiny",)


def bundled_note(model_spec: str, prompt: str) -> str | None:
    """The note a prose prompt gets on the bundled model (once per command), or None."""
    if model_spec not in BUNDLED_MODELS or looks_like_code(prompt):
        return None
    return (f"{model_spec} was trained only on Python source (the standard library), so it continues any text as "
            "Python code; for a general model pass -m with a Hub id, e.g. -m gpt2 or -m Qwen/Qwen2.5-0.5B-Instruct")
