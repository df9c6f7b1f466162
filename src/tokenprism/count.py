"""Token counts of files and folders: `tokenprism count`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .files import iter_files, read_text_file
from .tokenizers.base import Tokenizer

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
        }


def count_paths(tokenizer: Tokenizer, paths: list[Path], *, respect_gitignore: bool = True, batch: int = 256) -> CountReport:
    """Count tokens (without added BOS/EOS) of every text file under `paths`.

    >>> count_paths(load_tokenizer("gpt2"), [Path("src")]).total   # doctest: +SKIP
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    report = CountReport(tokenizer.name)
    pending: list[tuple[Path, str, int]] = []

    def flush() -> None:
        encodings = tokenizer.encode_batch([t for _, t, _ in pending], add_special_tokens=False)
        for (path, text, bad), enc in zip(pending, encodings):
            report.files.append(FileCount(str(path), enc.count, len(text), bad))
        pending.clear()

    for path in iter_files(paths, respect_gitignore=respect_gitignore):
        try:
            loaded = read_text_file(path)
        except OSError:
            report.unreadable.append(str(path))
            continue
        if loaded is None:
            report.skipped_binary.append(str(path))
            continue
        pending.append((path, loaded.text, loaded.invalid_utf8))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return report
