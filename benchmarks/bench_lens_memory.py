"""Peak memory (and time) of the logit lens on a model of Llama-3.2-1B's shape vs one plain forward pass,
on a prompt of exactly 100 tokens: issue 17's "a 1B-parameter model's lens on a 100-token prompt fits in
the memory the forward pass needs plus a few percent". Bar: peak of the lens ≤ the forward's + 5 %.

The model is built in memory from a transformers `LlamaConfig` (hidden 2048, 16 layers, 32 heads, 8
key/value heads, MLP 8192, vocabulary 128,256, tied embeddings, float32: 1.24 B parameters, ~4.9 GB),
its weights left uninitialised and then filled with small normal values (random, never NaN): nothing
is downloaded or written. Its tokenizer is the real cl100k_base (the fixture's ranks file), whose ids
all fit the vocabulary.

Four cases, each in its own fresh process, one after the other (two 5 GB processes at once would not
fit a small machine, and one process's peak must not carry into the next):

    built         the model built, nothing run: what every case pays for the weights
    forward       + `model.forward(ids, use_cache=False)` (the next-token logits only)
    lens, all     + `tokenprism.lens(prompt, model=model)`: every layer × every position
    lens, last    + `lens(prompt, model=model, positions="last")`

Each child runs its case twice (the second shows whether freed memory is reused, as in a notebook that
keeps the model) and reports its peak resident memory as VmHWM from /proc/self/status, read once after
the build and once at the end (the difference: what the pass added on top of the weights). Not
ru_maxrss: for a child, getrusage can report a peak inherited across fork + exec from the parent, so a
big parent would hide the child's own figure. Times come from one more process that runs the three
passes in turns (forward, lens all, lens last, forward, …; medians after a warm-up round), so that a
busy machine slows them alike; torch's default threads. Last, the arithmetic floor (multiply-adds) of
a full-vocabulary lens against one pass shows where issue 17's ≤ 1.5× time goal stands on a real-size
model: the lens must unembed every layer at every position, `layers` × `positions` more head products,
which a 128k-row head makes far bigger than the body of the model (5.56× the pass's multiply-adds).

Measured (2 cores, float32): lens over every layer × position 1.026× the forward's peak (+176 MB on
5.1 GB of weights, the forward +44 MB), the last position 1.005×; it was 1.042× (+262 MB) before the
lens reused its per-layer arrays (same-size chunks, no copy for top-k, each layer's logits freed before
the next head product). Time: every layer × position 9.9× the pass (the floor: 5.56×; the head read
25 rows a call, the lens's memory budget, runs at about half the speed of 100 rows a call); the last
position 1.09×, within the goal.

    python benchmarks/bench_lens_memory.py            # 5 processes of ~5.3 GB, one at a time: ~2.5 min idle
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import FIXTURES, fixture, machine, report  # noqa: E402

os.environ.setdefault("TOKENPRISM_TIKTOKEN_DIR", str(FIXTURES / "tokenizers" / "openai-tiktoken"))

TOKENS = 100
CASES = ("built", "forward", "lens, all", "lens, last")
#: Llama-3.2-1B's config.json, the fields that set its shape and its maths.
LLAMA_3_2_1B = dict(
    vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
    num_key_value_heads=8, head_dim=64, max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
    hidden_act="silu", bos_token_id=128000, eos_token_id=128001,
    rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "high_freq_factor": 4.0,
                     "low_freq_factor": 1.0, "original_max_position_embeddings": 8192},
)


# --- in the child: build, run one case, report -------------------------------------------------------
def peak_kb() -> int:
    """This process's peak resident set (VmHWM), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status: this benchmark needs Linux")


def build_model() -> Any:
    """A random-weight Llama-3.2-1B-shaped model behind tokenprism's `Model` protocol (torch engine)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.initialization import no_init_weights

    from tokenprism import load_tokenizer
    from tokenprism.models.auto import TorchModel

    config = LlamaConfig(**LLAMA_3_2_1B)
    with no_init_weights():  # torch.empty everywhere: no page is touched until filled below
        module = LlamaForCausalLM(config).to(torch.float32).eval()
    module.tie_weights()  # init_weights, which ties them, was skipped with the rest
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in module.named_parameters():  # the tied head is the embeddings: filled once
            if p.dim() > 1:
                p.normal_(0.0, 0.02, generator=generator)
            else:
                p.fill_(1.0)  # the RMSNorm weights
    if module.get_output_embeddings().weight.data_ptr() != module.get_input_embeddings().weight.data_ptr():
        raise SystemExit("the head is not tied to the embeddings: the model would be 0.26 B parameters too big")
    tokenizer = load_tokenizer("cl100k_base")
    return TorchModel(module, tokenizer, name="random Llama-3.2-1B shape", path=Path("llama-3.2-1b-random"), weights="random")


def prompt_of(tokenizer: Any, tokens: int) -> str:
    """Real English text (Emma) that cl100k_base encodes to exactly `tokens` ids."""
    text = fixture("corpus/english/austen-emma.txt").read_text(encoding="utf-8")[5000:12000]
    ids = tokenizer.encode(text).ids
    for n in range(tokens, tokens + 20):  # a cut inside a word can re-encode differently: cut a little later
        prompt = tokenizer.decode(ids[:n])
        if len(tokenizer.encode(prompt).ids) == tokens:
            return prompt
    raise SystemExit(f"no cut of the text encodes to exactly {tokens} tokens")


def cases(model: Any) -> dict[str, Callable[[], object]]:
    """Each case's work on the built model, over the same 100-token prompt."""
    from tokenprism import lens
    from tokenprism.inside.prompt import prompt_ids

    prompt = prompt_of(model.tokenizer, TOKENS)
    ids, _ = prompt_ids(model, prompt)  # the ids the lens reads: the forward pass reads the same
    if len(ids) != TOKENS:
        raise SystemExit(f"the prompt reaches the model as {len(ids)} ids, not {TOKENS}")
    return {
        "built": lambda: None,
        "forward": lambda: model.forward(ids, use_cache=False),
        "lens, all": lambda: lens(prompt, model=model),
        "lens, last": lambda: lens(prompt, model=model, positions="last"),
    }


def run_case(case: str, *, runs: int) -> dict[str, Any]:
    """Peak memory of one case: the model built, then the case's work `runs` times (a second run shows
    whether freed memory is reused, as in a notebook or the web page that keeps the model)."""
    start = time.perf_counter()
    model = build_model()
    facts = {"build_s": time.perf_counter() - start, "built_kb": peak_kb(), "parameters": model.num_parameters}
    work = cases(model)[case]  # the prompt (a few kB): after the build's figure, before the case's
    for _ in range(runs if case != "built" else 0):
        work()
    return {**facts, "peak_kb": peak_kb()}


def run_times(*, repeat: int) -> dict[str, float]:
    """Median wall time of each case in one process, the cases in turns (forward, lens all, lens last,
    forward, …, after one warm-up round), so that a busy machine slows them alike."""
    work = cases(build_model())
    if not np.isfinite(work["forward"]()[0]).all():  # type: ignore[index]
        raise SystemExit("the random model's logits are not finite")
    times: dict[str, list[float]] = {case: [] for case in CASES[1:]}
    for n in range(repeat + 1):
        for case, kept in times.items():
            start = time.perf_counter()
            work[case]()
            if n:
                kept.append(time.perf_counter() - start)
    return {case: statistics.median(kept) for case, kept in times.items()}


# --- in the parent: run the cases one after another, print ------------------------------------------
def child(*args: str) -> Any:
    """Run this script with `args` in a fresh process; its last line of output, as JSON."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def multiply_adds(config: dict[str, Any], tokens: int) -> dict[str, float]:
    """The arithmetic floor, in multiply-adds: the body over `tokens` positions (projections, MLP, causal
    attention), and one head product (one position's logits)."""
    hidden, layers, inter = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    heads, kv, dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    per_token = layers * (2 * hidden * heads * dim + 2 * hidden * kv * dim + 3 * hidden * inter)
    attention = layers * heads * dim * 2 * tokens * (tokens + 1) // 2  # scores and weighted sum, causal
    return {"body": float(per_token * tokens + attention), "head": float(hidden * config["vocab_size"]), "layers": layers}


def print_memory(rows: dict[str, dict[str, Any]]) -> None:
    forward = rows["forward"]["peak_kb"]
    print(f"{'case':40} {'peak':>10} {'built':>10} {'added':>10} {'vs forward':>10}")
    for case, r in rows.items():
        added = r["peak_kb"] - r["built_kb"]
        print(f"{case:40} {r['peak_kb']/1024:8.0f}MB {r['built_kb']/1024:8.0f}MB {added/1024:8.1f}MB {r['peak_kb']/forward:9.3f}x")


def print_floor(tokens: int) -> None:
    f = multiply_adds(LLAMA_3_2_1B, tokens)
    body, head, layers = f["body"], f["head"], int(f["layers"])
    floors = [  # (what, multiply-adds)
        ("forward (next-token logits only)", body + head),
        ("forward, every position's logits", body + tokens * head),
        (f"lens, all ({layers}+1 heads × {tokens} positions)", body + (layers + 1) * tokens * head),
        (f"lens, last ({layers}+1 heads × 1 position)", body + (layers + 1) * head),
    ]
    print(f"# arithmetic floor, {tokens} tokens: body {body/1e9:.1f} G multiply-adds, one head product {head/1e9:.3f} G")
    for what, macs in floors:
        print(f"{what:40} {macs/1e9:9.1f}G {macs/floors[0][1]:6.2f}x  forward (next-token logits only)")
    print("goal (issue 17): lens ≤ 1.5× one forward pass — out of reach for every layer × position on a 128k-row head; "
          "within it for the last position")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=CASES, help="(internal) one case's peak memory, in this process, as JSON")
    parser.add_argument("--times", action="store_true", help="(internal) every case's time, in this process, as JSON")
    parser.add_argument("--runs", type=int, default=2, help="runs of each case's work for its peak memory")
    parser.add_argument("--repeat", type=int, default=2, help="timed rounds after the warm-up (median)")
    args = parser.parse_args()
    if args.case or args.times:
        print(json.dumps(run_case(args.case, runs=args.runs) if args.case else run_times(repeat=args.repeat)))
        return
    rows = {}
    for case in CASES:
        rows[case] = child("--case", case, "--runs", str(args.runs))
        print(f"  {case}: peak {rows[case]['peak_kb']/1024:.0f} MB (build {rows[case]['build_s']:.1f} s)", file=sys.stderr, flush=True)
    seconds = child("--times", "--repeat", str(args.repeat))
    params = rows["built"]["parameters"]
    print(f"# logit lens vs a plain forward pass: peak memory (VmHWM, one fresh process per case)  ({machine()})")
    print(f"# model: random weights in Llama-3.2-1B's shape, {params/1e9:.2f} B parameters, float32; {TOKENS} tokens (cl100k_base)")
    print_memory(rows)
    lens_peak = rows["lens, all"]["peak_kb"] / rows["forward"]["peak_kb"]
    print(f"bar: peak of the lens ≤ the forward's + 5 %  →  lens, all {lens_peak:.3f}x  "
          f"({'met' if lens_peak <= 1.05 else 'NOT met'}); lens, last {rows['lens, last']['peak_kb']/rows['forward']['peak_kb']:.3f}x")
    print()
    report(f"logit lens vs a plain forward pass: time ({TOKENS} tokens, default torch threads)",
           [(f"1B-shape: {case}", seconds[case], seconds["forward"], "one forward pass")
            for case in ("lens, all", "lens, last")],
           bar="lens ≤ 1.5× one forward pass (issue 17's goal; see the floor below)")
    print()
    print_floor(TOKENS)


if __name__ == "__main__":
    main()
