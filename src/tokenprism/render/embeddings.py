"""Embeddings for people: terminal text for the CLI and HTML for notebooks (their pictures come from
plots.py), and `plot_points`, which vectors a scatter of an `Embeddings` shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from .html import STYLE, escape
from .plots import _cell_colour, heatmap_svg, short_label

if TYPE_CHECKING:
    import numpy as np

    from ..embeddings import Embeddings, Neighbors, Similarity

__all__ = [
    "plot_points",
    "embeddings_text",
    "similarity_text",
    "neighbors_text",
    "embeddings_html",
    "axes_text",
    "values_heatmap_html",
    "similarity_html",
    "neighbors_html",
]


# --- what a plot shows ---------------------------------------------------------------------------
def plot_points(emb: Embeddings) -> tuple[np.ndarray, list[str], list[int]]:
    """The vectors a scatter shows, their labels and which text each comes from: each real token
    (or each text's sentence vector)."""
    import numpy as np

    if emb.layer == "all":
        raise UsageError("a plot shows one layer: pass --layer N (or leave the default, the last layer)")
    if emb.sentence:
        return emb.vectors, [f"{i + 1}: {t}" for i, t in enumerate(emb.texts)], list(range(len(emb.texts)))
    many = len(emb.texts) > 1
    rows, labels, groups = [], [], []
    for i, tokens in enumerate(emb.tokens):
        rows.append(emb.token_vectors(i))
        labels.extend(f"{tok} ({i + 1})" if many else tok for tok in tokens)
        groups.extend([i] * len(tokens))
    return np.concatenate(rows), labels, groups


# --- terminal text -----------------------------------------------------------------------------
def _values(row: np.ndarray, count: int) -> str:
    shown = " ".join(f"{float(v):+.4f}" for v in row[:count])
    return f"[{shown}{' …' if len(row) > count else ''}]"


def embeddings_text(emb: Embeddings, *, values: int = 6) -> str:
    """The shape, then per text each token's label and its first values (as the lesson prints them)."""
    kind = "sentence vectors" if emb.sentence else "token vectors"
    lines = [f"model {emb.model} · layer {emb.layer} · {kind} · shape {axes_text(emb)}"]
    if emb.layer == 0:
        lines.append(LAYER_0)
    if emb.pooling:
        lines.append(f"pooling: {emb.pooling}")
    lines += [f"note: {n}" for n in emb.notes]
    vectors = emb.vectors[-1] if emb.layer == "all" else emb.vectors  # "all": show the last layer
    if emb.layer == "all":
        lines.append("values shown: the last layer")
    for i, text in enumerate(emb.texts):
        if emb.sentence:
            lines.append(f"{i + 1}: {short_label(text, 40):<40} {_values(vectors[i], values)}")
            continue
        lines.append(f"text {i + 1}: {text!r}")
        width = max(len(repr(t)) for t in emb.tokens[i])
        lines += [f"  {repr(tok):<{width}} {_values(vectors[i, j], values)}" for j, tok in enumerate(emb.tokens[i])]
    return "\n".join(lines)


def _matrix_text(matrix: np.ndarray) -> list[str]:
    n = len(matrix)
    lines = ["      " + "".join(f"{j + 1:>8}" for j in range(n))]
    lines += [f"  {i + 1:>3} " + "".join(f"{float(v):8.4f}" for v in row) for i, row in enumerate(matrix)]
    return lines


def similarity_text(sim: Similarity) -> str:
    lines = [f"model {sim.model} · layer {sim.layer} · word {sim.word!r}"]
    lines += [f"  {i + 1}: {c!r}  tokens {p}" for i, (c, p) in enumerate(zip(sim.contexts, sim.pieces))]
    lines += ["contextual cosine similarity:"] + _matrix_text(sim.similarity)
    lines += ["static (input-embedding) cosine similarity:"] + _matrix_text(sim.static_similarity)
    lines += [f"note: {n}" for n in sim.notes]
    return "\n".join(lines)


def neighbors_text(nb: Neighbors) -> str:
    lines = [f"model {nb.model} · nearest to {nb.token!r} (tokens {nb.pieces}) in the static embedding table"]
    lines += [f"note: {n}" for n in nb.notes]
    lines += [f"  {r:>3}. {n.label!r:<20} id {n.id:<7} cosine {n.score:.4f}" for r, n in enumerate(nb.neighbors, 1)]
    return "\n".join(lines)


# --- notebook HTML ---------------------------------------------------------------------------------
_TABLE_STYLE = (
    "<style>.tp-emb td,.tp-emb th{padding:1px 6px;text-align:right!important;font-size:12px}"
    ".tp-emb th{text-align:left!important;font-weight:600}"
    ".tp-heatrows{border-collapse:collapse;margin:4px 0 8px!important;table-layout:auto!important}"
    ".tp-heatrows td{width:14px;height:16px;padding:0!important;border:1px solid #fff}"
    ".tp-heatrows th{font-size:11px;font-weight:400;padding:0 4px!important;text-align:left!important;white-space:pre}</style>"
)


def _table(rows: list[tuple[str, np.ndarray]], count: int) -> str:
    body = "".join(
        f"<tr><th>{escape(label)}</th>" + "".join(f"<td>{float(v):+.4f}</td>" for v in row[:count])
        + ("<td>…</td>" if len(row) > count else "") + "</tr>"
        for label, row in rows
    )
    return f'<table class="tp-emb">{body}</table>'


#: What layer 0 is: the embedding layer's output, which for BERT-style encoders is more than a table row.
LAYER_0 = ("layer 0 is the embedding layer's output: each token's row of the embedding table, plus its position "
           "(and segment) embedding and a LayerNorm where the model has them (BERT, MiniLM); the table's rows alone "
           "are the static vectors of `similar` and `neighbors`")


def axes_text(emb: Embeddings) -> str:
    """The shape with each axis named, as the lesson says it: "[1, 4, 384] = batch 1 (texts) × tokens 4 ×
    dimensions 384" ("layers" first for layer="all"; "texts × dimensions" for sentence vectors)."""
    names = ["texts", "dimensions"] if emb.sentence else ["batch", "tokens", "dimensions"]
    names = ["layers"] * (len(emb.shape) - len(names)) + names
    named = " × ".join(f"{n} {k}" + (" (texts)" if n == "batch" else "") for n, k in zip(names, emb.shape))
    return f"{list(emb.shape)} = {named}"


def values_heatmap_html(rows: list[tuple[str, np.ndarray]], count: int = 32) -> str:
    """A heat map of vectors' first `count` values: a row per token (or text), a column per dimension,
    blue above zero and red below, scaled by the largest magnitude shown (hover a cell for its value)."""
    import numpy as np

    if not rows:
        return ""
    block = np.stack([np.asarray(r[:count], dtype=np.float64) for _, r in rows])
    scale = float(np.abs(block).max()) or 1.0
    head = "".join(f"<th>{d}</th>" for d in range(block.shape[1]))
    body = "".join(
        f"<tr><th>{escape(label)}</th>" + "".join(
            f'<td style="background:{_cell_colour(v / scale)}" title="{escape(label)} · dimension {d} · {v:+.4f}"></td>'
            for d, v in enumerate(values)) + "</tr>"
        for (label, _), values in zip(rows, block.tolist())
    )
    return (
        f'<div class="tp-meta">the first {block.shape[1]} values of each vector (blue &gt; 0, red &lt; 0, '
        f"scaled by ±{scale:.3g})</div>"
        f'<table class="tp-heatrows"><tr><th>dimension</th>{head}</tr>{body}</table>'
    )


def embeddings_html(emb: Embeddings, *, values: int = 8, max_rows: int = 24) -> str:
    """Shape with its axes named, a small table of the first values, a heat map of each vector's first
    values, and for several sentence vectors their cosine heat map."""
    kind = "sentence vectors" if emb.sentence else "token vectors"
    meta = f"{escape(emb.model)} · layer {escape(str(emb.layer))} · {kind} · shape {escape(axes_text(emb))}"
    notes = "".join(f'<div class="tp-note">{escape(n)}</div>' for n in [*([LAYER_0] if emb.layer == 0 else []), *emb.notes])
    vectors = emb.vectors[-1] if emb.layer == "all" else emb.vectors
    if emb.sentence:
        rows = [(f"{i + 1}: {short_label(t, 40)}", vectors[i]) for i, t in enumerate(emb.texts)]
    else:
        rows = [(f"{i + 1} · {tok}", vectors[i, j]) for i, toks in enumerate(emb.tokens) for j, tok in enumerate(toks)]
    more = f'<div class="tp-meta">… {len(rows) - max_rows} more rows</div>' if len(rows) > max_rows else ""
    picture = values_heatmap_html(rows[:max_rows])
    if emb.sentence and len(emb.texts) > 1:
        from ..embeddings.words import cosine_matrix

        picture += heatmap_svg(cosine_matrix(vectors), [f"{i + 1}: {t}" for i, t in enumerate(emb.texts)], title="cosine similarity")
    return f'{STYLE}{_TABLE_STYLE}<div class="tp"><div class="tp-meta">{meta}</div>{notes}{_table(rows[:max_rows], values)}{more}{picture}</div>'


def similarity_html(sim: Similarity) -> str:
    labels = [f"{i + 1}: {c}" for i, c in enumerate(sim.contexts)]
    meta = f"{escape(sim.model)} · layer {sim.layer} · word {escape(repr(sim.word))}"
    pieces = "".join(f'<div class="tp-meta">{escape(lab)} — tokens {escape(str(p))}</div>' for lab, p in zip(labels, sim.pieces))
    return (
        f'{STYLE}<div class="tp"><div class="tp-meta">{meta}</div>{pieces}'
        f'{heatmap_svg(sim.similarity, labels, title="contextual cosine similarity")}'
        f'{heatmap_svg(sim.static_similarity, labels, title="static (input-embedding) cosine similarity")}</div>'
    )


def neighbors_html(nb: Neighbors) -> str:
    rows = "".join(
        f"<tr><td>{r}</td><th>{escape(n.label)}</th><td>{n.id}</td><td>{n.score:.4f}</td></tr>" for r, n in enumerate(nb.neighbors, 1)
    )
    meta = f"{escape(nb.model)} · nearest to {escape(repr(nb.token))} in the static embedding table"
    return f'{STYLE}{_TABLE_STYLE}<div class="tp"><div class="tp-meta">{meta}</div><table class="tp-emb">{rows}</table></div>'
