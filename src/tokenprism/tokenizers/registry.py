"""spec → Tokenizer. One function, `load_tokenizer`, tries in order:

1. ``prism-tiny``: the bundled model's tokenizer;
2. a local file or folder;
3. an OpenAI encoding name or model alias (``cl100k_base``, ``gpt-4o``);
4. a Hugging Face Hub id, through huggingface_hub and its cache (honours HF_HUB_OFFLINE, HF_HOME,
   HF_HUB_CACHE, HF_ENDPOINT and a revision).

What was tried is named in the error when nothing fits.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Callable

from ..errors import TokenizerFileError, TokenizerNotFound
from .base import Tokenizer

__all__ = ["load_tokenizer", "load_local", "resolve_hub_files", "is_hub_id", "BUNDLED", "bundled_path", "TOKENIZER_FILES"]

#: Files a tokenizer can be built from, in the order a folder is searched.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.json.gz",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "spiece.model",
    "tokenizer.model",
    "spm.model",
    "sentencepiece.bpe.model",
    "*.tiktoken",
)
_SPM_NAMES = ("tokenizer.model", "spiece.model", "spm.model", "sentencepiece.bpe.model")

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
    if is_hub_id(spec) and not spec.endswith((".json", ".model", ".txt", ".tiktoken", ".gz")):
        folder = resolve_hub_files(spec, revision=revision)
        tok = load_local(folder, name=spec)
        tok.source = f"hf:{spec}" + (f"@{revision}" if revision else "") + f" ({folder})"
        return tok
    raise TokenizerNotFound(
        f"no tokenizer {spec!r}: not a local path, not an OpenAI encoding or alias, not a valid Hub id; "
        "try a folder with tokenizer.json, a Hub id like 'gpt2', or 'cl100k_base'"
    )


def resolve_hub_files(repo_id: str, *, revision: str | None = None, patterns: tuple[str, ...] = TOKENIZER_FILES) -> Path:
    """Download (or find in the cache) the files of a Hub repo that match `patterns`; the local folder."""
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


def load_local(path: Path, *, name: str) -> Tokenizer:
    """A tokenizer from a file, or from a folder by the files it holds."""
    if path.is_file():
        return _load_file(path, name=name)
    for filename, loader in _FOLDER_LOADERS:
        found = sorted(path.glob(filename))
        if found:
            return loader(found[0], name)
    present = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
    raise TokenizerNotFound(
        f"{path} holds no tokenizer file (found: {present}); expected tokenizer.json, vocab.txt, "
        "vocab.json + merges.txt, a SentencePiece .model or a .tiktoken file"
    )


def _load_file(path: Path, *, name: str) -> Tokenizer:
    fname = path.name
    if fname.endswith((".json", ".json.gz")) and fname not in ("tokenizer_config.json", "special_tokens_map.json", "vocab.json", "config.json"):
        return _from_tokenizer_json(path, name)
    if fname == "vocab.json":
        return _from_bpe_files(path, name)
    if fname.endswith(".txt"):
        return _from_vocab_txt(path, name)
    if fname.endswith(".model"):
        return _from_spm(path, name)
    if fname.endswith(".tiktoken"):
        return _from_tiktoken(path, name)
    if fname in ("tokenizer_config.json", "special_tokens_map.json", "config.json"):
        return load_local(path.parent, name=name)
    raise TokenizerFileError(
        f"{path}: unknown tokenizer file type; expected tokenizer.json(.gz), vocab.txt, vocab.json, a .model or a .tiktoken file"
    )


def _from_tokenizer_json(path: Path, name: str) -> Tokenizer:
    from .hf import HFTokenizer, load_tokenizer_json, read_json_config

    raw = load_tokenizer_json(path)
    config = {**read_json_config(path.parent, "special_tokens_map.json"), **read_json_config(path.parent, "tokenizer_config.json")}
    return HFTokenizer(raw, name=name, source=str(path), config=config, files=_files(path, config))


def _from_bpe_files(path: Path, name: str) -> Tokenizer:
    from .hf import HFTokenizer, build_byte_level_bpe, read_json_config

    merges = path.parent / "merges.txt"
    if not merges.is_file():
        raise TokenizerFileError(f"{path} needs merges.txt beside it (a GPT-2 style BPE has both)")
    config = {**read_json_config(path.parent, "special_tokens_map.json"), **read_json_config(path.parent, "tokenizer_config.json")}
    roles = {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>"}
    inferred = [] if config else ["GPT-2 style byte-level BPE (no prefix space), <|endoftext|> as bos/eos/unk"]
    return HFTokenizer(
        build_byte_level_bpe(path, merges), name=name, source=str(path.parent), config=config,
        default_roles=roles, inferred=inferred, files=[str(path), str(merges)],
    )


def _from_vocab_txt(path: Path, name: str) -> Tokenizer:
    from .hf import HFTokenizer, build_wordpiece, read_json_config, read_vocab_txt, vocab_is_lowercase

    config = {**read_json_config(path.parent, "special_tokens_map.json"), **read_json_config(path.parent, "tokenizer_config.json")}
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
    from .hf import read_json_config
    from .spm import SentencePieceTokenizer

    config = {**read_json_config(path.parent, "special_tokens_map.json"), **read_json_config(path.parent, "tokenizer_config.json")}
    return SentencePieceTokenizer(path, name=name, config=config)


def _from_tiktoken(path: Path, name: str) -> Tokenizer:
    from .tik import TiktokenTokenizer, encoding_from_ranks_file

    enc, inferred = encoding_from_ranks_file(path)
    return TiktokenTokenizer(enc, name=name, source=str(path), inferred=inferred, files=[str(path)])


def _files(path: Path, config: dict) -> list[str]:
    extra = [str(path.parent / "tokenizer_config.json")] if config else []
    return [str(path)] + extra


_FOLDER_LOADERS: tuple[tuple[str, Callable[[Path, str], Tokenizer]], ...] = (
    ("tokenizer.json", _from_tokenizer_json),
    ("tokenizer.json.gz", _from_tokenizer_json),
    ("vocab.json", _from_bpe_files),
    ("vocab.txt", _from_vocab_txt),
    *((n, _from_spm) for n in _SPM_NAMES),
    ("*.model", _from_spm),
    ("*.tiktoken", _from_tiktoken),
)
