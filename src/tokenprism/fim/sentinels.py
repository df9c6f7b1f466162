"""Which FIM sentinel tokens each model family was trained with (`FORMATS`, found in a tokenizer by
`detect_fim_format`), and the four markers the training-data transform writes (`Sentinels`).

Both the infill prompt (formats.py) and the training-data transform (transform.py) read this module;
it reads neither of them, so the imports go one way.

Families (detected from the tokenizer's tokens, never from the model's name):

    starcoder   StarCoder / StarCoder2      <fim_prefix> <fim_suffix> <fim_middle>   end <|endoftext|>, <fim_pad>
    santacoder  SantaCoder                  <fim-prefix> <fim-suffix> <fim-middle>   end <|endoftext|>, <fim-pad>
    codegemma   CodeGemma                   <|fim_prefix|> <|fim_suffix|> <|fim_middle|>  end <|file_separator|>
    qwen        Qwen2.5-Coder               <|fim_prefix|> <|fim_suffix|> <|fim_middle|>  end <|endoftext|>
    codellama   CodeLlama                   ▁<PRE> ▁<SUF> ▁<MID>                      end ▁<EOT>
    deepseek    DeepSeek-Coder              <｜fim▁begin｜> <｜fim▁hole｜> <｜fim▁end｜>  end <｜end▁of▁sentence｜>
    codestral   Mistral / Codestral         [SUFFIX] suffix [PREFIX] prefix (suffix first, no middle token)

>>> fim_format("starcoder2").sentinel("MID")
'<fim_middle>'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import InputError, UsageError

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["Sentinels", "FimFormat", "FORMATS", "MODES", "fim_format", "has_token", "detect_fim_format"]

MODES = ("psm", "spm")

#: Slots of a layout: the three sentinels by role, and the two texts.
PRE, SUF, MID = "PRE", "SUF", "MID"
_PSM = (PRE, "prefix", SUF, "suffix", MID)
_SPM = (PRE, SUF, "suffix", MID, "prefix")


@dataclass(frozen=True, eq=False)  # one object per family: compared and hashed by identity
class FimFormat:
    """One family's FIM prompt format, as data.

    `layouts` maps a mode to the order of its slots; `stops` are the tokens that end the middle
    (the format's sentinels end it too: a model that writes one has left the middle);
    `space_prefix` says the prefix is encoded as a new text (keeping a SentencePiece leading space)
    and the suffix without that space; `requires` are the tokens that identify the family.

    >>> FORMATS["starcoder"].sentinel("MID")
    '<fim_middle>'
    """

    name: str
    family: str
    prefix: str
    suffix: str
    middle: str
    stops: tuple[str, ...]
    layouts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {"psm": _PSM, "spm": _SPM})
    space_prefix: bool = False
    requires: tuple[str, ...] = ()

    @property
    def default_mode(self) -> str:
        return next(iter(self.layouts))

    def sentinel(self, slot: str) -> str:
        return {PRE: self.prefix, SUF: self.suffix, MID: self.middle}[slot]

    def used_sentinels(self, mode: str) -> list[str]:
        """The sentinels that appear in a prompt of this mode, in order."""
        return [self.sentinel(s) for s in self.layouts[mode] if s in (PRE, SUF, MID)]

    @property
    def identifying_tokens(self) -> tuple[str, ...]:
        used = dict.fromkeys(s for mode in self.layouts for s in self.used_sentinels(mode))
        return (*used, *self.requires)

    def template(self, mode: str | None = None) -> str:
        """The layout as a readable string.

        >>> FORMATS["codestral"].template()
        '[SUFFIX]{suffix}[PREFIX]{prefix}'
        """
        slots = self.layouts[mode or self.default_mode]
        return "".join("{" + s + "}" if s in ("prefix", "suffix") else self.sentinel(s) for s in slots)

    def sentinels(self, tokenizer: Tokenizer) -> Sentinels:
        """The four markers of the training-data transform for this family (its first end token
        the tokenizer has is the EOT)."""
        eot = next((s for s in self.stops if has_token(tokenizer, s)), None)
        if eot is None:
            raise InputError(f"the tokenizer has {self.name} FIM sentinels but none of its end tokens {list(self.stops)}")
        return Sentinels(self.prefix, self.suffix, self.middle, eot)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "middle": self.middle,
            "stops": list(self.stops),
            "modes": {m: self.template(m) for m in self.layouts},
        }


#: Known formats, in the order detection tries them (CodeGemma before Qwen: both use <|fim_prefix|>).
FORMATS: dict[str, FimFormat] = {
    f.name: f
    for f in (
        FimFormat("starcoder", "StarCoder / StarCoder2", "<fim_prefix>", "<fim_suffix>", "<fim_middle>",
                  ("<|endoftext|>", "<fim_pad>", "<file_sep>")),
        FimFormat("santacoder", "SantaCoder", "<fim-prefix>", "<fim-suffix>", "<fim-middle>",
                  ("<|endoftext|>", "<fim-pad>")),
        FimFormat("codegemma", "CodeGemma", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
                  ("<|file_separator|>", "<eos>"), requires=("<|file_separator|>",)),
        FimFormat("qwen", "Qwen2.5-Coder", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
                  ("<|endoftext|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|im_end|>")),
        FimFormat("codellama", "CodeLlama", "▁<PRE>", "▁<SUF>", "▁<MID>", ("▁<EOT>", "</s>"), space_prefix=True),
        FimFormat("deepseek", "DeepSeek-Coder", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>",
                  ("<｜end▁of▁sentence｜>", "<|EOT|>")),
        FimFormat("codestral", "Mistral / Codestral", "[PREFIX]", "[SUFFIX]", "[MIDDLE]", ("</s>",),
                  layouts={"spm": (SUF, "suffix", PRE, "prefix")}, space_prefix=True),
    )
}

_ALIASES = {
    "starcoder2": "starcoder", "starcoderbase": "starcoder", "bigcode": "starcoder",
    "qwen2.5-coder": "qwen", "qwen-coder": "qwen", "qwen2": "qwen", "gemma": "codegemma",
    "code-llama": "codellama", "llama": "codellama", "deepseek-coder": "deepseek",
    "mistral": "codestral", "mistral-fim": "codestral",
}


def fim_format(name: str) -> FimFormat:
    """A format by name or alias (case-insensitive).

    >>> fim_format("Mistral").name
    'codestral'
    """
    key = name.strip().lower()
    found = FORMATS.get(_ALIASES.get(key, key))
    if found is None:
        raise UsageError(f"unknown FIM format {name!r}; choose one of {', '.join(FORMATS)}")
    return found


def has_token(tokenizer: Tokenizer, token: str) -> bool:
    return token in tokenizer.special_tokens or tokenizer.piece_to_id(token) is not None


def detect_fim_format(tokenizer: Tokenizer) -> FimFormat:
    """The FIM format whose sentinels the tokenizer holds, read off its special tokens and vocab.

    >>> detect_fim_format(load_tokenizer("prism-tiny")).name        # doctest: +SKIP
    'starcoder'
    """
    for fmt in FORMATS.values():
        if all(has_token(tokenizer, t) for t in fmt.identifying_tokens):
            return fmt
    known = ", ".join(dict.fromkeys(f.prefix for f in FORMATS.values()))
    raise InputError(
        f"this tokenizer has no FIM sentinels ({tokenizer.name} has none of {known}); "
        "use a model trained to fill in the middle, e.g. prism-tiny or bigcode/starcoder2-3b"
    )


@dataclass(frozen=True)
class Sentinels:
    """The four marker strings of the transform.

    >>> Sentinels.starcoder().prefix
    '<fim_prefix>'
    """

    prefix: str
    suffix: str
    middle: str
    eot: str

    def __post_init__(self) -> None:
        values = self.as_tuple()
        if any(not v for v in values) or len(set(values)) != 4:
            raise UsageError("FIM sentinels must be four different non-empty strings: prefix, suffix, middle, eot")

    def as_tuple(self) -> tuple[str, str, str, str]:
        return (self.prefix, self.suffix, self.middle, self.eot)

    def to_dict(self) -> dict[str, str]:
        return {"prefix": self.prefix, "suffix": self.suffix, "middle": self.middle, "eot": self.eot}

    @classmethod
    def starcoder(cls) -> Sentinels:
        """StarCoder / SantaCoder / prism-tiny sentinels."""
        return cls("<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<|endoftext|>")

    @classmethod
    def parse(cls, spec: str) -> Sentinels:
        """Four comma-separated strings, prefix,suffix,middle,eot.

        >>> Sentinels.parse("<PRE>,<SUF>,<MID>,<EOT>").middle
        '<MID>'
        """
        parts = spec.split(",")
        if len(parts) != 4:
            raise UsageError(f"--sentinels takes four comma-separated strings PRE,SUF,MID,EOT; got {spec!r}")
        return cls(*parts)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> Sentinels:
        """The FIM sentinels a tokenizer reserves (the family `detect_fim_format` finds);
        the family's end token is the EOT.

        >>> from tokenprism import load_tokenizer                       # doctest: +SKIP
        >>> Sentinels.from_tokenizer(load_tokenizer("prism-tiny")).suffix  # doctest: +SKIP
        '<fim_suffix>'
        """
        return detect_fim_format(tokenizer).sentinels(tokenizer)

    def check_single_tokens(self, tokenizer: Any) -> list[int]:
        """Ids of the four sentinels; each must be one special token of `tokenizer`."""
        from ..tokenizers.base import Tokenizer  # (here: `import tokenprism.fim` stays light)

        ids = []
        for s in self.as_tuple():
            found = tokenizer.encode(s, add_special_tokens=False).ids
            if len(found) != 1:
                raise InputError(
                    f"sentinel {s!r} is split into {len(found)} tokens by this tokenizer; "
                    "a sentinel must be a single special token (pick the tokenizer's own with -t)"
                )
            # the library's tokenizers say which tokens are special; a bare `tokenizers.Tokenizer` cannot
            if isinstance(tokenizer, Tokenizer) and not tokenizer.is_special(found[0]):
                raise InputError(f"sentinel {s!r} is an ordinary token of this tokenizer; a sentinel must be a special token")
            ids.append(int(found[0]))
        return ids
