"""lens, attention, attribute: inside the model (the MATH step), one library verb each."""

from __future__ import annotations

import click

from ._app import app
from ._common import json_option
from ._io import emit_json, new_console
from ._live import load_model_from, loading_options, model_option


@app.command()
@click.argument("prompt")
@model_option
@click.option("--top", type=int, default=5, show_default=True, help="Top tokens kept per layer and position.")
@click.option("--positions", type=click.Choice(["all", "last"]), default="all", show_default=True,
              help="Every position, or only the last (the next-token guess; keeps far less).")
@json_option
@loading_options
def lens(prompt, model_spec, top, positions, as_json, loading):
    """Logit lens: what each layer would predict next, at every position (each layer's state put
    through the model's own final norm and head). Layer 0 is the embeddings, the last the output.

    \b
    Examples:
      tokenprism lens "def add(a, b):"
      tokenprism lens "The capital of France is" -m gpt2 --positions last --json
    """
    from ..generation import check_prompt
    from .. import inside
    from ..inside.logit_lens import check_lens_options

    check_prompt(prompt)
    check_lens_options(top=top, positions=positions)  # before any load
    result = inside.lens(prompt, model=load_model_from(model_spec, loading), top=top, positions=positions)
    if as_json:
        emit_json(result.to_dict())
    else:
        from ..render.inside import lens_view

        console = new_console()
        console.print(lens_view(result, width=console.width))


@app.command()
@click.argument("prompt")
@model_option
@click.option("--layer", type=int, default=None, help="Only this layer (1 = the first block, -1 = the last).")
@click.option("--head", type=int, default=None, help="Only this head (from 0; query heads, also under grouped-query attention).")
@click.option("--token", "position", type=int, default=-1, show_default=True,
              help="The token whose attention is summed up (its position from 0; -1 = the last).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw heat maps to FILE: .html (no extra needed), .png or .svg (matplotlib).")
@json_option
@loading_options
def attention(prompt, model_spec, layer, head, position, plot, as_json, loading):
    """Attention: where each token looked, per layer and head (row = the token attending, column =
    the token attended to; every row sums to 1). One --layer and --head: its heat map.

    \b
    Examples:
      tokenprism attention "def add(a, b): return a + b"
      tokenprism attention "The cat sat on the mat" -m gpt2 --layer -1 --head 3 --plot heads.html
    """
    from ..errors import UsageError
    from ..generation import check_prompt
    from .. import inside
    from ..inside.attention_maps import check_attention_options

    check_prompt(prompt)
    check_attention_options(layer=layer, head=head)
    if plot:
        from ..render.plots import check_plot_path

        check_plot_path(plot)  # before any load
    result = inside.attention(prompt, model=load_model_from(model_spec, loading), layer=layer, head=head)
    if not -len(result.ids) <= position < len(result.ids):
        raise UsageError(f"--token {position} is out of range: the prompt has {len(result.ids)} tokens (0 to {len(result.ids) - 1})")
    if plot:
        from ..render.inside_html import save_attention_plot

        save_attention_plot(result, plot, position=position)
    if as_json:
        emit_json(result.to_dict())
    else:
        from ..render.inside import attention_view

        console = new_console()
        console.print(attention_view(result, position=position))
        if plot:
            console.print(f"[dim]heat maps written to {plot}[/dim]")


@app.command()
@click.argument("prompt")
@click.option("--target", required=True, help="The continuation to explain (forced after the prompt, not sampled).")
@model_option
@click.option("--method", type=click.Choice(["integrated-gradients", "grad-x-input"]), default="integrated-gradients",
              show_default=True, help="Integrated gradients adds up to the log-probability change; grad × input is one pass.")
@click.option("--steps", type=int, default=32, show_default=True, help="Integration points (integrated gradients).")
@json_option
@loading_options
def attribute(prompt, target, model_spec, method, steps, as_json, loading):
    """Attribution: how much each prompt token contributed to log p(TARGET | PROMPT). Gradients run
    on the torch engine (prism-tiny is loaded there too); the baseline is the pad token's embedding.

    \b
    Examples:
      tokenprism attribute "def add(a, b):" --target " return a + b"
      tokenprism attribute "The capital of France is" --target " Paris" -m gpt2 --json
    """
    from ..generation import check_prompt
    from .. import inside
    from ..inside.attribution import check_attribute_options

    check_prompt(prompt)
    check_attribute_options(target=target, method=method, steps=steps)  # before any load
    if loading["engine"] == "auto":  # gradients need torch: load the model there at once, not twice
        loading = {**loading, "engine": "torch"}
    result = inside.attribute(prompt, target, model=load_model_from(model_spec, loading), method=method, steps=steps)
    if as_json:
        emit_json(result.to_dict())
    else:
        from ..render.inside import attribution_view

        new_console().print(attribution_view(result))
