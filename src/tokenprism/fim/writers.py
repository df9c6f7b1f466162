"""Where FIM training data goes: one text file, one JSONL file, or a folder of token-id .npy shards.

Every writer takes batches of outputs (strings, or id lists for "ids") with `write` and returns a
summary from `close`; `WRITERS` is the table the CLI's --format offers.

>>> pick_format("fim.jsonl"), pick_format("shards/"), pick_format("x.txt", requested="ids")
('jsonl', 'ids', 'ids')
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import UsageError

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["TextWriter", "JsonlWriter", "IdsWriter", "WRITERS", "pick_format", "open_writer"]

#: Output file suffixes that choose a format by themselves (anything else is a folder of shards).
_SUFFIXES = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class TextWriter:
    """The transformed stream as one text file (each output already ends with its EOT where due)."""

    format = "text"

    def __init__(self, path: Path, **_: Any) -> None:
        self.path, self.count = path, 0
        self.fh = _open_for_writing(path)

    def _line(self, out: str) -> str:
        return out

    def write(self, outputs: list) -> None:
        self.fh.writelines(self._line(o) for o in outputs)
        self.count += len(outputs)

    def close(self, *, meta: dict[str, Any]) -> dict[str, Any]:
        self.fh.close()
        return {"output": str(self.path), "format": self.format, "outputs": self.count, **meta}


class JsonlWriter(TextWriter):
    """One JSON object per output, the text under `field`."""

    format = "jsonl"

    def __init__(self, path: Path, *, field: str, **_: Any) -> None:
        super().__init__(path)
        self.field = field

    def _line(self, out: str) -> str:
        return json.dumps({self.field: out}, ensure_ascii=False) + "\n"


class IdsWriter:
    """Token ids as a flat stream in .npy shards of `shard_tokens` ids (uint16 where every id fits,
    else uint32), plus meta.json describing how they were made."""

    format = "ids"

    def __init__(self, path: Path, *, tokenizer: Tokenizer, shard_tokens: int, **_: Any) -> None:
        import numpy as np

        self.np, self.path, self.tok, self.shard_tokens = np, path, tokenizer, shard_tokens
        self.dtype = np.uint16 if tokenizer.vocab_size < 65536 else np.uint32
        self.pending: list[list[int]] = []
        self.pending_tokens = self.count = self.tokens = 0
        self.shards: list[dict[str, Any]] = []
        _make_folder(path)

    def write(self, outputs: list) -> None:
        self.pending.extend(outputs)
        self.pending_tokens += sum(map(len, outputs))
        self.count += len(outputs)
        while self.pending_tokens >= self.shard_tokens:
            self._flush(self.shard_tokens)

    def _flush(self, size: int) -> None:
        np = self.np
        stream = np.concatenate([np.asarray(ids, dtype=self.dtype) for ids in self.pending])
        name = f"shard-{len(self.shards):05d}.npy"
        np.save(self.path / name, stream[:size])
        self.shards.append({"file": name, "tokens": int(min(size, len(stream)))})
        rest = stream[size:]
        self.pending, self.pending_tokens = ([rest.tolist()] if len(rest) else []), len(rest)
        self.tokens += self.shards[-1]["tokens"]

    def close(self, *, meta: dict[str, Any]) -> dict[str, Any]:
        if self.pending_tokens:
            self._flush(self.pending_tokens)
        summary = {"output": str(self.path), "format": self.format, "outputs": self.count, "tokens": self.tokens,
                   "tokenizer": self.tok.name, "vocab_size": self.tok.vocab_size, "dtype": self.np.dtype(self.dtype).name,
                   "shards": self.shards, **meta}
        (self.path / "meta.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return summary


#: Output format → its writer.
WRITERS: dict[str, type[TextWriter] | type[IdsWriter]] = {"text": TextWriter, "jsonl": JsonlWriter, "ids": IdsWriter}


def pick_format(output: str | Path, *, requested: str = "auto") -> str:
    """The format to write: `requested`, or for "auto" the one `output`'s suffix names (.txt text,
    .jsonl JSONL, anything else a folder of token-id shards)."""
    if requested == "auto":
        return _SUFFIXES.get(Path(output).suffix.lower(), "ids")
    if requested not in WRITERS:
        raise UsageError(f"unknown output format {requested!r}: use auto, {', '.join(WRITERS)}")
    return requested


def open_writer(fmt: str, path: Path, *, field: str = "text", tokenizer: Tokenizer | None = None,
                shard_tokens: int = 1 << 26) -> TextWriter | IdsWriter:
    """A writer of format `fmt` at `path` ("ids" needs the `tokenizer` the ids come from).

    >>> import tempfile
    >>> writer = open_writer("jsonl", Path(tempfile.mkdtemp()) / "out.jsonl")
    >>> writer.write(["a<EOT>", "b<EOT>"])
    >>> writer.close(meta={})["outputs"]
    2
    """
    if fmt == "ids" and tokenizer is None:
        raise UsageError("token-id output needs the tokenizer to encode with: pass a tokenizer (-t SPEC)")
    return WRITERS[fmt](path, field=field, tokenizer=tokenizer, shard_tokens=shard_tokens)


def _open_for_writing(path: Path) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by the writer
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another -o") from None


def _make_folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; token ids go to a folder of .npy shards (or use -o out.jsonl / out.txt)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
