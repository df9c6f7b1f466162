"""How llama.cpp cuts text into words before BPE: the `tokenizer.ggml.pre` types and their regex lists.

llama.cpp runs each pre-tokenizer's regexes one after another, each one cutting every piece the previous
ones left (matches and the gaps between them both become pieces). It does not run the regexes as written:
every character above U+007F is first replaced by one byte naming its Unicode class (letter, number,
punctuation, mark, symbol, other; whitespace becomes \\x0B), and ``\\p{L}`` becomes ``[\\xD2A-Za-z]``, and so
on; a regex without classes runs on the characters, with non-ASCII whitespace replaced by \\x0B and ``\\s``
meaning ASCII whitespace only. The GPT-2 and Llama-3 patterns run through hand-written code that gives the
same cuts. We do the same with Python's `re`, so the quirks match: ``\\p{Lu}`` means any letter there, and
classes come from llama.cpp's way of building its tables (the `regex` module's categories).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable, NamedTuple

__all__ = ["PreTokenizer", "resolve_pre", "unicode_flags", "NUMBER", "LETTER", "ACCENT_MARK", "PUNCTUATION",
           "SYMBOL", "CONTROL", "WHITESPACE", "to_lower", "nfd_first"]

# llama.cpp's codepoint flags (its unicode.h)
UNDEFINED, NUMBER, LETTER, SEPARATOR, ACCENT_MARK, PUNCTUATION, SYMBOL, CONTROL = 1, 2, 4, 8, 16, 32, 64, 128
WHITESPACE = 256

#: Unicode's White_Space characters: what llama.cpp's tables call whitespace
_WHITESPACE = frozenset([*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                         0x202F, 0x205F, 0x3000])
_CATEGORY_FLAG = {"N": NUMBER, "L": LETTER, "Z": SEPARATOR, "M": ACCENT_MARK, "P": PUNCTUATION, "S": SYMBOL, "C": CONTROL}
_flags_cache: dict[str, int] = {}


def unicode_flags(ch: str) -> int:
    """llama.cpp's flags of one character: its category (N, L, Z, M, P, S or C; unassigned counts as C,
    as llama.cpp's table generator reads them) plus WHITESPACE.

    >>> unicode_flags("a") == LETTER, unicode_flags(" ") == SEPARATOR | WHITESPACE
    (True, True)
    """
    flags = _flags_cache.get(ch)
    if flags is None:
        flags = _CATEGORY_FLAG[_category(ch)[0]] | (WHITESPACE if ord(ch) in _WHITESPACE else 0)
        _flags_cache[ch] = flags
    return flags


def _category(ch: str) -> str:
    import regex  # newer Unicode data than the standard library's, as llama.cpp's generator used

    for name in ("L", "N", "P", "S", "M", "Z"):
        if regex.match(rf"\p{{{name}}}", ch):
            return name
    return "C"


@lru_cache(maxsize=65536)
def to_lower(ch: str) -> str:
    """llama.cpp's lower case of one character: the first character of Python's lower case."""
    return ch.lower()[:1] or ch


@lru_cache(maxsize=65536)
def nfd_first(ch: str) -> str:
    """llama.cpp's "NFD" of one character: the first character of its decomposition (é → e)."""
    return unicodedata.normalize("NFD", ch)[:1] or ch


# --- the collapsed text --------------------------------------------------------------------------------
_CLASS_BYTE = {NUMBER: "\xd1", LETTER: "\xd2", PUNCTUATION: "\xd3", ACCENT_MARK: "\xd4", SYMBOL: "\xd5"}
_HAN_BYTE = "\xd6"  # Kimi-K2's pattern tells Han characters from other letters
#: \p{…} → the members of a character class over the collapsed text (class byte + the ASCII members)
_CLASS_MEMBERS = {
    "N": "\xd10-9", "L": "\xd2\xd6A-Za-z", "P": "\xd3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}", "M": "\xd4",
    "S": "\xd5\\$\\+<->\\^`\\|", "Lu": "\xd2\xd6A-Za-z", "Ll": "\xd2\xd6A-Za-z", "Lt": "\xd2\xd6A-Za-z",
    "Lm": "\xd2\xd6A-Za-z", "Lo": "\xd2\xd6A-Za-z",
}


def _is_han(cpt: int) -> bool:
    return (0x4E00 <= cpt <= 0x9FFF or 0x3400 <= cpt <= 0x4DBF or 0x20000 <= cpt <= 0x2EBEF
            or 0xF900 <= cpt <= 0xFAFF or 0x2F800 <= cpt <= 0x2FA1F)


class _Collapse(dict):
    """A str.translate table built as characters are met: each character above U+007F → its class byte."""

    def __init__(self, *, han: bool = False) -> None:
        super().__init__()
        self.han = han

    def __missing__(self, cpt: int) -> str:
        if cpt < 128:
            value = chr(cpt)
        else:
            flags = unicode_flags(chr(cpt))
            if flags & WHITESPACE:
                value = "\x0b"
            elif self.han and flags & LETTER and _is_han(cpt):
                value = _HAN_BYTE
            else:
                value = _CLASS_BYTE.get(flags & 0xFF, "\xd0")
        self[cpt] = value
        return value


_COLLAPSE = _Collapse()
_COLLAPSE_HAN = _Collapse(han=True)
_WIDE_SPACES = {cpt: "\x0b" for cpt in _WHITESPACE if cpt > 0x7F}


def translate_pattern(expr: str, *, collapse: bool) -> str:
    """A llama.cpp pre-tokenizer regex as Python's `re` must read it: for the collapsed text, \\p{L} becomes
    its class byte and A-Za-z (inside brackets or as a class of its own, as llama.cpp rewrites it); and an
    ECMAScript ``$`` (the end of the input only) becomes ``\\Z``."""
    out, inside, i = [], False, 0
    while i < len(expr):
        c = expr[i]
        escaped = i > 0 and expr[i - 1] == "\\"
        close = expr.find("}", i + 3) if expr.startswith("\\p{", i) else -1
        if c == "[" and not escaped:
            out.append("[")
            inside = True
        elif inside and c == "]" and not escaped:
            out.append("]")
            inside = False
        elif collapse and 0 < close <= i + 10:
            members = _CLASS_MEMBERS.get(expr[i + 3 : close])
            if members is None:
                raise ValueError(f"unsupported class {expr[i:close + 1]}")
            out.append(members if inside else f"[{members}]")
            i = close
        elif c == "$" and not inside and not escaped:
            out.append("\\Z")
        else:
            out.append(c)
        i += 1
    return "".join(out)


class _Step(NamedTuple):
    pattern: re.Pattern[str] | None  # None: the AFMoE digit grouping
    table: dict | None  # the translate table of the text this step reads (None: the text itself)


class PreTokenizer:
    """A list of llama.cpp regexes, run one after the other: text → character spans of its words."""

    def __init__(self, exprs: list[str]) -> None:
        self.steps = [_compile(e) for e in exprs]

    def split(self, text: str) -> list[tuple[int, int]]:
        """Character spans (start, end) of the words, in order, covering the whole text.

        >>> PreTokenizer([GPT2]).split("Hello world")
        [(0, 5), (5, 11)]
        """
        spans = [(0, len(text))] if text else []
        views: dict[int, str] = {}
        for step in self.steps:
            key = id(step.table)
            view = views.get(key)
            if view is None:
                view = views[key] = text.translate(step.table) if step.table is not None else text
            spans = _cut(step, view, spans)
        return spans


def _compile(expr: str) -> _Step:
    if expr == AFMOE_DIGITS:
        return _Step(None, _COLLAPSE)
    if expr == KIMI_K2:  # llama.cpp's hand-written Kimi-K2 splitter, as one regex over a text that marks Han
        return _Step(re.compile(translate_pattern(_KIMI_FULL, collapse=True), re.ASCII), _COLLAPSE_HAN)
    if "\\p{" in expr:
        return _Step(re.compile(translate_pattern(expr, collapse=True), re.ASCII), _COLLAPSE)
    return _Step(re.compile(translate_pattern(expr, collapse=False), re.ASCII), _WIDE_SPACES)


def _cut(step: _Step, view: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cut every span by one regex: its matches and the gaps between them (empty pieces dropped)."""
    out: list[tuple[int, int]] = []
    append = out.append
    for start, end in spans:
        piece = view[start:end]
        last = 0
        matches = _afmoe_cuts(piece) if step.pattern is None else ((m.start(), m.end()) for m in step.pattern.finditer(piece))
        for s, e in matches:
            if s > last:
                append((start + last, start + s))
            if e > s:
                append((start + s, start + e))
            last = max(last, e)
        if last < end - start:
            append((start + last, end))
    return out


_DIGITS = re.compile("[\xd10-9]+")


def _afmoe_cuts(piece: str) -> list[tuple[int, int]]:
    """AFMoE's digit grouping: a run of digits is cut after its first len % 3 digits, then every three.
    As in llama.cpp, the text before a run is joined to the run's first group (later regexes cut it off)."""
    cuts, prev = [], 0
    for m in _DIGITS.finditer(piece):
        start, count = m.start(), m.end() - m.start()
        bounds = ([start + count % 3] if count % 3 else []) + list(range(start + count % 3 + 3, m.end() + 1, 3))
        for bound in bounds:
            cuts.append((prev, bound))
            prev = bound
    return cuts


# --- llama.cpp's regexes (its llm_tokenizer_bpe), written as llama.cpp writes them ------------------------
_CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
LLAMA3 = _CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
QWEN2 = _CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
AFMOE_DIGITS = "\\p{AFMoE_digits}"
KIMI_K2 = "\\p{Han}+"
_KIMI_FULL = ("[\xd6]+|[^\\r\\n\\p{L}\\p{N}]?[\xd2A-Za-z]+" + _CONTRACTIONS
              + "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
_CJK_PUNCT = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
_UPPER_LOWER = "((?=[\\p{L}])([^a-z]))"
_LOWER = "((?=[\\p{L}])([^A-Z]))"
_CASED = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
_UNCASED = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
_FINNISH = " ?[^(\\s|.,!?…。，、।۔،)]+"

REGEXES: dict[str, list[str]] = {
    "llama3": [LLAMA3],
    "jais2": [_CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
              + "|".join(f"\\s{{{n}}}(?!\\S)" for n in (512, 256, 128, 64, 32, 16, 8, 4)) + "|\\s{1,2}(?!\\S)|\\s{1}"],
    "deepseek-llm": [
        "[\r\n]",
        "\\s?[A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF\\u1D00-\\u1D2B\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE\\u1FC2-\\u1FC4\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D\\u212F-\\u2134\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\U00010400-\\U0001044F\\U000104B0-\\U000104D3\\U000104D8-\\U000104FB\\U00010C80-\\U00010CB2\\U00010CC0-\\U00010CF2\\U000118A0-\\U000118DF\\U0001E900-\\U0001E943]+",
        "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
        "\\s+$",
        "[一-龥ࠀ-一가-퟿]+",
        "\\p{N}+",
    ],
    "deepseek3": ["\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                  _CJK_PUNCT + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"],
    "spark2_5": ["\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                 _CJK_PUNCT + "| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+", "\\p{N}"],
    "youtu": [
        "[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+",
        (f"[^\\r\\n\\p{{L}}\\p{{N}}]?{_CASED}*{_UNCASED}+{_CONTRACTIONS}?|[^\\r\\n\\p{{L}}\\p{{N}}]?{_CASED}+{_UNCASED}*{_CONTRACTIONS}?"
        "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    ],
    "deepseek-coder": ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"],
    "falcon": ["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"],
    "starcoder": ["\\p{N}", GPT2],
    "gpt2": [GPT2],
    "qwen2": [QWEN2],
    "qwen35": [_CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "bloom": [_FINNISH],
    "chatglm4": [LLAMA3],
    "viking": [_FINNISH, "\\p{N}"],
    "tekken": [(f"[^\\r\\n\\p{{L}}\\p{{N}}]?{_UPPER_LOWER}*{_LOWER}+|[^\\r\\n\\p{{L}}\\p{{N}}]?{_UPPER_LOWER}+{_LOWER}*"
               "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")],
    "chameleon": ["<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                  "[\\p{P}!-/:-@\\[-`{-~]", GPT2],
    "gpt4o": [(f"[^\\r\\n\\p{{L}}\\p{{N}}]?{_UPPER_LOWER}*{_LOWER}+{_CONTRACTIONS}?|[^\\r\\n\\p{{L}}\\p{{N}}]?{_UPPER_LOWER}+{_LOWER}*{_CONTRACTIONS}?"
              "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")],
    "granite-emb-multi": [
        "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+" + _CONTRACTIONS
        + "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*" + _CONTRACTIONS
        + "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "tiny_aya": ["\\d{1,3}(?=(?:\\d{3})*\\b)",
                 (f"[^\\r\\n\\p{{L}}\\p{{N}}]?{_CASED}*{_UNCASED}+{_CONTRACTIONS}?|[^\\r\\n\\p{{L}}\\p{{N}}]?{_CASED}+{_UNCASED}*{_CONTRACTIONS}?"
                 "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")],
    "kimi-k2": [KIMI_K2],
    "superbpe": ["\\p{N}+", "(?=(\\d{3})+(?!\\d))"],
    "bailingmoe": ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"],
    "seed-coder": [_CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "ufakzeka": ["[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "afmoe": [AFMOE_DIGITS, "[一-鿿㐀-䶿\uF900-\uFAFF぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+",
              "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "laguna": ["[^\\n]+|[\\n]+", QWEN2],
    "exaone-moe": [_CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"],
    "gemma4": ["[^\\n]+|[\\n]+"],
    "minicpm5": ["\\p{N}{1,3}", _CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
    "whitespace": ["\\S+"],
    "default": ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"],
}


class PreType(NamedTuple):
    """What a `tokenizer.ggml.pre` name means to llama.cpp: its regexes and the flags it sets."""

    regexes: str  # a key of REGEXES
    clean_spaces: bool = True
    ignore_merges: bool = False
    add_bos: bool = False
    add_sep: bool = False
    escape_whitespaces: bool = False
    byte_encode: bool = True
    no_bos: bool = False  # the pre type clears the default BOS id (GLM-4)


def _names(pre: PreType, *names: str) -> dict[str, PreType]:
    return dict.fromkeys(names, pre)


#: every `tokenizer.ggml.pre` name llama.cpp knows (its llama_vocab::impl::load)
PRE_TYPES: dict[str, PreType] = {
    **_names(PreType("default"), "default"),
    **_names(PreType("minicpm5", ignore_merges=True), "minicpm5"),
    **_names(PreType("llama3", ignore_merges=True, add_bos=True),
             "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"),
    **_names(PreType("deepseek-llm", clean_spaces=False), "deepseek-llm"),
    **_names(PreType("deepseek-coder", clean_spaces=False), "deepseek-coder"),
    **_names(PreType("deepseek3", clean_spaces=False), "deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"),
    **_names(PreType("spark2_5", clean_spaces=False), "spark2_5"),
    **_names(PreType("youtu", clean_spaces=False, ignore_merges=True), "youtu"),
    **_names(PreType("falcon"), "falcon"),
    **_names(PreType("gpt2"), "mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
             "a.x-4.0", "mellum", "modern-bert", "olmo", "jais", "exaone4"),
    **_names(PreType("gpt2", clean_spaces=False), "trillion", "granite-docling"),
    **_names(PreType("starcoder"), "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"),
    **_names(PreType("starcoder", clean_spaces=False), "command-r", "smollm"),
    **_names(PreType("jais2"), "jais-2"),
    **_names(PreType("gemma4", escape_whitespaces=True, byte_encode=False), "gemma4", "granite-embed-multi-311m"),
    **_names(PreType("gemma4", clean_spaces=False, escape_whitespaces=True, byte_encode=False), "sarvam-moe"),
    **_names(PreType("gpt2", add_sep=True), "jina-v1-en", "jina-v2-code", "roberta-bpe"),
    **_names(PreType("whitespace", byte_encode=False), "whitespace"),
    **_names(PreType("qwen2", clean_spaces=False), "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"),
    **_names(PreType("qwen2"), "megrez", "stablelm2"),
    **_names(PreType("qwen35", clean_spaces=False), "qwen35"),
    **_names(PreType("llama3"), "dbrx", "smaug-bpe"),
    **_names(PreType("bloom", clean_spaces=False), "poro-chat"),
    **_names(PreType("bloom"), "bloom", "gpt3-finnish"),
    **_names(PreType("chatglm4", no_bos=True), "glm4", "chatglm-bpe"),
    **_names(PreType("viking", clean_spaces=False), "viking"),
    **_names(PreType("tekken", clean_spaces=False, ignore_merges=True, add_bos=True), "tekken"),
    **_names(PreType("chameleon", clean_spaces=False, add_bos=True), "chameleon"),
    **_names(PreType("gpt4o", clean_spaces=False), "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"),
    **_names(PreType("granite-emb-multi", clean_spaces=False, ignore_merges=True), "granite-embed-multi-97m"),
    **_names(PreType("tiny_aya", clean_spaces=False), "tiny_aya", "cohere2moe"),
    **_names(PreType("superbpe", clean_spaces=False), "superbpe"),
    **_names(PreType("bailingmoe", clean_spaces=False), "bailingmoe", "bailingmoe2", "llada-moe"),
    **_names(PreType("seed-coder", clean_spaces=False), "seed-coder"),
    **_names(PreType("kimi-k2", clean_spaces=False), "kimi-k2"),
    **_names(PreType("ufakzeka", clean_spaces=False), "ufakzeka"),
    **_names(PreType("qwen2", clean_spaces=False), "grok-2"),
    **_names(PreType("afmoe", clean_spaces=False), "afmoe"),
    **_names(PreType("laguna", clean_spaces=False), "laguna"),
    **_names(PreType("exaone-moe"), "exaone-moe"),
}


def resolve_pre(name: str | None) -> tuple[PreType, str | None]:
    """The pre type a `tokenizer.ggml.pre` value names, and a warning when llama.cpp's fallback is used.

    >>> resolve_pre("qwen2")[0].regexes, resolve_pre(None)[1] is not None
    ('qwen2', True)
    """
    if not name:
        return PRE_TYPES["default"], (
            "no tokenizer.ggml.pre in the file: llama.cpp's 'default' pre-tokenizer is used, as llama.cpp does "
            "(it warns that generation quality will be degraded; convert the model again)"
        )
    pre = PRE_TYPES.get(name)
    if pre is None:
        return PRE_TYPES["default"], (
            f"unknown tokenizer.ggml.pre {name!r}: llama.cpp's 'default' pre-tokenizer is used "
            "(this llama.cpp-compatible reader does not know it; newer llama.cpp versions may, older ones refuse the file)"
        )
    return pre, None


Splitter = Callable[[str], list[tuple[int, int]]]
