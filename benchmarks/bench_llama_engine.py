"""The numpy Llama engine (models/llama.py) vs transformers' greedy `generate()` on prism-tiny, in one run:
time per generated token (greedy loop with the KV cache, 200 tokens after the same prompt, no EOS stop),
and, beside it, the time to load the model from its folder (imports excluded).

Bar: ≤ 1.0× transformers' time per token.

    python benchmarks/bench_llama_engine.py                 # one BLAS/torch thread on both sides
    python benchmarks/bench_llama_engine.py --threads 0     # each library's own default
"""

from __future__ import annotations

import argparse
import os
import sys

# Thread counts must be set before numpy or torch is imported: OpenBLAS reads them once, at load.
_threads = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), None)
if _threads is None and "--threads" in sys.argv[:-1]:
    _threads = sys.argv[sys.argv.index("--threads") + 1]
if (_threads or "1") != "0":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads or "1"

import statistics  # noqa: E402
import time  # noqa: E402

from _common import REPO, machine  # noqa: E402

PRISM = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"
PROMPT = "import os\n\n\ndef main():\n"


def ours(engine, ids: list[int], n: int) -> tuple[float, list[int]]:
    """Greedy decoding with the cache: one pass over the prompt, then one call per new token."""
    start = time.perf_counter()
    step = engine.forward(ids)
    out = []
    for _ in range(n):
        out.append(int(step.logits.argmax()))
        if len(out) < n:
            step = engine.forward([out[-1]], step.cache)
    return time.perf_counter() - start, out


def anchor(model, ids: list[int], n: int) -> tuple[float, list[int]]:
    """transformers' greedy generate() for exactly n tokens (eos_token_id=[]: no stop id)."""
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=[], pad_token_id=0)
    start = time.perf_counter()
    out = model.generate(torch.tensor([ids]), generation_config=config)
    elapsed = time.perf_counter() - start
    assert out.shape[1] == len(ids) + n
    return elapsed, out[0, len(ids):].tolist()


def load_times(repeat: int) -> tuple[float, float]:
    """(numpy engine, transformers) seconds from folder to a ready model, quietest of `repeat`."""
    import torch
    from transformers import AutoModelForCausalLM

    from tokenprism.models.llama import LlamaEngine

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    numpy_times, torch_times = [], []
    for _ in range(repeat):
        numpy_times.append(timed(lambda: LlamaEngine.from_folder(PRISM)))
        torch_times.append(timed(lambda: AutoModelForCausalLM.from_pretrained(PRISM, dtype=torch.float32)))
    return min(numpy_times), min(torch_times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=200, help="new tokens per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and torch threads for both sides (0: each library's default). One by default: "
                             "on a shared 2-core machine, multi-threaded timings are dominated by other processes")
    args = parser.parse_args()

    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from tokenprism.models.llama import LlamaEngine

    hf_logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    engine = LlamaEngine.from_folder(PRISM)
    model = AutoModelForCausalLM.from_pretrained(PRISM, dtype=torch.float32).eval()  # its default attention
    ids = Tokenizer.from_file(str(PRISM / "tokenizer.json")).encode(PROMPT).ids
    n = min(args.tokens, engine.context_length - len(ids))
    ours(engine, ids, 8), anchor(model, ids, 8)  # warm-up: first calls allocate
    our_runs, anchor_runs = [], []
    for _ in range(args.repeat):  # interleaved, so a busy machine slows both alike
        our_runs.append(ours(engine, ids, n))
        anchor_runs.append(anchor(model, ids, n))
    same = our_runs[0][1] == anchor_runs[0][1]
    # On a shared machine stalls from other processes dominate the spread; the quietest run of each
    # (as timeit reports) is the figure, the medians are printed beside it.
    best, their_best = min(t for t, _ in our_runs), min(t for t, _ in anchor_runs)
    median, their_median = statistics.median(t for t, _ in our_runs), statistics.median(t for t, _ in anchor_runs)

    print(f"# numpy Llama engine vs transformers generate()  ({machine()}, threads: "
          f"{args.threads or 'library defaults'}, torch {torch.get_num_threads()}, numpy {np.__version__})")
    print(f"model: prism-tiny ({engine.num_parameters:,} parameters, float32); prompt {len(ids)} tokens; "
          f"{n} new tokens, greedy; best of {args.repeat} interleaved runs; same ids: {'yes' if same else 'NO'}")
    print(f"{'':34}{'total':>10}{'per token':>12}{'median run':>13}")
    for name, total, mid in (("numpy engine (greedy, KV cache)", best, median),
                             ("transformers generate() greedy", their_best, their_median)):
        print(f"{name:34}{total * 1000:9.1f}ms{total / n * 1000:10.3f}ms{mid * 1000:11.1f}ms")
    ratio = best / their_best
    print(f"ratio numpy/generate() per token: {ratio:.3f}x   (bar ≤ 1.0x: {'PASS' if ratio <= 1.0 else 'FAIL'}; "
          f"medians: {median / their_median:.3f}x)")
    ours_load, their_load = load_times(args.repeat)
    print(f"load from the folder (imports excluded): numpy {ours_load * 1000:.1f}ms, "
          f"transformers {their_load * 1000:.1f}ms, ratio {ours_load / their_load:.3f}x")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
