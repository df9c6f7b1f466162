"""Inside the model as HTML (notebooks, `attention --plot x.html`): the logit-lens grid with the top
tokens, entropy and KL in each cell's hover text, attention heat maps (one small one per layer and
head), and attribution shading. Self-contained strings: inline CSS, no script, every label escaped.
PNG/SVG attention plots go through matplotlib, imported only when such a file is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import MissingDependency
from ..files import written_whole
from .html import STYLE, escape, id_colour, visible_one_line
from .inside import layer_name, prob_rgb
from .plots import _write, check_plot_path, short_label
from .steps import fmt_prob

if TYPE_CHECKING:
    import numpy as np

    from ..inside import Attention, Attribution, Lens, LensCell

__all__ = ["lens_html", "attention_html", "attribution_html", "save_attention_plot"]

INSIDE_STYLE = """<style>
.tp-lens{border-collapse:collapse;font-size:12px}
.tp-lens th{font-weight:600;padding:2px 4px;white-space:pre;max-width:90px;overflow:hidden}
.tp-lens td{padding:2px 5px;white-space:pre;max-width:90px;overflow:hidden;border:1px solid #fff}
.tp-lens td.tp-final{font-weight:700;text-decoration:underline}
.tp-lens th.tp-layer{text-align:right;color:#666;font-weight:400}
.tp-heads{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start}
.tp-heads figure{margin:0;font-size:11px;color:#555}
.tp-attr span{border-radius:3px;padding:1px 2px;margin-right:1px;white-space:pre}
</style>"""


def _rgb(p: float, end: tuple[int, int, int] | None = None) -> str:
    r, g, b = prob_rgb(p) if end is None else prob_rgb(p, end)
    return f"rgb({r},{g},{b})"


# --- logit lens ----------------------------------------------------------------------------------
def cell_title(result: Lens, layer: int, cell: LensCell) -> str:
    """What hovering a grid cell tells: where, the top tokens, entropy, KL, the final guess's rank."""
    where = "the embeddings" if layer == 0 else f"layer {layer}"
    top = "\n".join(f"  {c.token!r} {fmt_prob(c.prob)}" for c in cell.top)
    return (f"{where} · after {result.tokens[cell.position]!r} (position {cell.position})\n{top}\n"
            f"entropy {cell.entropy:.2f} bits · KL to final {cell.kl_to_final:.2f} bits · final guess rank {cell.rank_of_final:,}")


def lens_html(result: Lens, *, limit: int = 200) -> str:
    """The layers × positions grid; hover a cell for its top tokens, entropy and KL."""
    positions = result.positions[-limit:]
    finals = {c.position: c.top[0].id for c in result.layers[-1].positions}
    index = {p: k for k, p in enumerate(result.positions)}
    head = "".join(f'<th style="background:{id_colour(result.ids[p])}">{escape(short_label(visible_one_line(result.tokens[p]), 10))}</th>'
                   for p in positions)
    rows = []
    for layer in result.layers:  # the embeddings on top, the output at the bottom (as in the terminal)
        name = layer_name(layer.layer, result.layers[-1].layer)
        cells = []
        for p in positions:
            c = layer.positions[index[p]]
            top = c.top[0]
            final = ' class="tp-final"' if top.id == finals[p] else ""
            ink = "#fff" if top.prob > 0.5 else "#111"
            cells.append(f'<td{final} style="background:{_rgb(top.prob)};color:{ink}" title="{escape(cell_title(result, layer.layer, c))}">'
                         f"{escape(short_label(visible_one_line(top.token), 10))}</td>")
        rows.append(f'<tr><th class="tp-layer">{name}</th>{"".join(cells)}</tr>')
    more = len(result.positions) - len(positions)
    notes = ([f"showing the last {len(positions)} of {len(result.positions)} positions"] if more > 0 else []) + list(result.notes)
    return (
        f'{STYLE}{INSIDE_STYLE}<div class="tp"><div class="tp-meta">{escape(result.model)} · logit lens: what each layer would '
        "predict next (darker = more probable; underlined = the model's final prediction; hover for the top tokens)</div>"
        f'<table class="tp-lens"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
        f'{"".join(f"<div class=tp-note>{escape(n)}</div>" for n in notes)}</div>'
    )


# --- attention -----------------------------------------------------------------------------------
def attention_svg(weights: np.ndarray, tokens: Sequence[str], *, title: str, cell: int = 12) -> str:
    """One head's weights as a small heat map (row attends to column); hover a cell for the numbers."""
    n = len(tokens)
    size = n * cell
    rects = []
    for i in range(n):
        for j in range(i + 1 if weights.shape[1] == n else weights.shape[1]):
            w = float(weights[i, j])
            rects.append(f'<rect x="{j * cell}" y="{i * cell}" width="{cell - 1}" height="{cell - 1}" fill="{_rgb(w, (234, 88, 12))}">'
                         f"<title>{escape(tokens[i])} → {escape(tokens[j])}: {w:.3f}</title></rect>")
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img">'
            f'<rect width="100%" height="100%" fill="#f4f4f4"/>{"".join(rects)}</svg><figcaption>{escape(title)}</figcaption></figure>')


def attention_html(att: Attention, *, position: int = -1, limit: int = 64) -> str:
    """A small heat map per layer and head, then where one token looked (averaged over them)."""
    n = len(att.ids)
    if not att.square:
        body = ""
    elif n > limit:
        body = f'<div class="tp-note">{n} tokens: heat maps are drawn for prompts up to {limit} tokens</div>'
    else:
        cell = max(4, min(16, 240 // max(n, 1)))
        body = "".join(f'<div class="tp-heads">{"".join(attention_svg(w, att.tokens, title=f"layer {lay.layer} · head {h}", cell=cell) for h, w in zip(lay.heads, lay.weights))}</div>'
                       for lay in att.layers)
    looked = att.looked_at(position)
    row = position % n
    bars = "".join(f'<span style="background:{_rgb(float(w), (234, 88, 12))};color:{"#fff" if w > 0.5 else "#111"}" '
                   f'title="{escape(att.tokens[j])}: {w:.3f}">{escape(visible_one_line(att.tokens[j]))}</span>' for j, w in enumerate(looked))
    return (
        f'{STYLE}{INSIDE_STYLE}<div class="tp"><div class="tp-meta">{escape(att.model)} · attention: row = the token that '
        f"attends, column = the one attended to · {att.num_layers} layers × {att.num_heads} heads</div>{body}"
        f'<div class="tp-meta">where {escape(repr(att.tokens[row]))} looked (averaged over the heads shown):</div>'
        f'<div class="tp-attr">{bars}</div></div>'
    )


def save_attention_plot(att: Attention, path: str | Path, *, position: int = -1) -> Path:
    """Heat maps of the kept layers and heads to .html (our own SVG) or .png/.svg (matplotlib)."""
    out = check_plot_path(path)
    if out.suffix.lower() == ".html":
        page = attention_html(att, position=position)
        _write(out, f'<!doctype html><html><head><meta charset="utf-8"><title>attention · {escape(att.model)}</title></head>'
                    f"<body>{page}</body></html>")
    else:
        _matplotlib_grid(att, out)
    return out


def _matplotlib_grid(att: Attention, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("matplotlib", "data") from None
    rows, cols = len(att.layers), len(att.layers[0].heads)
    one = rows == cols == 1
    size = 6.0 if one else 1.6
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 1, size * rows + 0.6), squeeze=False)
    try:
        labels = [short_label(visible_one_line(t), 12) for t in att.tokens]
        for r, lay in enumerate(att.layers):
            for c, (h, w) in enumerate(zip(lay.heads, lay.weights)):
                ax = axes[r][c]
                ax.imshow(w, cmap="Oranges", vmin=0, vmax=1)
                ax.set_title(f"layer {lay.layer} · head {h}", fontsize=8 if not one else 11)
                ticks = range(len(labels)) if one else []
                ax.set_xticks(ticks, [labels[k] for k in ticks], rotation=90, fontsize=8)
                ax.set_yticks(ticks, [labels[k] for k in ticks], fontsize=8)
        fig.suptitle(f"{att.model} · attention (row attends to column)", fontsize=10)
        fig.tight_layout()
        with written_whole(out) as temp:
            fig.savefig(temp, bbox_inches="tight")
    finally:
        plt.close(fig)


# --- attribution ---------------------------------------------------------------------------------
def attribution_html(result: Attribution) -> str:
    """The prompt shaded by attribution (blue helped the target, red worked against it), hover for values."""
    peak = max((abs(v) for v in result.attributions), default=0.0) or 1.0
    spans = "".join(
        f'<span style="background:{_rgb(abs(v) / peak, (37, 99, 235) if v >= 0 else (178, 24, 43))};'
        f'color:{"#fff" if abs(v) / peak > 0.5 else "#111"}" title="{escape(label)}: {v:+.4f}">{escape(visible_one_line(label))}</span>'
        for label, v in zip(result.tokens, result.attributions)
    )
    c = result.completeness
    return (
        f'{STYLE}{INSIDE_STYLE}<div class="tp"><div class="tp-meta">{escape(result.model)} · attribution of log p({escape(repr(result.target))} '
        f"| prompt) = {result.logprob:.4f} · {escape(result.method)} ({result.steps} steps) · baseline: {escape(result.baseline)}</div>"
        f'<div class="tp-attr">{spans}<b>{escape(visible_one_line(result.target))}</b></div>'
        f'<div class="tp-meta">completeness: sum {c.sum:.4f} vs expected {c.expected:.4f} (relative error {c.relative_error:.2%})</div>'
        f'{"".join(f"<div class=tp-note>{escape(n)}</div>" for n in result.notes)}</div>'
    )
