"""How costs grow with the text: `tokenize --json`, `compare` (8 tokenizers) and the web page's compare
payload on 10 KB, 100 KB and 1 MB of text, each beside its anchor, measured side by side in one run.

The text at every size is the same mix (2 KB pieces taken in turn from the English books, the Chinese
and Japanese novels and the UDHR), so a larger text is more of the same, not other text.
  tokenize --json   ours: what the command does (encode, Encoding.to_dict, json.dumps) in this process
                    anchor: a bare script's work: the library's encode and a dump of ids, tokens, offsets
  compare           ours: compare() of 8 fixture tokenizers, then to_dict() and json.dumps
                    anchor: the 8 libraries' own encodes with offsets (the work compare cannot skip)
  web compare       ours: compare() and the page's payload (columns), json.dumps
Printed per size: CPU seconds per MB, ours and anchor, and their ratio. The bars: per-MB cost at 1 MB within
1.5× of that at 10 KB; compare of 100 KB with 8 tokenizers ≤ 3 s. The libraries themselves get slower
per MB on larger texts (more distinct words than their word caches hold): "growth" is given for ours,
for the anchor, and for ours less the anchor (the part tokenprism adds).

    python benchmarks/bench_growth.py            # a few minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import time

from _common import FIXTURES, fixture, machine

SIZES = (10_000, 100_000, 1_000_000)
COMPARE_SPECS = ("bert-base-uncased", "bert-base-cased", "gpt2", "flan-t5", "openai-tiktoken/cl100k_base.tiktoken",
                 "starcoder2", "phi-3-mini/tokenizer.json", "qwen2/tokenizer.json.gz")


def mixed_text(size: int) -> str:
    """`size` bytes of 250-byte pieces taken in turn from every corpus file (30: English, Chinese,
    Japanese, the UDHR's languages), so that every size holds the same mix, and as many tokens per MB."""
    sources = [p.read_text(encoding="utf-8") for p in sorted(fixture("corpus").rglob("*.txt"))]
    pieces, taken, k = [], 0, 0
    while taken < size:
        src = sources[k % len(sources)]
        at = (k // len(sources)) * 250 % max(1, len(src) - 250)
        piece = src[at : at + 250]
        pieces.append(piece)
        taken += len(piece.encode("utf-8"))
        k += 1
    data = "".join(pieces).encode("utf-8")[:size]
    return data.decode("utf-8", "ignore")


def timed(fn, reps: int) -> float:
    """The least CPU time (all threads) of `reps` runs: steadier than wall time on a shared machine."""
    best = float("inf")
    for _ in range(reps):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def tokenize_cases(tok):
    raw = tok.backend_tokenizer

    def ours(text: str) -> None:
        enc = tok.encode(text)
        json.dumps(enc.to_dict(), ensure_ascii=False)

    def anchor(text: str) -> None:
        enc = raw.encode(text)
        json.dumps({"ids": enc.ids, "tokens": enc.tokens, "offsets": enc.offsets}, ensure_ascii=False)

    return ours, anchor


def compare_cases(toks):
    from tokenprism.comparison import compare
    from tokenprism.web.payload import comparison_payload

    def ours(text: str) -> None:
        json.dumps(compare(text, toks).to_dict(), ensure_ascii=False)

    def web(text: str) -> None:
        json.dumps(comparison_payload(compare(text, toks)), ensure_ascii=False)

    def anchor(text: str) -> None:
        for tok in toks:  # each library's own encode, with offsets where it gives them
            if tok.backend == "hf":
                tok.backend_tokenizer.encode(text)
            elif tok.backend == "tiktoken":
                tok.encoding.encode(text, allowed_special="all")
            else:
                tok.processor.encode(text)

    return ours, web, anchor


def main() -> int:
    os.environ.setdefault("TOKENPRISM_TIKTOKEN_DIR", str(FIXTURES / "tokenizers/openai-tiktoken"))
    from tokenprism import load_tokenizer

    gpt2 = load_tokenizer(str(fixture("tokenizers/gpt2")))
    toks = [load_tokenizer(str(fixture(f"tokenizers/{s}"))) for s in COMPARE_SPECS]
    tok_ours, tok_anchor = tokenize_cases(gpt2)
    cmp_ours, cmp_web, cmp_anchor = compare_cases(toks)
    cases = {"tokenize --json": (tok_ours, tok_anchor), "compare ×8": (cmp_ours, cmp_anchor),
             "web compare ×8": (cmp_web, cmp_anchor)}
    for ours, anchor in cases.values():  # warm up: byte tables, caches
        ours("warm up ✓ 鸟"), anchor("warm up ✓ 鸟")
    print(f"# growth from 10 KB to 1 MB  ({machine()}; load average {os.getloadavg()[0]:.1f})")
    print(f"{'case':<16} {'size':>8} {'ours':>9} {'anchor':>9} {'ours s/MB':>10} {'anchor s/MB':>12} {'ratio':>6}")
    per_mb: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in cases}
    failed = False
    for size in SIZES:
        text = mixed_text(size)
        mb = len(text.encode("utf-8")) / 1e6
        reps = 5 if size <= 100_000 else 2
        for name, (ours, anchor) in cases.items():
            t_ours, t_anchor = timed(lambda o=ours: o(text), reps), timed(lambda a=anchor: a(text), reps)
            per_mb[name][size] = (t_ours / mb, t_anchor / mb)
            print(f"{name:<16} {size // 1000:>6}KB {t_ours:>8.3f}s {t_anchor:>8.3f}s {t_ours / mb:>10.3f} "
                  f"{t_anchor / mb:>12.3f} {t_ours / t_anchor:>6.2f}")
            if name == "compare ×8" and size == 100_000:
                failed |= t_ours > 3.0
                print(f"{'':<16} compare of 100 KB with 8 tokenizers: {t_ours:.2f} s (bar ≤ 3 s)")
    print("growth of the cost per MB, 1 MB ÷ 10 KB (bar ≤ 1.5 for ours less the anchor):")
    for name, costs in per_mb.items():
        (small_o, small_a), (big_o, big_a) = costs[SIZES[0]], costs[SIZES[-1]]
        excess = (big_o - big_a) / max(small_o - small_a, 1e-9)
        print(f"  {name:<16} ours {big_o / small_o:.2f}×  anchor {big_a / small_a:.2f}×  ours less anchor {excess:.2f}×")
        failed |= excess > 1.5
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
