"""The exception tree. Every message is one line that says what was wrong and what to do.

    TokenprismError
    ├── TokenizerNotFound      a spec that names no loadable tokenizer
    ├── TokenizerFileError     a tokenizer file that is malformed, truncated or unsupported
    ├── InputError             text or ids that cannot be processed as given
    │   ├── InvalidUTF8        bytes that are not UTF-8 (names the offset)
    │   └── InvalidTokenId     an id that is negative, not an integer or beyond the vocab
    ├── ModelError             a model that cannot be loaded or cannot do what was asked
    ├── MissingDependency      an optional extra is not installed (names the extra)
    └── UsageError             options that do not fit together

The CLI maps every TokenprismError to exit code 2 in one place; the web app to a 4xx JSON body.
"""

from __future__ import annotations

__all__ = [
    "TokenprismError",
    "TokenizerNotFound",
    "TokenizerFileError",
    "InputError",
    "InvalidUTF8",
    "InvalidTokenId",
    "ModelError",
    "MissingDependency",
    "UsageError",
]


class TokenprismError(Exception):
    """Root of every error tokenprism raises on purpose."""

    #: HTTP status the web API answers with for this error.
    status_code: int = 400


class TokenizerNotFound(TokenprismError):
    status_code = 404


class TokenizerFileError(TokenprismError):
    status_code = 422


class InputError(TokenprismError):
    status_code = 422


class InvalidUTF8(InputError):
    def __init__(self, offset: int, *, source: str = "input") -> None:
        self.offset = offset
        super().__init__(
            f"{source} is not valid UTF-8 at byte offset {offset}; "
            "pass --errors replace to replace bad bytes with U+FFFD and go on"
        )


class InvalidTokenId(InputError):
    def __init__(self, value: object, vocab_size: int) -> None:
        self.value = value
        super().__init__(
            f"invalid token id {value!r}: ids are integers from 0 to {vocab_size - 1} for this tokenizer"
        )


class ModelError(TokenprismError):
    status_code = 422


class MissingDependency(TokenprismError):
    status_code = 501

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is not installed; install it with: pip install 'tokenprism[{extra}]'"
        )


class UsageError(TokenprismError):
    status_code = 400
