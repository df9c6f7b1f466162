"""The id engines tokenizers/fast.py chooses from: each turns many texts into their ids as one flat array,
and each builder says whether it can express a given tokenizer at all (None when it cannot).

- `gigatoken` (PyPI gigatoken): byte-level BPE from a tokenizer.json (GPT-2, Llama-3, Qwen2, StarCoder2 …),
  SentencePiece BPE with byte fallback (Llama 2, Phi-3), tiktoken ranks of the OpenAI encodings;
- `quicktok` (PyPI quicktok-v1): the encodings it ships (cl100k, o200k, Llama-3, Qwen), where the
  tokenizer's vocabulary is byte for byte the one it ships;
- `tiktoken`: a byte-level BPE tokenizer.json whose merges are its ranks in order (GPT-2, Qwen2 …),
  rewritten as tiktoken ranks + split pattern.

A builder's engine is only a candidate: `fast.choose_engine` trusts it after it has given the
reference backend's ids on every probe string. Every engine encodes as `encode_ids_batch` does by
default: nothing added around a text, special-token strings in it parsed as special tokens.
"""

from __future__ import annotations

import json
import os
import tempfile
from itertools import chain
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

if TYPE_CHECKING:
    import numpy as np

    from .base import Tokenizer

__all__ = ["FlatIds", "IdRows", "IdEngine", "ReferenceEngine", "BUILDERS", "version_of"]


class FlatIds(NamedTuple):
    """The ids of many texts in one array: text k's are flat[bounds[k]:bounds[k + 1]].

    >>> FlatIds.of([[1, 2], [], [3]]).bounds.tolist()
    [0, 2, 2, 3]
    """

    flat: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]]) -> FlatIds:
        import numpy as np  # (here, not above: `import tokenprism.tokenizers.fast` stays light for `count`)

        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        bounds = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(bounds[-1]))
        return cls(flat, bounds)

    @property
    def lengths(self) -> np.ndarray:
        return self.bounds[1:] - self.bounds[:-1]

    def row(self, k: int) -> list[int]:
        return self.flat[self.bounds[k] : self.bounds[k + 1]].tolist()

    def rows(self) -> IdRows:
        """The rows as a read-only sequence of id lists, each built when asked for."""
        return IdRows(self)


class IdRows(Sequence):
    """`FlatIds` seen as a list of id lists (what the round-trip checks and writers take), without
    building a Python int for every id up front."""

    __slots__ = ("ids",)

    def __init__(self, ids: FlatIds) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids.bounds) - 1

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self.ids.row(i) for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self.ids.row(k)


def engine_threads() -> int:
    """Threads an engine may use: $TOKENPRISM_THREADS (a Ray actor's CPUs), else every core."""
    given = os.environ.get("TOKENPRISM_THREADS", "")
    return int(given) if given.isdigit() and int(given) > 0 else (os.cpu_count() or 1)


def version_of(package: str) -> str:
    from importlib import metadata  # (here: ~10 ms to import, and `count` on a small folder never asks)

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


class IdEngine:
    """Texts → `FlatIds`, as `encode_ids_batch` gives them by default. `name` says which engine (and
    version) produced a number; `reference` is True for the tokenizer's own backend."""

    name: str = ""
    reference: bool = False

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class ReferenceEngine(IdEngine):
    """The tokenizer's own backend (its batch encoder), as a flat array."""

    reference = True

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.name = reference_name(tok)

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        return FlatIds.of(self.tok.encode_ids_batch(texts))


_BACKEND_PACKAGES = {"hf": "tokenizers", "tiktoken": "tiktoken", "sentencepiece": "sentencepiece"}


def reference_name(tok: Tokenizer) -> str:
    """How reports name the reference backend: "tokenizers 0.23.3", "tiktoken 0.14.0", "gguf (tokenprism)"."""
    package = _BACKEND_PACKAGES.get(tok.backend)
    return f"{package} {version_of(package)}" if package else f"{tok.backend} (tokenprism)"


# --- gigatoken ---------------------------------------------------------------------------------------
class GigatokenEngine(IdEngine):
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.name = f"gigatoken {version_of('gigatoken')}"

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        import numpy as np

        layout = self.engine.encode_batch(list(texts)).layout
        offsets = np.asarray(layout.offsets.data, dtype=np.int64)
        flat = np.asarray(layout.content.data)
        if offsets[0]:  # a view into a larger buffer (not seen, but cheap to allow)
            flat, offsets = flat[offsets[0] : offsets[-1]], offsets - offsets[0]
        return FlatIds(flat, offsets)


def _gigatoken(tok: Tokenizer) -> IdEngine | None:
    import gigatoken

    if tok.backend == "hf":
        raw = tok.backend_tokenizer
        if type(raw.model).__name__ != "BPE":
            return None  # WordPiece, Unigram: gigatoken reads BPE models only
        return GigatokenEngine(gigatoken.Tokenizer.from_json(raw.to_str()))  # (the JSON as it is: no parse)
    if tok.backend == "sentencepiece" and os.path.isfile(tok.source):
        return GigatokenEngine(gigatoken.Tokenizer.from_sentencepiece(tok.source))
    if tok.backend == "tiktoken":
        scheme = _gigatoken_scheme(tok.encoding._pat_str)
        if scheme is None:
            return None
        specials = dict(tok.special_tokens)
        if os.path.isfile(tok.source) and tok.source.endswith(".tiktoken"):  # its own ranks file (the probes check it)
            return GigatokenEngine(gigatoken.Tokenizer.from_tiktoken(tok.source, pretokenizer=scheme, special_tokens=specials))
        with _ranks_file(tok.encoding._mergeable_ranks) as path:
            return GigatokenEngine(gigatoken.Tokenizer.from_tiktoken(path, pretokenizer=scheme, special_tokens=specials))
    return None


def _gigatoken_scheme(pattern: str) -> str | None:
    """gigatoken's name for a tiktoken split pattern (it implements a few by name, not by regex)."""
    from tiktoken_ext import openai_public as public

    known = {"gpt2": public.r50k_base, "gpt4": public.cl100k_base, "o200k": public.o200k_base}
    for scheme, constructor in known.items():
        try:
            with _no_download():
                if constructor()["pat_str"] == pattern:
                    return scheme
        except Exception:  # noqa: BLE001 - a constructor of another tiktoken version
            continue
    return None


class _no_download:
    """Call tiktoken's encoding constructors for their patterns without reading any ranks."""

    def __enter__(self) -> None:
        import tiktoken_ext.openai_public as public

        self.original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = lambda *a, **k: {}

    def __exit__(self, *exc: object) -> None:
        import tiktoken_ext.openai_public as public

        public.load_tiktoken_bpe = self.original


class _ranks_file:
    """A temporary .tiktoken file holding `ranks` (gigatoken reads ranks from a file only)."""

    def __init__(self, ranks: dict[bytes, int]) -> None:
        import base64

        fd, self.path = tempfile.mkstemp(suffix=".tiktoken", prefix="tokenprism-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(base64.b64encode(t) + b" %d\n" % r for t, r in sorted(ranks.items(), key=lambda kv: kv[1])))

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc: object) -> None:
        os.unlink(self.path)


# --- quicktok ----------------------------------------------------------------------------------------
class QuicktokEngine(IdEngine):
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.threads = engine_threads()
        self.name = f"quicktok {version_of('quicktok-v1')} ({engine.name})"

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        import numpy as np

        flat, offsets = self.engine.encode_batch(list(texts), self.threads, True)
        return FlatIds(flat, np.asarray(offsets, dtype=np.int64))


#: quicktok's bundled encodings, by the vocabulary size (ids, specials included) they have.
_QUICKTOK_BY_SIZE = {100277: "cl100k_base", 200019: "o200k_base", 201088: "o200k_harmony", 128256: "llama3",
                     151665: "qwen3", 151669: "qwen3", 151643: "qwen3"}


def _quicktok(tok: Tokenizer) -> IdEngine | None:
    import quicktok

    name = _QUICKTOK_BY_SIZE.get(tok.vocab_size) or _QUICKTOK_BY_SIZE.get(tok.base_vocab_size)
    if name is None or not tok.byte_level:
        return None
    engine = quicktok.get_encoding(name)
    # its vocabulary must be this tokenizer's, byte for byte (the probes then check the cutting)
    table = tok.byte_table()
    specials = set(tok.special_tokens.values())
    for i in range(min(engine.n_vocab, len(table))):
        if i in specials or engine.is_special_token(i):
            continue
        try:
            if engine.decode_single_token_bytes(i) != table[i]:
                return None
        except (KeyError, ValueError, RuntimeError):
            if table[i]:
                return None
    return QuicktokEngine(engine)


# --- tiktoken, for a byte-level BPE tokenizer.json ---------------------------------------------------
class TiktokenEngine(IdEngine):
    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding
        self.threads = engine_threads()
        self.name = f"tiktoken {version_of('tiktoken')} (ranks from the tokenizer's merges)"

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        return FlatIds.of(self.encoding.encode_batch(list(texts), num_threads=self.threads, allowed_special="all"))


#: GPT-2's split pattern, which a ByteLevel pre-tokenizer with use_regex applies (tiktoken's r50k_base).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _tiktoken(tok: Tokenizer) -> IdEngine | None:
    if tok.backend != "hf" or not tok.byte_level:
        return None
    params = tiktoken_params(json.loads(tok.backend_tokenizer.to_str()), tok.byte_table())
    if params is None:
        return None
    import tiktoken

    return TiktokenEngine(tiktoken.Encoding(name=f"tokenprism-{tok.name}", **params))


def tiktoken_params(state: dict[str, Any], table: Sequence[bytes]) -> dict[str, Any] | None:
    """tiktoken.Encoding's arguments for a tokenizer.json (`table`: each id's bytes), or None when
    tiktoken cannot express it: a byte-level BPE with no normaliser, a GPT-2 or one-regex split, and
    merges whose results come in the order of their ids (tiktoken merges by the merged token's rank)."""
    model = state.get("model") or {}
    if (model.get("type") != "BPE" or state.get("normalizer") or model.get("byte_fallback") or model.get("dropout")
            or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix")):
        return None
    pattern = _split_pattern(state.get("pre_tokenizer"))
    added = {t["content"]: t["id"] for t in state.get("added_tokens") or []}
    if pattern is None or any(t.get("lstrip") or t.get("rstrip") or t.get("single_word") for t in state.get("added_tokens") or []):
        return None
    ranks = _ranks(model, set(added.values()), table)
    if ranks is None:
        return None
    return {"pat_str": pattern, "mergeable_ranks": ranks, "special_tokens": added}


def _split_pattern(pre: dict[str, Any] | None) -> str | None:
    steps = (pre or {}).get("pretokenizers", [pre]) if (pre or {}).get("type") == "Sequence" else [pre]
    if len(steps) == 1 and steps[0] and steps[0].get("type") == "ByteLevel":
        return GPT2_PATTERN if steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space") else None
    if len(steps) != 2:
        return None
    split, byte_level = steps
    if (split.get("type") != "Split" or split.get("behavior") != "Isolated" or split.get("invert")
            or "Regex" not in (split.get("pattern") or {}) or byte_level.get("type") != "ByteLevel"
            or byte_level.get("use_regex") or byte_level.get("add_prefix_space")):
        return None
    return split["pattern"]["Regex"]


def _ranks(model: dict[str, Any], added: set[int], table: Sequence[bytes]) -> dict[bytes, int] | None:
    """The vocabulary as tiktoken ranks (token bytes → id), if merging by id is merging by merge order."""
    ranks = {table[tid]: tid for tid in model.get("vocab", {}).values() if tid not in added and tid < len(table)}
    if len(set(ranks.values())) != len(ranks) or any(bytes([b]) not in ranks for b in range(256)):
        return None
    last, made = -1, set()
    for merge in model.get("merges", []):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        tid = model["vocab"].get(left + right)
        if tid is None or tid <= last or tid in made:
            return None
        last = tid
        made.add(tid)
    return ranks


#: The builders, fastest first: `choose_engine` takes the first whose engine passes the probes.
BUILDERS: dict[str, Callable[[Tokenizer], IdEngine | None]] = {
    "gigatoken": _gigatoken,
    "quicktok": _quicktok,
    "tiktoken": _tiktoken,
}
