"""Fill in the middle: the training-data transform of Bavarian et al. 2022 (`transform`,
`unpermute`, `Sentinels`).

>>> from tokenprism.fim import Sentinels, transform, unpermute
>>> s = Sentinels.starcoder()
>>> out = next(transform(["print('hi')\\n"], sentinels=s, fim_rate=1.0, seed=0))
>>> unpermute(out, sentinels=s) == "print('hi')\\n" + s.eot
True
"""

from __future__ import annotations

from .transform import (
    Fragment,
    Sentinels,
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
]
