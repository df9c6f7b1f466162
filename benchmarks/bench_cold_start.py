"""Cold start: `tokenprism tokenize --json` on a 1 KB text vs a bare script doing the same with the
underlying library (load, encode, print ids/tokens/offsets as JSON). Bar: ≤ 1.3×.

Both sides run with their bytecode compiled, as after `pip install` (which writes it for every module)
or any first run: an editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile
tokenprism from source on every start (≈ 10 ms), while the anchor's modules come precompiled."""

from __future__ import annotations

import compileall
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, best_of, fixture, report

BARE = """
import json
from tokenizers import Tokenizer
tok = Tokenizer.from_file({path!r})
text = open({text!r}, encoding="utf-8").read()
enc = tok.encode(text)
print(json.dumps({{"ids": enc.ids, "tokens": enc.tokens, "offsets": enc.offsets}}))
"""


def main() -> None:
    compileall.compile_dir(REPO / "src" / "tokenprism", quiet=1)
    tmp = Path(tempfile.mkdtemp())
    text = tmp / "1k.txt"
    text.write_text(("The quick brown fox jumps over the lazy dog. def f(x): return x * 2\n" * 16)[:1024])
    rows = []
    for name in ("starcoder2", "phi-3-mini"):
        path = fixture(f"tokenizers/{name}/tokenizer.json")
        bare = tmp / f"bare_{name}.py"
        bare.write_text(BARE.format(path=str(path), text=str(text)))
        ours = best_of(lambda: subprocess.run([sys.executable, "-m", "tokenprism", "tokenize", "--json", "--file", str(text), "-t", str(path)], check=True, capture_output=True), repeat=7)
        anchor = best_of(lambda: subprocess.run([sys.executable, str(bare)], check=True, capture_output=True), repeat=7)
        rows.append((f"tokenize --json 1 KB ({name})", ours, anchor, "bare tokenizers script"))
    report("cold start", rows, bar="ratio ≤ 1.3")


if __name__ == "__main__":
    main()
