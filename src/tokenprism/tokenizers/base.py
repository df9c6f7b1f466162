"""The one `Tokenizer` interface every backend implements, and the behaviour they share.

A backend implements a handful of primitives (`_encode`, `decode`, `id_to_piece`, `token_bytes`,
`byte_level`, `_offsets` where its library gives none); this class turns them into the public verbs
with one policy for every backend: lone surrogates, special-token strings typed in the text, id
validation, fragments. The facts the analyses ask of a tokenizer (batch ids, the unknown id, whether
texts round-trip, its normaliser, the byte table) are answered here or by the backend, so that no
code outside `tokenizers/` needs to know which backend it holds.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, Sequence, TypeVar

from ..errors import InvalidTokenId, TokenizerFileError, TokenprismError, UsageError
from ..types import Decoding, Encoding, fragment_label, is_whole_utf8

if TYPE_CHECKING:
    from .fast_engines import IdEngine
    from .model_rules import ModelRules
    from .roundtrip import IdBatch, RoundTripCheck

__all__ = ["Tokenizer", "TokenizerInfo", "repair_surrogates", "guard", "MAX_VOCAB", "bytes_to_unicode", "unicode_to_bytes", "SPECIAL_ROLES",
           "ModelWord"]

_T = TypeVar("_T")

#: The most ids a tokenizer may have: ranks, ids and sizes read from a file are refused beyond it (64 times
#: the largest real vocabulary, Gemma's 262,144; a rank of 4e9 would make every per-id table 30 GiB).
MAX_VOCAB = 1 << 24

#: Roles a special token can play, in the order `info` shows them.
SPECIAL_ROLES = ("bos", "eos", "unk", "pad", "cls", "sep", "mask")

_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LONE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_ASCII_INT = re.compile(r"\s*-?[0-9]+\s*", re.ASCII)


def repair_surrogates(text: str) -> tuple[str, list[str]]:
    """One policy for every backend: a split surrogate pair becomes the character it encodes,
    a lone surrogate becomes U+FFFD and is reported.

    Python strings can hold surrogates that UTF-8 cannot encode (tiktoken replaces them silently,
    HF tokenizers raises TypeError, sentencepiece raises RuntimeError), so we settle them first.

    >>> repair_surrogates("a\\ud83c\\udfb5b")
    ('a🎵b', [])
    >>> repair_surrogates("a\\ud800b")[0]
    'a\\ufffdb'
    """
    if not _SURROGATE.search(text):
        return text, []
    # 'surrogatepass' then decode joins valid high+low pairs into one code point.
    joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    notes = []
    fixed = joined.count("\ufffd") - text.count("\ufffd")
    if fixed:
        first = _LONE.search(text).start()  # type: ignore[union-attr]
        # where its U+FFFD stands in the repaired text (each pair before it became one character)
        at = first - len(_PAIR.findall(text, 0, first))
        notes.append(
            f"replaced {fixed} lone surrogate(s) with U+FFFD (first at character {at}): "
            "they are not valid Unicode text"
        )
    return joined, notes


def guard(action: str, path: str | Path, fn: Callable[[], _T]) -> _T:
    """The safety boundary around a backend call that reads a file: whatever the backend raises
    becomes a `TokenizerFileError` naming the file. The Rust side can panic, and
    `pyo3_runtime.PanicException` derives from BaseException, so it is caught here too.

    >>> guard("load", "x.json", lambda: 1 / 0)
    Traceback (most recent call last):
    tokenprism.errors.TokenizerFileError: cannot load x.json: division by zero
    """
    try:
        return fn()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - PanicException is a BaseException
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TokenizerFileError(f"cannot {action} {path}: {reason[:200]}") from None


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table, used by every byte-level BPE (``Ġ`` is the space byte).

    Printable Latin-1 bytes map to themselves; the other 68 are shifted to U+0100 and up so that
    every byte has a visible, non-whitespace character.
    """
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, shift = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    """The inverse of `bytes_to_unicode`: a byte-level piece's character → the byte it stands for."""
    return {c: b for b, c in bytes_to_unicode().items()}


class TokenizerInfo(NamedTuple):
    """What `tokenprism info` shows: what was loaded, from where, and what it is."""

    name: str
    source: str
    backend: str
    model_type: str
    vocab_size: int
    base_vocab_size: int
    special_tokens: dict[str, int]
    roles: dict[str, str]
    chat_template: bool
    inferred: Sequence[str] = ()
    files: Sequence[str] = ()
    #: facts a backend knows beyond the tokenizer, by section name (a GGUF file's model: "gguf")
    sections: dict[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokenizer": self.name,
            "source": self.source,
            "backend": self.backend,
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "base_vocab_size": self.base_vocab_size,
            "special_tokens": [
                {"token": t, "id": i, "role": ", ".join(self.roles_of(t)) or None}
                for t, i in self.special_tokens.items()
            ],
            "chat_template": self.chat_template,
            "inferred": list(self.inferred),
            "files": list(self.files),
            **(self.sections or {}),
        }

    def roles_of(self, token: str) -> list[str]:
        """Every role a special token plays, in `SPECIAL_ROLES` order (GPT-2's ``<|endoftext|>``:
        bos, eos and unk).

        >>> TokenizerInfo("t", "", "hf", "BPE", 1, 1, {"<e>": 0}, {"bos": "<e>", "eos": "<e>"}, False).roles_of("<e>")
        ['bos', 'eos']
        """
        return [r for r in sorted(self.roles, key=_role_order) if self.roles[r] == token]

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def _role_order(role: str) -> int:
    return SPECIAL_ROLES.index(role) if role in SPECIAL_ROLES else len(SPECIAL_ROLES)


class ModelWord(NamedTuple):
    """One word of a text as the tokenizer's model cut it: what `tokenprism.explain_token` replays.

    `symbols` is the word in the model's own alphabet, after normalising and pre-tokenizing (GPT-2's
    byte characters ``Ġhello``, SentencePiece's ``▁Hello``, BERT's ``hello``); `ids` are the tokens the
    tokenizer gave it, the first of them at index `first` of the text's encoding.
    """

    symbols: str
    first: int
    ids: tuple[int, ...]


class Tokenizer(ABC):
    """Text → ids and back, for any backend. Get one with `tokenprism.load_tokenizer(spec)`.

    >>> tok = load_tokenizer("gpt2")                      # doctest: +SKIP
    >>> tok.encode("Hello world").ids                     # doctest: +SKIP
    [15496, 995]
    """

    #: the backend's short name: "hf", "tiktoken", "sentencepiece"
    backend: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every backend's `decode` takes a bare id as well as a list, as transformers' does: decode(3323).
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("decode")
        if own is not None and not getattr(own, "takes_one_id", False):
            cls.decode = _taking_one_id(own)  # type: ignore[method-assign]
        # Every call into a backend passes the safety boundary: a Rust panic, an overflow, a backend's
        # own exception becomes one TokenizerFileError line (a malformed file can load and fail later).
        for method, action in _BACKEND_CALLS.items():
            own = cls.__dict__.get(method)
            if own is not None and not getattr(own, "guarded", False):
                setattr(cls, method, _behind_guard(own, action))

    def __init__(self, *, name: str, source: str, inferred: Sequence[str] = (), files: Sequence[str] = ()):
        self.name = name
        self.source = source
        self.inferred = list(inferred)
        self.files = list(files)
        self.chat_template: str | None = None
        self.model_max_length: int | None = None

    # --- what a backend provides -------------------------------------------------------------
    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Every id this tokenizer can produce is below this (added tokens included)."""

    @property
    @abstractmethod
    def model_type(self) -> str:
        """"BPE", "byte-level BPE", "WordPiece", "Unigram" or "tiktoken BPE"."""

    @property
    @abstractmethod
    def special_tokens(self) -> dict[str, int]:
        """Special-token string → id."""

    @property
    def roles(self) -> dict[str, str]:
        """Role ("bos", "eos", "unk", …) → special-token string, where the tokenizer declares one."""
        return {}

    @property
    def base_vocab_size(self) -> int:
        return self.vocab_size

    @property
    @abstractmethod
    def byte_level(self) -> bool:
        """Whether the text is cut as UTF-8 bytes (GPT-2's Ġ, tiktoken): every text is representable,
        so such a tokenizer never produces an unknown token."""

    @property
    def declared_normalizer(self) -> str | None:
        """The normaliser the tokenizer's files name ("NFKC", "BertNormalizer(lowercase)"), if any."""
        return None

    def _model_unk_id(self) -> int | None:
        """The unknown id the model itself declares, for tokenizers whose config names no unk token."""
        return None

    @abstractmethod
    def _encode(
        self, text: str, *, add_special_tokens: bool, split_special_tokens: bool
    ) -> tuple[list[int], list[tuple[int, int]] | None, list[int]]:
        """Backend call: (ids, char offsets or None if not known cheaply, indices of added tokens)."""

    def _encode_batch(
        self, texts: list[str], *, add_special_tokens: bool, split_special_tokens: bool
    ) -> list[tuple[list[int], list[tuple[int, int]] | None, list[int]]]:
        return [
            self._encode(t, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)
            for t in texts
        ]

    @abstractmethod
    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """Ids → text, as the backend decodes them (ids assumed valid; see `decode_tokens`)."""

    def decode_batch(self, batch: Sequence[Sequence[int]], *, skip_special_tokens: bool = False) -> list[str]:
        """Many id lists → texts, through the backend's batch decoder where it has one."""
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in batch]

    def encode_ids_batch(
        self, texts: Sequence[str], *, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[list[int]]:
        """Ids only (no offsets, no `Encoding`), for many texts, through the backend's fastest batch
        path: what corpus statistics and FIM data need. Note the default: no tokens added around a text.

        >>> load_tokenizer("gpt2").encode_ids_batch(["Hello world", "hi"])    # doctest: +SKIP
        [[15496, 995], [5303]]
        """
        results = self._encode_batch(
            [repair_surrogates(t)[0] for t in texts],
            add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens,
        )
        return [list(ids) for ids, _, _ in results]

    def ids_engine(self) -> IdEngine:
        """The engine id-only work uses (count, corpus, FIM shards, ``tokenize --ids-only``): the fastest
        installed one that gives this backend's ids on every probe string, else this backend itself.
        Chosen on first use and kept; see tokenizers/fast.py (and `CheckedIds` for the run-time checks).

        >>> load_tokenizer("gpt2").ids_engine().name                 # doctest: +SKIP
        'gigatoken 0.10.0'
        """
        from .fast import engine_for

        return engine_for(self)

    def roundtrip_checker(self) -> RoundTripCheck:
        """How to tell, for a batch of texts and their ids, whether decoding gives each text back.
        Backends return a faster check where they know one; this one decodes (joins the tokens' bytes
        for a byte-level tokenizer, which decodes to exactly those)."""
        from .roundtrip import ByteJoinCheck, DecodeCheck

        return ByteJoinCheck(self.byte_table) if self.byte_level else DecodeCheck(self.decode_batch)

    @abstractmethod
    def id_to_piece(self, id: int) -> str:
        """The raw vocab entry of an id: ``Ġhello``, ``##ing``, ``▁the``, ``<0xF0>``."""

    @abstractmethod
    def token_bytes(self, id: int) -> bytes:
        """The bytes an id stands for in decoded text (special tokens: their string's UTF-8)."""

    def piece_to_id(self, piece: str) -> int | None:
        return None

    def byte_table(self) -> list[bytes]:
        """Every id's bytes, by id (b"" for an id in the range that names no token), built once per
        loaded tokenizer: for joining many tokens' bytes at C speed, and for finding tokens by their
        bytes (token healing)."""
        table = self.__dict__.get("_byte_table")
        if table is None:
            table = []
            for i in range(self.vocab_size):
                try:
                    table.append(self.token_bytes(i))
                except (KeyError, ValueError):  # a gap in the id range names no token
                    table.append(b"")
            self.__dict__["_byte_table"] = table
        return table

    def _is_valid_id(self, id: int) -> bool:
        """False for ids inside the range that name no token (tiktoken's ranks have gaps)."""
        return True

    # --- facts the analyses ask for ----------------------------------------------------------
    @property
    def unknown_id(self) -> int | None:
        """The id this tokenizer gives to text it cannot represent, or None when it has none that fires.

        Read from the declared unk role, else from the model itself (a tokenizer.json may declare
        none; its Unigram/WordPiece model still has one). Byte-level tokenizers name an "unk"
        (GPT-2: <|endoftext|>) that text never produces: None.

        >>> load_tokenizer("bert-base-uncased").unknown_id               # doctest: +SKIP
        100
        """
        cached = self.__dict__.get("_unknown_id", ...)
        if cached is not ...:
            return cached
        unk = self.roles.get("unk")
        tid = self.piece_to_id(unk) if unk else None
        if tid is None:
            tid = self._model_unk_id()
        if tid is not None and self.byte_level:
            tid = None
        self.__dict__["_unknown_id"] = tid
        return tid

    def round_trips(self, batch: IdBatch) -> list[bool]:
        """For each text of `batch`, whether decoding its ids gives it back exactly; the same
        verdicts as decoding each one, found faster where the backend knows how.

        >>> tok.round_trips(IdBatch.of(texts, tok.encode_ids_batch(texts)))    # doctest: +SKIP
        [True, False]
        """
        check = self.__dict__.get("_roundtrip_check")
        if check is None:  # built once per loaded tokenizer: some checks precompute per-id tables
            check = self.__dict__["_roundtrip_check"] = self.roundtrip_checker()
        return check(batch)

    def _offsets(self, text: str, ids: list[int]) -> list[tuple[int, int]]:
        """Character offsets for backends whose encode gives none: walk the token bytes."""
        return offsets_from_bytes(text, [self.token_bytes(i) for i in ids])

    # --- the public verbs --------------------------------------------------------------------
    def is_special(self, id: int) -> bool:
        return id in self._special_ids

    @property
    def _special_ids(self) -> frozenset[int]:
        cached = self.__dict__.get("_special_id_set")
        if cached is None:
            cached = self.__dict__["_special_id_set"] = frozenset(self.special_tokens.values())
        return cached

    def encode(
        self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False
    ) -> Encoding:
        """Text → `Encoding`. Special-token strings in the text are parsed as special tokens unless
        `split_special_tokens`; the tokens the tokenizer adds around a text are added unless
        `add_special_tokens=False` (Hugging Face's defaults)."""
        text, notes = repair_surrogates(text)
        ids, offsets, added = self._encode(
            text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens
        )
        return Encoding(self, text, ids, offsets=offsets, added=added, notes=notes)

    def encode_batch(
        self, texts: Iterable[str], *, add_special_tokens: bool = True, split_special_tokens: bool = False
    ) -> list[Encoding]:
        """Many texts at once, through the backend's own batch encoder where it has one."""
        repaired = [repair_surrogates(t) for t in texts]
        results = self._encode_batch(
            [t for t, _ in repaired], add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens
        )
        return [
            Encoding(self, t, ids, offsets=offs, added=added, notes=notes)
            for (t, notes), (ids, offs, added) in zip(repaired, results)
        ]

    def count(self, text: str, *, add_special_tokens: bool = False, split_special_tokens: bool = False) -> int:
        """Number of tokens of a text (by default without the tokens added around it)."""
        text, _ = repair_surrogates(text)
        return len(
            self._encode(text, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens)[0]
        )

    def validate_ids(self, ids: Iterable[object]) -> list[int]:
        """Check ids before any backend sees them: the backends raise KeyError, OverflowError,
        IndexError or silently return "" for bad ones."""
        size = self.vocab_size
        checked = []
        for value in _id_list(ids):
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, str) and _ASCII_INT.fullmatch(value):  # not "٣" or "²": ids are ASCII
                    value = int(value)
                else:
                    raise InvalidTokenId(value, size)
            if not 0 <= value < size or not self._is_valid_id(value):
                raise InvalidTokenId(value, size)
            checked.append(value)
        return checked

    def label(self, id: int) -> str:
        """How one id is shown on its own: special tokens by name, fragments by their bytes."""
        if self.is_special(id):
            return self.id_to_piece(id)
        data = self.token_bytes(id)
        return data.decode("utf-8") if is_whole_utf8(data) else fragment_label(data)

    def decode_tokens(self, ids: Iterable[object], *, skip_special_tokens: bool = False) -> Decoding:
        """Ids → each id's piece and label, and the joined text; bad ids raise `InvalidTokenId`.

        >>> load_tokenizer("gpt2").decode_tokens([3351, 752]).labels    # doctest: +SKIP
        ['Sub', 'ject']
        """
        checked = self.validate_ids(ids)
        return Decoding(
            tokenizer=self.name,
            ids=checked,
            pieces=[self.id_to_piece(i) for i in checked],
            labels=[self.label(i) for i in checked],
            special=[self.is_special(i) for i in checked],
            fragment=[not self.is_special(i) and not is_whole_utf8(self.token_bytes(i)) for i in checked],
            text=self.decode(checked, skip_special_tokens=skip_special_tokens),
        )

    # --- how tokens are built: the backend's tables; tokenizers/anatomy.py replays them --------
    def model_rules(self) -> ModelRules:
        """The tables this tokenizer's model cuts words with (merge ranks, piece scores, the vocabulary)."""
        raise UsageError(f"{self.name}: the {self.backend} backend cannot show how its tokens are built")

    def model_words(
        self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False
    ) -> list[ModelWord]:
        """The words of `text` as the model saw them, in order, each with the ids it was given (as
        `encode` gives them). Tokens the model did not build (special tokens, tokens added around the
        text) belong to no word.

        >>> load_tokenizer("gpt2").model_words("Hello world")       # doctest: +SKIP
        [ModelWord(symbols='Hello', first=0, ids=(15496,)), ModelWord(symbols='Ġworld', first=1, ids=(995,))]
        """
        raise UsageError(f"{self.name}: the {self.backend} backend cannot show how its tokens are built")

    # --- where a long text may be cut (corpus statistics, streamed counting): tokenizers/cuts.py ----
    def cut_point(self, text: str, before: int, *, after: int = 0, decodes: bool = True) -> int | None:
        """The last position p, after < p <= before, where `text` may be cut: the ids of text[:p] and
        of text[p:], joined, are the ids of `text` (without added tokens), whatever text follows; with
        `decodes`, decoding the two apart also gives the text decoding the whole gives. None where no
        such place is found (always, for a tokenizer that a cut changes anywhere). `text` may be the
        buffer of a longer stream.

        >>> tok = load_tokenizer("gpt2"); text = "Hello world. Again"         # doctest: +SKIP
        >>> p = tok.cut_point(text, 14); text[:p], text[p:]                      # doctest: +SKIP
        ('Hello world.', ' Again')
        """
        from .cuts import cut_point

        return cut_point(self, text, before, after=after, decodes=decodes)

    def _cuts_hold_locally(self) -> bool:
        """Whether, by design, this tokenizer ends a word at a space that follows a non-space and
        begins the next one there, whatever text comes before or after (see cuts.py). Backends that
        know it say so; the default is never to cut."""
        return False

    def apply_chat_template(
        self, messages: list[dict[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        """Render a chat with the tokenizer's own Jinja template (as transformers does)."""
        from .chat import render_chat_template

        return render_chat_template(self, messages, add_generation_prompt=add_generation_prompt)

    def info(self) -> TokenizerInfo:
        return TokenizerInfo(
            name=self.name,
            source=self.source,
            backend=self.backend,
            model_type=self.model_type,
            vocab_size=self.vocab_size,
            base_vocab_size=self.base_vocab_size,
            special_tokens=dict(self.special_tokens),
            roles=dict(self.roles),
            chat_template=self.chat_template is not None,
            inferred=list(self.inferred),
            files=list(self.files),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.model_type}, vocab {self.vocab_size}>"


def _id_list(ids: Any) -> Any:
    """Ids as given, or a bare id (an int, a numpy integer, a string) as a list of one."""
    if isinstance(ids, (int, str)) or (hasattr(ids, "__index__") and not hasattr(ids, "__iter__")):
        return [ids]
    return ids


#: The backend calls `Tokenizer.__init_subclass__` puts behind the safety boundary, and what each does.
_BACKEND_CALLS = {"_encode": "encode", "_encode_batch": "encode", "encode_ids_batch": "encode", "decode": "decode",
                  "decode_batch": "decode"}


def _behind_guard(call: Callable[..., _T], action: str) -> Callable[..., _T]:
    """A backend method whose failures (anything but our own errors and Ctrl-C, panics included) are
    one TokenizerFileError naming the tokenizer."""

    @wraps(call)
    def guarded(self: Tokenizer, *args: Any, **kwargs: Any) -> _T:
        try:
            return call(self, *args, **kwargs)
        except (KeyboardInterrupt, SystemExit, GeneratorExit, TokenprismError):
            raise
        except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TokenizerFileError(f"{self.name}: the tokenizer failed to {action} ({type(exc).__name__}: {reason[:200]}); "
                                     "its files may be malformed") from None

    guarded.guarded = True  # type: ignore[attr-defined]
    guarded.takes_one_id = getattr(call, "takes_one_id", False)  # type: ignore[attr-defined]
    return guarded


def _taking_one_id(decode: Callable[..., str]) -> Callable[..., str]:
    """A backend's `decode` that also takes a bare id (see `Tokenizer.__init_subclass__`)."""

    @wraps(decode)
    def decode_ids(self: Tokenizer, ids: Any, **options: Any) -> str:
        return decode(self, _id_list(ids) if not isinstance(ids, str) else ids, **options)

    decode_ids.takes_one_id = True  # type: ignore[attr-defined]
    return decode_ids


def offsets_from_bytes(text: str, pieces: Sequence[bytes]) -> list[tuple[int, int]]:
    """Character spans of tokens whose bytes, joined, are the UTF-8 of `text`.

    A token that starts or ends inside a multi-byte character gets the span of the whole
    character(s) it touches, so its fragment still points at the character it is part of.
    Falls back to empty spans at the end once the bytes stop matching the text (the backend
    normalised something), rather than pointing at the wrong characters.
    """
    encoded = text.encode("utf-8")
    # char_index[b] = index of the character that byte b belongs to
    char_index: list[int] = []
    for ci, ch in enumerate(text):
        char_index.extend([ci] * len(ch.encode("utf-8")))
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(encoded)
    for data in pieces:
        size = len(data)
        if size == 0 or encoded[pos : pos + size] != data:
            # Bytes not at this position (an added special token, or normalisation): zero-width.
            spans.append((char_index[pos] if pos < n else len(text),) * 2)
            continue
        start = char_index[pos]
        end = char_index[pos + size - 1] + 1
        spans.append((start, end))
        pos += size
    return spans
