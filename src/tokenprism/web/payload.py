"""Library results → the JSON the page draws from (pure functions, no FastAPI).

Tokens travel as columns (one list per field) rather than one object per token: 10 KB of text is
~3,000 tokens, and per-token dicts cost ~4x the time and size to build and send. The page rebuilds
what it shows (label, colour, hover text) from the columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..types import fragment_label

if TYPE_CHECKING:
    import numpy as np

    from ..compare import Comparison, ComparisonRow
    from ..generate import Step
    from ..types import Encoding

__all__ = ["token_columns", "encoding_payload", "comparison_payload", "step_payload", "points_payload", "matrix_payload"]


def token_columns(enc: Encoding) -> dict[str, Any]:
    """Columns of an encoding: ids, offsets, pieces, labels, bytes (hex), and the indices of special,
    fragment, from-text and added tokens.

    Labels follow `Token.label` (special → piece, fragment → its bytes, else its text), computed here
    from the encoding's columns because building a `Token` view per token costs ~5x as much.
    """
    labels: list[str] = []
    fragment: list[int] = []
    for i, (data, special, piece) in enumerate(zip(enc.data, enc.special, enc.pieces)):
        if special:
            labels.append(piece)
            continue
        try:
            labels.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            labels.append(fragment_label(data))
            fragment.append(i)
    return {
        "ids": list(enc.ids),
        "offsets": [list(o) for o in enc.offsets],
        "pieces": list(enc.pieces),
        "labels": labels,
        "bytes": [d.hex() for d in enc.data],
        "special": [i for i, s in enumerate(enc.special) if s],
        "fragment": fragment,
        "from_text": [i for i, f in enumerate(enc.from_text) if f],
        "added": sorted(enc.added),
    }


def encoding_payload(enc: Encoding) -> dict[str, Any]:
    """What /api/tokenize answers: the counts and the token columns."""
    return {
        "tokenizer": enc.tokenizer,
        "count": enc.count,
        "chars": len(enc.text),
        "lossless": enc.lossless,
        "notes": list(enc.notes),
        "tokens": token_columns(enc),
    }


def _row_payload(row: ComparisonRow) -> dict[str, Any]:
    if row.encoding is None:
        return {"tokenizer": row.tokenizer, "error": row.error}
    return {
        "tokenizer": row.tokenizer,
        "error": None,
        "count": row.count,
        "text_tokens": row.text_tokens,
        "chars_per_token": round(row.chars_per_token, 4),
        "bytes_per_token": round(row.bytes_per_token, 4),
        "unknown": row.unknown,
        "lossless": row.lossless,
        "tokens": token_columns(row.encoding),
    }


def comparison_payload(cmp: Comparison) -> dict[str, Any]:
    """What /api/compare answers: one row per tokenizer (in order) and the disagreements."""
    return {
        "text": cmp.text,
        "results": [_row_payload(r) for r in cmp.rows],
        "disagreements": [d.to_dict() for d in cmp.disagreements],
    }


def step_payload(step: Step, text: str) -> dict[str, Any]:
    """One generation step as the page streams it; `text` is the new text it completes (may be "")."""
    return {
        "index": step.index,
        "id": step.id,
        "piece": step.piece,
        "token": step.token,
        "special": step.special,
        "prob": step.prob,
        "logprob": step.logprob,
        "entropy": step.entropy,
        "top": [c.to_dict() for c in step.top],
        "text": text,
    }


def points_payload(vectors: np.ndarray) -> list[list[float]]:
    """Rows → their 2-D coordinates on the first two principal components, rounded for the wire."""
    from ..render.embeddings import pca_2d

    return [[round(float(x), 5), round(float(y), 5)] for x, y in pca_2d(vectors)]


def matrix_payload(matrix: np.ndarray | Sequence[Sequence[float]]) -> list[list[float]]:
    return [[round(float(v), 5) for v in row] for row in matrix]
