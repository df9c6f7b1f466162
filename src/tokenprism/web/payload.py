"""Library results → the JSON the page draws from (pure functions, no FastAPI).

Tokens travel as columns (one list per field) rather than one object per token: 10 KB of text is
~3,000 tokens, and per-token dicts (`Encoding.to_dict`) cost ~4x the time and size to build and send.
The page rebuilds what it shows (colour, hover text) from the columns.
"""

from __future__ import annotations

import threading
import weakref
from itertools import compress
from typing import TYPE_CHECKING, Any, Sequence

from ..types import is_whole_utf8

if TYPE_CHECKING:
    import numpy as np

    from ..comparison import Comparison, ComparisonRow
    from ..run import Step
    from ..tokenizers.base import Tokenizer
    from ..types import Encoding

__all__ = ["token_columns", "encoding_payload", "comparison_payload", "step_payload", "points_payload", "matrix_payload"]


#: What the page shows of one id never changes, so it is worked out once per id and tokenizer: per
#: token this turns five method calls into one dict lookup (2-3x faster columns for 10 KB of text).
_ROWS: weakref.WeakKeyDictionary[Any, dict[int, tuple[str, str, str, bool, bool]]] = weakref.WeakKeyDictionary()
_ROWS_LOCK = threading.Lock()
_MAX_ROWS = 400_000


def _id_rows(tok: Tokenizer) -> dict[int, tuple[str, str, str, bool, bool]]:
    with _ROWS_LOCK:
        rows = _ROWS.get(tok)
        if rows is None or len(rows) > _MAX_ROWS:
            rows = _ROWS[tok] = {}
        return rows


def _id_row(tok: Tokenizer, token_id: int) -> tuple[str, str, str, bool, bool]:
    """(piece, label, bytes as hex, special, fragment) of one id, as `Token` and `Tokenizer.label` say."""
    data = tok.token_bytes(token_id)
    special = tok.is_special(token_id)
    return tok.id_to_piece(token_id), tok.label(token_id), data.hex(), special, not special and not is_whole_utf8(data)


def token_columns(enc: Encoding, tok: Tokenizer) -> dict[str, Any]:
    """Columns of an encoding made by `tok`: ids, offsets, pieces, labels, bytes (hex), and the indices
    of special, fragment, from-text and added tokens."""
    rows = _id_rows(tok)
    get = rows.get
    table = [get(i) or rows.setdefault(i, _id_row(tok, i)) for i in enc.ids]
    # one list per column (zip(*table) takes each row's iterator: its cost per row grows with the rows)
    pieces, labels, hexes, special, fragment = ([row[k] for row in table] for k in range(5))
    positions = range(len(table))
    added = enc.added
    return {
        "ids": list(enc.ids),
        "offsets": enc.offsets,  # (start, end) tuples: JSON arrays
        "pieces": pieces,
        "labels": labels,
        "bytes": hexes,
        "special": list(compress(positions, special)),
        "fragment": list(compress(positions, fragment)),
        # as Encoding.from_text: a special token the tokenizer did not add came from the text
        "from_text": [i for i in compress(positions, special) if i not in added],
        "added": sorted(added),
    }


def encoding_payload(enc: Encoding, tok: Tokenizer) -> dict[str, Any]:
    """What /api/tokenize answers: the counts and the token columns."""
    return {
        "tokenizer": enc.tokenizer,
        "count": enc.count,
        "chars": len(enc.text),
        "lossless": enc.lossless,
        "notes": list(enc.notes),
        "tokens": token_columns(enc, tok),
    }


def _row_payload(row: ComparisonRow) -> dict[str, Any]:
    """`ComparisonRow.to_dict` with its tokens as columns (and an explicit error of None)."""
    if row.encoding is None:
        return row.summary()
    return {**row.summary(), "error": None, "text_tokens": row.text_tokens, "tokens": token_columns(row.encoding, row.tok)}


def comparison_payload(cmp: Comparison) -> dict[str, Any]:
    """What /api/compare answers: `Comparison.to_dict`'s shape, each row's tokens as columns."""
    return {"text": cmp.text, "rows": [_row_payload(r) for r in cmp.rows], "disagreements": [d.to_dict() for d in cmp.disagreements]}


def step_payload(step: Step, text: str) -> dict[str, Any]:
    """One generation step as the page streams it: `Step.to_dict` and the new text it completes (may be "")."""
    return {**step.to_dict(), "text": text}


def points_payload(vectors: np.ndarray) -> list[list[float]]:
    """Rows → their 2-D coordinates on the first two principal components, rounded for the wire."""
    from ..render.plots import pca_2d

    return [[round(float(x), 5), round(float(y), 5)] for x, y in pca_2d(vectors)]


def matrix_payload(matrix: np.ndarray | Sequence[Sequence[float]]) -> list[list[float]]:
    return [[round(float(v), 5) for v in row] for row in matrix]
