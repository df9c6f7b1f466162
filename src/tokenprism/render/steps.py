"""Rendering of the model half: generation steps, the `explain` lesson, and scores.

Terminal views are rich renderables; HTML views are self-contained strings built on the shared
primitives of `render.html` (every label escaped, same colour per id as everywhere else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .html import STYLE, count_noun, escape, id_colour, visible_whitespace
from .terminal import SEPARATOR, boundaries, chain_styles, terminal_label, token_style

if TYPE_CHECKING:
    from ..generation import Generation
    from ..run import Candidate, Step
    from ..scoring import ScoreResult

__all__ = [
    "steps_table",
    "ids_text",
    "labels_text",
    "generation_view",
    "score_view",
    "generation_html",
    "score_html",
    "surprisal_colour",
    "step_row_html",
]

STEPS_STYLE = """<style>
.tp-steps{border-collapse:collapse;font-size:12px;margin:6px 0!important;table-layout:auto!important}
.tp-steps th,.tp-steps td{padding:2px 8px;text-align:left!important;vertical-align:top!important;border-bottom:1px solid #eee}
.tp-steps td.num{text-align:right!important;font-variant-numeric:tabular-nums}
.tp-bar{display:inline-block;height:8px;background:#4a7fd4;vertical-align:middle;margin-right:4px}
.tp-alt{color:#444;margin-right:8px;white-space:pre}
.tp-text{white-space:pre-wrap;border-left:3px solid #ccc;padding-left:8px;margin:6px 0}
</style>"""


# --- terminal ----------------------------------------------------------------------------------
def _label(label: str, special: bool) -> str:
    # In a table cell a newline token shows as ↵ without breaking the row.
    return label if special or label.startswith("<0x") else terminal_label(label).replace("↵\n", "↵")


def token_chip(token_id: int, label: str, *, special: bool = False) -> Text:
    """One token on its id's colour (whitespace visible), as everywhere in tokenprism."""
    return Text(_label(label, special), style=token_style(token_id, special=special))


def labels_text(ids: Sequence[int], labels: Sequence[str], specials: Sequence[bool]) -> Text:
    """Tokens side by side on their colours (never a neighbour's; a thin bar between them where no colour shows)."""
    bar = SEPARATOR if boundaries() == "separator" else ""
    text = Text()
    for k, (label, special, style) in enumerate(zip(labels, specials, chain_styles(list(ids), specials))):
        if k and bar:
            text.append(bar, style="dim")
        text.append(_label(label, special), style=style)
    return text


def ids_text(ids: Iterable[int], specials: Iterable[bool] | None = None) -> Text:
    """Ids in their tokens' colours (as `labels_text` and `tokens_text` colour them), space separated."""
    ids = list(ids)
    text = Text()
    for tid, style in zip(ids, chain_styles(ids, specials if specials is not None else _always(False))):
        text.append(str(tid), style=style)
        text.append(" ")
    return text


def _always(value: bool) -> Iterable[bool]:
    while True:
        yield value


def fmt_prob(p: float) -> str:
    """A probability as a percentage that never shows a real chance as 0.0%.

    >>> fmt_prob(0.4567), fmt_prob(0.00002), fmt_prob(2e-9)
    ('45.7%', '0.002%', '2.0e-09')
    """
    if p == 0 or p >= 0.001:
        return f"{p:.1%}"
    return f"{p * 100:.2g}%" if p >= 1e-6 else f"{p:.1e}"


def _alternatives(top: Sequence[Candidate], chosen: int) -> Text:
    text = Text()
    for cand in top:
        text.append_text(token_chip(cand.id, cand.token))
        text.append(f" {fmt_prob(cand.prob)}  ", style="bold" if cand.id == chosen else "dim")
    return text


def steps_table(steps: Sequence[Step], *, show_top: bool = True, title: str | None = None) -> Table:
    """One row per step: step, token, id, probability, top alternatives (the live table of explain)."""
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    table.add_column("step", justify="right")
    table.add_column("token")
    table.add_column("id", justify="right")
    table.add_column("prob", justify="right")
    table.add_column("entropy", justify="right")
    if show_top:
        table.add_column("top alternatives")
    for step in steps:
        row = [
            str(step.index + 1),
            token_chip(step.id, step.token, special=step.special),
            str(step.id),
            fmt_prob(step.prob),
            f"{step.entropy:.2f} bits",
        ]
        table.add_row(*row, *([_alternatives(step.top, step.id)] if show_top else []))
    return table


def generation_view(gen: Generation, *, show_steps: bool = True, show_top: bool = True) -> Group:
    """A finished generation: the steps (unless a live table already showed them), then the prompt
    and the new text, then how it stopped."""
    parts: list = [steps_table(gen.steps, show_top=show_top)] if show_steps and gen.steps else []
    text = Text.assemble((gen.prompt, "dim"), (gen.text, "bold"))
    parts += [Text(""), text, Text(""), Text(stop_line(gen), style="dim")]
    parts += [Text(f"note: {n}", style="yellow") for n in gen.notes]
    return Group(*parts)


def stop_line(gen: Generation, *, cli: bool = True) -> str:
    """How a generation ended, in one line; `cli=False` (a notebook) names settings as Python does
    (max_new_tokens), not as the command line does (--max-new-tokens)."""
    reasons = {
        "eos": "the model ended the text",
        "stop": "a stop string appeared",
        "length": "reached --max-new-tokens" if cli else "reached max_new_tokens",
        "interrupted": "interrupted (Ctrl-C); kept what was generated",
        "time": "stopped at the time limit",
    }
    seed = f" · seed {gen.seed}" if gen.seed is not None else ""
    return f"{gen.model} · {count_noun(len(gen.steps), 'new token')} · {reasons.get(gen.stop_reason, gen.stop_reason)}{seed}"


def surprisal_colour(bits: float | None) -> tuple[int, int, int]:
    """White for an expected token, through yellow to red for a surprising one (0 → 16+ bits)."""
    if bits is None:
        return (230, 230, 230)
    x = max(0.0, min(bits / 16.0, 1.0))
    return (255, round(255 - 120 * x), round(255 - 255 * min(1.0, 2 * x)))


def score_view(result: ScoreResult, *, limit: int = 500) -> Group:
    """Every token (up to `limit`) with its probability and surprisal, then the totals."""
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name, justify in (("#", "right"), ("token", "left"), ("id", "right"), ("prob", "right"), ("surprisal", "right")):
        table.add_column(name, justify=justify)
    for tok in result.tokens[:limit]:
        r, g, b = surprisal_colour(tok.surprisal)
        table.add_row(
            str(tok.index), token_chip(tok.id, tok.token, special=tok.special), str(tok.id),
            "-" if tok.prob is None else fmt_prob(tok.prob),
            Text("-" if tok.surprisal is None else f"{tok.surprisal:.2f} bits", style=f"black on rgb({r},{g},{b})"),
        )
    summary = Text.assemble(
        (f"{result.model}", "bold"), f" · {count_noun(len(result.scored), 'token')} scored · log-likelihood ",
        (f"{result.total_logprob:.3f}", "bold"), f" nats ({result.total_bits:.1f} bits) · ",
        (f"{result.bits_per_token:.2f}", "bold"), " bits/token · perplexity ", (f"{result.perplexity:.2f}", "bold"),
    )
    more = len(result.tokens) - limit
    elided = [Text(f"… {more:,} more tokens not shown (--json has them all)", style="yellow")] if more > 0 else []
    return Group(table, *elided, Text(""), summary, *[Text(f"note: {n}", style="yellow") for n in result.notes])


# --- HTML --------------------------------------------------------------------------------------
def chip_html(token_id: int, label: str, *, special: bool = False, title: str = "") -> str:
    classes = "tp-tok tp-special" if special else "tp-tok"
    # In a table cell a newline token shows as ↵ without breaking the cell into lines (as in the terminal).
    shown = label if special else visible_whitespace(label).replace("↵\n", "↵")
    return (
        f'<span class="{classes}" style="background:{id_colour(token_id)}" data-id="{token_id}" '
        f'title="{escape(title or f"id {token_id}")}">{escape(shown)}</span>'
    )


def step_row_html(step: Step) -> str:
    alts = "".join(
        f'<span class="tp-alt">{chip_html(c.id, c.token)} {fmt_prob(c.prob)}</span>' for c in step.top
    )
    bar = f'<span class="tp-bar" style="width:{max(1, round(step.prob * 60))}px"></span>'
    return (
        f"<tr><td class=num>{step.index + 1}</td>"
        f"<td>{chip_html(step.id, step.token, special=step.special, title=f'id {step.id} · piece {step.piece!r}')}</td>"
        f"<td class=num>{step.id}</td><td class=num>{bar}{fmt_prob(step.prob)}</td>"
        f"<td class=num>{step.entropy:.2f}</td><td>{alts}</td></tr>"
    )


def generation_html(gen: Generation) -> str:
    """A generation as a self-contained HTML block: prompt ids, a row per step, the final text."""
    rows = "".join(step_row_html(s) for s in gen.steps)
    notes = "".join(f'<div class="tp-note">{escape(n)}</div>' for n in gen.notes)
    return (
        f'{STYLE}{STEPS_STYLE}<div class="tp"><div class="tp-meta">{escape(stop_line(gen, cli=False))}</div>'
        f'<div class="tp-ids">prompt ids: {" ".join(map(str, gen.prompt_ids))}</div>'
        '<table class="tp-steps"><tr><th>step</th><th>token</th><th>id</th><th>prob</th>'
        f"<th>entropy (bits)</th><th>top alternatives</th></tr>{rows}</table>"
        f'<div class="tp-text"><span style="color:#777">{escape(gen.prompt)}</span><b>{escape(gen.text)}</b></div>'
        f"{notes}</div>"
    )


def score_html(result: ScoreResult) -> str:
    """The text's tokens shaded by surprisal (hover for the numbers), then the totals."""
    spans = []
    for tok in result.tokens:
        r, g, b = surprisal_colour(tok.surprisal)
        title = f"id {tok.id}" + ("" if tok.prob is None else f" · p {fmt_prob(tok.prob)} · {tok.surprisal:.2f} bits")
        shown = tok.token if tok.special else visible_whitespace(tok.token)
        spans.append(
            f'<span class="tp-tok" style="background:rgb({r},{g},{b})" data-id="{tok.id}" '
            f'title="{escape(title)}">{escape(shown)}</span>'
        )
    summary = (
        f"{escape(result.model)} · {count_noun(len(result.scored), 'token')} scored · log-likelihood {result.total_logprob:.3f} nats · "
        f"{result.bits_per_token:.2f} bits/token · perplexity {result.perplexity:.2f}"
    )
    notes = "".join(f'<div class="tp-note">{escape(n)}</div>' for n in result.notes)
    return f'{STYLE}<div class="tp"><div class="tp-meta">{summary}</div><div>{"".join(spans)}</div>{notes}</div>'
