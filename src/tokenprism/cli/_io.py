"""What commands do with text and output, without click (the fast path of `tokenize` uses it too)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import Any, Iterator

from ..errors import InvalidUTF8, TokenprismError, UsageError

__all__ = ["decode_bytes", "read_text", "emit_json", "load", "new_console", "show", "OutputError", "guarded_stdout",
           "flush_stdout", "discard_stdout"]


class OutputError(TokenprismError):
    """Standard output could not be written (a full disk, /dev/full, a quota): the output is incomplete."""


class _Stdout:
    """sys.stdout as the commands see it: every write and flush that fails (other than a closed pipe,
    which ends the command quietly) is an `OutputError`, so a cut output never ends with exit code 0."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        buffer = getattr(stream, "buffer", None)
        # python -u (PYTHONUNBUFFERED): the text layer writes straight to the file and ignores a short
        # write, so a full disk cut the output silently; here every byte is written or an error raised
        self._raw = buffer if isinstance(buffer, io.RawIOBase) else None

    def write(self, text: str) -> int:
        with _output_errors():
            if self._raw is None:
                return self._stream.write(text)
            self._stream.flush()
            if os.linesep != "\n":
                text = text.replace("\n", os.linesep)
            _write_all(self._raw, text.encode(self._stream.encoding or "utf-8", self._stream.errors or "strict"))
            return len(text)

    def writelines(self, lines: Any) -> None:
        self.write("".join(lines))

    def flush(self) -> None:
        with _output_errors():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer … as the real stream has them
        return getattr(self._stream, name)


def _write_all(raw: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = raw.write(view)
        if written is None:  # a non-blocking descriptor that would block
            raise BlockingIOError(11, "standard output would block")
        view = view[written:]


@contextlib.contextmanager
def _output_errors() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the output: {exc.strerror or exc}; it is incomplete (free some space, "
                          "or write it elsewhere)") from None


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Commands write through `_Stdout` while they run; the real stream is put back afterwards."""
    real = sys.stdout
    if real is None or isinstance(real, _Stdout):
        yield
        return
    sys.stdout = _Stdout(real)
    try:
        yield
    finally:
        sys.stdout = real


def flush_stdout() -> None:
    """Everything written so far, out now (its errors raised here, under our control, not at exit)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def discard_stdout() -> None:
    """After a failed write or a closed pipe, what is still buffered can never be written: point the
    descriptor at /dev/null so the interpreter's flush at exit neither fails nor prints a traceback."""
    stream = getattr(sys.stdout, "_stream", sys.stdout)
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def decode_bytes(data: bytes, *, errors: str, source: str) -> str:
    """UTF-8 bytes → str; on bad bytes name the offset (strict) or replace them with U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if errors == "replace":
            return data.decode("utf-8", "replace")
        raise InvalidUTF8(exc.start, source=source) from None


def read_text(text: str | None, file: str | None, *, errors: str, default: str | None = None) -> str:
    """The text a command works on: the argument, '-' or --file - (stdin), or --file PATH."""
    if text is not None and file is not None:
        raise UsageError("give the text either as an argument or with --file, not both")
    if file is not None or text == "-":
        if file in (None, "-"):
            return decode_bytes(sys.stdin.buffer.read(), errors=errors, source="stdin")
        try:
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror}") from None
        return decode_bytes(data, errors=errors, source=file)
    if text is None:
        if default is not None:
            return default
        raise UsageError("no text given: pass TEXT, '-' for stdin, or --file PATH")
    return text


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def load(spec: str):
    from ..tokenizers.registry import load_tokenizer

    return load_tokenizer(spec)


def new_console(**kwargs: Any) -> Any:
    """The terminal console every display goes through (rich is imported only here, only when used)."""
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False, **kwargs)


def show(renderable: object) -> None:
    new_console().print(renderable)
