"""Shared test setup: no network, and the real fixture files read where they lie (../shared)."""

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
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
TOKENIZER_FIXTURES = FIXTURES / "tokenizers"


def fixture(relative: str) -> Path:
    """Path of a file under ../shared/fixtures, or skip the test with the reason."""
    path = FIXTURES / relative
    if not path.exists():
        pytest.skip(f"fixture {relative} not found: ../shared/fixtures is absent beside the repo")
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.exists():
        pytest.skip("../shared/fixtures is absent beside the repo")
    return FIXTURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared/fixtures, every test of a module that reads them is skipped with the reason
    (rather than failing on a missing file deep inside a helper)."""
    if FIXTURES.exists():
        return
    skip = pytest.mark.skip(reason="../shared/fixtures is absent beside the repo (tests read real fixture files there)")
    uses: dict[str, bool] = {}
    for item in items:
        path = str(item.fspath)
        if path not in uses:
            source = Path(path).read_text(encoding="utf-8")
            uses[path] = any(key in source for key in ("FIXTURES", "fixture(", "FAKE_GPT2", "model_helpers", "hub_cache"))
        if uses[path]:
            item.add_marker(skip)
