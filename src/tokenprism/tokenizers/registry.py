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
from pathlib import Path
from typing import Callable, NamedTuple

from ..errors import TokenizerFileError, TokenizerNotFound
from .base import Tokenizer

__all__ = ["load_tokenizer", "load_local", "resolve_hub_files", "is_hub_id", "available_offline", "BUNDLED",
           "bundled_path", "TokenizerFileKind", "TOKENIZER_FILE_KINDS", "TOKENIZER_FILES"]

#: A loader: (the file, the name the user gave) → a tokenizer. It imports its backend itself, so
#: that the table costs nothing to import.
Loader = Callable[[Path, str], Tokenizer]

BUNDLED = {"prism-tiny": "assets/prism-tiny"}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")
_cache: dict[tuple[str, str | None], Tokenizer] = {}
_lock = threading.Lock()


def is_hub_id(spec: str) -> bool:
    """Whether a spec has the shape of a Hub repo id ("gpt2", "owner/name")."""
    return bool(_HUB_ID.match(spec))


def bundled_path(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / BUNDLED[name]


def load_tokenizer(spec: str | os.PathLike[str], *, revision: str | None = None) -> Tokenizer:
    """Load any real tokenizer by spec; loaded tokenizers are kept, so a second call is free.

    >>> load_tokenizer("gpt2")                          # doctest: +SKIP
    >>> load_tokenizer("cl100k_base")                   # doctest: +SKIP
    >>> load_tokenizer("path/to/tokenizer.json")        # doctest: +SKIP
    """
    key = (os.fspath(spec), revision)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    tok = _load_uncached(key[0], revision)
    with _lock:
        return _cache.setdefault(key, tok)


def _load_uncached(spec: str, revision: str | None) -> Tokenizer:
    spec = spec.strip()
    if not spec:
        raise TokenizerNotFound("empty tokenizer spec: pass a Hub id, a path, an OpenAI encoding name, or prism-tiny")
    if spec in BUNDLED:
        path = bundled_path(spec)
        if not path.is_dir():
            raise TokenizerNotFound(f"the bundled {spec} is missing from this install ({path}); reinstall tokenprism")
        return load_local(path, name=spec)
    path = Path(spec).expanduser()
    if path.exists():
        return load_local(path, name=spec)
    from .tik import TiktokenTokenizer, encoding_for_alias, load_named_encoding

    encoding_name = encoding_for_alias(spec)
    if encoding_name is not None:
        enc, source, inferred = load_named_encoding(encoding_name)
        alias = [] if encoding_name == spec else [f"{spec} uses the OpenAI encoding {encoding_name}"]
        return TiktokenTokenizer(enc, name=spec, source=source, inferred=alias + inferred)
    if is_hub_id(spec) and not spec.endswith(_file_suffixes()):
        folder = resolve_hub_files(spec, revision=revision)
        tok = load_local(folder, name=spec)
        tok.source = f"hf:{spec}" + (f"@{revision}" if revision else "") + f" ({folder})"
        return tok
    raise TokenizerNotFound(
        f"no tokenizer {spec!r}: not a local path, not an OpenAI encoding or alias, not a valid Hub id; "
        "try a folder with tokenizer.json, a Hub id like 'gpt2', or 'cl100k_base'"
    )


def resolve_hub_files(repo_id: str, *, revision: str | None = None, patterns: tuple[str, ...] | None = None) -> Path:
    """Download (or find in the cache) the files of a Hub repo that match `patterns` (by default the
    tokenizer files of `TOKENIZER_FILE_KINDS`); the local folder."""
    patterns = TOKENIZER_FILES if patterns is None else patterns
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


def load_local(path: Path, *, name: str) -> Tokenizer:
    """A tokenizer from a file (the first kind its name matches), or from a folder by the files it
    holds (the kinds marked `search`, in table order)."""
    if path.is_file():
        return _load_file(path, name=name)
    for kind in TOKENIZER_FILE_KINDS:
        if kind.search and kind.load is not None:
            found = sorted(path.glob(kind.pattern))
            if found:
                return kind.load(found[0], name)
    present = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
    raise TokenizerNotFound(f"{path} holds no tokenizer file (found: {present}); expected {_expected()}")


def _load_file(path: Path, *, name: str) -> Tokenizer:
    kind = next((k for k in TOKENIZER_FILE_KINDS if fnmatchcase(path.name, k.pattern)), None)
    if kind is None:
        raise TokenizerFileError(f"{path}: unknown tokenizer file type; expected {_expected()}")
    if kind.load is None:  # a file read beside another one: load the folder it is in
        return load_local(path.parent, name=name)
    return kind.load(path, name)


def _expected() -> str:
    """The kinds of file a tokenizer is built from, for error messages."""
    shown = [k.what for k in TOKENIZER_FILE_KINDS if k.what]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _file_suffixes() -> tuple[str, ...]:
    """Endings that make a spec a file name rather than a Hub id (".json", ".model", …)."""
    return tuple({"." + k.pattern.rsplit(".", 1)[-1] for k in TOKENIZER_FILE_KINDS})


# --- the loaders: one per kind of file ---------------------------------------------------------
def _from_tokenizer_json(path: Path, name: str) -> Tokenizer:
    from .config import settings_beside
    from .hf import HFTokenizer, load_tokenizer_json

    raw = load_tokenizer_json(path)
    config = settings_beside(path)
    return HFTokenizer(raw, name=name, source=str(path), config=config, files=_files(path, config))


def _from_bpe_files(path: Path, name: str) -> Tokenizer:
    from .config import settings_beside
    from .hf import HFTokenizer, build_byte_level_bpe

    merges = path.parent / "merges.txt"
    if not merges.is_file():
        raise TokenizerFileError(f"{path} needs merges.txt beside it (a GPT-2 style BPE has both)")
    config = settings_beside(path)
    roles = {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>"}
    inferred = [] if config else ["GPT-2 style byte-level BPE (no prefix space), <|endoftext|> as bos/eos/unk"]
    return HFTokenizer(
        build_byte_level_bpe(path, merges), name=name, source=str(path.parent), config=config,
        default_roles=roles, inferred=inferred, files=[str(path), str(merges)],
    )


def _from_vocab_txt(path: Path, name: str) -> Tokenizer:
    from .config import settings_beside
    from .hf import HFTokenizer, build_wordpiece, read_vocab_txt, vocab_is_lowercase

    config = settings_beside(path)
    inferred = []
    if "do_lower_case" in config:
        lowercase = bool(config["do_lower_case"])
    else:
        lowercase = vocab_is_lowercase(read_vocab_txt(path))
        inferred.append(
            "lowercases text (the vocab has no upper-case letters)" if lowercase else "keeps case (the vocab has upper-case letters)"
        )
    inferred.append("BERT WordPiece: [CLS] text [SEP], split on whitespace and punctuation")
    roles = {"unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "mask": "[MASK]"}
    return HFTokenizer(
        build_wordpiece(path, lowercase=lowercase), name=name, source=str(path), config=config,
        default_roles=roles, inferred=inferred, files=_files(path, config),
    )


def _from_spm(path: Path, name: str) -> Tokenizer:
    from .config import settings_beside
    from .spm import SentencePieceTokenizer

    return SentencePieceTokenizer(path, name=name, config=settings_beside(path))


def _from_tiktoken(path: Path, name: str) -> Tokenizer:
    from .tik import TiktokenTokenizer, encoding_from_ranks_file

    enc, inferred = encoding_from_ranks_file(path)
    return TiktokenTokenizer(enc, name=name, source=str(path), inferred=inferred, files=[str(path)])


def _files(path: Path, config: dict) -> list[str]:
    extra = [str(path.parent / "tokenizer_config.json")] if config else []
    return [str(path)] + extra


# --- the table ----------------------------------------------------------------------------------
class TokenizerFileKind(NamedTuple):
    """One kind of tokenizer file: the name (or glob on the name) it goes by and what builds a
    tokenizer from it."""

    pattern: str  # a file name, or a glob on the name ("*.model")
    load: Loader | None  # None: a file read beside another; given alone, its folder is loaded
    what: str  # how error messages name it ("": not named)
    search: bool = True  # a folder is searched for it (in table order: the first kind found wins)
    hub: bool = True  # downloaded for a Hub id


_K = TokenizerFileKind

#: Every kind of file a tokenizer is read from. A file given by path takes the first row its name
#: matches (so exact names come before globs); a folder is searched row by row; a Hub id downloads
#: the rows marked `hub`. Adding a backend: its loader above (importing its module lazily) and a row.
TOKENIZER_FILE_KINDS: tuple[TokenizerFileKind, ...] = (
    _K("tokenizer.json", _from_tokenizer_json, "tokenizer.json(.gz)"),
    _K("tokenizer.json.gz", _from_tokenizer_json, ""),
    _K("vocab.json", _from_bpe_files, "vocab.json + merges.txt"),
    _K("vocab.txt", _from_vocab_txt, "vocab.txt"),
    _K("tokenizer.model", _from_spm, "a SentencePiece .model"),
    _K("spiece.model", _from_spm, ""),
    _K("spm.model", _from_spm, ""),
    _K("sentencepiece.bpe.model", _from_spm, ""),
    _K("*.model", _from_spm, "", hub=False),
    _K("*.tiktoken", _from_tiktoken, "a .tiktoken file"),
    # read beside the files above (settings, merges); given alone, the folder they are in is loaded
    _K("merges.txt", None, "", search=False),
    _K("tokenizer_config.json", None, "", search=False),
    _K("special_tokens_map.json", None, "", search=False),
    _K("config.json", None, "", search=False, hub=False),
    # a file given by path under another name
    _K("*.json", _from_tokenizer_json, "", search=False, hub=False),
    _K("*.json.gz", _from_tokenizer_json, "", search=False, hub=False),
    _K("*.txt", _from_vocab_txt, "", search=False, hub=False),
)

#: The Hub download patterns (files of the rows marked `hub`).
TOKENIZER_FILES: tuple[str, ...] = tuple(k.pattern for k in TOKENIZER_FILE_KINDS if k.hub)
