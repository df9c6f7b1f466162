"""The generation run against transformers itself: the same tokens as `generate()` on both engines,
samples drawn from transformers' warped distribution with the documented generator, probabilities that
are the softmax of the logits, and a cache that changes nothing but speed."""

from __future__ import annotations

import json
import math
import signal

import pytest
from conftest import fixture
from model_helpers import FAKE_GPT2, MODEL_SPECS, load

from tokenprism import Generation, InputError, UsageError, generate, load_tokenizer
from tokenprism.generation import fit_context, prepare_prompt
from tokenprism.run import Run, TextStream

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PROMPTS = ["def fibonacci(n):\n", "import os\nimport sys\n\n", "Hello world"]


def torch_module(model):
    """The transformers module of the same model (the reference for either engine)."""
    from tokenprism import load_model

    return model.module if model.engine == "torch" else load_model(model.name, engine="torch", device="cpu").module


def reference_generate(model, ids, n, **sampling):
    """transformers' own generate(), with every setting spelled out (no generation_config defaults)."""
    eos = sorted(model.eos_ids)
    config = transformers.GenerationConfig(
        max_new_tokens=n, do_sample=bool(sampling), top_k=sampling.get("top_k", 0), top_p=sampling.get("top_p"),
        temperature=sampling.get("temperature"), eos_token_id=eos, pad_token_id=eos[0],
    )
    out = torch_module(model).generate(torch.tensor([ids]), generation_config=config)
    return out[0, len(ids):].tolist()


@pytest.mark.parametrize("spec", MODEL_SPECS)
@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_steps_equal_transformers_generate(spec, prompt):
    model = load(spec)
    ids = model.tokenizer.encode(prompt).ids
    ours = [s.id for s in Run(model, ids, max_new_tokens=16)]
    assert ours == reference_generate(model, ids, 16)


@pytest.mark.parametrize("spec", MODEL_SPECS)
@pytest.mark.parametrize(
    "sampling",
    [dict(temperature=0.7), dict(temperature=1.0, top_k=20), dict(temperature=1.3, top_p=0.9), dict(temperature=1.0, top_k=50, top_p=0.5)],
    ids=["temperature", "top-k", "top-p", "top-k+top-p"],
)
def test_samples_are_draws_from_transformers_warped_distribution(spec, sampling):
    """Each sampled id is what one uniform draw of numpy's PCG64 (seeded with the run's seed) picks
    from transformers' own warped distribution (temperature → top-k → top-p), by inverse CDF."""
    import numpy as np
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    model = load(spec)
    module = torch_module(model)
    ids = model.tokenizer.encode("def main():").ids
    ours = [s.id for s in Run(model, ids, max_new_tokens=10, seed=7, stop_ids=(), **sampling)]
    warpers = [TemperatureLogitsWarper(sampling["temperature"])]
    warpers += [TopKLogitsWarper(sampling["top_k"])] if "top_k" in sampling else []
    warpers += [TopPLogitsWarper(sampling["top_p"])] if "top_p" in sampling else []
    draws, context, expected = np.random.Generator(np.random.PCG64(7)), list(ids), []
    for _ in range(10):
        with torch.no_grad():
            scores = module(torch.tensor([context])).logits[:, -1].float()
        for warp in warpers:
            scores = warp(None, scores)
        cumulative = np.cumsum(torch.softmax(scores[0], -1).double().numpy())
        expected.append(int(np.searchsorted(cumulative, draws.random() * cumulative[-1], side="right")))
        context.append(ours[len(expected) - 1])  # follow our path: one diverging draw must not hide the rest
    assert ours == expected


def test_both_engines_sample_the_same_for_the_same_seed():
    numpy_model = load("prism-tiny")
    from tokenprism import load_model

    torch_model = load_model("prism-tiny", engine="torch", device="cpu")
    assert (numpy_model.engine, torch_model.engine) == ("numpy", "torch")
    ids = numpy_model.tokenizer.encode("import ").ids
    for seed in (1, 2, 3):
        a = [s.id for s in Run(numpy_model, ids, max_new_tokens=20, temperature=1.0, top_k=40, seed=seed)]
        b = [s.id for s in Run(torch_model, ids, max_new_tokens=20, temperature=1.0, top_k=40, seed=seed)]
        assert a == b


@pytest.mark.parametrize("spec", MODEL_SPECS)
def test_reported_probabilities_are_the_softmax_of_the_logits(spec):
    model = load(spec)
    ids = model.tokenizer.encode("for i in range(").ids
    steps = list(Run(model, ids, max_new_tokens=6, show_top=10, temperature=1.0, seed=3))
    context = list(ids)
    for step in steps:
        with torch.no_grad():  # no cache, the whole text every time: the plainest possible reference
            logits = torch_module(model)(torch.tensor([context])).logits[0, -1].double()
        probs = torch.softmax(logits, dim=-1)
        # float32 model maths against a float64 softmax: agreement to ~1e-5 in the logits
        assert step.prob == pytest.approx(probs[step.id].item(), rel=1e-4, abs=1e-9)
        assert step.logprob == pytest.approx(math.log(probs[step.id].item()), rel=1e-4, abs=1e-4)
        entropy = -(probs * torch.log2(probs)).sum().item()
        assert step.entropy == pytest.approx(entropy, rel=1e-4, abs=1e-4)
        # The top 10: each with its own probability, most likely first, and none left out (order
        # between candidates closer than float32 noise may differ from the float64 reference).
        best = torch.topk(probs, 11).values.tolist()
        assert len(step.top) == 10 and len({c.id for c in step.top}) == 10
        assert [c.prob for c in step.top] == pytest.approx([probs[c.id].item() for c in step.top], rel=1e-4)
        assert [c.prob for c in step.top] == pytest.approx(best[:10], rel=1e-4)
        assert min(c.prob for c in step.top) >= best[10] * (1 - 1e-4)
        assert [c.token for c in step.top] == [model.tokenizer.label(c.id) for c in step.top]
        context.append(step.id)


@pytest.mark.parametrize("spec", MODEL_SPECS)
def test_cached_and_uncached_paths_agree(spec):
    model = load(spec)
    ids = model.tokenizer.encode("class Stack:\n    def push(self, item):").ids
    for settings in (dict(), dict(temperature=1.0, seed=11)):
        cached = list(Run(model, ids, max_new_tokens=12, **settings))
        uncached = list(Run(model, ids, max_new_tokens=12, use_cache=False, **settings))
        assert [s.id for s in cached] == [s.id for s in uncached]
        for a, b in zip(cached, uncached):
            assert a.prob == pytest.approx(b.prob, rel=1e-4, abs=1e-9)
            assert a.entropy == pytest.approx(b.entropy, rel=1e-4, abs=1e-4)
            assert [c.prob for c in a.top] == pytest.approx([c.prob for c in b.top], rel=1e-4, abs=1e-9)


def test_same_seed_same_sample_and_other_seeds_differ():
    model = load(str(FAKE_GPT2))
    runs = [generate("Hello", model=model, max_new_tokens=10, temperature=1.0, seed=s) for s in (5, 5, 6)]
    assert runs[0].ids == runs[1].ids and runs[0].seed == 5
    assert runs[0].ids != runs[2].ids
    # Without a seed one is drawn and recorded, so the sample can be replayed.
    drawn = generate("Hello", model=model, max_new_tokens=10, temperature=1.0)
    assert drawn.seed is not None
    assert generate("Hello", model=model, max_new_tokens=10, temperature=1.0, seed=drawn.seed).ids == drawn.ids
    assert generate("Hello", model=model, max_new_tokens=3).seed is None  # greedy needs none


def test_top_k_and_top_p_shape_sampling_as_transformers_warpers():
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    from tokenprism.models.sampling import Sampling, sampling_probs

    torch.manual_seed(0)
    logits = torch.randn(500) * 3
    for k, p in ((5, None), (None, 0.3), (40, 0.8), (1, None), (None, 1e-9)):
        expected = logits[None].clone()
        if k is not None:
            expected = TopKLogitsWarper(k)(None, expected)
        if p is not None:
            expected = TopPLogitsWarper(p)(None, expected)
        ours = sampling_probs(logits.numpy(), Sampling(temperature=1.0, top_k=k, top_p=p))
        torch.testing.assert_close(torch.from_numpy(ours), torch.softmax(expected[0], -1))
        allowed = int((ours > 0).sum())
        assert allowed == (min(k, 500) if p is None else allowed) and allowed >= 1


def test_top_k_is_respected_in_the_loop():
    model = load(str(FAKE_GPT2))
    ids = model.tokenizer.encode("Once upon a time").ids
    for seed in range(3):
        for step in Run(model, ids, max_new_tokens=8, temperature=2.0, top_k=3, show_top=3, seed=seed):
            assert step.id in [c.id for c in step.top]


def test_bad_sampling_settings():
    model = load(str(FAKE_GPT2))
    for kwargs, message in (
        (dict(temperature=-1.0), "temperature"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k=0), "top-k"),
        (dict(top_p=0.0), "top-p"),
        (dict(top_p=1.5), "top-p"),
        (dict(temperature=0.0, top_k=5), "greedy"),
        (dict(max_new_tokens=0), "max-new-tokens"),
        (dict(show_top=-1), "show-top"),
    ):
        with pytest.raises(UsageError, match=message):
            generate("Hello", model=model, **kwargs)


def test_stops_at_eos_and_at_stop_strings():
    model = load(str(FAKE_GPT2))
    ids = model.tokenizer.encode("Hello").ids
    free = list(Run(model, ids, max_new_tokens=8, temperature=1.0, seed=1))
    third = free[2].id
    stopped = list(Run(model, ids, max_new_tokens=8, temperature=1.0, seed=1, stop_ids={third}))
    assert [s.id for s in stopped] == [s.id for s in free[:3]]
    text_of_two = model.tokenizer.decode([free[0].id, free[1].id])
    gen = generate("Hello", model=model, max_new_tokens=8, temperature=1.0, seed=1, stop=[text_of_two[-2:]])
    assert gen.stop_reason == "stop" and len(gen.steps) == 2
    assert generate("Hello", model=model, max_new_tokens=4).stop_reason == "length"


def test_eos_ends_generation_like_transformers():
    model = load(str(FAKE_GPT2))
    ids = model.tokenizer.encode("Hello").ids
    first = next(iter(Run(model, ids, max_new_tokens=1))).id
    # Declare the first greedy token the end-of-text: both loops must stop right after it.
    ours = [s.id for s in Run(model, ids, max_new_tokens=10, stop_ids={first})]
    config = transformers.GenerationConfig(max_new_tokens=10, do_sample=False, eos_token_id=first, pad_token_id=first)
    ref = torch_module(model).generate(torch.tensor([ids]), generation_config=config)[0, len(ids):].tolist()
    assert ours == ref == [first]


def test_empty_prompt_is_refused():
    model = load(str(FAKE_GPT2))
    with pytest.raises(InputError, match="empty prompt"):
        generate("", model=model)


def test_long_prompt_is_left_truncated_and_says_so():
    model = load(str(FAKE_GPT2))
    prompt = "word " * 1100
    gen = generate(prompt, model=model, max_new_tokens=4)
    full = model.tokenizer.encode(prompt).ids
    assert gen.prompt_ids == full[-(1024 - 4):]
    assert "kept the last 1020" in gen.notes[0] and "1024" in gen.notes[0]
    assert len(gen.steps) == 4
    with pytest.raises(UsageError, match="context window of 1024"):
        generate("Hello", model=model, max_new_tokens=1024)
    assert fit_context([1, 2, 3], 10, 5) == ([1, 2, 3], [])


def test_ctrl_c_keeps_what_was_generated():
    model = load(str(FAKE_GPT2))

    def interrupt_at_third(step):
        if step.index == 2:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C delivers: KeyboardInterrupt in the main thread

    gen = generate("Hello", model=model, max_new_tokens=50, on_step=interrupt_at_third)
    assert gen.stop_reason == "interrupted"
    assert len(gen.steps) == 3
    assert gen.text == model.tokenizer.decode(gen.ids)


def test_generation_json_has_the_documented_shape():
    model = load(str(FAKE_GPT2))
    gen = generate("Hello", model=model, max_new_tokens=3, show_top=2)
    data = json.loads(json.dumps(gen.to_dict()))
    assert {"model", "prompt", "prompt_ids", "steps", "text"} <= set(data)
    assert data["prompt_ids"] == model.tokenizer.encode("Hello").ids
    step = data["steps"][0]
    assert set(step) == {"index", "id", "piece", "token", "special", "prob", "logprob", "entropy", "top"}
    assert [set(c) for c in step["top"]] == [{"id", "token", "prob"}] * 2
    assert data["text"] == model.tokenizer.decode([s["id"] for s in data["steps"]])


def test_generation_html_is_escaped():
    model = load(str(FAKE_GPT2))
    gen = generate("<b>bold</b> & <script>", model=model, max_new_tokens=2)
    html = gen._repr_html_()
    assert "<script>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert isinstance(gen, Generation)


def test_text_stream_holds_back_partial_characters():
    tok = load_tokenizer(str(FAKE_GPT2))
    ids = tok.encode("note 🎵 ok").ids
    stream = TextStream(tok)
    pieces = [stream.push(i) for i in ids]
    assert "".join(pieces) == "note 🎵 ok"
    assert all("\ufffd" not in p for p in pieces)
    assert "" in pieces  # the emoji's first bytes were held back


# --- chat ----------------------------------------------------------------------------------------
def test_chat_template_renders_like_transformers():
    from tokenprism.tokenizers.chat import chat_messages

    folder = fixture("tokenizers/phi-3-mini")
    ours = load_tokenizer(str(folder))
    theirs = transformers.AutoTokenizer.from_pretrained(str(folder))
    for messages in (chat_messages("What is a token?"), chat_messages("Hi", system="Be brief.")):
        for gen_prompt in (True, False):
            expected = theirs.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen_prompt)
            assert ours.apply_chat_template(messages, add_generation_prompt=gen_prompt) == expected


def test_chat_prompt_parses_template_tokens_as_special(monkeypatch):
    model = load(str(FAKE_GPT2))
    template = "{% for m in messages %}<|endoftext|>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
    monkeypatch.setattr(model.tokenizer, "chat_template", template)
    ready = prepare_prompt(model, "Hi", chat=True, system="Be brief.")
    assert ready.text == "<|endoftext|>system: Be brief.\n<|endoftext|>user: Hi\nassistant:"
    assert ready.ids.count(50256) == 2  # each <|endoftext|> one special id, not split into pieces


def test_chat_without_template_and_system_without_chat_are_refused():
    model = load(str(FAKE_GPT2))
    with pytest.raises(UsageError, match="no chat template"):
        generate("Hi", model=model, chat=True)
    with pytest.raises(UsageError, match="--chat"):
        generate("Hi", model=model, system="Be brief.")


def test_chat_template_errors_are_input_errors(monkeypatch):
    model = load(str(FAKE_GPT2))
    monkeypatch.setattr(model.tokenizer, "chat_template", "{{ raise_exception('roles must alternate') }}")
    with pytest.raises(InputError, match="roles must alternate"):
        generate("Hi", model=model, chat=True)
    monkeypatch.setattr(model.tokenizer, "chat_template", "{% if %}")
    with pytest.raises(InputError, match="not valid Jinja"):
        generate("Hi", model=model, chat=True)


def test_sandbox_blocks_template_escapes(monkeypatch):
    model = load(str(FAKE_GPT2))
    monkeypatch.setattr(model.tokenizer, "chat_template", "{{ messages.__class__.__mro__ }}")
    with pytest.raises(InputError, match="unsafe"):
        generate("Hi", model=model, chat=True)


def test_greedy_pick_is_torch_argmax_even_with_ties():
    from tokenprism.models.sampling import Distribution, Sampling, pick

    torch.manual_seed(1)
    cases = [torch.tensor([1.0, 3.0, 3.0, 0.0]), torch.tensor([5.0, 5.0]), torch.tensor([0.0, 1e-7, 1e-7 + 1e-7])]
    cases += [torch.randn(1000) for _ in range(20)] + [torch.randint(0, 4, (1000,)).float() for _ in range(20)]
    for logits in cases:
        for keep in (0, 1, 10):
            assert pick(Distribution(logits.numpy(), keep=keep), Sampling(), None) == int(torch.argmax(logits))
