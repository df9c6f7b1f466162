"""The batch scan behind corpus statistics (corpus/tally.py): words, bytes and the documents an id
engine's spot check must see, found in chunks, equal their definitions document by document,
whatever the chunk size (chunk edges fall inside words, spaces and multi-byte characters)."""

from __future__ import annotations

import random
import re

import pytest

from tokenprism.corpus import tally
from tokenprism.corpus.readers import Document
from tokenprism.corpus.stats import count_words
from tokenprism.tokenizers.fast import has_rare_characters

PIECES = ["word", " ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\x01", "\x7f", "é", "日本語", "かな", "🙂", "ᚠ", "ab", "",
          "Ελληνικά", "\x1a"]


def _documents(seed: int, count: int = 60) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 25))) for _ in range(count)]


def _words(text: str) -> int:
    """Runs of non-(ASCII-)whitespace, plus one per character in U+3000-U+9FFF (the definition)."""
    return len(re.findall(r"[^\t\n\v\f\r ]+", text)) + sum("\u3000" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("scan_bytes", [1, 2, 3, 7, 64, 1 << 16])
@pytest.mark.parametrize("seed", range(4))
def test_facts_equal_their_definitions_at_any_chunk_size(monkeypatch, scan_bytes: int, seed: int) -> None:
    monkeypatch.setattr(tally, "SCAN_BYTES", scan_bytes)
    texts = _documents(seed)
    if seed % 2:  # an all-ASCII batch takes the copy-free path
        texts = [t.encode("ascii", "ignore").decode() for t in texts]
    one_group = [Document(t, "g", k) for k, t in enumerate(texts)]
    two_groups = [Document(t, "ab"[k % 2], k) for k, t in enumerate(texts)]
    facts = tally.batch_facts(one_group)
    assert facts.words.tolist() == [sum(map(_words, texts))]
    assert facts.nbytes.tolist() == [len(t.encode()) for t in texts]
    assert facts.chars.tolist() == [len(t) for t in texts]
    assert list(facts.data) == [t.encode() for t in texts]
    assert facts.rare == [k for k, t in enumerate(texts) if has_rare_characters(t)]
    per_document = tally.batch_facts(two_groups)
    assert per_document.words.tolist() == [_words(t) for t in texts] == [count_words(t.encode()) for t in texts]
    assert per_document.rare == facts.rare


def test_the_rare_documents_are_the_ones_a_run_re_checks() -> None:
    """What the fold hands `CheckedIds.encode` as `rare` is what it would have found itself."""
    from tokenprism.tokenizers.fast import rare_texts

    texts = _documents(7, count=200)
    assert tally.batch_facts([Document(t, "g", k) for k, t in enumerate(texts)]).rare == rare_texts(texts)
