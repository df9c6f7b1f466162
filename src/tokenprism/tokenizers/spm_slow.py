"""A SentencePiece model read as one of transformers' slow tokenizer classes (spm_classes.py): the class's
special tokens parsed in the text, its text options, its ids and the tokens it puts around a text.

What transformers 4's `PreTrainedTokenizer.tokenize` + the class's `_tokenize`, `_convert_token_to_id` and
`build_inputs_with_special_tokens` do, in order:

1. lowercase the text outside special tokens (``do_lower_case``);
2. (``legacy=False``, T5 and LLaMA) spell ▁ as a space and put one ▁ before the text;
3. cut the text at special-token strings (longest first), the ones marked `lstrip` eating the spaces
   before them;
4. each stretch: ALBERT's `preprocess_text` (``remove_space``, quotes, ``keep_accents``), DeBERTa's
   punctuation split, then the model's own pieces; ALBERT's "9," rule;
5. pieces → the class's ids (fairseq's dictionary, Pegasus's offset, T5's sentinels);
6. the class's template around the ids.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UsageError
from .base import ModelWord, repair_surrogates
from .config import read_json_config, roles_from_config, settings_beside
from .spm import SentencePieceTokenizer, _byte_to_char
from .spm_classes import ROLE_ORDER, ResolvedClass, digit_comma, resolve_class, split_on_punctuation

if TYPE_CHECKING:
    from .roundtrip import RoundTripCheck

__all__ = ["SlowClassTokenizer", "from_model_file"]

_SPIECE = "▁"


def from_model_file(path: Path, name: str) -> SentencePieceTokenizer:
    """A SentencePiece .model, with tokenizer_config.json and special_tokens_map.json beside it: read as
    the transformers class they (or config.json's model_type) name, else as plain SentencePiece."""
    config = settings_beside(path)
    resolved = resolve_class(config, read_json_config(path.parent, "config.json"))
    if resolved is not None:
        return SlowClassTokenizer(path, name=name, config=config, resolved=resolved)
    plain = "no transformers class named (tokenizer_config.json's tokenizer_class, config.json's model_type): plain SentencePiece"
    return SentencePieceTokenizer(path, name=name, config=config, inferred=[plain])


class SlowClassTokenizer(SentencePieceTokenizer):
    """A SentencePiece model with a transformers class's template, options and ids."""

    def __init__(self, path: Path, *, name: str, config: dict[str, Any], resolved: ResolvedClass):
        super().__init__(path, name=name, config=config)
        spec = self.spec = resolved.spec
        self.options = {**spec.options, **{k: bool(config[k]) for k in spec.options if isinstance(config.get(k), bool)}}
        self._role_tokens = {**spec.tokens, **roles_from_config(config)}
        if "pad_token" in config and config["pad_token"] is None:
            self._role_tokens.pop("pad", None)
        self._build_ids(config)
        self._build_template(config)
        self._no_prefix: Any = None
        self.inferred = [*self.inferred, self._describe(resolved)]

    # --- ids: the model's pieces, shifted and joined by the class's own tokens ---------------------
    def _build_ids(self, config: dict[str, Any]) -> None:
        spec, sp = self.spec, self.processor
        extra_ids = config.get("extra_ids", 100) if spec.name.endswith("T5Tokenizer") else None
        tail = spec.tail[len(spec.tail) - extra_ids:] if isinstance(extra_ids, int) and 0 <= extra_ids < len(spec.tail) else spec.tail
        added: dict[str, int] = {t: i for i, t in enumerate(spec.head)}
        base = self._size + spec.offset
        added.update({t: base + i for i, t in enumerate(tail) if t not in added})
        declared = _declared_tokens(config)
        added.update({t: i for t, (i, _) in declared.items()})
        self._lstrip = {t for t, (_, flags) in declared.items() if flags.get("lstrip")}
        self._lstrip |= {self._role_tokens[r] for r in spec.lstrip if r in self._role_tokens}
        self._rstrip = {t for t, (_, flags) in declared.items() if flags.get("rstrip")}
        if spec.strip_tail:
            self._lstrip |= set(tail)
            self._rstrip |= set(tail)
        self._not_special = {t for t, (_, flags) in declared.items() if flags.get("special") is False}
        self._added = added
        # the class's tokens the model lacks get the next ids, in transformers' order
        wanted = [self._role_tokens[r] for r in ROLE_ORDER if r in self._role_tokens]
        wanted += [*spec.extra, *_additional(config)]
        self._named = set(wanted)
        next_id = self._distinct_tokens(max([base + len(tail) - 1, *added.values(), self._size - 1]) + 1)
        for token in dict.fromkeys(wanted):
            if self._piece_id(token) is None:
                self._added[token] = next_id
                next_id += 1
        self._id_token = {i: t for t, i in self._added.items()}
        self._size_all = max([self._size + spec.offset - 1, *self._id_token]) + 1
        self._sp_to_id = [self._map_piece(i) for i in range(self._size)]
        controls = {sp.id_to_piece(i): self._sp_to_id[i] for i in range(self._size) if sp.is_control(i) and sp.id_to_piece(i)}
        self._specials = dict(sorted({**controls, **{t: i for t, i in self._added.items() if t not in self._not_special}}.items(),
                                     key=lambda kv: kv[1]))
        self._special_id_set = frozenset(self._specials.values())
        # only the class's own tokens are parsed in a text (a control piece it does not name stays text)
        parsed = sorted({*self._added, *(t for t in wanted if self._piece_id(t) is not None)}, key=len, reverse=True)
        self._parsed = parsed
        self._special_re = re.compile("|".join(map(re.escape, parsed))) if parsed else None

    def _distinct_tokens(self, size: int) -> int:
        """How many different token strings ids 0 … size-1 name: where transformers numbers the tokens
        it adds (the length of its vocabulary dict, in which a string named twice counts once)."""
        offset, names = self.spec.offset, set()
        by_id = {i: t for t, i in self._added.items()}
        for i in range(size):
            name = by_id.get(i)
            if name is None and 0 <= i - offset < self._size:
                name = self.processor.id_to_piece(i - offset)
            names.add(name if name is not None else i)
        return len(names)

    def _map_piece(self, sp_id: int) -> int:
        """A piece's id in the class: its own token's where the class names it, else shifted."""
        spec, sp = self.spec, self.processor
        piece = sp.id_to_piece(sp_id)
        if piece in self._added:
            return self._added[piece]
        if spec.unk_to_head and sp_id == 0:  # fairseq: "spm_id + offset if spm_id else unk_token_id"
            return self._added[self._role_tokens["unk"]]
        return sp_id + spec.offset

    def _piece_id(self, token: str) -> int | None:
        """A token's id in the class, None where neither the class nor the model has it."""
        if token in self._added:
            return self._added[token]
        sp_id = self.processor.piece_to_id(token)
        if sp_id == self.processor.unk_id() and token != self.processor.id_to_piece(sp_id):
            return None
        return self._map_piece(sp_id)

    # --- the template ------------------------------------------------------------------------------
    def _build_template(self, config: dict[str, Any]) -> None:
        lang = config.get("src_lang") if isinstance(config.get("src_lang"), str) else self.spec.lang
        self._eos_once = False  # T5: an eos after the text unless it already ends with one
        prefix: list[int] = []
        suffix: list[int] = []
        before_text = True
        for item in self.spec.single:
            if item == "$A":
                before_text = False
            elif item == "eos!":
                self._eos_once = True
            elif not item.endswith("?") or self.options.get(f"add_{item[:-1]}_token"):
                token = lang if item == "lang" else self._role_tokens.get(item.rstrip("?"))
                tid = self._piece_id(token) if token else None
                if tid is not None:
                    (prefix if before_text else suffix).append(tid)
        self._prefix, self._suffix = prefix, suffix

    def _describe(self, resolved: ResolvedClass) -> str:
        shown = []
        for item in self.spec.single:
            if item == "$A":
                shown.append("text")
            elif item.endswith("?") and not self.options.get(f"add_{item[:-1]}_token"):
                continue
            else:
                role = item.rstrip("?!")
                shown.append(self._role_tokens.get(role, role) if role != "lang" else "language code")
        options = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.spec.name} ({resolved.reason}): {' '.join(shown)}" + (f"; {options}" if options else "")

    # --- facts ---------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._size_all

    @property
    def base_vocab_size(self) -> int:
        return self._size

    @property
    def special_tokens(self) -> dict[str, int]:
        return self._specials

    @property
    def roles(self) -> dict[str, str]:
        return {r: t for r, t in self._role_tokens.items() if self._piece_id(t) is not None}

    def _model_unk_id(self) -> int | None:
        unk = self.processor.unk_id()
        return self._sp_to_id[unk] if unk >= 0 else None

    def _cuts_hold_locally(self) -> bool:
        # a class that changes text before the model (lowercase, spaces, accents) is checked on the text
        return super()._cuts_hold_locally() and not self.options.get("legacy") is False

    def roundtrip_checker(self) -> RoundTripCheck:
        from .roundtrip import DecodeCheck

        return DecodeCheck(self.decode_native)

    # --- text → ids ------------------------------------------------------------------------------
    def _chunks(self, text: str, split_special_tokens: bool) -> list[tuple[str, bool]]:
        """(stretch, is a special token) in order, as transformers' `tokenize` cuts the text."""
        if self.options.get("do_lower_case"):
            text = self._lower_outside_specials(text)
        legacy = self.options.get("legacy", True)
        if not legacy and text:
            text = text.replace(_SPIECE, " ")
            if self.options.get("add_prefix_space", True):
                text = _SPIECE + text
        if split_special_tokens or self._special_re is None:
            parts = [(text, False)]
        else:
            parts, pos = [], 0
            for m in self._special_re.finditer(text):
                parts.append((text[pos:m.start()], False))
                parts.append((m.group(), True))
                pos = m.end()
            parts.append((text[pos:], False))
        for i, (part, special) in enumerate(parts):
            if special and part in self._lstrip and i and not parts[i - 1][1]:
                parts[i - 1] = (parts[i - 1][0].rstrip(), False)
            if special and part in self._rstrip and i + 1 < len(parts):
                parts[i + 1] = (parts[i + 1][0].lstrip(), False)
        return [(p, s) for p, s in parts if p]

    def _lower_outside_specials(self, text: str) -> str:
        if self._special_re is None:
            return text.lower()
        out, pos = [], 0
        for m in self._special_re.finditer(text):
            out.append(text[pos:m.start()].lower())
            out.append(m.group())
            pos = m.end()
        out.append(text[pos:].lower())
        return "".join(out)

    def _stretch_ids(self, stretch: str) -> list[int]:
        """One stretch of text (no special tokens in it) → the class's ids."""
        spec = self.spec
        if spec.preprocess:
            stretch = self._preprocess(stretch)
        if self.options.get("split_by_punct"):
            return [i for word in split_on_punctuation(stretch) for i in self._pieces_to_ids(self._encode_pieces(word))]
        return self._pieces_to_ids(self._encode_pieces(stretch))

    def _encode_pieces(self, stretch: str) -> list[str]:
        if self.options.get("legacy", True) is not False:
            pieces = self.processor.encode(stretch, out_type=str)
        else:
            pieces = self._encode_no_prefix(stretch)
        return digit_comma(pieces, self.processor) if self.spec.digit_comma else pieces

    def _encode_no_prefix(self, stretch: str) -> list[str]:
        """legacy=False: the model without its dummy prefix; a stretch that starts with a space keeps
        it as a ▁ (encoded after the unk token, which is then taken off)."""
        sp = self._processor_without_prefix()
        if not stretch.startswith((_SPIECE, " ")):
            return sp.encode(stretch, out_type=str)
        unk = self._role_tokens.get("unk", "<unk>")
        skip = len(sp.encode(unk))
        pieces = sp.encode(unk + stretch, out_type=str)
        return pieces[skip:] if len(pieces) >= skip else pieces

    def _processor_without_prefix(self) -> Any:
        if self._no_prefix is None:
            import sentencepiece as spm

            # a second NormalizerSpec message (field 3) merges into the first: add_dummy_prefix (3) = false
            proto = self.processor.serialized_model_proto() + b"\x1a\x02\x18\x00"
            self._no_prefix = spm.SentencePieceProcessor(model_proto=proto)
        return self._no_prefix

    def _pieces_to_ids(self, pieces: list[str]) -> list[int]:
        """transformers' _convert_token_to_id: the class's token by name, else the piece's id shifted (an
        unknown piece, whose text is no piece, by the model's unknown id: fairseq maps only id 0 to <unk>)."""
        sp, added, offset = self.processor, self._added, self.spec.offset
        unk = added.get(self._role_tokens.get("unk", ""), 0) if self.spec.unk_to_head else None
        out = []
        for p in pieces:
            if p in added:
                out.append(added[p])
            else:
                sp_id = sp.piece_to_id(p)
                out.append(unk if unk is not None and sp_id == 0 else sp_id + offset)
        return out

    def _preprocess(self, text: str) -> str:
        """ALBERT's preprocess_text (also XLNet's, FNet's)."""
        if self.options.get("remove_space", True):
            text = " ".join(text.strip().split())
        text = text.replace("``", '"').replace("''", '"')
        if not self.options.get("keep_accents", False):
            text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        return text.lower() if self.options.get("do_lower_case") else text

    def _final_chunks(self, text: str, split_special_tokens: bool) -> list[tuple[str, bool]]:
        chunks = self._chunks(text, split_special_tokens)
        if (not self.options.get("legacy", True) and len(chunks) > 1 and chunks[0][0] == _SPIECE and chunks[1][1]
                and chunks[1][0] not in self._not_special):  # as transformers 5 (4 only for the roles' tokens)
            chunks = chunks[1:]  # the ▁ put before a text that starts with a special token
        return chunks

    def _core_ids(self, text: str, split_special_tokens: bool) -> list[int]:
        ids: list[int] = []
        for stretch, special in self._final_chunks(text, split_special_tokens):
            ids.extend([self._piece_id(stretch)] if special else self._stretch_ids(stretch))  # type: ignore[list-item]
        return ids

    def _with_template(self, ids: list[int]) -> tuple[list[int], list[int]]:
        eos = self._piece_id(self._role_tokens.get("eos", "")) if self._eos_once else None
        suffix = list(self._suffix)
        if eos is not None and not (ids and ids[-1] == eos):
            suffix = [eos, *suffix]
        full = [*self._prefix, *ids, *suffix]
        added = list(range(len(self._prefix))) + list(range(len(self._prefix) + len(ids), len(full)))
        return full, added

    def _encode(self, text: str, *, add_special_tokens: bool, split_special_tokens: bool):
        ids = self._core_ids(text, split_special_tokens)
        if not add_special_tokens:
            return ids, None, []
        full, added = self._with_template(ids)
        return full, None, added

    def _encode_batch(self, texts: list[str], *, add_special_tokens: bool, split_special_tokens: bool):
        return [self._encode(t, add_special_tokens=add_special_tokens, split_special_tokens=split_special_tokens) for t in texts]

    def encode_ids_batch(
        self, texts: Sequence[str], *, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[list[int]]:
        """Ids as `encode` gives them (the class's text options are applied in Python, text by text)."""
        return [ids for ids, _, _ in self._encode_batch([repair_surrogates(t)[0] for t in texts],
                                                        add_special_tokens=add_special_tokens,
                                                        split_special_tokens=split_special_tokens)]

    def _offsets(self, text: str, ids: list[int]) -> list[tuple[int, int]]:
        """Character spans, found by matching each token's bytes in the text: past spaces the class
        removed, without the ▁ the model put before a word that had no space, in either case where the
        class lowercases. A token it cannot place (accents stripped) gets an empty span."""
        data = text.encode("utf-8")
        fold = (lambda b: b.lower()) if self.options.get("do_lower_case") else (lambda b: b)
        folded, char_at = fold(data), _byte_to_char(text)
        spans, pos = [], 0
        for tid in ids:
            token = fold(self.token_bytes(tid))
            found = _find_token(folded, token, pos)
            if found is None:
                at = char_at[min(pos, len(data))]
                spans.append((at, at))
                continue
            start, end = found
            spans.append((char_at[start], char_at[end - 1] + 1))
            pos = end
        return spans

    # --- ids → text -------------------------------------------------------------------------------
    def _sp_id(self, id: int) -> int | None:
        """The model's piece behind an id of the class, None for the class's own tokens."""
        if id in self._id_token:
            return None
        sp_id = id - self.spec.offset
        return sp_id if 0 <= sp_id < self._size else None

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False, controls: bool = True) -> str:
        out, run = [], []
        for i in ids:
            sp_id = self._sp_id(i)
            if sp_id is not None and not self.processor.is_control(sp_id):
                run.append(sp_id)
                continue
            if run:
                out.append(self.processor.decode(run))
                run = []
            if not (skip_special_tokens and i in self._special_id_set) and (controls or sp_id is None):
                out.append(self.id_to_piece(i))
        if run:
            out.append(self.processor.decode(run))
        return "".join(out)

    def decode_native(self, batch: Sequence[Sequence[int]]) -> list[str]:
        """What round-trip verdicts compare with: the model's control pieces dropped, as sentencepiece
        drops them; the class's other tokens as their text, as transformers decodes them."""
        return [self.decode(ids, controls=False) for ids in batch]

    def id_to_piece(self, id: int) -> str:
        if id in self._id_token:
            return self._id_token[id]
        sp_id = self._sp_id(id)
        if sp_id is None:
            raise KeyError(id)
        return self.processor.id_to_piece(sp_id)

    def piece_to_id(self, piece: str) -> int | None:
        return self._piece_id(piece)

    def token_bytes(self, id: int) -> bytes:
        sp_id = self._sp_id(id)
        if sp_id is None or id in self._special_id_set:
            return self.id_to_piece(id).encode()
        return super().token_bytes(sp_id)

    def _is_valid_id(self, id: int) -> bool:
        return id in self._id_token or self._sp_id(id) is not None

    @property
    def _special_ids(self) -> frozenset[int]:
        return self._special_id_set

    def model_words(self, text: str, *, add_special_tokens: bool = True, split_special_tokens: bool = False) -> list[ModelWord]:
        """Each stretch the model cut, written as it saw it (its pieces joined: the normalised text),
        where the class keeps the model's ids and cuts no piece again."""
        if self.spec.offset or self.spec.head or self.spec.digit_comma or self.options.get("split_by_punct"):
            raise UsageError(f"{self.name}: how the tokens of a {self.spec.name} are built is not shown yet")
        text = repair_surrogates(text)[0]
        words: list[ModelWord] = []
        first = len(self._prefix) if add_special_tokens else 0
        for stretch, special in self._final_chunks(text, split_special_tokens):
            if special:
                first += 1
                continue
            pieces = self._encode_pieces(self._preprocess(stretch) if self.spec.preprocess else stretch)
            if pieces:
                words.append(ModelWord(_surface(pieces), first, tuple(self._pieces_to_ids(pieces))))
            first += len(pieces)
        return words


def _find_token(data: bytes, token: bytes, pos: int) -> tuple[int, int] | None:
    """Where a token's bytes lie in `data` at `pos`, past whitespace, with or without its leading space."""
    if not token:
        return None
    skip = pos
    while skip < len(data) and data[skip:skip + 1].isspace():
        skip += 1
    for at in (pos, skip):
        if data.startswith(token, at):
            return at, at + len(token)
        if token[:1] == b" " and len(token) > 1 and data.startswith(token[1:], at):
            return at, at + len(token) - 1
    return None


def _surface(pieces: list[str]) -> str:
    """Pieces joined as the model's text: byte pieces (<0xE2><0x82><0xAC>) back to their character."""
    out, pending = [], bytearray()
    for piece in pieces:
        if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            pending.append(int(piece[3:5], 16))
            continue
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending.clear()
        out.append(piece)
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    return "".join(out)


def _declared_tokens(config: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    """tokenizer_config.json's added_tokens_decoder: token → (id, its flags)."""
    decoder = config.get("added_tokens_decoder")
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    if isinstance(decoder, dict):
        for key, entry in decoder.items():
            content = entry.get("content") if isinstance(entry, dict) else entry
            if isinstance(content, str) and str(key).isdigit():
                found[content] = (int(key), entry if isinstance(entry, dict) else {})
    return found


def _additional(config: dict[str, Any]) -> list[str]:
    extra = config.get("additional_special_tokens") or []
    return [t.get("content") if isinstance(t, dict) else t for t in extra if isinstance(t, (str, dict))] if isinstance(extra, list) else []
