"""Rendering of fill-in-the-middle: the assembled prompt (sentinels marked), the steps, and the
completed text with the middle highlighted. Terminal views are rich renderables; HTML views are
self-contained strings built on `render.html` and `render.steps` (same colour per id everywhere).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.style import Style
from rich.text import Text

from .html import DISPLAY_LIMIT as HTML_LIMIT
from .html import STYLE, count_noun, escape, token_colours, token_span
from .steps import STEPS_STYLE, ids_text, step_row_html
from .terminal import DISPLAY_LIMIT, SEPARATOR, boundaries, chain_styles, terminal_label

if TYPE_CHECKING:
    from ..fim.formats import FimPrompt
    from ..infilling import Infill

__all__ = ["fim_prompt_view", "completed_text", "infill_stop_line", "fim_prompt_html", "infill_html"]

#: How the middle stands out in a terminal.
MIDDLE_STYLE = Style(color="black", bgcolor="rgb(170,230,150)", bold=True)

INFILL_STYLE = """<style>
.tp-sentinel{outline:2px solid #333;font-weight:700}
.tp-middle{background:#aae696;font-weight:600;border-radius:2px}
.tp-ctx{color:#555}
</style>"""

_REASONS = {
    "eos": "the model closed the middle",
    "length": "reached --max-new-tokens (the middle may be unfinished)",
    "interrupted": "interrupted (Ctrl-C); kept what was generated",
    "time": "stopped at the time limit",
}


# --- terminal -------------------------------------------------------------------------------------
def prompt_header(prompt: FimPrompt) -> str:
    fmt = prompt.format
    return f"format {fmt.name} ({fmt.family}) · {prompt.mode} · {count_noun(len(prompt.ids), 'token')} · {prompt.tokenizer.name}"


def sentinel_legend(prompt: FimPrompt) -> str:
    tok = prompt.tokenizer
    used = dict.fromkeys(i for i, r in zip(prompt.ids, prompt.roles) if r == "sentinel")
    shown = " · ".join(f"{tok.label(i)} = {i}" for i in used)
    stops = ", ".join(f"{tok.label(i)} = {i}" for i in sorted(prompt.stop_ids))
    return f"sentinels: {shown}\nthe middle ends at: {stops}"


def _elided(prompt: FimPrompt, limit: int) -> list[str]:
    extra = len(prompt.ids) - limit
    return [f"… {extra:,} more tokens not shown (use --json for all)"] if extra > 0 else []


def fim_prompt_view(prompt: FimPrompt, *, limit: int = DISPLAY_LIMIT) -> Group:
    """The prompt as tokens (sentinels bold and underlined), its ids, the legend and any notes."""
    tokens, shown = Text(), prompt.encoding.tokens[:limit]
    bar = SEPARATOR if boundaries() == "separator" else ""
    styles = chain_styles([t.id for t in shown], [t.special for t in shown])
    for k, (token, role, style) in enumerate(zip(shown, prompt.roles, styles)):
        label = token.label if token.special or token.fragment else terminal_label(token.label)
        if role == "sentinel":
            style += Style(bold=True, underline=True)
        if k and bar:
            tokens.append(bar, style="dim")
        tokens.append(label, style=style)
    parts: list = [
        Text(prompt_header(prompt), style="bold"),
        tokens,
        Text(""),
        ids_text(prompt.ids[:limit], prompt.encoding.special),
        Text(sentinel_legend(prompt), style="dim"),
    ]
    parts += [Text(f"note: {n}", style="yellow") for n in [*_elided(prompt, limit), *prompt.notes]]
    return Group(*parts)


def completed_text(result: Infill) -> Text:
    """prefix + middle + suffix, the middle highlighted (an empty middle shows as ∅)."""
    return Text.assemble(
        (result.prefix, "dim"),
        (result.middle, MIDDLE_STYLE) if result.middle else ("∅", MIDDLE_STYLE),
        (result.suffix, "dim"),
    )


def infill_stop_line(result: Infill, *, cli: bool = True) -> str:
    """How the middle ended; `cli=False` (a notebook) says max_new_tokens, as Python names it."""
    seed = f" · seed {result.seed}" if result.seed is not None else ""
    reason = _REASONS.get(result.stop_reason, result.stop_reason)
    if not cli:
        reason = reason.replace("--max-new-tokens", "max_new_tokens")
    return f"{result.model} · {result.format} ({result.mode}) · {count_noun(len(result.steps), 'new token')} · {reason}{seed}"


# --- HTML -----------------------------------------------------------------------------------------
def _prompt_block(prompt: FimPrompt, limit: int = HTML_LIMIT) -> str:
    spans, shown = [], prompt.encoding.tokens[:limit]
    for token, role, colour in zip(shown, prompt.roles, token_colours(t.id for t in shown)):
        span = token_span(token, colour=colour)
        spans.append(span.replace('class="tp-tok', 'class="tp-tok tp-sentinel', 1) if role == "sentinel" else span)
    notes = "".join(f'<div class="tp-note">{escape(n)}</div>' for n in [*_elided(prompt, limit), *prompt.notes])
    legend = escape(sentinel_legend(prompt)).replace("\n", "<br>")
    return (
        f'<div class="tp-meta">{escape(prompt_header(prompt))}</div><div>{"".join(spans)}</div>'
        f'<div class="tp-ids">{" ".join(map(str, prompt.ids[:limit]))}</div><div class="tp-meta">{legend}</div>{notes}'
    )


def fim_prompt_html(prompt: FimPrompt) -> str:
    """A FIM prompt as a self-contained HTML block: its tokens (sentinels outlined), ids and legend."""
    return f'{STYLE}{INFILL_STYLE}<div class="tp">{_prompt_block(prompt)}</div>'


def infill_html(result: Infill) -> str:
    """An infill as a self-contained HTML block: prompt tokens, a row per step, the completed text."""
    rows = "".join(step_row_html(s) for s in result.steps)
    middle = escape(result.middle) if result.middle else "∅"
    return (
        f'{STYLE}{STEPS_STYLE}{INFILL_STYLE}<div class="tp">{_prompt_block(result.fim_prompt)}'
        '<table class="tp-steps"><tr><th>step</th><th>token</th><th>id</th><th>prob</th>'
        f"<th>entropy (bits)</th><th>top alternatives</th></tr>{rows}</table>"
        f'<div class="tp-text"><span class="tp-ctx">{escape(result.prefix)}</span>'
        f'<mark class="tp-middle">{middle}</mark><span class="tp-ctx">{escape(result.suffix)}</span></div>'
        f'<div class="tp-meta">{escape(infill_stop_line(result, cli=False))}</div></div>'
    )
