"""The local web page and its JSON API: a thin shell over the library.

    tokenprism serve -t gpt2 -m prism-tiny        # then open http://127.0.0.1:8000

>>> from tokenprism.web import create_app                    # doctest: +SKIP
>>> app = create_app(tokenizers=["prism-tiny"], models=["prism-tiny"])   # doctest: +SKIP

FastAPI is imported here (the web extra); nothing in the core imports this package.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
