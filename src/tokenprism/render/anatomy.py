"""How a token is built (`TokenAnatomy`, `Anatomy`): the replay of a tokenizer's model as terminal text
and as self-contained HTML. BPE shows the token's symbols after each merge with the merge's rank;
WordPiece the longest match at each position; Unigram the best cut beside the runners-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .html import STYLE, escape, id_colour, visible_one_line, visible_whitespace

if TYPE_CHECKING:
    from rich.console import Group

    from ..tokenizers.anatomy import Anatomy, TokenAnatomy, WordAnatomy

__all__ = ["ALGORITHM_RULE", "WORDS_SHOWN", "anatomy_html", "anatomy_view", "token_anatomy_html", "token_anatomy_view"]

#: At most this many words are drawn in a terminal (a file's worth of replays is for --json).
WORDS_SHOWN = 300

#: One line per algorithm: what the steps mean.
ALGORITHM_RULE = {
    "bpe": "BPE: start from single characters (bytes), then merge the adjacent pair with the lowest rank, again and again, until no pair merges",
    "wordpiece": "WordPiece: take the longest piece of the vocabulary at the start of what is left (## marks a piece inside a word)",
    "unigram": "Unigram: of every way to cut the word into pieces, take the one whose scores (log-probabilities) add up highest",
}

_ANATOMY_STYLE = """<style>
.tp-anat td,.tp-anat th{padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
.tp-anat .tp-sym{display:inline-block;border:1px solid #bbb;border-radius:3px;padding:0 3px;margin:0 2px 0 0;background:#fafafa;white-space:pre}
.tp-anat .tp-new{background:#fff3c4;border-color:#e0a800}
.tp-anat .tp-best td{font-weight:600}
.tp-anat .tp-here{outline:2px solid #2a6}
</style>"""


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}"


def _header(t: TokenAnatomy) -> str:
    word = t.word
    kind = f" ({word.algorithm})" if word else ""
    return f"token {t.index} · id {t.id} · piece {t.piece!r} · {t.tokenizer}{kind}"


def _word_line(word: WordAnatomy) -> str:
    text = word_text(word)
    return f"word {text!r}, as the model sees it: {word.symbols!r} ({len(word.symbols)} symbol(s))"


def word_text(word: WordAnatomy) -> str:
    from ..tokenizers.anatomy import symbol_text

    return symbol_text(word.symbols, byte_level=word.byte_level)


def _verdict(word: WordAnatomy) -> str:
    if word.exact:
        return "✓ the replay ends in the tokenizer's own tokens"
    return f"✗ the replay ends in {word.replayed}, the tokenizer gave {word.ids}"


# --- terminal -----------------------------------------------------------------------------------
def token_anatomy_view(t: TokenAnatomy) -> Group:
    """One token: its word, then each step that built it."""
    from rich.console import Group
    from rich.text import Text

    parts: list = [Text(_header(t), style="bold")]
    if t.word is None:
        parts.append(Text(f"not built by the model: {t.why}", style="yellow"))
        return Group(*parts)
    word = t.word
    parts += [Text(_word_line(word)), Text(ALGORITHM_RULE[word.family], style="dim")]
    parts += _steps_lines(t)
    parts += [Text(f"note: {n}", style="yellow") for n in word.notes]
    parts.append(Text(_verdict(word), style="green" if word.exact else "red"))
    return Group(*parts)


def _steps_lines(t: TokenAnatomy) -> list:
    from rich.text import Text

    word = t.word
    assert word is not None
    if word.family == "bpe":
        shown = [" ".join(visible_one_line(s) for s in state) for state in t.states()]
        width = max(map(len, shown))
        lines = [Text(f"  {shown[0].ljust(width)}   start")]
        for m, state in zip(t.steps, shown[1:]):
            lines.append(Text(f"  {state.ljust(width)}   {visible_one_line(m.left)} + {visible_one_line(m.right)} → {visible_one_line(m.merged)}"
                              f"  ({word.rank_name} {_number(m.rank)})"))
        if not t.steps:
            lines.append(Text("  no merge: the token is a single symbol" if len(t.states()[0]) == 1 else "  taken whole (see the note)"))
        return lines
    if word.family == "wordpiece":
        return [Text(f"  {'→' if i == t.position else ' '} {_match_line(m, word)}") for i, m in enumerate(word.matches)]
    lines = []
    for k, cut in enumerate(word.cuts):
        mark = "✓" if k == 0 else " "
        lines.append(Text(f"  {mark} {' | '.join(visible_one_line(p) for p in cut.pieces)}   score {cut.score:.4f}",
                          style="bold" if k == 0 else ""))
    return lines


def _match_line(m, word: WordAnatomy) -> str:
    rest = word.symbols[m.start:]
    if m.piece is None:
        return f"at {m.start}: no piece of the vocabulary starts {rest!r}: the whole word becomes the unknown token"
    tried = f" ({m.tried} longer candidate(s) are not pieces)" if m.tried else ""
    return f"at {m.start}: longest piece at the start of {rest!r} is {m.piece!r}{tried}"


def anatomy_view(a: Anatomy) -> Group:
    """Every word of a text: how the model cut it into its tokens."""
    from rich.console import Group
    from rich.text import Text

    parts: list = [Text(f"{a.tokenizer}: how each token of the text was built", style="bold")]
    families = {w.family for w in a.words}
    parts += [Text(ALGORITHM_RULE[f], style="dim") for f in sorted(families)]
    by_word: dict[int, list[TokenAnatomy]] = {}
    for t in a.tokens:
        if t.word is not None:
            by_word.setdefault(id(t.word), []).append(t)
    seen: set[int] = set()
    for t in a.tokens:
        if len(seen) == WORDS_SHOWN:
            parts.append(Text(f"… the tokens from {t.index} on are not shown (use --json for all)", style="yellow"))
            break
        if t.word is None:
            parts.append(Text.assemble((f"[{t.index}] {t.piece}", "bold"), f"  not built by the model: {t.why}"))
            continue
        if id(t.word) in seen:
            continue
        seen.add(id(t.word))
        parts += _word_block(t.word, by_word[id(t.word)])
    parts.append(Text("✓ every replay ends in the tokenizer's own tokens" if a.exact else "✗ some replays differ (marked ✗ above)",
                      style="green" if a.exact else "red"))
    return Group(*parts)


def _word_block(word: WordAnatomy, tokens: list[TokenAnatomy]) -> list:
    from rich.text import Text

    out: list = [Text(""), Text(f"{visible_one_line(word_text(word))}  ({word.symbols!r} → {' '.join(repr(p) for p in word.pieces)})", style="bold")]
    if word.family == "bpe":
        for t in tokens:
            chain = " · ".join(f"{visible_one_line(m.left)}+{visible_one_line(m.right)} ({_number(m.rank)})" for m in t.steps)
            out.append(Text(f"  [{t.index}] {visible_one_line(t.piece)} ← {chain or 'no merge'}"))
    else:
        out += _steps_lines(tokens[0])
    out += [Text(f"  note: {n}", style="yellow") for n in word.notes]
    if not word.exact:
        out.append(Text("  " + _verdict(word), style="red"))
    return out


# --- HTML -----------------------------------------------------------------------------------------
def _sym(symbol: str, *, new: bool = False) -> str:
    return f'<span class="tp-sym{" tp-new" if new else ""}">{escape(visible_one_line(symbol))}</span>'


def token_anatomy_html(t: TokenAnatomy) -> str:
    """One token's build as a self-contained HTML block (a table of steps)."""
    return f'{STYLE}{_ANATOMY_STYLE}<div class="tp tp-anat">{_token_block(t)}</div>'


def _token_block(t: TokenAnatomy) -> str:
    chip = f'<span class="tp-tok" style="background:{id_colour(t.id)}">{escape(visible_whitespace(t.label))}</span>'
    head = f'<div class="tp-meta">{chip} {escape(_header(t))}</div>'
    if t.word is None:
        return f'{head}<div class="tp-note">not built by the model: {escape(t.why)}</div>'
    word = t.word
    body = [head, f'<div class="tp-meta">{escape(_word_line(word))}</div>',
            f'<div class="tp-meta">{escape(ALGORITHM_RULE[word.family])}</div>', _steps_html(t)]
    body += [f'<div class="tp-note">{escape(n)}</div>' for n in word.notes]
    body.append(f'<div class="tp-meta">{escape(_verdict(word))}</div>')
    return "".join(body)


def _steps_html(t: TokenAnatomy) -> str:
    word = t.word
    assert word is not None
    if word.family == "bpe":
        states = t.states()
        rows = [f'<tr><td>start</td><td>{"".join(_sym(s) for s in states[0])}</td><td></td></tr>']
        for k, (m, after) in enumerate(zip(t.steps, states[1:]), 1):
            cells = "".join(_sym(s, new=s == m.merged) for s in after)
            rows.append(f"<tr><td>{k}</td><td>{cells}</td><td>{escape(visible_one_line(m.left))} + {escape(visible_one_line(m.right))} "
                        f"({escape(word.rank_name)} {escape(_number(m.rank))})</td></tr>")
        return f'<table class="tp-anat"><tr><th>step</th><th>symbols</th><th>merge</th></tr>{"".join(rows)}</table>'
    if word.family == "wordpiece":
        rows = "".join(f'<tr class="{"tp-best" if i == t.position else ""}"><td>{m.start}</td>'
                       f'<td>{escape(_match_line(m, word))}</td></tr>'
                       for i, m in enumerate(word.matches))
        return f'<table class="tp-anat"><tr><th>at</th><th>longest match</th></tr>{rows}</table>'
    rows = "".join(
        f'<tr class="{"tp-best" if k == 0 else ""}"><td>{"best" if k == 0 else f"runner-up {k}"}</td>'
        f'<td>{"".join(_sym(p) for p in cut.pieces)}</td><td>{cut.score:.4f}</td></tr>'
        for k, cut in enumerate(word.cuts))
    return f'<table class="tp-anat"><tr><th></th><th>cut</th><th>score</th></tr>{rows}</table>'


def anatomy_html(a: Anatomy) -> str:
    """Every token of a text, each with its build (tokens of one word share its steps)."""
    blocks = [_token_block(t) for t in a.tokens[:200]]
    more = f'<div class="tp-note">… {len(a.tokens) - 200} more tokens not shown</div>' if len(a.tokens) > 200 else ""
    return f'{STYLE}{_ANATOMY_STYLE}<div class="tp tp-anat">{"<hr>".join(blocks)}{more}</div>'
