"""Fast id engines (tokenizers/fast.py): chosen per tokenizer only after they give the reference
library's ids on the probe strings, spot-checked during a run, and left for the reference, with a note,
the moment they differ. The ids are compared with the reference libraries themselves (tokenizers,
tiktoken), never with numbers of our own."""

from __future__ import annotations

import json
from importlib.util import find_spec

import pytest

from tokenprism import load_tokenizer
from tokenprism.corpus import corpus_stats
from tokenprism.corpus.readers import Document
from tokenprism.tokenizers import fast
from tokenprism.tokenizers.fast import CheckedIds, FlatIds, choose_engine, has_rare_characters, wrap_ids
from tokenprism.tokenizers.fast_engines import BUILDERS, IdEngine, ReferenceEngine

from conftest import TOKENIZER_FIXTURES, fixture

FAST = find_spec("gigatoken") is not None or find_spec("quicktok") is not None
needs_fast = pytest.mark.skipif(not FAST, reason="the [fast] extra (gigatoken, quicktok-v1) is not installed")


@pytest.fixture(autouse=True)
def _ranks_folder(monkeypatch):
    monkeypatch.setenv("TOKENPRISM_TIKTOKEN_DIR", str(TOKENIZER_FIXTURES / "openai-tiktoken"))
    monkeypatch.delenv(fast.ENGINE_ENV, raising=False)


def corpus_texts(limit: int = 400) -> list[str]:
    """1 KB documents of the corpus sample (English, and the UDHR in six scripts)."""
    texts: list[str] = []
    for path in sorted(fixture("corpus/english").glob("*.txt")) + sorted(fixture("corpus/udhr").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [text[i : i + 1000] for i in range(0, min(len(text), 40_000), 1000)]
    return texts[:limit] + ["", " ", "<|endoftext|> after", "a\u3000b 🎵 𝕳"]


def reference_ids(tok, texts: list[str]) -> list[list[int]]:
    """The reference library's own ids (no tokens added, special-token strings parsed)."""
    if tok.backend == "hf":
        return [e.ids for e in tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]
    return tok.encoding.encode_batch(texts, allowed_special="all")


CASES = {"gpt2": "tokenizers/gpt2", "cl100k": "tokenizers/openai-tiktoken/cl100k_base.tiktoken",
         "qwen2": "tokenizers/qwen2/tokenizer.json.gz", "phi-3 json": "tokenizers/phi-3-mini/tokenizer.json"}


@needs_fast
@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_every_engine_that_can_express_a_tokenizer_gives_the_reference_ids(case):
    tok = load_tokenizer(str(fixture(CASES[case])))
    texts = corpus_texts()
    want = reference_ids(tok, texts)
    built = 0
    for name, build in BUILDERS.items():
        try:
            engine = build(tok)
        except ImportError:
            continue
        if engine is None:
            continue
        built += 1
        got = engine.encode_flat(texts)
        assert [got.row(k) for k in range(len(texts))] == want, name
    assert built, "no fast engine can express this tokenizer"
    chosen = tok.ids_engine()
    assert not chosen.reference and "probe strings" in chosen.verified


@needs_fast
def test_the_corpus_counts_the_same_with_the_fast_engine_and_says_which_engine():
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / "gpt2"))
    docs = [Document(t, "all" if k % 3 else "other", k) for k, t in enumerate(corpus_texts())]
    fast_run = corpus_stats(docs, [tok], ids_engine="fast")
    reference_run = corpus_stats(docs, [tok], ids_engine="reference")
    assert [r.to_dict() for r in fast_run.rows] == [r.to_dict() for r in reference_run.rows]
    want = reference_ids(tok, [d.text for d in docs])
    assert fast_run.row(tok.name).tokens == sum(map(len, want))
    assert fast_run.ids[tok.name]["engine"] == tok.ids_engine().name != reference_run.ids[tok.name]["engine"]
    assert fast_run.ids[tok.name]["checked_documents"] >= 2  # the first, and the one with 🎵 𝕳
    assert json.loads(json.dumps(fast_run.to_dict()))["ids"][tok.name]["engine"].startswith(("gigatoken", "quicktok", "tiktoken"))


class OneWrongId(IdEngine):
    """A fast engine that is right except for one id of documents holding `marker`."""

    def __init__(self, tok, marker: str) -> None:
        self.inner, self.marker, self.name = ReferenceEngine(tok), marker, "broken-engine 1.0"

    def encode_flat(self, texts):
        ids = self.inner.encode_flat(texts)
        flat = ids.flat.copy()
        for k, text in enumerate(texts):
            if self.marker in text and ids.bounds[k + 1] > ids.bounds[k]:
                flat[ids.bounds[k]] += 1
        return FlatIds(flat, ids.bounds)


def test_a_wrong_id_switches_the_run_to_the_reference_and_the_report_says_so():
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / "gpt2"))
    texts = corpus_texts(200)
    texts[150] = "a rare script 𓀀 in the middle of the corpus"  # checked because of its script, not by lot
    docs = [Document(t, "all", k) for k, t in enumerate(texts)]
    checked = CheckedIds(tok, OneWrongId(tok, "𓀀"))
    reference_run = corpus_stats(docs, [tok], ids_engine="reference")

    from tokenprism.corpus import stats as stats_module

    original = stats_module.TokenizerJob.of

    def broken_job(tok_, *, name=None, ids_engine="fast"):
        job = original(tok_, name=name, ids_engine=ids_engine)
        if ids_engine == "fast":
            job._ids = checked
        return job

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stats_module.TokenizerJob, "of", broken_job)
        run = corpus_stats(docs, [tok], ids_engine="fast", batch_chars=20_000)
    ids = run.ids[tok.name]
    assert checked.switched and "broken-engine 1.0 gave other ids than tokenizers" in checked.switched
    assert any("switched to tokenizers" in s for s in ids["switched"])
    assert any("counted again from the start by the reference" in s for s in ids["switched"])
    assert ids["engine"].startswith("tokenizers")  # every number now comes from the reference
    assert [r.to_dict() for r in run.rows] == [r.to_dict() for r in reference_run.rows]


def test_after_a_switch_every_later_batch_is_the_references():
    """A stream that cannot be read again: the batch with the difference and every one after it are
    encoded by the reference, and the note says where the switch happened."""
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / "gpt2"))
    texts = ["plain text", "more 𓀀 text", "after the switch 𓀀", "and plain again"]
    checked = CheckedIds(tok, OneWrongId(tok, "𓀀"))
    want = reference_ids(tok, texts)
    first = checked.encode(texts[:1])
    assert first.row(0) == want[0] and not checked.switched
    second = checked.encode(texts[1:3])
    assert [second.row(0), second.row(1)] == want[1:3]
    assert checked.engine.reference and "'more 𓀀 text'" in checked.switched
    assert checked.encode(texts[3:]).row(0) == want[3]


def test_an_engine_that_differs_on_a_probe_is_never_chosen(monkeypatch):
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / "gpt2"))
    monkeypatch.setattr(fast, "fast_installed", lambda: True)
    monkeypatch.setattr(fast, "BUILDERS", {"broken": lambda t: OneWrongId(t, "🎵")})
    engine = choose_engine(tok)
    assert engine.reference
    assert any("broken: other ids than the reference on probe" in why for why in engine.tried)


def test_without_the_fast_extra_nothing_changes(monkeypatch):
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / "gpt2"))
    monkeypatch.setattr(fast, "fast_installed", lambda: False)
    engine = choose_engine(tok)
    assert engine.reference and engine.name.startswith("tokenizers ")
    monkeypatch.setenv(fast.ENGINE_ENV, "reference")
    assert tok.ids_engine().reference


def test_rare_scripts_are_told_apart_from_common_ones():
    common = ["plain ASCII\ttext\r\n", "Ελληνικά", "Русский", "中文，标点", "日本語カタカナ", "한국어", "العربية", "हिन्दी", "ไทย", "“quotes” — €"]
    rare = ["emoji 🙂", "\x00 control", "\ufeffBOM", "𝕳", "ᚠᚢᚦ runes", "\ue000 private"]
    assert not any(map(has_rare_characters, common))
    assert all(map(has_rare_characters, rare))


@pytest.mark.parametrize("rel", ["bert-base-uncased", "gpt2", "phi-3-mini/tokenizer.json"])
def test_the_tokens_added_around_a_text_are_found_and_checked(rel):
    tok = load_tokenizer(str(TOKENIZER_FIXTURES / rel))
    found = wrap_ids(tok)
    raw = tok.backend_tokenizer
    for text in ["Hello world", "", "a  b\n"]:
        with_added = raw.encode(text, add_special_tokens=True).ids
        plain = raw.encode(text, add_special_tokens=False).ids
        assert found is not None and found[0] + plain + found[1] == with_added


@needs_fast
def test_the_fold_on_ray_loads_its_engine_where_it_runs():
    """What a Ray actor gets: the fold without its jobs; it loads the tokenizer and chooses its engine there."""
    import pickle

    from tokenprism.corpus.fold import Fold

    spec = str(TOKENIZER_FIXTURES / "gpt2")
    fold = pickle.loads(pickle.dumps(Fold(["gpt2"], [spec], ids_engine="fast")))
    result = fold([Document(t, "all", k) for k, t in enumerate(corpus_texts(20))])
    assert result.runs["gpt2"].engines == {load_tokenizer(spec).ids_engine().name: 24}


@needs_fast
def test_fim_shards_hold_the_library_ids_when_the_fast_engine_writes_them(tmp_path, monkeypatch):
    """FIM token-id shards from the fast engine (forced from the first byte): the ids of the text
    output, as the library encodes it, and meta.json names the engine."""
    import numpy as np

    from tokenprism.fim import write_fim_data
    from tokenprism.tokenizers.registry import bundled_path

    monkeypatch.setattr(fast, "MIN_BYTES", 0)
    tok = load_tokenizer(str(bundled_path("prism-tiny")))
    tok.__dict__.pop("_checked_ids", None)
    source = tmp_path / "docs.jsonl"
    texts = [t for t in corpus_texts(60) if t and "<|" not in t]  # (a sentinel in a text is refused)
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    options = {"tokenizer": tok, "fim_rate": 0.9, "seed": 3}
    meta = write_fim_data(source, tmp_path / "shards", **options)
    write_fim_data(source, tmp_path / "out.jsonl", **options)
    texts = [json.loads(line)["text"] for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    want = [i for ids in tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False) for i in ids.ids]
    got = np.concatenate([np.load(tmp_path / "shards" / s["file"]) for s in meta["shards"]])
    assert got.tolist() == want
    assert meta["ids_engine"] == tok.ids_engine().name != "tokenizers"
    tok.__dict__.pop("_checked_ids", None)
