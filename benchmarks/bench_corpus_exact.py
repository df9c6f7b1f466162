"""`tokenprism corpus` is exact on a long file, in bounded memory: a generated file of 200 MB, read in
parts cut only where every tokenizer's ids stay exact (tokenizers/cuts.py), against whole-file counts.

The file: the eight English Gutenberg books and the Chinese and Japanese novels of ../shared/fixtures,
copy after copy, each copy changed the way real files differ (CRLF line ends, lines indented with
spaces and tabs, runs of spaces between words, blank-line runs): what byte-level pre-tokenizers group
differently when a text is cut at the wrong place.

For cl100k_base and GPT-2 (its vocab.json + merges.txt, through tokenizers), in one corpus run:
  corpus  corpus_stats(read_corpus(file)) in a child process: token totals, wall time, peak memory
  count   `tokenprism count` (cl100k: tiktoken on the whole file in one call)
  whole   the reference library on the whole file in one call: tiktoken for cl100k; for GPT-2, OpenAI's
          own GPT-2 encoding (tiktoken's "gpt2", built from the same two files, whose sha256 it checks),
          since tokenizers needs ~12 GB and minutes per 100 MB in one text
The bar: all equal to the token; corpus's peak memory does not grow with the file.

    python benchmarks/bench_corpus_exact.py              # 200 MB: about 10 minutes on 2 cores
    python benchmarks/bench_corpus_exact.py --mb 20      # a quicker look
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import fixture, machine

GPT2 = fixture("tokenizers/gpt2")
CL100K = fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken")


def variants(text: str) -> list[str]:
    """The same text as files differ: as found, CRLF, indented, spaced out, blank lines doubled."""
    lines = text.split("\n")
    return [
        text,
        text.replace("\r\n", "\n").replace("\n", "\r\n"),
        "\n".join(("    " * (i % 3) + ("\t" if i % 7 == 0 else "") + line) for i, line in enumerate(lines)),
        re.sub(r"(\w) (\w)", r"\1  \2", text).replace(".\n", ".   \n"),
        re.sub(r"\n\n", "\n\n\n \n", text),
    ]


def generate(path: Path, megabytes: int) -> None:
    sources = [p.read_text(encoding="utf-8") for p in sorted(fixture("corpus/english").glob("*.txt"))]
    sources += [p.read_text(encoding="utf-8") for p in (fixture("corpus/zh"), fixture("corpus/ja")) for p in sorted(p.glob("*.txt"))]
    target, written, copy = megabytes * 1_000_000, 0, 0
    with open(path, "wb") as fh:
        while written < target:
            for source in sources:
                data = variants(source)[copy % 5].encode("utf-8")
                fh.write(data[: target - written])
                written += min(len(data), target - written)
                if written >= target:
                    break
            copy += 1


CHILD = """
import json, resource, sys, time
from tokenprism.corpus import corpus_stats, read_corpus
start = time.perf_counter()
stats = corpus_stats(read_corpus([sys.argv[1]]), sys.argv[2:])
print(json.dumps({"tokens": {n: stats.row(n).tokens for n in stats.tokenizers}, "seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COUNT = """
import json, sys
from pathlib import Path
from tokenprism import load_tokenizer
from tokenprism.count import count_paths
print(json.dumps(count_paths(load_tokenizer(sys.argv[2]), [Path(sys.argv[1])]).total))
"""


def child(script: str, *args: str) -> object:
    out = subprocess.run([sys.executable, "-c", script, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def whole_counts(path: Path) -> dict[str, int]:
    """The reference libraries on the whole file, one call each."""
    import tiktoken
    import tiktoken_ext.openai_public as public
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks, load_tiktoken_bpe

    text = path.read_bytes().decode("utf-8")
    ranks = data_gym_to_mergeable_bpe_ranks(  # OpenAI's own GPT-2, from the fixture's two files
        vocab_bpe_file=str(GPT2 / "merges.txt"), encoder_json_file=str(GPT2 / "vocab.json"),
        vocab_bpe_hash="1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        encoder_json_hash="196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783")
    gpt2 = tiktoken.Encoding(name="gpt2", pat_str=public.r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})
    cl100k = _cl100k(public, load_tiktoken_bpe(str(CL100K)))
    return {"gpt2": len(gpt2.encode_to_numpy(text, allowed_special="all")),
            "cl100k": len(cl100k.encode_to_numpy(text, allowed_special="all"))}


def _cl100k(public, ranks):
    """tiktoken's own cl100k_base constructor, given the fixture's ranks instead of a download."""
    import tiktoken

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    try:
        return tiktoken.Encoding(**public.cl100k_base())
    finally:
        public.load_tiktoken_bpe = original


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    print(f"# corpus exactness on a {args.mb} MB file ({machine()})")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.txt"
        generate(path, args.mb)
        print(f"generated {path.stat().st_size:,} bytes")
        start = time.perf_counter()
        ran = child(CHILD, str(path), str(GPT2), str(CL100K))
        print(f"corpus: {ran['tokens']} in {ran['seconds']:.0f}s, peak memory {ran['peak_mb']:.0f} MB")
        count = child(COUNT, str(path), str(CL100K))
        print(f"count (cl100k): {count:,}")
        whole = whole_counts(path)
        print(f"whole file, reference libraries: {whole}  ({time.perf_counter() - start:.0f}s in all)")
        ours = {"gpt2": ran["tokens"][str(GPT2)], "cl100k": ran["tokens"][str(CL100K)]}
        same = ours == whole and count == whole["cl100k"]
        print(f"corpus = count = whole file: {'yes' if same else 'NO'}  {ours}")
        print("bar: equal to the token; corpus's peak memory independent of the file's size")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
