"""The live table of `tokenprism generate -n 200` on a terminal vs the same command piped, whole
process, side by side in one run. Bar: terminal ≤ 1.10× piped (the table is redrawn a few times a
second from the steps so far, never once per token).

The terminal is a real pseudo-terminal (pty) of 120 × 40; its output is read and thrown away.

    python benchmarks/bench_live_table.py
"""

from __future__ import annotations

import compileall
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

from _common import REPO, machine

ARGS = [sys.executable, "-m", "tokenprism", "generate", "def main():", "-n", "200", "--temperature", "1", "--seed", "3"]
ENV = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}


def on_terminal() -> float:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(ARGS, stdin=follower, stdout=follower, stderr=follower, env=ENV, close_fds=True)
    os.close(follower)
    while True:  # drain the terminal, as a terminal emulator would
        try:
            if not os.read(leader, 65536):
                break
        except OSError:
            break
    proc.wait()
    elapsed = time.perf_counter() - start
    os.close(leader)
    assert proc.returncode == 0
    return elapsed


def piped() -> float:
    start = time.perf_counter()
    subprocess.run(ARGS, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    compileall.compile_dir(REPO / "src" / "tokenprism", quiet=1)
    piped(), on_terminal()  # warm-up
    pairs = [(on_terminal(), piped()) for _ in range(5)]  # interleaved: a busy machine slows both alike
    terminal = min(t for t, _ in pairs)
    pipe = min(p for _, p in pairs)
    ratio = terminal / pipe
    print(f"# generate -n 200 on prism-tiny: live table on a terminal vs piped, whole process  ({machine()})")
    print(f"terminal (pty 120x40) {terminal * 1000:8.0f}ms   piped {pipe * 1000:8.0f}ms   (best of 5 interleaved)")
    print(f"ratio terminal/piped: {ratio:.3f}x   (bar ≤ 1.10x: {'PASS' if ratio <= 1.10 else 'FAIL'})")


if __name__ == "__main__":
    main()
