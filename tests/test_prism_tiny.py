"""prism-tiny, the bundled model: a real Hugging Face folder that is small, knows Python idioms, beats a
unigram model by far on standard-library files it never saw, and reserves the FIM sentinels."""

from __future__ import annotations

import math
import re
import sysconfig
from collections import Counter
from pathlib import Path

import pytest

import tokenprism

FOLDER = Path(tokenprism.__file__).parent / "assets" / "prism-tiny"
#: Must match HELD_OUT in scripts/train_prism_tiny.py (files kept out of training).
HELD_OUT = ("textwrap.py", "shlex.py", "fractions.py", "heapq.py")
SENTINELS = ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>")
CONTEXT = 256

#: prompt → what a greedy continuation's first line must match. Prompts end where a token ends: a
#: byte-level BPE joins a space to the word after it (" '__main__'"), so `if __name__ == ` with its
#: trailing space would end in a lone-space token the model has hardly seen (the token-healing problem).
IDIOMS = {
    "if __name__ ==": r"^ ['\"]__main__['\"]:",
    "class Point:\n    def __init__(self": r"^(, [^\n]*)?\):",
    "class A:\n    @property\n    def name(self": r"^\):",
    "try:\n    import zlib\nexcept": r"^ ImportError",
    "for i in range(": r"^[^\n]*\):",
    "with open(filename": r"^[^\n]*\) as \w+:",
    "try:\n    pass\nexcept Exception as": r"^ \w+:",
    "for key, value in": r"^ [\w.]+\.items\(\):",
    "import os\n\npath = os.path.": r"^(join|abspath|dirname|basename|normpath|expanduser|realpath|split|splitext|exists)\(",
    "def check(x):\n    if x < 0:\n        raise": r"^ ValueError\(",
}


@pytest.fixture(scope="module")
def tokenizer():
    return tokenprism.load_tokenizer("prism-tiny")


@pytest.fixture(scope="module")
def model():
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(FOLDER).eval()


def test_folder_is_a_small_complete_hf_model() -> None:
    names = {p.name for p in FOLDER.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file()) <= 20_000_000
    card = (FOLDER / "README.md").read_text(encoding="utf-8")
    assert all(name in card for name in HELD_OUT) and "python scripts/train_prism_tiny.py" in card


def test_fim_sentinels_are_single_special_tokens(tokenizer) -> None:
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(FOLDER / "tokenizer.json"))
    for s in SENTINELS:
        ids = tokenizer.encode(s, add_special_tokens=False).ids
        assert ids == [reference.token_to_id(s)] and tokenizer.is_special(ids[0])
    code = "<fim_prefix>def f(x):<fim_suffix>\n<fim_middle>"
    assert tokenizer.encode(code, add_special_tokens=False).ids == reference.encode(code, add_special_tokens=False).ids


#: Training files a unigram baseline is fitted on (a fixed, common sample; all exist in CPython 3.8+).
UNIGRAM_FILES = ("argparse.py", "ast.py", "base64.py", "contextlib.py", "copy.py", "dataclasses.py", "enum.py",
                 "functools.py", "inspect.py", "os.py", "pathlib.py", "random.py", "shutil.py", "string.py",
                 "subprocess.py", "tempfile.py", "threading.py", "typing.py", "zipfile.py")


def _stdlib_ids(tokenizer, name: str) -> list[int]:
    path = Path(sysconfig.get_paths()["stdlib"]) / name
    return tokenizer.encode(path.read_text(encoding="utf-8"), add_special_tokens=False).ids


def _held_out_contexts(tokenizer, per_file: int = 3) -> list[list[int]]:
    """A few contexts from each held-out file, spread over the file (not just its licence header)."""
    contexts = []
    for name in HELD_OUT:
        ids = _stdlib_ids(tokenizer, name)
        starts = range(0, len(ids) - CONTEXT + 1, CONTEXT)
        contexts += [ids[i : i + CONTEXT] for i in list(starts)[:: max(1, len(starts) // per_file)][:per_file]]
    return contexts


def test_held_out_perplexity_is_far_below_a_unigram_model(model, tokenizer) -> None:
    import torch

    contexts = _held_out_contexts(tokenizer)
    with torch.no_grad():
        loss = model(input_ids=torch.tensor(contexts), labels=torch.tensor(contexts)).loss.item()
    # The baseline: add-one unigram frequencies of standard-library files the model was trained on.
    counts = Counter(t for name in UNIGRAM_FILES for t in _stdlib_ids(tokenizer, name))
    total = sum(counts.values()) + tokenizer.vocab_size
    targets = [t for c in contexts for t in c[1:]]
    unigram = math.exp(-sum(math.log((counts[t] + 1) / total) for t in targets) / len(targets))
    assert math.exp(loss) * 5 < unigram, (math.exp(loss), unigram)


def _greedy(model, tokenizer, prompt: str, new: int = 12) -> str:
    import torch

    ids = tokenizer.encode(prompt, add_special_tokens=False).ids
    out = model.generate(torch.tensor([ids]), max_new_tokens=new, do_sample=False, pad_token_id=model.config.pad_token_id)
    return tokenizer.decode(out[0, len(ids) :].tolist())


def test_greedy_completes_common_idioms(model, tokenizer) -> None:
    results = {p: _greedy(model, tokenizer, p) for p in IDIOMS}
    right = [p for p, pattern in IDIOMS.items() if re.match(pattern, results[p])]
    assert len(right) >= 7, {p: results[p] for p in IDIOMS if p not in right}
