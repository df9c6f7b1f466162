"""Renderers for `Comparison` and `Properties`: rich renderables for the terminal, HTML strings for
notebooks and the web page. Token colours are the per-id colours of `render.html`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tokenizers.registry import spec_label
from .html import STYLE, count_noun, escape, token_colours, token_span, visible_whitespace

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from ..comparison import Comparison, ComparisonRow
    from ..properties import Properties

__all__ = ["comparison_view", "properties_table", "comparison_html", "properties_html", "row_summary"]

# Jupyter's own table rules (right-aligned cells, a fixed layout centred by auto margins) are more
# specific than a class and a tag, so ours that must win are !important; tokens may wrap between any
# two of them (<wbr>) and a long one inside itself, so a row never runs past the output's width.
_COMPARE_STYLE = """<style>
.tp-wide{max-width:100%;overflow-x:auto}
table.tp-cmp{table-layout:auto!important;margin-left:0!important;margin-right:auto!important;width:100%;max-width:100%}
.tp-cmp td,.tp-cmp th{padding:3px 8px;vertical-align:top!important;text-align:left!important;border-bottom:1px solid #eee;white-space:normal!important}
.tp-cmp th{min-width:9em;max-width:16em;overflow-wrap:anywhere}
.tp-cmp td{overflow-wrap:anywhere}
.tp-cmp .tp-err{color:#a00}
.tp-dis{background:#fff3c4;border-bottom:2px solid #e0a800}
</style>"""


def row_summary(row: ComparisonRow) -> str:
    """"41 tokens · 2.97 chars/token · 3.10 bytes/token · 2 unknown · not lossless"."""
    return (
        f"{count_noun(row.count, 'token')} · {row.chars_per_token:.2f} chars/token · {row.bytes_per_token:.2f} bytes/token · "
        f"{row.unknown} unknown · {'lossless' if row.lossless else 'not lossless'}"
    )


def one_line(text: str) -> str:
    """Whitespace made visible without breaking the line: · → ↵ ␍."""
    return text.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "↵")


def comparison_view(cmp: Comparison, *, show_disagreements: int = 12) -> Group:
    """One block per tokenizer (summary line, coloured tokens), then where they cut differently."""
    from rich.console import Group
    from rich.text import Text

    from .terminal import tokens_text

    parts: list = []
    for row in cmp.rows:
        if row.encoding is None:
            parts.append(Text.assemble((spec_label(row.tokenizer), "bold"), "  ", (f"not available: {row.error}", "red")))
        else:
            parts.append(Text.assemble((spec_label(row.tokenizer), "bold"), "  ", row_summary(row)))
            parts.append(tokens_text(row.encoding.tokens))
        parts.append(Text(""))
    if cmp.disagreements:
        parts.append(Text(f"{len(cmp.disagreements)} place(s) where the tokenizers cut the text differently:", style="bold"))
        for d in cmp.disagreements[:show_disagreements]:
            parts.append(Text(f"  “{one_line(d.text)}”", style="yellow"))
            for name, labels in d.tokens.items():
                shown = " | ".join(one_line(label) for label in labels) if labels else "(dropped)"
                parts.append(Text(f"    {spec_label(name)}: {shown}"))
        if len(cmp.disagreements) > show_disagreements:
            parts.append(Text(f"  … {len(cmp.disagreements) - show_disagreements} more (--json shows all)", style="dim"))
    return Group(*parts)


def properties_table(props: dict[str, Properties]) -> Table:
    """Properties side by side: one column per tokenizer, one row per property."""
    from rich.table import Table

    table = Table(title="detected properties", show_lines=False, header_style="bold")
    table.add_column("property", style="bold")
    summaries = {name: p.summary() for name, p in props.items()}
    for name in summaries:
        table.add_column(spec_label(name), overflow="fold")
    keys = next(iter(summaries.values())).keys() if summaries else []
    for key in keys:
        table.add_row(key, *(s[key] for s in summaries.values()))
    return table


def comparison_html(cmp: Comparison) -> str:
    """A self-contained HTML table: one row per tokenizer with its coloured tokens, then the disputed spans."""
    rows = []
    for row in cmp.rows:
        name = escape(spec_label(row.tokenizer))
        if row.encoding is None:
            rows.append(f'<tr><th>{name}</th><td class="tp-err">not available: {escape(row.error or "")}</td></tr>')
            continue
        tokens = row.encoding.tokens
        spans = "<wbr>".join(token_span(t, colour=c) for t, c in zip(tokens, token_colours(t.id for t in tokens)))
        rows.append(f'<tr><th>{name}<div class="tp-meta">{escape(row_summary(row))}</div></th><td>{spans}</td></tr>')
    return (
        f'{STYLE}{_COMPARE_STYLE}<div class="tp tp-wide"><table class="tp-cmp">{"".join(rows)}</table>'
        f"{_disagreements_html(cmp)}</div>"
    )


def _disagreements_html(cmp: Comparison) -> str:
    if not cmp.disagreements:
        return '<div class="tp-meta">all tokenizers cut this text at the same places</div>'
    marked, pos = [], 0
    for d in cmp.disagreements:
        marked.append(escape(visible_whitespace(cmp.text[pos : d.start])))
        title = " · ".join(f"{spec_label(n)}: {' | '.join(labels)}" for n, labels in d.tokens.items())
        marked.append(f'<span class="tp-dis" title="{escape(title)}">{escape(visible_whitespace(d.text))}</span>')
        pos = d.end
    marked.append(escape(visible_whitespace(cmp.text[pos:])))
    return (
        f'<div class="tp-meta">{len(cmp.disagreements)} place(s) where the tokenizers cut differently '
        f'(hover for each tokenizer\'s tokens):</div><div style="white-space:pre-wrap">{"".join(marked)}</div>'
    )


def properties_html(props: dict[str, Properties]) -> str:
    summaries = {name: p.summary() for name, p in props.items()}
    if not summaries:
        return ""
    head = "".join(f"<th>{escape(spec_label(n))}</th>" for n in summaries)
    keys = next(iter(summaries.values())).keys()
    body = "".join(
        f"<tr><th>{escape(k)}</th>{''.join(f'<td>{escape(s[k])}</td>' for s in summaries.values())}</tr>" for k in keys
    )
    return f'{STYLE}{_COMPARE_STYLE}<table class="tp tp-cmp"><tr><th>property</th>{head}</tr>{body}</table>'


def one_properties_html(props: Properties) -> str:
    """One tokenizer's properties (the notebook view of a `Properties`)."""
    return properties_html({props.tokenizer: props})
