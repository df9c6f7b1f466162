"""Causal language models behind one protocol (`Model`, protocol.py) and their engines: the numpy
Llama engine (transparent.py over llama.py) and transformers (auto.py). `load_model` (engines.py)
picks the engine. torch and transformers are imported inside functions, so importing this is cheap.
"""

from __future__ import annotations

from .engines import ENGINES, as_model, load_model
from .loading import pick_device, pick_dtype, resolve_model_path
from .protocol import Internals, Model

__all__ = ["Model", "Internals", "load_model", "as_model", "ENGINES", "resolve_model_path", "pick_device", "pick_dtype"]
