"""`tokenprism corpus` with the fast id engines against the libraries' own batch encoders, side by side
in one run, every id checked.

The corpus: the English fixture books (../shared/fixtures/corpus/english) cut into 1 KB documents,
`--copies` times over (default 4, 15 MB: a run of the fast engine on one copy lasts ~5 ms, too short
to time on a busy machine). For GPT-2 and cl100k, on the same documents with every core:
  tokenizers  `encode_batch_fast` (GPT-2's tokenizer files; cl100k converted by transformers' TikTokenConverter)
  tiktoken    `encode_batch` (cl100k_base; GPT-2's vocabulary as tiktoken ranks)
  engine      the tokenizer's chosen id engine alone (`Tokenizer.ids_engine().encode_flat`): the raw speed
  batches     the engine alone on the batches a corpus run makes, as it runs them (`engines.run_local`):
              what cutting the corpus into bounded batches costs before any statistic is taken
  corpus      corpus_stats(ids_engine="fast"): encode + the run's spot checks + every statistic
  reference   corpus_stats(ids_engine="reference"): the same statistics from the reference library
  first pass  engine and corpus again, each on a freshly loaded tokenizer and one copy of the books:
              text its engine has not seen (the runs above read the engine's warm word cache)
Every engine's ids are compared with tiktoken's/tokenizers' document by document, and the fast run's
statistics (token totals, bytes/token, top tokens …) with the reference run's, before any figure is printed.
Runs alternate and the best of each is kept, so background load hits all alike.
Bars: corpus ≥ 20× tokenizers and ≥ 5× tiktoken; the aim: corpus ≥ 0.8× the engine alone, taken at
its faster of `engine` and `batches` (÷engine).

    python benchmarks/bench_corpus.py                # the English fixtures ×4 (15 MB), a few minutes
    python benchmarks/bench_corpus.py --reps 5 --doc-bytes 4000 --copies 1
    python benchmarks/bench_corpus.py --pieces       # and what the spot checks, the scan and the tallies cost
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import FIXTURES, fixture, machine


def documents(doc_chars: int) -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(fixture("corpus/english").glob("*.txt"))]
    return [t[i : i + doc_chars] for t in texts for i in range(0, len(t), doc_chars)]


def tokenizers_encoder(label: str, tok):
    """The `tokenizers` library's batch encoder for this vocabulary (ids as lists)."""
    if label == "gpt2":
        raw = tok.backend_tokenizer
    else:
        from transformers.convert_slow_tokenizer import TikTokenConverter

        ranks = fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken")  # (the text holds no special tokens)
        # the converter's own pattern (the published cl100k tokenizer.json files' one): Oniguruma has no
        # possessive quantifiers, so tiktoken's own pattern would cut otherwise
        raw = TikTokenConverter(vocab_file=str(ranks)).converted()
    return lambda texts: [e.ids for e in raw.encode_batch_fast(texts, add_special_tokens=False)]


def tiktoken_encoder(label: str, tok):
    """tiktoken's batch encoder for this vocabulary (GPT-2's: its merges as ranks, as tiktoken's gpt2 has)."""
    import tiktoken

    if label == "gpt2":
        import json

        from tokenprism.tokenizers.fast_engines import tiktoken_params

        params = tiktoken_params(json.loads(tok.backend_tokenizer.to_str()), tok.byte_table())
        enc = tiktoken.Encoding(name="gpt2-ranks", **params)
    else:
        enc = tok.encoding
    threads = os.cpu_count() or 1
    return lambda texts: enc.encode_batch(texts, num_threads=threads, allowed_special="all")


def pieces(label: str, texts: list[str], reps: int) -> str:
    """What each part of a corpus run costs: the run's MB/s as a share of the engine alone, whole and
    with the spot checks, the batch scan, the tallies, or all three taken out (monkeypatched away: the
    statistics are then wrong, only the time counts). Medians of `reps` runs in turns."""
    import statistics

    import numpy as np

    from tokenprism import load_tokenizer
    from tokenprism.corpus import corpus_stats, fold, tally
    from tokenprism.corpus.readers import Document
    from tokenprism.tokenizers.fast import CheckedIds

    tok = load_tokenizer(str(fixture("tokenizers/gpt2")) if label == "gpt2" else "cl100k_base")
    engine = tok.ids_engine()
    docs = [Document(t, "english", i) for i, t in enumerate(texts)]
    real = (CheckedIds._sample, tally._scan, fold.tally_flat)
    none = (lambda self, count, rare: [],
            lambda blob, bounds, per_document=True: (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)),
            lambda *a, **k: None)

    def run(keep: tuple[bool, bool, bool]) -> None:
        CheckedIds._sample, tally._scan, fold.tally_flat = (r if k else n for r, n, k in zip(real, none, keep))
        try:
            corpus_stats(docs, [tok], ids_engine="fast")
        except Exception:  # noqa: BLE001 - without tallies the run finds an empty corpus: its time is what counts
            pass

    cases = {"whole": (True, True, True), "−checks": (False, True, True), "−scan": (True, False, True),
             "−tallies": (True, True, False), "−all three": (False, False, False)}
    times: dict[str, list[float]] = {"engine": [], **{name: [] for name in cases}}
    try:
        for _ in range(reps):
            times["engine"].append(best(lambda: engine.encode_flat(texts), 1)[0])
            for name, keep in cases.items():
                times[name].append(best(lambda k=keep: run(k), 1)[0])
    finally:
        CheckedIds._sample, tally._scan, fold.tally_flat = real
    alone = statistics.median(times["engine"])
    return "  ".join(f"{name} {alone / statistics.median(times[name]):.2f}" for name in cases)


def first_pass(label: str, texts: list[str], reps: int) -> tuple[float, float]:
    """MB/s of the engine alone and of `corpus`, each on a freshly loaded tokenizer whose engine has
    seen none of the text (gigatoken keeps the ids of the words it has met: above, every run after the
    first reads a warm cache, as a corpus repeating itself would; new text is slower to encode)."""
    from tokenprism.corpus import corpus_stats
    from tokenprism.corpus.readers import Document
    from tokenprism.tokenizers.registry import _load_uncached  # (load_tokenizer keeps what it loaded)

    spec = str(fixture("tokenizers/gpt2")) if label == "gpt2" else "cl100k_base"
    docs = [Document(t, "english", i) for i, t in enumerate(texts)]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    engine, corpus = [], []
    for _ in range(reps):
        fresh = _load_uncached(spec, None, {})
        fresh.ids_engine()  # (chosen and probed before the clock starts)
        engine.append(best(lambda: fresh.ids_engine().encode_flat(texts), 1)[0])
        fresh = _load_uncached(spec, None, {})
        fresh.ids_engine()
        corpus.append(best(lambda: corpus_stats(docs, [fresh], ids_engine="fast"), 1)[0])
    return mb / min(engine), mb / min(corpus)


def best(fn, reps: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(reps):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--doc-bytes", type=int, default=1000, help="characters per document (default 1 KB)")
    parser.add_argument("--copies", type=int, default=4, help="times the fixture books are taken (default 4)")
    parser.add_argument("--pieces", action="store_true",
                        help="also show what each part of a run costs (spot checks, scan, tallies: taken out in turn)")
    parser.add_argument("-t", "--tokenizer", action="append", choices=["gpt2", "cl100k"], help="default: both")
    args = parser.parse_args()
    if not FIXTURES.exists():
        print(f"fixtures not found at {FIXTURES}", file=sys.stderr)
        return 1
    os.environ.setdefault("TOKENPRISM_TIKTOKEN_DIR", str(FIXTURES / "tokenizers/openai-tiktoken"))
    os.environ.pop("TOKENIZERS_PARALLELISM", None)  # let every library use every core

    from tokenprism import load_tokenizer
    from tokenprism.corpus import BATCH_CHARS, BATCH_ITEMS, corpus_stats
    from tokenprism.corpus.engines import batches, run_local
    from tokenprism.corpus.readers import Document

    texts = documents(args.doc_bytes) * args.copies
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    docs = [Document(t, "english", i) for i, t in enumerate(texts)]
    print(f"# corpus with the fast id engines  ({machine()}; load average {os.getloadavg()[0]:.1f})")
    print(f"corpus: {len(docs):,} documents of {args.doc_bytes:,} characters, {mb:.2f} MB "
          f"(English fixtures ×{args.copies})")
    print(f"{'tokenizer':<8} {'engine':<18} {'tokenizers':>10} {'tiktoken':>9} {'engine':>8} {'batches':>8} {'corpus':>8} "
          f"{'reference':>9}  {'×tokenizers':>11} {'×tiktoken':>9} {'÷engine':>8}   (MB/s)")
    cut = list(batches(texts, batch_chars=BATCH_CHARS, batch_items=BATCH_ITEMS, chars=len))
    failed = False
    for label in args.tokenizer or ["gpt2", "cl100k"]:
        tok = load_tokenizer(str(fixture("tokenizers/gpt2")) if label == "gpt2" else "cl100k_base")
        engine = tok.ids_engine()
        encoders = {"tokenizers": tokenizers_encoder(label, tok), "tiktoken": tiktoken_encoder(label, tok)}
        want = encoders["tiktoken"](texts)
        for name, encode in encoders.items():  # every library and engine gives the same ids
            assert encode(texts) == want, f"{label}: {name} gives other ids than tiktoken"
        flat = engine.encode_flat(texts)
        assert [flat.row(k) for k in range(len(texts))] == want, f"{label}: {engine.name} gives other ids"
        reference = corpus_stats(docs, [tok], ids_engine="reference")
        fast = corpus_stats(docs, [tok], ids_engine="fast")
        assert [r.to_dict() for r in fast.rows] == [r.to_dict() for r in reference.rows], f"{label}: other statistics"
        assert fast.row(tok.name).tokens == sum(map(len, want))
        times = {"tokenizers": [], "tiktoken": [], "engine": [], "batches": [], "corpus": [], "reference": []}
        for _ in range(args.reps):  # alternate, so that load from other processes hits all alike
            for name, encode in encoders.items():
                times[name].append(best(lambda e=encode: e(texts), 1)[0])
            times["engine"].append(best(lambda: engine.encode_flat(texts), 1)[0])
            times["batches"].append(best(lambda: list(run_local(cut, engine.encode_flat)), 1)[0])
            times["corpus"].append(best(lambda: corpus_stats(docs, [tok], ids_engine="fast"), 1)[0])
        times["reference"].append(best(lambda: corpus_stats(docs, [tok], ids_engine="reference"), 1)[0])
        t = {k: min(v) for k, v in times.items()}
        x_tok, x_tik, of_engine = t["tokenizers"] / t["corpus"], t["tiktoken"] / t["corpus"], min(t["engine"], t["batches"]) / t["corpus"]
        print(f"{label:<8} {engine.name:<18} {mb / t['tokenizers']:>10.1f} {mb / t['tiktoken']:>9.1f} "
              f"{mb / t['engine']:>8.1f} {mb / t['batches']:>8.1f} {mb / t['corpus']:>8.1f} {mb / t['reference']:>9.1f}  "
              f"{x_tok:>10.1f}× {x_tik:>8.1f}× {of_engine:>7.2f}")
        failed |= x_tok < 20 or x_tik < 5
        engine_new, corpus_new = first_pass(label, documents(args.doc_bytes), args.reps)
        print(f"{'':<8} {'first pass':<18} {'':>10} {'':>9} {engine_new:>8.1f} {'':>8} {corpus_new:>8.1f} {'':>9}  "
              f"{'':>11} {'':>9} {corpus_new / engine_new:>7.2f}")
        if args.pieces:
            print(f"{'':<8} ÷engine, parts taken out (medians of {3 * args.reps} runs in turns): "
                  f"{pieces(label, texts, 3 * args.reps)}")
    print("bars: corpus ≥ 20× tokenizers and ≥ 5× tiktoken (ids and statistics verified equal first); "
          "aim: corpus ≥ 0.80 of the engine alone, the faster of engine and batches (÷engine)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
