"""Loading a GGUF file's tokenizer: tokenprism vs the `gguf` package's GGUFReader vs transformers. Bar: ≤ 0.5 s
for the largest fixture vocab (GPT-2, 50k tokens) and for a 151k vocab (Qwen2, written here with gguf-py).

tokenprism memory-maps the file and reads only the metadata; string arrays are walked once and decoded in one
go. GGUFReader parses every field element by element; transformers converts the GGUF vocab into a tokenizer.json
(where it supports the architecture: not BERT). "load + encode" adds the first encode, which reads a BPE's
merges (they are needed only once text is tokenized)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

from _common import REPO, best_of, fixture, machine

from tokenprism.tokenizers.gguf import GGUFTokenizer

VOCABS = ["gpt-2", "starcoder", "llama-spm", "phi-3", "bert-bge"]


def qwen2_gguf(folder: Path) -> Path | None:
    """A 151,646-token Qwen2 vocab, written with gguf-py from the fixture tokenizer.json (as tests do)."""
    try:
        sys.path.insert(0, str(REPO / "tests"))
        from gguf_writers import write_bpe_gguf
    except ImportError:
        return None
    return write_bpe_gguf(fixture("tokenizers/qwen2/tokenizer.json.gz"), folder / "qwen2-vocab.gguf", pre="qwen2")


def gguf_reader(path: Path) -> float | None:
    try:
        from gguf import GGUFReader
    except ImportError:
        return None
    return best_of(lambda: GGUFReader(str(path)), repeat=3)


def transformers_load(path: Path, repeat: int) -> float | str:
    """transformers' GGUF tokenizer loading, or why it cannot load this file."""
    try:
        from transformers import AutoTokenizer
        from transformers.utils import logging
    except ImportError:
        return "transformers not installed"
    logging.set_verbosity_error()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)  # warm: imports, conversion tables
            return best_of(lambda: AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name), repeat=repeat)
    except Exception as exc:  # noqa: BLE001 - report whatever transformers refuses with
        return f"fails: {type(exc).__name__}: {str(exc)[:70]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-transformers", action="store_true", help="skip transformers (slow: seconds per file)")
    args = parser.parse_args()
    GGUFTokenizer(fixture("llama-cpp-vocab/ggml-vocab-gpt-2.gguf")).encode("warm")  # imports, once
    with tempfile.TemporaryDirectory() as tmp:
        files = [(name, fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf")) for name in VOCABS]
        qwen2 = qwen2_gguf(Path(tmp))
        if qwen2 is not None:
            files.append(("qwen2 (151k, written)", qwen2))
        print(f"# GGUF tokenizer load  ({machine()})")
        print(f"{'file':24} {'tokens':>8} {'MB':>6} {'ours':>9} {'+encode':>9} {'GGUFReader':>11} {'transformers':>13}  ratios")
        for name, path in files:
            ours = best_of(lambda p=path: GGUFTokenizer(p), repeat=5)
            first = best_of(lambda p=path: GGUFTokenizer(p).encode("Hello world"), repeat=3)
            reader = gguf_reader(path)
            hf = "skipped" if args.no_transformers else transformers_load(path, repeat=2)
            n = GGUFTokenizer(path).vocab_size
            ratios = []
            if reader:
                ratios.append(f"{reader / ours:.1f}x faster than GGUFReader")
            if isinstance(hf, float):
                ratios.append(f"{hf / first:.0f}x faster than transformers")
            print(f"{name:24} {n:8,} {path.stat().st_size / 1e6:6.2f} {ours * 1000:7.0f}ms {first * 1000:7.0f}ms "
                  f"{(reader or 0) * 1000:9.0f}ms {hf * 1000 if isinstance(hf, float) else 0:11.0f}ms  "
                  + ("; ".join(ratios) + ("" if isinstance(hf, float) else f" (transformers: {hf})")))
    print("bar: ours ≤ 500 ms for gpt-2 (the largest fixture vocab) and for the 151k qwen2 vocab")


if __name__ == "__main__":
    main()
