"""Shared by the benchmark scripts: where fixtures are, how to time, how to print."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


def fixture(relative: str) -> Path:
    path = FIXTURES / relative
    if not path.exists():
        raise SystemExit(f"fixture {relative} not found: ../shared/fixtures must lie beside the repo")
    return path


def best_of(fn: Callable[[], object], *, repeat: int = 5) -> float:
    """Median wall time of `repeat` runs (seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(title: str, rows: list[tuple[str, float, float, str]], *, bar: str) -> None:
    """rows: (case, ours_seconds, anchor_seconds, anchor_name)."""
    print(f"# {title}  ({machine()})")
    print(f"{'case':40} {'ours':>10} {'anchor':>10} {'ratio':>7}  anchor")
    for case, ours, anchor, name in rows:
        print(f"{case:40} {ours*1000:9.1f}ms {anchor*1000:9.1f}ms {ours/anchor:6.2f}x  {name}")
    print(f"bar: {bar}")
