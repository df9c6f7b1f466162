"""A GGUF file's vocabulary as llama.cpp reads it: tokens, scores, token types, special ids and flags.

Everything llama.cpp decides at load time is decided here, in the same way (its llama_vocab::impl::load):
the defaults of each tokenizer model, the flags each `tokenizer.ggml.pre` type sets, the keys that override
them, the tokens it marks as control by their text, and the checks; a file llama.cpp would refuse (or crash
on) is a one-line `TokenizerFileError` that names the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import TokenizerFileError
from .gguf_file import GGUFFile, read_strings, show
from .gguf_pre import PreType, resolve_pre

__all__ = ["Vocab", "read_vocab", "UNKNOWN", "UNUSED", "NORMAL", "CONTROL", "USER_DEFINED", "BYTE", "LSTRIP", "RSTRIP"]

# llama.cpp's token attributes (llama_token_attr), a bit set per token
UNDEFINED, UNKNOWN, UNUSED, NORMAL, CONTROL, USER_DEFINED, BYTE = 0, 1, 2, 4, 8, 16, 32
LSTRIP, RSTRIP = 128, 256
#: tokenizer.ggml.token_type value → attribute (anything else is undefined)
_TYPE_ATTR = {1: NORMAL, 2: UNKNOWN, 3: CONTROL, 4: USER_DEFINED, 5: UNUSED, 6: BYTE}

#: tokenizer.ggml.model → the algorithm llama.cpp runs
KINDS = {"llama": "spm", "gpt2": "bpe", "gemma4": "bpe", "bert": "wpm", "t5": "ugm"}
#: each model's default special ids, before the file's keys (llama.cpp's defaults)
_DEFAULT_IDS = {
    "spm": {"bos": 1, "eos": 2, "unk": 0},
    "wpm": {"bos": 101, "unk": 100, "sep": 102, "pad": 0, "mask": 103},
    "bpe": {"bos": 11, "eos": 11},
    "ugm": {"eos": 1, "unk": 2, "pad": 0},
}
_ID_KEYS = {
    "bos": "bos_token_id", "eos": "eos_token_id", "eot": "eot_token_id", "eom": "eom_token_id",
    "unk": "unknown_token_id", "sep": "seperator_token_id", "pad": "padding_token_id", "mask": "mask_token_id",
    "fim_pre": "fim_pre_token_id", "fim_suf": "fim_suf_token_id", "fim_mid": "fim_mid_token_id",
    "fim_pad": "fim_pad_token_id", "fim_rep": "fim_rep_token_id", "fim_sep": "fim_sep_token_id",
}
_DEPRECATED_FIM = {"fim_pre": "prefix_token_id", "fim_suf": "suffix_token_id", "fim_mid": "middle_token_id"}
#: roles whose id tokenizing itself uses: a file that puts them beyond the vocabulary is refused
_STRICT_ROLES = ("bos", "eos")
#: token texts llama.cpp treats as end-of-generation (and so as control tokens), whatever their type
_EOG_TEXTS = frozenset([
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
])
_FIM_TEXTS = {
    "fim_pre": ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"),
    "fim_suf": ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"),
    "fim_mid": ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"),
    "fim_pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"),
    "fim_rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "fim_sep": ("<|file_sep|>",),
}
_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


@dataclass
class Vocab:
    """What llama.cpp knows about a vocabulary once loaded (names follow its llama_vocab)."""

    model: str                      # tokenizer.ggml.model
    kind: str                       # spm, bpe, wpm or ugm
    pre: str                        # tokenizer.ggml.pre as written ("" when absent)
    pre_type: PreType
    tokens: list[str]               # token texts (bytes that are not UTF-8 kept as surrogate escapes)
    token_to_id: dict[str, int]
    scores: np.ndarray              # float32, one per token
    attrs: list[int]
    ids: dict[str, int]             # role → id: bos, eos, unk, sep, pad, mask, eot, eom, fim_*
    merges_region: tuple[bytes, np.ndarray] | None = None  # the raw merges array, read on first use
    charsmap: bytes = b""
    add_bos: bool = False
    add_eos: bool = False
    add_sep: bool = False
    add_space_prefix: bool = False
    remove_extra_whitespaces: bool = False
    escape_whitespaces: bool = True
    clean_spaces: bool = False
    ignore_merges: bool = False
    byte_encode: bool = True
    lowercase: bool = True
    strip_accents: bool = True
    notes: list[str] = field(default_factory=list)
    _merges: list[str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def merges(self) -> list[str]:
        """The BPE merges ("left right"), decoded the first time they are needed."""
        if self._merges is None:
            self._merges = read_strings(*self.merges_region) if self.merges_region is not None else []
        return self._merges

    @property
    def n_merges(self) -> int:
        return 0 if self.merges_region is None else len(self.merges_region[1])

    def ids_with(self, mask: int) -> list[int]:
        """Ids of the tokens whose attributes have any bit of `mask`."""
        return np.flatnonzero(np.asarray(self.attrs, dtype=np.int64) & mask).tolist()

    def special_cache(self) -> list[int]:
        """Ids of the tokens looked for in the text before tokenizing it (control, user-defined, unknown),
        longest text first (ties by id, where llama.cpp's unstable sort leaves them in any order)."""
        found = self.ids_with(CONTROL | USER_DEFINED | UNKNOWN)
        return sorted(found, key=lambda i: (-len(self.tokens[i].encode("utf-8", "surrogateescape")), i))


def read_vocab(gguf: GGUFFile) -> Vocab:
    """The vocabulary of an open GGUF file, checked as llama.cpp checks it (and a little more)."""
    model = gguf.typed("tokenizer.ggml.model", str)
    if model is None:
        raise TokenizerFileError(f"{gguf.path} holds no tokenizer (no tokenizer.ggml.model); is it a LoRA adapter or a projector file?")
    kind = KINDS.get(model)
    if kind is None:
        what = "no vocabulary" if model in ("no_vocab", "none") else f"the {model!r} tokenizer"
        raise TokenizerFileError(
            f"{gguf.path} has {what}; tokenprism reads the llama (SentencePiece), gpt2 (BPE), gemma4, bert (WordPiece) "
            "and t5 (Unigram) tokenizers of GGUF files"
        )
    pre_name = gguf.typed("tokenizer.ggml.pre", str, "")
    pre_type, warning = resolve_pre("gemma4" if model == "gemma4" else pre_name) if kind == "bpe" else (resolve_pre("default")[0], None)
    tokens = _read_tokens(gguf)
    vocab = Vocab(
        model=model, kind=kind, pre=pre_name, pre_type=pre_type, tokens=tokens,
        token_to_id=_index(gguf, tokens), scores=_read_scores(gguf, len(tokens)), attrs=_read_attrs(gguf, len(tokens)),
        ids={}, notes=[warning] if warning else [],
    )
    _set_flags(gguf, vocab)
    if kind == "bpe":
        vocab.merges_region = _read_merges(gguf, required=pre_name != "kimi-k2")
    if kind == "ugm":
        vocab.charsmap = _read_charsmap(gguf)
    _set_special_ids(gguf, vocab)
    _mark_by_text(vocab)
    _strip_attrs(gguf, vocab)
    _check_byte_tokens(gguf, vocab)
    return vocab


# --- arrays -----------------------------------------------------------------------------------------
def _read_tokens(gguf: GGUFFile) -> list[str]:
    if "tokenizer.ggml.tokens" not in gguf:
        raise TokenizerFileError(f"{gguf.path} has tokenizer.ggml.model but no tokenizer.ggml.tokens; the file is incomplete")
    # Bytes that are not UTF-8 stay distinct through surrogate escapes, as they stay distinct in llama.cpp's maps.
    tokens = gguf.strings("tokenizer.ggml.tokens")
    if not tokens:
        raise TokenizerFileError(f"{gguf.path}: tokenizer.ggml.tokens is empty; the vocabulary has no tokens")
    if len(tokens) >= 1 << 31:
        raise TokenizerFileError(f"{gguf.path}: tokenizer.ggml.tokens has {len(tokens):,} tokens, more than llama.cpp's ids can number")
    if "" in tokens:
        for i, t in enumerate(tokens):
            if not t:
                tokens[i] = f"[EMPTY_{i}]"  # llama.cpp's name for an empty token
    return tokens


def _index(gguf: GGUFFile, tokens: list[str]) -> dict[str, int]:
    index = dict(zip(tokens, range(len(tokens))))
    if len(index) != len(tokens):
        seen: dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in seen:
                raise TokenizerFileError(
                    f"{gguf.path}: tokenizer.ggml.tokens holds '{show(t)}' twice (ids {seen[t]} and {i}); llama.cpp refuses such a vocabulary"
                )
            seen[t] = i
    return index


def _read_scores(gguf: GGUFFile, n: int) -> np.ndarray:
    if "tokenizer.ggml.scores" not in gguf:
        return np.zeros(n, dtype=np.float32)
    scores = gguf.numbers("tokenizer.ggml.scores", (6, 5))  # f32, or i32 as llama.cpp also accepts
    _check_length(gguf, "tokenizer.ggml.scores", len(scores), n)
    return scores[:n].astype(np.float32)


def _read_attrs(gguf: GGUFFile, n: int) -> list[int]:
    if "tokenizer.ggml.token_type" not in gguf:
        return [NORMAL] * n
    types = gguf.numbers("tokenizer.ggml.token_type", (5,))
    _check_length(gguf, "tokenizer.ggml.token_type", len(types), n)
    table = np.array([_TYPE_ATTR.get(t, UNDEFINED) for t in range(8)], dtype=np.int64)
    types = types[:n].astype(np.int64)
    return np.where((types >= 0) & (types < 8), table[np.clip(types, 0, 7)], UNDEFINED).tolist()


def _check_length(gguf: GGUFFile, key: str, have: int, need: int) -> None:
    if have < need:
        raise TokenizerFileError(
            f"{gguf.path}: {key} has {have:,} entries for {need:,} tokens; the arrays of the vocabulary do not match (llama.cpp refuses it)"
        )


def _read_merges(gguf: GGUFFile, *, required: bool) -> tuple[bytes, np.ndarray] | None:
    if "tokenizer.ggml.merges" not in gguf:
        if required:
            raise TokenizerFileError(f"{gguf.path}: a BPE vocabulary needs tokenizer.ggml.merges, which the file lacks")
        return None
    return gguf.string_region("tokenizer.ggml.merges")


def _read_charsmap(gguf: GGUFFile) -> bytes:
    key = "tokenizer.ggml.precompiled_charsmap"
    if key not in gguf:
        return b""
    data = gguf.numbers(key, (0, 1)).tobytes()
    if len(data) < 4:
        raise TokenizerFileError(f"{gguf.path}: {key} has {len(data)} bytes, too few for its header")
    blob = int.from_bytes(data[:4], "little")
    if blob + 4 >= len(data) or blob % 4:
        raise TokenizerFileError(f"{gguf.path}: {key} claims a {blob:,}-byte table in {len(data):,} bytes; it is corrupt")
    return data


# --- flags and ids ----------------------------------------------------------------------------------
def _set_flags(gguf: GGUFFile, vocab: Vocab) -> None:
    """The flags each model (and pre type) starts from, then the keys that override them."""
    pre = vocab.pre_type
    if vocab.kind == "bpe":
        vocab.clean_spaces, vocab.ignore_merges, vocab.add_bos = pre.clean_spaces, pre.ignore_merges, pre.add_bos
        vocab.add_sep, vocab.escape_whitespaces, vocab.byte_encode = pre.add_sep, pre.escape_whitespaces, pre.byte_encode
        if pre.regexes == "whitespace":
            vocab.lowercase = False
    elif vocab.kind == "spm":
        vocab.add_space_prefix, vocab.add_bos = True, True
    elif vocab.kind == "wpm":
        vocab.clean_spaces, vocab.add_bos, vocab.add_sep = True, True, True
    elif vocab.kind == "ugm":
        vocab.add_eos = True
    get = gguf.typed
    vocab.add_space_prefix = get("tokenizer.ggml.add_space_prefix", bool, vocab.add_space_prefix)
    vocab.remove_extra_whitespaces = get("tokenizer.ggml.remove_extra_whitespaces", bool, vocab.remove_extra_whitespaces)


def _set_special_ids(gguf: GGUFFile, vocab: Vocab) -> None:
    n = len(vocab)
    ids = {role: i for role, i in _DEFAULT_IDS[vocab.kind].items() if i < n}  # defaults beyond the vocab are dropped
    if vocab.pre_type.no_bos:
        ids.pop("bos", None)
    for role, key in [*_ID_KEYS.items(), *_DEPRECATED_FIM.items()]:
        value = gguf.typed(f"tokenizer.ggml.{key}", int)
        if value is None:
            continue
        if 0 <= value < n:
            ids[role] = value
        elif role in _STRICT_ROLES:
            raise TokenizerFileError(
                f"{gguf.path}: tokenizer.ggml.{key} is {value}, beyond the vocabulary of {n:,} tokens; the file is corrupt"
            )
        else:
            vocab.notes.append(f"tokenizer.ggml.{key} = {value} is beyond the vocabulary ({n:,} tokens): ignored, as llama.cpp does")
    vocab.ids = ids
    get = gguf.typed
    vocab.add_bos = get("tokenizer.ggml.add_bos_token", bool, vocab.add_bos)
    vocab.add_eos = get("tokenizer.ggml.add_eos_token", bool, vocab.add_eos)
    vocab.add_sep = get("tokenizer.ggml.add_sep_token", bool, vocab.add_sep)
    if vocab.pre_type.regexes == "gemma4" and vocab.model == "gemma4":
        vocab.add_bos = True  # llama.cpp forces it for Gemma 4
    for flag, role in (("add_bos", "bos"), ("add_eos", "eos"), ("add_sep", "sep")):
        if getattr(vocab, flag) and role not in ids:
            raise TokenizerFileError(
                f"{gguf.path}: tokenizer.ggml.{flag}_token is true but the file sets no usable {role} token id; llama.cpp refuses it"
            )
    vocab.lowercase = get("tokenizer.ggml.normalizer.lowercase", bool, vocab.lowercase)
    vocab.strip_accents = get("tokenizer.ggml.normalizer.strip_accents", bool, vocab.lowercase)


def _mark_by_text(vocab: Vocab) -> None:
    """llama.cpp's text-based fixes: end-of-turn, FIM and end-of-generation tokens become control tokens
    whatever their type; control tokens named "unused" become unused; gpt-oss's channel tokens are
    user-defined; Harmony's <|end|> and Gemma 4's </s> are not end-of-generation tokens."""
    attrs, index = vocab.attrs, vocab.token_to_id
    for role, texts in _FIM_TEXTS.items():
        if role not in vocab.ids:
            found = next((index[t] for t in texts if t in index), None)
            if found is not None:
                vocab.ids[role] = found
                attrs[found] |= CONTROL
    eog = {index[t] for t in _EOG_TEXTS if t in index}
    for i in eog:
        attrs[i] |= CONTROL
    for i in vocab.ids_with(CONTROL):
        if "unused" in vocab.tokens[i]:
            attrs[i] |= UNUSED
    for text in ("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"):
        if text in index:
            attrs[index[text]] = USER_DEFINED
    has = {t for t in ("<|return|>", "<|call|>", "<|calls|>", "<|flush|>", "<|end|>", "<|tool_response>", "</s>") if t in index}
    if "<|end|>" in has and (("<|return|>" in has and "<|call|>" in has) or ("<|calls|>" in has and "<|flush|>" in has)):
        attrs[index["<|end|>"]] = USER_DEFINED
    if "<|tool_response>" in has and "</s>" in has:
        attrs[index["</s>"]] = NORMAL


def _strip_attrs(gguf: GGUFFile, vocab: Vocab) -> None:
    """llama.cpp's per-model whitespace stripping around special tokens, chosen by name."""
    name = (gguf.get("general.name") or "").lower() if isinstance(gguf.get("general.name"), str) else ""
    arch = gguf.get("general.architecture") if isinstance(gguf.get("general.architecture"), str) else ""
    index, attrs = vocab.token_to_id, vocab.attrs
    if any(p in vocab.pre for p in ("jina-v2-de", "jina-v2-es", "jina-v2-code")) or any(a in arch for a in ("nomic-bert-moe", "jina-bert-v3")):
        if "<mask>" in index:
            attrs[index["<mask>"]] |= LSTRIP
    elif "phi-3" in name or "phi3" in name:
        for i in vocab.special_cache():
            attrs[i] |= RSTRIP
        if "</s>" in index:
            attrs[index["</s>"]] |= RSTRIP
        for text in ("<unk>", "<s>", "<|endoftext|>"):
            if text in index:
                attrs[index[text]] &= ~RSTRIP
    elif "modern-bert" in name and "[MASK]" in index:
        attrs[index["[MASK]"]] |= LSTRIP


def _check_byte_tokens(gguf: GGUFFile, vocab: Vocab) -> None:
    for i in vocab.ids_with(BYTE):
        if vocab.kind == "wpm" or not _BYTE_TOKEN.fullmatch(vocab.tokens[i]):
            raise TokenizerFileError(
                f"{gguf.path}: token {i} '{show(vocab.tokens[i])}' has tokenizer.ggml.token_type 6 (byte) but is not of the form <0xNN>"
                + (" (a WordPiece vocabulary has no byte tokens)" if vocab.kind == "wpm" else "")
            )
