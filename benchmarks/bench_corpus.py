"""`tokenprism corpus` throughput against the raw backend's batch encoder, side by side in one run.

For each tokenizer: the same documents, in the same batches, with the same threads —
  raw:  the backend's own batch encode to ids (tokenizers encode_batch_fast, tiktoken
        encode_batch, sentencepiece encode(num_threads=-1)); nothing else
  ours: corpus_stats() on those documents: encode + counts, words, unknown tokens, round-trip
        check, per-id counts (everything `tokenprism corpus` reports)
Runs alternate (raw, ours, raw, ours, …) and the best of each is kept, so background load hits
both alike; CPU seconds (all threads) are reported beside wall time, as the steadier figure on a
shared machine. The bar: ours ≥ 0.9 × raw.

    python benchmarks/bench_corpus.py            # ~6 MB mixed corpus, about a minute
    python benchmarks/bench_corpus.py --full     # ~50 MB (the issue's size)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
TOKENIZERS = {
    "gpt2": str(FIXTURES / "tokenizers/gpt2"),
    "cl100k_base": "cl100k_base",
    "llama/phi-3 spm": str(FIXTURES / "tokenizers/phi-3-mini/tokenizer.model"),
    "bert-base-uncased": str(FIXTURES / "tokenizers/bert-base-uncased"),
}


def mixed_corpus(target_bytes: int, seed: int = 0) -> list[str]:
    """Documents of 2-64 KB drawn from English books, Chinese and Japanese novels, 20 languages of
    the UDHR, and Python code (this repo's own source), until `target_bytes`."""
    rng = random.Random(seed)
    sources = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((FIXTURES / "corpus").rglob("*.txt"))]
    sources += [p.read_text(encoding="utf-8") for p in sorted((REPO / "src").rglob("*.py"))]
    docs, total = [], 0
    while total < target_bytes:
        src = rng.choice(sources)
        size = rng.randrange(2_000, 64_000)
        start = rng.randrange(0, max(1, len(src) - size))
        doc = src[start : start + size]
        docs.append(doc)
        total += len(doc.encode("utf-8"))
    return docs


def raw_encoder(tok):
    """The backend's own batch encoder to ids, as a user of that library would call it."""
    if getattr(tok, "backend_tokenizer", None) is not None:
        raw = tok.backend_tokenizer
        return lambda texts: [e.ids for e in raw.encode_batch_fast(texts, add_special_tokens=False)]
    if getattr(tok, "encoding", None) is not None:
        enc = tok.encoding
        return lambda texts: enc.encode_batch(texts, allowed_special="all")
    sp = tok.processor
    return lambda texts: sp.encode(texts, num_threads=-1)


def timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, all threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="~50 MB corpus instead of ~6 MB")
    parser.add_argument("--mb", type=float, help="corpus size in MB (overrides --full)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("-t", "--tokenizer", action="append", choices=list(TOKENIZERS), help="default: all")
    args = parser.parse_args()
    if not FIXTURES.exists():
        print(f"fixtures not found at {FIXTURES}", file=sys.stderr)
        return 1
    os.environ.setdefault("TOKENPRISM_TIKTOKEN_DIR", str(FIXTURES / "tokenizers/openai-tiktoken"))
    os.environ.pop("TOKENIZERS_PARALLELISM", None)  # let the backends use every core

    from tokenprism import load_tokenizer
    from tokenprism.corpus import BATCH_CHARS, corpus_stats
    from tokenprism.corpus.engines import batches
    from tokenprism.corpus.readers import Document

    mb = args.mb or (50 if args.full else 6)
    texts = mixed_corpus(int(mb * 1e6))
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    docs = [Document(t, "all", i) for i, t in enumerate(texts)]
    groups = [[d.text for d in b] for b in batches(docs, batch_chars=BATCH_CHARS)]
    print(f"corpus: {len(docs)} documents, {nbytes / 1e6:.1f} MB; {os.cpu_count()} cores; batches of {BATCH_CHARS:,} chars")
    print(f"{'tokenizer':<20} {'raw MB/s':>9} {'ours MB/s':>10} {'raw Mtok/s':>11} {'ours Mtok/s':>12} "
          f"{'ratio':>6} {'CPU ratio':>10}")
    worst = float("inf")
    for label in args.tokenizer or list(TOKENIZERS):
        tok = load_tokenizer(TOKENIZERS[label])
        encode = raw_encoder(tok)
        corpus_stats(docs[:4], [tok])  # warm up: byte table, thread pools
        raw_t = ours_t = raw_cpu = ours_cpu = float("inf")
        tokens = 0
        for _ in range(args.reps):  # alternate, so load from other processes hits both alike
            wall, cpu, ids = timed(lambda: [encode(g) for g in groups])
            raw_t, raw_cpu = min(raw_t, wall), min(raw_cpu, cpu)
            tokens = sum(len(x) for batch in ids for x in batch)
            wall, cpu, stats = timed(lambda: corpus_stats(docs, [tok]))
            ours_t, ours_cpu = min(ours_t, wall), min(ours_cpu, cpu)
            assert stats.rows[-1].tokens == tokens, "corpus_stats counted other tokens than the raw encoder"
        ratio = raw_t / ours_t
        worst = min(worst, ratio)
        print(f"{label:<20} {nbytes / raw_t / 1e6:>9.2f} {nbytes / ours_t / 1e6:>10.2f} "
              f"{tokens / raw_t / 1e6:>11.2f} {tokens / ours_t / 1e6:>12.2f} {ratio:>6.2f} {raw_cpu / ours_cpu:>10.2f}")
    print(f"worst wall-clock ratio ours/raw: {worst:.2f} (bar: >= 0.90). CPU ratio = raw CPU s / ours CPU s,")
    print("the steadier figure when other processes share the cores (load average now: "
          f"{os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
