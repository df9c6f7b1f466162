"""Shared test setup: no network, and the real fixture files found in tests/data (vendored) or ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test may touch the network: the Hub client must answer from local files or a local server.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# In CI, property tests draw the same examples every run (a red CI must be reproducible);
# on a developer's machine they explore new ones each time.
from hypothesis import settings as _hypothesis_settings

_hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
#: Real files vendored with the repo (permissive licences only; provenance and sha256 in data/SOURCES.md).
DATA = REPO / "tests" / "data"
#: The full set beside the repo, including files we may not redistribute (StarCoder2, Llama's tokenizer.model).
SHARED = REPO.parent / "shared"
SHARED_FIXTURES = SHARED / "fixtures"
#: The bundled model (the project's own files), a stand-in where a test needs StarCoder's FIM sentinels.
PRISM_TINY = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"

# Why a file is not in tests/data (the skip reason names it); first matching prefix wins.
NOT_VENDORED = {
    "tokenizers/starcoder2": "StarCoder2's files are under BigCode OpenRAIL-M",
    "tokenizers/phi-3-mini/tokenizer.model": "this copy is Llama 2's tokenizer.model (Llama 2 licence)",
    "llama-cpp-vocab/ggml-vocab-llama-spm": "Llama 2 licence",
    "llama-cpp-vocab/ggml-vocab-starcoder": "OpenRAIL-M",
    "corpus/": "only a sample of the corpus is vendored",
}


def find_fixture(relative: str) -> Path | None:
    """tests/data/<relative> when vendored, else ../shared/fixtures/<relative>, else None. A folder that
    ../shared holds with more files than tests/data (phi-3-mini with Llama's tokenizer.model, the whole
    corpus) is taken from there, so that with ../shared every test sees the full set.

    >>> find_fixture("tokenizers/gpt2/vocab.json").relative_to(DATA).as_posix()
    'tokenizers/gpt2/vocab.json'
    """
    vendored, shared = DATA / relative, SHARED_FIXTURES / relative
    if vendored.is_dir() and shared.is_dir() and _names(shared) - _names(vendored):
        return shared
    for path in (vendored, shared):
        if path.exists():
            return path
    return None


def _names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def missing_reason(relative: str) -> str:
    """The skip reason for a fixture file found in neither place."""
    why = next((why for prefix, why in NOT_VENDORED.items() if relative.startswith(prefix)), "not vendored")
    return f"fixture {relative} not found: not in tests/data ({why}) and ../shared/fixtures is absent beside the repo"


def fixture(relative: str, *, instead: Path | None = None) -> Path:
    """Path of a real fixture file or folder (tests/data first, then ../shared/fixtures), else `instead`
    when given (a stand-in for a test that does not depend on this exact file, e.g. prism-tiny's tokenizer,
    which has StarCoder's FIM sentinels at the same ids, for StarCoder2's), else skip the test with the reason."""
    path = find_fixture(relative) or instead
    if path is None:
        pytest.skip(missing_reason(relative))
    return path


class FixtureRoot:
    """A fixture folder seen through both places: `root / "gpt2/vocab.json"` is the vendored file when there
    is one, else the one in ../shared/fixtures (which may not exist: tests that can lack a file call
    `fixture()`, which skips)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __truediv__(self, relative: str | Path) -> Path:
        rel = f"{self.prefix}/{Path(relative).as_posix()}" if self.prefix else Path(relative).as_posix()
        return find_fixture(rel) or SHARED_FIXTURES / rel

    def exists(self) -> bool:
        return find_fixture(self.prefix or ".") is not None

    def __repr__(self) -> str:
        return f"FixtureRoot({self.prefix!r})"


FIXTURES = FixtureRoot("")
TOKENIZER_FIXTURES = FixtureRoot("tokenizers")
