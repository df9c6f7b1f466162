"""`tokenprism explain "def add(a, b):"` on prism-tiny, whole process: the numpy engine (the default)
vs the torch engine (transformers), side by side in one run. Goal: numpy ≥ 5× faster. Also reports the
numpy run's absolute wall time (bar: ≤ 1.0 s on the 2-core CI machine) and checks it imports no torch.

    python benchmarks/bench_explain.py
"""

from __future__ import annotations

import compileall
import subprocess
import sys

from _common import REPO, best_of, machine

ARGS = ["explain", "def add(a, b):"]


def run(engine: str) -> None:
    subprocess.run([sys.executable, "-m", "tokenprism", *ARGS, "--engine", engine], check=True, capture_output=True)


def imports_torch() -> bool:
    code = "import sys; from tokenprism.cli import main; main(%r); print('torch' in sys.modules)" % (ARGS,)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1] == "True"


def main() -> None:
    compileall.compile_dir(REPO / "src" / "tokenprism", quiet=1)  # as after pip install
    run("numpy"), run("torch")  # warm the page cache for both
    numpy_s = best_of(lambda: run("numpy"), repeat=7)
    torch_s = best_of(lambda: run("torch"), repeat=5)
    print(f"# explain on prism-tiny, whole process, median of runs  ({machine()})")
    print(f"{'engine':10}{'wall':>10}")
    print(f"{'numpy':10}{numpy_s * 1000:8.0f}ms")
    print(f"{'torch':10}{torch_s * 1000:8.0f}ms")
    speedup = torch_s / numpy_s
    print(f"numpy engine {speedup:.1f}x faster (goal ≥ 5x: {'PASS' if speedup >= 5 else 'FAIL'}); "
          f"numpy wall {numpy_s:.2f}s (bar ≤ 1.0 s: {'PASS' if numpy_s <= 1.0 else 'FAIL'}); "
          f"imports torch: {imports_torch()}")


if __name__ == "__main__":
    main()
