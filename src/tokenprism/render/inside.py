"""Inside the model, in a terminal: the logit-lens grid, attention (overview, heat map, where one token
looked), attribution, and the few lines `explain --inside` prints.

The lens grid is the familiar logit-lens picture: one row per layer (the embeddings at the top, the
model's output at the bottom), one column per position, each cell the top token that layer would
predict there, on a background as dark as its probability; cells whose token is the model's final
prediction for that position are bold and underlined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .plots import short_label
from .steps import fmt_prob, token_chip
from .terminal import terminal_label

if TYPE_CHECKING:
    import numpy as np

    from ..inside import Attention, Attribution, Lens

__all__ = ["lens_view", "attention_view", "attribution_view", "inside_explain", "prob_rgb", "cell_label"]

_BLUE = (37, 99, 235)
_ORANGE = (234, 88, 12)


def prob_rgb(p: float, end: tuple[int, int, int] = _BLUE) -> tuple[int, int, int]:
    """White for 0, `end` for 1 (probabilities and attention weights alike).

    >>> prob_rgb(0.0), prob_rgb(1.0)
    ((255, 255, 255), (37, 99, 235))
    """
    x = max(0.0, min(1.0, float(p)))
    r, g, b = (round(255 + (c - 255) * x) for c in end)
    return (r, g, b)


def _shaded(label: str, p: float, *, end: tuple[int, int, int] = _BLUE, mark: bool = False) -> Text:
    r, g, b = prob_rgb(p, end)
    ink = "white" if p > 0.5 else "black"
    return Text(label, style=f"{ink} on rgb({r},{g},{b})" + (" bold underline" if mark else ""))


def cell_label(label: str, width: int = 8) -> str:
    """A token as it fits a grid cell: whitespace visible, one line, at most `width` characters.

    >>> cell_label(" return\\n", 6)
    '·retu…'
    """
    return short_label(terminal_label(label).replace("\n", ""), width)


def layer_name(layer: int, last: int) -> str:
    """How a layer is named in every view: "embeddings", "layer 3", "layer 4 (output)"."""
    return "embeddings" if layer == 0 else f"layer {layer}" + (" (output)" if layer == last else "")


# --- logit lens ----------------------------------------------------------------------------------
def lens_view(result: Lens, *, width: int = 120, cell: int = 8) -> Group:
    """The layers × positions grid (as many of the last positions as fit `width`), then the key."""
    positions = result.positions
    shown = positions[-max(1, (width - 20) // (cell + 1)):]
    table = Table(box=None, pad_edge=False, header_style="bold", collapse_padding=True)
    table.add_column("", justify="right", style="dim", no_wrap=True)
    for p in shown:
        table.add_column(cell_label(result.tokens[p], cell), no_wrap=True, max_width=cell)
    last = result.layers[-1].layer
    finals = {c.position: c.top[0].id for c in result.layers[-1].positions}
    columns = [positions.index(p) for p in shown]
    for layer in result.layers:
        cells = [layer.positions[k] for k in columns]
        table.add_row(layer_name(layer.layer, last),
                      *[_shaded(cell_label(c.top[0].token, cell), c.top[0].prob, mark=c.top[0].id == finals[c.position]) for c in cells])
    guess = result.prediction(positions[-1])
    lines = [
        Text(f"{result.model} · {len(result.ids)} tokens · {len(result.layers) - 1} layers · each cell: the token that "
             "layer would predict next (darker = more probable; bold underlined = the model's final prediction)", style="dim"),
        table,
        Text.assemble("\nafter the last token the model predicts ", token_chip(guess.id, guess.token), f" {fmt_prob(guess.prob)}"),
    ]
    if len(shown) < len(positions):
        lines.append(Text(f"showing the last {len(shown)} of {len(positions)} positions (--json has them all)", style="yellow"))
    lines += [Text(f"note: {n}", style="yellow") for n in result.notes]
    return Group(*lines)


# --- attention -----------------------------------------------------------------------------------
def attention_view(att: Attention, *, position: int = -1) -> Group:
    """One layer and head: its heat map. More: the layers × heads overview. Then where `position` looked."""
    parts: list = [Text(f"{att.model} · {len(att.ids)} tokens · {att.num_layers} layers × {att.num_heads} heads "
                        "(rows attend to columns; each row sums to 1)", style="dim")]
    if att.square and len(att.layers) == 1 and len(att.layers[0].heads) == 1:
        only = att.layers[0]
        parts += [Text(f"layer {only.layer} · head {only.heads[0]}", style="bold"), heatmap_text(only.weights[0], att.tokens)]
    else:
        parts += [Text(f"what {_quoted(att.tokens[position])} (position {position % len(att.ids)}) looked at most, "
                       "per layer and head", style="bold"), _overview(att, position)]
    parts += [Text(""), Text(f"where {_quoted(att.tokens[position])} looked "
                             f"(averaged over the {_what(att)} shown)", style="bold"), looked_text(att.looked_at(position), att.tokens)]
    parts += [Text(f"note: {n}", style="yellow") for n in att.notes]
    return Group(*parts)


def _what(att: Attention) -> str:
    heads = sum(len(lay.heads) for lay in att.layers)
    return "head" if heads == 1 else f"{heads} heads"


def _quoted(label: str) -> str:
    return repr(label)


def _overview(att: Attention, position: int) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", collapse_padding=True)
    table.add_column("", justify="right", style="dim")
    for h in att.layers[0].heads:
        table.add_column(f"head {h}", no_wrap=True, max_width=10)
    row = att.row(position)
    for lay in att.layers:
        cells = []
        for weights in lay.weights[:, row]:
            j = int(weights.argmax())
            cells.append(_shaded(f"{cell_label(att.tokens[j], 6)} {weights[j]:.0%}", float(weights[j]), end=_ORANGE))
        table.add_row(f"layer {lay.layer}", *cells)
    return table


def heatmap_text(weights: np.ndarray, tokens: Sequence[str], *, limit: int = 40) -> Table:
    """A square of weights as shaded cells, one row per attending token (the last `limit` at most)."""
    start = max(0, len(tokens) - limit)
    table = Table(box=None, pad_edge=False, show_header=False, collapse_padding=True, padding=0)
    table.add_column(justify="right", no_wrap=True)
    for _ in range(start, len(tokens)):
        table.add_column(no_wrap=True)
    for i in range(start, len(tokens)):
        table.add_row(cell_label(tokens[i], 10) + " ",
                      *[_shaded("  ", float(weights[i, j]), end=_ORANGE) for j in range(start, len(tokens))])
    return table


def looked_text(weights: np.ndarray, tokens: Sequence[str], *, top: int = 8, bar: int = 30) -> Table:
    """The positions a token attended to most, with a bar each."""
    table = Table(box=None, pad_edge=False, show_header=False)
    for justify in ("right", "left", "right", "left"):
        table.add_column(justify=justify, no_wrap=True)
    for j in sorted(range(len(weights)), key=lambda k: -weights[k])[:top]:
        w = float(weights[j])
        table.add_row(str(j), cell_label(tokens[j], 16), f"{w:.1%}", Text("█" * max(1, round(w * bar)), style="rgb(234,88,12)"))
    return table


# --- attribution ---------------------------------------------------------------------------------
def attribution_view(result: Attribution) -> Group:
    """The prompt's tokens shaded by their attribution (blue helped the target, red worked against
    it), a bar per token, and the completeness check."""
    values = result.attributions
    peak = max((abs(v) for v in values), default=0.0) or 1.0
    chips = Text()
    for label, v in zip(result.tokens, values):
        r, g, b = prob_rgb(abs(v) / peak, _BLUE if v >= 0 else (178, 24, 43))
        chips.append(terminal_label(label), style=f"{'white' if abs(v) / peak > 0.5 else 'black'} on rgb({r},{g},{b})")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, justify in (("#", "right"), ("token", "left"), ("attribution", "right"), ("", "left")):
        table.add_column(name, justify=justify, no_wrap=True)
    for k, (label, v) in enumerate(zip(result.tokens, values)):
        bar = Text("█" * max(1, round(abs(v) / peak * 24)) if v else "", style="rgb(37,99,235)" if v >= 0 else "rgb(178,24,43)")
        table.add_row(str(k), cell_label(label, 16), f"{v:+.4f}", bar)
    c = result.completeness
    method = result.method if result.method == "grad-x-input" else f"{result.method}, {result.steps} steps"
    lines = [
        Text.assemble("target ", (repr(result.target), "bold"), f" · log p = {result.logprob:.4f} · "
                      f"{len(result.target_ids)} token{'s' if len(result.target_ids) != 1 else ''}"),
        chips, table,
        Text(f"method: {method} · baseline: {result.baseline}", style="dim"),
        Text(f"completeness: attributions sum to {c.sum:.4f}; log p(input) − log p(baseline) = {c.expected:.4f} "
             f"(relative error {c.relative_error:.2%})", style="green" if c.relative_error <= 0.01 else "yellow"),
    ]
    if result.method == "grad-x-input":
        lines.append(Text("grad × input is a local, linear picture: it need not add up (integrated gradients does)", style="dim"))
    lines += [Text(f"note: {n}", style="yellow") for n in result.notes]
    return Group(*lines)


# --- explain --inside ----------------------------------------------------------------------------
def inside_explain(result: Lens, att: Attention, *, top: int = 3) -> Group:
    """For the first predicted token: how the guess formed layer by layer, and what the last prompt
    token looked at — the MATH step in a few lines."""
    final = result.prediction(-1)
    lines: list = [Text.assemble("Each layer adds to the last token's vector; reading it out early (a ",
                                 ("logit lens", "bold"), ") shows how the guess ", token_chip(final.id, final.token), " formed:")]
    for layer, c in zip(result.layers, result.column(-1)):
        guess = c.top[0]
        where = "" if c.rank_of_final == 1 else f"   ({_quoted(final.token)} ranks #{c.rank_of_final:,})"
        mark = "  ← the model's guess" if layer.layer == result.layers[-1].layer else where
        lines.append(Text.assemble(f"  {layer_name(layer.layer, -1):>11}  ", token_chip(guess.id, guess.token),
                                   f" {fmt_prob(guess.prob):>6}", (mark, "dim")))
    looked = att.looked_at(-1)
    best = sorted(range(len(looked)), key=lambda k: -looked[k])[:top]
    spots = Text()
    for n, j in enumerate(best):
        spots.append_text(Text.assemble(("" if n == 0 else " · "), token_chip(att.ids[j], att.tokens[j]), f" {looked[j]:.0%}"))
    lines += [Text.assemble(f"Attention: the last token {_quoted(att.tokens[-1])} looked most at ", spots),
              Text(f"(averaged over {_count(att.num_layers, 'layer')} × {_count(att.num_heads, 'head')}; "
                   "`tokenprism attention` shows each)", style="dim")]
    return Group(*lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def steps_attention_view(looked: list[dict]) -> Group:
    """`generate --show-attention`: for each new token, where the position that chose it looked most."""
    lines: list = [Text("where each step looked (attention averaged over layers and heads)", style="bold")]
    for row in looked:
        spots = Text()
        for n, spot in enumerate(row["looked_at"]):
            spots.append_text(Text.assemble(("" if n == 0 else " · "), token_chip(spot["id"], spot["token"]), f" {spot['weight']:.0%}"))
        lines.append(Text.assemble(f"{row['step']:>5}  ", token_chip(row["id"], row["token"]), "  ← ", spots))
    return Group(*lines)
