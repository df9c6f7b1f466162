"""Pictures of vectors and matrices: a 2-D PCA scatter and a heat map, as self-contained SVG (written
by hand: every label escaped, no script, no CDN) or as PNG/SVG files through matplotlib (Agg backend,
imported only when such a file is asked for). Used by the embeddings views and the web page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import MissingDependency, UsageError
from ..files import written_whole
from .html import escape

if TYPE_CHECKING:
    import numpy as np

__all__ = ["pca_2d", "scatter_svg", "heatmap_svg", "save_plot", "save_heatmaps", "check_plot_path", "short_label", "PLOT_SUFFIXES"]

PLOT_SUFFIXES = (".png", ".svg", ".html")


# --- numbers ---------------------------------------------------------------------------------
def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Rows → their coordinates on the first two principal components (numpy SVD, no sklearn).

    >>> import numpy as np
    >>> pca_2d(np.eye(3)).shape
    (3, 2)
    """
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2))
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    coords = u[:, :2] * s[:2]
    # Fewer than two components (one dimension, or identical rows): pad with zeros.
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))


def _cell_colour(value: float) -> str:
    """Diverging scale: -1 red, 0 white, +1 blue (as matplotlib's RdBu)."""
    v = max(-1.0, min(1.0, float(value)))
    end = (33, 102, 172) if v >= 0 else (178, 24, 43)
    r, g, b = (round(255 + (c - 255) * abs(v)) for c in end)
    return f"#{r:02x}{g:02x}{b:02x}"


def short_label(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- SVG -------------------------------------------------------------------------------------
_PALETTE = ("#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#35978f", "#8c510a", "#4d4d4d")


def scatter_svg(points: np.ndarray, labels: Sequence[str], *, title: str = "", groups: Sequence[int] | None = None, size: int = 480) -> str:
    """Labelled points scaled into a square plot (room on the right for labels); `groups` colours them."""
    pad, room = 40, 140
    colours = [_PALETTE[g % len(_PALETTE)] for g in (groups or [0] * len(labels))]

    def scale(values: np.ndarray, flip: bool) -> list[float]:
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo or 1.0
        return [pad + (size - 2 * pad) * ((hi - v) if flip else (v - lo)) / span for v in values]

    px, py = scale(points[:, 0], False), scale(points[:, 1], True)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{c}"><title>{escape(lab)}</title></circle>'
        f'<text x="{x + 6:.1f}" y="{y - 6:.1f}" font-size="11" fill="{c}">{escape(short_label(lab))}</text>'
        for x, y, lab, c in zip(px, py, labels, colours)
    )
    width = size + room
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{size}" viewBox="0 0 {width} {size}" '
        f'font-family="ui-monospace,monospace" role="img"><rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="{pad}" y="20" font-size="13">{escape(title)}</text>'
        f'<text x="{size // 2}" y="{size - 8}" font-size="10" fill="#777">PC1</text>'
        f'<text x="6" y="{size // 2}" font-size="10" fill="#777">PC2</text>{dots}</svg>'
    )


def heatmap_svg(matrix: np.ndarray, labels: Sequence[str], *, title: str = "", cell: int = 56) -> str:
    """A square matrix of values in [-1, 1] as coloured cells with the value written in each."""
    n = len(labels)
    left, top = 170, 40
    width, height = left + n * cell + 10, top + n * cell + 10
    cells = []
    for i in range(n):
        y = top + i * cell
        cells.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" font-size="11" text-anchor="end">{escape(short_label(labels[i]))}</text>')
        for j in range(n):
            x, v = left + j * cell, float(matrix[i][j])
            ink = "#fff" if abs(v) > 0.6 else "#111"
            cells.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_cell_colour(v)}">'
                f"<title>{escape(labels[i])} · {escape(labels[j])}: {v:.4f}</title></rect>"
                f'<text x="{x + cell / 2 - 1:.0f}" y="{y + cell / 2 + 4:.0f}" font-size="11" text-anchor="middle" fill="{ink}">{v:.2f}</text>'
            )
    header = "".join(
        f'<text x="{left + j * cell + cell / 2:.0f}" y="{top - 6}" font-size="11" text-anchor="middle">{j + 1}</text>' for j in range(n)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="ui-monospace,monospace" role="img"><rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="4" y="16" font-size="13">{escape(title)}</text>{header}{"".join(cells)}</svg>'
    )


def save_plot(
    path: str | Path, *, kind: str, values: np.ndarray, labels: Sequence[str], title: str, groups: Sequence[int] | None = None
) -> Path:
    """Write a scatter (`values` = vectors, projected with PCA) or a heat map (`values` = a square matrix)
    to .png / .svg (matplotlib) or .html (our own inline SVG)."""
    out = check_plot_path(path)
    suffix = out.suffix.lower()
    if kind not in ("scatter", "heatmap"):
        raise UsageError(f"unknown plot kind {kind!r}: scatter or heatmap")
    data = pca_2d(values) if kind == "scatter" else values
    if suffix == ".html":
        svg = scatter_svg(data, labels, title=title, groups=groups) if kind == "scatter" else heatmap_svg(data, labels, title=title)
        _write(out, f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>{svg}</body></html>')
    else:
        _matplotlib_plot(out, kind=kind, data=data, labels=labels, title=title, groups=groups)
    return out


def save_heatmaps(path: str | Path, matrices: Sequence[tuple[str, np.ndarray]], *, labels: Sequence[str], title: str) -> Path:
    """Several square matrices over the same labels side by side, each under its own title (`similar`'s
    contextual and static cosine matrices), to .png / .svg (matplotlib) or .html (inline SVG)."""
    out = check_plot_path(path)
    if out.suffix.lower() == ".html":
        svgs = "".join(heatmap_svg(m, labels, title=t) for t, m in matrices)
        _write(out, f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
                    f"<body><h3>{escape(title)}</h3>{svgs}</body></html>")
        return out
    plt = _pyplot()
    n = len(labels)
    fig, axes = plt.subplots(1, len(matrices), figsize=(len(matrices) * (3 + 0.7 * n), 2.4 + 0.6 * n), squeeze=False)
    try:
        for k, (ax, (sub, matrix)) in enumerate(zip(axes[0], matrices)):
            image = _draw_heatmap(ax, matrix, labels)
            if k:  # the labels once, on the left; numbers after
                ax.set_yticks(range(n), [str(i + 1) for i in range(n)], fontsize=8)
            ax.set_title(sub, fontsize=10)
        fig.colorbar(image, ax=list(axes[0]))
        fig.suptitle(title, fontsize=11)
        with written_whole(out) as temp:  # never a cut file at `out`
            fig.savefig(temp, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out


def check_plot_path(path: str | Path) -> Path:
    """The plot file, if its suffix is one we can draw (checked before any model runs)."""
    out = Path(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot {out}: use a file name ending in .png, .svg or .html")
    return out


def _write(out: Path, text: str) -> None:
    with written_whole(out) as temp:  # never a cut file at `out`
        temp.write_text(text, encoding="utf-8")


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("matplotlib", "data") from None
    return plt


def _draw_heatmap(ax, data: np.ndarray, labels: Sequence[str]):
    n = len(labels)
    image = ax.imshow(data, cmap="RdBu", vmin=-1, vmax=1)
    ax.set_yticks(range(n), [short_label(lab) for lab in labels], fontsize=8)
    ax.set_xticks(range(n), [str(i + 1) for i in range(n)], fontsize=8)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{data[i][j]:.2f}", ha="center", va="center", fontsize=8, color="white" if abs(data[i][j]) > 0.6 else "black")
    return image


def _matplotlib_plot(
    out: Path, *, kind: str, data: np.ndarray, labels: Sequence[str], title: str, groups: Sequence[int] | None
) -> None:
    plt = _pyplot()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7, 6) if kind == "scatter" else (3 + 0.7 * n, 2 + 0.6 * n))
    try:
        if kind == "scatter":
            colours = [_PALETTE[g % len(_PALETTE)] for g in (groups or [0] * n)]
            ax.scatter(data[:, 0], data[:, 1], s=18, c=colours)
            for (x, y), lab, c in zip(data, labels, colours):
                ax.annotate(short_label(lab), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8, color=c)
            ax.set_xlabel("PC1")
            ax.set_ylabel("PC2")
        else:
            fig.colorbar(_draw_heatmap(ax, data, labels), ax=ax)
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        with written_whole(out) as temp:
            fig.savefig(temp, bbox_inches="tight")
    finally:
        plt.close(fig)


