"""Causal language models: loading (any Hugging Face causal LM, or the bundled prism-tiny) and the
tensor maths of one generation step. The only package besides embeddings that imports torch and
transformers, and it does so inside functions, so importing it is cheap.
"""

from __future__ import annotations

from .loading import pick_device, pick_dtype, resolve_model_path
from .model import Model, load_model

__all__ = ["Model", "load_model", "resolve_model_path", "pick_device", "pick_dtype"]
