"""infill: fill in the middle with a FIM-trained model, showing the prompt it really reads."""

from __future__ import annotations

import click

from ._app import app
from ._common import errors_option, json_option
from ._io import emit_json, load, new_console, read_text
from ._live import escape, finish, load_model_from, loading_options, model_option, run_live, section
from ..errors import UsageError
from ..fim.formats import FORMATS


@app.command()
@model_option
@click.option("--prefix", default=None, help="The text before the gap (may be empty).")
@click.option("--suffix", default=None, help="The text after the gap (may be empty).")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False, allow_dash=True),
              help="A file with one <FILL> marker where the middle goes ('-' = stdin).")
@errors_option
@click.option("--mode", type=click.Choice(["psm", "spm"]), default=None,
              help="Prefix-suffix-middle or suffix-prefix-middle order (default: the format's own).")
@click.option("--fim-format", default=None, metavar="NAME",
              help=f"Override the detected format: {', '.join(FORMATS)}.")
@click.option("--max-new-tokens", "-n", type=int, default=64, show_default=True, help="Most tokens for the middle.")
@click.option("--temperature", type=float, default=None, help="0 = greedy (default); above 0 samples.")
@click.option("--top-k", type=int, default=None, help="Sample only from the K most likely tokens.")
@click.option("--top-p", type=float, default=None, help="Sample only from the most likely tokens that cover probability P.")
@click.option("--seed", type=int, default=None, help="Seed for sampling: the same seed gives the same middle.")
@click.option("--show-top", type=int, default=3, show_default=True, help="Alternatives reported per step (0: none).")
@click.option("--heal/--no-heal", default=True, show_default=True,
              help="Token healing: take the prefix's last token back and let the middle write it again.")
@click.option("--prompt-only", is_flag=True, help="Only assemble and show the prompt (no model; with -t for any tokenizer).")
@click.option("-t", "--tokenizer", "spec", default=None, help="With --prompt-only: the tokenizer to assemble for (default: the model's).")
@json_option
@loading_options
def infill(model_spec, prefix, suffix, file, errors, mode, fim_format, max_new_tokens, temperature, top_k, top_p, seed,
           show_top, heal, prompt_only, spec, as_json, loading):
    """Fill in the middle: assemble the model's own FIM prompt (sentinels marked), generate the middle
    one token at a time until its end-of-middle token, and show the completed text.

    \b
    Examples:
      tokenprism infill --prefix $'def add(a, b):\\n    ' --suffix $'\\n\\nprint(add(1, 2))'
      tokenprism infill --file snippet.py --json          # snippet.py holds one <FILL>
      tokenprism infill --prompt-only -t Qwen/Qwen2.5-Coder-0.5B --prefix 'x = ' --suffix ''
    """
    from ..fim.formats import assemble_fim_prompt

    from ..run import check_sampling

    if not prompt_only:  # settings first: a typo answers before any file or model loads
        check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)
    before, after = fim_texts(prefix, suffix, file, errors=errors)
    if spec is not None and not prompt_only:
        raise UsageError("-t/--tokenizer goes with --prompt-only; to infill, the model's own tokenizer is used")
    # Assembled before any weights are loaded: a model with no FIM sentinels fails in a blink.
    prompt = assemble_fim_prompt(load(spec or model_spec), prefix=before, suffix=after, mode=mode, fim_format=fim_format,
                                 heal=heal)
    if prompt_only:
        _show_prompt(prompt, as_json=as_json)
        return
    model = load_model_from(model_spec, loading)
    settings = dict(prefix=before, suffix=after, mode=mode, fim_format=fim_format, heal=heal, max_new_tokens=max_new_tokens,
                    temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, show_top=show_top)
    finish(_run(model, settings, as_json=as_json))


def fim_texts(prefix: str | None, suffix: str | None, file: str | None, *, errors: str) -> tuple[str, str]:
    """(prefix, suffix) from --prefix/--suffix (either may be empty) or from a file with one <FILL>."""
    from ..infilling import split_at_fill

    if file is not None:
        if prefix is not None or suffix is not None:
            raise UsageError("give --prefix/--suffix or --file, not both")
        return split_at_fill(read_text(None, file, errors=errors), source="stdin" if file == "-" else file)
    if prefix is None and suffix is None:
        raise UsageError("nothing to fill: give --prefix and --suffix, or --file F with one <FILL> marker")
    return prefix or "", suffix or ""


def _show_prompt(prompt, *, as_json: bool) -> None:
    if as_json:
        emit_json(prompt.to_dict())
        return
    from ..render.infill import fim_prompt_view

    new_console().print(fim_prompt_view(prompt))


def _run(model, settings: dict, *, as_json: bool):
    from ..infilling import fim_prompt_for, infill_prompt
    from ..render.infill import completed_text, fim_prompt_view, infill_stop_line

    place = {k: settings.pop(k) for k in ("prefix", "suffix", "mode", "fim_format", "heal")}
    prompt = fim_prompt_for(model, max_new_tokens=settings["max_new_tokens"], **place)
    if as_json:
        result = infill_prompt(model, prompt, **settings)
        emit_json(result.to_dict())
        return result
    console = new_console()
    section(console, 1, "the prompt the model reads (sentinels underlined)")
    console.print(fim_prompt_view(prompt))
    section(console, 2, "the model writes the middle, one token at a time")
    result = run_live(console, lambda on_step: infill_prompt(model, prompt, on_step=on_step, **settings),
                       show_top=settings["show_top"] > 0)
    section(console, 3, "the completed text (middle highlighted)")
    console.print(completed_text(result))
    console.print(f"\n[dim]{escape(infill_stop_line(result))}[/dim]")
    return result
