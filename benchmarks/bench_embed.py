"""Sentence embeddings of 2,000 real sentences, batch 32: `tokenprism.embed(..., sentence=True)` vs
sentence-transformers' `encode` on the same model (all-MiniLM-L6-v2 from the installed wheel), in the
same process, so the same torch threads. Bar: throughput ≥ 0.95× sentence-transformers'.
By default 400 sentences (about a minute on 2 busy cores); --full runs the 2,000 the bar names.

Both sort the texts by length before batching (we by token count, it by character count), run the
same BertModel and pool the same way; the runs alternate so that machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import fixture, machine  # noqa: E402


def sentences(count: int) -> list[str]:
    """Sentences of Jane Austen's Emma (real text, varied lengths), in order."""
    text = fixture("corpus/english/austen-emma.txt").read_text(encoding="utf-8")
    parts = [" ".join(p.split()) for p in re.split(r"(?<=[.!?])\s+", text)]
    picked = [p for p in parts if len(p.split()) >= 3][:count]
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} sentences in the corpus; ask for fewer")
    return picked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--full", action="store_true", help="2,000 sentences, as the bar says")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from tokenprism.embeddings import embed, load_embedding_model

    texts = sentences(2000 if args.full else args.sentences)
    model = load_embedding_model("all-MiniLM-L6-v2", device="cpu")
    st = SentenceTransformer(str(model.folder), device="cpu")

    def ours() -> np.ndarray:
        return embed(texts, model=model, sentence=True, batch_size=args.batch_size).vectors

    def theirs() -> np.ndarray:
        return st.encode(texts, batch_size=args.batch_size)

    # Warm up both (first calls allocate), and check they agree before timing anything.
    diff = float(np.abs(ours() - theirs()).max())
    times: dict[str, list[float]] = {"tokenprism": [], "sentence-transformers": []}
    runs = (("sentence-transformers", theirs), ("tokenprism", ours))
    for rep in range(args.repeat):
        for name, fn in runs if rep % 2 == 0 else runs[::-1]:  # alternate who goes first
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    t_ours, t_st = statistics.median(times["tokenprism"]), statistics.median(times["sentence-transformers"])
    rate_ours, rate_st = len(texts) / t_ours, len(texts) / t_st
    print(f"# sentence embeddings, all-MiniLM-L6-v2, {len(texts)} sentences, batch {args.batch_size}  ({machine()})")
    print(f"torch threads: {torch.get_num_threads()} (both, same process); median of {args.repeat} runs each")
    print(f"tokenprism.embed(sentence=True): {t_ours:7.2f} s  {rate_ours:8.1f} sentences/s")
    print(f"SentenceTransformer.encode:      {t_st:7.2f} s  {rate_st:8.1f} sentences/s")
    print(f"throughput ratio (ours / sentence-transformers): {rate_ours / rate_st:.3f}x   bar: >= 0.95x")
    print(f"max |difference| of the vectors: {diff:.2e}")


if __name__ == "__main__":
    main()
