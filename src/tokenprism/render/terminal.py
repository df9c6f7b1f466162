"""Terminal rendering with rich: coloured token backgrounds, whitespace made visible, ids beside.

Functions return rich renderables (`Text`, `Table`, `Group`); the CLI prints them. Colours are the
same per id as in the HTML (`render.html.id_rgb`).
"""

from __future__ import annotations

import functools

from typing import TYPE_CHECKING, Iterable

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .html import fact_text, id_rgb

if TYPE_CHECKING:
    from ..tokenizers.base import TokenizerInfo
    from ..types import Decoding, Encoding, Token

__all__ = ["token_style", "tokens_text", "encoding_view", "decoding_view", "info_view", "count_view", "terminal_label", "DISPLAY_LIMIT"]

#: At most this many tokens are drawn in a terminal; the rest are counted and said to be elided.
DISPLAY_LIMIT = 2000


def token_style(token_id: int, *, special: bool = False) -> Style:
    return _token_style(token_id, special)


@functools.lru_cache(maxsize=8192)
def _token_style(token_id: int, special: bool) -> Style:
    # One Style per id, kept: rich caches a style's escape codes on the object, and a table of 200 steps
    # shows each id many times (a fresh Style each time tripled the cost of drawing it on a terminal).
    r, g, b = id_rgb(token_id)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="black", bold=special)


def terminal_label(label: str) -> str:
    """Whitespace made visible for a terminal: space ·, tab →, newline ↵ (and a real line break)."""
    return label.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "↵\n")


def tokens_text(tokens: Iterable[Token], *, show_ids: bool = False) -> Text:
    """Tokens side by side, each on its own colour; special tokens bold, parsed ones underlined."""
    text = Text()
    for tok in tokens:
        label = tok.label if tok.special or tok.fragment else terminal_label(tok.label)
        style = token_style(tok.id, special=tok.special)
        if tok.from_text:
            style += Style(underline=True)
        text.append(label, style=style)
        if show_ids:
            text.append(f"{tok.id}", style=Style(dim=True))
        text.append(" " if show_ids else "")
    return text


def encoding_view(enc: Encoding, *, limit: int = DISPLAY_LIMIT) -> Group:
    """Header, coloured tokens, then the ids in the same colours, then notes."""
    tokens = enc.head(limit)
    header = Text.assemble(
        (enc.tokenizer, "bold"),
        f"  {enc.count:,} tokens · {len(enc.text):,} characters · ",
        ("lossless" if enc.lossless else "not lossless", "green" if enc.lossless else "yellow"),
    )
    ids = Text()
    for tok in tokens:
        ids.append(str(tok.id), style=token_style(tok.id, special=tok.special))
        ids.append(" ")
    parts: list = [header, tokens_text(tokens), Text(""), ids]
    if enc.count > limit:
        parts.append(Text(f"… {enc.count - limit:,} more tokens not shown (use --json or --ids-only for all)", style="yellow"))
    parsed = [t for t in tokens if t.from_text]
    if parsed:
        names = ", ".join(sorted({t.piece for t in parsed}))
        parts.append(Text(f"note: {names} parsed from your text as special token(s) (underlined); "
                          "--split-special-tokens treats them as plain text", style="yellow"))
    parts.extend(Text(f"note: {n}", style="yellow") for n in enc.notes)
    return Group(*parts)


def decoding_view(dec: Decoding) -> Group:
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("id", "piece", "shown as"):
        table.add_column(col)
    for tid, piece, label, special, fragment in zip(dec.ids, dec.pieces, dec.labels, dec.special, dec.fragment):
        shown = label if special or fragment else terminal_label(label)
        table.add_row(str(tid), repr(piece), Text(shown, style=token_style(tid, special=special)))
    return Group(table, Text.assemble(("text: ", "bold"), repr(dec.text)))


def info_view(info: TokenizerInfo, properties: dict | None = None) -> Group:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("tokenizer", info.name)
    table.add_row("source", info.source)
    table.add_row("model type", info.model_type)
    table.add_row("vocab size", f"{info.vocab_size:,} ({info.base_vocab_size:,} base + {info.vocab_size - info.base_vocab_size:,} added)")
    roles = {t: ", ".join(info.roles_of(t)) for t in info.roles.values()}  # <|endoftext|>: bos, eos, unk
    specials = ", ".join(f"{t}={i}" + (f" ({roles[t]})" if t in roles else "") for t, i in list(info.special_tokens.items())[:40])
    more = f" … and {len(info.special_tokens) - 40} more" if len(info.special_tokens) > 40 else ""
    table.add_row("special tokens", (specials + more) or "none")
    table.add_row("chat template", "yes" if info.chat_template else "no")
    for key, value in (properties or {}).items():
        table.add_row(key.replace("_", " "), str(value))
    for note in info.inferred:
        table.add_row("inferred", note)
    for name, facts in (info.sections or {}).items():
        for key, value in facts.items():
            if value is not None:
                table.add_row(f"{name} {key.replace('_', ' ')}", fact_text(value))
    return Group(table)


def count_view(report) -> Group:
    """Per-file token counts and the total, with what was skipped."""
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("tokens", justify="right")
    table.add_column("chars", justify="right")
    table.add_column("file")
    for f in report.files:
        note = f"  ({f.invalid_utf8} bad UTF-8 bytes replaced)" if f.invalid_utf8 else ""
        table.add_row(f"{f.tokens:,}", f"{f.characters:,}", f.path + note)
    table.add_row(Text(f"{report.total:,}", style="bold"), "", Text(f"total ({report.tokenizer})", style="bold"))
    parts: list = [table]
    if report.skipped_binary:
        parts.append(Text(f"skipped {len(report.skipped_binary)} binary file(s)", style="yellow"))
    if report.unreadable:
        parts.append(Text(f"could not read {len(report.unreadable)} file(s): {', '.join(report.unreadable[:3])}", style="yellow"))
    return Group(*parts)
