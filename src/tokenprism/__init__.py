"""tokenprism: see how a language model sees text.

    TEXT → TOKENS → IDS → MODEL → IDS → TOKENS → TEXT

>>> import tokenprism
>>> enc = tokenprism.load_tokenizer("prism-tiny").encode("def add(a, b):")   # doctest: +SKIP
>>> enc.ids, enc.pieces                                                      # doctest: +SKIP

Names are imported on first use (PEP 562), so `import tokenprism` stays light: no torch, no
transformers, no ray until a model or engine is asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    InputError,
    InvalidTokenId,
    InvalidUTF8,
    MissingDependency,
    ModelError,
    TokenizerFileError,
    TokenizerNotFound,
    TokenprismError,
    UsageError,
)
from .types import Decoding, Encoding, Token

__version__ = "0.1.0"

# public name → module that defines it
_LAZY = {
    "load_tokenizer": ".tokenizers.registry",
    "Tokenizer": ".tokenizers.base",
    "TokenizerInfo": ".tokenizers.base",
}

__all__ = [
    "__version__",
    # tokenizers
    "load_tokenizer",
    "Tokenizer",
    "TokenizerInfo",
    "Encoding",
    "Token",
    "Decoding",
    # errors
    "TokenprismError",
    "TokenizerNotFound",
    "TokenizerFileError",
    "InputError",
    "InvalidUTF8",
    "InvalidTokenId",
    "ModelError",
    "MissingDependency",
    "UsageError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenprism' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from .tokenizers.base import Tokenizer, TokenizerInfo
    from .tokenizers.registry import load_tokenizer
