"""Issue 16, weights: one policy for every loader — the files that will be read decide, pickle only with
--allow-pickle and then through torch's weights_only loader, every weights error one typed line, and
`Model.weights` says what was read. Each case is built here from the real random-weight GPT-2 fixture
(torch engine, embeddings) or the bundled prism-tiny (numpy engine)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_helpers import FAKE_GPT2  # noqa: E402

from conftest import PRISM_TINY, missing_reason  # noqa: E402
from tokenprism.errors import ModelError  # noqa: E402
from tokenprism.models.loading import weight_files  # noqa: E402

pytestmark = pytest.mark.skipif(not FAKE_GPT2.is_dir(), reason=missing_reason("models/fake-gpt2-random-tiny"))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "tokenprism", *args], capture_output=True, text=True, timeout=300, env=env,
                          cwd=cwd)


def assert_one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr.replace("error:", ""), done.stderr[-2000:]
    line = done.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    for word in words:
        assert word in line, line
    return line


def _folder_without_weights(path: Path, source: Path = FAKE_GPT2) -> Path:
    path.mkdir()
    for item in source.iterdir():
        if not item.name.endswith((".safetensors", ".bin")) and item.name != "model.safetensors.index.json":
            (path / item.name).symlink_to(item)
    return path


def _state_dict() -> dict:
    from safetensors.torch import load_file

    return load_file(FAKE_GPT2 / "model.safetensors")


@pytest.fixture(scope="module")
def index_to_pickle(tmp_path_factory) -> Path:
    """model.safetensors.index.json naming pytorch_model.bin for every tensor, a stray .safetensors beside."""
    import torch

    folder = _folder_without_weights(tmp_path_factory.mktemp("w") / "index-to-pickle")
    state = _state_dict()
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "other.safetensors").write_bytes(b"")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": {k: "pytorch_model.bin" for k in state}}))
    return folder


def test_an_index_naming_a_pickle_needs_allow_pickle(index_to_pickle: Path) -> None:
    from tokenprism import load_model

    with pytest.raises(ModelError, match="pickle .pytorch_model.bin.*--allow-pickle"):
        load_model(str(index_to_pickle), engine="torch")
    assert_one_line_error(cli("generate", "hi", "-m", str(index_to_pickle), "--max-new-tokens", "2"), "--allow-pickle")
    model = load_model(str(index_to_pickle), engine="torch", allow_pickle=True)
    assert model.weights == "pickle"  # what was really read, not what else lies in the folder


def test_embedding_commands_follow_the_same_policy(tmp_path: Path) -> None:
    import torch

    folder = _folder_without_weights(tmp_path / "emb")
    torch.save(_state_dict(), folder / "pytorch_model.bin")
    (folder / "empty.safetensors").write_bytes(b"")  # once enough to make embed load the pickle
    for command in (["embed", "hi"], ["similar", "hi", "-c", "hi there", "-c", "hi you"], ["neighbors", "hi"]):
        assert_one_line_error(cli(*command, "-m", str(folder)), "--allow-pickle")
    allowed = cli("embed", "hi", "-m", str(folder), "--allow-pickle", "--json")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    from tokenprism.embeddings import load_embedding_model

    assert load_embedding_model(str(folder), allow_pickle=True).weights == "pickle"
    assert load_embedding_model(str(FAKE_GPT2)).weights == "safetensors"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_safetensors_file_is_one_model_error_on_both_engines(tmp_path: Path, damage: str) -> None:
    data = (FAKE_GPT2 / "model.safetensors").read_bytes()
    broken = {"truncated": data[: len(data) // 2], "garbage": b"\xff" * 64, "empty": b""}[damage]
    torch_folder = _folder_without_weights(tmp_path / "torch")
    (torch_folder / "model.safetensors").write_bytes(broken)
    assert_one_line_error(cli("generate", "hi", "-m", str(torch_folder), "--max-new-tokens", "2"), "could not be read")
    assert_one_line_error(cli("embed", "hi", "-m", str(torch_folder)), "could not be read")
    if not (PRISM_TINY / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny is not built")
    numpy_folder = _folder_without_weights(tmp_path / "numpy", PRISM_TINY)
    tiny = (PRISM_TINY / "model.safetensors").read_bytes()
    (numpy_folder / "model.safetensors").write_bytes({"truncated": tiny[: len(tiny) // 2], "garbage": b"\xff" * 64, "empty": b""}[damage])
    assert_one_line_error(cli("generate", "hi", "-m", str(numpy_folder), "--engine", "numpy", "--max-new-tokens", "2"),
                          "could not be read")


def test_a_malicious_pickle_is_refused_even_with_allow_pickle(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder = _folder_without_weights(tmp_path / "evil")
    torch.save({"transformer.wte.weight": Payload()}, folder / "pytorch_model.bin")
    line = assert_one_line_error(cli("generate", "hi", "-m", str(folder), "--allow-pickle", "--max-new-tokens", "2"),
                                 "more than tensors")
    assert "weights_only" not in line  # never the advice to load it the unsafe way
    assert_one_line_error(cli("embed", "hi", "-m", str(folder), "--allow-pickle"), "more than tensors")
    assert not marker.exists()


def test_index_and_config_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    folder = _folder_without_weights(tmp_path / "climb")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../outside.safetensors"}}))
    with pytest.raises(ModelError, match="not a file in"):
        weight_files(folder, allow_pickle=True)
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "missing.safetensors"}}))
    with pytest.raises(ModelError, match="names missing.safetensors"):
        weight_files(folder, allow_pickle=False)
    (folder / "model.safetensors.index.json").unlink()
    shutil.copy(FAKE_GPT2 / "model.safetensors", folder / "model.safetensors")
    config = json.loads((FAKE_GPT2 / "config.json").read_text())
    (folder / "config.json").unlink()
    (folder / "config.json").write_text(json.dumps({**config, "transformers_weights": "adapter_model.bin"}))
    (folder / "adapter_model.bin").write_bytes(b"")
    # transformers would read the file config.json names, whatever else is there: so do we
    with pytest.raises(ModelError, match="pickle .adapter_model.bin"):
        weight_files(folder, allow_pickle=False)
    (folder / "config.json").write_text(json.dumps({**config, "transformers_weights": "/etc/passwd"}))
    with pytest.raises(ModelError, match="must name a file in"):
        weight_files(folder, allow_pickle=True)


def test_the_usual_folders_are_what_they_seem() -> None:
    assert weight_files(FAKE_GPT2, allow_pickle=False).format == "safetensors"
    if (PRISM_TINY / "model.safetensors").is_file():
        from tokenprism import load_model

        assert load_model("prism-tiny").weights == "safetensors"
