"""Inside the model: the MATH step of NUMBERS → MATH → NUMBERS, opened.

    lens       what each layer would predict (the residual stream through the model's own final norm and head)
    attention  where each token looked, per layer and head
    attribute  which prompt tokens drove a given continuation (gradients: the torch engine)

All three read the `Model` protocol (`internals`, `unembed`), so they work on the numpy engine
(prism-tiny) and on any transformers causal LM alike.
"""

from __future__ import annotations

from .attention_maps import Attention, AttentionLayer, attention
from .attribution import Attribution, Completeness, attribute
from .logit_lens import Lens, LensCell, LensLayer, lens

__all__ = ["lens", "Lens", "LensLayer", "LensCell", "attention", "Attention", "AttentionLayer", "attribute",
           "Attribution", "Completeness"]
