"""`corpus --engine ray` with 1 and 2 actors against the local engine, on a local Ray, side by side in one
run: throughput, throughput per core, and the same numbers on every engine (checked before printing).

Each actor (Ray Data `map_batches` with a callable class) loads the tokenizer and chooses its id engine
once, then encodes one pickled batch (`BATCH_CHARS` characters) per call with `RAY_CPUS_PER_ACTOR` CPU;
the time printed includes starting the actors (a few seconds each on 2 cores), as a user sees it.

    python benchmarks/bench_ray.py                 # English fixtures ×4 (~15 MB), GPT-2, a few minutes
    python benchmarks/bench_ray.py --copies 8 -t cl100k
"""

from __future__ import annotations

import argparse
import os
import time

from _common import FIXTURES, fixture, machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="copies of the English fixtures (3.7 MB each)")
    parser.add_argument("-t", "--tokenizer", choices=["gpt2", "cl100k"], default="gpt2")
    args = parser.parse_args()
    os.environ.setdefault("TOKENPRISM_TIKTOKEN_DIR", str(FIXTURES / "tokenizers/openai-tiktoken"))
    import ray

    from tokenprism import load_tokenizer
    from tokenprism.corpus import corpus_stats
    from tokenprism.corpus.engines import RAY_CPUS_PER_ACTOR
    from tokenprism.corpus.readers import Document

    texts = [p.read_text(encoding="utf-8") for p in sorted(fixture("corpus/english").glob("*.txt"))]
    docs = [Document(t[i : i + 1000], "english", k) for k, t in enumerate(texts * args.copies) for i in range(0, len(t), 1000)]
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    spec = str(fixture("tokenizers/gpt2")) if args.tokenizer == "gpt2" else "cl100k_base"
    load_tokenizer(spec).ids_engine()  # (chosen before the timing, as the actors choose theirs before theirs)
    print(f"# corpus on Ray  ({machine()}; load average {os.getloadavg()[0]:.1f})")
    print(f"{len(docs):,} documents, {mb:.1f} MB, {args.tokenizer}; {RAY_CPUS_PER_ACTOR} CPU per actor")
    def run(**options):
        """(seconds in all, seconds from the first batch's result to the last, its share of the text, stats)."""
        marks: list[tuple[float, int]] = []
        start = time.perf_counter()
        stats = corpus_stats(docs, [spec], ids_engine="fast", progress=lambda chars: marks.append((time.perf_counter(), chars)),
                             **options)
        total_chars = sum(c for _, c in marks)
        steady = (marks[-1][0] - marks[0][0], sum(c for _, c in marks[1:]) / total_chars) if len(marks) > 1 else (0.0, 0.0)
        return time.perf_counter() - start, *steady, stats

    runs = {"local": (*run(), os.cpu_count() or 1)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {k: v for k, v in os.environ.items() if k.startswith(("HF_", "TOKENPRISM_"))}})
    try:
        for actors in (1, 2):
            os.environ["TOKENPRISM_RAY_ACTORS"] = str(actors)
            runs[f"ray, {actors} actor{'s' if actors > 1 else ''}"] = (*run(engine="ray"), actors * RAY_CPUS_PER_ACTOR)
    finally:
        ray.shutdown()
    local = runs["local"][3]
    print(f"{'engine':<16} {'seconds':>8} {'MB/s':>7} {'steady MB/s':>12} {'per core':>9}  ids engine")
    for name, (seconds, steady_s, steady_share, stats, cores) in runs.items():
        same = [r.to_dict() for r in stats.rows] == [r.to_dict() for r in local.rows]
        assert same, f"{name}: other numbers than the local engine"
        steady = mb * steady_share / steady_s if steady_s else float("nan")
        print(f"{name:<16} {seconds:>8.2f} {mb / seconds:>7.1f} {steady:>12.1f} {steady / cores:>9.1f}  "
              f"{stats.ids[stats.tokenizers[0]]['engine']}")
    print("steady: from the first batch's result to the last (the actors started and their engines chosen)")
    print("every engine gave the same statistics (token totals, bytes/token, top tokens …)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
