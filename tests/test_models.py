"""Loading models: every spec takes one path, and every bad model fails early with a clear error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from model_helpers import FAKE_GPT2, MODEL_SPECS, build_bert, build_pickle_only, load

from tokenprism import ModelError, UsageError, load_model, load_tokenizer, score
from tokenprism.models import pick_device, pick_dtype, resolve_model_path

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("spec", MODEL_SPECS)
def test_model_matches_transformers_and_its_tokenizer(spec):
    model = load(spec)
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(model.path))
    ids = model.tokenizer.encode("def f(x):\n    return x").ids
    with torch.no_grad():
        expected = reference(torch.tensor([ids])).logits[0, -1]
    logits, cache = model.forward(ids)
    torch.testing.assert_close(torch.from_numpy(logits), expected, rtol=1e-5, atol=1e-5)  # the numpy engine for prism-tiny
    assert cache is not None
    # The tokenizer is tokenprism's own loader on the same folder, not a second copy.
    assert model.tokenizer is load_tokenizer(spec)
    assert model.device == "cpu" and model.dtype == "float32"
    assert model.context_length == reference.config.to_dict().get("max_position_embeddings", reference.config.to_dict().get("n_positions"))


def test_a_second_load_is_the_same_object():
    assert load(str(FAKE_GPT2)) is load(str(FAKE_GPT2))


def test_prism_tiny_resolves_to_the_bundled_folder():
    load("prism-tiny")
    path = resolve_model_path("prism-tiny")
    assert path.name == "prism-tiny" and path.parent.name == "assets"
    assert json.loads((path / "config.json").read_text())["model_type"] == "llama"


def test_encoder_only_model_cannot_generate(tmp_path):
    folder = build_bert(tmp_path / "bert")
    with pytest.raises(ModelError, match=r"cannot generate.*tokenprism embed"):
        load_model(folder)


def test_masked_lm_bert_cannot_generate_either(tmp_path):
    folder = build_bert(tmp_path / "bert-mlm", masked_lm=True)
    with pytest.raises(ModelError, match="cannot generate"):
        load_model(folder)


def test_pickle_only_weights_need_consent(tmp_path):
    folder = build_pickle_only(tmp_path / "pickled")
    with pytest.raises(ModelError, match=r"pytorch_model\.bin.*--allow-pickle"):
        load_model(folder)
    model = load_model(folder, allow_pickle=True)
    assert model.weights == "pickle"
    ids = model.tokenizer.encode("Hello world").ids
    expected, _ = load(str(FAKE_GPT2)).forward(ids)
    torch.testing.assert_close(model.forward(ids)[0], expected)


def test_missing_weights_and_missing_config(tmp_path):
    (tmp_path / "no-weights").mkdir()
    (tmp_path / "no-weights" / "config.json").write_text((FAKE_GPT2 / "config.json").read_text())
    with pytest.raises(ModelError, match="no model weights"):
        load_model(tmp_path / "no-weights")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        load_model(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "bad")


def test_remote_code_needs_consent(tmp_path):
    config = json.loads((FAKE_GPT2 / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_custom.CustomLM"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="--trust-remote-code"):
        load_model(tmp_path)


def test_uncached_hub_model_offline_says_so():
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        load_model("tokenprism-tests/no-such-model")


def test_device_and_dtype_choices():
    assert pick_device("auto") in ("cpu", "cuda", "mps")
    assert pick_device("cpu") == "cpu"
    assert pick_dtype("auto", "cpu") == torch.float32
    assert pick_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(UsageError, match="unknown dtype"):
        pick_dtype("int3", "cpu")
    with pytest.raises(UsageError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA"):
            pick_device("cuda")


def test_bfloat16_loads_and_predicts():
    model = load_model(FAKE_GPT2, device="cpu", dtype="bfloat16")
    assert model.dtype == "bfloat16"
    logits, _ = model.forward([15496, 995])
    assert logits.dtype == np.float32 and np.isfinite(logits).all()  # logits are float32 numpy on every engine


# --- score: forced decoding --------------------------------------------------------------------
@pytest.mark.parametrize("spec", MODEL_SPECS)
def test_score_equals_transformers_loss(spec):
    model = load(spec)
    text = "import os\nprint(os.getcwd())\n"
    result = score(text, model=model)
    ids = [t.id for t in result.tokens]
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(model.path))
    with torch.no_grad():
        loss = reference(torch.tensor([ids]), labels=torch.tensor([ids])).loss.item()
    # transformers' loss is the mean negative log-likelihood of tokens 1..n: perplexity = exp(loss).
    assert result.perplexity == pytest.approx(math.exp(loss), rel=1e-4)
    assert len(result.scored) == len(ids) - 1
    assert result.tokens[0].prob is None
    first = result.tokens[1]
    assert first.surprisal == pytest.approx(-math.log2(first.prob))
    assert result.bits_per_token == pytest.approx(loss / math.log(2), rel=1e-4)


def test_score_puts_bos_in_front_where_the_tokenizer_does_not():
    model = load(str(FAKE_GPT2))
    result = score("Hello world", model=model)
    assert result.tokens[0].id == model.bos_id and result.tokens[0].special
    assert [t.id for t in result.tokens[1:]] == model.tokenizer.encode("Hello world").ids
    assert "BOS" in result.notes[0]


def test_score_bad_input():
    from tokenprism import InputError

    model = load(str(FAKE_GPT2))
    with pytest.raises(InputError, match="empty text"):
        score("", model=model)


def test_long_text_is_scored_in_windows_like_the_transformers_perplexity_guide(monkeypatch):
    model = load(str(FAKE_GPT2))
    monkeypatch.setattr(model, "context_length", 64)  # a short window, so a short text needs several
    text = "The quick brown fox jumps over the lazy dog. " * 20
    result = score(text, model=model)
    ids = [t.id for t in result.tokens]
    assert len(ids) > 3 * 64 and "windows of 64" in result.notes[-1]
    # The guide's loop (huggingface.co/docs/transformers/perplexity), with labels masked to -100.
    nll_sum, counted, prev_end = 0.0, 0, 0
    for begin in range(0, len(ids), 32):
        end = min(begin + 64, len(ids))
        window = torch.tensor([ids[begin:end]])
        labels = window.clone()
        labels[:, : -(end - prev_end)] = -100
        with torch.no_grad():
            loss = model.module(window, labels=labels).loss.item()
        valid = int((labels[:, 1:] != -100).sum())
        nll_sum, counted, prev_end = nll_sum + loss * valid, counted + valid, end
        if end == len(ids):
            break
    assert counted == len(result.scored) == len(ids) - 1
    assert result.total_logprob == pytest.approx(-nll_sum, rel=1e-4)


def test_score_result_serialises_and_escapes():
    result = score("<script>alert(1)</script>", model=load(str(FAKE_GPT2)))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["scored_tokens"] == len(data["tokens"]) - 1
    html = result._repr_html_()
    assert "<script" not in html and "alert" in html and "&lt;" in html
