"""The one engine table (`corpus.engines.ENGINES`): one signature, read by corpus_stats, the FIM
pipeline and both CLI commands."""

from __future__ import annotations

import pickle
import threading

import click
import pytest

from tokenprism.corpus import corpus_stats
from tokenprism.corpus.engines import AHEAD, ENGINES, get_engine, run_local
from tokenprism.corpus.fold import Fold, fold_batch
from tokenprism.corpus.readers import Document
from tokenprism.errors import UsageError
from tokenprism.fim import Sentinels, write_fim_data

from conftest import TOKENIZER_FIXTURES

TEXTS = ["def f(x):\n    return x\n", "Hello, world!", "", "ünïcödé ✓ 😀", "a b  c\n" * 40]


def option_choices(command: click.Command, name: str) -> list[str]:
    option = next(p for p in command.params if p.name == name)
    assert isinstance(option.type, click.Choice)
    return list(option.type.choices)


def test_both_cli_commands_offer_the_table() -> None:
    from tokenprism.cli.corpus import corpus_cmd
    from tokenprism.cli.fim_data import fim_transform_cmd
    from tokenprism.fim.writers import WRITERS

    assert option_choices(corpus_cmd, "engine") == option_choices(fim_transform_cmd, "engine") == list(ENGINES)
    assert list(ENGINES) == ["local", "ray"]
    assert option_choices(fim_transform_cmd, "out_format") == ["auto", *WRITERS]


def test_an_unknown_engine_names_the_table() -> None:
    with pytest.raises(UsageError, match="unknown engine 'dask': use local or ray"):
        get_engine("dask")
    with pytest.raises(UsageError, match="use local or ray"):
        corpus_stats(TEXTS, [str(TOKENIZER_FIXTURES / "gpt2")], engine="dask")


def test_run_local_keeps_the_order_and_a_few_batches_in_flight() -> None:
    running, most, pulled = set(), [0], [0]
    lock = threading.Lock()

    def work(batch: list[int]) -> int:
        with lock:
            running.add(batch[0])
            most[0] = max(most[0], len(running))
        total = sum(batch)
        with lock:
            running.discard(batch[0])
        return total

    def source():
        for k in range(0, 200, 2):
            pulled[0] += 1
            yield [k, k + 1]

    results = []
    for i, result in enumerate(run_local(source(), work)):
        assert pulled[0] - i <= AHEAD + 1  # memory stays bounded: a few batches, never the corpus
        results.append(result)
    assert results == [2 * k + 1 for k in range(0, 200, 2)]
    assert most[0] <= AHEAD + 1


@pytest.fixture
def counting_engine(monkeypatch):
    """A third engine put in the table: the local one, noting each call's address."""
    calls = []

    def counting(batches, work, *, address=None):
        calls.append(address)
        return run_local(batches, work, address=address)

    monkeypatch.setitem(ENGINES, "counting", counting)
    return calls


def test_corpus_stats_and_the_fim_pipeline_read_the_table(counting_engine, tmp_path) -> None:
    gpt2 = str(TOKENIZER_FIXTURES / "gpt2")
    local = corpus_stats(TEXTS, [gpt2])
    other = corpus_stats(TEXTS, [gpt2], engine="counting", ray_address="here")
    assert [r.to_dict() for r in other.rows] == [r.to_dict() for r in local.rows] and other.engine == "counting"
    (tmp_path / "doc.txt").write_text(TEXTS[0], encoding="utf-8")
    marks = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
    summary = write_fim_data(tmp_path / "doc.txt", tmp_path / "out.txt", sentinels=marks, engine="counting")
    assert summary["engine"] == "counting" and counting_engine == ["here", None]


def test_the_fold_survives_pickling_to_a_worker() -> None:
    """What Ray does to the corpus work: pickled without its tokenizers, it loads them again by spec."""
    from tokenprism import load_tokenizer
    from tokenprism.corpus.stats import TokenizerJob

    spec = str(TOKENIZER_FIXTURES / "bert-base-uncased")
    jobs = [TokenizerJob.of(load_tokenizer(spec), name="bert")]
    docs = [Document(t, "all", i) for i, t in enumerate(TEXTS)]
    fold = Fold(["bert"], [spec], jobs)
    travelled = pickle.loads(pickle.dumps(fold))
    assert travelled.jobs is None
    (here, chars, _), (there, same_chars, _) = fold(docs), travelled(docs)
    assert chars == same_chars == sum(map(len, TEXTS))
    assert here.keys() == there.keys() == {"bert"}
    mine, theirs = here["bert"]["all"], there["bert"]["all"]
    assert (mine.tokens, mine.documents, mine.chars, mine.unknown, mine.failed_single) == (
        theirs.tokens, theirs.documents, theirs.chars, theirs.unknown, theirs.failed_single)
    assert (mine.counts == theirs.counts).all()
    assert fold_batch(docs, jobs)["bert"]["all"].tokens == mine.tokens


@pytest.mark.ray
@pytest.mark.slow
def test_the_ray_engine_keeps_the_order() -> None:
    pytest.importorskip("ray")
    import ray

    batches = [[k] * (k % 7 + 1) for k in range(60)]
    try:
        assert list(get_engine("ray")(iter(batches), sum)) == [sum(b) for b in batches]
    finally:
        ray.shutdown()
