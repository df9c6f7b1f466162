"""Long texts tokenized a part at a time, so that memory stays bounded whatever the input's size:
what `count` and `tokenize --ids-only / --json` do with large files and stdin.

The text arrives in blocks (`files.TextBlocks`); it is cut into parts of about `PART_CHARS` characters
only where the tokenizer allows a cut (`tokenizers.cuts`: the parts' ids, joined, are the whole text's
ids), and each part is encoded on its own. The tokens a tokenizer adds around a text (BOS/EOS,
[CLS]/[SEP]) go around the whole, once. A tokenizer that no cut suits is given the text whole.

>>> with open("book.txt", "rb") as fh:                                        # doctest: +SKIP
...     count_blocks(load_tokenizer("gpt2"), TextBlocks(fh))
996895
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:
    from .tokenizers.base import Tokenizer
    from .types import Encoding

__all__ = ["PART_CHARS", "text_parts", "count_blocks", "ids_in_parts", "encodings_in_parts", "added_around"]

#: Characters per part handed to the tokenizer (a part's ids and tokens are what memory holds).
PART_CHARS = 1 << 18
#: Parts encoded together (the backends' batch encoders run them on several cores).
_BATCH = 4


def text_parts(tok: Tokenizer, blocks: Iterable[str], *, decodes: bool = False, part_chars: int | None = None) -> Iterator[str]:
    """The text of `blocks` in parts cut where `tok` allows (with `decodes`, where decoding the parts
    apart also gives the whole text back); the whole text as one part where it allows none."""
    from .tokenizers.cuts import TextCutter, split_stream

    cutter = TextCutter([tok], decodes=decodes)
    part_chars = part_chars or PART_CHARS  # read here, so that a test can make parts small
    if cutter.never:
        yield "".join(blocks)
        return
    yield from split_stream(cutter, blocks, part_chars=part_chars)


def count_blocks(tok: Tokenizer, blocks: Iterable[str], *, part_chars: int | None = None) -> int:
    """Tokens of the text of `blocks` (no tokens added around it), a few parts in memory at a time."""
    from .tokenizers.fast import checked_ids  # the library, or past a few MB its verified fast engine

    parts = text_parts(tok, blocks, part_chars=part_chars)
    return sum(sum(checked_ids(tok).counts(batch)) for batch in _batches(parts))


def ids_in_parts(tok: Tokenizer, blocks: Iterable[str], *, add_special_tokens: bool = True,
                 split_special_tokens: bool = False, part_chars: int | None = None) -> Iterator[list[int]]:
    """The ids of the text of `blocks`, part by part: joined, those of encoding the whole text."""
    before, after = added_around(tok) if add_special_tokens else ([], [])
    yield [tok_id for tok_id, _ in before]
    from .tokenizers.fast import checked_ids  # the library, or past a few MB its verified fast engine

    for batch in _batches(text_parts(tok, blocks, part_chars=part_chars)):
        yield from (tok.encode_ids_batch(batch, split_special_tokens=True) if split_special_tokens
                    else checked_ids(tok).rows(batch))
    yield [tok_id for tok_id, _ in after]


def encodings_in_parts(tok: Tokenizer, blocks: Iterable[str], *, split_special_tokens: bool = False,
                       part_chars: int | None = None) -> Iterator[tuple[int, Encoding]]:
    """(character offset of the part in the whole text, the part's `Encoding` without added tokens)."""
    start = 0
    for part in text_parts(tok, blocks, decodes=True, part_chars=part_chars):
        yield start, tok.encode(part, add_special_tokens=False, split_special_tokens=split_special_tokens)
        start += len(part)


def added_around(tok: Tokenizer) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
    """The tokens `tok` adds before and after a text, as (id, token dict) pairs: read off the encoding
    of a one-letter text, where everything but the letter's tokens was added."""
    enc = tok.encode("a", add_special_tokens=True)
    kept = [i for i in range(enc.count) if i not in enc.added]
    first, last = (kept[0], kept[-1] + 1) if kept else (enc.count, enc.count)
    tokens = [(t.id, t.to_dict()) for t in enc.tokens]
    return tokens[:first], tokens[last:]


def _batches(parts: Iterable[str]) -> Iterator[list[str]]:
    parts = iter(parts)
    while batch := list(islice(parts, _BATCH)):
        yield batch
