"""GGUF backend: the tokenizer inside a llama.cpp / Ollama / LM Studio model file, giving llama.cpp's ids.

    tok = load_tokenizer("model.gguf")       # or -t model.gguf on the command line
    tok.encode("Hello world").ids            # what llama.cpp's llama_tokenize gives

Only the file's metadata is read (gguf_file). The vocabulary is set up as llama.cpp sets it up
(gguf_vocab); special tokens typed in the text are found first, longest first, as llama.cpp's
tokenizer_st_partition does; each remaining piece goes to llama.cpp's algorithm for the file's
`tokenizer.ggml.model` (gguf_algos, gguf_ugm); decoding is llama.cpp's detokenize.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .base import ModelWord, Tokenizer, TokenizerInfo, offsets_from_bytes, repair_surrogates, unicode_to_bytes
from .gguf_file import GGUFFile
from .gguf_vocab import BYTE, CONTROL, LSTRIP, NORMAL, RSTRIP, UNKNOWN, USER_DEFINED, Vocab, read_vocab

if TYPE_CHECKING:
    from .model_rules import ModelRules
    from .roundtrip import RoundTripCheck

__all__ = ["GGUFTokenizer", "from_gguf_file"]

_C_SPACE = " \t\n\v\f\r"  # C's isspace, which llama.cpp strips around special tokens
_SPACE = "\u2581"
_MODEL_TYPES = {"spm": "BPE", "wpm": "WordPiece", "ugm": "Unigram"}
_ROLES = ("bos", "eos", "unk", "pad", "sep", "mask")


def from_gguf_file(path: Path, name: str) -> Tokenizer:
    """The registry's loader for ``*.gguf`` files."""
    return GGUFTokenizer(path, name=name)


class GGUFTokenizer(Tokenizer):
    """The tokenizer of a GGUF file, as llama.cpp runs it."""

    backend = "gguf"

    def __init__(self, path: str | Path, *, name: str | None = None) -> None:
        path = Path(path)
        super().__init__(name=name or str(path), source=str(path), files=[str(path)])
        from .gguf_info import model_facts

        with GGUFFile(path) as gguf:
            self.vocab = vocab = read_vocab(gguf)
            self.facts = model_facts(gguf, vocab)
            template = gguf.typed("tokenizer.chat_template", str)
        self.chat_template = template
        self.model_max_length = self.facts.get("context_length")
        self.inferred = [*vocab.notes]
        for note in vocab.notes:
            if "pre-tokenizer" in note:
                warnings.warn(f"{path.name}: {note}", stacklevel=2)
        self._algorithm = _algorithm(vocab)
        self._cache = vocab.special_cache()
        self._pieces: dict[int, bytes] = {}
        self._specials = {vocab.tokens[i]: i for i in vocab.ids_with(CONTROL | UNKNOWN)}

    # --- facts --------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab.tokens)

    @property
    def model_type(self) -> str:
        if self.vocab.kind == "bpe":
            return "byte-level BPE" if self.vocab.byte_encode else "BPE"
        return _MODEL_TYPES[self.vocab.kind]

    @property
    def byte_level(self) -> bool:
        return self.vocab.kind == "bpe" and self.vocab.byte_encode

    @property
    def special_tokens(self) -> dict[str, int]:
        return self._specials

    @property
    def roles(self) -> dict[str, str]:
        ids, tokens = self.vocab.ids, self.vocab.tokens
        roles = {role: tokens[ids[role]] for role in _ROLES if role in ids}
        if self.vocab.kind == "wpm" and "bos" in ids:
            roles["cls"] = tokens[ids["bos"]]  # BERT's [CLS] is llama.cpp's BOS
        return roles

    @property
    def declared_normalizer(self) -> str | None:
        v = self.vocab
        if v.kind == "wpm":
            return f"llama.cpp WordPiece (lowercase={v.lowercase}, strip_accents={v.strip_accents})"
        if v.kind == "ugm" and v.charsmap:
            return "precompiled_charsmap"
        return None

    def _model_unk_id(self) -> int | None:
        return self.vocab.ids.get("unk")

    def info(self) -> TokenizerInfo:
        """The tokenizer's facts and the model file's (architecture, parameters, quantization, …).
        The chat template is shown as text; it is rendered only by `apply_chat_template`, in a sandbox."""
        return super().info()._replace(sections={"gguf": self.facts})

    # --- encoding -----------------------------------------------------------------------------
    def _partition(self, text: str, parse_special: bool) -> list[tuple[int, int, int | None]]:
        """The text cut around special tokens: (start, end, id) for a special token, (start, end, None)
        for plain text. Each special token, longest first, is looked for in every plain piece left."""
        pieces: list[tuple[int, int, int | None]] = [(0, len(text), None)] if text else []
        tokens, attrs = self.vocab.tokens, self.vocab.attrs
        for tid in self._cache:
            attr, token = attrs[tid], tokens[tid]
            if (not parse_special and attr & (CONTROL | UNKNOWN)) or token not in text:
                continue  # control tokens count only when parsing specials; user-defined ones always
            pieces = _split_on(text, pieces, token, tid, attr)
        return pieces

    def _encode(self, text: str, *, add_special_tokens: bool, split_special_tokens: bool):
        pieces = self._partition(text, parse_special=not split_special_tokens)
        ids, added, parts = self._encode_pieces(text, pieces, add_special_tokens)

        def offsets() -> list[tuple[int, int]]:
            return self._offsets_of(text, ids, parts, added)

        return ids, offsets, added

    def _encode_pieces(self, text: str, pieces: list, add_special: bool) -> tuple[list[int], list[int], list]:
        """Ids of the pieces, the indices of the tokens added around them, and for each piece
        (start, end, id or None, prefix added, first id index, id count) for the offsets."""
        v, algo = self.vocab, self._algorithm
        ids: list[int] = []
        added: list[int] = []
        parts: list[tuple[int, int, int | None, bool, int, int]] = []
        bos_first = add_special and (v.kind == "wpm" or v.add_bos) and "bos" in v.ids
        if bos_first:
            ids.append(v.ids["bos"])
            added.append(0)
        prev_special = True  # SentencePiece adds its space before the text and after each special token
        for start, end, tid in pieces:
            first = len(ids)
            prefix = False
            if tid is not None:
                ids.append(tid)
                prev_special = True
            elif v.kind == "spm":
                prefix = v.add_space_prefix and prev_special
                ids.extend(algo.tokenize(((" " if prefix else "") + text[start:end]).replace(" ", _SPACE)))
                prev_special = False
            else:
                ids.extend(algo.tokenize(text[start:end]))
            parts.append((start, end, tid, prefix, first, len(ids) - first))
        last = {"wpm": "sep"}.get(v.kind, "eos")
        if add_special and (v.kind == "wpm" or v.add_eos) and last in v.ids:
            ids.append(v.ids[last])
            added.append(len(ids) - 1)
        return ids, added, parts

    def _offsets_of(self, text: str, ids: list[int], parts: list, added: list[int]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if added and added[0] == 0:
            spans.append((0, 0))
        surface = self.token_bytes
        for start, end, tid, prefix, first, count in parts:
            piece = text[start:end]
            if tid is not None:
                spans.append((start, end))
            elif self.vocab.kind in ("wpm", "ugm"):
                found: list[tuple[int, int]] = []
                self._algorithm.tokenize(piece, found)
                spans.extend((start + s, start + e) for s, e in found)
            else:
                lead = 1 if prefix else 0
                walked = offsets_from_bytes(" " * lead + piece, [surface(t) for t in ids[first : first + count]])
                spans.extend((start + max(s - lead, 0), start + max(e - lead, 0)) for s, e in walked)
        if len(spans) < len(ids):
            spans.append((len(text), len(text)))
        return spans

    # --- decoding -----------------------------------------------------------------------------
    def _piece(self, tid: int, special: bool) -> bytes:
        """llama.cpp's token_to_piece: the bytes a token stands for (control tokens: nothing unless
        `special`; byte tokens: their byte; tokens of no known type: nothing)."""
        attr = self.vocab.attrs[tid]
        if not special and attr & (UNKNOWN | CONTROL):
            return b""
        cached = self._pieces.get(tid)
        if cached is None:
            cached = self._pieces[tid] = self._piece_bytes(tid, attr)
        return cached

    def _piece_bytes(self, tid: int, attr: int) -> bytes:
        text, v = self.vocab.tokens[tid], self.vocab
        if attr & (UNKNOWN | CONTROL | USER_DEFINED):
            return text.encode("utf-8", "surrogateescape")
        if attr & NORMAL:
            if v.kind == "bpe" and not v.escape_whitespaces:
                return _decode_byte_level(text)
            return text.replace(_SPACE, " ").encode("utf-8", "surrogateescape")
        if attr & BYTE:
            return bytes([int(text[3:5], 16)])
        return b""

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        v = self.vocab
        ids = list(ids)
        strip = v.add_space_prefix  # the space SentencePiece added before the text
        if skip_special_tokens and v.add_bos and ids and ids[0] == v.ids.get("bos"):
            strip, ids = False, ids[1:]
        if skip_special_tokens and v.add_eos and ids and ids[-1] == v.ids.get("eos"):
            ids = ids[:-1]
        out = bytearray()
        for tid in ids:
            piece = self._piece(tid, not skip_special_tokens)
            if strip and piece[:1] == b" ":
                piece = piece[1:]
            strip = False
            out += piece
        data = _clean_spaces(bytes(out)) if v.clean_spaces else bytes(out)
        return data.decode("utf-8", "replace")

    def id_to_piece(self, id: int) -> str:
        text = self.vocab.tokens[id]
        if not text.isascii() and any("\udc80" <= ch <= "\udcff" for ch in text):
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return text

    def piece_to_id(self, piece: str) -> int | None:
        return self.vocab.token_to_id.get(piece)

    def token_bytes(self, id: int) -> bytes:
        return self._piece(id, True)

    # --- how tokens are built (anatomy.py replays them; the tables are read in gguf_rules) -------
    def model_rules(self) -> ModelRules:
        from .gguf_rules import gguf_model_rules

        rules = self.__dict__.get("_model_rules")
        if rules is None:
            rules = self.__dict__["_model_rules"] = gguf_model_rules(self)
        return rules

    def model_words(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False) -> list[ModelWord]:
        from .gguf_rules import gguf_model_words

        return gguf_model_words(self, repair_surrogates(text)[0], add_special_tokens=add_special_tokens,
                                split_special_tokens=split_special_tokens)

    def roundtrip_checker(self) -> RoundTripCheck:
        from .roundtrip import ByteJoinCheck, DecodeCheck

        # llama.cpp's clean-up of spaces before punctuation changes the text: only decoding can tell
        if self.byte_level and not self.vocab.clean_spaces:
            return ByteJoinCheck(self.byte_table)
        return DecodeCheck(self.decode_batch)


def _algorithm(vocab: Vocab) -> Any:
    from .gguf_algos import BPE, SPM, WPM
    from .gguf_ugm import UGM

    return {"spm": SPM, "bpe": BPE, "wpm": WPM, "ugm": UGM}[vocab.kind](vocab)


def _split_on(text: str, pieces: list, token: str, tid: int, attr: int) -> list:
    """Every occurrence of `token` in the plain pieces becomes its own piece; llama.cpp's LSTRIP and
    RSTRIP drop the whitespace beside it."""
    out: list[tuple[int, int, int | None]] = []
    for start, end, other in pieces:
        if other is not None:
            out.append((start, end, other))
            continue
        pos = start
        while (found := text.find(token, pos, end)) >= 0:
            left = found
            if attr & LSTRIP:
                while left > pos and text[left - 1] in _C_SPACE:
                    left -= 1
            if left > pos:
                out.append((pos, left, None))
            out.append((found, found + len(token), tid))
            pos = found + len(token)
            if attr & RSTRIP:
                while pos < end and text[pos] in _C_SPACE:
                    pos += 1
        if pos < end:
            out.append((pos, end, None))
    return out




def _decode_byte_level(text: str) -> bytes:
    """llama.cpp's llama_decode_text: each GPT-2 character back to its byte; a character outside the
    table is written as llama.cpp writes it ("[UNK_BYTE_0x…" + the token + "]")."""
    out, byte_of = bytearray(), unicode_to_bytes()
    for ch in text:
        b = byte_of.get(ch)
        if b is not None:
            out.append(b)
        else:
            raw = "\ufffd" if "\udc80" <= ch <= "\udcff" else ch
            out += b"[UNK_BYTE_0x" + raw.encode("utf-8").hex().encode() + text.encode("utf-8", "surrogateescape") + b"]"
    return bytes(out)


def _clean_spaces(data: bytes) -> bytes:
    """llama.cpp's clean_up_tokenization_spaces, its three passes run in place as llama.cpp runs them:
    " ?" " !" " ." " ," lose their space; an apostrophe between spaces loses both; " 's" " 'm" " 're"
    " 've" lose their space."""
    t = bytearray(data)
    n = len(t)
    total = 1 if n else 0
    for i in range(1, n):
        x = t[i]
        if t[i - 1] == 0x20 and x in b"?!.,":
            total -= 1
        t[total] = x
        total += 1
    n, total, i = total, 1 if total else 0, 1
    while i < n:
        x = t[i]
        if x == 0x27 and i + 1 < n and t[i - 1] == 0x20 and t[i + 1] == 0x20:
            total -= 1
            i += 1
            t[i] = 0  # as llama.cpp does: the next pass sees no space there
        t[total] = x
        total += 1
        i += 1
    n, total = total, 1 if total else 0
    for i in range(1, n):
        x = t[i]
        if t[i - 1] == 0x20 and x == 0x27 and i + 1 < n:
            x1 = t[i + 1]
            if x1 in b"sm" or (x1 in b"rv" and i + 2 < n and t[i + 2] == 0x65):
                total -= 1
        t[total] = x
        total += 1
    return bytes(t[:total])
