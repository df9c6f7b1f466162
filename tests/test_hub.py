"""Hub ids resolve through the real huggingface_hub client: against a local HTTP server set through
HF_ENDPOINT, and offline from a cache folder in the cache's own layout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fixture
from hubserver import COMMIT, HubServer


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    full = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


def test_download_from_hub_then_offline_from_cache(tmp_path: Path) -> None:
    folder = fixture("tokenizers/phi-3-mini")
    repo = {"tokenizer.json": folder / "tokenizer.json", "tokenizer_config.json": folder / "tokenizer_config.json",
            "model.safetensors": folder / "tokenizer.json"}  # a big file we must not download
    code = (
        "from tokenprism import load_tokenizer\n"
        "tok = load_tokenizer('microsoft/Phi-3-mini-4k-instruct')\n"
        "print(tok.encode('<|user|>Hello').ids, tok.chat_template is not None, tok.source)\n"
    )
    with HubServer({"microsoft/Phi-3-mini-4k-instruct": repo}) as hub:
        online = _run(code, {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"})
        assert online.returncode == 0, online.stderr
        assert "[32010, 15043]" in online.stdout and "True" in online.stdout
        assert not any("model.safetensors" in r for r in hub.requests if r.startswith("GET")), "downloaded a non-tokenizer file"
    offline = _run(code, {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert "[32010, 15043]" in offline.stdout


def test_unknown_repo_and_revision_errors(tmp_path: Path) -> None:
    code = (
        "from tokenprism.cli import main\n"
        "import sys; sys.exit(main(['tokenize', 'x', '-t', 'nobody/nothing']))\n"
    )
    with HubServer({}) as hub:
        proc = _run(code, {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "nobody/nothing" in proc.stderr


def test_offline_and_not_cached_says_so(tmp_path: Path) -> None:
    code = "from tokenprism.cli import main\nimport sys; sys.exit(main(['info', '-t', 'gpt2']))\n"
    proc = _run(code, {"HF_HOME": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "HF_HUB_OFFLINE" in proc.stderr


def test_cache_layout_with_revision(tmp_path: Path) -> None:
    """A cache folder built by hand in huggingface_hub's layout, with a named revision."""
    cache = tmp_path / "hub"
    snap = cache / "models--openai-community--gpt2" / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(fixture(f"tokenizers/gpt2/{name}"), snap / name)
    refs = cache / "models--openai-community--gpt2" / "refs"
    refs.mkdir()
    (refs / "main").write_text(COMMIT)
    (refs / "v1").write_text(COMMIT)
    code = (
        "from tokenprism import load_tokenizer\n"
        "print(load_tokenizer('openai-community/gpt2', revision='v1').encode('Hello world').ids)\n"
    )
    proc = _run(code, {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "[15496, 995]" in proc.stdout
