"""explain, generate, score: the model half of the path (TOKENS → IDS → MODEL → IDS → TOKENS → TEXT)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ._app import app
from ._common import input_options, json_option
from ._io import emit_json, new_console, read_text
from ._live import bundled_note, escape, finish, load_model_from, loading_options, model_option, run_live, section

#: What the marks and numbers of `explain` mean, said once under its tokens and under its table.
WHITESPACE_LEGEND = "· is a space, → a tab, ↵ a newline"
TABLE_LEGEND = ("prob: how likely the model found the token it took · entropy: how unsure it was over all tokens, in bits "
                "(0 = certain; 1 bit = a coin toss between two)")

@app.command()
@click.argument("prompt")
@model_option
@click.option("--max-new-tokens", "-n", type=int, default=12, show_default=True, help="How many tokens to predict.")
@click.option("--show-top", type=int, default=3, show_default=True, help="Alternatives shown per step.")
@click.option("--inside", is_flag=True, help="An eighth step: inside the model, how the first guess formed layer by layer "
              "and where the last token looked.")
@loading_options
def explain(prompt, model_spec, max_new_tokens, show_top, inside, loading):
    """Walk through the whole path in seven steps: text → tokens → ids → the model guessing one token
    at a time → new ids → their tokens → text.

    \b
    Examples:
      tokenprism explain "if __name__ =="
      tokenprism explain "The capital of France is" -m gpt2 -n 5
      tokenprism explain "def add(a, b):" --inside
    """
    from ..generation import check_prompt, generate, prepare_prompt
    from ..render.steps import ids_text, labels_text, stop_line
    from ..render.terminal import tokens_text
    from ..run import check_sampling

    check_sampling(None, None, None, max_new_tokens=max_new_tokens, show_top=show_top)  # before any load
    check_prompt(prompt)
    model = load_model_from(model_spec, loading)
    ready = prepare_prompt(model, prompt, max_new_tokens=max_new_tokens)  # checks before anything is shown
    enc = model.tokenizer.encode(prompt)
    console = new_console()
    console.print(f"[dim]{model.name} · {model.num_parameters:,} parameters · {model.engine} engine · {model.device}[/dim]")
    section(console, 1, "the text")
    console.print(repr(prompt))
    section(console, 2, f"its {_tokens(enc.count)}")
    console.print(tokens_text(enc.tokens))
    console.print(f"[dim]{_legend()}[/dim]")
    section(console, 3, "their ids: the only thing the model sees")
    console.print(ids_text(enc.ids, enc.special))
    for note in ready.notes:
        console.print(f"[yellow]note: {note}[/yellow]")
    section(console, 4, "the model guesses the next token, one at a time (greedy: it always takes the most likely one)")
    gen = run_live(console, lambda on_step: generate(
        prompt, model=model, max_new_tokens=max_new_tokens, show_top=show_top, on_step=on_step), show_top=show_top > 0)
    console.print(f"[dim]{TABLE_LEGEND}[/dim]")
    new_ids = gen.ids
    section(console, 5, "the new ids")
    console.print(ids_text(new_ids, [s.special for s in gen.steps]))
    section(console, 6, "their tokens")
    console.print(labels_text(new_ids, [s.token for s in gen.steps], [s.special for s in gen.steps]))
    section(console, 7, "the text")
    console.print(f"[dim]{escape(gen.prompt)}[/dim][bold]{escape(gen.text)}[/bold]")
    console.print(f"\n[dim]{escape(stop_line(gen))}[/dim]")
    _note_bundled(console, model_spec, prompt)
    if inside:
        _inside(console, model, prompt)
    finish(gen)


def _legend() -> str:
    from ..render.terminal import SEPARATOR, boundaries

    shown = boundaries()
    how = f"{SEPARATOR} between tokens" if shown == "separator" else "each token on its own colour" + (
        ", every second one underlined" if shown == "underline" else "")
    return f"{WHITESPACE_LEGEND} · {how}"


def _note_bundled(console: Any, model_spec: str, prompt: str) -> None:
    note = bundled_note(model_spec, prompt)
    if note is not None:
        console.print(f"[yellow]note: {escape(note)}[/yellow]")


def _inside(console: Any, model: Any, prompt: str) -> None:
    from ..inside import attention, lens
    from ..render.inside import inside_explain

    section(console, 8, "inside the model: how the first guess formed")
    console.print(inside_explain(lens(prompt, model=model, positions="last"), attention(prompt, model=model, last=True)))


def _tokens(n: int) -> str:
    return f"{n} token" if n == 1 else f"{n} tokens"


@app.command()
@click.argument("prompt")
@model_option
@click.option("--max-new-tokens", "-n", type=int, default=40, show_default=True, help="Most tokens to generate.")
@click.option("--temperature", type=float, default=None, help="0 = greedy (default); above 0 samples, higher = more random.")
@click.option("--top-k", type=int, default=None, help="Sample only from the K most likely tokens.")
@click.option("--top-p", type=float, default=None, help="Sample only from the most likely tokens that cover probability P.")
@click.option("--seed", type=int, default=None, help="Seed for sampling: the same seed gives the same text.")
@click.option("--stop", multiple=True, help="Stop when this string appears in the new text (repeatable).")
@click.option("--chat", is_flag=True, help="Wrap the prompt in the model's chat template as a user message.")
@click.option("--system", default=None, help="System message (with --chat).")
@click.option("--show-top", type=int, default=5, show_default=True, help="Alternatives reported per step (0: none).")
@click.option("--stream", is_flag=True, help="Print the text as it is generated (with --json: one JSON line per step).")
@click.option("--show-attention", is_flag=True, help="After generating: where the position that chose each new token looked.")
@json_option
@loading_options
def generate(prompt, model_spec, max_new_tokens, temperature, top_k, top_p, seed, stop, chat, system, show_top,
             stream, show_attention, as_json, loading):
    """Generate text one token at a time and show every step: the token, its probability, the alternatives.

    \b
    Examples:
      tokenprism generate "def fibonacci(n):" -n 30
      tokenprism generate "import " --temperature 0.8 --top-k 20 --seed 1 --json
      tokenprism generate "What is a token?" -m microsoft/Phi-3-mini-4k-instruct --chat --stream
      tokenprism generate "def add(a, b):" -n 8 --show-attention
    """
    from .. import generation
    from ..run import check_sampling

    check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)  # before any load
    generation.check_prompt(prompt, chat=chat, system=system)
    model = load_model_from(model_spec, loading)
    settings = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                    stop=stop, chat=chat, system=system, show_top=show_top)
    console = new_console()
    if as_json:
        gen = generation.generate(prompt, model=model, on_step=_json_line if stream else None, **settings)
        looked = {"attention": _steps_looked(model, gen)} if show_attention else {}
        emit_json({**gen.to_dict(), **looked})
    elif stream:
        gen = _stream(console, model, prompt, settings)
    else:
        from ..generation import prepare_prompt
        from ..render.steps import generation_view
        from ..render.terminal import tokens_text

        ready = prepare_prompt(model, prompt, chat=chat, system=system, max_new_tokens=max_new_tokens)
        # The prompt as the model reads it: a chat template's special tokens show in bold.
        tokens = model.tokenizer.encode(ready.text, add_special_tokens=not chat).tokens
        console.print(_assemble(f"prompt · {_tokens(len(ready.ids))}: ", tokens_text(tokens)))
        gen = run_live(console, lambda on_step: generation.generate(prompt, model=model, on_step=on_step, **settings),
                        show_top=show_top > 0)
        console.print(generation_view(gen, show_steps=False))
    if show_attention and not as_json:
        from ..render.inside import steps_attention_view

        console.print(steps_attention_view(_steps_looked(model, gen)))
    if not chat:
        _note_bundled(new_console(stderr=True) if (as_json or stream) else console, model_spec, prompt)
    finish(gen)


def _steps_looked(model: Any, gen: Any) -> list[dict[str, Any]]:
    """Where each step looked: one causal pass over the prompt and the new ids gives every step's
    attention exactly as the step saw it (a position never sees what comes after it)."""
    from ..inside.attention_maps import attention_over

    ids = list(gen.prompt_ids) + gen.ids
    return attention_over(model, ids, prompt=gen.prompt + gen.text).where_steps_looked(len(gen.prompt_ids))


def _assemble(*parts: Any) -> Any:
    from rich.text import Text

    return Text.assemble(*parts)


def _json_line(step: Any) -> None:
    emit_json(step.to_dict())


def _stream(console: Any, model: Any, prompt: str, settings: dict[str, Any]) -> Any:
    """Print the prompt, then the new text as each token arrives."""
    from .. import generation
    from ..run import TextStream
    from ..render.steps import stop_line

    text = TextStream(model.tokenizer, skip_special_tokens=True)
    if not settings["chat"]:
        click.echo(click.style(prompt, dim=True), nl=False)

    def on_step(step: Any) -> None:
        click.echo(text.push(step.id), nl=False)
        sys.stdout.flush()

    gen = generation.generate(prompt, model=model, on_step=on_step, **{**settings, "show_top": 0})
    click.echo("")
    console.stderr = True
    console.print(f"[dim]{escape(stop_line(gen))}[/dim]")
    return gen


@app.command()
@input_options
@model_option
@json_option
@loading_options
def score(text, file, errors, model_spec, as_json, loading):
    """How likely the model finds a text: each token's probability and surprisal, the log-likelihood and
    perplexity (forced decoding: the text's own tokens are fed in, nothing is generated).

    \b
    Examples:
      tokenprism score "for i in range(10):"
      tokenprism score --file snippet.py -m gpt2 --json
    """
    from .. import scoring

    content = read_text(text, file, errors=errors)
    scoring.check_text(content)  # before any load
    model = load_model_from(model_spec, loading)
    result = scoring.score(content, model=model)
    if as_json:
        emit_json(result.to_dict())
    else:
        from ..render.steps import score_view

        new_console().print(score_view(result))
