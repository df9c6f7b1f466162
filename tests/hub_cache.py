"""Build a Hugging Face cache folder, in the cache's own layout, from the fixture files
(tests/data first, then ../shared/fixtures: `tokenizer_fixtures` is conftest's TOKENIZER_FIXTURES).

    <cache>/models--org--name/blobs/<hash>              (a symlink to the fixture file)
    <cache>/models--org--name/snapshots/<commit>/<file> (a relative symlink into blobs/)
    <cache>/models--org--name/refs/main                 (the commit)

With HF_HUB_CACHE pointing there and HF_HUB_OFFLINE=1, a Hub id resolves through huggingface_hub
exactly as it would for a user who downloaded it once. Nothing is copied into the repo. A file found
in neither place is left out, and a repo with none of its files too (StarCoder2 without ../shared): a
test that needs it calls `fixture()` for it and skips.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import FixtureRoot

# Hub id → fixture files (relative to fixtures/tokenizers) that the real repo also holds.
HUB_FILES = {
    "bert-base-uncased": ["bert-base-uncased/vocab.txt"],
    "bert-base-cased": ["bert-base-cased/vocab.txt"],
    "gpt2": ["gpt2/vocab.json", "gpt2/merges.txt"],
    "google/flan-t5-small": ["flan-t5/tokenizer.json", "flan-t5/spiece.model"],
    "bigcode/starcoder2-15b": ["starcoder2/tokenizer.json", "starcoder2/tokenizer_config.json"],
    "microsoft/Phi-3-mini-4k-instruct": [
        "phi-3-mini/tokenizer.json", "phi-3-mini/tokenizer_config.json", "phi-3-mini/tokenizer.model",
    ],
}
COMMIT = "0" * 39 + "1"


def build_hub_cache(cache: Path, tokenizer_fixtures: FixtureRoot) -> Path:
    """Lay out every repo of HUB_FILES under `cache`; returns `cache`."""
    for repo_id, names in HUB_FILES.items():
        files = [tokenizer_fixtures / rel for rel in names]
        files = [path for path in files if path.exists()]
        if not files:
            continue
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT)
        snapshot = repo / "snapshots" / COMMIT
        snapshot.mkdir(parents=True, exist_ok=True)
        for source in files:
            blob_name = hashlib.sha256(source.read_bytes()).hexdigest()
            blob = repo / "blobs" / blob_name
            if not blob.exists():
                blob.symlink_to(source)
            link = snapshot / source.name
            if not link.exists():
                link.symlink_to(os.path.relpath(blob, snapshot))
    return cache


def hub_env(cache: Path, tokenizer_fixtures: FixtureRoot) -> dict[str, str]:
    """Environment for a process that resolves the book's specs offline."""
    return {
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "TOKENPRISM_TIKTOKEN_DIR": str(tokenizer_fixtures / "openai-tiktoken"),
    }
