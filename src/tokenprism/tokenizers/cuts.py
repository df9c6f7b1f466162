"""Where a long text may be cut so that encoding the parts gives, joined, the ids of the whole text:
what corpus statistics and streamed counting need to hold a bounded piece of a long file at a time.

A cut goes at a space that follows a non-space character (``word| next``), and only where the
tokenizer itself says the cut holds there:

* by design (`Tokenizer._cuts_hold_locally`): its pre-tokenizer always ends a word before such a
  space, whatever comes before or after, and begins the next word there. True of the split patterns
  of GPT-2, cl100k/o200k, Llama-3, Qwen2, StarCoder2 (no piece of theirs holds a non-space followed by
  a space, none looks behind, and a word that ends at the space ends there whether the text goes on or
  stops: letters, digits and punctuation runs stop at a space as they stop at the end), of BERT's
  whitespace-and-punctuation split, and of a SentencePiece model whose pieces never hold ``x▁``;
* on the text itself: the backend's own encoder, given a window of the text around the cut, gives the
  same ids for the window as for its two halves (and, for statistics that decode, the same text).

A tokenizer that puts something before every text it is given (SentencePiece's ``▁`` dummy prefix
without whitespace removal, as Llama-2's; a normaliser that strips a leading space) fails the second
test everywhere: such a text is never cut. The proof that a cut found this way is exact for the whole
text: the pieces before the cut are those of the text that ends there (the word before the space ends
at it either way), the pieces after it are those of the text that starts there (no pattern looks
behind), and each piece is encoded on its own. See README, "Correctness".

>>> cutter = TextCutter([load_tokenizer("gpt2")])              # doctest: +SKIP
>>> cutter.split("a long text ...", part_chars=65536)          # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    from .base import Tokenizer

__all__ = ["cut_point", "cut_holds", "TextCutter", "split_parts", "split_stream", "CUT_WINDOW"]

#: Characters of context on each side of a cut that its check encodes.
CUT_WINDOW = 256
#: Candidates tried, from the nearest back, before a search gives up (a text where the checks keep
#: failing is one the tokenizer cannot be cut in).
_MAX_TRIES = 64
_CANDIDATE = re.compile(r"(?<=\S) ")
_PROBES = ("Hello world, this is a test.", "x = f(a,  b)  # note\n    return x", "数字 123 and 45.6 ok", "end.  Next line")


def cut_holds(tok: Tokenizer, text: str, pos: int, *, decodes: bool = True) -> bool:
    """Whether cutting `text` at `pos` keeps the ids (and, with `decodes`, the decoded text) of the
    window of text around it: encoded by the tokenizer's own batch encoder, without added tokens."""
    left, right = text[max(0, pos - CUT_WINDOW):pos], text[pos:pos + CUT_WINDOW]
    ids_left, ids_right, ids_both = tok.encode_ids_batch([left, right, left + right])
    if ids_left + ids_right != ids_both:
        return False
    if not decodes:
        return True
    dec_left, dec_right, dec_both = tok.decode_batch([ids_left, ids_right, ids_both])
    return dec_left + dec_right == dec_both


def cuttable(tok: Tokenizer, *, decodes: bool = True) -> bool:
    """Whether `tok` can be cut anywhere: by design, and on probe texts (so that a tokenizer no cut
    suits is told at once, not after trying every space of a long text). Kept per tokenizer."""
    key = f"_cuttable_{decodes}"
    known = tok.__dict__.get(key)
    if known is None:
        known = tok._cuts_hold_locally() and all(
            cut_holds(tok, probe, m.start(), decodes=decodes) for probe in _PROBES for m in _CANDIDATE.finditer(probe))
        tok.__dict__[key] = known
    return known


def candidates(text: str, after: int, before: int) -> Iterator[int]:
    """Positions p, after < p <= before, of a space that follows a non-space, nearest to `before` first."""
    hi = before
    while hi > after:
        lo = max(after, hi - 4096)
        found = [m.start() for m in _CANDIDATE.finditer(text, lo, min(hi + 1, len(text)))]
        yield from (p for p in reversed(found) if after < p <= hi)
        hi = lo


def cut_point(tok: Tokenizer, text: str, before: int, *, after: int = 0, decodes: bool = True) -> int | None:
    """The last position p, after < p <= before, where `text` may be cut for `tok` (see the module's
    docstring), or None."""
    return TextCutter([tok], decodes=decodes).cut(text, after, before)


class TextCutter:
    """Cuts that hold for every tokenizer of a run at once (corpus statistics encode each part with
    each of them). `never` is True when one of them cannot be cut anywhere.

    >>> TextCutter([load_tokenizer("gpt2")]).split("one two three", part_chars=5)    # doctest: +SKIP
    ['one', ' two', ' three']
    """

    def __init__(self, tokenizers: Sequence[Tokenizer], *, decodes: bool = True) -> None:
        self.tokenizers = list(tokenizers)
        self.decodes = decodes
        self.never = not all(cuttable(t, decodes=decodes) for t in self.tokenizers)

    def __call__(self, text: str, start: int, limit: int) -> int | None:
        """The cut for a part that starts at `start` and should end near `limit`: the last that holds
        at or before `limit`, else the first after it; None where the text holds none."""
        return self.cut(text, start, limit) or self.cut_after(text, limit)

    def cut(self, text: str, after: int, before: int) -> int | None:
        """The last position in (after, before] where every tokenizer's cut holds, or None."""
        if self.never:
            return None
        for tries, pos in enumerate(candidates(text, after, before)):
            if tries >= _MAX_TRIES:
                return None
            if all(cut_holds(t, text, pos, decodes=self.decodes) for t in self.tokenizers):
                return pos
        return None

    def cut_after(self, text: str, limit: int) -> int | None:
        """The first position after `limit` where every tokenizer's cut holds, or None."""
        if self.never:
            return None
        for tries, m in enumerate(_CANDIDATE.finditer(text, limit + 1)):
            if tries >= _MAX_TRIES:
                return None
            if all(cut_holds(t, text, m.start(), decodes=self.decodes) for t in self.tokenizers):
                return m.start()
        return None

    def split(self, text: str, *, part_chars: int) -> list[str]:
        """`text` in parts of about `part_chars` characters, cut where every tokenizer allows (a part
        is longer where no cut holds near its end; the whole text where none holds anywhere)."""
        return split_parts(text, part_chars, self)


def split_parts(text: str, part_chars: int, cut: Callable[[str, int, int], int | None]) -> list[str]:
    """`text` in parts of about `part_chars` characters, each ended where `cut(text, start, limit)` says
    (None: the rest is one part).

    >>> split_parts("ab cd ef", 3, lambda text, start, limit: text.rfind(" ", start + 1, limit + 1) if " " in text[start + 1:limit + 1] else None)
    ['ab', ' cd', ' ef']
    """
    parts, start = [], 0
    while len(text) - start > part_chars:
        at = cut(text, start, start + part_chars)
        if at is None:
            break
        parts.append(text[start:at])
        start = at
    parts.append(text[start:])
    return parts


def split_stream(cutter: TextCutter, chunks: Iterable[str], *, part_chars: int) -> Iterator[str]:
    """Parts of a stream of text (read block by block), cut as `TextCutter.split` cuts: the parts,
    joined, are the stream, and their ids, joined, are the ids of the whole stream. Holds at most
    about `part_chars` plus one chunk, more only where the text has no cut.

    >>> list(split_stream(TextCutter([tok]), ["one tw", "o three"], part_chars=4))   # doctest: +SKIP
    ['one', ' two', ' three']
    """
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        # keep a window after the last cut: the text that follows may still change the tokens before it
        if len(buffer) < part_chars + CUT_WINDOW:
            continue
        parts = cutter.split(buffer[:-CUT_WINDOW], part_chars=part_chars)
        held = parts.pop()
        yield from parts
        buffer = held + buffer[-CUT_WINDOW:]
    if buffer:
        yield from cutter.split(buffer, part_chars=part_chars)
