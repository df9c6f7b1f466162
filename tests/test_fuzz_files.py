"""Issue 16's fuzz suite: hypothesis over malformed tokenizer.json, .tiktoken, SentencePiece .model and
vocab.txt files and model folders, built from real files. Whatever the file, loading it and using it
(encode, batch ids, decode, info, the display's pieces and labels) either works or raises one of our
typed errors: never another exception, a Rust panic, or a crash. (GGUF files have their own fuzz tests
in test_gguf_fuzz.py.)"""

from __future__ import annotations

import base64
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PRISM_TINY, fixture
from tokenprism.errors import TokenprismError

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
TEXTS = ["Hello world, ñ 123", "", "  \t\n", "<s>[CLS]<|endoftext|></s>", "東京🙂", "a" * 300]
_counter = itertools.count()


def fresh(tmp_path: Path, name: str) -> Path:
    """A new folder per example (loaded tokenizers are kept by spec)."""
    folder = tmp_path / f"{next(_counter)}"
    folder.mkdir()
    return folder / name


def exercise(spec: str | Path) -> None:
    """Load and use a tokenizer the way the commands do; our own errors are fine, nothing else is."""
    from tokenprism.tokenizers.registry import load_tokenizer

    try:
        tok = load_tokenizer(str(spec))
        encodings = tok.encode_batch(TEXTS)
        for enc in encodings:
            enc.to_dict()
            tok.decode(enc.ids)
        tok.encode_ids_batch(TEXTS, add_special_tokens=True)
        tok.info().to_dict()
        some = list(range(min(tok.vocab_size, 40))) + [max(0, tok.vocab_size - 1)]
        tok.decode_tokens(some)
        tok.count(TEXTS[0])
    except TokenprismError as exc:
        assert "\n" not in str(exc), str(exc)


# --- tokenizer.json ----------------------------------------------------------------------------------
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.just(""), st.lists(st.integers(-5, 10**9), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
COMPONENTS = {
    "normalizer": ["NFC", "NFKD", "Lowercase", "Strip", "Replace", "Prepend", "Sequence", "BertNormalizer", "Precompiled", "Nope"],
    "pre_tokenizer": ["ByteLevel", "Whitespace", "Metaspace", "Split", "Digits", "Sequence", "Punctuation", "Nope"],
    "post_processor": ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence", "Nope"],
    "decoder": ["ByteLevel", "Metaspace", "WordPiece", "Replace", "Strip", "Fuse", "ByteFallback", "Sequence", "Nope"],
}


@st.composite
def components(draw: Any, part: str) -> Any:
    kind = draw(st.sampled_from(COMPONENTS[part]))
    fields = draw(st.dictionaries(st.sampled_from(["pattern", "content", "prepend", "replacement", "add_prefix_space", "sep", "cls",
                                                   "single", "pair", "special_tokens", "prefix", "start", "stop", "behavior",
                                                   "invert", "trim_offsets", "use_regex", "normalizers", "pretokenizers",
                                                   "processors", "decoders", "individual_digits", "split", "prepend_scheme"]),
                                  st.one_of(HOSTILE, st.just({"String": ""}), st.just({"Regex": "("}), st.just({"Regex": "\\b"}),
                                            st.just([{"SpecialToken": {"id": "<x>", "type_id": 0}}]),
                                            st.just({"<x>": {"id": "<x>", "ids": [2**40], "tokens": ["<x>"]}}),
                                            st.just(["</s>", -1])), max_size=4))
    return {"type": kind, **fields}


@st.composite
def broken_tokenizer_json(draw: Any) -> dict[str, Any]:
    data = json.loads(_TINY_JSON)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["component", "model", "added_tokens", "top"]))
        if where == "component":
            part = draw(st.sampled_from(sorted(COMPONENTS)))
            data[part] = draw(st.one_of(components(part), HOSTILE))
        elif where == "model" and isinstance(data.get("model"), dict):
            key = draw(st.sampled_from(["type", "unk_token", "dropout", "continuing_subword_prefix", "byte_fallback", "fuse_unk",
                                        "vocab", "merges", "max_input_chars_per_word"]))
            data["model"][key] = draw(st.one_of(HOSTILE, st.just({"a": -1, "b": 2**33}), st.just([["a b", 1.5]]), st.just(["x y z"])))
        elif where == "added_tokens":
            data["added_tokens"] = draw(st.lists(st.fixed_dictionaries({
                "id": st.one_of(st.integers(-3, 2**40), st.text(max_size=3)), "content": st.one_of(st.text(max_size=6), st.integers()),
                "special": HOSTILE, "single_word": st.booleans(), "lstrip": st.booleans(), "rstrip": st.booleans(),
                "normalized": st.booleans()}), max_size=3))
        elif where == "top":
            data[draw(st.sampled_from(["truncation", "padding", "version", "model"]))] = draw(HOSTILE)
    return data


_TINY_JSON = (PRISM_TINY / "tokenizer.json").read_text(encoding="utf-8") if (PRISM_TINY / "tokenizer.json").is_file() else "{}"


@pytest.mark.skipif(_TINY_JSON == "{}", reason="the bundled prism-tiny tokenizer.json is absent")
@FUZZ
@given(data=broken_tokenizer_json())
def test_malformed_tokenizer_json(tmp_path: Path, data: dict[str, Any]) -> None:
    path = fresh(tmp_path, "tokenizer.json")
    path.write_text(json.dumps(data), encoding="utf-8")
    exercise(path)


@FUZZ
@given(cut=st.integers(0, 4000), junk=st.binary(max_size=20))
def test_truncated_tokenizer_json(tmp_path: Path, cut: int, junk: bytes) -> None:
    path = fresh(tmp_path, "tokenizer.json")
    path.write_bytes(_TINY_JSON.encode()[:cut] + junk)
    exercise(path)


# --- .tiktoken -----------------------------------------------------------------------------------
def _cl100k_lines() -> list[bytes]:
    return fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken").read_bytes().splitlines()[:2000]


RANKS = st.one_of(st.integers(-(2**70), 2**70).map(str), st.integers(0, 3000).map(str), st.sampled_from(["4e9", "0x10", "", "1.5", "٣"]))


@st.composite
def broken_ranks(draw: Any) -> bytes:
    lines = list(_cl100k_lines())
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["rank", "token", "drop", "dup", "junk"]))
        token, _, rank = lines[i].partition(b" ")
        if how == "rank":
            lines[i] = token + b" " + draw(RANKS).encode()
        elif how == "token":
            lines[i] = base64.b64encode(draw(st.binary(max_size=6))) + b" " + rank
        elif how == "drop":
            del lines[i]
        elif how == "dup":
            lines.insert(i, lines[i])
        else:
            lines[i] = draw(st.binary(max_size=12))
    return b"\n".join(lines) + b"\n"


@FUZZ
@given(data=broken_ranks())
def test_malformed_tiktoken_ranks(tmp_path: Path, data: bytes) -> None:
    path = fresh(tmp_path, "cl100k_base.tiktoken")  # the name tells the split pattern
    path.write_bytes(data)
    exercise(path)


# --- SentencePiece .model ------------------------------------------------------------------------
@st.composite
def broken_model(draw: Any, source: bytes) -> bytes:
    data = bytearray(source)
    how = draw(st.sampled_from(["flip", "flips", "truncate", "splice"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:])
    for _ in range(1 if how == "flip" else draw(st.integers(2, 40))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("relative", ["tokenizers/flan-t5/spiece.model", "tokenizers/deberta-v3/spm.model"])
def test_malformed_sentencepiece_model(tmp_path: Path, relative: str) -> None:
    source = fixture(relative).read_bytes()

    @FUZZ
    @given(data=broken_model(source))
    def check(data: bytes) -> None:
        path = fresh(tmp_path, Path(relative).name)
        path.write_bytes(data)
        exercise(path)

    check()


# --- vocab.txt -----------------------------------------------------------------------------------
@FUZZ
@given(lines=st.lists(st.one_of(st.text(max_size=12), st.sampled_from(["[UNK]", "[CLS]", "[SEP]", "[PAD]", "##", "##a", ""])),
                      max_size=60),
       tail=st.binary(max_size=8))
def test_malformed_vocab_txt(tmp_path: Path, lines: list[str], tail: bytes) -> None:
    path = fresh(tmp_path, "vocab.txt")
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + tail)
    exercise(path)


# --- model folders -------------------------------------------------------------------------------
@pytest.mark.slow
def test_malformed_model_folders(tmp_path: Path) -> None:
    """config.json values and damaged weights: `load_model` (both engines) and one step of generation
    give a typed error or work."""
    pytest.importorskip("torch")
    if not (PRISM_TINY / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny is not built")
    from tokenprism import load_model
    from tokenprism.run import Run

    config = json.loads((PRISM_TINY / "config.json").read_text())
    weights = (PRISM_TINY / "model.safetensors").read_bytes()

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")), deadline=None, suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(sorted(config) + ["rope_scaling", "transformers_weights", "auto_map"]), value=HOSTILE,
           damage=st.sampled_from(["none", "flip", "truncate"]), at=st.integers(0, 2**20), engine=st.sampled_from(["numpy", "torch"]))
    def check(key: str, value: Any, damage: str, at: int, engine: str) -> None:
        folder = fresh(tmp_path, "model")
        folder.mkdir()
        for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            (folder / name).symlink_to(PRISM_TINY / name)
        (folder / "config.json").write_text(json.dumps({**config, key: value}))
        data = bytearray(weights)
        if damage == "flip":
            data[at % len(data)] ^= 0xFF
        elif damage == "truncate":
            data = data[: at % len(data)]
        (folder / "model.safetensors").write_bytes(bytes(data))
        try:
            model = load_model(str(folder), engine=engine, device="cpu")
            list(Run(model, model.tokenizer.encode("def add(a, b):").ids, max_new_tokens=2))
        except TokenprismError as exc:
            assert "\n" not in str(exc), str(exc)

    check()
