#!/usr/bin/env python
"""fim-transform to token ids vs tokenizing the same corpus without the transform (issue 5: ≥ 0.8×).

    python benchmarks/bench_fim_transform.py           # ~3 MB corpus, about a minute
    python benchmarks/bench_fim_transform.py --full    # ~50 MB, the size the issue names

The corpus is built from this interpreter's standard-library sources (real Python code), cycled to
the size asked, as one JSONL file. Two comparisons, each measured side by side in this run (best of
--repeats, alternating):

  library  tokenprism.fim units → transform → ids   vs  tokenizers' encode_batch_fast on the documents
  CLI      `tokenprism fim-transform corpus.jsonl -o shards/` (read, transform, encode, write .npy)
           vs reading the same JSONL and encode_batch_fast (the anchor does no writing)

Tokenizer: StarCoder2's (../shared/fixtures/tokenizers/starcoder2) where present, else prism-tiny.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tokenprism.cli import main as cli_main  # noqa: E402
from tokenprism.fim import Sentinels, fim_units, transform_unit  # noqa: E402
from tokenprism.tokenizers.registry import load_tokenizer  # noqa: E402

STARCODER2 = REPO.parent / "shared" / "fixtures" / "tokenizers" / "starcoder2"
BATCH = 1000  # documents per encode call, the same for both sides


def build_corpus(megabytes: float) -> list[str]:
    """Standard-library files, cycled until the corpus has `megabytes` of text."""
    root = Path(sysconfig.get_paths()["stdlib"])
    sources = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.glob("*.py"))]
    sentinels = Sentinels.starcoder().as_tuple()
    sources = [s for s in sources if s and not any(t in s for t in sentinels)]
    docs, size, i = [], 0, 0
    while size < megabytes * 1e6:
        docs.append(sources[i % len(sources)])
        size, i = size + len(docs[-1]), i + 1
    return docs


def encode_plain(raw, docs: list[str]) -> int:
    return sum(len(e.ids) for k in range(0, len(docs), BATCH)
               for e in raw.encode_batch_fast(docs[k : k + BATCH], add_special_tokens=False))


def encode_fim(tok, docs: list[str], sentinels: Sentinels) -> int:
    tokens, units = 0, list(fim_units(docs, sentinels=sentinels))
    for k in range(0, len(units), BATCH):
        texts = [transform_unit(u, sentinels=sentinels, seed=0) for u in units[k : k + BATCH]]
        tokens += sum(map(len, tok.encode_ids_batch(texts)))
    return tokens


def transform_only(docs: list[str], sentinels: Sentinels) -> int:
    """The transform without tokenizing: the part fim-transform adds to tokenizing."""
    return sum(len(transform_unit(u, sentinels=sentinels, seed=0)) for u in fim_units(docs, sentinels=sentinels))


def read_and_encode(raw, path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        docs = [json.loads(line)["text"] for line in fh]
    return encode_plain(raw, docs)


def cli_to_ids(spec: str, path: Path, out: Path) -> int:
    with contextlib.redirect_stdout(io.StringIO()):  # keep the figures below readable
        code = cli_main(["fim-transform", str(path), "-o", str(out), "-t", spec])
    if code != 0:
        raise SystemExit(f"fim-transform failed with exit code {code}")
    return json.loads((out / "meta.json").read_text())["tokens"]


def best_of(repeats: int, runs: dict) -> dict[str, tuple[float, int]]:
    """Alternate the contenders `repeats` times; keep each one's best time (and its token count)."""
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            tokens = fn()
            elapsed = time.perf_counter() - t0
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, tokens)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="~50 MB corpus (default ~3 MB)")
    parser.add_argument("--megabytes", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = args.megabytes or (50.0 if args.full else 3.0)
    spec = str(STARCODER2) if STARCODER2.exists() else "prism-tiny"
    tok = load_tokenizer(spec)
    raw = tok.backend_tokenizer
    sentinels = Sentinels.from_tokenizer(tok)
    docs = build_corpus(size)
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), encoding="utf-8")
        library = best_of(args.repeats, {
            "tokenize": lambda: encode_plain(raw, docs), "fim": lambda: encode_fim(tok, docs, sentinels)})
        cli = best_of(args.repeats, {
            "tokenize": lambda: read_and_encode(raw, path), "fim": lambda: cli_to_ids(spec, path, Path(tmp) / "ids")})
        alone = best_of(args.repeats, {"transform": lambda: transform_only(docs, sentinels)})["transform"][0]
    print(f"machine: {os.cpu_count()} CPU cores; tokenizer: {tok.name}; corpus: {len(docs):,} documents, {mb:.1f} MB")
    print(f"transform alone (no tokenizing): {mb / alone:.0f} MB/s ({alone:.3f} s)")
    for label, best in (("library", library), ("CLI end-to-end", cli)):
        (t_plain, n_plain), (t_fim, n_fim) = best["tokenize"], best["fim"]
        print(f"{label:>15}: tokenize {mb / t_plain:6.2f} MB/s ({n_plain:,} tokens, {t_plain:.2f} s) | "
              f"fim-transform→ids {mb / t_fim:6.2f} MB/s ({n_fim:,} tokens, {t_fim:.2f} s) | "
              f"ratio {t_plain / t_fim:.2f}× (bar ≥ 0.80×)")


if __name__ == "__main__":
    main()
