"""`tokenize --ids-only / --json` on inputs too large to hold as one encoding: read block by block,
encoded a part at a time (tokenprism.streamed), written as they come.

A large input is a --file above `files.STREAM_BYTES`, or stdin (or a pipe given as --file) that turns
out larger than that: it is copied to a temporary file first, so that bad UTF-8 is found before the
first id is printed (with --errors strict the whole input is checked, then encoded). --json writes the
same object as for a small input, its arrays streamed ("ids" straight out; "text" and "tokens" through
temporary files), so memory stays bounded (see README, "Limits").
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from typing import Any, BinaryIO

from ..errors import UsageError
from ..files import STREAM_BYTES, TextBlocks
from ._io import load

__all__ = ["large_input", "tokenize_streamed"]


def large_input(file: str) -> bytes | BinaryIO:
    """The input named by --file (or '-' for stdin): its bytes when small, else an open binary file
    positioned at its start (a copy in a temporary file for stdin and pipes)."""
    if file == "-":
        return _spooled(sys.stdin.buffer)
    try:
        fh = open(file, "rb")  # noqa: SIM115 - returned open, closed by the caller
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    info = os.fstat(fh.fileno())
    if stat.S_ISREG(info.st_mode) and info.st_size > STREAM_BYTES:
        return fh
    with fh:
        return _spooled(fh)


def _spooled(source: BinaryIO) -> bytes | BinaryIO:
    head = source.read(STREAM_BYTES + 1)
    if len(head) <= STREAM_BYTES:
        return head
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, closed by the caller
    try:
        spool.write(head)
        shutil.copyfileobj(source, spool, 1 << 20)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def tokenize_streamed(fh: BinaryIO, *, source: str, errors: str, spec: str, as_json: bool, add_special_tokens: bool,
                      split_special_tokens: bool) -> None:
    """What `tokenize --ids-only` or `--json` prints for the text in `fh`, written as it is made."""
    tok = load(spec)
    if errors == "strict":  # bad bytes are an error before anything is printed, not after half of it
        for _ in TextBlocks(fh, errors="strict", source=source):
            pass
        fh.seek(0)
    blocks = TextBlocks(fh, errors="replace", source=source)
    if as_json:
        _write_json(tok, blocks, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
    else:
        _write_ids(tok, blocks, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)


def _write_ids(tok: Any, blocks: TextBlocks, *, add_special_tokens: bool, split_special_tokens: bool) -> None:
    from ..streamed import ids_in_parts

    out, sep = sys.stdout, ""
    for ids in ids_in_parts(tok, blocks, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens):
        if ids:
            out.write(sep + " ".join(map(str, ids)))
            sep = " "
    out.write("\n")


def _write_json(tok: Any, blocks: TextBlocks, *, add_special_tokens: bool, split_special_tokens: bool) -> None:
    """Encoding.to_dict()'s object, written piece by piece."""
    from ..streamed import added_around, encodings_in_parts

    out = sys.stdout
    before, after = added_around(tok) if add_special_tokens else ([], [])
    ids, tokens = _Array(out), None
    with tempfile.TemporaryFile("w+", encoding="utf-8") as text, tempfile.TemporaryFile("w+", encoding="utf-8") as token_file:
        tokens = _Array(token_file)
        out.write('{"tokenizer": ' + _dumps(tok.name) + ', "ids": [')
        for tok_id, token in before:
            ids.add(str(tok_id))
            tokens.add(_dumps(_placed(token, 0)))
        chars, lossless, notes = 0, True, []
        for start, enc in encodings_in_parts(tok, blocks, split_special_tokens=split_special_tokens):
            ids.extend(map(str, enc.ids))
            tokens.extend(_dumps({**t, "start": t["start"] + start, "end": t["end"] + start}) for t in enc.token_dicts())
            text.write(_dumps(enc.text)[1:-1])
            chars, lossless = start + len(enc.text), lossless and enc.lossless
            notes += [n for n in enc.notes if n not in notes]
        for tok_id, token in after:
            ids.add(str(tok_id))
            tokens.add(_dumps(_placed(token, chars)))
        out.write('], "text": "')
        _copy(text, out)
        out.write('", "tokens": [')
        _copy(token_file, out)
        out.write(f'], "count": {ids.count}, "lossless": {_dumps(lossless)}, "notes": {_dumps(notes)}}}\n')


class _Array:
    """The items of a JSON array, written with their commas as they come."""

    def __init__(self, out: Any) -> None:
        self.out, self.count = out, 0

    def add(self, item: str) -> None:
        self.out.write(("," if self.count else "") + item)
        self.count += 1

    def extend(self, items: Any) -> None:
        for item in items:
            self.add(item)


def _placed(token: dict[str, Any], chars: int) -> dict[str, Any]:
    """An added token read off the encoding of "a", placed as the backend places it for the whole
    text: at 0 where it was at 0 for "a", at the end where it was after the "a"."""
    return {**token, "start": chars if token["start"] else 0, "end": chars if token["end"] else 0}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy(spool: Any, out: Any) -> None:
    spool.seek(0)
    while chunk := spool.read(1 << 20):
        out.write(chunk)
