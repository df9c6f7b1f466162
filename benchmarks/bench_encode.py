"""Encoding a 10 MB text through `Tokenizer.encode` vs the raw backend call. Bar: ≤ 1.10×.

`Tokenizer.encode` returns an `Encoding` whose per-token views are built lazily, so the cost
should be the backend's own."""

from __future__ import annotations

import argparse

from _common import best_of, fixture, report
from tokenprism import load_tokenizer


def corpus(size: int) -> str:
    parts = [
        "The quick brown fox jumps over the lazy dog. ",
        "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
        "鸟在天空中飞翔。 ",
        "Ünïcödé naïve café 12345 🎵\n",
    ]
    block = "".join(parts) * 50
    return (block * (size // len(block.encode()) + 1))[: size // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10.0)
    args = parser.parse_args()
    text = corpus(int(args.mb * 1_000_000))
    while len(text.encode()) < args.mb * 1_000_000:
        text += text[: 100_000]
    rows = []
    cases = [
        ("tokenizers (starcoder2)", "tokenizers/starcoder2", lambda t: (lambda: t.backend_tokenizer.encode(text).ids)),
        ("tiktoken (cl100k_base)", "tokenizers/openai-tiktoken/cl100k_base.tiktoken", lambda t: (lambda: t.encoding.encode(text, allowed_special="all"))),
        ("sentencepiece (llama)", "tokenizers/phi-3-mini/tokenizer.model", lambda t: (lambda: t.processor.encode(text))),
    ]
    for name, spec, raw in cases:
        tok = load_tokenizer(fixture(spec))
        ours = best_of(lambda: tok.encode(text).ids, repeat=3)
        anchor = best_of(raw(tok), repeat=3)
        rows.append((f"encode {args.mb:g} MB via {name}", ours, anchor, "raw backend call"))
    report("encode throughput", rows, bar="ratio ≤ 1.10")


if __name__ == "__main__":
    main()
