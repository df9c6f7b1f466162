"""How a value shows itself in a notebook, without knowing the view layer.

Value types (Encoding, Generation, Comparison …) sit low in the pipeline; their HTML views live in
render/, at the top. A value's `_repr_html_` calls `html(self)`; render/ keeps the table that says
which view draws which type (`render.HTML_VIEWS`), and the view's module is imported only when a
value of that type is first shown. So dependencies still point one way: render knows the types, the
types only know this hook.

>>> from tokenprism import load_tokenizer
>>> html(load_tokenizer("prism-tiny").encode("hi")).startswith("<")     # doctest: +SKIP
True
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["html"]


def html(value: Any) -> str:
    """The HTML view of `value`, drawn by the view render/ registered for its type (or a base type)."""
    from .render import HTML_VIEWS  # the one import from a lower stage to the view layer

    for klass in type(value).__mro__:
        where = HTML_VIEWS.get(klass.__name__)
        if where is not None:
            module, function = where
            return getattr(import_module(module), function)(value)
    raise TypeError(f"no HTML view for {type(value).__name__}")
