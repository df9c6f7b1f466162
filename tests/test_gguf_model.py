"""`-m model.gguf`: a GGUF file the test writes from the bundled prism-tiny with gguf-py's writer, the way
llama.cpp's convert_hf_to_gguf.py writes one, runs on the numpy engine with the safetensors model's numbers:
exactly for F32; for Q8_0 exactly those of the same weights quantized and dequantized by gguf-py itself, and
within the quantization's error of the F32 model (stated below)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import fixture
from tokenprism.errors import ModelError
from tokenprism.models.engines import load_model
from tokenprism.models.llama import LlamaEngine, read_safetensors
from tokenprism.tokenizers.registry import bundled_path

gguf = pytest.importorskip("gguf", reason="the gguf package (test extra) writes the model files")
from gguf_writers import write_llama_gguf, write_model_gguf

PROMPT = "def area(width, height):\n    return"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gguf-models")
    return {q: write_llama_gguf(bundled_path("prism-tiny"), folder / f"prism-tiny-{q}.gguf", qtype=q) for q in ("F32", "Q8_0")}


@pytest.fixture(scope="module")
def reference():
    model = load_model("prism-tiny")
    return model, model.tokenizer.encode(PROMPT, add_special_tokens=False).ids


def test_f32_gives_the_safetensors_models_numbers_exactly(files, reference) -> None:
    ref, ids = reference
    model = load_model(str(files["F32"]))
    assert (model.engine, model.weights, model.num_parameters) == ("numpy", "gguf", ref.num_parameters)
    assert model.tokenizer.encode(PROMPT, add_special_tokens=False).ids == ids  # the file's own tokenizer
    assert np.array_equal(model.forward(ids)[0], ref.forward(ids)[0])
    ours, theirs = model.internals(ids, attentions=True), ref.internals(ids, attentions=True)
    assert all(np.array_equal(a, b) for a, b in zip(ours.hidden_states, theirs.hidden_states))
    assert np.array_equal(model.token_logprobs(ids), ref.token_logprobs(ids))
    assert model.context_length == ref.context_length and model.eos_ids == ref.eos_ids


def test_q8_0_is_gguf_pys_dequantization_exactly_and_close_to_f32(files, reference) -> None:
    ref, ids = reference
    model = load_model(str(files["Q8_0"]))
    # the same weights through gguf-py's own Q8_0 quantize → dequantize, run by the same engine
    weights = read_safetensors(bundled_path("prism-tiny"))
    kind = gguf.GGMLQuantizationType.Q8_0
    rounded = {k: gguf.quants.dequantize(gguf.quants.quantize(v.astype(np.float32), kind), kind) if v.ndim == 2 else v
               for k, v in weights.items()}
    expected = LlamaEngine(ref.config, rounded).forward(ids).logits
    got = model.forward(ids)[0]
    assert np.array_equal(got, expected)
    # Q8_0 keeps each weight within half a step of its 32-weight block's scale (max |w| / 127), about 0.4% of
    # the block's largest weight; through 4 layers that moves prism-tiny's logits by under 2% (L2), and the
    # greedy next token does not change.
    f32 = ref.forward(ids)[0]
    assert np.linalg.norm(got - f32) / np.linalg.norm(f32) < 0.02
    assert got.argmax() == f32.argmax()


def test_generation_commands_take_a_gguf_model(files, capsys) -> None:
    from tokenprism.cli import main

    assert main(["generate", "-m", str(files["F32"]), PROMPT, "--max-new-tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert main(["generate", "-m", "prism-tiny", PROMPT, "--max-new-tokens", "4"]) == 0
    assert out.splitlines()[-4:-1] == capsys.readouterr().out.splitlines()[-4:-1]  # the same text, greedy


def test_what_the_numpy_engine_cannot_run_is_named(tmp_path) -> None:
    quantized = write_model_gguf(tmp_path / "q4k.gguf", {"token_embd.weight": ((5, 256), "Q4_K")})
    with pytest.raises(ModelError, match="Q4_K tensors: use --engine torch"):
        load_model(str(quantized), engine="numpy")
    with pytest.raises(ModelError, match="vocabulary only"):
        load_model(str(fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf")))


@pytest.mark.slow
def test_torch_engine_reads_it_through_transformers(files, reference) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    ref, ids = reference
    model = load_model(str(files["F32"]), engine="torch")
    assert (model.engine, model.weights) == ("torch", "gguf")
    assert np.allclose(model.forward(ids)[0], ref.forward(ids)[0], atol=1e-4)
