"""FIM prompt formats: which sentinel tokens a model family was trained with, in which order they go,
and how the prompt is assembled — as a string to show and as the ids the model reads.

    PSM   <PRE> prefix <SUF> suffix <MID>            → the model writes the middle, then an end token
    SPM   <PRE> <SUF> suffix <MID> prefix            (Bavarian et al. 2022, appendix; bigcode, CodeLlama)

The families and their sentinel tokens (`FORMATS`, `detect_fim_format`) live in sentinels.py, which
the training-data transform reads too.

CodeLlama and Codestral run on SentencePiece tokenizers that put a space before every new text. Their
reference code (Meta's `infilling_prompt_tokens`, mistral_common's `encode_fim`) keeps that space on
the prefix and strips it from the suffix (they encode "☺" + suffix and drop the first two tokens), so
the prompt reads ``▁<PRE> def f():▁<SUF>\\n    return x▁<MID>``. (transformers 5's CodeLlamaTokenizer
puts a "▁" before the suffix too; we follow the reference code the model was trained with.)

>>> from tokenprism import load_tokenizer                                            # doctest: +SKIP
>>> p = assemble_fim_prompt(load_tokenizer("prism-tiny"), prefix="def f(", suffix=")")  # doctest: +SKIP
>>> p.text                                                                           # doctest: +SKIP
'<fim_prefix>def f(<fim_suffix>)<fim_middle>'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError
from ..tokenizers.healing import take_back
from ..tokenizers.base import offsets_from_bytes
from ..types import Encoding
from .sentinels import FORMATS, MODES, FimFormat, detect_fim_format, fim_format, has_token

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = [
    "FimFormat",
    "FimPrompt",
    "FORMATS",
    "MODES",
    "fim_format",
    "detect_fim_format",
    "assemble_fim_prompt",
    "encode_part",
    "joined_bytes",
]


# --- the assembled prompt -------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One stretch of the prompt: a sentinel, a text, or the tokens the tokenizer adds first (BOS)."""

    role: str  # "bos" | "sentinel" | "prefix" | "suffix"
    text: str
    ids: list[int]


@dataclass(frozen=True)
class FimPrompt:
    """A FIM prompt: the string (sentinels written as their token strings; a BOS the tokenizer adds is
    in `ids` only), the ids the model reads, each token's role, and the ids that end the middle.

    >>> p = assemble_fim_prompt(tok, prefix="a = ", suffix="\\nprint(a)")     # doctest: +SKIP
    >>> p.text, p.ids, p.roles                                               # doctest: +SKIP
    """

    format: FimFormat
    mode: str
    prefix: str
    suffix: str
    parts: tuple[Part, ...]
    stop_ids: frozenset[int]
    tokenizer: Tokenizer = field(repr=False)
    notes: tuple[str, ...] = ()
    healed: bytes = b""  # the prefix's last token, taken back for the middle to write again (healing.py)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def ids(self) -> list[int]:
        return [i for p in self.parts for i in p.ids]

    @property
    def roles(self) -> list[str]:
        return [p.role for p in self.parts for _ in p.ids]

    @cached_property
    def encoding(self) -> Encoding:
        """The prompt as an `Encoding` (tokens with offsets into `text`); BOS and sentinels count as
        added by us, so displays mark them as special tokens, not as special strings typed in the text."""
        offsets: list[tuple[int, int]] = []
        added: list[int] = []
        start = 0
        for part in self.parts:
            if part.role in ("bos", "sentinel"):
                added.extend(range(len(offsets), len(offsets) + len(part.ids)))
                offsets.extend([(start, start + len(part.text))] * len(part.ids))
            else:
                spans = offsets_from_bytes(part.text, [self.tokenizer.token_bytes(i) for i in part.ids])
                offsets.extend((start + s, start + e) for s, e in spans)
            start += len(part.text)
        return Encoding(self.tokenizer, self.text, self.ids, offsets=offsets, added=added, notes=list(self.notes))

    def tokens_dicts(self) -> list[dict[str, Any]]:
        return [{**t.to_dict(), "role": r} for t, r in zip(self.encoding.tokens, self.roles)]

    def to_dict(self) -> dict[str, Any]:
        tok = self.tokenizer
        return {
            "tokenizer": tok.name,
            "format": self.format.name,
            "mode": self.mode,
            "prompt": self.text,
            "prompt_tokens": self.tokens_dicts(),
            "ids": self.ids,
            "stop_tokens": [{"id": i, "token": tok.label(i)} for i in sorted(self.stop_ids)],
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def assemble_fim_prompt(
    tokenizer: Tokenizer,
    *,
    prefix: str,
    suffix: str,
    mode: str | None = None,
    fim_format: str | FimFormat | None = None,
    max_tokens: int | None = None,
    heal: bool = False,
) -> FimPrompt:
    """Assemble the FIM prompt for `tokenizer`: detect (or take) the format, put the sentinels and the
    two texts in the mode's order, and encode each stretch as the family's reference code does.

    `mode` None takes the format's own (psm, or spm for Codestral). `max_tokens` cuts the prefix at its
    start and the suffix at its end until the prompt fits (as editors do), and says so in `notes`.
    `heal` takes the prefix's last token back (`healed`): the middle must begin by writing it again.

    >>> p = assemble_fim_prompt(load_tokenizer("prism-tiny"), prefix="x = ", suffix="\\n")   # doctest: +SKIP
    >>> p.text
    '<fim_prefix>x = <fim_suffix>\\n<fim_middle>'
    """
    fmt = _resolve(tokenizer, fim_format)
    mode = _check_mode(fmt, mode)
    sentinel_ids = {s: sentinel_id(tokenizer, s, fmt) for s in fmt.used_sentinels(mode)}
    parts: list[Part] = [Part("bos", "", leading_ids(tokenizer))]
    notes: list[str] = []
    healed = b""
    for slot in fmt.layouts[mode]:
        if slot in ("prefix", "suffix"):
            text = prefix if slot == "prefix" else suffix
            keep_space = fmt.space_prefix and slot == "prefix"
            shown, ids, note = encode_part(tokenizer, text, keep_space=keep_space)
            taken = take_back(tokenizer, text, ids) if heal and slot == "prefix" else None
            if taken is not None:
                healed = taken[1]
                shown, ids, note = encode_part(tokenizer, taken[0], keep_space=keep_space)
                notes.append(f"token healing: took {healed.decode('utf-8', 'replace')!r} (the prefix's last token) "
                             "back; the middle starts by writing it again, in tokens of the model's choosing")
            parts.append(Part(slot, shown, ids))
            notes += note
        else:
            token = fmt.sentinel(slot)
            parts.append(Part("sentinel", token, [sentinel_ids[token]]))
    if max_tokens is not None:
        parts, cut = fit_parts(tokenizer, parts, max_tokens)
        notes += cut
    stops = {sentinel_id(tokenizer, s, fmt) for s in fmt.stops if has_token(tokenizer, s)}
    stops |= set(sentinel_ids.values())
    return FimPrompt(fmt, mode, prefix, suffix, tuple(p for p in parts if p.ids or p.text), frozenset(stops),
                     tokenizer, tuple(notes), healed)


def _resolve(tokenizer: Tokenizer, wanted: str | FimFormat | None) -> FimFormat:
    if wanted is None:
        return detect_fim_format(tokenizer)
    return wanted if isinstance(wanted, FimFormat) else fim_format(wanted)


def _check_mode(fmt: FimFormat, mode: str | None) -> str:
    if mode is None:
        return fmt.default_mode
    mode = mode.lower()
    if mode not in MODES:
        raise UsageError(f"--mode must be psm or spm, not {mode!r}")
    if mode not in fmt.layouts:
        only = ", ".join(fmt.layouts)
        raise UsageError(f"the {fmt.name} format has only the {only} layout ({fmt.template()}); use --mode {only}")
    return mode


def sentinel_id(tokenizer: Tokenizer, token: str, fmt: FimFormat) -> int:
    """The id of one sentinel; one that is not a single token of this tokenizer is refused."""
    tid = tokenizer.special_tokens.get(token)
    if tid is None:
        tid = tokenizer.piece_to_id(token)
    if tid is not None:
        return tid
    pieces = len(tokenizer.encode(token, add_special_tokens=False, split_special_tokens=True).ids)
    try:
        hint = f"this tokenizer uses the {detect_fim_format(tokenizer).name} format: leave --fim-format out"
    except InputError:
        hint = "this tokenizer has no FIM sentinels"
    raise InputError(
        f"the {fmt.name} sentinel {token!r} is split into {pieces} tokens by {tokenizer.name}: "
        f"the sentinel must be a single special token ({hint})"
    )


def leading_ids(tokenizer: Tokenizer) -> list[int]:
    """The ids the tokenizer puts before every text (BOS for Llama, Gemma, DeepSeek; none for most
    byte-level BPEs): the model cards' `tokenizer(prompt)` adds them, so we do too."""
    enc = tokenizer.encode("a")
    lead = []
    for index, tid in enumerate(enc.ids):
        if index not in enc.added:
            break
        lead.append(tid)
    return lead


# --- encoding one text --------------------------------------------------------------------------
def encode_part(tokenizer: Tokenizer, text: str, *, keep_space: bool) -> tuple[str, list[int], list[str]]:
    """One text of the prompt → (the text as its tokens spell it, ids, notes).

    Special-token strings inside the text stay text. Where the tokenizer puts a space before every new
    text (SentencePiece's dummy prefix), `keep_space` keeps it (the shown text then starts with " ");
    otherwise it is taken off, as the reference code does with its "☺" trick.

    >>> encode_part(load_tokenizer("prism-tiny"), "x = 1", keep_space=False)[0]     # doctest: +SKIP
    'x = 1'
    """
    if not text:
        return "", [], []
    split = any(s in text for s in tokenizer.special_tokens)
    ids = tokenizer.encode(text, add_special_tokens=False, split_special_tokens=split).ids
    if joined_bytes(tokenizer, ids) != b" " + text.encode("utf-8"):
        return text, ids, []  # no space was put in front (or the tokenizer normalises: keep its tokens)
    if keep_space:
        return " " + text, ids, []
    bare = without_leading_space(tokenizer, text, ids, split=split)
    if bare is None:
        return " " + text, ids, [f"could not encode {text[:20]!r}… without the tokenizer's leading space; kept it"]
    return text, bare, []


def without_leading_space(tokenizer: Tokenizer, text: str, ids: list[int], *, split: bool) -> list[int] | None:
    """Ids of `text` without the space the tokenizer puts first, or None when no clean cut is found.

    Where the space is a token of its own it is dropped; otherwise encode anchor + text and keep the
    tokens after the anchor, checking that they spell `text` exactly."""
    if ids and tokenizer.token_bytes(ids[0]) == b" ":
        return ids[1:]
    target = text.encode("utf-8")
    for anchor in ("☺", "\n"):
        found = tokenizer.encode(anchor + text, add_special_tokens=False, split_special_tokens=split).ids
        head, seen = (" " + anchor).encode("utf-8"), b""
        for k, tid in enumerate(found):
            seen += tokenizer.token_bytes(tid)
            if len(seen) >= len(head):
                if seen == head and joined_bytes(tokenizer, found[k + 1:]) == target:
                    return found[k + 1:]
                break
    return None


def joined_bytes(tokenizer: Tokenizer, ids: list[int]) -> bytes:
    """The bytes the ids spell, token by token (ids beyond the tokenizer, which a model with padded
    output rows can pick, spell nothing)."""
    size = tokenizer.vocab_size
    return b"".join(tokenizer.token_bytes(i) for i in ids if 0 <= i < size)


def fit_parts(tokenizer: Tokenizer, parts: list[Part], max_tokens: int) -> tuple[list[Part], list[str]]:
    """Cut the prefix at its start and the suffix at its end so that all parts fit in `max_tokens`.

    The prefix, right before the hole, matters most: the suffix keeps at most a quarter of the room
    when both are long."""
    total = sum(len(p.ids) for p in parts)
    if total <= max_tokens:
        return parts, []
    fixed = sum(len(p.ids) for p in parts if p.role in ("bos", "sentinel"))
    room = max_tokens - fixed
    if room < 1:
        raise UsageError(f"no room for the prefix and suffix: the context fits {max_tokens} prompt tokens; ask for fewer new tokens")
    sizes = {p.role: len(p.ids) for p in parts if p.role in ("prefix", "suffix")}
    keep_suffix = min(sizes.get("suffix", 0), room // 4 if sizes.get("prefix", 0) > room // 2 else room)
    keep_prefix = min(sizes.get("prefix", 0), room - keep_suffix)
    keep_suffix = min(sizes.get("suffix", 0), room - keep_prefix)
    keep = {"prefix": keep_prefix, "suffix": keep_suffix}
    cut = [_cut(tokenizer, p, keep[p.role]) if p.role in keep else p for p in parts]
    note = (
        f"the prompt has {total} tokens; kept the last {keep_prefix} of the prefix and the first {keep_suffix} of the "
        f"suffix so that it fits {max_tokens} tokens"
    )
    return cut, [note]


def _cut(tokenizer: Tokenizer, part: Part, keep: int) -> Part:
    """Keep the last `keep` tokens of the prefix or the first `keep` of the suffix (text to match)."""
    if keep >= len(part.ids):
        return part
    spans = offsets_from_bytes(part.text, [tokenizer.token_bytes(i) for i in part.ids])
    if part.role == "prefix":
        ids = part.ids[len(part.ids) - keep:]
        text = part.text[spans[len(part.ids) - keep][0]:] if keep else ""
    else:
        ids = part.ids[:keep]
        text = part.text[: spans[keep - 1][1]] if keep else ""
    return Part(part.role, text, ids)
