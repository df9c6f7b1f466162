"""The SentencePiece-based tokenizer classes of transformers, as a table: the tokens each puts around
a text, its options (lowercasing, spaces, accents), and how its ids relate to the model's pieces.

A ``.model`` file alone is plain SentencePiece. With a tokenizer_config.json naming a class
(``tokenizer_class``), or else a config.json naming a model type transformers maps to one, it is read
as that class's slow (Python) tokenizer in transformers 4 reads it: the model's own normaliser and
pieces, the class's text options applied first, its ids, its template. Where transformers 5 departs
from these files, tokenprism follows the files (README, "Correctness").

>>> resolve_class({"tokenizer_class": "AlbertTokenizerFast"}, {}).spec.name        # doctest: +SKIP
'AlbertTokenizer'
"""

from __future__ import annotations

import unicodedata
from typing import Any, NamedTuple

__all__ = ["SpmClass", "SPM_CLASSES", "MODEL_TYPES", "ResolvedClass", "resolve_class", "ROLE_ORDER", "digit_comma",
           "split_on_punctuation"]

#: transformers adds a class's special tokens in this order (missing ones get the next free ids)
ROLE_ORDER = ("bos", "eos", "unk", "sep", "pad", "cls", "mask")

_MBART = ("ar_AR cs_CZ de_DE en_XX es_XX et_EE fi_FI fr_XX gu_IN hi_IN it_IT ja_XX kk_KZ ko_KR lt_LT lv_LV my_MM "
          "ne_NP nl_XX ro_RO ru_RU si_LK tr_TR vi_VN zh_CN").split()
_MBART50 = _MBART + ("af_ZA az_AZ bn_IN fa_IR he_IL hr_HR id_ID ka_GE km_KH mk_MK ml_IN mn_MN mr_IN pl_PL ps_AF "
                     "pt_XX sv_SE sw_KE ta_IN te_IN th_TH tl_XX uk_UA ur_PK xh_ZA gl_ES sl_SI").split()
_FAIRSEQ = ("<s>", "<pad>", "</s>", "<unk>")


class SpmClass(NamedTuple):
    """One slow SentencePiece tokenizer class of transformers (4.x), as far as ids go."""

    name: str
    #: role → the class's default token (bos, eos, unk, sep, pad, cls, mask)
    tokens: dict[str, str]
    #: the tokens around one text: roles, "$A" for the text; "bos?"/"eos?" only if add_bos/eos_token
    single: tuple[str, ...] = ("$A",)
    #: option → default: do_lower_case, remove_space, keep_accents, split_by_punct, add_bos_token, add_eos_token, legacy
    options: dict[str, bool] = {}
    #: additional special tokens the class declares
    extra: tuple[str, ...] = ()
    #: tokens with ids 0, 1, … before the pieces (fairseq's dictionary, Pegasus's reserved tokens)
    head: tuple[str, ...] = ()
    #: a piece's id is its SentencePiece id plus this
    offset: int = 0
    #: the model's unknown piece takes the unk token's id in `head` (fairseq)
    unk_to_head: bool = False
    #: tokens right after the pieces, in id order (XLM-R's <mask>, mBART's language codes, T5's sentinels)
    tail: tuple[str, ...] = ()
    #: roles whose token eats the spaces before it (AddedToken(lstrip=True): "a <mask>")
    lstrip: tuple[str, ...] = ()
    #: ALBERT's rule: a piece "9," is cut into "9" and "," (BERT's handling of numbers)
    digit_comma: bool = False
    #: remove_space / keep_accents / do_lower_case applied by ALBERT's preprocess_text
    preprocess: bool = False
    #: a language code before (mBART-50) or after (mBART) the text: the config's src_lang, else this
    lang: str = ""
    #: the tail's tokens eat the spaces on both sides (T5's sentinels: AddedToken(lstrip, rstrip))
    strip_tail: bool = False


_T5_EXTRA = tuple(f"<extra_id_{i}>" for i in reversed(range(100)))  # <extra_id_0> is the last id

SPM_CLASSES: dict[str, SpmClass] = {c.name: c for c in [
    SpmClass("T5Tokenizer", {"eos": "</s>", "unk": "<unk>", "pad": "<pad>"}, ("$A", "eos!"),
             {"legacy": True, "add_prefix_space": True}, tail=_T5_EXTRA, strip_tail=True),
    SpmClass("AlbertTokenizer", {"bos": "[CLS]", "eos": "[SEP]", "unk": "<unk>", "sep": "[SEP]", "pad": "<pad>",
                                 "cls": "[CLS]", "mask": "[MASK]"}, ("cls", "$A", "sep"),
             {"do_lower_case": True, "remove_space": True, "keep_accents": False}, lstrip=("mask",), digit_comma=True,
             preprocess=True),
    SpmClass("XLNetTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "<sep>", "pad": "<pad>",
                                "cls": "<cls>", "mask": "<mask>"}, ("$A", "sep", "cls"),
             {"do_lower_case": False, "remove_space": True, "keep_accents": False}, extra=("<eop>", "<eod>"),
             lstrip=("mask",), digit_comma=True, preprocess=True),
    SpmClass("FNetTokenizer", {"unk": "<unk>", "sep": "[SEP]", "pad": "<pad>", "cls": "[CLS]", "mask": "[MASK]"},
             ("cls", "$A", "sep"), {"do_lower_case": False, "remove_space": True, "keep_accents": True},
             lstrip=("mask",), digit_comma=True, preprocess=True),
    SpmClass("DebertaV2Tokenizer", {"bos": "[CLS]", "eos": "[SEP]", "unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]",
                                    "cls": "[CLS]", "mask": "[MASK]"}, ("cls", "$A", "sep"),
             {"do_lower_case": False, "split_by_punct": False}),
    SpmClass("RemBertTokenizer", {"bos": "[CLS]", "eos": "[SEP]", "unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]",
                                  "cls": "[CLS]", "mask": "[MASK]"}, ("cls", "$A", "sep"), {"do_lower_case": False},
             lstrip=("mask",)),
    SpmClass("BigBirdTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "[SEP]", "pad": "<pad>",
                                  "cls": "[CLS]", "mask": "[MASK]"}, ("cls", "$A", "sep"), lstrip=("mask",)),
    SpmClass("ReformerTokenizer", {"eos": "</s>", "unk": "<unk>"}),
    SpmClass("BertGenerationTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<pad>", "sep": "<::::>"}),
    SpmClass("LlamaTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>"}, ("bos?", "$A", "eos?"),
             {"add_bos_token": True, "add_eos_token": False, "legacy": True, "add_prefix_space": True}),
    SpmClass("GemmaTokenizer", {"bos": "<bos>", "eos": "<eos>", "unk": "<unk>", "pad": "<pad>"}, ("bos?", "$A", "eos?"),
             {"add_bos_token": True, "add_eos_token": False}),
    SpmClass("XLMRobertaTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                                     "cls": "<s>", "mask": "<mask>"}, ("cls", "$A", "sep"),
             head=_FAIRSEQ, offset=1, unk_to_head=True, tail=("<mask>",), lstrip=("mask",)),
    SpmClass("CamembertTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                                    "cls": "<s>", "mask": "<mask>"}, ("cls", "$A", "sep"),
             extra=("<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"),
             head=("<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED"), offset=4, unk_to_head=True,
             lstrip=("mask",)),
    SpmClass("BarthezTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                                  "cls": "<s>", "mask": "<mask>"}, ("cls", "$A", "sep"), lstrip=("mask",)),
    SpmClass("XGLMTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                               "cls": "<s>"}, ("sep", "$A"), extra=tuple(f"<madeupword{i}>" for i in range(7)),
             head=_FAIRSEQ, offset=1, unk_to_head=True, tail=tuple(f"<madeupword{i}>" for i in range(7))),
    SpmClass("MBartTokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                                "cls": "<s>", "mask": "<mask>"}, ("$A", "eos", "lang"), extra=tuple(_MBART),
             head=_FAIRSEQ, offset=1, unk_to_head=True, tail=(*_MBART, "<mask>"), lstrip=("mask",), lang="en_XX"),
    SpmClass("MBart50Tokenizer", {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "sep": "</s>", "pad": "<pad>",
                                  "cls": "<s>", "mask": "<mask>"}, ("lang", "$A", "eos"), extra=tuple(_MBART50),
             head=_FAIRSEQ, offset=1, unk_to_head=True, tail=(*_MBART50, "<mask>"), lstrip=("mask",), lang="en_XX"),
    SpmClass("PegasusTokenizer", {"eos": "</s>", "unk": "<unk>", "pad": "<pad>", "mask": "<mask_2>"}, ("$A", "eos"),
             extra=("<mask_1>", *(f"<unk_{i}>" for i in range(2, 103))),
             head=("<pad>", "</s>", "<mask_1>", "<mask_2>", *(f"<unk_{i}>" for i in range(2, 103))), offset=103),
]}
# the same tokenizer under other names
for _alias, _same in {"MT5Tokenizer": "T5Tokenizer", "UMT5Tokenizer": "T5Tokenizer", "CodeLlamaTokenizer": "LlamaTokenizer",
                      "LayoutXLMTokenizer": "XLMRobertaTokenizer", "MBartTokenizer50": "MBart50Tokenizer"}.items():
    SPM_CLASSES[_alias] = SPM_CLASSES[_same]._replace(name=_alias)

#: config.json's model_type → the class transformers' AutoTokenizer gives it, where it is SentencePiece-based
MODEL_TYPES = {
    "t5": "T5Tokenizer", "mt5": "T5Tokenizer", "umt5": "T5Tokenizer", "longt5": "T5Tokenizer",
    "switch_transformers": "T5Tokenizer", "albert": "AlbertTokenizer", "xlnet": "XLNetTokenizer",
    "fnet": "FNetTokenizer", "deberta-v2": "DebertaV2Tokenizer", "rembert": "RemBertTokenizer",
    "big_bird": "BigBirdTokenizer", "bigbird_pegasus": "PegasusTokenizer", "reformer": "ReformerTokenizer",
    "bert-generation": "BertGenerationTokenizer", "llama": "LlamaTokenizer", "mistral": "LlamaTokenizer",
    "mixtral": "LlamaTokenizer", "gemma": "GemmaTokenizer", "gemma2": "GemmaTokenizer",
    "xlm-roberta": "XLMRobertaTokenizer", "xlm-roberta-xl": "XLMRobertaTokenizer", "camembert": "CamembertTokenizer",
    "xglm": "XGLMTokenizer", "mbart": "MBartTokenizer", "pegasus": "PegasusTokenizer",
}


class ResolvedClass(NamedTuple):
    """The class a folder's settings name, and why."""

    spec: SpmClass
    reason: str


def resolve_class(config: dict[str, Any], model_config: dict[str, Any]) -> ResolvedClass | None:
    """The class as transformers' AutoTokenizer finds it: tokenizer_config.json's ``tokenizer_class``
    (``…Fast`` names the same class), else config.json's ``model_type``. None where neither names a
    SentencePiece class here (the model is then read as plain SentencePiece)."""
    named = config.get("tokenizer_class")
    if isinstance(named, str):
        spec = SPM_CLASSES.get(named.removesuffix("Fast"))
        return ResolvedClass(spec, f"tokenizer_config.json names {named}") if spec else None
    kind = model_config.get("model_type")
    if isinstance(kind, str) and kind in MODEL_TYPES:
        return ResolvedClass(SPM_CLASSES[MODEL_TYPES[kind]], f"config.json's model_type {kind!r} → {MODEL_TYPES[kind]}")
    return None


# --- the text rules of the classes (transformers 4's slow code) ----------------------------------
def digit_comma(pieces: list[str], sp: Any) -> list[str]:
    """ALBERT's rule: a piece that ends in a comma after a digit ("▁9,") becomes the digits' pieces and ","."""
    out: list[str] = []
    for piece in pieces:
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            cut = sp.encode(piece[:-1].replace("▁", ""), out_type=str)
            if piece[0] != "▁" and cut and cut[0][0] == "▁":
                cut = cut[1:] if len(cut[0]) == 1 else [cut[0][1:], *cut[1:]]
            out.extend([*cut, piece[-1]])
        else:
            out.append(piece)
    return out


def split_on_punctuation(text: str) -> list[str]:
    """DeBERTa-v2's split_by_punct: every punctuation character a word of its own."""
    words: list[str] = []
    new_word = True
    for ch in text:
        if _is_punctuation(ch):
            words.append(ch)
            new_word = True
        else:
            if new_word:
                words.append("")
            new_word = False
            words[-1] += ch
    return words


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")
