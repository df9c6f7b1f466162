"""Inside the model: the logit lens, attention and attribution, against transformers (the reference)
on prism-tiny (numpy and torch engines), the random-weight GPT-2 fixture, and tiny random-weight
models of five more families built here from transformers configs with prism-tiny's real tokenizer.

Invariants: the last layer's lens is the model's own logits (max abs diff ≤ 1e-4); attention rows sum
to 1 and look at no later token; integrated gradients add up to the log-probability change (within
1% at 64 steps); numpy and transformers agree on prism-tiny.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from conftest import PRISM_TINY
from model_helpers import FAKE_GPT2, load

import tokenprism
from tokenprism import ModelError, UsageError, attention, attribute, lens

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PROMPT = "def add(a, b):\n    return"
LENS_KEYS = {"model", "prompt", "tokens", "layers"}


# --- models ------------------------------------------------------------------------------------
def _family_configs() -> dict:
    """Five families, tiny and random, sized for prism-tiny's 8192-token vocabulary."""
    t = transformers
    common = dict(vocab_size=8192, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  max_position_embeddings=128, bos_token_id=0, eos_token_id=0, pad_token_id=4)
    return {
        "llama": t.LlamaConfig(num_key_value_heads=2, **common),
        "qwen2": t.Qwen2Config(num_key_value_heads=2, **common),
        "phi3": t.Phi3Config(num_key_value_heads=2, **common),
        # soft-capping squeezes the logits into (-3, 3): a lens without it would be far off
        "gemma2": t.Gemma2Config(num_key_value_heads=2, head_dim=8, final_logit_softcapping=3.0, attn_logit_softcapping=50.0,
                                 **common),
        "gpt_neox": t.GPTNeoXConfig(**common),
    }


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> dict:
    """name → folder: random weights (large enough to give peaked guesses), prism-tiny's tokenizer files."""
    if not (PRISM_TINY / "tokenizer.json").is_file():
        pytest.skip("the bundled prism-tiny is not built yet")
    folders = {}
    for name, config in _family_configs().items():
        torch.manual_seed(0)
        module = transformers.AutoModelForCausalLM.from_config(config)
        with torch.no_grad():
            for p in module.parameters():
                p.normal_(0, 0.3 if p.dim() > 1 else 0.5)
        folder = tmp_path_factory.mktemp(name)
        module.save_pretrained(folder)
        for file in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(PRISM_TINY / file, folder / file)
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def tiny():
    return load("prism-tiny")


@pytest.fixture(scope="module")
def tiny_torch(tiny):
    return tokenprism.load_model("prism-tiny", engine="torch", device="cpu")


@pytest.fixture(scope="module")
def fake():
    return load(str(FAKE_GPT2))


def reference_logits(folder, ids) -> np.ndarray:
    """transformers' own logits for every position (the model loaded afresh, eager attention)."""
    module = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.inference_mode():
        return module(torch.tensor([ids])).logits[0].float().numpy()


# --- the last layer is the model's own output --------------------------------------------------
@pytest.mark.parametrize("which", ["tiny", "tiny_torch", "fake"])
def test_the_last_layers_lens_is_the_models_logits(request, which):
    model = request.getfixturevalue(which)
    ids = model.tokenizer.encode(PROMPT).ids
    inside = model.internals(ids)
    assert len(inside.hidden_states) == (model.config.get("num_hidden_layers") or model.config["n_layer"]) + 1
    assert np.abs(model.unembed(inside.hidden_states[-1]) - inside.logits).max() <= 1e-4
    expected = reference_logits(model.path, ids)
    assert np.abs(inside.logits - expected).max() <= 1e-4
    result = lens(PROMPT, model=model, top=5)
    probs = np.exp(expected - expected.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    for cell in result.layers[-1].positions:
        best = np.argsort(-probs[cell.position])[:5]
        assert [c.id for c in cell.top] == best.tolist()
        assert np.allclose([c.prob for c in cell.top], probs[cell.position, best], atol=1e-5)
        assert cell.rank_of_final == 1 and abs(cell.kl_to_final) < 1e-5


def test_the_lens_of_prism_tiny_is_the_same_on_numpy_and_transformers(tiny):
    """Every layer of the numpy engine's lens against one computed here with transformers' own final
    norm and head over its hidden states."""
    ids = tiny.tokenizer.encode(PROMPT).ids
    module = transformers.LlamaForCausalLM.from_pretrained(PRISM_TINY).eval()
    with torch.inference_mode():
        out = module(torch.tensor([ids]), output_hidden_states=True)
        states = list(out.hidden_states[:-1])  # transformers' last one is already normed: that layer is its logits
        logits = [module.lm_head(module.model.norm(h))[0] for h in states] + [out.logits[0]]
    result = lens(PROMPT, model=tiny, top=3)
    assert [layer.layer for layer in result.layers] == list(range(len(logits)))
    for layer, expected in zip(result.layers, logits):
        logp = torch.log_softmax(expected.float(), -1)
        final = torch.log_softmax(logits[-1].float(), -1)
        for cell in layer.positions:
            p = logp[cell.position].exp()
            best = torch.topk(p, 3)
            assert [c.id for c in cell.top] == best.indices.tolist()
            assert np.allclose([c.prob for c in cell.top], best.values.numpy(), atol=1e-5)
            entropy = float(-(p * logp[cell.position]).sum()) / math.log(2)
            kl = float((final[cell.position].exp() * (final[cell.position] - logp[cell.position])).sum()) / math.log(2)
            assert cell.entropy == pytest.approx(entropy, abs=1e-3) and cell.kl_to_final == pytest.approx(kl, abs=1e-3)


def test_numpy_and_torch_engines_give_the_same_lens_and_attention(tiny, tiny_torch):
    a, b = lens(PROMPT, model=tiny), lens(PROMPT, model=tiny_torch)
    for la, lb in zip(a.layers, b.layers):
        for ca, cb in zip(la.positions, lb.positions):
            assert [c.id for c in ca.top] == [c.id for c in cb.top]
            assert np.allclose([c.prob for c in ca.top], [c.prob for c in cb.top], atol=1e-5)
    wa, wb = attention(PROMPT, model=tiny), attention(PROMPT, model=tiny_torch)
    for x, y in zip(wa.layers, wb.layers):
        assert np.abs(x.weights - y.weights).max() <= 1e-5


def test_attention_is_eager_only_for_the_pass_and_matches_transformers(tiny_torch):
    before = tiny_torch.module.config._attn_implementation
    ids = tiny_torch.tokenizer.encode(PROMPT).ids
    result = attention(PROMPT, model=tiny_torch)
    assert tiny_torch.module.config._attn_implementation == before
    module = transformers.LlamaForCausalLM.from_pretrained(PRISM_TINY, attn_implementation="eager").eval()
    with torch.inference_mode():
        expected = module(torch.tensor([ids]), output_attentions=True).attentions
    for layer, weights in zip(result.layers, expected):
        assert np.abs(layer.weights - weights[0].numpy()).max() <= 1e-5


def _check_attention(result) -> None:
    n = len(result.ids)
    for layer in result.layers:
        assert layer.weights.shape == (len(layer.heads), n, n)
        assert np.abs(layer.weights.sum(-1) - 1).max() <= 1e-5
        assert np.all(np.triu(layer.weights, 1) == 0)  # a token never looks ahead
    assert abs(result.looked_at(-1).sum() - 1) <= 1e-5


@pytest.mark.parametrize("which", ["tiny", "tiny_torch", "fake"])
def test_attention_rows_sum_to_one(request, which):
    _check_attention(attention(PROMPT, model=request.getfixturevalue(which)))


# --- attribution ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("which", "target"), [("tiny", " a"), ("fake", " a + b")])
def test_integrated_gradients_add_up_within_one_percent_at_64_steps(request, which, target):
    """(The fake GPT-2 is nearly uniform: a longer target keeps the log-probability change far above
    float32's rounding.)"""
    result = attribute(PROMPT, target, model=request.getfixturevalue(which), steps=64)
    assert result.method == "integrated-gradients" and result.steps == 64 and "pad token" in result.baseline
    assert len(result.attributions) == len(result.tokens) == len(result.ids)
    assert result.completeness.relative_error <= 0.01, result.completeness
    assert result.completeness.sum == pytest.approx(sum(result.attributions))


def test_the_attributed_logprob_is_transformers_forced_decoding(tiny):
    result = attribute(PROMPT, " a + b", model=tiny, steps=4)
    ids = result.ids + result.target_ids
    logits = torch.log_softmax(torch.tensor(reference_logits(PRISM_TINY, ids)), -1)
    n = len(result.ids)
    expected = sum(float(logits[n - 1 + k, t]) for k, t in enumerate(result.target_ids))
    assert result.logprob == pytest.approx(expected, abs=1e-4)


def test_grad_x_input_is_the_gradient_times_the_embedding(tiny_torch):
    """Token i's number is d/ds log p with its embedding scaled by s, at s = 1: checked against a central
    finite difference through transformers, one token at a time (float32: Llama's RMSNorm computes in
    float32 whatever the dtype, so the step is 1e-2 and the tolerance 2% of the largest)."""
    result = attribute(PROMPT, " a", model=tiny_torch, method="grad-x-input")
    assert result.steps == 1 and "zero" in result.baseline
    n, target = len(result.ids), result.target_ids[0]
    module = transformers.LlamaForCausalLM.from_pretrained(PRISM_TINY).eval()
    with torch.no_grad():
        e = module.get_input_embeddings()(torch.tensor([result.ids + result.target_ids]))

        def f(i: int, scale: float) -> float:
            x = e.clone()
            x[:, i] *= scale
            return float(torch.log_softmax(module(inputs_embeds=x).logits[0, n - 1], -1)[target])

        h = 1e-2
        expected = [(f(i, 1 + h) - f(i, 1 - h)) / (2 * h) for i in range(n)]
    peak = max(abs(v) for v in expected)
    assert np.allclose(result.attributions, expected, atol=0.02 * peak)


def test_attribution_needs_torch(tiny, monkeypatch):
    import importlib.util

    from tokenprism import MissingDependency

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(MissingDependency, match=r"tokenprism\[lm\]"):
        attribute(PROMPT, " a", model=tiny)


# --- five families ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_family_configs()))
def test_every_family_runs_and_keeps_the_invariants(families, name):
    model = tokenprism.load_model(str(families[name]), engine="torch", device="cpu")
    ids = model.tokenizer.encode(PROMPT).ids
    inside = model.internals(ids)
    assert np.abs(model.unembed(inside.hidden_states[-1]) - inside.logits).max() <= 1e-4
    assert np.abs(inside.logits - reference_logits(families[name], ids)).max() <= 1e-4
    result = lens(PROMPT, model=model)
    assert len(result.layers) == 3 and all(c.rank_of_final == 1 for c in result.layers[-1].positions)
    _check_attention(attention(PROMPT, model=model))
    ig = attribute(PROMPT, " a + b", model=model, steps=64)
    assert ig.completeness.relative_error <= 0.01, ig.completeness


def test_a_final_step_the_lens_does_not_know_is_refused(families):
    """Gemma 2's soft-capping left out of `unembed`, the last layer no longer matches the model's own
    logits: the lens says so instead of drawing a wrong picture."""
    from tokenprism.inside.logit_lens import lens_logits_check

    model = tokenprism.load_model(str(families["gemma2"]), engine="torch", device="cpu")
    inside = model.internals(model.tokenizer.encode(PROMPT).ids)
    config = model.module.config
    cap, config.final_logit_softcapping = config.final_logit_softcapping, None
    try:
        with pytest.raises(ModelError, match="cannot reproduce"):
            lens_logits_check(model, inside.hidden_states[-1], inside.logits)
    finally:
        config.final_logit_softcapping = cap
    lens_logits_check(model, inside.hidden_states[-1], inside.logits)  # with it: the same logits


# --- shapes, options, views ---------------------------------------------------------------------
def test_json_shapes_are_the_issues(tiny):
    data = json.loads(json.dumps(lens(PROMPT, model=tiny, top=2).to_dict()))
    assert set(data) == LENS_KEYS and data["layers"][0]["layer"] == 0
    cell = data["layers"][-1]["positions"][0]
    assert set(cell) == {"position", "top", "entropy", "kl_to_final", "rank_of_final"} and set(cell["top"][0]) == {"id", "token", "prob"}
    att = json.loads(json.dumps(attention(PROMPT, model=tiny, layer=-1, head=1).to_dict()))
    assert set(att) == {"model", "tokens", "layers"} and att["layers"][0]["layer"] == 4
    assert att["layers"][0]["heads"][0]["head"] == 1 and len(att["layers"][0]["heads"][0]["weights"]) == len(att["tokens"])
    attr = json.loads(json.dumps(attribute(PROMPT, " a", model=tiny, steps=4).to_dict()))
    assert {"model", "prompt", "target", "tokens", "attributions", "method", "completeness"} <= set(attr)
    assert set(attr["completeness"]) == {"sum", "expected", "relative_error"}


def test_the_last_position_alone_is_the_last_column(tiny, tiny_torch):
    for model in (tiny, tiny_torch):
        inside = model.internals(model.tokenizer.encode(PROMPT).ids, attentions=True, last=True)
        assert inside.hidden_states[0].shape[0] == 1 and inside.logits.shape[0] == 1 and inside.attentions[0].shape[1] == 1
        every, last = lens(PROMPT, model=model), lens(PROMPT, model=model, positions="last")
        assert last.positions == [len(every.ids) - 1]
        for a, b in zip(every.column(-1), last.column(-1)):
            assert [c.id for c in a.top] == [c.id for c in b.top] and a.entropy == pytest.approx(b.entropy, abs=1e-4)
        full, row = attention(PROMPT, model=model), attention(PROMPT, model=model, last=True)
        assert np.allclose(full.looked_at(-1), row.looked_at(-1), atol=1e-6)


def test_a_lens_read_a_few_positions_at_a_time_is_the_same(tiny, tiny_torch, monkeypatch):
    """With a budget of 3 rows of logits at a time (a big vocabulary's case), the same numbers."""
    import importlib

    module = importlib.import_module("tokenprism.inside.logit_lens")  # the module (the package exports the verb)
    for model in (tiny, tiny_torch):
        whole = lens(PROMPT, model=model).to_dict()
        monkeypatch.setattr(module, "_BATCH_FLOATS", 3 * model.tokenizer.vocab_size)
        _same(lens(PROMPT, model=model).to_dict(), whole)
        monkeypatch.undo()


def _same(a: dict, b: dict) -> None:
    assert len(a["layers"]) == len(b["layers"])
    for la, lb in zip(a["layers"], b["layers"]):
        for ca, cb in zip(la["positions"], lb["positions"]):
            assert ca["position"] == cb["position"] and [c["id"] for c in ca["top"]] == [c["id"] for c in cb["top"]]
            assert ca["entropy"] == pytest.approx(cb["entropy"], abs=1e-4) and ca["rank_of_final"] == cb["rank_of_final"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: lens(PROMPT, model=m, top=0), "--top"),
    (lambda m: lens(PROMPT, model=m, positions="some"), "--positions"),
    (lambda m: attention(PROMPT, model=m, layer=0), "--layer"),
    (lambda m: attention(PROMPT, model=m, layer=9), "out of range"),
    (lambda m: attention(PROMPT, model=m, head=8), "out of range"),
    (lambda m: attribute(PROMPT, "", model=m), "empty target"),
    (lambda m: attribute(PROMPT, " a", model=m, method="saliency"), "--method"),
    (lambda m: lens("", model=m), "empty prompt"),
])
def test_bad_options_are_one_line_errors(tiny, call, message):
    with pytest.raises(tokenprism.TokenprismError, match=message) as info:
        call(tiny)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, (UsageError, tokenprism.InputError))


def test_every_result_shows_itself_in_a_notebook_escaped(tiny):
    prompt = "<script>alert(1)</script>"
    for result in (lens(prompt, model=tiny), attention(prompt, model=tiny), attribute(prompt, " a", model=tiny, steps=2)):
        page = result._repr_html_()
        assert page.startswith("<style>") and "<script" not in page and "&lt;" in page
