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

from .html import count_noun, fact_text, id_rgb, marked_label, turns

if TYPE_CHECKING:
    from ..tokenizers.base import TokenizerInfo
    from ..types import Decoding, Encoding, Token

__all__ = ["token_style", "chain_styles", "boundaries", "SEPARATOR", "tokens_text", "encoding_view", "decoding_view", "info_view", "count_view", "terminal_label", "DISPLAY_LIMIT"]

#: At most this many tokens are drawn in a terminal; the rest are counted and said to be elided.
DISPLAY_LIMIT = 2000


def token_style(token_id: int, *, special: bool = False, turned: bool = False) -> Style:
    return _token_style(token_id, special, turned)


@functools.lru_cache(maxsize=8192)
def _token_style(token_id: int, special: bool, turned: bool) -> Style:
    # One Style per id, kept: rich caches a style's escape codes on the object, and a table of 200 steps
    # shows each id many times (a fresh Style each time tripled the cost of drawing it on a terminal).
    r, g, b = id_rgb(token_id, turned=turned)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="black", bold=special)


#: Between tokens where colours cannot show (NO_COLOR, output piped to a file or a program): a thin bar.
SEPARATOR = "▏"
_UNDERLINE = Style(underline=True)


def boundaries() -> str:
    """How token boundaries show on this output: "colour" (24-bit or 256 colours: each token on its own
    colour, neighbours never alike), "underline" (16 colours, where pastel colours fall together into
    greys: every second token underlined too) or "separator" (no colour at all: a thin bar between tokens).
    Asked of rich, which reads the terminal, TERM, COLORTERM, NO_COLOR and FORCE_COLOR as it prints."""
    from rich.console import Console

    console = Console()
    if console.no_color or console.color_system is None:
        return "separator"
    return "underline" if console.color_system in ("standard", "windows") else "colour"


def chain_styles(ids: list[int], specials: Iterable[bool]) -> list[Style]:
    """Styles of tokens side by side: each id's colour, never its neighbour's (`render.html.turns`), and
    every second one underlined where only 16 colours show."""
    underline = boundaries() == "underline"
    return [token_style(i, special=sp, turned=t) + (_UNDERLINE if underline and k % 2 else Style())
            for k, (i, sp, t) in enumerate(zip(ids, specials, turns(ids)))]


def terminal_label(label: str) -> str:
    """Whitespace made visible for a terminal: space ·, tab →, newline ↵ (and a real line break)."""
    return label.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "↵\n")


def tokens_text(tokens: Iterable[Token], *, show_ids: bool = False) -> Text:
    """Tokens side by side, each on its own colour (never its neighbour's); special tokens bold, parsed
    ones underlined; a thin bar between tokens where no colour shows."""
    tokens = list(tokens)
    styles = chain_styles([t.id for t in tokens], [t.special for t in tokens])
    bar = SEPARATOR if not show_ids and boundaries() == "separator" else ""
    text = Text()
    for k, (tok, style) in enumerate(zip(tokens, styles)):
        label = tok.label if tok.special or tok.fragment else terminal_label(marked_label(tok.piece, tok.label))
        if tok.from_text:
            style += _UNDERLINE
        if k and bar:
            text.append(bar, style="dim")
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
        f"  {count_noun(enc.count, 'token')} · {count_noun(len(enc.text), 'character')} · ",
        ("lossless" if enc.lossless else "not lossless", "green" if enc.lossless else "yellow"),
    )
    ids = Text()
    for tok, style in zip(tokens, chain_styles([t.id for t in tokens], [t.special for t in tokens])):
        ids.append(str(tok.id), style=style)
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
    # The probed properties, less what the rows above already say (model type, vocab size, chat template).
    said = {"algorithm": info.model_type, "vocab": f"{info.vocab_size:,}", "chat template": "yes" if info.chat_template else "no"}
    for key, value in (properties or {}).items():
        name = key.replace("_", " ")
        if name in said and (name == "chat template" or str(value) == said[name]):
            continue
        table.add_row(name, str(value))
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
    chars = sum(f.characters for f in report.files)
    table.add_row(Text(f"{report.total:,}", style="bold"), Text(f"{chars:,}", style="bold"), Text(f"total ({report.tokenizer})", style="bold"))
    parts: list = [table]
    if report.skipped_binary:
        shown = ", ".join(report.skipped_binary[:5]) + (f" and {len(report.skipped_binary) - 5} more" if len(report.skipped_binary) > 5 else "")
        parts.append(Text(f"skipped {count_noun(len(report.skipped_binary), 'binary file')}: {shown}", style="yellow"))
    if report.unreadable:
        parts.append(Text(f"could not read {len(report.unreadable)} file(s): {', '.join(report.unreadable[:3])}", style="yellow"))
    return Group(*parts)
