"""Fill in the middle: the training-data transform of Bavarian et al. 2022 (`transform`,
`unpermute`, `Sentinels`) and the pipeline that writes it from files to files (`write_fim_data`).

    sentinels.py  which FIM tokens each family reserves; the four markers of the transform
    transform.py  documents → units → transformed strings (exact, reversible, seeded per fragment)
    writers.py    text, JSONL and token-id .npy shards
    pipeline.py   files → transform on an engine (local or Ray) → a writer
    formats.py    the infill prompt of each family

>>> from tokenprism.fim import Sentinels, transform, unpermute
>>> s = Sentinels.starcoder()
>>> out = next(transform(["print('hi')\\n"], sentinels=s, fim_rate=1.0, seed=0))
>>> unpermute(out, sentinels=s) == "print('hi')\\n" + s.eot
True
"""

from __future__ import annotations

from .pipeline import write_fim_data
from .sentinels import Sentinels
from .transform import (
    Fragment,
    Transformed,
    check_rates,
    fim_units,
    fragment_rng,
    pack_fragments,
    shares,
    transform,
    transform_document,
    transform_fragment,
    transform_unit,
    unpermute,
)

#: The library verb under its top-level name: `tokenprism.fim_transform(...)`.
fim_transform = transform

__all__ = [
    "Fragment",
    "Sentinels",
    "Transformed",
    "check_rates",
    "fim_transform",
    "fim_units",
    "fragment_rng",
    "pack_fragments",
    "shares",
    "transform",
    "transform_document",
    "transform_fragment",
    "transform_unit",
    "unpermute",
    "write_fim_data",
]
