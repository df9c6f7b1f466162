"""Token counts of files and folders: `tokenprism count`.

Small files are read whole and encoded in batches; a file above `files.STREAM_BYTES` is read block
by block and counted a part at a time (`streamed.count_blocks`), so memory stays bounded whatever
the files' sizes. Only regular files are read; what is skipped is reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import UsageError
from .files import STREAM_BYTES, TextBlocks, iter_files, read_text_file
from .tokenizers.base import Tokenizer
from .tokenizers.fast import checked_ids

__all__ = ["FileCount", "CountReport", "count_paths"]


@dataclass(frozen=True)
class FileCount:
    path: str
    tokens: int
    characters: int
    invalid_utf8: int = 0


@dataclass
class CountReport:
    tokenizer: str
    files: list[FileCount] = field(default_factory=list)
    skipped_binary: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    #: (path, why) for what was not read: FIFOs, devices, symlinks out of the folder, bad .gitignore lines
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: the engine that produced the counts (tokenizers/fast.py: the library itself, or a verified fast one)
    ids_engine: str = ""

    @property
    def total(self) -> int:
        return sum(f.tokens for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.tokenizer,
            "total": self.total,
            "files": [f.__dict__ for f in self.files],
            "skipped_binary": self.skipped_binary,
            "unreadable": self.unreadable,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "ids_engine": self.ids_engine,
        }


#: Characters of small files held before they are encoded together.
_PENDING_CHARS = 8 << 20


def count_paths(tokenizer: Tokenizer, paths: list[Path], *, respect_gitignore: bool = True, batch: int = 256) -> CountReport:
    """Count tokens (without added BOS/EOS) of every text file under `paths`.

    >>> count_paths(load_tokenizer("gpt2"), [Path("src")]).total   # doctest: +SKIP
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    report = CountReport(tokenizer.name)
    used = dict(checked_ids(tokenizer).used)  # (to name the engines of this count only)
    pending: list[tuple[Path, str, int]] = []

    def flush() -> None:
        # the library's own encoder, or past a few MB its verified fast engine, spot-checked (tokenizers/fast.py)
        counts = checked_ids(tokenizer).counts([t for _, t, _ in pending])
        for (path, text, bad), n in zip(pending, counts):
            report.files.append(FileCount(str(path), n, len(text), bad))
        pending.clear()

    def skipped(path: Path, reason: str) -> None:
        report.skipped.append((str(path), reason))

    for path in iter_files(paths, respect_gitignore=respect_gitignore, on_skip=skipped):
        try:
            if path.stat().st_size > STREAM_BYTES:
                _count_large(tokenizer, path, report)
                continue
            loaded = read_text_file(path)
        except OSError:
            report.unreadable.append(str(path))
            continue
        if loaded is None:
            report.skipped_binary.append(str(path))
            continue
        pending.append((path, loaded.text, loaded.invalid_utf8))
        if len(pending) >= batch or sum(len(t) for _, t, _ in pending) >= _PENDING_CHARS:
            flush()
    if pending:
        flush()
    ids = checked_ids(tokenizer)
    report.ids_engine = " + ".join(n for n, k in ids.used.items() if k > used.get(n, 0)) or ids.name
    if ids.switched:
        report.ids_engine += f" ({ids.switched})"
    return report


def _count_large(tokenizer: Tokenizer, path: Path, report: CountReport) -> None:
    """One large file, read block by block and counted a part at a time (see streamed.py)."""
    from .streamed import count_blocks

    chars = 0

    def counted(blocks: TextBlocks) -> Iterator[str]:
        nonlocal chars
        for block in blocks:
            chars += len(block)
            yield block

    with open(path, "rb") as fh:
        blocks = TextBlocks(fh, skip_binary=True)
        tokens = count_blocks(tokenizer, counted(blocks))
    if blocks.binary:
        report.skipped_binary.append(str(path))
    else:
        report.files.append(FileCount(str(path), tokens, chars, blocks.invalid_utf8))
