"""HTML rendering: self-contained strings (inline CSS, no scripts, no network), every token escaped.

The shared primitives here (`escape`, `id_colour`, `visible_whitespace`, `token_span`, `STYLE`) are what
every other renderer (compare, steps, embeddings, the web page) builds on.
"""

from __future__ import annotations

import colorsys
import html
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from ..tokenizers.base import TokenizerInfo
    from ..types import Decoding, Encoding, Token

__all__ = ["escape", "count_noun", "id_colour", "id_rgb", "turns", "token_colours", "marked_label", "visible_whitespace", "token_span", "encoding_html", "decoding_html", "info_html", "STYLE", "DISPLAY_LIMIT"]

#: At most this many tokens are drawn; the rest are counted and said to be elided.
DISPLAY_LIMIT = 5000

STYLE = """<style>
.tp{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;line-height:1.9}
.tp-tok{border-radius:3px;padding:1px 0;margin:0 1px 0 0;white-space:pre-wrap;color:#111;border-right:1px solid rgba(0,0,0,.28)}
.tp-special{outline:1px solid #555;font-weight:600}
.tp-from-text{outline:1px dashed #c00}
.tp-frag{font-style:italic;font-size:11px}
.tp-ws{color:#777}
.tp-meta{color:#555;font-size:12px;margin:4px 0}
.tp-ids{color:#333;font-size:12px;overflow-wrap:normal;word-break:normal}
.tp-note{color:#8a5a00;font-size:12px}
</style>"""


def escape(text: str) -> str:
    """Escape for HTML text and attribute values alike (quotes included)."""
    return html.escape(text, quote=True)


#: Two hues closer than this (on the colour wheel, 0–1) look alike: a token whose hue is that close to
#: the previous token's takes the opposite hue instead (`turns`). The page (app.js) keeps the same rule.
HUE_CLASH = 0.15


def id_hue(token_id: int) -> float:
    """The hue of an id: id × golden ratio mod 1, so neighbouring ids get distant hues."""
    return (token_id * 0.618033988749895) % 1.0


def id_rgb(token_id: int, *, turned: bool = False) -> tuple[int, int, int]:
    """A stable pastel colour for a token id: the same id has the same colour everywhere; `turned`
    (see `turns`) is its opposite hue, for a token whose hue is too close to the previous one's."""
    hue = id_hue(token_id)
    if turned:
        hue = (hue + 0.5) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.82, 0.75)
    return round(r * 255), round(g * 255), round(b * 255)


def id_colour(token_id: int, *, turned: bool = False) -> str:
    r, g, b = id_rgb(token_id, turned=turned)
    return f"#{r:02x}{g:02x}{b:02x}"


def turns(ids: Iterable[int]) -> list[bool]:
    """For tokens side by side: which ones take their opposite hue, so that no two neighbours share a
    colour (a hue within `HUE_CLASH` of the previous token's, as shown, is turned half the wheel).

    >>> turns([5, 5, 5, 7])
    [False, True, False, False]
    """
    out: list[bool] = []
    prev = None
    for token_id in ids:
        hue = id_hue(token_id)
        turned = prev is not None and _hue_gap(hue, prev) < HUE_CLASH
        if turned:
            hue = (hue + 0.5) % 1.0
        out.append(turned)
        prev = hue
    return out


def _hue_gap(a: float, b: float) -> float:
    d = abs(a - b)
    return min(d, 1.0 - d)


def token_colours(ids: Iterable[int]) -> list[str]:
    """The colours of tokens shown side by side: each id's own, never the same as its neighbour's."""
    ids = list(ids)
    return [id_colour(i, turned=t) for i, t in zip(ids, turns(ids))]


def count_noun(n: int, noun: str) -> str:
    """A count and its noun, singular for one.

    >>> count_noun(1, "token"), count_noun(1200, "token")
    ('1 token', '1,200 tokens')
    """
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def visible_whitespace(text: str) -> str:
    """Spaces, tabs and newlines made visible: · → ↵ (the newline itself kept after ↵)."""
    return text.replace(" ", "·").replace("\t", "→").replace("\r\n", "↵\n").replace("\r", "␍").replace("\n", "↵\n")


def visible_one_line(text: str) -> str:
    """`visible_whitespace` without the line breaks: a symbol or label kept on one line (↵ marks them)."""
    return visible_whitespace(text).replace("\n", "")


def token_title(token: Token) -> str:
    parts = [f"id {token.id}", f"piece {token.piece!r}", f"bytes {token.data.hex(' ') or '-'}", f"chars {token.start}–{token.end}"]
    if token.from_text:
        parts.append("special token parsed from your text")
    elif token.special:
        parts.append("special token")
    if token.fragment:
        parts.append("part of a multi-byte character")
    return " · ".join(parts)


def marked_label(piece: str, label: str) -> str:
    """A WordPiece continuation keeps its ``##`` (the piece "##ization" shows as "##ization", not "ization");
    other labels are as they are.

    >>> marked_label("##ization", "ization"), marked_label("##", "##")
    ('##ization', '##')
    """
    return piece if piece.startswith("##") and piece[2:] == label and label else label


def token_span(token: Token, *, colour: str | None = None) -> str:
    """One token as a coloured span (`colour`: its place among its neighbours, see `token_colours`;
    by default its id's own); hovering shows id, piece, bytes and character offsets."""
    classes = ["tp-tok"]
    if token.special:
        classes.append("tp-special")
    if token.from_text:
        classes.append("tp-from-text")
    if token.fragment:
        classes.append("tp-frag")
    label = token.label if (token.special or token.fragment) else visible_whitespace(marked_label(token.piece, token.label))
    return (
        f'<span class="{" ".join(classes)}" style="background:{colour or id_colour(token.id)}" '
        f'title="{escape(token_title(token))}" data-id="{token.id}" data-start="{token.start}" '
        f'data-end="{token.end}">{escape(label)}</span>'
    )


def encoding_html(enc: Encoding, *, limit: int = DISPLAY_LIMIT) -> str:
    """An `Encoding` as a self-contained HTML block: header, coloured tokens, ids, notes."""
    shown = enc.head(limit)
    spans = "".join(token_span(t, colour=c) for t, c in zip(shown, token_colours(t.id for t in shown)))
    elided = f'<div class="tp-note">… {enc.count - limit:,} more tokens not shown</div>' if enc.count > limit else ""
    ids = " ".join(str(i) for i in enc.ids[:limit])
    notes = "".join(f'<div class="tp-note">{escape(n)}</div>' for n in enc.notes)
    meta = (
        f"{escape(enc.tokenizer)} · {count_noun(enc.count, 'token')} · {count_noun(len(enc.text), 'character')} · "
        f"{'lossless' if enc.lossless else 'not lossless'}"
    )
    return (
        f'{STYLE}<div class="tp"><div class="tp-meta">{meta}</div><div>{spans}</div>{elided}'
        f'<div class="tp-ids">{ids}</div>{notes}</div>'
    )


def decoding_html(dec: Decoding) -> str:
    """Each id as a coloured label (fragments as their bytes), then the joined text."""
    spans = "".join(
        f'<span class="tp-tok{" tp-special" if sp else ""}{" tp-frag" if fr else ""}" style="background:{c}" '
        f'title="{escape(f"id {i} · piece {p!r}")}" data-id="{i}">'
        f"{escape(lab if sp or fr else visible_whitespace(marked_label(p, lab)))}</span>"
        for i, p, lab, sp, fr, c in zip(dec.ids, dec.pieces, dec.labels, dec.special, dec.fragment, token_colours(dec.ids))
    )
    return f'{STYLE}<div class="tp"><div class="tp-meta">{escape(dec.tokenizer)} · {count_noun(len(dec.ids), "id")}</div><div>{spans}</div><div class="tp-meta">text: {escape(repr(dec.text))}</div></div>'


def fact_text(value: object, *, limit: int = 200) -> str:
    """One fact of an info section as one line: numbers with thousands separators, dicts as
    "key value, …" (nested ones in parentheses), long or multi-line text cut short with its length.

    >>> fact_text({"Q8_0": {"tensors": 3, "bytes": 1024}, "F32": {"tensors": 1, "bytes": 64}})
    'Q8_0 (tensors 3, bytes 1,024), F32 (tensors 1, bytes 64)'
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} ({fact_text(v)})" if isinstance(v, dict) else f"{k} {fact_text(v)}" for k, v in value.items())
    text = str(value)
    if len(text) > limit or "\n" in text:
        return repr(text[:limit]) + f" … ({len(text):,} characters)"
    return text


def info_html(info: TokenizerInfo) -> str:
    """A tokenizer's facts as a two-column table."""
    roles = {t: ", ".join(info.roles_of(t)) for t in info.roles.values()}  # <|endoftext|>: bos, eos, unk
    specials = ", ".join(f"{t}={i}" + (f" ({roles[t]})" if t in roles else "") for t, i in list(info.special_tokens.items())[:40])
    rows = [
        ("tokenizer", info.name), ("source", info.source), ("model type", info.model_type),
        ("vocab size", f"{info.vocab_size:,} ({info.base_vocab_size:,} base)"), ("special tokens", specials or "none"),
        ("chat template", "yes" if info.chat_template else "no"), *(("inferred", n) for n in info.inferred),
        *((f"{name} {key.replace('_', ' ')}", fact_text(value)) for name, facts in (info.sections or {}).items()
          for key, value in facts.items() if value is not None),
    ]
    body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'{STYLE}<table class="tp">{body}</table>'
