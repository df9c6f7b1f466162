"""SentencePiece backend: ``spiece.model``, ``tokenizer.model``, ``spm.model``.

By default it does what the sentencepiece library does (no BOS/EOS) unless a tokenizer_config.json
beside the file says `add_bos_token` / `add_eos_token`. Control symbols typed in the text (``</s>``)
are parsed as special tokens, as Hugging Face's tokenizers do; sentencepiece alone would split them.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Sequence

from ..errors import TokenizerFileError
from .base import ModelWord, Tokenizer, guard, repair_surrogates
from .config import chat_template_from_config, max_length_from_config, roles_from_config

if TYPE_CHECKING:
    from .model_rules import ModelRules
    from .roundtrip import RoundTripCheck

__all__ = ["SentencePieceTokenizer"]

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
_INNER_SPACE = re.compile("[^▁]▁")  # a piece that holds a space after a character (pieces cross words)


class SentencePieceTokenizer(Tokenizer):
    backend = "sentencepiece"

    def __init__(self, path: Path, *, name: str, config: dict[str, Any] | None = None, inferred: Sequence[str] = ()):
        import sentencepiece as spm

        super().__init__(name=name, source=str(path), inferred=inferred, files=[str(path)])
        check_model_proto(path)
        self.processor = guard("load SentencePiece model", path, lambda: spm.SentencePieceProcessor(model_file=str(path)))
        self.config = config or {}
        sp = self.processor
        self._size = sp.get_piece_size()
        # every piece must be text: sentencepiece loads a piece of bad UTF-8 and fails on it later
        pieces = guard("read the pieces of", path, lambda: sp.id_to_piece(list(range(self._size))))
        self._specials = {pieces[i]: i for i in range(self._size) if sp.is_control(i) or sp.is_unknown(i)}
        # Control symbols and user-defined symbols typed in the text are parsed; longest first so
        # that "<|endoftext|>" wins over a shorter symbol that prefixes it.
        self._parsed = sorted((p for p in self._specials if p and not sp.is_unknown(self._specials[p])), key=len, reverse=True)
        self._special_re = re.compile("|".join(map(re.escape, self._parsed))) if self._parsed else None
        self._add_bos = bool(self.config.get("add_bos_token", False)) and sp.bos_id() >= 0
        self._add_eos = bool(self.config.get("add_eos_token", False)) and sp.eos_id() >= 0
        self.chat_template = chat_template_from_config(self.config)
        self.model_max_length = max_length_from_config(self.config)

    @property
    def vocab_size(self) -> int:
        return self._size

    @property
    def model_type(self) -> str:
        # BPE models store -rank as the score (0, -1, -2, …); Unigram stores log-probabilities.
        sp = self.processor
        normal = (i for i in range(min(self._size, 2000)) if not (sp.is_control(i) or sp.is_byte(i) or sp.is_unknown(i)))
        scores = [sp.get_score(i) for i in normal]
        return "BPE" if scores and all(float(s).is_integer() for s in scores) else "Unigram"

    @property
    def byte_level(self) -> bool:
        return False  # pieces are text; byte pieces (<0xF0>) are only a fallback for characters not in the vocab

    @property
    def declared_normalizer(self) -> str | None:
        return self.normalizer_spec.name or None

    def _cuts_hold_locally(self) -> bool:
        """Spaces written as ▁ that no piece holds after another character (so a ▁ always begins a
        piece), and no ▁ put before every text it is given unless extra whitespace is removed first."""
        spec = self.normalizer_spec
        if not spec.escape_whitespaces or (spec.add_dummy_prefix and not spec.remove_extra_whitespaces):
            return False
        sp = self.processor
        return not any(_INNER_SPACE.search(sp.id_to_piece(i)) for i in range(self._size) if not sp.is_control(i))

    def _model_unk_id(self) -> int | None:
        unk = self.processor.unk_id()
        return unk if unk >= 0 else None

    @property
    def special_tokens(self) -> dict[str, int]:
        return self._specials

    @property
    def roles(self) -> dict[str, str]:
        sp = self.processor
        roles = {r: sp.id_to_piece(i) for r, i in (("bos", sp.bos_id()), ("eos", sp.eos_id()), ("unk", sp.unk_id()), ("pad", sp.pad_id())) if i >= 0}
        return {**roles, **roles_from_config(self.config)}

    # --- primitives -------------------------------------------------------------------------------
    def _segments(self, text: str, split_special_tokens: bool) -> list[tuple[int, str]]:
        """(start, segment) pieces of the text; a special-token string becomes its own segment."""
        # `in` is a fast C scan; the regex only runs when some special string is really there.
        if split_special_tokens or self._special_re is None or not any(p in text for p in self._parsed):
            return [(0, text)]
        segments, pos = [], 0
        for m in self._special_re.finditer(text):
            if m.start() > pos:
                segments.append((pos, text[pos : m.start()]))
            segments.append((m.start(), m.group()))
            pos = m.end()
        if pos < len(text):
            segments.append((pos, text[pos:]))
        return segments

    def _encode(self, text: str, *, add_special_tokens: bool, split_special_tokens: bool):
        segments = self._segments(text, split_special_tokens)
        if len(segments) == 1 and segments[0][1] == text and (split_special_tokens or text not in self._specials):
            ids = self.processor.encode(text)
        else:
            ids = []
            for _, seg in segments:
                ids.extend([self._specials[seg]] if seg in self._specials and not split_special_tokens else self.processor.encode(seg))
        bos = add_special_tokens and self._add_bos
        eos = add_special_tokens and self._add_eos
        if bos:
            ids.insert(0, self.processor.bos_id())
        if eos:
            ids.append(self.processor.eos_id())
        added = ([0] if bos else []) + ([len(ids) - 1] if eos else [])

        def offsets() -> list[tuple[int, int]]:
            core = self._span_offsets(text, split_special_tokens)
            return ([(0, 0)] if bos else []) + core + ([(len(text), len(text))] if eos else [])

        return ids, offsets, added

    @property
    def normalizer_spec(self) -> NormalizerSpec:
        """What the model does to text before cutting it (read from the model itself)."""
        spec = self.__dict__.get("_normalizer_spec")
        if spec is None:
            spec = self.__dict__["_normalizer_spec"] = normalizer_spec(self.processor.serialized_model_proto())
        return spec

    def encode_ids_batch(
        self, texts: Sequence[str], *, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[list[int]]:
        """Ids only, the ids `encode` gives, through sentencepiece's threaded batch encoder: a text
        holding a control symbol's string (``</s>``) goes through `encode`, which parses it unless
        `split_special_tokens` (so `corpus` and `count` agree). BOS/EOS are added as `encode` adds them."""
        texts = list(texts)
        batch = self.processor.encode(texts, num_threads=-1)
        if not split_special_tokens and self._special_re is not None:
            for k, text in enumerate(texts):
                if any(p in text for p in self._parsed):
                    batch[k] = self._encode(text, add_special_tokens=False, split_special_tokens=False)[0]
        bos = [self.processor.bos_id()] if add_special_tokens and self._add_bos else []
        eos = [self.processor.eos_id()] if add_special_tokens and self._add_eos else []
        return [bos + ids + eos for ids in batch] if bos or eos else batch

    def decode_native(self, batch: Sequence[Sequence[int]]) -> list[str]:
        """sentencepiece's own threaded decoder, which drops control symbols (`decode` keeps them,
        as Hugging Face does): what round-trip verdicts compare with."""
        return self.processor.decode(list(batch), num_threads=os.cpu_count() or 1)

    def roundtrip_checker(self) -> RoundTripCheck:
        """A join of the pieces' bytes (or, where the model normalises nothing, a look at the ids
        alone), with sentencepiece's decoder for the rest; a model that writes whitespace as a
        suffix is decoded throughout."""
        from .roundtrip import DecodeCheck, SentencePieceCheck

        plain, strips = self._plain_pieces()
        if plain is None:
            return DecodeCheck(self.decode_native)
        return SentencePieceCheck(plain, strips=strips, identity=self.normalizer_spec.identity,
                                  table=self.byte_table, decode=self.decode_native)

    def _plain_pieces(self) -> tuple[list[bool] | None, bool]:
        """(which ids decode as their bytes with ▁ as a space, whether decoding takes off a leading
        space), from probing the model; (None, False) for a model that treats whitespace as a suffix."""
        sp = self.processor
        n = sp.get_piece_size()
        plain = [not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)) for i in range(n)]
        pieces = [sp.id_to_piece(i) for i in range(n)]
        lead = next((i for i in range(n) if plain[i] and len(pieces[i]) > 1
                     and pieces[i].startswith("▁") and "▁" not in pieces[i][1:]), None)
        tail = next((i for i in range(n) if plain[i] and len(pieces[i]) > 1
                     and pieces[i].endswith("▁") and "▁" not in pieces[i][:-1]), None)
        suffix_rule = tail is not None and sp.decode([tail]) != pieces[tail].replace("▁", " ")
        strips = lead is not None and sp.decode([lead]) == pieces[lead][1:]
        return (None, False) if suffix_rule else (plain, strips)

    def _span_offsets(self, text: str, split_special_tokens: bool) -> list[tuple[int, int]]:
        """Offsets from sentencepiece's own spans (byte offsets into each segment → characters)."""
        spans: list[tuple[int, int]] = []
        for start, seg in self._segments(text, split_special_tokens):
            if seg in self._specials and not split_special_tokens:
                spans.append((start, start + len(seg)))
                continue
            char_at = _byte_to_char(seg)
            for p in self.processor.encode(seg, out_type="proto").pieces:
                b, e = p.begin, p.end
                cs = char_at[min(b, len(char_at) - 1)]
                ce = char_at[e - 1] + 1 if e > b else cs + (1 if p.piece.startswith("<0x") else 0)
                spans.append((start + cs, start + ce))
        return spans

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        sp = self.processor
        # sentencepiece drops control symbols when decoding; Hugging Face keeps them unless told to skip.
        out, run = [], []
        for i in ids:
            if self.is_special(i) and not sp.is_unknown(i):
                if run:
                    out.append(sp.decode(run))
                    run = []
                if not skip_special_tokens:
                    out.append(sp.id_to_piece(i))
            else:
                run.append(i)
        if run:
            out.append(sp.decode(run))
        return "".join(out)

    # --- how tokens are built (anatomy.py replays them) ----------------------------------------
    def model_rules(self) -> ModelRules:
        """The pieces, scores and types of the ModelProto, as sentencepiece's BPE or Unigram uses them."""
        rules = self.__dict__.get("_model_rules")
        if rules is None:
            rules = self.__dict__["_model_rules"] = model_rules_of(self.processor.serialized_model_proto())
        return rules

    def model_words(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False) -> list[ModelWord]:
        """Each stretch of text between special tokens, normalised as the model sees it (spaces as ▁,
        the dummy prefix): sentencepiece cuts each stretch whole."""
        text = repair_surrogates(text)[0]
        words: list[ModelWord] = []
        first = 1 if add_special_tokens and self._add_bos else 0
        for _, seg in self._segments(text, split_special_tokens):
            if seg in self._specials and not split_special_tokens:
                first += 1
                continue
            ids = self.processor.encode(seg)
            if ids:
                words.append(ModelWord(self.processor.normalize(seg), first, tuple(ids)))
            first += len(ids)
        return words

    def id_to_piece(self, id: int) -> str:
        return self.processor.id_to_piece(id)

    def piece_to_id(self, piece: str) -> int | None:
        tid = self.processor.piece_to_id(piece)
        return None if tid == self.processor.unk_id() and piece != self.processor.id_to_piece(tid) else tid

    def token_bytes(self, id: int) -> bytes:
        piece = self.processor.id_to_piece(id)
        if self.processor.is_byte(id):
            m = _BYTE_PIECE.fullmatch(piece)
            if m:
                return bytes([int(m.group(1), 16)])
        if id in self._special_ids:
            return piece.encode()
        return piece.replace("▁", " ").encode()


# SentencePiece's piece types (ModelProto.SentencePiece.Type)
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _BYTE, _UNUSED = 1, 2, 3, 4, 6, 5


def model_pieces(model_proto: bytes) -> list[tuple[str, float, int]]:
    """(piece, score, type) of every piece of a serialized ModelProto, by id."""
    out = []
    for field, value in proto_fields(model_proto):
        if field != 1 or not isinstance(value, bytes):
            continue
        fields = dict(proto_fields(value))
        piece, score = fields.get(1, b""), fields.get(2, 0)
        out.append((piece.decode("utf-8", "replace") if isinstance(piece, bytes) else "",
                    struct.unpack("<f", int(score).to_bytes(4, "little"))[0], int(fields.get(3, _NORMAL))))
    return out


def model_rules_of(model_proto: bytes) -> ModelRules:
    """A ModelProto's tables, with sentencepiece's rules: BPE merges the pair whose joined piece scores
    highest; Unigram scores a user-defined piece above any cut around it and an uncovered character
    10 below the lowest piece; with byte_fallback a character no piece covers becomes its bytes."""
    from .model_rules import ModelRules

    trainer = dict(proto_fields(next((v for f, v in proto_fields(model_proto) if f == 2 and isinstance(v, bytes)), b"")))
    pieces = model_pieces(model_proto)
    bpe = trainer.get(3, 1) == 2
    usable = (_NORMAL, _USER_DEFINED, _UNUSED) if bpe else (_NORMAL, _USER_DEFINED)
    index = {p: i for i, (p, _, kind) in reversed(list(enumerate(pieces))) if kind in usable}
    byte_ids: list[int | None] = [None] * 256
    for i, (p, _, kind) in enumerate(pieces):
        if kind == _BYTE and _BYTE_PIECE.fullmatch(p):
            byte_ids[int(p[3:5], 16)] = i
    unk = next((i for i, (_, _, kind) in enumerate(pieces) if kind == _UNKNOWN), None)
    common = {"unk_id": unk, "fuse_unk": True, "byte_ids": byte_ids if trainer.get(35) else ()}
    if bpe:
        score = {p: pieces[i][1] for p, i in index.items()}
        return ModelRules("bpe", index, rank=lambda a, b: -score[a + b] if a + b in score else None,
                          rank_name="−score", **common)
    normal = [s for _, s, kind in pieces if kind == _NORMAL]
    top = max([1.1754943508222875e-38, *normal])  # sentencepiece starts its maximum at FLT_MIN
    scores = {p: (len(p) * top + 1.0 if pieces[i][2] == _USER_DEFINED else pieces[i][1]) for p, i in index.items()}
    return ModelRules("unigram", index, scores=scores, unk_score=min(normal, default=0.0) - 10.0, **common)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("ends inside a number")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def proto_fields(data: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of each top-level field of a protobuf message: bytes for length-delimited
    fields, an int for varints and fixed-width numbers. ValueError where the data ends inside a field."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("ends inside a field")
            yield field, data[pos : pos + size]
            pos += size
        elif wire == 0:
            value, pos = _varint(data, pos)
            yield field, value
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise ValueError("ends inside a field")
            yield field, int.from_bytes(data[pos : pos + width], "little")
            pos += width
        else:
            raise ValueError(f"unexpected wire type {wire}")


def check_model_proto(path: Path) -> None:
    """Walk the top-level fields of a SentencePiece ModelProto. sentencepiece happily loads a file cut
    at a field boundary (it just has fewer pieces), so a truncated download would go unnoticed;
    a complete model always ends after its trainer_spec (2) and normalizer_spec (3)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        seen = {field for field, _ in proto_fields(data)}
    except ValueError as exc:
        raise TokenizerFileError(f"{path} is not a complete SentencePiece model ({exc}); the file is truncated or corrupt") from None
    if not {1, 2, 3} <= seen:
        raise TokenizerFileError(f"{path} is not a complete SentencePiece model (no pieces or trainer/normalizer spec); the file is truncated")


class NormalizerSpec(NamedTuple):
    """What a SentencePiece model does to text before cutting it (its NormalizerSpec message)."""

    name: str
    charsmap_bytes: int  # the size of its compiled normalisation rules (0: none)
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    escape_whitespaces: bool

    @property
    def identity(self) -> bool:
        """Text is kept as it is, but for spaces written as ▁ and the dummy prefix."""
        return self.name == "identity" and not self.charsmap_bytes and not self.remove_extra_whitespaces


def normalizer_spec(model_proto: bytes) -> NormalizerSpec:
    """The NormalizerSpec (field 3) of a serialized ModelProto, with the proto's defaults."""
    fields: dict[int, bytes | int] = {}
    for field, value in proto_fields(next((v for f, v in proto_fields(model_proto) if f == 3 and isinstance(v, bytes)), b"")):
        fields[field] = value
    name = fields.get(1, b"")
    return NormalizerSpec(
        name=name.decode("utf-8", "replace") if isinstance(name, bytes) else "",
        charsmap_bytes=len(fields[2]) if isinstance(fields.get(2), bytes) else 0,
        add_dummy_prefix=bool(fields.get(3, 1)),
        remove_extra_whitespaces=bool(fields.get(4, 1)),
        escape_whitespaces=bool(fields.get(5, 1)),
    )


def _byte_to_char(text: str) -> list[int]:
    index: list[int] = []
    for ci, ch in enumerate(text):
        index.extend([ci] * len(ch.encode("utf-8")))
    index.append(len(text))
    return index
