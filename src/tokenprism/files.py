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
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from .errors import UsageError

__all__ = ["iter_files", "is_binary", "read_text_file", "read_json", "TextFile", "partial_path", "written_whole",
           "remove_path"]

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


def _read_rules(folder: Path) -> list[_Rule]:
    path = folder / ".gitignore"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [_Rule(line.strip()) for line in lines if line.strip() and not line.startswith("#")]


def _ignored(stack: list[tuple[Path, list[_Rule]]], path: Path, is_dir: bool) -> bool:
    ignored = False
    for base, rules in stack:
        relative = path.resolve().relative_to(base).as_posix()
        for rule in rules:
            if rule.matches(relative, is_dir):
                ignored = not rule.negate
    return ignored


def iter_files(paths: list[Path], *, respect_gitignore: bool = True) -> Iterator[Path]:
    """Every file under the given paths (files are yielded as given), skipping .git and ignored files."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        yield from _walk(root, _ancestor_rules(root) if respect_gitignore else [], respect_gitignore)


def _ancestor_rules(folder: Path) -> list[tuple[Path, list[_Rule]]]:
    """.gitignore rules of the folders above `folder`, up to the repository root, as git applies them."""
    folder = folder.resolve()
    chain = []
    for parent in folder.parents:
        chain.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    return [(p, rules) for p in reversed(chain) if (rules := _read_rules(p))]


def _walk(folder: Path, stack: list[tuple[Path, list[_Rule]]], respect: bool) -> Iterator[Path]:
    if respect:
        rules = _read_rules(folder)
        stack = stack + [(folder.resolve(), rules)] if rules else stack
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        is_dir = entry.is_dir(follow_symlinks=False)
        if entry.name == ".git" or (respect and stack and _ignored(stack, path, is_dir)):
            continue
        if is_dir:
            yield from _walk(path, stack, respect)
        elif entry.is_file():
            yield path

