"""Walking files and folders the way people expect: skip binary files, respect .gitignore.

Shared by `count`, `corpus` and `fim-transform`. The .gitignore matcher covers what real repos use
(globs, `**`, anchored `/x`, directory-only `x/`, negation `!x`), evaluated per folder like git does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, NamedTuple

from .errors import InvalidUTF8, UsageError

__all__ = ["iter_files", "is_binary", "read_text_file", "read_json", "TextFile", "partial_path", "written_whole",
           "remove_path", "TextBlocks", "STREAM_BYTES", "skip_reason"]

#: Inputs larger than this are read block by block (count, tokenize --ids-only/--json), never whole.
STREAM_BYTES = 4 << 20
_BLOCK = 1 << 20

_SNIFF = 8192


def read_json(path: Path, *, error: type[Exception], expect: type | None = None) -> Any:
    """A JSON file's value; unreadable or malformed files (or, with `expect`, a value of another
    type) raise `error` with a one-line message naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"cannot read {path}: {exc}; fix or remove the file") from None
    if expect is not None and not isinstance(data, expect):
        raise error(f"{path} is not a JSON {expect.__name__}; fix or remove the file")
    return data


def partial_path(path: Path) -> Path:
    """Where the output `path` is written until it is complete: beside it, named as partial.

    >>> partial_path(Path("out/fim.jsonl")).as_posix(), partial_path(Path("shards")).as_posix()
    ('out/fim.partial.jsonl', 'shards.partial')
    """
    return path.with_name(f"{path.stem}.partial{path.suffix}" if path.suffix else f"{path.name}.partial")


def remove_path(path: Path) -> None:
    """Remove a file or a folder if it is there (a partial output being given up)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def written_whole(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A path to write an output file to, beside `path` and named as partial; it takes `path`'s place
    (one rename) only when the block ends without error. So `path` is either untouched or the whole
    new output, never cut; a failed block removes the partial file, and a write error (a full disk) is
    one line.

    >>> with written_whole("plot.png") as temp:      # doctest: +SKIP
    ...     fig.savefig(temp)                          # plot.partial.png, renamed to plot.png at the end
    """
    final = Path(path)
    temp = partial_path(final)
    try:
        yield temp
        os.replace(temp, final)
    except BaseException as exc:
        remove_path(temp)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {final}: {exc.strerror or exc}; nothing was written there") from None
        raise


def is_binary(head: bytes) -> bool:
    """A file whose first bytes hold a NUL is binary (git's own test)."""
    return b"\x00" in head[:_SNIFF]


class TextFile(NamedTuple):
    path: Path
    text: str
    invalid_utf8: int  # bytes that were not UTF-8 (replaced by U+FFFD)


def read_text_file(path: Path) -> TextFile | None:
    """The file's text, or None for a binary file; bad UTF-8 is replaced and counted, never fatal."""
    data = path.read_bytes()
    if is_binary(data):
        return None
    try:
        return TextFile(path, data.decode("utf-8"), 0)
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        # U+FFFD already in the file (as its 3 UTF-8 bytes) is not a replacement we made.
        return TextFile(path, text, text.count("\ufffd") - data.count("\ufffd".encode()))


class TextBlocks:
    """A text stream's text, a block at a time (about 1 MB each), decoded exactly as decoding it whole
    would: blocks end before a character's first byte, never inside one. `errors` is "strict" (bad
    UTF-8 raises `InvalidUTF8` with its byte offset) or "replace" (U+FFFD, counted in `invalid_utf8`).
    `binary` turns True, and nothing is yielded, when the first 8 KiB hold a NUL (with `skip_binary`).

    >>> with open("big.txt", "rb") as fh:                          # doctest: +SKIP
    ...     chars = sum(len(block) for block in TextBlocks(fh))
    """

    def __init__(self, fh: BinaryIO, *, errors: str = "replace", source: str = "input", skip_binary: bool = False,
                 block_bytes: int = _BLOCK) -> None:
        self.fh, self.errors, self.source, self.skip_binary, self.block_bytes = fh, errors, source, skip_binary, block_bytes
        self.invalid_utf8 = 0
        self.binary = False
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        carry = b""
        while True:
            block = self.fh.read(self.block_bytes)
            if self.bytes_read == 0 and self.skip_binary and is_binary(block):
                self.binary = True
                return
            data, final = carry + block, not block
            cut = len(data) if final else _utf8_boundary(data)
            text = self._decode(data[:cut], start=self.bytes_read - len(carry))
            self.bytes_read += len(block)
            carry = data[cut:]
            if text:
                yield text
            if final:
                return

    def _decode(self, data: bytes, *, start: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.errors != "replace":
                raise InvalidUTF8(start + exc.start, source=self.source) from None
        text = data.decode("utf-8", "replace")
        # U+FFFD already in the input (as its 3 UTF-8 bytes) is not a replacement we made
        self.invalid_utf8 += text.count("\ufffd") - data.count("\ufffd".encode())
        return text


def _utf8_boundary(data: bytes) -> int:
    """Where to end a block so that no character is split: before a lead byte among the last three
    bytes (a sequence it starts may go on in the next block), else at the end."""
    for back in range(1, min(4, len(data) + 1)):
        byte = data[-back]
        if byte < 0x80:
            return len(data) - back + 1
        if byte >= 0xC0:
            return len(data) - back
    return len(data)


class _Rule:
    __slots__ = ("regex", "negate", "dir_only")

    def __init__(self, pattern: str) -> None:
        self.negate = pattern.startswith("!")
        pattern = pattern[1:] if self.negate else pattern
        self.dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        # '**/' matches any number of folders; fnmatch's '*' must not cross '/'.
        body = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"/\*\*", "(?:/.*)?")
        body = body.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        body = re.sub(r"\\\[(.+?)\\\]", lambda m: "[" + m.group(1).replace("\\", "") + "]", body)
        self.regex = re.compile(("^" if anchored else "^(?:.*/)?") + body + "$")

    def matches(self, relative: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and bool(self.regex.match(relative))


#: Called with a path that is not read and why (a FIFO, a symlink out of the folder, a bad .gitignore line).
OnSkip = Callable[[Path, str], None]


def _read_rules(folder: Path, on_skip: OnSkip | None = None) -> list[_Rule]:
    path = folder / ".gitignore"
    if skip_reason(path) is not None:  # absent, a FIFO, a symlink elsewhere: no rules from it
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    rules = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            rules.append(_Rule(line.strip()))
        except re.error as exc:  # "[z-a]": git ignores such a line; so do we, and say so
            if on_skip is not None:
                on_skip(path, f"line {number}: pattern {line.strip()[:60]!r} is invalid ({exc.msg}); ignored")
    return rules


def _ignored(stack: list[tuple[Path, list[_Rule]]], path: Path, is_dir: bool) -> bool:
    ignored = False
    for base, rules in stack:
        relative = path.relative_to(base).as_posix()
        for rule in rules:
            if rule.matches(relative, is_dir):
                ignored = not rule.negate
    return ignored


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def skip_reason(path: Path, *, inside: Path | None = None) -> str | None:
    """Why `path` is not read as a file, or None for a regular file: only regular files are read (a
    FIFO or a device would block or never end), and a symlink is followed only to a file inside
    `inside` (the resolved folder being scanned).

    >>> skip_reason(Path("/dev/null"))
    'not a regular file (a character device)'
    """
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            target = path.resolve(strict=True)
            if inside is not None and target != inside and inside not in target.parents:
                return "a symlink out of the scanned folder; not followed"
            mode = target.stat().st_mode
    except FileNotFoundError:
        return "unreadable: a broken symlink" if path.is_symlink() else "unreadable: not found"
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        return f"unreadable: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'a special file')})"


def iter_files(paths: list[Path], *, respect_gitignore: bool = True, on_skip: OnSkip | None = None) -> Iterator[Path]:
    """Every regular file under the given paths (files are yielded as given), skipping .git and
    ignored files; what is not read (FIFOs, devices, sockets, symlinks out of the folder, invalid
    .gitignore lines) is told to `on_skip` with the reason."""
    for root in paths:
        if root.is_dir():
            real = root.resolve()
            yield from _walk(root, real, _ancestor_rules(root, on_skip) if respect_gitignore else [], respect_gitignore,
                             inside=real, on_skip=on_skip)
            continue
        reason = skip_reason(root)
        if reason is None:
            yield root
        elif on_skip is not None:
            on_skip(root, reason)


def _ancestor_rules(folder: Path, on_skip: OnSkip | None = None) -> list[tuple[Path, list[_Rule]]]:
    """.gitignore rules of the folders above `folder`, up to the repository root, as git applies them."""
    folder = folder.resolve()
    chain = []
    for parent in folder.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    return [(p, rules) for p in reversed(chain) if (rules := _read_rules(p, on_skip))]


def _walk(folder: Path, real: Path, stack: list[tuple[Path, list[_Rule]]], respect: bool, *, inside: Path,
          on_skip: OnSkip | None) -> Iterator[Path]:
    """Files under `folder`; `real` is the same folder below its resolved root (symlinks inside are
    never resolved, so every path stays relative to the folders whose .gitignore rules apply)."""
    if respect:
        rules = _read_rules(folder, on_skip)
        stack = stack + [(real, rules)] if rules else stack
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        is_dir = entry.is_dir(follow_symlinks=False)
        if entry.name == ".git" or (respect and stack and _ignored(stack, real / entry.name, is_dir)):
            continue
        if is_dir:
            yield from _walk(path, real / entry.name, stack, respect, inside=inside, on_skip=on_skip)
            continue
        reason = skip_reason(path, inside=inside)
        if reason is None:
            yield path
        elif on_skip is not None and reason != "a folder":  # a symlink to a folder inside: its files are walked there
            on_skip(path, reason)
