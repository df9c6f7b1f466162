"""The package surface: light imports, an audited __all__."""

from __future__ import annotations

import json
import subprocess
import sys

import tokenprism
from conftest import fixture

HEAVY = ("torch", "transformers", "ray", "fastapi", "matplotlib", "pyarrow", "sentence_transformers")


def test_tokenize_does_not_import_heavy_libraries() -> None:
    spec = str(fixture("tokenizers/gpt2"))
    code = (
        "import sys, json\n"
        "from tokenprism.cli import main\n"
        f"main(['tokenize', 'Hello', '-t', {spec!r}, '--json'])\n"
        "import tokenprism\n"
        f"tokenprism.load_tokenizer({spec!r}).encode('x')\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_tokenize_starts_with_only_what_it_uses() -> None:
    """`tokenize` with a local tokenizer starts within 1.2× a bare `tokenizers` script
    (benchmarks/bench_cold_start.py): `dataclasses` (which imports `inspect`: ~5 ms) and numpy are
    left to the commands that need them (anatomy's ModelRules, corpus, models)."""
    spec = str(fixture("tokenizers/gpt2"))
    code = (
        "import sys, json\n"
        "from tokenprism.cli import main\n"
        f"main(['tokenize', 'Hello', '-t', {spec!r}, '--json'])\n"
        "print(json.dumps([m for m in ('dataclasses', 'inspect', 'numpy', 'rich') if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_import_is_light() -> None:
    code = f"import sys, json, tokenprism; print(json.dumps([m for m in {HEAVY!r} + ('rich',) if m in sys.modules]))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == []


def test_all_is_audited() -> None:
    names = set(tokenprism.__all__)
    assert len(names) == len(tokenprism.__all__), "duplicates in __all__"
    for name in names:
        assert getattr(tokenprism, name) is not None, name
    lazy = set(tokenprism._LAZY)
    assert lazy <= names, f"lazy names missing from __all__: {lazy - names}"
    import types

    # submodules become attributes once imported; everything else public must be in __all__
    public = {
        n for n, v in vars(tokenprism).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    } - {"annotations", "import_module", "TYPE_CHECKING", "Any"}
    assert public <= names, public - names


def test_errors_share_one_root() -> None:
    for name in tokenprism.__all__:
        obj = getattr(tokenprism, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, tokenprism.TokenprismError)


def test_every_type_a_public_function_returns_is_exported() -> None:
    """`from tokenprism import X` works for whatever a public verb gives back (a notebook user types it)."""
    import inspect
    import re

    outside = {"FastAPI", "None", "Path", "Iterator", "Iterable"}  # other libraries' types and the standard library's
    for name in tokenprism.__all__:
        obj = getattr(tokenprism, name)
        if not inspect.isfunction(obj):
            continue
        returned = inspect.signature(obj).return_annotation
        assert returned is not inspect.Signature.empty, f"{name} has no return annotation"
        for type_name in re.findall(r"\b[A-Z]\w*", str(returned)):
            assert type_name in tokenprism.__all__ or type_name in outside, f"{name} returns {type_name}, not in __all__"


def test_model_is_one_keyword_in_every_verb() -> None:
    import inspect

    for name in ("generate", "score", "infill", "embed", "similar", "neighbors"):
        parameter = inspect.signature(getattr(tokenprism, name)).parameters["model"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name


def test_no_module_shadows_a_verb_of_the_same_name() -> None:
    """Importing a submodule sets it as an attribute of its package: a module named like a verb the
    package exports (`tokenprism.compare` the function vs compare.py) would replace the verb."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(tokenprism.__path__):
        assert info.name not in tokenprism.__all__, f"tokenprism/{info.name} shadows tokenprism.{info.name}"
        importlib.import_module(f"tokenprism.{info.name}") if info.name not in ("__main__",) else None
    assert callable(tokenprism.compare) and callable(tokenprism.generate) and callable(tokenprism.score)
