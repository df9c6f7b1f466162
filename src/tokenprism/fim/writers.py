"""Where FIM training data goes: one text file, one JSONL file, or a folder of token-id .npy shards.

Every writer takes batches of outputs (strings, or id lists for "ids") with `write` and returns a
summary from `close`; `WRITERS` is the table the CLI's --format offers. Outputs are whole or absent:
a writer writes beside its output, under a name marked partial (fim.partial.jsonl, shards.partial/),
and `close` puts it in the output's place with one rename (a shard folder is replaced as a whole, its
meta.json written last); `abort` removes the partial output, leaving any older one untouched.

>>> pick_format("fim.jsonl"), pick_format("shards/"), pick_format("x.txt", requested="ids")
('jsonl', 'ids', 'ids')
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO

from ..errors import UsageError
from ..files import partial_path, remove_path

if TYPE_CHECKING:
    from ..tokenizers.base import Tokenizer

__all__ = ["TextWriter", "JsonlWriter", "IdsWriter", "WRITERS", "pick_format", "open_writer"]

#: Output file suffixes that choose a format by themselves (anything else is a folder of shards).
_SUFFIXES = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class TextWriter:
    """The transformed stream as one text file (each output already ends with its EOT where due)."""

    format = "text"

    def __init__(self, path: Path, **_: Any) -> None:
        if path.is_dir():
            raise UsageError(f"{path} is a folder; text and JSONL go to a file (or use --format ids for a folder of shards)")
        self.path, self.count = path, 0
        self.partial = partial_path(path)
        self.fh = _open_for_writing(self.partial)

    def _line(self, out: str) -> str:
        return out

    def write(self, outputs: list) -> None:
        with _write_errors(self.path):
            self.fh.writelines(self._line(o) for o in outputs)
        self.count += len(outputs)

    def close(self, *, meta: dict[str, Any]) -> dict[str, Any]:
        with _write_errors(self.path):
            self.fh.close()
            os.replace(self.partial, self.path)
        return {"output": str(self.path), "format": self.format, "outputs": self.count, **meta}

    def abort(self) -> None:
        """Give up: the partial file goes, an older output at `path` stays as it was."""
        with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
            self.fh.close()
        remove_path(self.partial)


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
        _check_shard_folder(path)
        self.partial = partial_path(path)
        remove_path(self.partial)  # what a killed run left
        _make_folder(self.partial)

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
        with _write_errors(self.path):
            np.save(self.partial / name, stream[:size])
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
        with _write_errors(self.path):
            (self.partial / "meta.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            _replace_folder(self.partial, self.path)
        return summary

    def abort(self) -> None:
        """Give up: the partial folder goes, an older output at `path` stays as it was."""
        remove_path(self.partial)


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


@contextlib.contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}; free some space or choose another -o") from None


def _check_shard_folder(path: Path) -> None:
    """Shards replace a folder as a whole: refuse a file, or a folder holding anything but our own
    earlier output (shard-*.npy and meta.json), which replacing it would delete."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; token ids go to a folder of .npy shards (or use -o out.jsonl / out.txt)")
    if path.is_dir():
        foreign = [p.name for p in path.iterdir() if p.name != "meta.json" and not (p.name.startswith("shard-") and p.suffix == ".npy")]
        if foreign:
            raise UsageError(f"{path} holds other files ({foreign[0]}, …) that replacing it would delete; "
                             "token ids go to a new folder, an empty one, or one fim-transform wrote before")


def _replace_folder(new: Path, final: Path) -> None:
    """`new` takes `final`'s place: the old folder is moved aside, the new one renamed in, the old one removed."""
    old = final.with_name(f"{final.name}.old")
    remove_path(old)
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    remove_path(old)


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
