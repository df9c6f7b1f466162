"""The logit lens over every layer and position vs one plain forward pass on the same model and prompt,
in one run: prism-tiny on the numpy engine, and the random GPT-2 fixture on transformers (torch).

Goal: ≤ 1.5× the plain pass (which scores only the next token). A full-vocabulary lens cannot get there
on every model: it reads every layer at every position, so it does at least the pass with every
position's logits plus `layers` more head products (the last layer's are the pass's own). Where the head
is a large part of the pass (prism-tiny: an 8192-row head on a 256-wide, 4-layer model; the GPT-2
fixture: a 50257-row head on a 2-wide, 1-layer one) that floor alone is far above the goal, so each
model also shows the floor measured in the same run (those matrix products, bare: no softmax, no
top-k) and the lens's ratio to it, what the lens costs beyond the maths it cannot skip. The last
position alone (`--positions last`, the next-token guess, what `explain --inside` reads) is the case
the goal fits.

The three are timed in turns (lens, pass, floor, lens, pass, …) and the medians compared, so that a
busy machine slows all of them alike; one BLAS/torch thread on both sides, as in bench_llama_engine.py.

    python benchmarks/bench_lens.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read once, when numpy and torch load

import statistics  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from _common import fixture, report  # noqa: E402

PROMPT = ("import os\n\n\ndef main(argv):\n    \"\"\"Print every file under the folders given.\"\"\"\n"
          "    for folder in argv:\n        for name in sorted(os.listdir(folder)):\n            print(name)\n")


def rows_for(model, label: str) -> list[tuple[str, float, float, str]]:
    import numpy as np

    from tokenprism import lens

    ids = model.tokenizer.encode(PROMPT).ids
    inside = model.internals(ids)
    layers = len(inside.hidden_states) - 1

    def plain() -> None:
        model.forward(ids, use_cache=False)

    def floor() -> None:  # the pass keeping every layer and position's logits, then every other layer's head (bare)
        model.internals(ids)
        for hidden in inside.hidden_states[:-1]:
            model.unembed(hidden)

    every, last, anchor, bottom = in_turns([lambda: lens(PROMPT, model=model), lambda: lens(PROMPT, model=model, positions="last"),
                                            plain, floor], repeat=15)
    name = f"{label} ({len(ids)} tokens, {layers} layers, vocab {np.shape(inside.logits)[-1]:,})"
    return [
        (f"{name}: lens, all", every, anchor, "one forward pass"),
        (f"{name}: lens, all", every, bottom, "pass + head per layer"),
        (f"{name}: lens, last", last, anchor, "one forward pass"),
    ]


def in_turns(cases: list[Callable[[], object]], *, repeat: int) -> list[float]:
    """Median wall time of each case, the cases run one after the other `repeat` times (after one warm-up)."""
    times: list[list[float]] = [[] for _ in cases]
    for n in range(repeat + 1):
        for case, kept in zip(cases, times):
            start = time.perf_counter()
            case()
            if n:
                kept.append(time.perf_counter() - start)
    return [statistics.median(kept) for kept in times]


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from tokenprism import load_model

    rows = rows_for(load_model("prism-tiny"), "prism-tiny numpy")
    rows += rows_for(load_model(str(fixture("models/fake-gpt2-random-tiny")), engine="torch", device="cpu"), "fake GPT-2 torch")
    report("logit lens over every layer and position vs a plain forward pass", rows,
           bar="lens ≤ 1.5× one forward pass (goal); where the head dominates, see the ratio to 'pass + head per layer'")


if __name__ == "__main__":
    main()
