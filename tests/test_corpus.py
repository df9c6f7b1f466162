"""corpus_stats(): the numbers equal those computed straight from the reference libraries per
document; bad files are skipped and counted; memory stays bounded; Ray gives the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, TOKENIZER_FIXTURES, fixture
from tokenprism.corpus import TOTAL, corpus_stats, read_corpus
from tokenprism.errors import InputError, MissingDependency

CODE = "def area(width, height):\n    return width * height\n\n\nclass Box:\n\tpass\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """en/ and zh/ (fixture texts, linked), code/ (written here), plus a binary file, a file with
    bad UTF-8, an unreadable entry and an empty file."""
    fixture("corpus/udhr/eng.txt")
    root = tmp_path_factory.mktemp("corpus")
    for group, names in {"en": ["udhr/eng.txt", "udhr/fra.txt"], "zh": ["udhr/zho_hans.txt", "udhr/jpn.txt"]}.items():
        (root / group).mkdir()
        for name in names:
            # copied, not linked: a symlink out of the scanned folder is not followed (issue 16)
            (root / group / Path(name).name).write_bytes((FIXTURES / "corpus" / name).read_bytes())
    (root / "code").mkdir()
    (root / "code" / "area.py").write_text(CODE, encoding="utf-8")
    (root / "code" / "tabs.py").write_text("if x:\n\t\treturn [UNK] 🎵\n", encoding="utf-8")
    (root / "code" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (root / "code" / "latin1.txt").write_bytes("caf\u00e9 na\u00efve\n".encode("latin-1"))
    (root / "code" / "gone.txt").symlink_to(root / "nowhere")
    (root / "code" / "empty.txt").write_bytes(b"")
    return root


def _docs(root: Path) -> list[tuple[str, str]]:
    """(group, text) of every readable text document, read independently of the reader."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".png":
            out.append((path.parent.name, path.read_bytes().decode("utf-8", "replace")))
    return out


def _words(text: str) -> int:
    """Runs of non-(ASCII-)whitespace, plus one per character in U+3000-U+9FFF."""
    import re

    return len(re.findall(r"[^\t\n\v\f\r ]+", text)) + sum("\u3000" <= ch <= "\u9fff" for ch in text)


def _gpt2():
    from tokenizers import ByteLevelBPETokenizer

    return ByteLevelBPETokenizer(str(TOKENIZER_FIXTURES / "gpt2/vocab.json"), str(TOKENIZER_FIXTURES / "gpt2/merges.txt"))


def _bert():
    from tokenizers import BertWordPieceTokenizer

    return BertWordPieceTokenizer(str(TOKENIZER_FIXTURES / "bert-base-uncased/vocab.txt"), lowercase=True)


@pytest.fixture(scope="module")
def stats(corpus):
    specs = [str(TOKENIZER_FIXTURES / "gpt2"), str(TOKENIZER_FIXTURES / "bert-base-uncased")]
    return corpus_stats(read_corpus([corpus]), specs, top=5)


@pytest.mark.parametrize("which", ["gpt2", "bert-base-uncased"])
def test_numbers_equal_the_reference_per_document(corpus, stats, which):
    reference = _gpt2() if which == "gpt2" else _bert()
    unk = reference.token_to_id("[UNK]") if which != "gpt2" else None
    name = str(TOKENIZER_FIXTURES / which)
    by_group: dict[str, list[tuple[str, list[int]]]] = {}
    for group, text in _docs(corpus):
        by_group.setdefault(group, []).append((text, reference.encode(text, add_special_tokens=False).ids))
    by_group[TOTAL] = [d for docs in by_group.values() for d in docs]
    for group, docs in by_group.items():
        row = stats.row(name, group)
        ids = [i for _, doc_ids in docs for i in doc_ids]
        assert row.documents == len(docs)
        assert row.tokens == len(ids)
        assert row.chars == sum(len(t) for t, _ in docs)
        assert row.bytes == sum(len(t.encode()) for t, _ in docs)
        assert row.words == sum(_words(t) for t, _ in docs)
        assert row.unknown == (ids.count(unk) if unk is not None else 0)
        assert row.lossless_documents == sum(reference.decode(i, skip_special_tokens=False) == t for t, i in docs)
        assert row.distinct_ids == len(set(ids))
        counts = Counter(ids)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        assert [(i, c) for i, _, c in row.top_tokens] == top
    assert stats.row(str(TOKENIZER_FIXTURES / "gpt2")).lossless_share == 1.0
    assert stats.row(str(TOKENIZER_FIXTURES / "bert-base-uncased"), "zh").unknown_rate > 0


def test_bad_files_are_skipped_and_counted(stats, corpus):
    read = stats.report
    reasons = {Path(item["path"]).name: item["reason"] for item in read["skipped"]}
    assert reasons["image.png"].startswith("binary")
    assert reasons["gone.txt"].startswith("unreadable")
    assert {Path(p).name: n for p, n in read["invalid_utf8"].items()} == {"latin1.txt": 2}
    assert read["files"] == 8  # en/ 2, zh/ 2, code/ area.py, tabs.py, latin1.txt, empty.txt


def test_groups_by_folder_ext_and_none(corpus):
    spec = str(TOKENIZER_FIXTURES / "gpt2")
    by_folder = corpus_stats(read_corpus([corpus]), [spec])
    assert by_folder.groups == ["code", "en", "zh"]
    by_ext = corpus_stats(read_corpus([corpus], group_by="ext"), [spec])
    assert by_ext.groups == ["py", "txt"]
    everything = corpus_stats(read_corpus([corpus], group_by="none"), [spec])
    assert everything.groups == ["all"]
    assert by_ext.row(spec).tokens == everything.row(spec).tokens == by_folder.row(spec).tokens


EDGE_TEXTS = [" leading", "  two", "a  b", "trailing ", "", "\n", "x<unk>y", "🎵 鸟", "ﬁne", "\t tab", "𓀀", "a\u0301",
              "  ", "<|endoftext|> typed", "[UNK] typed", "lone \ud800 surrogate"]


@pytest.mark.parametrize("rel", ["gpt2", "openai-tiktoken/cl100k_base.tiktoken", "phi-3-mini/tokenizer.model",
                                 "flan-t5/spiece.model", "deberta-v3/spm.model", "bert-base-uncased", "phi-3-mini"])
def test_round_trip_counts_equal_real_decoding(rel):
    """The fast round-trip checks (byte joins) agree with decoding through the tokenizer, text by text."""
    from tokenprism import load_tokenizer
    from tokenprism.tokenizers.base import repair_surrogates

    tok = load_tokenizer(str(fixture(f"tokenizers/{rel}")))
    texts = EDGE_TEXTS + [(FIXTURES / "corpus/udhr" / n).read_text(encoding="utf-8") for n in ("eng.txt", "jpn.txt", "ara.txt")]
    stats = corpus_stats(texts, [tok])
    expected = 0
    for text in texts:
        text = repair_surrogates(text)[0]  # as corpus_stats does (and Tokenizer.encode)
        ids = tok.encode(text, add_special_tokens=False).ids
        expected += tok.decode(ids) == text
    assert stats.row(tok.name).lossless_documents == expected


def test_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = ["first document", "second, longer document\nwith a newline", "日本語の文"]
    lines = [json.dumps({"body": t, "id": i}) for i, t in enumerate(texts)] + ["not json", json.dumps({"other": 1})]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"body": texts}), tmp_path / "docs.parquet")
    spec = str(TOKENIZER_FIXTURES / "gpt2")
    reference = sum(len(_gpt2().encode(t).ids) for t in texts)
    for name in ("docs.jsonl", "docs.parquet"):
        stats = corpus_stats(read_corpus([tmp_path / name], field="body"), [spec])
        assert stats.row(spec).documents == 3 and stats.row(spec).tokens == reference
    jsonl = corpus_stats(read_corpus([tmp_path / "docs.jsonl"], field="body"), [spec])
    assert list(jsonl.report["bad_records"].values()) == [2]
    with pytest.raises(InputError, match="no column 'text'"):
        corpus_stats(read_corpus([tmp_path / "docs.parquet"]), [spec])


def test_long_documents_stream_in_parts_and_count_once(tmp_path):
    text = "".join(f"line {i} of a long file\n" for i in range(5000))
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    parts = list(read_corpus([tmp_path], part_chars=4096))
    assert len(parts) > 20 and "".join(p.text for p in parts) == text and parts[-1].last
    spec = str(TOKENIZER_FIXTURES / "gpt2")
    stats = corpus_stats(read_corpus([tmp_path], part_chars=4096), [spec])
    row = stats.row(spec)
    assert row.documents == 1 and row.lossless_documents == 1
    assert row.tokens == len(_gpt2().encode(text).ids)  # cut at line starts: no token straddles a cut


def test_plain_strings_and_errors(tmp_path):
    spec = str(TOKENIZER_FIXTURES / "gpt2")
    stats = corpus_stats(["def f(x):\n    return x\n", "hello"], [spec])
    assert stats.row(spec).documents == 2
    with pytest.raises(InputError, match="no such file"):
        read_corpus([tmp_path / "missing"])
    (tmp_path / "blank.txt").write_bytes(b"")
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01")
    with pytest.raises(InputError, match="corpus is empty.*skipped 1"):
        corpus_stats(read_corpus([tmp_path]), [spec])


def test_outputs_csv_html_plot(stats, tmp_path):
    csv_text = stats.to_csv()
    assert csv_text.splitlines()[0].startswith("tokenizer,group,documents")
    assert len(csv_text.splitlines()) == 1 + len(stats.rows)
    html = stats._repr_html_()
    assert "<table" in html and "<script" not in html
    from tokenprism.render.corpus import write_plot

    for suffix in (".png", ".svg", ".html"):
        out = write_plot(stats, tmp_path / f"chart{suffix}")
        assert out.stat().st_size > 1000
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_ray_missing_names_the_extra(monkeypatch, corpus):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError, as when not installed
    with pytest.raises(MissingDependency, match=r"tokenprism\[ray\]"):
        corpus_stats(read_corpus([corpus]), [str(TOKENIZER_FIXTURES / "gpt2")], engine="ray")


@pytest.mark.ray
@pytest.mark.slow
def test_ray_engine_gives_identical_numbers(corpus):
    pytest.importorskip("ray")
    import ray

    specs = [str(TOKENIZER_FIXTURES / "gpt2"), str(TOKENIZER_FIXTURES / "bert-base-uncased")]
    local = corpus_stats(read_corpus([corpus]), specs, ids_engine="reference")
    try:  # the fast id engines where [fast] is installed, chosen and spot-checked inside the actors
        remote = corpus_stats(read_corpus([corpus]), specs, engine="ray", batch_chars=4096, ids_engine="fast")
    finally:
        ray.shutdown()
    assert remote.to_dict()["rows"] == local.to_dict()["rows"]
    assert remote.report == local.report
    from tokenprism import load_tokenizer

    gpt2 = load_tokenizer(specs[0]).ids_engine().name
    assert remote.ids[specs[0]]["engine"] == gpt2 and not remote.ids[specs[0]]["switched"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc (Linux)")
def test_memory_stays_bounded_on_a_200_mb_file(tmp_path):
    """A 200 MB file streams through with a peak RSS no more than a quarter of the file's size above
    that of a 6 MB file (see corpus/__init__.py): what the run holds does not grow with the corpus.
    (The two are compared, not the peak alone: a fast id engine holds ~100 MB of tables of its own.)"""
    fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken")
    words = (FIXTURES / "corpus/english/carroll-alice.txt").read_text(encoding="utf-8").split()
    block = "".join(" ".join(words[i : i + 17]) + "\n" for i in range(0, len(words) - 17, 13))
    # VmHWM (this process's peak RSS) rather than ru_maxrss, which Linux carries over from the
    # parent across fork+exec: a child of a big test process would report the parent's size.
    script = (
        "import sys\n"
        "from tokenprism.corpus import corpus_stats, read_corpus\n"
        "row = corpus_stats(read_corpus([sys.argv[1]]), ['cl100k_base']).row('cl100k_base')\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
        "print(row.bytes, row.tokens, int(hwm) * 1024)\n"
    )
    env = {**os.environ, "TOKENPRISM_TIKTOKEN_DIR": str(TOKENIZER_FIXTURES / "openai-tiktoken")}
    peaks = []
    for size in (6_000_000, 200_000_000):  # (both past tokenizers.fast.MIN_BYTES: the same id engine)
        path = tmp_path / f"big-{size}.txt"
        with open(path, "w", encoding="utf-8") as fh:
            written = 0
            while written < size:
                fh.write(block)
                written += len(block)
        out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env, check=True)
        nbytes, tokens, peak = map(int, out.stdout.split())
        assert nbytes == path.stat().st_size and tokens > nbytes // 8
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 0.25 * nbytes, f"peak RSS {peaks[1] / 1e6:.0f} MB for a {nbytes / 1e6:.0f} MB file, {peaks[0] / 1e6:.0f} MB for 6 MB"


@pytest.mark.parametrize("rel", ["phi-3-mini/tokenizer.model", "flan-t5/spiece.model", "deberta-v3/spm.model",
                                 "bert-base-uncased", "bert-base-cased", "gpt2"])
def test_fast_round_trip_checks_agree_with_the_decoder_text_by_text(rel, tmp_path):
    """The round-trip tests join the tokens' bytes (and, for WordPiece, look at the spacing first)
    instead of decoding: for every text (spaces at either end and in runs, newlines, punctuation the
    WordPiece clean-up joins, byte-fallback characters, control and unknown pieces, normalised and
    unspaced CJK characters) they must say what the backend's own decoder says."""
    import numpy as np
    from hypothesis import given, settings, strategies as st

    from tokenprism import load_tokenizer
    from tokenprism.corpus.stats import TokenizerJob

    path = fixture(f"tokenizers/{rel}")
    if rel.endswith(".model"):  # the model alone: plain SentencePiece (beside its config, it is read as that class)
        path = tmp_path / path.name
        path.write_bytes(fixture(f"tokenizers/{rel}").read_bytes())
    tok = load_tokenizer(str(path))
    job = TokenizerJob.of(tok)
    alphabet = st.sampled_from([" ", "  ", "\t", "\n", "a", "b", "the", "The", "é", "ﬁ", "🎵", "鸟", "𓀀", "\u00a0", "\x00",
                                "<unk>", "<s>", "</s>", "[UNK]", "\ufffd", "\u0301", ".", " .", ",", "'", " ' ", "n't",
                                " do not", "##ing", "?", "!", "▁", "▁▁x", " ▁"])
    decode = tok.processor.decode if rel.endswith(".model") else tok.backend_tokenizer.decode

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.lists(alphabet, max_size=12).map("".join), min_size=1, max_size=6))
    def check(texts: list[str]) -> None:
        ids = job.encode(texts)
        flat = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids])
        bounds = np.concatenate(([0], np.cumsum([len(x) for x in ids])))
        fast = job.round_trips(texts, [t.encode() for t in texts], ids, flat, bounds)
        assert fast == [(decode(x) if rel.endswith(".model") else decode(x, skip_special_tokens=False)) == t
                        for x, t in zip(ids, texts)]

    check()
