"""Id-only work (count, corpus, FIM shards, `tokenize --ids-only`) at the speed of the fastest exact
engine installed, verified rather than trusted.

With the `[fast]` extra (gigatoken, quicktok-v1) each loaded tokenizer gets one id engine, chosen
once: the fastest candidate of `fast_engines.BUILDERS` that can express the tokenizer and gives the
reference backend's ids on every probe string (probes.py). Without the extra, or when no candidate
passes, the engine is the reference backend itself, so nothing changes.

During a run `CheckedIds` re-encodes a sample of the documents with the reference (1 in
`SAMPLE_EVERY`, and every document holding a character outside the common scripts): the first
difference switches the run to the reference and the run says so. Offsets, pieces and everything
else still come from the reference backend.

$TOKENPRISM_IDS_ENGINE chooses: "auto" (the default), "reference" (never a fast engine), or a
builder's name ("gigatoken", "quicktok", "tiktoken": that one only, still probed).

>>> tok = load_tokenizer("gpt2")                                  # doctest: +SKIP
>>> tok.ids_engine().name                                        # doctest: +SKIP
'gigatoken 0.10.0'
>>> CheckedIds(tok).encode(["Hello world"]).flat.tolist()        # doctest: +SKIP
[15496, 995]
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import UsageError
from .fast_engines import BUILDERS, FlatIds, IdEngine, ReferenceEngine
from .probes import probe_texts

if TYPE_CHECKING:
    from .base import Tokenizer

__all__ = ["ENGINE_ENV", "SAMPLE_EVERY", "MIN_BYTES", "fast_installed", "choose_engine", "engine_for", "CheckedIds",
           "checked_ids",
           "IdsRun", "has_rare_characters", "rare_texts", "wrap_ids", "FlatIds", "IdEngine"]

ENGINE_ENV = "TOKENPRISM_IDS_ENGINE"
#: One document in this many is re-encoded by the reference during a run (besides the rare-script ones).
SAMPLE_EVERY = 1000
#: Below this much text a fast engine is not worth its choosing (importing and loading it and running
#: the probes take a second or so, what a reference backend takes for a few MB).
MIN_BYTES = 4 << 20

_lock = threading.Lock()

# The common scripts: printable ASCII and tab/newline/return, Latin, Greek, Cyrillic, Hebrew, Arabic,
# Devanagari, Thai, general punctuation, currency, letterlike symbols and arrows, CJK, kana, Hangul,
# full-width forms. A document holding anything else (controls, emoji, the supplementary planes,
# other scripts, private use, a BOM) is always checked against the reference.
_RARE_PATTERN = (
    "[^\t\n\r -~\u00a0-\u052f\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f\u1e00-\u1fff\u2000-\u206f\u20a0-\u20cf"
    "\u2100-\u21ff\u3000-\u30ff\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
)
_PLAIN_ASCII = bytes([9, 10, 13, *range(32, 127)])
_ODD_ASCII = bytes(0 if b in _PLAIN_ASCII else 1 for b in range(256))  # a translate table: 1 for the others
_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=None)
def _rare() -> re.Pattern[str]:
    """`_RARE_PATTERN`, compiled on first use (a few ms: `count` on small inputs never needs it)."""
    return re.compile(_RARE_PATTERN)


def has_rare_characters(text: str) -> bool:
    """Whether a text holds a character outside the common scripts (see `_RARE_PATTERN`).

    >>> has_rare_characters("plain English, Ελληνικά, 中文"), has_rare_characters("emoji 🙂")
    (False, True)
    """
    if text.isascii():  # (a flag CPython keeps: free) then a C-speed scan for control characters
        return bool(text.encode("ascii").translate(None, _PLAIN_ASCII))
    return _rare().search(text) is not None


def rare_texts(texts: Sequence[str], joined: str | None = None) -> list[int]:
    """The indices of the texts holding a character outside the common scripts (`has_rare_characters`):
    the ASCII texts of a batch are scanned together, in one pass over their bytes.

    >>> rare_texts(["a", "b 🙂", "c ᚠ", "d"])
    [1, 2]
    """
    import numpy as np

    joined = "".join(texts) if joined is None else joined
    if joined.isascii():
        ascii_texts, others = list(range(len(texts))), []
    else:
        ascii_texts = [k for k, t in enumerate(texts) if t.isascii()]
        others = [k for k, t in enumerate(texts) if not t.isascii() and _rare().search(t)]
        joined = "".join(texts[k] for k in ascii_texts)
    data = joined.encode("ascii")
    if not data.translate(None, _PLAIN_ASCII):
        return others
    # where the odd bytes are → which texts they are in
    ends = np.cumsum(np.fromiter((len(texts[k]) for k in ascii_texts), dtype=np.int64, count=len(ascii_texts)))
    odd = np.flatnonzero(np.frombuffer(data.translate(_ODD_ASCII), dtype=bool))
    found = np.unique(np.searchsorted(ends, odd, side="right"))
    return sorted(others + [ascii_texts[i] for i in found.tolist()])


def fast_installed() -> bool:
    """Whether the `[fast]` extra's engines are installed (gigatoken or quicktok)."""
    return find_spec("gigatoken") is not None or find_spec("quicktok") is not None


def _setting() -> str:
    value = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "reference", *BUILDERS):
        raise UsageError(f"{ENGINE_ENV}={value!r}: use auto, reference or one of {', '.join(BUILDERS)}")
    return value


def engine_for(tok: Tokenizer) -> IdEngine:
    """The id engine of a loaded tokenizer, chosen on first use and kept (`Tokenizer.ids_engine`)."""
    setting = _setting()
    key = f"_ids_engine_{setting}"
    engine = tok.__dict__.get(key)
    if engine is None:
        with _lock:  # two threads asking at once choose once
            engine = tok.__dict__.get(key)
            if engine is None:
                engine = tok.__dict__[key] = choose_engine(tok, setting=setting)
    return engine


def choose_engine(tok: Tokenizer, *, setting: str = "auto") -> IdEngine:
    """The fastest engine that gives `tok`'s reference ids on every probe string, else the reference.
    The engine's `verified` says what it was checked on; `tried` says why faster ones were passed over.
    """
    reference = ReferenceEngine(tok)
    reference.tried, reference.verified = [], "the reference backend"
    if setting == "reference" or (setting == "auto" and not fast_installed()):
        return reference
    probes = probe_texts(tok.special_tokens)
    expected = FlatIds.of(tok.encode_ids_batch(probes))
    for name in BUILDERS if setting == "auto" else [setting]:
        engine, why = _candidate(name, tok, probes, expected)
        if engine is not None:
            engine.tried, engine.verified = reference.tried, why
            return engine
        reference.tried.append(why)
    return reference


def _candidate(name: str, tok: Tokenizer, probes: list[str], expected: FlatIds) -> tuple[IdEngine | None, str]:
    """(the engine, what it was verified on) or (None, why not)."""
    try:
        engine = BUILDERS[name](tok)
    except ImportError:
        return None, f"{name}: not installed (pip install 'tokenprism[fast]')"
    except Exception as exc:  # noqa: BLE001 - any library error means: this engine cannot read it
        return None, f"{name}: cannot read this tokenizer ({type(exc).__name__}: {str(exc)[:80]})"
    if engine is None:
        return None, f"{name}: cannot express this tokenizer"
    try:
        got = engine.encode_flat(probes)
    except Exception as exc:  # noqa: BLE001
        return None, f"{name}: failed on the probes ({type(exc).__name__}: {str(exc)[:80]})"
    bad = first_difference(got, expected)
    if bad is not None:
        return None, f"{name}: other ids than the reference on probe {probes[bad][:40]!r}"
    return engine, f"same ids as {ReferenceEngine(tok).name} on {len(probes)} probe strings"


def first_difference(got: FlatIds, expected: FlatIds) -> int | None:
    """The index of the first text whose ids differ, or None when all are the same.

    >>> first_difference(FlatIds.of([[1], [2, 3]]), FlatIds.of([[1], [2, 4]]))
    1
    """
    import numpy as np

    if len(got.bounds) != len(expected.bounds):
        return 0
    if np.array_equal(got.bounds, expected.bounds) and np.array_equal(got.flat, expected.flat):
        return None
    for k in range(len(expected.bounds) - 1):
        if got.row(k) != expected.row(k):
            return k
    return None


def wrap_ids(tok: Tokenizer) -> tuple[list[int], list[int]] | None:
    """The ids `tok` puts before and after a text when special tokens are added ([CLS] … [SEP], <s> …),
    if adding them is exactly that for every probe; else None (then only the reference adds them).

    >>> wrap_ids(load_tokenizer("bert-base-uncased"))                # doctest: +SKIP
    ([101], [102])
    """
    cached = tok.__dict__.get("_wrap_ids", ...)
    if cached is not ...:
        return cached
    plain, wrapped = tok.encode_ids_batch(["a"]), tok.encode_ids_batch(["a"], add_special_tokens=True)
    found = None
    for start in range(len(wrapped[0]) - len(plain[0]) + 1):
        if wrapped[0][start : start + len(plain[0])] == plain[0]:
            found = (wrapped[0][:start], wrapped[0][start + len(plain[0]) :])
            break
    if found is not None:
        probes = probe_texts(tok.special_tokens, random_count=20)
        with_added = tok.encode_ids_batch(probes, add_special_tokens=True)
        if any(w != found[0] + p + found[1] for w, p in zip(with_added, tok.encode_ids_batch(probes))):
            found = None
    tok.__dict__["_wrap_ids"] = found
    return found


class IdsRun:
    """Which id engine counted a tokenizer's documents, and what the run-time checks found: additive
    like a `Tally`, so batches from any worker add up. (A plain class: `count` starts without
    importing `dataclasses`.)"""

    def __init__(self, engines: dict[str, int] | None = None, checked: int = 0, switched: list[str] | None = None,
                 verified: str = "") -> None:
        self.engines = engines if engines is not None else {}  # engine name → documents (parts) it encoded
        self.checked = checked  # parts re-encoded by the reference to check the engine
        self.switched = switched if switched is not None else []  # why the run left an engine, once per switch
        self.verified = verified

    def __repr__(self) -> str:
        return f"IdsRun({self.to_dict()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdsRun) and self.to_dict() == other.to_dict()

    def merge(self, other: IdsRun) -> IdsRun:
        for name, n in other.engines.items():
            self.engines[name] = self.engines.get(name, 0) + n
        self.checked += other.checked
        self.switched += [s for s in other.switched if s not in self.switched]
        self.verified = self.verified or other.verified
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"engines": dict(self.engines), "checked_documents": self.checked, "switched": list(self.switched),
                "verified": self.verified}


def checked_ids(tok: Tokenizer) -> CheckedIds:
    """The spot-checked id encoder of a loaded tokenizer for this process's id-only work (`count`,
    `tokenize --ids-only` on large inputs share it): its reference backend until `MIN_BYTES` of text
    have gone through, then its chosen engine. `.name` says which engine produced the latest ids."""
    found = tok.__dict__.get("_checked_ids")
    if found is None:
        made = CheckedIds(tok, after_chars=MIN_BYTES)  # (outside the lock: it may choose the engine, which takes it)
        with _lock:
            found = tok.__dict__.setdefault("_checked_ids", made)
    return found


class CheckedIds:
    """One run's ids: the tokenizer's engine, spot-checked against the reference as the run goes.

    The first document whose ids differ switches the run to the reference (`switched` says why), and
    the batch it was in is encoded again by the reference, so from there on every id is the reference's.
    """

    def __init__(self, tok: Tokenizer, engine: IdEngine | None = None, *, every: int = SAMPLE_EVERY,
                 after_chars: int = 0) -> None:
        """`engine`: the engine to check (default: `tok.ids_engine()`); `after_chars`: use the reference
        until that much text has gone through, then the default engine (a small job never pays for
        choosing one)."""
        self.tok = tok
        self.waiting = after_chars if engine is None else 0
        self.engine = engine if engine is not None else ReferenceEngine(tok) if self.waiting > 0 else tok.ids_engine()
        self.first = self.engine
        self.every = every
        self.seen = self.chars = 0
        self.switched: str | None = None
        #: engine name → texts it encoded in this object's life (what a report names)
        self.used: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.engine.name

    def encode(self, texts: Sequence[str], *, note: IdsRun | None = None, rare: Sequence[int] | None = None) -> FlatIds:
        """The ids of `texts` (nothing added around them, special-token strings parsed); `note` records
        which engine encoded them and what was checked. `rare`: the texts holding rare characters where
        the caller has found them (`rare_texts`) and knows the texts hold no lone surrogates."""
        if self.waiting:
            self._promote(sum(map(len, texts)))
        engine = self.engine
        if rare is None and not engine.reference:
            joined = "".join(texts)
            if not joined.isascii() and _SURROGATE.search(joined):
                engine = ReferenceEngine(self.tok)  # it repairs lone surrogates as every encode does
            else:
                rare = rare_texts(texts, joined)
        ids, picks = engine.encode_flat(texts), []
        if not engine.reference:
            picks = self._sample(len(texts), rare or ())
            expected = self.tok.encode_ids_batch([texts[k] for k in picks]) if picks else []
            bad = next((k for k, want in zip(picks, expected) if ids.row(k) != want), None)
            if bad is not None:
                reason = self._switch(engine, texts[bad], ids.row(bad), expected[picks.index(bad)])
                engine, ids = self.engine, self.engine.encode_flat(texts)
                if note is not None:
                    note.switched.append(reason)
        self._record(engine.name, len(texts), note)
        if note is not None:
            note.checked += len(picks)
            note.verified = note.verified or getattr(self.first, "verified", "")
        return ids

    def counts(self, texts: Sequence[str], *, note: IdsRun | None = None) -> list[int]:
        """How many ids each text has (a small job on the reference never imports numpy)."""
        if self._still_waiting(texts, note):
            return [len(ids) for ids in self.tok.encode_ids_batch(texts)]
        return self.encode(texts, note=note).lengths.tolist()

    def rows(self, texts: Sequence[str], *, note: IdsRun | None = None) -> list[list[int]]:
        """The ids of each text, as lists."""
        if self._still_waiting(texts, note):
            return self.tok.encode_ids_batch(texts)
        ids = self.encode(texts, note=note)
        return [ids.row(k) for k in range(len(texts))]

    def _still_waiting(self, texts: Sequence[str], note: IdsRun | None) -> bool:
        """Whether these texts go to the reference as part of the first `after_chars` (noted if so)."""
        size = sum(map(len, texts))
        with self._lock:
            if not (self.waiting and self.engine.reference and self.chars + size < self.waiting):
                return False
            self.chars += size
        self._record(self.engine.name, len(texts), note)
        return True

    def _record(self, name: str, texts: int, note: IdsRun | None) -> None:
        with self._lock:
            self.used[name] = self.used.get(name, 0) + texts
        if note is not None:
            note.engines[name] = note.engines.get(name, 0) + texts

    def _promote(self, chars: int) -> None:
        """Count text seen while waiting; past `after_chars`, take the tokenizer's own engine."""
        with self._lock:
            self.chars += chars
            if self.chars < self.waiting:
                return
            self.waiting = 0
        engine = self.tok.ids_engine()
        with self._lock:
            if self.switched is None:
                self.engine = self.first = engine

    def _sample(self, count: int, rare: Sequence[int]) -> list[int]:
        """Which of the next `count` texts the reference encodes again: 1 in `every`, and the rare ones."""
        with self._lock:
            start = self.seen
            self.seen += count
        return sorted({*range(-start % self.every, count, self.every), *rare})

    def _switch(self, engine: IdEngine, text: str, got: list[int], want: list[int]) -> str:
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        reference = ReferenceEngine(self.tok)
        reason = (f"{engine.name} gave other ids than {reference.name} on a document ({text[:30]!r}…, token {at}: "
                  f"{got[at] if at < len(got) else 'none'} instead of {want[at] if at < len(want) else 'none'}); "
                  f"switched to {reference.name}")
        with self._lock:
            if self.engine is engine:
                self.engine, self.switched = reference, reason
        return reason
