"""Hugging Face `tokenizers` backend: a `tokenizers.Tokenizer` with the settings transformers reads
beside it (roles, chat template, max length), and what the contract asks of it, read off its own
components (decoder, normaliser, pre-tokenizer, model). Building one from files: hf_files.py.
"""

from __future__ import annotations

import json
from itertools import compress
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .base import ModelWord, Tokenizer, bytes_to_unicode, repair_surrogates, unicode_to_bytes
from .config import chat_template_from_config, max_length_from_config, roles_from_config

if TYPE_CHECKING:
    from .model_rules import ModelRules
    from .roundtrip import RoundTripCheck

# bytes_to_unicode lives in base.py (every byte-level vocabulary shares it); still importable from here.
__all__ = ["HFTokenizer", "bytes_to_unicode"]


def piece_decoder(decoder_state: dict[str, Any] | None) -> Callable[[str], bytes]:
    """A function piece → the bytes that piece stands for, read off the tokenizer's decoder.

    Byte-level pieces map character by character through GPT-2's table; WordPiece drops its "##";
    SentencePiece-style pieces turn "▁" into a space and ``<0xNN>`` into that byte.
    """
    kinds = _decoder_kinds(decoder_state)
    if "ByteLevel" in kinds:
        table = unicode_to_bytes()

        def byte_level(piece: str) -> bytes:
            try:
                return bytes(table[c] for c in piece)
            except KeyError:  # an added token stored as plain text
                return piece.encode()

        return byte_level
    if "WordPiece" in kinds:
        prefix = _find(decoder_state, "prefix") or "##"
        return lambda piece: (piece[len(prefix):] if piece.startswith(prefix) else piece).encode()
    byte_fallback = "ByteFallback" in kinds

    def metaspace(piece: str) -> bytes:
        if byte_fallback and len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            try:
                return bytes([int(piece[3:5], 16)])
            except ValueError:
                pass
        return piece.replace("▁", " ").encode()

    return metaspace


def _decoder_kinds(state: dict[str, Any] | None) -> set[str]:
    if not state:
        return set()
    kinds = {state.get("type", "")}
    for inner in state.get("decoders", []) or []:
        kinds |= _decoder_kinds(inner)
    return kinds


def _find(state: dict[str, Any] | None, key: str) -> Any:
    if not state:
        return None
    if key in state:
        return state[key]
    for inner in state.get("decoders", []) or []:
        found = _find(inner, key)
        if found is not None:
            return found
    return None


def _state(component: Any) -> dict[str, Any] | None:
    """A component's own JSON (decoder, pre-tokenizer, normalizer): small, unlike the model's."""
    if component is None:
        return None
    return json.loads(component.__getstate__())


def _component_name(state: dict[str, Any]) -> str:
    """A short name for a normaliser: "NFKC", "BertNormalizer(lowercase, clean_text)", "NFD + Lowercase"."""
    kind = state.get("type", "?")
    if kind == "Sequence":
        return " + ".join(_component_name(s) for s in state.get("normalizers", []))
    if kind == "BertNormalizer":
        flags = [k for k in ("lowercase", "strip_accents", "clean_text") if state.get(k)]
        return f"BertNormalizer({', '.join(flags)})"
    return kind


def _pre_tokenizer_steps(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    state = state or {}
    return state.get("pretokenizers", [state]) if state.get("type") == "Sequence" else [state]


class HFTokenizer(Tokenizer):
    """A `tokenizers.Tokenizer` with the settings transformers would read beside it."""

    backend = "hf"

    def __init__(
        self,
        backend_tokenizer: Any,
        *,
        name: str,
        source: str,
        config: dict[str, Any] | None = None,
        default_roles: dict[str, str] | None = None,
        inferred: Sequence[str] = (),
        files: Sequence[str] = (),
    ) -> None:
        super().__init__(name=name, source=source, inferred=inferred, files=files)
        self.backend_tokenizer = backend_tokenizer
        self.config = config or {}
        self._split_copy: Any = None
        self._decoder = _state(backend_tokenizer.decoder)
        self._piece_bytes = piece_decoder(self._decoder)
        self._bytes_cache: dict[int, bytes] = {}
        self._roles = {**(default_roles or {}), **roles_from_config(self.config)}
        self.chat_template = chat_template_from_config(self.config)
        self.model_max_length = max_length_from_config(self.config)
        self._special = self._collect_special()

    # --- facts --------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.backend_tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def base_vocab_size(self) -> int:
        return self.backend_tokenizer.get_vocab_size(with_added_tokens=False)

    @property
    def model_type(self) -> str:
        kind = type(self.backend_tokenizer.model).__name__
        if kind == "BPE" and self.byte_level:
            return "byte-level BPE"
        return kind

    @property
    def byte_level(self) -> bool:
        """An HF tokenizer is byte-level when its decoder is (GPT-2's Ġ pieces)."""
        return "ByteLevel" in _decoder_kinds(self._decoder)

    @property
    def declared_normalizer(self) -> str | None:
        normalizer = self.backend_tokenizer.normalizer
        return None if normalizer is None else _component_name(_state(normalizer) or {})

    def _cuts_hold_locally(self) -> bool:
        """A pre-tokenizer that splits at whitespace (GPT-2's byte-level regex, a Split pattern, BERT's,
        Whitespace, Metaspace with split), and no normaliser that adds to the start of a text."""
        steps = _pre_tokenizer_steps(_state(self.backend_tokenizer.pre_tokenizer))
        splits = any(
            (kind == "ByteLevel" and step.get("use_regex", True)) or (kind == "Metaspace" and step.get("split", True))
            or kind in ("Split", "Whitespace", "WhitespaceSplit", "BertPreTokenizer")
            for step in steps for kind in [step.get("type")]
        )
        normalizer = _state(self.backend_tokenizer.normalizer) or {}
        return splits and "Prepend" not in json.dumps(normalizer)

    def _model_unk_id(self) -> int | None:
        model = self.backend_tokenizer.model
        unk_token = getattr(model, "unk_token", None)
        if unk_token:
            return self.backend_tokenizer.token_to_id(unk_token)
        if type(model).__name__ == "Unigram":
            return json.loads(model.__getstate__()).get("unk_id")
        return None

    @property
    def special_tokens(self) -> dict[str, int]:
        return self._special

    @property
    def roles(self) -> dict[str, str]:
        return {r: t for r, t in self._roles.items() if t in self._special or self.piece_to_id(t) is not None}

    def _collect_special(self) -> dict[str, int]:
        special = {
            tok.content: i for i, tok in self.backend_tokenizer.get_added_tokens_decoder().items() if tok.special
        }
        for content in self._roles.values():
            tid = self.backend_tokenizer.token_to_id(content)
            if tid is not None:
                special.setdefault(content, tid)
        return dict(sorted(special.items(), key=lambda kv: kv[1]))

    # --- primitives ---------------------------------------------------------------------------
    def _backend_for(self, split_special_tokens: bool) -> Any:
        if not split_special_tokens:
            return self.backend_tokenizer
        if self._split_copy is None:
            # A second tokenizer with encode_special_tokens on, so the shared one is never mutated
            # (the web server encodes from several threads).
            copy = type(self.backend_tokenizer).from_str(self.backend_tokenizer.to_str())
            copy.encode_special_tokens = True
            self._split_copy = copy
        return self._split_copy

    def _encode(self, text: str, *, add_special_tokens: bool, split_special_tokens: bool):
        # A batch of one: the same encoding as `encode`, but the batch call lets go of the GIL while
        # Rust works, so other Python threads (the web server's event loop and workers) run meanwhile.
        enc = self._backend_for(split_special_tokens).encode_batch([text], add_special_tokens=add_special_tokens)[0]
        return enc.ids, _LazyOffsets(enc), _LazyAdded(enc) if add_special_tokens else ()

    def _encode_batch(self, texts: list[str], *, add_special_tokens: bool, split_special_tokens: bool):
        encs = self._backend_for(split_special_tokens).encode_batch(texts, add_special_tokens=add_special_tokens)
        return [(e.ids, _LazyOffsets(e), _LazyAdded(e) if add_special_tokens else ()) for e in encs]

    def encode_ids_batch(
        self, texts: Sequence[str], *, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[list[int]]:
        """Ids only, through the backend's parallel fast path (no offsets): for corpus statistics."""
        raw = self._backend_for(split_special_tokens)
        fast = getattr(raw, "encode_batch_fast", raw.encode_batch)  # tokenizers >= 0.21 has the fast one
        return [e.ids for e in fast(list(texts), add_special_tokens=add_special_tokens)]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        # decode_batch, like encode_batch above, runs without the GIL
        return self.backend_tokenizer.decode_batch([list(ids)], skip_special_tokens=skip_special_tokens)[0]

    def decode_batch(self, batch: Sequence[Sequence[int]], *, skip_special_tokens: bool = False) -> list[str]:
        return self.backend_tokenizer.decode_batch(list(batch), skip_special_tokens=skip_special_tokens)

    def roundtrip_checker(self) -> RoundTripCheck:
        """Byte-level: by construction where the pipeline keeps every byte, else a join of the tokens'
        bytes; WordPiece: a look at the spacing first; anything else: decode."""
        from .roundtrip import ByteJoinCheck, ByteLevelCheck, DecodeCheck, WordPieceCheck

        if self.byte_level:
            added = self._added_ids_if_bytes_kept()
            return ByteJoinCheck(self.byte_table) if added is None else ByteLevelCheck(added, self.vocab_size, self.byte_table)
        decoder = self._decoder or {}
        if self.model_type == "WordPiece" and decoder.get("type") == "WordPiece":
            pieces = [self.backend_tokenizer.id_to_token(i) or "" for i in range(self.vocab_size)]
            return WordPieceCheck(pieces, decoder.get("prefix", "##"), self.byte_table, self.decode_batch)
        return DecodeCheck(self.decode_batch)

    def _added_ids_if_bytes_kept(self) -> list[int] | None:
        """The added tokens' ids, for a byte-level BPE whose cut keeps every byte of the text: no
        normaliser, a ByteLevel pre-tokenizer adding no prefix space and only splitting steps beside
        it, a BPE model holding a token for every byte UTF-8 can hold. None for any other."""
        raw = self.backend_tokenizer
        if raw.normalizer is not None or type(raw.model).__name__ != "BPE" or (self._decoder or {}).get("type") != "ByteLevel":
            return None
        steps = _pre_tokenizer_steps(_state(raw.pre_tokenizer))
        byte_levels = [p for p in steps if p.get("type") == "ByteLevel"]
        if (len(byte_levels) != 1 or byte_levels[0].get("add_prefix_space")
                or any(p.get("type") not in ("ByteLevel", "Split", "Digits", "Punctuation") for p in steps)):
            return None
        from .roundtrip import NEVER_IN_UTF8  # 0xC0, 0xC1 and 0xF5-0xFF never occur

        symbols = bytes_to_unicode()
        if any(raw.token_to_id(symbols[b]) is None for b in range(256) if b not in NEVER_IN_UTF8):
            return None
        return [i for i in raw.get_added_tokens_decoder() if i < self.vocab_size]

    def id_to_piece(self, id: int) -> str:
        piece = self.backend_tokenizer.id_to_token(id)
        if piece is None:
            raise KeyError(id)
        return piece

    def piece_to_id(self, piece: str) -> int | None:
        return self.backend_tokenizer.token_to_id(piece)

    def token_bytes(self, id: int) -> bytes:
        cached = self._bytes_cache.get(id)
        if cached is None:
            piece = self.id_to_piece(id)
            cached = piece.encode() if id in self._special_ids else self._piece_bytes(piece)
            self._bytes_cache[id] = cached
        return cached

    def _is_valid_id(self, id: int) -> bool:
        return self.backend_tokenizer.id_to_token(id) is not None

    # --- how tokens are built (anatomy.py replays them) ----------------------------------------
    def model_rules(self) -> ModelRules:
        """The model's tables, read from its own JSON (tokenizer.json, or as built from vocab + merges)."""
        rules = self.__dict__.get("_model_rules")
        if rules is None:
            rules = self.__dict__["_model_rules"] = model_rules_of(json.loads(self.backend_tokenizer.model.__getstate__()))
        return rules

    def model_words(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False) -> list[ModelWord]:
        """The words `tokenizers` cut (its word ids), each written as the model saw it: its tokens'
        strings joined (byte-fallback tokens back to their characters, an unknown token as its text)."""
        text = repair_surrogates(text)[0]
        enc = self._backend_for(split_special_tokens).encode_batch([text], add_special_tokens=add_special_tokens)[0]
        added = {i: t.content for i, t in self.backend_tokenizer.get_added_tokens_decoder().items()}
        # each property of a `tokenizers` Encoding builds a new list: read them once
        ids, values, offsets = enc.ids, enc.tokens, enc.offsets
        words: list[ModelWord] = []
        for group in _word_groups(ids, enc.word_ids, offsets, added, text):
            symbols = self._word_symbols([(ids[i], values[i], offsets[i]) for i in group], text)
            words.append(ModelWord(symbols, group[0], tuple(ids[i] for i in group)))
        return words

    def _word_symbols(self, tokens: list[tuple[int, str, tuple[int, int]]], text: str) -> str:
        """A word's tokens (id, string, offsets) → the word as the model saw it."""
        rules = self.model_rules()
        out, pending = [], bytearray()
        for k, (tid, value, (start, end)) in enumerate(tokens):
            if rules.byte_ids and len(value) == 6 and value.startswith("<0x") and value.endswith(">"):
                pending.append(int(value[3:5], 16))  # bytes of one character no piece covers
                continue
            if pending:
                out.append(pending.decode("utf-8", "replace"))
                pending.clear()
            if tid == rules.unk_id and rules.algorithm != "unigram":  # Unigram's unknown token keeps its text
                normalizer = self.backend_tokenizer.normalizer
                value = normalizer.normalize_str(text[start:end]) if normalizer is not None else text[start:end]
            elif rules.algorithm == "wordpiece" and k and value.startswith(rules.prefix):
                value = value[len(rules.prefix):]
            out.append(value)
        if pending:
            out.append(pending.decode("utf-8", "replace"))
        return "".join(out)


def model_rules_of(state: dict[str, Any]) -> ModelRules:
    """A `tokenizers` model's JSON (BPE, WordPiece or Unigram) → its tables."""
    from ..errors import UsageError
    from .model_rules import ModelRules

    kind = state.get("type")
    if kind == "BPE":
        if state.get("continuing_subword_prefix") or state.get("end_of_word_suffix") or state.get("dropout"):
            raise UsageError("this BPE model uses subword prefixes, suffixes or dropout: its merges cannot be replayed yet")
        vocab = state["vocab"]
        ranks = {(tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m)): r for r, m in enumerate(state["merges"])}
        unk = state.get("unk_token")
        return ModelRules(
            "bpe", vocab, unk_id=vocab.get(unk) if unk else None, fuse_unk=bool(state.get("fuse_unk")),
            byte_ids=_byte_piece_ids(vocab) if state.get("byte_fallback") else (),
            rank=lambda a, b: ranks.get((a, b)), rank_name="merge rank", whole_words=bool(state.get("ignore_merges")),
        )
    if kind == "WordPiece":
        vocab = state["vocab"]
        return ModelRules("wordpiece", vocab, unk_id=vocab.get(state.get("unk_token", "[UNK]")),
                          prefix=state.get("continuing_subword_prefix", "##"),
                          max_chars=state.get("max_input_chars_per_word", 100))
    if kind == "Unigram":
        pieces: dict[str, int] = {}
        scores: dict[str, float] = {}
        for i, (piece, score) in enumerate(state["vocab"]):
            pieces.setdefault(piece, i)
            scores.setdefault(piece, score)
        # tokenizers scores a character no piece covers 10 below the lowest piece, as SentencePiece does
        return ModelRules("unigram", pieces, unk_id=state.get("unk_id"), fuse_unk=True, scores=scores,
                          unk_score=min(scores.values(), default=0.0) - 10.0,
                          byte_ids=_byte_piece_ids(pieces) if state.get("byte_fallback") else ())
    raise UsageError(f"a {kind} model cuts no word into pieces: there is nothing to replay")


def _byte_piece_ids(vocab: dict[str, int]) -> list[int | None]:
    """The id of each byte's piece (<0x41>), for byte fallback."""
    return [vocab.get(f"<0x{b:02X}>") for b in range(256)]


def _word_groups(ids: list[int], word_ids: list[int | None], offsets: list[tuple[int, int]], added: dict[int, str],
                 text: str) -> list[list[int]]:
    """Token indices grouped by the word `tokenizers` cut them from. Tokens in no word (added around
    the text) and added tokens matched whole in the text are left out; an added token's id that the
    model produced itself (BERT's [UNK] for a word it cannot cover) stays in its word."""
    groups: list[list[int]] = []
    last = None
    for i, (tid, wid, (start, end)) in enumerate(zip(ids, word_ids, offsets)):
        if wid is None or (tid in added and text[start:end].strip() == added[tid].strip()):
            last = None
            continue
        if groups and wid == last and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
        last = wid
    return groups


class _LazyOffsets:
    """Offsets fetched from the backend encoding only when someone asks (building a list of
    tuples for millions of tokens would cost more than the encode itself)."""

    __slots__ = ("enc",)

    def __init__(self, enc: Any) -> None:
        self.enc = enc

    def __call__(self) -> list[tuple[int, int]]:
        return self.enc.offsets


class _LazyAdded:
    """Indices of the tokens the post-processor added ([CLS], [SEP], BOS…), fetched on demand."""

    __slots__ = ("enc",)

    def __init__(self, enc: Any) -> None:
        self.enc = enc

    def __call__(self) -> list[int]:
        mask = self.enc.special_tokens_mask
        return list(compress(range(len(mask)), mask))
