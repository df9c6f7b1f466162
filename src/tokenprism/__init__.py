"""tokenprism: see how a language model sees text.

    TEXT → TOKENS → IDS → MODEL → IDS → TOKENS → TEXT

>>> import tokenprism
>>> enc = tokenprism.load_tokenizer("prism-tiny").encode("def add(a, b):")   # doctest: +SKIP
>>> enc.ids, enc.pieces                                                      # doctest: +SKIP

Names are imported on first use (PEP 562), so `import tokenprism` stays light: no torch, no
transformers, no ray until a model or engine is asked for.
"""

from __future__ import annotations

import warnings
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

# In a notebook without ipywidgets, the first import of huggingface_hub or transformers makes tqdm warn
# "IProgress not found" in red; tokenprism turns those libraries' bars off, so the warning only alarms.
warnings.filterwarnings("ignore", message="IProgress not found")

# public name → module that defines it
_LAZY = {
    "load_tokenizer": ".tokenizers.registry",
    "Tokenizer": ".tokenizers.base",
    "TokenizerInfo": ".tokenizers.base",
    "explain_token": ".tokenizers.anatomy",
    "explain_tokens": ".tokenizers.anatomy",
    "TokenAnatomy": ".tokenizers.anatomy",
    "Anatomy": ".tokenizers.anatomy",
    # comparing, corpus statistics, training
    "compare": ".comparison",
    "Comparison": ".comparison",
    "detect_properties": ".properties",
    "Properties": ".properties",
    "corpus_stats": ".corpus",
    "CorpusStats": ".corpus",
    "read_corpus": ".corpus",
    "CorpusReader": ".corpus.readers",
    "train_tokenizer": ".train",
    "TrainResult": ".train",
    "fim_transform": ".fim",
    "infill": ".infilling",
    "Infill": ".infilling",
    "detect_fim_format": ".fim.formats",
    "FimFormat": ".fim.formats",
    "FimPrompt": ".fim.formats",
    "Sentinels": ".fim",
    "assemble_fim_prompt": ".fim.formats",
    # models
    "load_model": ".models",
    "Model": ".models",
    "Internals": ".models",
    "generate": ".generation",
    "Generation": ".generation",
    "Run": ".run",
    "Step": ".run",
    "Candidate": ".run",
    "StopReason": ".run",
    "score": ".scoring",
    "ScoreResult": ".scoring",
    "ScoredToken": ".scoring",
    # inside the model
    "lens": ".inside",
    "Lens": ".inside",
    "LensLayer": ".inside",
    "LensCell": ".inside",
    "attention": ".inside",
    "Attention": ".inside",
    "AttentionLayer": ".inside",
    "attribute": ".inside",
    "Attribution": ".inside",
    "Completeness": ".inside",
    # embeddings
    "embed": ".embeddings",
    "Embeddings": ".embeddings",
    "similar": ".embeddings",
    "Similarity": ".embeddings",
    "neighbors": ".embeddings",
    "Neighbors": ".embeddings",
    "load_embedding_model": ".embeddings",
    "EmbeddingModel": ".embeddings",
    # the web page and API
    "create_app": ".web.app",
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
    "explain_token",
    "explain_tokens",
    "TokenAnatomy",
    "Anatomy",
    # comparing, corpus statistics, training
    "compare",
    "Comparison",
    "detect_properties",
    "Properties",
    "corpus_stats",
    "CorpusStats",
    "read_corpus",
    "CorpusReader",
    "train_tokenizer",
    "TrainResult",
    "fim_transform",
    "infill",
    "Infill",
    "detect_fim_format",
    "FimFormat",
    "FimPrompt",
    "Sentinels",
    "assemble_fim_prompt",
    # models
    "load_model",
    "Model",
    "Internals",
    "generate",
    "Generation",
    "Run",
    "Step",
    "Candidate",
    "StopReason",
    "score",
    "ScoreResult",
    "ScoredToken",
    # inside the model
    "lens",
    "Lens",
    "LensLayer",
    "LensCell",
    "attention",
    "Attention",
    "AttentionLayer",
    "attribute",
    "Attribution",
    "Completeness",
    # embeddings
    "embed",
    "Embeddings",
    "similar",
    "Similarity",
    "neighbors",
    "Neighbors",
    "load_embedding_model",
    "EmbeddingModel",
    # the web page and API
    "create_app",
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
    from .generation import Generation, generate
    from .infilling import Infill, infill
    from .models import Internals, Model, load_model
    from .run import Candidate, Run, Step, StopReason
    from .scoring import ScoredToken, ScoreResult, score
    from .inside import Attention, AttentionLayer, Attribution, Completeness, Lens, LensCell, LensLayer, attention, attribute, lens
    from .embeddings import Embeddings, Neighbors, Similarity, embed, load_embedding_model, neighbors, similar
    from .tokenizers.registry import load_tokenizer
    from .tokenizers.anatomy import Anatomy, TokenAnatomy, explain_token, explain_tokens
