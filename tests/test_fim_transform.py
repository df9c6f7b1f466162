"""The FIM transform of Bavarian et al. 2022: exact, reversible, at the stated rates, deterministic."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenprism
from tokenprism.errors import InputError, UsageError
from tokenprism.fim import Fragment, Sentinels, shares, transform, transform_document, transform_fragment, unpermute

from conftest import PRISM_TINY, fixture

S = Sentinels("<PRE>", "<SUF>", "<MID>", "<EOT>")
# Any text at all except the sentinels themselves (which the transform refuses, tested below).
documents = st.lists(st.text(max_size=80).filter(lambda t: not any(s in t for s in S.as_tuple())), max_size=8)


@pytest.fixture(scope="module")
def starcoder2():
    """The reference library's own tokenizer object: the transform needs only `.encode(...).offsets`."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(fixture("tokenizers/starcoder2/tokenizer.json", instead=PRISM_TINY / "tokenizer.json")))


@given(docs=documents, seed=st.integers(0, 2**31), spm_rate=st.sampled_from([0.0, 0.5, 1.0]))
def test_unpermute_round_trip_document_level(docs: list[str], seed: int, spm_rate: float) -> None:
    out = list(transform(docs, sentinels=S, fim_rate=1.0, spm_rate=spm_rate, seed=seed))
    assert [unpermute(o, sentinels=S) for o in out] == [d + S.eot for d in docs]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents, seed=st.integers(0, 2**31), spm_rate=st.sampled_from([0.0, 0.5, 1.0]),
       length=st.integers(1, 40))
def test_unpermute_round_trip_context_level(starcoder2, docs, seed, spm_rate, length) -> None:
    out = list(transform(docs, sentinels=S, fim_rate=0.9, spm_rate=spm_rate, level="context",
                         context_length=length, tokenizer=starcoder2, seed=seed))
    assert "".join(unpermute(o, sentinels=S) for o in out) == "".join(d + S.eot for d in docs)


def test_context_level_packs_to_the_context_length(starcoder2) -> None:
    docs = [f"def f{i}(x):\n    return x * {i}\n" * (i + 1) for i in range(30)]
    out = list(transform(docs, sentinels=S, fim_rate=0.0, level="context", context_length=32, tokenizer=starcoder2))
    # With no FIM the packed stream is the documents and EOTs, cut every 32 tokens.
    stream = [t for d in docs for t in starcoder2.encode(d, add_special_tokens=False).ids + [-1]]
    assert len(out) == -(-len(stream) // 32)
    first = out[0]
    assert starcoder2.encode(first.replace(S.eot, ""), add_special_tokens=False).ids == [t for t in stream[:32] if t != -1]


def test_context_level_transforms_each_fragment_between_eot(starcoder2) -> None:
    docs = ["alpha beta gamma delta", "one two three four five six"]
    (context,) = transform(docs, sentinels=S, fim_rate=1.0, spm_rate=0.0, level="context",
                           context_length=100, tokenizer=starcoder2, seed=3)
    parts = context.split(S.eot)
    assert len(parts) == 3 and parts[2] == ""
    assert all(p.startswith(S.prefix) and S.suffix in p and S.middle in p for p in parts[:2])


def test_psm_and_spm_layouts_are_the_papers() -> None:
    text = "0123456789"
    for seed in range(50):
        psm = transform_document(text, sentinels=S, seed=seed, fim_rate=1.0, spm_rate=0.0).text
        pre, rest = psm.removeprefix("<PRE>").split("<SUF>")
        suf, mid = rest.removesuffix("<EOT>").split("<MID>")
        assert pre + mid + suf == text and text.startswith(pre) and text.endswith(suf)
        spm = transform_document(text, sentinels=S, seed=seed, fim_rate=1.0, spm_rate=1.0).text
        assert spm.startswith("<PRE><SUF>") and spm.endswith("<EOT>")
        suf, pre_mid = spm.removeprefix("<PRE><SUF>").removesuffix("<EOT>").split("<MID>")
        assert pre_mid + suf == text


def test_cut_points_are_uniform_character_positions() -> None:
    # Both cut points are uniform on 0..len, so the prefix length has E = len/3 (min of two uniforms).
    text = "x" * 30
    lengths = []
    for i in range(6000):
        out = transform_document(text, sentinels=S, index=i, fim_rate=1.0, spm_rate=0.0).text
        lengths.append(len(out.removeprefix("<PRE>").split("<SUF>")[0]))
    assert abs(sum(lengths) / len(lengths) - 30 / 3) < 0.5
    assert min(lengths) == 0 and max(lengths) == 30


def test_rates_over_10000_documents() -> None:
    rng = random.Random(7)
    docs = ["".join(rng.choice("abc \n") for _ in range(rng.randint(2, 60))) for _ in range(10_000)]
    results = [transform_document(d, sentinels=S, seed=11, index=i, fim_rate=0.3, spm_rate=0.7) for i, d in enumerate(docs)]
    share = shares(results)
    fim = share["psm"] + share["spm"]
    assert abs(fim - 0.3) <= 0.02
    assert abs(share["spm"] / fim - 0.7) <= 0.02
    # The modes reported are the layouts written.
    for r in results[:500]:
        assert r.text.startswith("<PRE>") == (r.mode != "none")
        assert r.mode != "spm" or r.text.startswith("<PRE><SUF>")


def test_same_seed_same_output_and_different_seed_differs() -> None:
    docs = [f"document number {i} " * 5 for i in range(200)]
    a = list(transform(docs, sentinels=S, seed=5))
    assert a == list(transform(docs, sentinels=S, seed=5))
    assert a != list(transform(docs, sentinels=S, seed=6))


def test_short_documents_are_left_as_is() -> None:
    assert list(transform(["", "x"], sentinels=S, fim_rate=1.0)) == ["<EOT>", "x<EOT>"]
    assert transform_fragment(Fragment("y", ends_document=False), sentinels=S, rng=random.Random(0), fim_rate=1.0).text == "y"


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="sentinel"):
        list(transform(["a <MID> b"], sentinels=S))
    with pytest.raises(UsageError, match="fim-rate"):
        list(transform(["ab"], sentinels=S, fim_rate=1.5))
    with pytest.raises(UsageError, match="tokenizer"):
        list(transform(["ab"], sentinels=S, level="context"))
    with pytest.raises(UsageError, match="level"):
        list(transform(["ab"], sentinels=S, level="token"))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Sentinels("<A>", "<A>", "<M>", "<E>")
    with pytest.raises(UsageError, match="four"):
        Sentinels.parse("<A>,<B>")


def test_sentinels_from_real_tokenizers(tmp_path) -> None:
    starcoder2 = tokenprism.load_tokenizer(str(fixture("tokenizers/starcoder2", instead=PRISM_TINY)))
    assert Sentinels.from_tokenizer(starcoder2) == Sentinels.starcoder()
    qwen = _tokenizer_with(tmp_path / "qwen.json", ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"])
    assert Sentinels.from_tokenizer(qwen).as_tuple() == ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>")
    codellama = _tokenizer_with(tmp_path / "cl.json", ["</s>", "▁<PRE>", "▁<MID>", "▁<SUF>", "▁<EOT>"])
    assert Sentinels.from_tokenizer(codellama).as_tuple() == ("▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>")
    bert = tokenprism.load_tokenizer(str(fixture("tokenizers/bert-base-uncased")))
    with pytest.raises(InputError, match="no FIM sentinels"):
        Sentinels.from_tokenizer(bert)


def _tokenizer_with(path, special: list[str]):
    """A small real tokenizer file reserving the given special tokens, loaded by tokenprism."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(special)
    tok.save(str(path))
    return tokenprism.load_tokenizer(str(path))


def test_sentinels_must_be_single_special_tokens(starcoder2) -> None:
    assert Sentinels.starcoder().check_single_tokens(starcoder2) == [
        starcoder2.token_to_id(t) for t in Sentinels.starcoder().as_tuple()
    ]
    with pytest.raises(InputError, match="single special token"):
        S.check_single_tokens(starcoder2)
    wrapped = tokenprism.load_tokenizer(str(fixture("tokenizers/starcoder2", instead=PRISM_TINY)))
    with pytest.raises(InputError, match="ordinary token"):
        Sentinels("<fim_prefix>", "<fim_suffix>", "def", "<|endoftext|>").check_single_tokens(wrapped)


def test_library_entry_points() -> None:
    assert tokenprism.fim_transform is transform
    assert "fim_transform" in tokenprism.__all__
