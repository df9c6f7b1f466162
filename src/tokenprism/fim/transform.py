"""The fill-in-the-middle data transform of Bavarian et al. 2022, "Efficient Training of Language
Models to Fill in the Middle" (arXiv:2207.14255), done exactly and reversibly.

With probability `fim_rate` a document is cut at two uniformly random character positions into
prefix / middle / suffix; of those documents `spm_rate` go in SPM order, the rest in PSM order:

    PSM  <PRE> prefix <SUF> suffix <MID> middle <EOT>
    SPM  <PRE> <SUF> suffix <MID> prefix middle <EOT>      (the paper's appendix variant)

`level="document"` transforms whole documents; `level="context"` first packs the documents (joined
by EOT) into contexts of `context_length` tokens and then transforms each document fragment between
EOT markers, as the paper recommends. Each fragment draws from its own random stream seeded by
(seed, fragment index), so the same seed gives the same output on any engine.

>>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
>>> out = list(transform(["def f(x):\\n    return x\\n"], sentinels=s, fim_rate=1.0, seed=1))
>>> out[0].startswith("<PRE>") and out[0].endswith("<EOT>")
True
>>> unpermute(out[0], sentinels=s)
'def f(x):\\n    return x\\n<EOT>'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal, Protocol, Sequence

from ..errors import InputError, UsageError
from .sentinels import Sentinels

__all__ = [
    "Sentinels",
    "Fragment",
    "Transformed",
    "transform",
    "transform_document",
    "transform_fragment",
    "fragment_rng",
    "pack_fragments",
    "fim_units",
    "transform_unit",
    "check_rates",
    "unpermute",
    "shares",
]

Level = Literal["document", "context"]
Mode = Literal["none", "psm", "spm"]


@dataclass(frozen=True)
class Fragment:
    """A piece of one document; `ends_document` means an EOT follows it in the packed stream."""

    text: str
    ends_document: bool = True


Unit = list[tuple[int, Fragment]]  # numbered fragments that make one output string


@dataclass(frozen=True)
class Transformed:
    """One transformed fragment and the mode it was given ("none", "psm" or "spm")."""

    text: str
    mode: Mode


def fragment_rng(seed: int, index: int) -> random.Random:
    """The random stream of fragment `index`: independent of how fragments are batched or sharded.

    >>> fragment_rng(0, 5).random() == fragment_rng(0, 5).random()
    True
    """
    return random.Random((seed << 40) ^ index)


def transform_fragment(
    fragment: Fragment, *, sentinels: Sentinels, rng: random.Random, fim_rate: float = 0.5, spm_rate: float = 0.5
) -> Transformed:
    """Transform one fragment: FIM with probability `fim_rate`, SPM for `spm_rate` of those.

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> transform_fragment(Fragment("x"), sentinels=s, rng=random.Random(0), fim_rate=1.0)
    Transformed(text='x<EOT>', mode='none')
    """
    eot = sentinels.eot if fragment.ends_document else ""
    text = fragment.text
    # Draw both numbers for every fragment so a fragment's stream never depends on its length.
    is_fim, is_spm = rng.random() < fim_rate, rng.random() < spm_rate
    if not is_fim or len(text) < 2:
        return Transformed(text + eot, "none")
    i, j = sorted((rng.randint(0, len(text)), rng.randint(0, len(text))))
    prefix, middle, suffix = text[:i], text[i:j], text[j:]
    pre, suf, mid = sentinels.prefix, sentinels.suffix, sentinels.middle
    if is_spm:
        return Transformed(f"{pre}{suf}{suffix}{mid}{prefix}{middle}{eot}", "spm")
    return Transformed(f"{pre}{prefix}{suf}{suffix}{mid}{middle}{eot}", "psm")


def transform_document(
    text: str, *, sentinels: Sentinels, seed: int = 0, index: int = 0, fim_rate: float = 0.5, spm_rate: float = 0.5
) -> Transformed:
    """Transform one whole document (the `level="document"` unit), with the stream of `index`.

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> transform_document("abc", sentinels=s, fim_rate=0.0).text
    'abc<EOT>'
    """
    _check_document(text, sentinels, index)
    rng = fragment_rng(seed, index)
    return transform_fragment(Fragment(text), sentinels=sentinels, rng=rng, fim_rate=fim_rate, spm_rate=spm_rate)


def _check_document(text: str, sentinels: Sentinels, index: int) -> None:
    # A sentinel typed in the data would make the output ambiguous (and un-permutable).
    for s in sentinels.as_tuple():
        if s in text:
            raise InputError(f"document {index} contains the sentinel {s!r}; remove it or choose other --sentinels")


class _OffsetTokenizer(Protocol):
    def encode(self, text: str, *, add_special_tokens: bool = ...) -> Any: ...


def _token_starts(tokenizer: _OffsetTokenizer, text: str) -> list[int]:
    """Character offset where each token of `text` starts (monotone even for split characters)."""
    starts, last = [], 0
    for start, _ in tokenizer.encode(text, add_special_tokens=False).offsets:
        last = max(last, min(start, len(text)))
        starts.append(last)
    return starts


def pack_fragments(
    documents: Iterable[str], *, tokenizer: _OffsetTokenizer, context_length: int
) -> Iterator[list[Fragment]]:
    """Pack documents, each followed by one EOT token, into contexts of `context_length` tokens and
    yield each context as its document fragments (cuts fall on token boundaries). A fragment with
    `ends_document` is followed by the EOT, which takes one token of its context.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    >>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> [[(f.text, f.ends_document) for f in c] for c in pack_fragments(["a b c", "d"], tokenizer=tok, context_length=3)]
    [[('a b c', False)], [('', True), ('d', True)]]
    """
    if context_length < 1:
        raise UsageError(f"--context-length must be at least 1; got {context_length}")
    context: list[Fragment] = []
    room = context_length
    for index, doc in enumerate(documents):
        starts = _token_starts(tokenizer, doc)
        n, pos = len(starts), 0
        while pos <= n:  # position n is the document's EOT token
            take = min(room, n + 1 - pos)
            end = starts[pos + take] if pos + take < n else len(doc)
            context.append(Fragment(doc[starts[pos] if pos < n else len(doc) : end], pos + take == n + 1))
            pos, room = pos + take, room - take
            if room == 0:
                yield context
                context, room = [], context_length
    if context:
        yield context


def fim_units(
    documents: Iterable[str],
    *,
    sentinels: Sentinels,
    level: Level = "document",
    context_length: int = 2048,
    tokenizer: _OffsetTokenizer | None = None,
) -> Iterator[Unit]:
    """What one output string is made of: one whole document (`level="document"`) or the document
    fragments of one packed context (`level="context"`), each numbered for its random stream.

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> list(fim_units(["ab"], sentinels=s))
    [[(0, Fragment(text='ab', ends_document=True))]]
    """
    checked = (_checked(doc, sentinels, i) for i, doc in enumerate(documents))
    if level == "document":
        yield from ([(i, Fragment(doc))] for i, doc in enumerate(checked))
    elif level == "context":
        if tokenizer is None:
            raise UsageError("level='context' packs by tokens: pass a tokenizer (-t SPEC)")
        index = 0
        for context in pack_fragments(checked, tokenizer=tokenizer, context_length=context_length):
            yield list(enumerate(context, start=index))
            index += len(context)
    else:
        raise UsageError(f"--level must be 'document' or 'context'; got {level!r}")


def transform_unit(unit: Unit, *, sentinels: Sentinels, seed: int = 0, fim_rate: float = 0.5, spm_rate: float = 0.5) -> str:
    """The output string of one unit: each fragment transformed with its own stream, joined.

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> transform_unit([(0, Fragment("ab", False)), (1, Fragment("c"))], sentinels=s, fim_rate=0.0)
    'abc<EOT>'
    """
    return "".join(
        transform_fragment(f, sentinels=sentinels, rng=fragment_rng(seed, i), fim_rate=fim_rate, spm_rate=spm_rate).text
        for i, f in unit
    )


def transform(
    documents: Iterable[str],
    *,
    sentinels: Sentinels,
    fim_rate: float = 0.5,
    spm_rate: float = 0.5,
    level: Level = "document",
    context_length: int = 2048,
    tokenizer: _OffsetTokenizer | None = None,
    seed: int = 0,
) -> Iterator[str]:
    """The paper's FIM transform over a stream of documents: one output string per document
    (`level="document"`) or per packed context (`level="context"`, needs `tokenizer`).

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> list(transform(["ab", "c"], sentinels=s, fim_rate=0.0))
    ['ab<EOT>', 'c<EOT>']
    """
    check_rates(fim_rate, spm_rate)
    units = fim_units(documents, sentinels=sentinels, level=level, context_length=context_length, tokenizer=tokenizer)
    for unit in units:
        yield transform_unit(unit, sentinels=sentinels, seed=seed, fim_rate=fim_rate, spm_rate=spm_rate)


def _checked(doc: str, sentinels: Sentinels, index: int) -> str:
    _check_document(doc, sentinels, index)
    return doc


def check_rates(fim_rate: float, spm_rate: float) -> None:
    for name, rate in (("--fim-rate", fim_rate), ("--spm-rate", spm_rate)):
        if not 0.0 <= rate <= 1.0:
            raise UsageError(f"{name} is a probability from 0 to 1; got {rate}")


def unpermute(text: str, *, sentinels: Sentinels) -> str:
    """Undo the transform: the original text of a transformed document or context, with the EOT
    markers where the packed stream had them.

    >>> s = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    >>> unpermute("<PRE>ab<SUF>ef<MID>cd<EOT>", sentinels=s)
    'abcdef<EOT>'
    >>> unpermute("<PRE><SUF>ef<MID>abcd<EOT>", sentinels=s)
    'abcdef<EOT>'
    """
    return sentinels.eot.join(_unpermute_segment(seg, sentinels) for seg in text.split(sentinels.eot))


def _unpermute_segment(segment: str, sentinels: Sentinels) -> str:
    if not segment.startswith(sentinels.prefix):
        return segment
    rest = segment[len(sentinels.prefix) :]
    i = rest.find(sentinels.suffix)
    j = rest.find(sentinels.middle, i + len(sentinels.suffix))
    if i < 0 or j < 0:
        raise InputError("a FIM segment lacks its suffix or middle sentinel; is this text transformed output?")
    # SPM reads as PSM with an empty prefix whose middle is prefix+middle: one formula undoes both.
    return rest[:i] + rest[j + len(sentinels.middle) :] + rest[i + len(sentinels.suffix) : j]


def shares(results: Sequence[Transformed]) -> dict[str, float]:
    """Fraction of fragments in each mode.

    >>> shares([Transformed("a", "psm"), Transformed("b", "none")])
    {'none': 0.5, 'psm': 0.5, 'spm': 0.0}
    """
    n = max(len(results), 1)
    return {m: sum(r.mode == m for r in results) / n for m in ("none", "psm", "spm")}
