"""Documents out of files and folders, streamed in bounded pieces.

Text files are read block by block (never whole) and cut into parts of about `part_chars`
characters at line ends; JSONL gives one document per line (`field`), Parquet one per row of a
column, read batch by batch. Binary and unreadable files are skipped and counted; bytes that are
not UTF-8 are replaced with U+FFFD and counted per file.
"""

from __future__ import annotations

import codecs
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..errors import InputError, MissingDependency, UsageError
from ..files import skip_reason

if TYPE_CHECKING:
    #: One file or folder, or several.
    Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
    #: (text, start, limit) → where to end the part that starts at `start`, near `limit`; None: nowhere
    Cut = Callable[[str, int, int], int | None]

__all__ = ["Document", "ReadReport", "CorpusReader", "read_corpus", "split_text", "PART_CHARS"]

#: Text is handed to the tokenizers in parts of about this many characters (cut at a line end).
PART_CHARS = 64 * 1024
_BLOCK_BYTES = 1 << 20
_SNIFF_BYTES = 8192
GROUP_BY = ("folder", "ext", "none")

_counter = threading.local()


def _count_and_replace(exc: UnicodeDecodeError) -> tuple[str, int]:
    _counter.bad = getattr(_counter, "bad", 0) + 1
    return "\ufffd", exc.end


codecs.register_error("tokenprism.count", _count_and_replace)


@dataclass(frozen=True, slots=True)
class Document:
    """One document, or one part of a long one (`part` counts from 0; `last` marks its final part)."""

    text: str
    group: str = "all"
    doc_id: int = 0
    part: int = 0
    last: bool = True


@dataclass
class ReadReport:
    """What reading found besides text: skipped files and why, invalid UTF-8 per file, bad records."""

    files: int = 0
    documents: int = 0
    bytes_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    invalid_utf8: dict[str, int] = field(default_factory=dict)
    bad_records: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "documents": self.documents,
            "bytes_read": self.bytes_read,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "invalid_utf8": dict(self.invalid_utf8),
            "bad_records": dict(self.bad_records),
        }


def split_text(text: str, part_chars: int = PART_CHARS, cut: Cut | None = None) -> list[str]:
    """Cut a long text into parts of about `part_chars`: where `cut` (text, start, limit) says, None
    for nowhere (a `tokenizers.cuts.TextCutter`: the parts' ids are the whole text's, exactly); without
    one, at line ends (a newline followed by a non-space character); hard cuts only in a very long line.

    >>> split_text("ab\\ncd\\nef", 3)
    ['ab\\n', 'cd\\n', 'ef']
    """
    from ..tokenizers.cuts import split_parts

    return split_parts(text, part_chars, cut or _cut_point)


def _cut_point(text: str, start: int, limit: int) -> int:
    pos = limit
    while True:
        pos = text.rfind("\n", start, pos)
        if pos <= start:
            break
        if pos + 1 < len(text) and not text[pos + 1].isspace():
            return pos + 1
    nl = text.rfind("\n", start, limit)
    return nl + 1 if nl > start else limit


class CorpusReader:
    """Iterate the documents under some paths; `report` fills in as it goes.

    >>> reader = read_corpus(["corpus/"], group_by="folder")        # doctest: +SKIP
    >>> sum(1 for _ in reader), reader.report.skipped               # doctest: +SKIP
    """

    def __init__(self, paths: Paths, *, field: str | None = None,
                 group_by: str = "folder", part_chars: int = PART_CHARS) -> None:
        if isinstance(paths, (str, os.PathLike)):  # one path, not the characters of one
            paths = [paths]
        if group_by not in GROUP_BY:
            raise UsageError(f"--group-by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
        self.roots = [Path(p) for p in paths]
        if not self.roots:
            raise UsageError("no corpus paths given: pass files or folders")
        for root in self.roots:
            if not root.exists():
                raise InputError(f"no such file or folder: {root}; check the path")
        self.field = field
        self.group_by = group_by
        self.part_chars = part_chars
        #: where a long text is cut (set by corpus_stats to the cuts its tokenizers allow); None: at line ends
        self.cut: Cut | None = None
        self.report = ReadReport()
        self._next_id = 0
        #: where the document just yielded comes from: (file, the line it starts on), for error messages;
        #: the line is None for a Parquet row
        self.location: tuple[str, int | None] = ("", None)

    @property
    def total_bytes(self) -> int:
        """Size of every file that will be read (for a progress bar)."""
        return sum(_size(p) for _, p in self._files())

    def _files(self, *, note: bool = False) -> Iterator[tuple[Path, Path]]:
        """(root, file) for every regular file to read; with `note`, what is not read (FIFOs, devices,
        symlinks out of the folder) goes to the report with the reason."""
        for root in self.roots:
            if not root.is_dir():
                yield from self._checked(root.parent, root, None, note)
                continue
            inside = root.resolve()
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield from self._checked(root, Path(folder) / name, inside, note)

    def _checked(self, root: Path, path: Path, inside: Path | None, note: bool) -> Iterator[tuple[Path, Path]]:
        reason = skip_reason(path, inside=inside)
        if reason is None:
            yield root, path
        elif note and reason != "a folder":
            self.report.skipped.append((str(path), reason))

    def group_of(self, root: Path, path: Path) -> str:
        if self.group_by == "none":
            return "all"
        if self.group_by == "ext":
            return path.suffix.lstrip(".").lower() or "(none)"
        rel = path.parent.relative_to(root) if path.parent != root else Path(root.name or ".")
        return rel.parts[0] if rel.parts else (root.resolve().name or ".")

    def __iter__(self) -> Iterator[Document]:
        for root, path in self._files(note=True):
            group = self.group_of(root, path)
            suffix = path.suffix.lower()
            self.location = (str(path), None if suffix == ".parquet" else 1)
            if suffix in (".jsonl", ".ndjson"):
                yield from self._documents(self._jsonl(path), group, path)
            elif suffix == ".parquet":
                yield from self._documents(self._parquet(path), group, path)
            else:
                yield from self._text_file(path, group)

    # --- per kind of file ---------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        self.report.documents += 1
        return self._next_id - 1

    def _documents(self, texts: Iterator[str], group: str, path: Path) -> Iterator[Document]:
        for text in texts:
            doc_id = self._new_id()
            parts = split_text(text, self.part_chars, self.cut)
            for i, part in enumerate(parts):
                yield Document(part, group, doc_id, i, i == len(parts) - 1)

    def _open(self, path: Path) -> Any:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block
        except OSError as exc:
            self.report.skipped.append((str(path), f"unreadable: {exc.strerror}"))
            return None
        return fh

    def _text_file(self, path: Path, group: str) -> Iterator[Document]:
        fh = self._open(path)
        if fh is None:
            return
        with fh:
            try:
                head = fh.read(_SNIFF_BYTES)
            except OSError as exc:
                self.report.skipped.append((str(path), f"unreadable: {exc.strerror}"))
                return
            if b"\x00" in head:
                self.report.skipped.append((str(path), "binary (NUL bytes)"))
                return
            self.report.files += 1
            doc_id, part = self._new_id(), 0
            pending: Document | None = None
            for text in self._decoded_parts(fh, head, path):
                if pending is not None:
                    yield pending
                pending = Document(text, group, doc_id, part, False)
                part += 1
            # an empty file is an empty document (0 tokens), so documents are counted alike everywhere
            yield Document(pending.text if pending else "", group, doc_id, pending.part if pending else 0, True)

    def _decoded_parts(self, fh: Any, head: bytes, path: Path) -> Iterator[str]:
        """Decode block by block (a character split across blocks is carried over) and yield parts."""
        decoder = codecs.getincrementaldecoder("utf-8")("tokenprism.count")
        _counter.bad = 0
        buffer, block = "", head
        while True:
            self.report.bytes_read += len(block)
            final = len(block) == 0
            buffer += decoder.decode(block, final=final)
            parts = split_text(buffer, self.part_chars, self.cut)
            # the last part may continue in the next block: keep it unless the file has ended
            buffer = "" if final else parts.pop()
            yield from (p for p in parts if p)
            if final:
                break
            try:
                block = fh.read(_BLOCK_BYTES)
            except OSError as exc:
                self.report.skipped.append((str(path), f"read error part-way: {exc.strerror}"))
                break
        if _counter.bad:
            self.report.invalid_utf8[str(path)] = _counter.bad

    def _jsonl(self, path: Path) -> Iterator[str]:
        key = self.field or "text"
        fh = self._open(path)
        if fh is None:
            return
        bad = good = 0
        first_bad = b""
        self.report.files += 1
        with fh:
            for number, line in enumerate(fh, 1):
                self.report.bytes_read += len(line)
                if not line.strip():
                    continue
                text = _record_field(line, key)
                if text is None:
                    bad += 1
                    first_bad = first_bad or line
                    continue
                good += 1
                self.location = (str(path), number)
                yield text
        if bad:
            self.report.bad_records[str(path)] = bad
        if bad and not good:  # a wrong --field, most likely: say so rather than "the corpus is empty"
            raise InputError(f"{path}: none of its {bad} record(s) has a text field {key!r} "
                             f"(the first one {_record_shape(first_bad)}); pass --field with the field that holds the text")

    def _parquet(self, path: Path) -> Iterator[str]:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingDependency("pyarrow", "data") from None
        key = self.field or "text"
        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several error types for bad files
            self.report.skipped.append((str(path), f"not a readable Parquet file: {str(exc)[:80]}"))
            return
        if key not in pf.schema_arrow.names:
            raise InputError(f"{path} has no column {key!r} (columns: {', '.join(pf.schema_arrow.names)}); pass --field")
        self.report.files += 1
        self.report.bytes_read += _size(path)
        for batch in pf.iter_batches(batch_size=1024, columns=[key]):
            for value in batch.column(0).to_pylist():
                if isinstance(value, str):
                    yield value


def _record_field(line: bytes, key: str) -> str | None:
    try:
        record = json.loads(line.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        return None
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _record_shape(line: bytes) -> str:
    """What a JSONL record holds, for an error message: its fields, or that it is not a JSON object."""
    try:
        record = json.loads(line.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        return "is not JSON"
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not an object"
    return "has the fields " + ", ".join(repr(k) for k in list(record)[:8]) if record else "is an empty object"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_corpus(paths: Paths, *, field: str | None = None, group_by: str = "folder",
                part_chars: int = PART_CHARS) -> CorpusReader:
    """A `CorpusReader` over files and folders (text, ``.jsonl`` with `field`, ``.parquet`` column `field`)."""
    return CorpusReader(paths, field=field, group_by=group_by, part_chars=part_chars)
