"""`corpus` is exact for any file size: long texts are cut only where the tokenizers' own encoders keep
the ids (tokenizers/cuts.py), so corpus totals equal the reference libraries' whole-file counts, and
`count` agrees. The 200 MB file: benchmarks/bench_corpus_exact.py.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from conftest import fixture
from reference_tokenizers import FIXTURE_TOKENIZERS, reference_encoder
from tokenprism import load_tokenizer
from tokenprism.corpus import corpus_stats, read_corpus
from tokenprism.count import count_paths
from tokenprism.tokenizers.cuts import TextCutter, split_stream
from tokenprism.tokenizers.roundtrip import IdBatch


def _tok(rel: str):
    return load_tokenizer(str(fixture(f"tokenizers/{rel}")))


def _hard_texts() -> list[str]:
    """Real text made hard to cut: blank-line runs, CRLF, indentation, space runs, tabs, CJK, code."""
    english = fixture("corpus/english/carroll-alice.txt").read_text(encoding="utf-8")[:12000]
    chinese = fixture("corpus/zh/sanguo_yanyi.txt").read_text(encoding="utf-8")[:3000]
    code = Path(__file__).read_text(encoding="utf-8")
    return [
        english,
        english.replace("\n", "\r\n"),
        re.sub(r"\n\n", "\n\n\n  \n\t\n", english),
        "\n".join("    " * (i % 4) + line + " " * (i % 3) for i, line in enumerate(english.split("\n"))),
        re.sub(r"(\w) (\w)", r"\1   \2", english),
        chinese + "\n\n" + english[:3000],
        code,
    ]


@pytest.mark.parametrize("rel", FIXTURE_TOKENIZERS)
def test_corpus_totals_equal_whole_file_counts_with_many_cuts(rel: str, tmp_path: Path) -> None:
    """Parts of 1,500 characters: a cut every few lines, each where it must not move a token."""
    for i, text in enumerate(_hard_texts()):
        (tmp_path / f"{i}.txt").write_bytes(text.encode("utf-8"))
    reader = read_corpus([tmp_path], part_chars=1500)
    stats = corpus_stats(reader, [_tok(rel)])
    ref = reference_encoder(rel)
    texts = [p.read_bytes().decode("utf-8") for p in sorted(tmp_path.iterdir())]
    row = stats.row(stats.tokenizers[0])
    assert row.tokens == sum(len(ref(t)) for t in texts)
    # the lossless share too: as many documents round-trip as when each is decoded whole
    tok = _tok(rel)
    assert row.lossless_documents == sum(tok.round_trips(IdBatch.of(texts, tok.encode_ids_batch(texts))))


@pytest.mark.parametrize("rel", FIXTURE_TOKENIZERS)
def test_streamed_parts_join_to_the_whole_texts_ids(rel: str) -> None:
    """The hook on a stream (what streamed count/tokenize reuse): chunks of random sizes in, parts out;
    the parts are the text, their ids joined are the whole text's. Without `decodes`, also for
    tokenizers whose decoding a cut changes (SentencePiece, WordPiece)."""
    tok, ref = _tok(rel), reference_encoder(rel)
    rng = random.Random(14)
    for decodes in (False, True):
        cutter = TextCutter([tok], decodes=decodes)
        for text in _hard_texts()[:6]:
            bounds = sorted(rng.sample(range(1, len(text)), 12))
            chunks = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)])]
            parts = list(split_stream(cutter, chunks, part_chars=700))
            assert "".join(parts) == text
            assert [i for p in parts for i in ref(p)] == ref(text)
            if not cutter.never:
                assert len(parts) > 3, "a cuttable tokenizer finds cuts in real text"


def test_which_tokenizers_are_cut() -> None:
    """Byte-level BPEs are cut (ids and decoded text both hold); SentencePiece and WordPiece only where
    decoding is not asked (their decoder drops a part's leading space); Llama-2's SentencePiece (a ▁ put
    before every text, no whitespace removal) nowhere."""
    cut = {rel: (not TextCutter([_tok(rel)], decodes=False).never, not TextCutter([_tok(rel)]).never)
           for rel in FIXTURE_TOKENIZERS}
    assert cut["gpt2"] == cut["openai-tiktoken/cl100k_base.tiktoken"] == cut["qwen2/tokenizer.json.gz"] == (True, True)
    assert cut["flan-t5/spiece.model"] == cut["bert-base-uncased"] == cut["deberta-v3/spm.model"] == (True, False)
    assert cut["phi-3-mini/tokenizer.model"] == cut["phi-3-mini/tokenizer.json"] == (False, False)


def test_cut_point_on_the_contract() -> None:
    gpt2 = _tok("gpt2")
    text = "Hello world.\n\nAgain and again"
    at = gpt2.cut_point(text, 20)
    assert at is not None and at <= 20 and text[at] == " " and not text[at - 1].isspace()
    assert gpt2.encode_ids_batch([text[:at]])[0] + gpt2.encode_ids_batch([text[at:]])[0] == gpt2.encode_ids_batch([text])[0]
    assert _tok("phi-3-mini/tokenizer.model").cut_point(text, 20) is None
    assert gpt2.cut_point("nospaceshere", 10) is None


def test_the_issue_case_gpt2_on_the_english_books() -> None:
    """The issue's numbers: 996,889 (cut at line starts) vs 996,895 (whole files) GPT-2 tokens on the
    eight books; corpus must give the whole files' count, and agree with `count`."""
    english = fixture("corpus/english")
    books = sorted(english.glob("*.txt"))
    ref = reference_encoder("gpt2")
    whole = sum(len(ref(p.read_bytes().decode("utf-8"))) for p in books)
    tok = _tok("gpt2")
    stats = corpus_stats(read_corpus(books), [tok])
    assert stats.row(tok.name).tokens == whole == count_paths(tok, books).total


@pytest.mark.slow
@pytest.mark.parametrize("rel", FIXTURE_TOKENIZERS)
def test_every_corpus_group_equals_whole_file_counts(rel: str) -> None:
    """Every group of ../shared/fixtures/corpus, read as `tokenprism corpus` reads it."""
    corpus = fixture("corpus")
    tok, ref = _tok(rel), reference_encoder(rel)
    stats = corpus_stats(read_corpus([corpus], group_by="folder"), [tok])
    for group in stats.groups:  # a subfolder, or the files at the top (SOURCES.md), named after the folder
        files = sorted(p for p in (corpus / group).rglob("*") if p.is_file()) if group != corpus.name else \
            sorted(p for p in corpus.iterdir() if p.is_file())
        whole = sum(len(ref(p.read_bytes().decode("utf-8", "replace"))) for p in files)
        assert stats.row(tok.name, group).tokens == whole, group
