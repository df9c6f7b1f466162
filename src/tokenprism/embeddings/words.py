"""The same word in different sentences (`similar`), and the nearest tokens in the static table (`neighbors`).

The static vector of a token is a row of the input-embedding table: it is the same in every
sentence, so its similarity across contexts is 1.0 by construction. The contextual vector (a layer's
output at the word's tokens) is what the layers made of it in that sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import InputError, UsageError
from .vectors import Embeddings, Layer, ModelSpec, embed
from .model import DEFAULT_MODEL, EmbeddingModel, load_embedding_model

if TYPE_CHECKING:
    import numpy as np

    from ..types import Encoding

__all__ = ["similar", "neighbors", "Similarity", "Neighbors", "Neighbor", "cosine_matrix"]


@dataclass(frozen=True)
class Similarity:
    """One word's vector in each context, and the cosine similarity of every pair of contexts."""

    model: str
    word: str
    contexts: list[str]
    layer: int
    pieces: list[list[str]]  # the word's tokens in each context
    spans: list[tuple[int, int]]  # where the word is in each context (characters)
    vectors: np.ndarray  # [contexts, dim]: mean of the word's token vectors
    similarity: np.ndarray  # [contexts, contexts], contextual
    static_similarity: np.ndarray  # [contexts, contexts], input embeddings
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "word": self.word,
            "layer": self.layer,
            "contexts": list(self.contexts),
            "pieces": [list(p) for p in self.pieces],
            "spans": [list(s) for s in self.spans],
            "similarity": _rounded(self.similarity),
            "static_similarity": _rounded(self.static_similarity),
            "notes": list(self.notes),
        }

    def to_numpy(self) -> np.ndarray:
        return self.similarity

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


@dataclass(frozen=True)
class Neighbor:
    id: int
    piece: str
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "piece": self.piece, "label": self.label, "cosine": round(self.score, 6)}


@dataclass(frozen=True)
class Neighbors:
    """The tokens whose static (input-embedding) vectors are closest to a token's, by cosine."""

    model: str
    token: str
    ids: list[int]
    pieces: list[str]
    neighbors: list[Neighbor]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "token": self.token,
            "ids": list(self.ids),
            "pieces": list(self.pieces),
            "neighbors": [n.to_dict() for n in self.neighbors],
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def similar(word: str, contexts: Sequence[str], *, model: ModelSpec = DEFAULT_MODEL, layer: Layer = -1) -> Similarity:
    """Compare one word's contextual vectors across sentences.

    >>> s = similar("bank", ["I deposited money at the bank", "We sat on the river bank"])   # doctest: +SKIP
    >>> s.similarity.round(2), s.static_similarity                                          # doctest: +SKIP
    """
    word = word.strip() if isinstance(word, str) else word
    if not isinstance(word, str) or not word:
        raise InputError("no word given: pass the word to compare, e.g. bank")
    items = [contexts] if isinstance(contexts, str) else list(contexts)
    if not items:
        raise InputError("no contexts given: pass at least one sentence that contains the word")
    if layer == "all":
        raise UsageError("similar compares one layer at a time: pass a layer number (default -1, the last)")
    m = model if isinstance(model, EmbeddingModel) else load_embedding_model(model)
    for i, text in enumerate(items, 1):  # fail before the model runs
        find_word(word, text, i)
    emb = embed(items, model=m, layer=layer)
    # Offsets index the text as encoded (surrogates repaired), so find the word there.
    spans = [find_word(word, enc.text, i) for i, enc in enumerate(emb.encodings, 1)]
    vectors, static, pieces = _word_vectors(m, emb, spans, word)
    return Similarity(
        model=m.name, word=word, contexts=items, layer=int(emb.layer), pieces=pieces, spans=spans,
        vectors=vectors, similarity=cosine_matrix(vectors), static_similarity=cosine_matrix(static), notes=list(emb.notes),
    )


def _word_vectors(m: EmbeddingModel, emb: Embeddings, spans: list[tuple[int, int]], word: str) -> tuple[Any, Any, list[list[str]]]:
    """Per context: the mean of the word's token vectors (contextual), the mean of their rows in the
    input-embedding table (static), and the word's pieces."""
    import numpy as np

    table = m.static_table()
    vectors, static, pieces = [], [], []
    for i, (enc, span) in enumerate(zip(emb.encodings, spans)):
        index = _word_tokens(enc, span, word, i + 1)
        vectors.append(emb.vectors[i, index].mean(axis=0))
        static.append(table[[enc.ids[j] for j in index]].float().mean(dim=0).cpu().numpy())
        pieces.append([enc.pieces[j] for j in index])
    return np.stack(vectors), np.stack(static), pieces


def find_word(word: str, text: str, number: int) -> tuple[int, int]:
    """The first whole-word occurrence (exact case first, then any case), as a character span."""
    pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
    found = re.search(pattern, text) or re.search(pattern, text, re.IGNORECASE)
    if found is None:
        raise InputError(f"the word {word!r} is not in context {number} ({_short(text)!r}); every context must contain it")
    return found.span()


def _word_tokens(enc: Encoding, span: tuple[int, int], word: str, number: int) -> list[int]:
    start, end = span
    index = [j for j, (s, e) in enumerate(enc.offsets) if s < end and e > start and not enc.special[j]]
    if not index:
        raise InputError(
            f"the word {word!r} in context {number} lies past the model's {len(enc.ids)}-token limit; "
            "put it nearer the start of the sentence"
        )
    return index


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of rows (float64, so a row with itself gives 1.0)."""
    import numpy as np

    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = v / np.where(norms == 0, 1.0, norms)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def neighbors(token: str, *, model: ModelSpec = DEFAULT_MODEL, k: int = 10) -> Neighbors:
    """The k tokens nearest to a token in the model's input-embedding table (cosine).

    A vocab piece is looked up as it is (``##ing``, ``Ġbank``); other text is tokenized and its
    pieces averaged.

    >>> [n.label for n in neighbors("king", k=3).neighbors]      # doctest: +SKIP
    """
    if not isinstance(token, str) or not token:
        raise InputError("no token given: pass a token or word, e.g. king")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"k must be a positive integer, not {k!r}")
    m = model if isinstance(model, EmbeddingModel) else load_embedding_model(model)
    tok = m.tokenizer
    piece_id = tok.piece_to_id(token)
    ids = [piece_id] if piece_id is not None else list(tok.encode(token, add_special_tokens=False).ids)
    if not ids:
        raise InputError(f"{token!r} gives no tokens for {m.name}; pass a word or a vocab piece")
    notes = [] if len(ids) == 1 else [f"{token!r} is {len(ids)} tokens for {m.name}: their mean vector is the query"]
    scores = _static_scores(m, ids)
    ranked = _top(scores, exclude=set(ids) | set(tok.special_tokens.values()), limit=min(k, tok.vocab_size), size=tok.vocab_size)
    return Neighbors(
        model=m.name, token=token, ids=ids, pieces=[tok.id_to_piece(i) for i in ids],
        neighbors=[Neighbor(i, tok.id_to_piece(i), tok.label(i), s) for i, s in ranked], notes=notes,
    )


def _static_scores(m: EmbeddingModel, ids: list[int]) -> Any:
    import torch

    table = m.static_table().float()
    query = table[ids].mean(dim=0)
    return torch.nn.functional.cosine_similarity(table, query.unsqueeze(0), dim=1)


def _top(scores: Any, *, exclude: set[int], limit: int, size: int) -> list[tuple[int, float]]:
    """The best `limit` ids below `size` (the table may have spare rows past the vocab), `exclude` left out."""
    import torch

    size = min(size, int(scores.shape[0]))
    scores = scores[:size].clone()
    if exclude:
        scores[torch.tensor(sorted(i for i in exclude if i < size), dtype=torch.long)] = float("-inf")
    values, indices = torch.topk(scores, min(limit, int(torch.isfinite(scores).sum())))
    return [(int(i), float(v)) for v, i in zip(values, indices)]


def _rounded(matrix: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 6) for x in row] for row in matrix]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
