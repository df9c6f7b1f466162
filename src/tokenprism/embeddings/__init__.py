"""Embeddings: the vectors a model makes of each token, at any layer, and of each text.

    embed(texts)              per-token vectors [batch, tokens, dim] with their token labels
    embed(texts, sentence=True)  one vector per text, pooled the way the model declares
    similar(word, contexts)   one word's contextual vectors across sentences, and their cosines
    neighbors(token)          nearest tokens in the static (input-embedding) table

torch and transformers are imported only when a model is loaded.
"""

from __future__ import annotations

from .vectors import Embeddings, embed
from .model import DEFAULT_MODEL, EmbeddingModel, load_embedding_model
from .pooling import PoolingSpec
from .words import Neighbor, Neighbors, Similarity, cosine_matrix, neighbors, similar

__all__ = [
    "embed",
    "Embeddings",
    "similar",
    "Similarity",
    "neighbors",
    "Neighbors",
    "Neighbor",
    "load_embedding_model",
    "EmbeddingModel",
    "PoolingSpec",
    "cosine_matrix",
    "DEFAULT_MODEL",
]
