"""Probe strings: the texts a fast id engine must encode exactly as the reference backend does before
it is trusted with a corpus (tokenizers/fast.py).

They aim at the places where two implementations of one tokenizer part ways: the split pattern
(contractions in any case, digit runs, punctuation runs, every kind of whitespace run and where it
ends), bytes that are not whole characters (emoji, rare scripts, the supplementary planes, lone
combining marks), long words that take many merges, and special-token strings typed in the text,
whole, cut short, glued to words and to each other. Random text comes from a seeded generator, so
every run probes the same strings.

>>> len(probe_texts({"<|endoftext|>": 50256})) > 300
True
"""

from __future__ import annotations

import random
from typing import Iterable

__all__ = ["LESSON_TEXT", "probe_texts", "FIXED_PROBES", "SCRIPT_RANGES"]

#: The test text of the "Hands-On Large Language Models" tokenizer lesson (compare's default text).
LESSON_TEXT = (
    "\nEnglish and CAPITALIZATION\n🎵 鸟\nshow_tokens False None elif == >= else: "
    'two tabs:"\t\t" Three tabs: "\t\t\t"\n12.0*50=600\n'
)

#: Hand-written probes: the split pattern's corners.
FIXED_PROBES: tuple[str, ...] = (
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", "\t\n", "x", " x", "x ",
    "Hello world", " Hello world", "Hello World!", "Hello, world!", "  leading", "trailing  ", "a  b   c    d",
    "I'm you're he's we've they'll she'd it's", "I'M YOU'RE HE'S WE'VE THEY'LL SHE'D IT'S", "don't DON'T Don'T",
    "'s 's' ''s ' s", "rock'n'roll", "l'été c'est", "1", "12", "123", "1234", "12345", "1234567890123",
    "3.14159 2,718 1e10 0x1F 1_000_000", "١٢٣ ٤٥٦ 一二三 ①②③ ²³", "12.0*50=600", "!!!", "...", "?!?!", "---",
    "@@@###$$$%%%^^^&&&***", "((()))[[[]]]{{{}}}", "a.b,c;d:e", "foo.bar(baz)", "x==y!=z<=w>=v",
    "def f(x):\n    return x * 2\n", "\tif x:\n\t\tpass\n", "    \n    \n", "#include <stdio.h>\nint main(){}\n",
    "<html><body>Hi</body></html>", '{"key": [1, 2, 3], "b": null}', "https://example.com/a?b=c&d=e#f",
    "user@example.com", "C:\\Windows\\System32", "ÀÉÎÕÜ àéîõü ß ẞ ﬁ ǅ", "e\u0301 a\u0300 o\u0308\u0304",
    "\u0301\u0300 lone marks", "Ελληνικά κείμενα", "Русский текст, ёЁ", "עברית", "العربية نص",
    "हिन्दी पाठ", "ภาษาไทย", "中文文本，标点。", "日本語のテキスト、カタカナ", "한국어 텍스트", "Tiếng Việt có dấu",
    "🎵🎶 🙂🙃 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈", "𝕳𝖊𝖑𝖑𝖔 𝟘𝟙𝟚", "\U00020000\U0002a6d6 \U000e0041", "\ue000\uf8ff private use",
    "\u00a0nbsp\u00a0\u00a0", "\u2000\u2001\u2002\u2003 spaces", "zero\u200bwidth\u200c\u200d", "\u3000ideographic\u3000",
    "\u2028\u2029 separators", "\x00\x01\x1f\x7f controls", "\ufeffBOM", "\ufffd replacement", "tab\there",
    "mixed  \t \n\t  whitespace \r\n \n\n\n end", "word" * 50, "a" * 300, " " * 200, "\n" * 50, "ab" * 200,
    "ZmFrZSBiYXNlNjQgZGF0YSB0aGF0IGdvZXMgb24gYW5kIG9u" * 4, "0123456789" * 20,
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
)

#: Unicode ranges the random probes draw from (first, last code point): ASCII and the common scripts,
#: combining marks, symbols, emoji, the supplementary planes.
SCRIPT_RANGES: tuple[tuple[int, int], ...] = (
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x09, 0x0D), (0xA0, 0xFF), (0x100, 0x24F), (0x300, 0x36F),
    (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
    (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2190, 0x21FF), (0x2500, 0x257F),
    (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1F300, 0x1F6FF),
    (0x1D400, 0x1D7FF), (0x20000, 0x2A6DF), (0xE000, 0xE0FF),
)


def _random_text(rng: random.Random, length: int) -> str:
    """Runs of characters from a few ranges, with spaces, newlines and digits between them."""
    out: list[str] = []
    while len(out) < length:
        first, last = rng.choice(SCRIPT_RANGES)
        run = rng.randint(1, 12)
        out.extend(chr(rng.randint(first, last)) for _ in range(run))
        out.append(rng.choice([" ", " ", "  ", "\n", "\t", "", "", "1", " 12", ".", ", ", "\r\n", "   \n"]))
    return "".join(out)[:length]  # (no range above holds a surrogate)


def _whitespace_runs(rng: random.Random, count: int) -> list[str]:
    """Words with runs of mixed whitespace between, before and after them."""
    spaces = [" ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\r", "\x0b", "\x0c"]
    words = ["a", "word", "Hello", "x1", "ñ", "日本", "🙂", "'s", "123", "."]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 5)):
            parts.append("".join(rng.choice(spaces) for _ in range(rng.randint(0, 9))))
            parts.append(rng.choice(words))
        parts.append("".join(rng.choice(spaces) for _ in range(rng.randint(0, 9))))
        out.append("".join(parts))
    return out


def _special_probes(specials: Iterable[str], rng: random.Random) -> list[str]:
    """Each special-token string alone, in text, glued to words and to another, cut short, in another case."""
    out: list[str] = []
    names = sorted(s for s in specials if s)
    # a tokenizer with hundreds of reserved tokens: probe a sample of them, the named ones first
    picked = names if len(names) <= 40 else [n for n in names if "reserved" not in n][:30] + rng.sample(names, 10)
    for s in picked:
        out += [s, f"a {s} b", f"x{s}y", f"{s}{s}", f" {s} ", f"\n{s}\n", f"{s} Hello", s[:-1], s[1:], s.lower(), s.upper()]
    if len(picked) > 1:
        out.append("".join(picked[:8]))
        out.append(" ".join(picked[:8]))
    return out


def probe_texts(specials: Iterable[str] = (), *, seed: int = 0, random_count: int = 160) -> list[str]:
    """Every probe: the lesson text, the fixed ones, seeded random Unicode and whitespace runs, and the
    tokenizer's special-token strings in context.

    >>> probe_texts(seed=1) == probe_texts(seed=1)
    True
    """
    rng = random.Random(seed)
    texts = [LESSON_TEXT, *FIXED_PROBES]
    texts += [_random_text(rng, rng.choice([1, 2, 3, 5, 8, 16, 40, 120, 400])) for _ in range(random_count)]
    texts += _whitespace_runs(rng, 80)
    texts += _special_probes(specials, rng)
    texts.append("".join(texts))  # everything at once: one long document
    return texts
