"""What a tokenizer does to text, found out by asking it: detected from its files and by probing its
behaviour with small texts, never looked up in a table of known tokenizer names.

>>> props = detect_properties(load_tokenizer("bert-base-uncased"))     # doctest: +SKIP
>>> props.lowercase, props.keeps_newlines, props.unknown_chars         # doctest: +SKIP
(True, False, 'unk token')
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tokenizers.base import Tokenizer
    from .types import Encoding

__all__ = ["detect_properties", "Properties", "fim_sentinels", "chat_role_tokens"]

# Probe texts. A code point no vocabulary holds (an Egyptian hieroglyph, a letter: not dropped as
# a control character the way BERT drops private-use characters).
_RARE_CHAR = "\U00013000"
_DIGIT_PROBES = ("31415926535897932384626433832795", "1234567890", "2024", "100000")
_BYTE_PIECE = re.compile(r"<0x[0-9A-Fa-f]{2}>")
# A run long enough to show grouping: a tokenizer trained on code may hold 4 spaces, not 8, in a token.
_SPACE_RUN = 16

# FIM sentinels and chat-role tokens are recognised by the spelling of the token strings the
# tokenizer itself declares (starcoder "<fim_prefix>", deepseek "<｜fim▁begin｜>", codellama "▁<PRE>").
_FIM_PATTERNS = {
    "prefix": re.compile(r"fim[_▁\-]?(prefix|begin)|^▁?<PRE>$", re.I),
    "middle": re.compile(r"fim[_▁\-]?(middle|end)|^▁?<MID>$", re.I),
    "suffix": re.compile(r"fim[_▁\-]?(suffix|hole)|^▁?<SUF>$", re.I),
    "pad": re.compile(r"fim[_▁\-]?pad", re.I),
}
_FIM_PIECES = ("▁<PRE>", "▁<MID>", "▁<SUF>", "▁<EOT>", "<PRE>", "<MID>", "<SUF>")
_CHAT_ROLE = re.compile(r"\b(user|assistant|system|im_start|im_end|start_header_id|end_header_id|eot_id|end_of_turn|start_of_turn)\b|^<\|end\|>$", re.I)


@dataclass(frozen=True)
class Properties:
    """A tokenizer's detected behaviour. `to_dict()` is what `tokenprism info --json` shows."""

    tokenizer: str
    algorithm: str  # "BPE", "byte-level BPE", "WordPiece", "Unigram", "tiktoken BPE"
    vocab_size: int
    base_vocab_size: int
    byte_level: bool  # every text is first turned into bytes (GPT-2's Ġ, tiktoken)
    lowercase: bool
    strips_accents: bool
    normalization: str  # "NFKC", "NFC" (canonical equivalents alike), "NFD" (… and accents stripped) or "none"
    keeps_newlines: bool
    keeps_tabs: bool
    keeps_space_runs: bool  # a run of spaces survives the round trip
    merges_spaces: bool  # a run of spaces becomes one or two tokens, not one per space
    digits: str  # "single", "grouped up to N", "whole"
    digit_group_max: int
    unknown_chars: str  # "unk token", "byte fallback", "byte-level", "dropped", "in vocabulary"
    prefix_space: bool  # a space is put before the first word ("▁Hello")
    max_length: int | None
    chat_template: bool
    fim: dict[str, str] = field(default_factory=dict)  # role → sentinel token
    roles: dict[str, str] = field(default_factory=dict)  # bos/eos/unk/pad/cls/sep/mask → token
    chat_tokens: list[str] = field(default_factory=list)
    normalizer: str | None = None  # the normaliser the tokenizer file names, where it names one
    evidence: dict[str, str] = field(default_factory=dict)  # property → the probe that decided it

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tokenizer")
        return data

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)

    def summary(self) -> dict[str, str]:
        """Short display strings, one per property, for a table."""
        yes = lambda b: "yes" if b else "no"  # noqa: E731
        return {
            "algorithm": self.algorithm,
            "vocab": f"{self.vocab_size:,}",
            "lowercase": yes(self.lowercase),
            "accents": "stripped" if self.strips_accents else "kept",
            "normalization": self.normalization,
            "newlines": "kept" if self.keeps_newlines else "dropped",
            "tabs": "kept" if self.keeps_tabs else "dropped",
            "spaces": ("merged" if self.merges_spaces else "one by one") if self.keeps_space_runs else "collapsed",
            "digits": self.digits,
            "unknown": self.unknown_chars,
            "prefix space": yes(self.prefix_space),
            "max length": f"{self.max_length:,}" if self.max_length else "-",
            "chat template": yes(self.chat_template),
            "FIM": ", ".join(f"{k}={v}" for k, v in self.fim.items()) or "-",
        }


def detect_properties(tok: Tokenizer) -> Properties:
    """Probe a tokenizer with small texts and read its files; see `Properties` for what each field means.

    >>> detect_properties(load_tokenizer("cl100k_base")).merges_spaces   # doctest: +SKIP
    True
    """
    probe = _Prober(tok)
    strips_accents = probe.same("café naïve résumé", "cafe naive resume")
    space_tokens, keeps_runs = probe.space_run(_SPACE_RUN)
    digit_max, digit_whole = probe.digit_groups()
    unknown, evidence_unknown = probe.unknown_chars()
    return Properties(
        tokenizer=tok.name,
        algorithm=tok.model_type,
        vocab_size=tok.vocab_size,
        base_vocab_size=tok.base_vocab_size,
        byte_level=tok.byte_level,
        lowercase=probe.same("The QUICK Brown Fox", "the quick brown fox"),
        strips_accents=strips_accents,
        normalization=probe.normalization(strips_accents=strips_accents),
        keeps_newlines=probe.keeps("line one\nline two", "\n"),
        keeps_tabs=probe.keeps("a\tb", "\t"),
        keeps_space_runs=keeps_runs,
        merges_spaces=keeps_runs and space_tokens <= _SPACE_RUN // 2,
        digits="whole" if digit_whole else ("single" if digit_max <= 1 else f"grouped up to {digit_max}"),
        digit_group_max=digit_max,
        unknown_chars=unknown,
        prefix_space=probe.prefix_space(),
        max_length=tok.model_max_length,
        chat_template=tok.chat_template is not None,
        fim=fim_sentinels(tok),
        roles=_roles(tok),
        chat_tokens=chat_role_tokens(tok),
        normalizer=tok.declared_normalizer,
        evidence={"unknown_chars": evidence_unknown, "merges_spaces": f"{_SPACE_RUN} spaces → {space_tokens} token(s)"},
    )


class _Prober:
    """Encodes probe texts without added tokens, and compares what comes back."""

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.unk = tok.unknown_id

    def encode(self, text: str) -> Encoding:
        return self.tok.encode(text, add_special_tokens=False)

    def same(self, a: str, b: str) -> bool:
        """Whether two different texts give the same ids (without unknown tokens, which hide differences)."""
        ids_a, ids_b = self.encode(a).ids, self.encode(b).ids
        return ids_a == ids_b and (self.unk is None or self.unk not in ids_a)

    def keeps(self, text: str, part: str) -> bool:
        return part in self.tok.decode(self.encode(text).ids)

    def normalization(self, *, strips_accents: bool) -> str:
        """NFKC: compatibility forms tokenized alike; NFC: canonically equivalent forms alike
        (NFD when accents are stripped too: decomposed, then the marks dropped, as BERT does)."""
        if self.same("ﬁne ＡＢＣ ①", "fine ABC 1"):
            return "NFKC"
        if self.same("cafe\u0301 \u1100\u1161", "café 가"):
            return "NFD" if strips_accents else "NFC"
        return "none"

    def space_run(self, n: int) -> tuple[int, bool]:
        """(the fewest tokens that cover a run of n spaces, between two letters or as indentation
        after a newline, where code puts long runs; whether the run survives decoding)."""
        fewest, kept = n, True
        for before in ("a", "a\n"):
            text = before + " " * n + "b"
            enc = self.encode(text)
            start, end = len(before), len(before) + n
            inside = sum(1 for s, e in enc.offsets if e > s and s < end and e > start and not text[max(s, start):min(e, end)].strip())
            fewest = min(fewest, inside)
            kept = kept and " " * n in self.tok.decode(enc.ids)
        return fewest, kept

    def digit_groups(self) -> tuple[int, bool]:
        """(most digits one token holds over the probes, whether every probe number was one token)."""
        longest, whole = 0, True
        for number in _DIGIT_PROBES:
            enc = self.encode("x " + number)
            digit_tokens = [sum(ch.isdigit() for ch in t.text) for t in enc.tokens]
            digit_tokens = [d for d in digit_tokens if d]
            longest = max([longest, *digit_tokens])
            whole = whole and digit_tokens == [len(number)]
        return longest, whole

    def unknown_chars(self) -> tuple[str, str]:
        enc = self.encode("a" + _RARE_CHAR + "b")
        middle = [t for t in enc.tokens if t.start <= 1 < t.end]
        shown = " ".join(t.piece for t in middle) or "nothing"
        evidence = f"U+{ord(_RARE_CHAR):04X} → {shown}"
        if self.unk is not None and any(t.id == self.unk for t in middle):
            return "unk token", evidence
        if any(t.fragment and _BYTE_PIECE.fullmatch(t.piece) for t in middle):
            return "byte fallback", evidence
        if any(t.fragment for t in middle):
            return "byte-level", evidence
        if _RARE_CHAR not in self.tok.decode(enc.ids):
            return "dropped", evidence
        return "in vocabulary", evidence

    def prefix_space(self) -> bool:
        enc = self.encode("Hello")
        return bool(enc.ids) and enc.data[0].startswith(b" ")


def _roles(tok: Tokenizer) -> dict[str, str]:
    roles = dict(tok.roles)
    unk = tok.unknown_id
    if "unk" not in roles and unk is not None:
        roles["unk"] = tok.id_to_piece(unk)  # declared by the model, not the config
    return roles


def fim_sentinels(tok: Tokenizer) -> dict[str, str]:
    """FIM role → sentinel token, from the special tokens' spelling (and ``▁<PRE>``-style vocab pieces).

    >>> fim_sentinels(load_tokenizer("bigcode/starcoder2-15b"))["prefix"]    # doctest: +SKIP
    '<fim_prefix>'
    """
    found: dict[str, str] = {}
    candidates = list(tok.special_tokens) + [p for p in _FIM_PIECES if tok.piece_to_id(p) is not None]
    for token in candidates:
        for role, pattern in _FIM_PATTERNS.items():
            if role not in found and pattern.search(token):
                found[role] = token
    return found if {"prefix", "suffix", "middle"} <= found.keys() else {}


def chat_role_tokens(tok: Tokenizer) -> list[str]:
    """Special tokens that mark chat turns (``<|user|>``, ``<|im_start|>``, ``<|eot_id|>``)."""
    return [t for t in tok.special_tokens if _CHAT_ROLE.search(t)]
