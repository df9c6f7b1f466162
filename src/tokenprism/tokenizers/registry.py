"""spec → Tokenizer. One function, `load_tokenizer`, tries in order:

1. ``prism-tiny``: the bundled model's tokenizer;
2. a local file or folder;
3. an OpenAI encoding name or model alias (``cl100k_base``, ``gpt-4o``);
4. a Hugging Face Hub id, through huggingface_hub and its cache (honours HF_HUB_OFFLINE, HF_HOME,
   HF_HUB_CACHE, HF_ENDPOINT and a revision).

What was tried is named in the error when nothing fits. Which file builds which tokenizer is one
table, `TOKENIZER_FILE_KINDS`, read for a file (the first row whose pattern matches its name), for a
folder (rows marked `search`, in order) and for a Hub id (rows marked `hub` are downloaded). A new
backend is a module in this folder plus a row there.
"""

from __future__ import annotations

import os
import re
import threading
from fnmatch import fnmatchcase
from importlib import import_module
from pathlib import Path
from typing import Callable, NamedTuple

from ..errors import TokenizerFileError, TokenizerNotFound, UsageError
from .base import Tokenizer

__all__ = ["load_tokenizer", "load_local", "alias_encoding", "resolve_hub_files", "is_hub_id", "available_offline", "hub_patterns",
           "BUNDLED", "bundled_path", "spec_label", "TokenizerFileKind", "TOKENIZER_FILE_KINDS"]

#: A loader: (the file, the name the user gave) → a tokenizer. It imports its backend itself, so
#: that the table costs nothing to import.
Loader = Callable[[Path, str], Tokenizer]

BUNDLED = {"prism-tiny": "assets/prism-tiny"}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")
_cache: dict[tuple[str, str | None, str | None], Tokenizer] = {}
_lock = threading.Lock()


def is_hub_id(spec: str) -> bool:
    """Whether a spec has the shape of a Hub repo id ("gpt2", "owner/name")."""
    return bool(_HUB_ID.match(spec))


def alias_encoding(spec: str) -> str | None:
    """The OpenAI encoding a spec names: an encoding name itself or a model alias (gpt-4 → cl100k_base).

    >>> alias_encoding("gpt-4"), alias_encoding("bert-base-uncased")
    ('cl100k_base', None)
    """
    from .tik import encoding_for_alias

    return encoding_for_alias(spec)


def spec_label(spec: str) -> str:
    """A short name for a spec, for tables and headers: a Hub id or encoding name as it is, a local
    folder by its name, a local file by its folder and name (the full path stays in `info().source`).

    >>> spec_label("/home/ann/models/bert-base-uncased/"), spec_label("~/tok/gpt2/vocab.json"), spec_label("gpt2")
    ('bert-base-uncased', 'gpt2/vocab.json', 'gpt2')
    """
    text = str(spec).strip()
    if text in BUNDLED or not (text.startswith(("/", "~", ".", "\\")) or "\\" in text or re.match(r"^[A-Za-z]:", text)
                               or Path(text).expanduser().exists()):
        return text
    path = Path(text.replace("\\", "/")).expanduser()
    if path.suffix and path.parent.name and not path.is_dir():
        return f"{path.parent.name}/{path.name}"
    return path.name or text


def bundled_path(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / BUNDLED[name]


def load_tokenizer(spec: str | os.PathLike[str], *, revision: str | None = None, pattern: str | None = None) -> Tokenizer:
    """Load any real tokenizer by spec; loaded tokenizers are kept, so a second call is free.

    `pattern` is the split pattern (a regex) of a tiktoken ranks file whose pattern cannot be known
    otherwise (a ``.tiktoken`` or tiktoken-format ``tokenizer.model`` that names no known encoding).

    >>> load_tokenizer("gpt2")                          # doctest: +SKIP
    >>> load_tokenizer("cl100k_base")                   # doctest: +SKIP
    >>> load_tokenizer("path/to/tokenizer.json")        # doctest: +SKIP
    >>> load_tokenizer("my.tiktoken", pattern=MY_REGEX)  # doctest: +SKIP
    """
    key = (os.fspath(spec), revision, pattern)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    tok = _load_uncached(key[0], revision, {"pattern": pattern} if pattern is not None else {})
    with _lock:
        return _cache.setdefault(key, tok)


def _load_uncached(spec: str, revision: str | None, options: dict[str, str]) -> Tokenizer:
    spec = spec.strip()
    if not spec:
        raise TokenizerNotFound("empty tokenizer spec: pass a Hub id, a path, an OpenAI encoding name, or prism-tiny")
    if spec in BUNDLED:
        path = bundled_path(spec)
        if not path.is_dir():
            raise TokenizerNotFound(f"the bundled {spec} is missing from this install ({path}); reinstall tokenprism")
        return load_local(path, name=spec, **options)
    path = Path(spec).expanduser()
    if path.exists():
        return load_local(path, name=spec_label(spec), **options)  # the full path is in its info's source
    from .tik import from_encoding_name

    named = from_encoding_name(spec)
    if named is not None:
        if options:
            raise UsageError(f"{spec} is an OpenAI encoding with its own split pattern: pattern= is for a ranks file")
        return named
    if is_hub_id(spec) and not spec.endswith(_file_suffixes()):
        folder = resolve_hub_files(spec, revision=revision)
        tok = load_local(folder, name=spec, **options)
        tok.source = f"hf:{spec}" + (f"@{revision}" if revision else "") + f" ({folder})"
        return tok
    raise TokenizerNotFound(
        f"no tokenizer {spec!r}: not a local path, not an OpenAI encoding or alias, not a valid Hub id; "
        "try a folder with tokenizer.json, a Hub id like 'gpt2', or 'cl100k_base'"
    )


def resolve_hub_files(repo_id: str, *, revision: str | None = None, patterns: tuple[str, ...] | None = None) -> Path:
    """Download (or find in the cache) the files of a Hub repo that match `patterns` (by default
    `hub_patterns()`, a tokenizer's files); the local folder."""
    patterns = hub_patterns() if patterns is None else patterns
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:  # pragma: no cover - a core dependency
        raise TokenizerNotFound("huggingface_hub is not installed: pip install huggingface_hub") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(patterns)))
    except GatedRepoError:
        raise TokenizerNotFound(f"{repo_id} is gated on the Hub: accept its licence online and log in (hf auth login)") from None
    except RepositoryNotFoundError:
        raise TokenizerNotFound(f"no Hub repo {repo_id!r} (or it is private: log in with hf auth login)") from None
    except RevisionNotFoundError:
        raise TokenizerNotFound(f"{repo_id} has no revision {revision!r}") from None
    except LocalEntryNotFoundError:
        hint = "HF_HUB_OFFLINE is set and it is not in the Hugging Face cache" if offline else "it is not cached and the Hub cannot be reached"
        raise TokenizerNotFound(
            f"cannot get {repo_id!r} from the Hub: {hint}; download it once online, or pass a local folder"
        ) from None
    except Exception as exc:  # noqa: BLE001 - HTTP and OS errors of every kind
        raise TokenizerNotFound(f"cannot get {repo_id!r} from the Hub ({type(exc).__name__}: {str(exc)[:120]})") from None


def available_offline(spec: str) -> bool:
    """Whether `load_tokenizer(spec)` finds its files on this machine, with no network: a bundled name,
    a local path, an OpenAI encoding whose ranks file is here, or a Hub id with a tokenizer file in
    the Hugging Face cache. Nothing is downloaded.

    >>> available_offline("prism-tiny")
    True
    """
    spec = spec.strip()
    if spec in BUNDLED or (spec and Path(spec).expanduser().exists()):
        return True
    from .tik import encoding_for_alias, encoding_on_disk

    encoding_name = encoding_for_alias(spec)
    if encoding_name is not None:
        return encoding_on_disk(encoding_name)
    if not is_hub_id(spec):
        return False
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a core dependency
        return False
    names = [k.pattern for k in TOKENIZER_FILE_KINDS if k.load is not None and k.hub and not _is_glob(k.pattern)]
    return any(isinstance(try_to_load_from_cache(spec, n), str) for n in names)


def load_local(path: Path, *, name: str, **options: str) -> Tokenizer:
    """A tokenizer from a file (the first kind its name matches), or from a folder by the files it
    holds (the kinds marked `search`, in table order). `options` go to the loader (pattern=)."""
    if path.is_file():
        return _load_file(path, name=name, **options)
    if not path.is_dir():  # /dev/null, a FIFO, a socket: nothing to read a tokenizer from
        raise TokenizerFileError(f"{path} is neither a tokenizer file nor a folder; expected {_expected()}")
    for kind in TOKENIZER_FILE_KINDS:
        if kind.search and kind.load is not None:
            found = sorted(p for p in path.glob(kind.pattern) if p.is_file())
            if found:
                return kind.load(found[0], name, **options)
    # how many files, never their names: an error can travel to a web page
    others = sum(1 for _ in path.iterdir())
    entries = "1 other entry" if others == 1 else f"{others} other entries"
    raise TokenizerNotFound(f"{path} holds no tokenizer file ({entries}); expected {_expected()}")


def _load_file(path: Path, *, name: str, **options: str) -> Tokenizer:
    kind = next((k for k in TOKENIZER_FILE_KINDS if fnmatchcase(path.name, k.pattern)), None)
    if kind is None:
        raise TokenizerFileError(f"{path}: unknown tokenizer file type; expected {_expected()}")
    if kind.load is None:  # a file read beside another one: load the folder it is in
        return load_local(path.parent, name=name, **options)
    return kind.load(path, name, **options)


def hub_patterns() -> tuple[str, ...]:
    """The files a Hub id's tokenizer is built from (the table's rows marked `hub`): what is downloaded.

    >>> "tokenizer.json" in hub_patterns() and "*.json" not in hub_patterns()
    True
    """
    return tuple(k.pattern for k in TOKENIZER_FILE_KINDS if k.hub)


def _expected() -> str:
    """The kinds of file a tokenizer is built from, for error messages."""
    shown = [k.what for k in TOKENIZER_FILE_KINDS if k.what]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _file_suffixes() -> tuple[str, ...]:
    """Endings that make a spec a file name rather than a Hub id (".json", ".model", …)."""
    return tuple({"." + k.pattern.rsplit(".", 1)[-1] for k in TOKENIZER_FILE_KINDS})


# --- the table ----------------------------------------------------------------------------------
class TokenizerFileKind(NamedTuple):
    """One kind of tokenizer file: the name (or glob on the name) it goes by and what builds a
    tokenizer from it."""

    pattern: str  # a file name, or a glob on the name ("*.model")
    load: Loader | None  # None: a file read beside another; given alone, its folder is loaded
    what: str  # how error messages name it ("": not named)
    search: bool = True  # a folder is searched for it (in table order: the first kind found wins)
    hub: bool = True  # downloaded for a Hub id


def _lazy(module: str, function: str) -> Loader:
    """The loader `function` of the backend module `module`, imported only when a file of its kind is
    loaded: the table costs nothing to import, and a backend's loader lives in the backend.

    >>> _lazy("spm_slow", "from_model_file").__qualname__
    'spm_slow.from_model_file'
    """

    def load(path: Path, name: str, **options: str) -> Tokenizer:
        loader = getattr(import_module(f"{__package__}.{module}"), function)
        if options:
            from inspect import signature

            taken = signature(loader).parameters
            wrong = next((k for k in options if k not in taken), None)
            if wrong is not None:
                raise UsageError(f"{wrong}= does not apply to {path.name}: it is for a tiktoken ranks file")
        return loader(path, name, **options)

    load.__qualname__ = f"{module}.{function}"
    return load


def _model_file(path: Path, name: str, **options: str) -> Tokenizer:
    """A ``.model`` file by what it holds: a SentencePiece model, or tiktoken ranks under that name
    (Meta's Llama-3 ``original/tokenizer.model``)."""
    from .tik_files import is_ranks_file

    return (_RANKS if is_ranks_file(path) else _SENTENCEPIECE)(path, name, **options)


_K = TokenizerFileKind
_HF_JSON = _lazy("hf_files", "from_tokenizer_json")
_SENTENCEPIECE = _lazy("spm_slow", "from_model_file")
_RANKS = _lazy("tik_files", "from_ranks_file")
_MODEL = _model_file
_WORDPIECE = _lazy("hf_files", "from_vocab_txt")

#: Every kind of file a tokenizer is read from. A file given by path takes the first row its name
#: matches (so exact names come before globs); a folder is searched row by row; a Hub id downloads
#: the rows marked `hub`. Adding a backend: a module here with a loader `(path, name) -> Tokenizer`,
#: and a row such as `_K("*.gguf", _lazy("gguf", "from_gguf_file"), "a .gguf file", hub=False)`.
TOKENIZER_FILE_KINDS: tuple[TokenizerFileKind, ...] = (
    _K("tokenizer.json", _HF_JSON, "tokenizer.json(.gz)"),
    _K("tokenizer.json.gz", _HF_JSON, ""),
    _K("vocab.json", _lazy("hf_files", "from_bpe_files"), "vocab.json + merges.txt"),
    _K("vocab.txt", _WORDPIECE, "vocab.txt"),
    _K("tokenizer.model", _MODEL, "a SentencePiece (or tiktoken) .model"),
    _K("spiece.model", _MODEL, ""),
    _K("spm.model", _MODEL, ""),
    _K("sentencepiece.bpe.model", _MODEL, ""),
    _K("*.model", _MODEL, "", hub=False),
    _K("*.tiktoken", _RANKS, "a .tiktoken file"),
    _K("*.gguf", _lazy("gguf", "from_gguf_file"), "a .gguf file", hub=False),
    # read beside the files above (settings, merges); given alone, the folder they are in is loaded
    _K("merges.txt", None, "", search=False),
    _K("tokenizer_config.json", None, "", search=False),
    _K("special_tokens_map.json", None, "", search=False),
    _K("config.json", None, "", search=False, hub=False),
    # a file given by path under another name
    _K("*.json", _HF_JSON, "", search=False, hub=False),
    _K("*.json.gz", _HF_JSON, "", search=False, hub=False),
    _K("*.txt", _WORDPIECE, "", search=False, hub=False),
)
