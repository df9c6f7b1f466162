"""FIM prompt formats: detection from the tokenizer, and the assembled prompt (string and ids) for every
family, checked against each family's reference recipe run on the raw `tokenizers` library.

Real vocabularies throughout: StarCoder2 and Qwen2 from ../shared/fixtures (Qwen2.5-Coder's FIM tokens
added in a tmp dir, at their real ids), and the other families' sentinels added to real base
vocabularies (Llama 2 SentencePiece-BPE from phi-3-mini for CodeLlama, Codestral and CodeGemma; GPT-2
byte-level BPE for DeepSeek-Coder), saved as tokenizer.json and loaded as a user would.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from conftest import PRISM_TINY, fixture

from tokenprism import load_tokenizer
from tokenprism.errors import InputError, UsageError
from tokenprism.fim.formats import FORMATS, assemble_fim_prompt, detect_fim_format, fim_format
from tokenprism.infilling import split_at_fill

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))"

# Qwen2.5's added tokens after <|im_end|>, in id order, so the FIM ones land on 151659-151664.
QWEN25_ADDED = [
    "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]


# --- building the tokenizers ------------------------------------------------------------------------
def _raw(path: Path):
    from tokenizers import Tokenizer

    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return Tokenizer.from_str(fh.read())
    return Tokenizer.from_file(str(path))


def _add(raw, specials: list[str], *, bos: str | None = None):
    from tokenizers import AddedToken, processors

    raw.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if bos is not None:
        bos_id = raw.token_to_id(bos)
        raw.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, bos_id)]
        )
    return raw


def _save(raw, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    raw.save(str(folder / "tokenizer.json"))
    return raw, load_tokenizer(str(folder))


def _llama_base():
    return _raw(fixture("tokenizers/phi-3-mini/tokenizer.json"))


def _gpt2_base():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    folder = fixture("tokenizers/gpt2")
    raw = Tokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    return raw


def build(name: str, tmp: Path):
    """(raw `tokenizers.Tokenizer`, tokenprism Tokenizer) for a family."""
    if name == "starcoder":
        path = fixture("tokenizers/starcoder2", instead=PRISM_TINY)
        return _raw(path / "tokenizer.json"), load_tokenizer(str(path))
    if name == "qwen":
        raw = _raw(fixture("tokenizers/qwen2/tokenizer.json.gz"))
        return _save(_add(raw, QWEN25_ADDED), tmp / name)
    if name == "codellama":
        return _save(_add(_llama_base(), ["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"], bos="<s>"), tmp / name)
    if name == "codestral":
        return _save(_add(_llama_base(), ["[PREFIX]", "[SUFFIX]", "[MIDDLE]"], bos="<s>"), tmp / name)
    if name == "codegemma":
        from tokenizers import normalizers

        raw = _llama_base()
        raw.normalizer = normalizers.Replace(" ", "▁")  # Gemma's SentencePiece adds no leading space
        specials = ["<bos>", "<eos>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|file_separator|>"]
        return _save(_add(raw, specials, bos="<bos>"), tmp / name)
    if name == "deepseek":
        specials = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜fim▁hole｜>", "<｜fim▁begin｜>", "<｜fim▁end｜>"]
        return _save(_add(_gpt2_base(), specials, bos="<｜begin▁of▁sentence｜>"), tmp / name)
    raise AssertionError(name)


FAMILIES = ["starcoder", "qwen", "codellama", "codestral", "codegemma", "deepseek"]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("fim-tokenizers")
    return {name: build(name, tmp) for name in FAMILIES}


# --- the exact strings ------------------------------------------------------------------------------
# Written from each family's model card / reference code, not from our output.
EXPECTED = {
    ("starcoder", "psm"): "<fim_prefix>def add(a, b):\n    <fim_suffix>\n\nprint(add(1, 2))<fim_middle>",
    ("starcoder", "spm"): "<fim_prefix><fim_suffix>\n\nprint(add(1, 2))<fim_middle>def add(a, b):\n    ",
    ("qwen", "psm"): "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>",
    ("codegemma", "psm"): "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>",
    ("deepseek", "psm"): "<｜fim▁begin｜>def add(a, b):\n    <｜fim▁hole｜>\n\nprint(add(1, 2))<｜fim▁end｜>",
    # CodeLlama: " <PRE> {pre} <SUF>{suf} <MID>" — the prefix keeps SentencePiece's space, the suffix has none.
    ("codellama", "psm"): "▁<PRE> def add(a, b):\n    ▁<SUF>\n\nprint(add(1, 2))▁<MID>",
    ("codellama", "spm"): "▁<PRE>▁<SUF>\n\nprint(add(1, 2))▁<MID> def add(a, b):\n    ",
    # Codestral (mistral_common): "<s>[SUFFIX]suffix[PREFIX] prefix".
    ("codestral", "spm"): "[SUFFIX]\n\nprint(add(1, 2))[PREFIX] def add(a, b):\n    ",
}


@pytest.mark.parametrize("family", FAMILIES)
def test_detects_the_family(tokenizers: dict, family: str) -> None:
    assert detect_fim_format(tokenizers[family][1]).name == family


@pytest.mark.parametrize("family, mode", list(EXPECTED))
def test_prompt_string_is_exact(tokenizers: dict, family: str, mode: str) -> None:
    prompt = assemble_fim_prompt(tokenizers[family][1], prefix=PREFIX, suffix=SUFFIX, mode=mode)
    assert prompt.text == EXPECTED[family, mode]
    assert prompt.format.name == family and prompt.mode == mode


@pytest.mark.parametrize("family", ["starcoder", "qwen", "codegemma", "deepseek"])
def test_template_families_match_encoding_the_string(tokenizers: dict, family: str) -> None:
    """Their model cards encode the prompt string with the tokenizer (BOS added where it adds one)."""
    raw, tok = tokenizers[family]
    prompt = assemble_fim_prompt(tok, prefix=PREFIX, suffix=SUFFIX, mode="psm")
    assert prompt.ids == raw.encode(EXPECTED[family, "psm"]).ids


def test_starcoder_spm_matches_encoding_the_string(tokenizers: dict) -> None:
    raw, tok = tokenizers["starcoder"]
    assert assemble_fim_prompt(tok, prefix=PREFIX, suffix=SUFFIX, mode="spm").ids == raw.encode(EXPECTED["starcoder", "spm"]).ids


def _infilling(raw, text: str) -> list[int]:
    """Meta's and Mistral's `encode_infilling`: the text with no leading space ("☺" + text, drop 2)."""
    return raw.encode("☺" + text, add_special_tokens=False).ids[2:]


def _plain(raw, text: str) -> list[int]:
    return raw.encode(text, add_special_tokens=False).ids


@pytest.mark.parametrize("mode", ["psm", "spm"])
def test_codellama_ids_follow_metas_infilling_prompt_tokens(tokenizers: dict, mode: str) -> None:
    raw, tok = tokenizers["codellama"]
    bos, pre, suf, mid = (raw.token_to_id(t) for t in ("<s>", "▁<PRE>", "▁<SUF>", "▁<MID>"))
    if mode == "psm":
        expected = [bos, pre, *_plain(raw, PREFIX), suf, *_infilling(raw, SUFFIX), mid]
    else:
        expected = [bos, pre, suf, *_infilling(raw, SUFFIX), mid, *_plain(raw, PREFIX)]
    prompt = assemble_fim_prompt(tok, prefix=PREFIX, suffix=SUFFIX, mode=mode)
    assert prompt.ids == expected
    # The suffix starts with its own first character, no "▁" before it.
    assert tok.id_to_piece(prompt.ids[prompt.roles.index("suffix")]) != "▁"


def test_codellama_prefix_side_matches_transformers(tokenizers: dict, tmp_path) -> None:
    """transformers' CodeLlamaTokenizer builds the same prompt, except that (in 5.x) it lets its
    Metaspace pre-tokenizer put a "▁" before the suffix, which Meta's reference strips."""
    import json

    from transformers import AutoTokenizer

    raw, tok = tokenizers["codellama"]
    folder = tmp_path / "hf-codellama"
    folder.mkdir()
    raw.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "CodeLlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    hf_ids = AutoTokenizer.from_pretrained(str(folder))(PREFIX, suffix=SUFFIX)["input_ids"]
    ours = assemble_fim_prompt(tok, prefix=PREFIX, suffix=SUFFIX).ids
    cut = ours.index(raw.token_to_id("▁<SUF>")) + 1
    assert hf_ids in (ours, ours[:cut] + [raw.token_to_id("▁")] + ours[cut:])


def test_codestral_ids_follow_mistral_common_encode_fim(tokenizers: dict) -> None:
    raw, tok = tokenizers["codestral"]
    bos, pre, suf = (raw.token_to_id(t) for t in ("<s>", "[PREFIX]", "[SUFFIX]"))
    expected = [bos, suf, *_infilling(raw, SUFFIX), pre, *_plain(raw, PREFIX)]
    assert assemble_fim_prompt(tok, prefix=PREFIX, suffix=SUFFIX).ids == expected


def test_qwen_sentinels_have_qwen25_coder_ids(tokenizers: dict) -> None:
    prompt = assemble_fim_prompt(tokenizers["qwen"][1], prefix="a", suffix="b")
    sentinels = [i for i, r in zip(prompt.ids, prompt.roles) if r == "sentinel"]
    assert sentinels == [151659, 151661, 151660]
    assert {151643, 151662, 151663, 151664} <= prompt.stop_ids  # <|endoftext|>, <|fim_pad|>, <|repo_name|>, <|file_sep|>


def test_codegemma_stops_at_file_separator(tokenizers: dict) -> None:
    raw, tok = tokenizers["codegemma"]
    prompt = assemble_fim_prompt(tok, prefix="a", suffix="b")
    assert raw.token_to_id("<|file_separator|>") in prompt.stop_ids
    assert prompt.roles[0] == "bos" and prompt.ids[0] == raw.token_to_id("<bos>")


def test_middle_keeps_its_leading_space_like_decode_infilling(tokenizers: dict) -> None:
    """A CodeLlama middle " return a" comes as "▁return", "▁a": Meta's `decode_infilling` (decode "☺" + ids,
    drop the "☺") keeps the space that a plain decode strips."""
    from tokenprism.infilling import middle_text

    raw, tok = tokenizers["codellama"]
    ids = _plain(raw, "return a + b")
    reference = raw.decode([raw.token_to_id("☺"), *ids])[1:]
    assert middle_text(tok, ids) == reference == " return a + b"
    assert tok.decode(ids) == "return a + b"


# --- tokens and roles -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_tokens_point_into_the_prompt_string(tokenizers: dict, family: str) -> None:
    prompt = assemble_fim_prompt(tokenizers[family][1], prefix=PREFIX, suffix=SUFFIX)
    enc = prompt.encoding
    assert enc.ids == prompt.ids and enc.text == prompt.text
    shown = "".join(t.text for t, r in zip(enc.tokens, prompt.roles) if r != "bos")
    assert shown == prompt.text
    sentinels = [t for t, r in zip(enc.tokens, prompt.roles) if r == "sentinel"]
    assert all(t.special and not t.from_text for t in sentinels)


def test_sentinel_strings_typed_in_the_text_stay_text(tokenizers: dict) -> None:
    raw, tok = tokenizers["starcoder"]
    prompt = assemble_fim_prompt(tok, prefix="s = '<fim_middle>'\n", suffix="")
    middle_id = raw.token_to_id("<fim_middle>")
    assert prompt.ids.count(middle_id) == 1 and prompt.ids[-1] == middle_id
    assert prompt.text == "<fim_prefix>s = '<fim_middle>'\n<fim_suffix><fim_middle>"


@pytest.mark.parametrize("family", FAMILIES)
def test_empty_prefix_and_suffix_are_valid(tokenizers: dict, family: str) -> None:
    tok = tokenizers[family][1]
    fmt = FORMATS[family]
    prompt = assemble_fim_prompt(tok, prefix="", suffix="")
    assert prompt.text == fmt.template().format(prefix="", suffix="")
    assert "prefix" not in prompt.roles and "suffix" not in prompt.roles


def test_codellama_empty_prefix_has_no_space_token(tokenizers: dict) -> None:
    raw, tok = tokenizers["codellama"]
    prompt = assemble_fim_prompt(tok, prefix="", suffix="x = 1")
    assert prompt.ids == [raw.token_to_id(t) for t in ("<s>", "▁<PRE>", "▁<SUF>")] + _infilling(raw, "x = 1") + [raw.token_to_id("▁<MID>")]


def test_max_tokens_cuts_the_prefix_start_and_suffix_end(tokenizers: dict) -> None:
    tok = tokenizers["starcoder"][1]
    prefix = "".join(f"x{i} = {i}\n" for i in range(200))
    suffix = "".join(f"y{i} = {i}\n" for i in range(200))
    prompt = assemble_fim_prompt(tok, prefix=prefix, suffix=suffix, max_tokens=100)
    assert len(prompt.ids) <= 100
    assert prompt.notes and "kept the last" in prompt.notes[0]
    kept_prefix = next(p for p in prompt.parts if p.role == "prefix").text
    kept_suffix = next(p for p in prompt.parts if p.role == "suffix").text
    assert prefix.endswith(kept_prefix) and suffix.startswith(kept_suffix)
    assert kept_prefix and kept_suffix
    assert tok.encode(kept_prefix, add_special_tokens=False).ids == [i for i, r in zip(prompt.ids, prompt.roles) if r == "prefix"]


# --- choosing the format and mode ---------------------------------------------------------------------
def test_no_sentinels_is_a_clear_error() -> None:
    tok = load_tokenizer(str(fixture("models/fake-gpt2-random-tiny")))
    with pytest.raises(InputError, match="this tokenizer has no FIM sentinels"):
        detect_fim_format(tok)
    with pytest.raises(InputError, match="no FIM sentinels"):
        assemble_fim_prompt(tok, prefix="a", suffix="b")


def test_a_sentinel_split_into_several_tokens_is_refused(tokenizers: dict) -> None:
    with pytest.raises(InputError, match="must be a single special token.*starcoder format"):
        assemble_fim_prompt(tokenizers["starcoder"][1], prefix="a", suffix="b", fim_format="codellama")


def test_format_override_and_aliases(tokenizers: dict) -> None:
    # Qwen2.5-Coder and CodeGemma share sentinels: the override picks Qwen's end tokens on a CodeGemma vocab.
    prompt = assemble_fim_prompt(tokenizers["codegemma"][1], prefix="a", suffix="b", fim_format="qwen2.5-coder")
    assert prompt.format.name == "qwen"
    assert fim_format("Mistral").name == "codestral" and fim_format("starcoder2").name == "starcoder"
    with pytest.raises(UsageError, match="unknown FIM format 'nope'"):
        fim_format("nope")


def test_modes(tokenizers: dict) -> None:
    with pytest.raises(UsageError, match="only the spm layout"):
        assemble_fim_prompt(tokenizers["codestral"][1], prefix="a", suffix="b", mode="psm")
    with pytest.raises(UsageError, match="psm or spm"):
        assemble_fim_prompt(tokenizers["starcoder"][1], prefix="a", suffix="b", mode="mps")
    assert assemble_fim_prompt(tokenizers["starcoder"][1], prefix="a", suffix="b").mode == "psm"


def test_sentinels_bridge_to_the_training_transform(tokenizers: dict) -> None:
    from tokenprism.fim import Sentinels

    tok = tokenizers["starcoder"][1]
    assert detect_fim_format(tok).sentinels(tok) == Sentinels.starcoder()


# --- output -------------------------------------------------------------------------------------------
def test_to_dict_and_html_are_escaped(tokenizers: dict) -> None:
    prompt = assemble_fim_prompt(tokenizers["starcoder"][1], prefix="<script>x", suffix="</b>")
    data = prompt.to_dict()
    assert {"format", "mode", "prompt", "prompt_tokens", "ids", "stop_tokens"} <= data.keys()
    assert [t["role"] for t in data["prompt_tokens"]] == prompt.roles
    html = prompt._repr_html_()
    assert "<script" not in html and "</b>" not in html
    assert "&lt;fim_prefix&gt;" in html and "&lt;/" in html


def test_split_at_fill() -> None:
    assert split_at_fill("a<FILL>b") == ("a", "b")
    assert split_at_fill("<FILL>") == ("", "")
    with pytest.raises(InputError, match="has no <FILL> markers"):
        split_at_fill("abc", source="f.py")
    with pytest.raises(InputError, match="has 2 <FILL> markers"):
        split_at_fill("a<FILL>b<FILL>")
