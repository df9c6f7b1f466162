"""tiktoken backend: OpenAI encodings by name or alias, or from a local ``*.tiktoken`` ranks file.

Offline, an encoding is found (in order) in $TOKENPRISM_TIKTOKEN_DIR/<name>.tiktoken, then tiktoken's own
cache; online tiktoken downloads it. A ranks file is validated here before tiktoken sees it, because
tiktoken's Rust core panics or silently misbehaves on duplicate ranks or missing single bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ..errors import TokenizerFileError, TokenizerNotFound
from .base import MAX_VOCAB, ModelWord, Tokenizer, bytes_to_unicode, repair_surrogates
from .config import chat_template_from_config, max_length_from_config, roles_from_config

if TYPE_CHECKING:
    from .model_rules import ModelRules
    from .roundtrip import RoundTripCheck

__all__ = ["TiktokenTokenizer", "ENCODING_NAMES", "encoding_for_alias", "encoding_on_disk", "load_ranks",
           "from_encoding_name", "ranks_instead_of_download"]

ENCODING_NAMES = ("cl100k_base", "o200k_base", "p50k_base", "p50k_edit", "r50k_base", "o200k_harmony")


def encoding_for_alias(spec: str) -> str | None:
    """The OpenAI encoding a spec names: an encoding name itself, or a model alias (gpt-4 → cl100k_base).

    "gpt2" is left to the Hugging Face Hub, where it names the GPT-2 tokenizer folder.

    >>> encoding_for_alias("gpt-4o")
    'o200k_base'
    """
    if spec in ENCODING_NAMES:
        return spec
    if spec == "gpt2" or "/" in spec or os.sep in spec:
        return None
    from tiktoken.model import MODEL_PREFIX_TO_ENCODING, MODEL_TO_ENCODING

    if spec in MODEL_TO_ENCODING:
        return MODEL_TO_ENCODING[spec]
    for prefix, name in MODEL_PREFIX_TO_ENCODING.items():
        if spec.startswith(prefix):
            return name
    return None


def load_ranks(path: Path) -> dict[bytes, int]:
    """Read and validate a ``.tiktoken`` file: one ``base64(token) rank`` per line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TokenizerFileError(f"cannot read {path}: {exc.strerror}") from None
    ranks: dict[bytes, int] = {}
    seen: set[int] = set()
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerFileError(f"{path}:{lineno}: expected 'base64-token rank', got {line[:40]!r}")
        try:
            token = base64.b64decode(parts[0], validate=True)
            rank = int(parts[1])
        except (binascii.Error, ValueError):
            raise TokenizerFileError(f"{path}:{lineno}: bad base64 token or rank {line[:40]!r}") from None
        if not 0 <= rank < MAX_VOCAB:
            raise TokenizerFileError(f"{path}:{lineno}: rank {parts[1][:24].decode(errors='replace')} is outside 0 to "
                                     f"{MAX_VOCAB - 1:,}; the file is corrupt")
        if rank in seen or token in ranks:
            raise TokenizerFileError(f"{path}:{lineno}: duplicate {'rank ' + str(rank) if rank in seen else 'token'}; the file is corrupt")
        seen.add(rank)
        ranks[token] = rank
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenizerFileError(
            f"{path} lacks single-byte ranks for {len(missing)} byte(s) (first 0x{missing[0]:02X}): "
            "a byte-level BPE needs all 256; the file is truncated or not a tiktoken ranks file"
        )
    return ranks


@contextmanager
def ranks_instead_of_download(ranks: dict[bytes, int]) -> Iterator[None]:
    """Call tiktoken's own encoding constructor (its exact split pattern and special tokens)
    with ranks we already have, instead of letting it download them."""
    import tiktoken_ext.openai_public as public

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    try:
        yield
    finally:
        public.load_tiktoken_bpe = original


def _local_ranks_file(name: str) -> Path | None:
    folder = os.environ.get("TOKENPRISM_TIKTOKEN_DIR")
    if folder:
        candidate = Path(folder) / f"{name}.tiktoken"
        if candidate.is_file():
            return candidate
    return None


def encoding_on_disk(name: str) -> bool:
    """Whether an OpenAI encoding's ranks file is on this machine (so loading it needs no network):
    in $TOKENPRISM_TIKTOKEN_DIR or in tiktoken's download cache, which names a file by the SHA-1 of its URL.

    >>> encoding_on_disk("no_such_encoding")
    False
    """
    if _local_ranks_file(name) is not None:
        return True
    import hashlib
    import tempfile

    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return (Path(cache) / hashlib.sha1(url.encode()).hexdigest()).is_file()


def encoding_from_ranks_file(path: Path, *, name: str) -> tuple[Any, list[str]]:
    """A tiktoken Encoding of the OpenAI encoding `name` (its split pattern and special tokens) from a
    local ranks file. Ranks files by what they hold, under any name: tik_files.py."""
    import tiktoken
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    ranks = load_ranks(path)
    with ranks_instead_of_download(ranks):
        params = ENCODING_CONSTRUCTORS[name]()
    params["mergeable_ranks"] = ranks
    return tiktoken.Encoding(**params), [f"split pattern and special tokens of {name} (from the file name)"]


def load_named_encoding(name: str) -> tuple[Any, str, list[str]]:
    """(encoding, source, inferred) for an OpenAI encoding name: local file, tiktoken cache, or download."""
    local = _local_ranks_file(name)
    if local is not None:
        enc, inferred = encoding_from_ranks_file(local, name=name)
        return enc, str(local), inferred
    import tiktoken

    try:
        return tiktoken.get_encoding(name), f"tiktoken:{name}", []
    except ValueError as exc:
        raise TokenizerNotFound(f"unknown OpenAI encoding {name!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise TokenizerNotFound(
            f"cannot get OpenAI encoding {name!r} ({type(exc).__name__}): offline? pass a local ranks file "
            f"(-t path/to/{name}.tiktoken) or set TOKENPRISM_TIKTOKEN_DIR to a folder holding {name}.tiktoken"
        ) from None


def from_encoding_name(spec: str) -> TiktokenTokenizer | None:
    """The OpenAI encoding a spec names (an encoding name or a model alias), or None when it names none.

    >>> from_encoding_name("bert-base-uncased") is None
    True
    """
    encoding_name = encoding_for_alias(spec)
    if encoding_name is None:
        return None
    enc, source, inferred = load_named_encoding(encoding_name)
    alias = [] if encoding_name == spec else [f"{spec} uses the OpenAI encoding {encoding_name}"]
    return TiktokenTokenizer(enc, name=spec, source=source, inferred=alias + inferred)


class TiktokenTokenizer(Tokenizer):
    """A tiktoken `Encoding`. Special-token strings in the text are parsed as special tokens by
    default (tiktoken itself would raise) and the encoding notes it."""

    backend = "tiktoken"

    def __init__(self, encoding: Any, *, name: str, source: str, inferred: Sequence[str] = (), files: Sequence[str] = (),
                 config: dict[str, Any] | None = None, bos: str | None = None):
        super().__init__(name=name, source=source, inferred=inferred, files=files)
        self.encoding = encoding
        self.config = config or {}
        self._specials = dict(
            sorted(((s, encoding.encode_single_token(s)) for s in encoding.special_tokens_set), key=lambda kv: kv[1])
        )
        # the ids put before a text when special tokens are added (Llama-3's <|begin_of_text|>); none for OpenAI's
        self._prefix = [self._specials[bos]] if bos in self._specials else []
        self.chat_template = chat_template_from_config(self.config)
        self.model_max_length = max_length_from_config(self.config)
        self._piece_cache: dict[int, str] = {}

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    @property
    def base_vocab_size(self) -> int:
        return len(self.encoding._mergeable_ranks)

    @property
    def model_type(self) -> str:
        return "tiktoken BPE"

    @property
    def byte_level(self) -> bool:
        return True  # tiktoken cuts the text's UTF-8 bytes

    def roundtrip_checker(self) -> RoundTripCheck:
        from .roundtrip import ExactCheck

        return ExactCheck()

    def _cuts_hold_locally(self) -> bool:
        return True  # a split pattern whose words end at a space after a non-space (cuts.py)

    @property
    def special_tokens(self) -> dict[str, int]:
        return self._specials

    @property
    def roles(self) -> dict[str, str]:
        roles = {"eos": "<|endoftext|>"} if "<|endoftext|>" in self._specials else {}
        if "<|begin_of_text|>" in self._specials and "<|end_of_text|>" in self._specials:  # Llama-3's
            roles = {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>"}
        return {**roles, **{r: t for r, t in roles_from_config(self.config).items() if t in self._specials}}

    def _encode(self, text: str, *, add_special_tokens: bool, split_special_tokens: bool):
        if split_special_tokens:
            ids = self.encoding.encode(text, allowed_special=set(), disallowed_special=())
        else:
            ids = self.encoding.encode(text, allowed_special="all")
        if add_special_tokens and self._prefix:
            return self._prefix + ids, None, list(range(len(self._prefix)))
        return ids, None, ()

    def _encode_batch(self, texts: list[str], *, add_special_tokens: bool, split_special_tokens: bool):
        added = list(range(len(self._prefix))) if add_special_tokens else ()
        batch = self.encode_ids_batch(texts, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
        return [(ids, None, added) for ids in batch]

    def encode_ids_batch(
        self, texts: Sequence[str], *, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[list[int]]:
        """Ids only, through tiktoken's threaded batch encoder (OpenAI's encodings add no tokens around
        a text; Llama-3's puts <|begin_of_text|> first when `add_special_tokens`)."""
        threads = os.cpu_count() or 1  # tiktoken's default of 8 threads oversubscribes small machines
        special: dict[str, Any] = (dict(allowed_special=set(), disallowed_special=()) if split_special_tokens
                                   else dict(allowed_special="all"))
        if len(texts) <= threads:  # (a thread pool per call costs more than a few texts: a run's spot checks)
            batch = [self.encoding.encode(t, **special) for t in texts]
        else:
            batch = self.encoding.encode_batch(list(texts), num_threads=threads, **special)
        return [self._prefix + ids for ids in batch] if add_special_tokens and self._prefix else batch

    def encode(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False):
        enc = super().encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
        if not split_special_tokens and self._specials and any(s in enc.text for s in self._specials):
            enc.notes.append(
                "special-token strings in the text were parsed as special tokens (tiktoken itself would "
                "raise); pass --split-special-tokens to encode them as plain text"
            )
        return enc

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        if skip_special_tokens:
            ids = [i for i in ids if i not in self._special_ids]
        return self.encoding.decode(list(ids))

    def token_bytes(self, id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(id)

    def id_to_piece(self, id: int) -> str:
        piece = self._piece_cache.get(id)
        if piece is None:
            piece = self._piece_cache[id] = self.token_bytes(id).decode("utf-8", "backslashreplace")
        return piece

    def piece_to_id(self, piece: str) -> int | None:
        if piece in self._specials:
            return self._specials[piece]
        return self.encoding._mergeable_ranks.get(piece.encode("utf-8"))

    # --- how tokens are built (anatomy.py replays them) ----------------------------------------
    def model_rules(self) -> ModelRules:
        """The mergeable ranks, each token written in GPT-2's byte characters: a pair merges into the
        token their bytes make, and the lower that token's rank, the sooner."""
        from .model_rules import ModelRules

        rules = self.__dict__.get("_model_rules")
        if rules is None:
            table = _byte_chars()
            pieces = {token.decode("latin-1").translate(table): rank for token, rank in self.encoding._mergeable_ranks.items()}
            rules = self.__dict__["_model_rules"] = ModelRules(
                "bpe", pieces, rank=lambda a, b: pieces.get(a + b), rank_name="token rank", whole_words=True)
        return rules

    def model_words(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False) -> list[ModelWord]:
        """The words tiktoken's split pattern cuts from each stretch of text between special tokens."""
        import regex

        text = repair_surrogates(text)[0]
        ids = self._encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)[0]
        pattern, table, special = regex.compile(self.encoding._pat_str), _byte_chars(), self._special_ids
        words: list[ModelWord] = []
        i = 0
        while i < len(ids):
            end = i
            while end < len(ids) and ids[end] not in special:
                end += 1
            stretch = b"".join(self.token_bytes(t) for t in ids[i:end]).decode("utf-8")
            for match in pattern.finditer(stretch):
                data, first, have = match.group().encode("utf-8"), i, 0
                while have < len(data):  # the word's tokens: their bytes add up to the word's
                    have += len(self.token_bytes(ids[i]))
                    i += 1
                words.append(ModelWord(data.decode("latin-1").translate(table), first, tuple(ids[first:i])))
            i = end + 1
        return words

    def _is_valid_id(self, id: int) -> bool:
        try:
            self.encoding.decode_single_token_bytes(id)
        except KeyError:
            return False
        return True


def _byte_chars() -> dict[int, str]:
    """A str.translate table: each latin-1 character (one byte) → GPT-2's printable character for it."""
    return {b: c for b, c in bytes_to_unicode().items()}
