"""The numpy Llama engine (models/llama.py) against transformers' own LlamaForCausalLM / MistralForCausalLM:
next-token logits, greedy steps, hidden states, attention weights and forced-decoding log-probabilities
must be the reference's within 1e-4. Runs on the bundled prism-tiny and on tiny random-weight models built
here with transformers' classes (GQA, untied head, llama3/linear rope scaling, biases, bf16/f16 weights,
shards, a sliding window). Engine-only checks (cache, errors) need no torch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from tokenprism.errors import InputError, InvalidTokenId, ModelError
from tokenprism.models.llama import LlamaEngine

PRISM = Path(__file__).resolve().parents[1] / "src" / "tokenprism" / "assets" / "prism-tiny"
TOLERANCE = 1e-4

pytestmark = pytest.mark.skipif(not (PRISM / "model.safetensors").is_file(),
                                reason="the bundled prism-tiny is not built (scripts/train_prism_tiny.py)")

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "import os\n\n\ndef main():\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
    "for i in range(10):\n    print(i ** 2)\n",
    "# Compute the factorial of n recursively\ndef factorial(n):\n    if n <= 1:\n",
    "with open('data.txt', encoding='utf-8') as f:\n    lines = f.readlines()\n",
    "try:\n    value = int(text)\nexcept ValueError:\n    value = None\n",
    "async def fetch(session, url):\n    async with session.get(url) as response:\n",
    "x = [y * 2 for y in numbers if y % 3 == 0]\n",
    "SELECT name, COUNT(*) FROM users GROUP BY name ORDER BY 2 DESC;",
    '#include <stdio.h>\nint main(void) {\n    printf("hello\\n");\n',
    "function greet(name) {\n  return `Hello, ${name}!`;\n}\n",
    "The quick brown fox jumps over the lazy dog.",
    "Tokenizers split text into pieces that a model maps to numbers.",
    "It was the best of times, it was the worst of times, it was the age of wisdom,",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong stepped out first.",
    "Q: What is the capital of France?\nA:",
    "Dear Sir or Madam,\n\nI am writing to",
    "Привет, мир! Как дела?",
    "你好，世界。今天天气很好。",
    "こんにちは世界、カタカナとひらがな",
    "naïve café — «quotes» and ‘apostrophes’ … ½ ≠ ∞",
    "emoji: 🤖🚀🎉 👩\u200d💻 and flags 🇫🇷🇯🇵",
    "    \t\n\n   indented   spaces\t\ttabs",
    "ÅÄÖ ß ﬁ Ǆ ΑΒΓ αβγ ℕ ℤ ℚ ∑ ∫",
]
SHORT = [1, 2, 3, 4, 6, 9, 13, 20, 31, 45]


@lru_cache(maxsize=None)
def tokenizer():
    """The reference tokenizer library itself, not tokenprism's wrapper."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(PRISM / "tokenizer.json"))


def encode(text: str) -> list[int]:
    return tokenizer().encode(text).ids


def prompts() -> list[list[int]]:
    """50 prompts of 1 to 60 tokens: each text cut short, and repeated up to 33-60 tokens."""
    out = []
    for i, text in enumerate(TEXTS):
        ids = encode(text) * 60
        out += [ids[: SHORT[i % 10]], ids[: 60 - 3 * (i % 10)]]
    return out


@lru_cache(maxsize=None)
def engine(folder: str = str(PRISM)) -> LlamaEngine:
    return LlamaEngine.from_folder(Path(folder))


@lru_cache(maxsize=None)
def reference(folder: str = str(PRISM)):
    """transformers' own model for the folder: float32, eager attention (the one that returns weights)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def reference_run(ids: list[int], folder: str = str(PRISM), **options):
    model = reference(folder)  # skips the test when torch or transformers is not installed
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids]), use_cache=False, **options)


def max_diff(ours: np.ndarray, theirs) -> float:
    return float(np.abs(np.asarray(ours, dtype=np.float64) - theirs.double().numpy()).max())


# --- prism-tiny against transformers ------------------------------------------------------------
@pytest.mark.slow
def test_next_token_logits_match_transformers_on_50_prompts():
    cases = prompts()
    assert len(cases) == 50 and min(map(len, cases)) == 1 and max(map(len, cases)) == 60
    for ids in cases:
        theirs = reference_run(ids).logits[0, -1]
        ours = engine().forward(ids).logits
        assert ours.dtype == np.float32 and ours.shape == (8192,)
        assert max_diff(ours, theirs) <= TOLERANCE, ids


@pytest.mark.slow
@pytest.mark.parametrize("text", ["def add(a, b):\n", "The history of the printing press"])
def test_greedy_200_tokens_match_transformers_generate(text):
    torch = pytest.importorskip("torch")
    from transformers import GenerationConfig

    ids = encode(text)
    config = GenerationConfig(max_new_tokens=200, do_sample=False, eos_token_id=[], pad_token_id=0)
    with torch.no_grad():
        theirs = reference().generate(torch.tensor([ids]), generation_config=config)[0, len(ids):].tolist()
    step = engine().forward(ids)
    ours = []
    for _ in range(200):
        ours.append(int(step.logits.argmax()))
        step = engine().forward([ours[-1]], step.cache)
    assert ours == theirs


@pytest.mark.parametrize("text", [TEXTS[2], TEXTS[14], TEXTS[22]])
def test_hidden_states_and_attentions_match_transformers(text):
    ids = encode(text)[:40]
    theirs = reference_run(ids, output_hidden_states=True, output_attentions=True)
    ours = engine().forward(ids, hidden_states=True, attentions=True)
    assert len(ours.hidden_states) == len(theirs.hidden_states) == 5  # embeddings + 4 layers (last one normed)
    for mine, ref in zip(ours.hidden_states, theirs.hidden_states):
        assert mine.shape == (len(ids), 256) and max_diff(mine, ref[0]) <= TOLERANCE
    assert len(ours.attentions) == len(theirs.attentions) == 4
    for mine, ref in zip(ours.attentions, theirs.attentions):
        assert mine.shape == (8, len(ids), len(ids)) and max_diff(mine, ref[0]) <= TOLERANCE
        assert np.allclose(mine.sum(axis=-1), 1.0, atol=1e-5)


def test_internals_of_a_cached_call_are_the_matching_rows():
    """With 25 positions cached, a call on 15 more returns the rows of those 15 over all 40 keys."""
    ids = (encode(TEXTS[4]) * 2)[:40]
    theirs = reference_run(ids, output_hidden_states=True, output_attentions=True)
    first = engine().forward(ids[:25])
    later = engine().forward(ids[25:], first.cache, hidden_states=True, attentions=True)
    for mine, ref in zip(later.hidden_states, theirs.hidden_states):
        assert max_diff(mine, ref[0, 25:]) <= TOLERANCE
    for mine, ref in zip(later.attentions, theirs.attentions):
        assert mine.shape == (8, 15, 40) and max_diff(mine, ref[0, :, 25:]) <= TOLERANCE


def test_token_logprobs_match_transformers():
    torch = pytest.importorskip("torch")

    for ids in prompts()[1::7]:
        logits = reference_run(ids).logits[0, :-1].double()
        theirs = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
        ours = engine().token_logprobs(ids)
        assert len(ours) == len(ids) - 1 and all(isinstance(x, float) for x in ours)
        assert max_diff(np.array(ours), theirs) <= TOLERANCE


def test_all_logits_match_transformers():
    ids = encode(TEXTS[0]) * 3
    ours = engine().forward(ids, all_logits=True)
    assert ours.all_logits.shape == (len(ids), 8192) and np.array_equal(ours.all_logits[-1], ours.logits)
    assert max_diff(ours.all_logits, reference_run(ids).logits[0]) <= TOLERANCE


# --- the cache (numpy only) ----------------------------------------------------------------------
def test_one_token_at_a_time_equals_one_pass():
    ids = (encode(TEXTS[1]) + encode(TEXTS[18])) * 5
    ids = ids[:100]  # past the cache's first capacity (64): it grows on the way
    whole = engine().forward(ids, use_cache=False)
    assert whole.cache is None
    step = engine().forward(ids[:1])
    for i in ids[1:]:
        step = engine().forward([i], step.cache)
    assert len(step.cache) == step.cache.get_seq_length() == 100
    assert np.abs(step.logits - whole.logits).max() <= TOLERANCE


def test_chunks_and_crop_equal_one_pass():
    ids = encode(TEXTS[12]) * 3
    cache = engine().forward(ids[:7]).cache
    engine().forward(ids[7:19], cache)
    assert len(cache) == 19
    cache.crop(-4)  # back to 15 positions: what followed is forgotten
    assert len(cache) == 15
    chunked = engine().forward(ids[15:30], cache)
    assert np.abs(chunked.logits - engine().forward(ids[:30]).logits).max() <= TOLERANCE


def test_token_logprobs_agree_with_forward():
    ids = encode(TEXTS[5])
    logprobs = engine().token_logprobs(ids)
    for i in (1, len(ids) // 2, len(ids) - 1):
        logits = engine().forward(ids[:i]).logits.astype(np.float64)
        expected = logits[ids[i]] - logits.max() - np.log(np.exp(logits - logits.max()).sum())
        assert abs(logprobs[i - 1] - expected) <= TOLERANCE
    assert engine().token_logprobs(ids[:1]) == []


def test_facts_of_prism_tiny():
    model = engine()
    assert model.num_parameters == 4_655_360 and model.context_length == 256
    assert model.config["model_type"] == "llama"


def test_float64_maths_agree_with_float32():
    ids = encode(TEXTS[7])
    wide = LlamaEngine.from_folder(PRISM, dtype="float64").forward(ids)
    assert wide.logits.dtype == np.float32 and np.abs(wide.logits - engine().forward(ids).logits).max() <= TOLERANCE


def test_the_engine_never_imports_torch():
    code = ("import sys; from pathlib import Path; from tokenprism.models.llama import LlamaEngine;"
            f"e = LlamaEngine.from_folder(Path({str(PRISM)!r})); e.forward([1, 2, 3]); e.token_logprobs([1, 2]);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- tiny random-weight Llama-family models built with transformers ----------------------------
def build(folder: Path, *, mistral: bool = False, dtype: str = "float32", shard: bool = False,
          old_rope_keys: bool = False, **overrides) -> str:
    """A random-weight model saved with save_pretrained (safetensors) and prism-tiny's tokenizer."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    # initializer_range 0.2: attention that is far from uniform and logits of order 1, so that a
    # wrong rotation or mask shows in the numbers
    settings = dict(vocab_size=8192, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                    initializer_range=0.2, tie_word_embeddings=False) | overrides
    kind = "Mistral" if mistral else "Llama"
    config = getattr(transformers, f"{kind}Config")(**settings)
    model = getattr(transformers, f"{kind}ForCausalLM")(config).to(getattr(torch, dtype))
    model.save_pretrained(folder, safe_serialization=True, **({"max_shard_size": "200KB"} if shard else {}))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(PRISM / name, folder / name)
    if old_rope_keys:  # the spelling of transformers 4 configs: rope_theta + rope_scaling
        saved = json.loads((folder / "config.json").read_text())
        rope = saved.pop("rope_parameters")
        saved["rope_theta"] = rope.pop("rope_theta")
        saved["rope_scaling"] = None if rope["rope_type"] == "default" else rope
        (folder / "config.json").write_text(json.dumps(saved))
    return str(folder)


LLAMA3 = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 16}

RANDOM_MODELS = {
    "gqa-untied-llama3": dict(rope_parameters=LLAMA3),
    "llama3-old-config-keys": dict(rope_parameters=LLAMA3, old_rope_keys=True),
    "linear-rope-tied": dict(rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0},
                             tie_word_embeddings=True, num_key_value_heads=4),
    "biases-bf16-sharded": dict(attention_bias=True, mlp_bias=True, dtype="bfloat16", shard=True,
                                num_key_value_heads=1, head_dim=32),
    "float16-weights": dict(dtype="float16"),
    "mistral-sliding-window": dict(mistral=True, sliding_window=8),
}


@pytest.mark.parametrize("name", list(RANDOM_MODELS))
def test_random_llama_family_models_match_transformers(tmp_path, name):
    folder = build(tmp_path / name, **RANDOM_MODELS[name])
    ids = (encode(TEXTS[3]) + encode(TEXTS[20])) * 2
    ids = ids[:50]
    theirs = reference_run(ids, folder).logits[0]
    assert float(theirs.std()) > 0.3  # a model whose logits say something, not all near zero
    ours = engine(folder).forward(ids, all_logits=True)
    assert max_diff(ours.all_logits, theirs) <= TOLERANCE
    step = engine(folder).forward(ids[:1])  # and decoding with the cache, past the sliding window
    for position, token in enumerate(ids[1:], start=1):
        step = engine(folder).forward([token], step.cache)
        assert max_diff(step.logits, theirs[position]) <= TOLERANCE


def test_gqa_attentions_match_transformers(tmp_path):
    folder = build(tmp_path / "gqa", rope_parameters=LLAMA3)
    ids = (encode(TEXTS[15]) * 2)[:30]
    theirs = reference_run(ids, folder, output_attentions=True, output_hidden_states=True)
    ours = engine(folder).forward(ids, attentions=True, hidden_states=True)
    for mine, ref in zip(ours.attentions, theirs.attentions):
        assert mine.shape == (4, 30, 30) and max_diff(mine, ref[0]) <= TOLERANCE
    for mine, ref in zip(ours.hidden_states, theirs.hidden_states):
        assert max_diff(mine, ref[0]) <= TOLERANCE


# --- what the engine refuses ---------------------------------------------------------------------
def copy_prism(folder: Path, *, config: dict | None = None, drop: str | None = None) -> Path:
    """prism-tiny's files with a changed config or without one tensor."""
    from safetensors.numpy import load_file, save_file

    folder.mkdir()
    settings = json.loads((PRISM / "config.json").read_text()) | (config or {})
    (folder / "config.json").write_text(json.dumps(settings))
    tensors = load_file(PRISM / "model.safetensors")
    if drop:
        del tensors[drop]
    save_file(tensors, folder / "model.safetensors")
    return folder


@pytest.mark.parametrize("change, words", [
    (dict(config={"model_type": "gpt2"}), "model_type 'gpt2'"),
    (dict(drop="model.layers.2.mlp.up_proj.weight"), "lack model.layers.2.mlp.up_proj.weight"),
    (dict(drop="model.norm.weight"), "lack model.norm.weight"),
    (dict(config={"tie_word_embeddings": False}), "lack lm_head.weight"),
    (dict(config={"intermediate_size": 512}), "has shape (576, 256), config.json implies (512, 256)"),
    (dict(config={"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 2.0}}), "rope_type 'yarn'"),
    (dict(config={"rope_parameters": {"rope_type": "linear", "rope_theta": 1e4}}), "positive factor"),
    (dict(config={"partial_rotary_factor": 0.5}), "partial_rotary_factor=0.5"),
    (dict(config={"hidden_act": "gelu"}), "hidden_act 'gelu'"),
    (dict(config={"num_key_value_heads": 3}), "multiple of num_key_value_heads"),
    (dict(config={"num_hidden_layers": None}), "num_hidden_layers"),
])
def test_unsupported_or_broken_models_raise_model_error(tmp_path, change, words):
    folder = copy_prism(tmp_path / "broken", **change)
    with pytest.raises(ModelError) as caught:
        LlamaEngine.from_folder(folder)
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_missing_files_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        LlamaEngine.from_folder(tmp_path)
    shutil.copy(PRISM / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelError, match="no model.safetensors"):
        LlamaEngine.from_folder(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ModelError, match="could not be read"):
        LlamaEngine.from_folder(tmp_path)
    with pytest.raises(ModelError, match="dtype 'float16'"):
        LlamaEngine.from_folder(PRISM, dtype="float16")


@pytest.mark.parametrize("ids, error", [([], InputError), ([-1], InvalidTokenId), ([5, 8192], InvalidTokenId),
                                        ([1.5], InvalidTokenId)])
def test_bad_ids_raise_input_errors(ids, error):
    with pytest.raises(error):
        engine().forward(ids)
