"""Renderers for `CorpusStats`: a rich table, an HTML table, and a chart of bytes/token per
tokenizer and group (PNG or SVG through matplotlib; HTML = that SVG in a self-contained page)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MissingDependency, UsageError
from ..files import written_whole
from .html import STYLE, escape

if TYPE_CHECKING:
    from rich.console import Group

    from ..corpus.stats import CorpusStats, GroupStats

__all__ = ["corpus_view", "corpus_html", "write_plot", "PLOT_SUFFIXES"]

PLOT_SUFFIXES = (".png", ".svg", ".html")
_COLUMNS = ("tokenizer", "group", "docs", "tokens", "bytes/tok", "chars/tok", "tok/word", "unk rate", "lossless", "vocab used", "top tokens")


# terminal headers, short enough for 80 columns: bytes/token, chars/token, tokens/word, unknown
# rate, share of documents that round-trip, share of the vocabulary used
_SHORT = ("group", "docs", "tokens", "B/tok", "ch/tok", "tok/w", "unk", "lossl.", "vocab")


def _cells(r: GroupStats) -> list[str]:
    from .compare import one_line

    top = " ".join(one_line(label) for _, label, _ in r.top_tokens[:5])
    return [
        r.tokenizer, r.group, f"{r.documents:,}", f"{r.tokens:,}", f"{r.bytes_per_token:.2f}", f"{r.chars_per_token:.2f}",
        f"{r.tokens_per_word:.2f}", f"{r.unknown_rate:.2%}", f"{r.lossless_share:.0%}", f"{r.vocab_used:.1%}", top,
    ]


def corpus_view(stats: CorpusStats) -> Group:
    """One table per tokenizer (a row per group, then all groups), its most frequent tokens under
    it, then what reading skipped. Narrow enough for an 80-column terminal."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .compare import one_line

    parts: list = [Text(f"corpus statistics ({stats.engine} engine, {stats.seconds:.1f} s)", style="bold")]
    for name in stats.tokenizers:
        table = Table(title=name, title_justify="left", title_style="bold", header_style="bold", box=box.SIMPLE_HEAD)
        for col in _SHORT:
            table.add_column(col, justify="left" if col == "group" else "right", no_wrap=col != "group")
        rows = [r for r in stats.rows if r.tokenizer == name]
        for r in rows:
            table.add_row(*_cells(r)[1:-1], style="bold" if r.group == "(all)" else None)
        parts.append(table)
        top = rows[-1].top_tokens[:10]
        parts.append(Text("most frequent: " + "  ".join(f"{one_line(label)}×{count:,}" for _, label, count in top), style="dim"))
        parts.extend(_ids_notes(stats.ids.get(name, {})))
    parts.extend(_read_notes(stats.report))
    return Group(*parts)


def ids_line(ids: dict) -> str:
    """Which id engine produced a tokenizer's numbers, and what checked it (`CorpusStats.ids`).

    >>> ids_line({"engine": "gigatoken 0.10.0", "verified": "same ids as tokenizers 0.23.3 on 343 probe strings",
    ...           "checked_documents": 4})
    'ids: gigatoken 0.10.0 (same ids as tokenizers 0.23.3 on 343 probe strings; 4 documents re-checked by the reference)'
    """
    if not ids.get("engine"):
        return ""
    checks = [ids["verified"]] if ids.get("verified") and ids["verified"] != "the reference backend" else []
    if ids.get("checked_documents"):
        checks.append(f"{ids['checked_documents']:,} documents re-checked by the reference")
    return f"ids: {ids['engine']}" + (f" ({'; '.join(checks)})" if checks else "")


def _ids_notes(ids: dict) -> list:
    from rich.text import Text

    line = ids_line(ids)
    notes = [Text(line, style="dim")] if line else []
    return notes + [Text(f"ids: {why}", style="yellow") for why in ids.get("switched", [])]


def _read_notes(read: dict) -> list:
    from rich.text import Text

    notes = [Text(f"skipped {item['path']}: {item['reason']}", style="yellow") for item in read.get("skipped", [])[:20]]
    if len(read.get("skipped", [])) > 20:
        notes.append(Text(f"… and {len(read['skipped']) - 20} more skipped", style="yellow"))
    notes += [Text(f"{path}: {n} invalid UTF-8 sequence(s) replaced with U+FFFD", style="yellow")
              for path, n in read.get("invalid_utf8", {}).items()]
    notes += [Text(f"{path}: {n} line(s) without a text field skipped", style="yellow")
              for path, n in read.get("bad_records", {}).items()]
    return notes


def corpus_html(stats: CorpusStats) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in _cells(r)) + "</tr>" for r in stats.rows)
    return f'{STYLE}<table class="tp"><tr>{head}</tr>{body}</table>'


def write_plot(stats: CorpusStats, path: str | Path) -> Path:
    """A grouped bar chart of bytes/token: one group of bars per corpus group, one bar per tokenizer."""
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot takes a .png, .svg or .html file, not {path.name!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("matplotlib", "data") from None
    fig = _figure(plt, stats)
    try:
        with written_whole(path) as temp:  # never a cut file at `path`
            if path.suffix.lower() == ".html":
                import io

                buf = io.StringIO()
                fig.savefig(buf, format="svg", bbox_inches="tight")
                svg = buf.getvalue()
                svg = svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML
                temp.write_text(
                    f"<!doctype html><meta charset='utf-8'><title>bytes per token</title><body>{svg}</body>", encoding="utf-8"
                )
            else:
                fig.savefig(temp, bbox_inches="tight", dpi=120)
    finally:
        plt.close(fig)
    return path


def _figure(plt, stats: CorpusStats):
    groups = stats.groups + ["(all)"]
    names = stats.tokenizers
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(groups) * max(1, len(names)) ** 0.5), 4))
    for k, name in enumerate(names):
        values = [next((r.bytes_per_token for r in stats.rows if r.tokenizer == name and r.group == g), 0.0) for g in groups]
        ax.bar([i + k * width for i in range(len(groups))], values, width, label=name)
    ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(groups))], groups)
    ax.set_ylabel("bytes per token (higher = fewer tokens)")
    ax.set_title("bytes per token, by tokenizer and group")
    ax.legend(fontsize="small")
    return fig
