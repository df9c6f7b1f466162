"""Models the model tests run on, all real: the random-weight GPT-2 fixture (plumbing), the bundled
prism-tiny (when it is there), and small folders built with transformers' own classes in tmp dirs
for the cases that must fail (an encoder-only BERT, pickle-only weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, PRISM_TINY, fixture, missing_reason

FAKE_GPT2 = FIXTURES / "models/fake-gpt2-random-tiny"  # vendored in tests/data

#: Specs the parity tests run on; prism-tiny is skipped until the bundled folder exists.
MODEL_SPECS = [
    pytest.param(str(FAKE_GPT2), id="fake-gpt2"),
    pytest.param("prism-tiny", id="prism-tiny"),
]


def load(spec: str):
    """Load a model for a test, skipping with the reason when its files are absent."""
    from tokenprism import load_model

    if spec == "prism-tiny" and not (PRISM_TINY / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny is not built yet (scripts/train_prism_tiny.py)")
    if spec == str(FAKE_GPT2) and not FAKE_GPT2.is_dir():
        pytest.skip(missing_reason("models/fake-gpt2-random-tiny"))
    return load_model(spec, device="cpu")


def build_bert(folder: Path, *, masked_lm: bool = False) -> Path:
    """A tiny random BERT (encoder-only) with the real bert-base-uncased vocab, saved as safetensors."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertModel

    vocab = fixture("tokenizers/bert-base-uncased/vocab.txt")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    model = (BertForMaskedLM if masked_lm else BertModel)(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    (folder / "vocab.txt").symlink_to(vocab)
    return folder


def build_pickle_only(folder: Path) -> Path:
    """The fake GPT-2 re-saved with pickle weights only (pytorch_model.bin), tokenizer files linked.

    transformers 5 always saves safetensors, so the .bin is written as older versions wrote it:
    torch.save of the state dict."""
    import torch
    from transformers import AutoModelForCausalLM

    if not FAKE_GPT2.is_dir():
        pytest.skip(missing_reason("models/fake-gpt2-random-tiny"))
    model = AutoModelForCausalLM.from_pretrained(FAKE_GPT2)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).symlink_to(FAKE_GPT2 / name)
    return folder
