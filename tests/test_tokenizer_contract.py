"""The Tokenizer contract (tokenizers/base.py): every hook the analyses call answers, for every backend
and every kind of fixture file, what the reference library itself says: `tokenizers` for tokenizer.json,
vocab.txt and vocab.json + merges.txt, `sentencepiece` for .model files, `tiktoken` for ranks files."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from conftest import fixture
from tokenprism import load_tokenizer
from tokenprism.tokenizers.roundtrip import IdBatch

# A character no vocabulary holds (an Egyptian hieroglyph).
RARE = "\U00013000"

#: Ordinary texts (no special-token strings, which some reference builders do not register).
PLAIN = ["Hello world", " leading", "  two  spaces ", "line\nbreak\ttab", "🎵 鸟 日本語の文", "ﬁne café naïve",
         RARE, "", "x = 12.0*50", "Don't stop.", "a\u0301", "def area(w, h):\n    return w * h\n"]

#: Texts where round trips fail in one tokenizer or another: spaces at the ends and in runs, tabs and
#: newlines (WordPiece), compatibility characters (NFKC), unknown characters, ▁ itself (SentencePiece),
#: unspaced CJK, punctuation the WordPiece clean-up joins, typed unk strings.
TRICKY = PLAIN + ["a  b", "trailing ", "\n", "\t tab", "▁x", " ▁", "x<unk>y", "[UNK] typed", " ' quoted ' ",
                  "n't", "a . b", "日本語の文", "\u00a0nbsp", "\x00", "ＡＢＣ ①", "cafe\u0301"]


@dataclass(frozen=True)
class Reference:
    """What the reference library says about one tokenizer file."""

    encode: Callable[[str], list[int]]  # ids without added tokens
    decode: Callable[[list[int]], str]
    unk_id: int | None  # the unknown id the library declares (None: it declares none)
    normalizer: str | None  # the normaliser type the file declares


def _hf_reference(raw: Any) -> Reference:
    state = json.loads(raw.to_str())
    model = state["model"]
    if model.get("type") == "Unigram":
        unk = model.get("unk_id")
    else:
        unk = raw.token_to_id(model["unk_token"]) if model.get("unk_token") else None
    return Reference(
        encode=lambda t: raw.encode(t, add_special_tokens=False).ids,
        decode=lambda ids: raw.decode(ids, skip_special_tokens=False),
        unk_id=unk,
        normalizer=(state.get("normalizer") or {}).get("type"),
    )


def _tokenizer_json(rel: str) -> Reference:
    from tokenizers import Tokenizer

    path = fixture(f"tokenizers/{rel}") if rel != "prism-tiny" else _prism_tiny_file()
    if path.name.endswith(".gz"):
        return _hf_reference(Tokenizer.from_str(gzip.decompress(path.read_bytes()).decode("utf-8")))
    return _hf_reference(Tokenizer.from_file(str(path)))


def _prism_tiny_file():
    from tokenprism.tokenizers.registry import bundled_path

    return bundled_path("prism-tiny") / "tokenizer.json"


def _wordpiece(rel: str, lowercase: bool) -> Reference:
    from tokenizers import BertWordPieceTokenizer

    return _hf_reference(BertWordPieceTokenizer(str(fixture(f"tokenizers/{rel}")), lowercase=lowercase)._tokenizer)


def _gpt2(_: str) -> Reference:
    from tokenizers import ByteLevelBPETokenizer

    folder = fixture("tokenizers/gpt2")
    return _hf_reference(ByteLevelBPETokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))._tokenizer)


def _sentencepiece(rel: str) -> Reference:
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    path = fixture(f"tokenizers/{rel}")
    sp = spm.SentencePieceProcessor(model_file=str(path))
    proto = pb.ModelProto()
    proto.ParseFromString(path.read_bytes())
    return Reference(encode=sp.encode, decode=sp.decode, unk_id=sp.unk_id() if sp.unk_id() >= 0 else None,
                     normalizer=proto.normalizer_spec.name or None)


def _tiktoken(rel: str) -> Reference:
    """tiktoken's own get_encoding, fed the ranks file through its own cache (keyed by the URL's sha1)."""
    import os
    import tempfile

    import tiktoken
    import tiktoken.registry

    path = fixture(f"tokenizers/{rel}")
    name = path.name.removesuffix(".tiktoken")
    cache = tempfile.mkdtemp()
    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    os.symlink(path, os.path.join(cache, hashlib.sha1(url.encode()).hexdigest()))
    saved, saved_encodings = os.environ.get("TIKTOKEN_CACHE_DIR"), dict(tiktoken.registry.ENCODINGS)
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    tiktoken.registry.ENCODINGS.pop(name, None)
    try:
        enc = tiktoken.get_encoding(name)
    finally:
        tiktoken.registry.ENCODINGS.clear()
        tiktoken.registry.ENCODINGS.update(saved_encodings)
        if saved is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved
    return Reference(encode=lambda t: enc.encode(t, allowed_special="all"), decode=enc.decode, unk_id=None, normalizer=None)


# case → (spec: a fixture path under tokenizers/ or prism-tiny, byte-level?, the reference builder)
CASES: dict[str, tuple[str, bool, Callable[[], Reference]]] = {
    "gpt2 vocab.json+merges.txt": ("gpt2", True, lambda: _gpt2("gpt2")),
    "bert-base-uncased vocab.txt": ("bert-base-uncased", False, lambda: _wordpiece("bert-base-uncased/vocab.txt", True)),
    "bert-base-cased vocab.txt": ("bert-base-cased", False, lambda: _wordpiece("bert-base-cased/vocab.txt", False)),
    "flan-t5 tokenizer.json": ("flan-t5/tokenizer.json", False, lambda: _tokenizer_json("flan-t5/tokenizer.json")),
    "phi-3 tokenizer.json": ("phi-3-mini/tokenizer.json", False, lambda: _tokenizer_json("phi-3-mini/tokenizer.json")),
    "qwen2 tokenizer.json.gz": ("qwen2/tokenizer.json.gz", True, lambda: _tokenizer_json("qwen2/tokenizer.json.gz")),
    "starcoder2 tokenizer.json": ("starcoder2/tokenizer.json", True, lambda: _tokenizer_json("starcoder2/tokenizer.json")),
    "flan-t5 spiece.model": ("flan-t5/spiece.model", False, lambda: _sentencepiece("flan-t5/spiece.model")),
    "phi-3 tokenizer.model": ("phi-3-mini/tokenizer.model", False, lambda: _sentencepiece("phi-3-mini/tokenizer.model")),
    "deberta-v3 spm.model": ("deberta-v3/spm.model", False, lambda: _sentencepiece("deberta-v3/spm.model")),
    "cl100k ranks": ("openai-tiktoken/cl100k_base.tiktoken", True, lambda: _tiktoken("openai-tiktoken/cl100k_base.tiktoken")),
    "o200k ranks": ("openai-tiktoken/o200k_base.tiktoken", True, lambda: _tiktoken("openai-tiktoken/o200k_base.tiktoken")),
    "prism-tiny": ("prism-tiny", True, lambda: _tokenizer_json("prism-tiny")),
}

_loaded: dict[str, tuple[Any, Reference]] = {}


def _case(name: str) -> tuple[Any, Reference]:
    if name not in _loaded:
        spec, _, reference = CASES[name]
        tok = load_tokenizer(spec if spec == "prism-tiny" else str(fixture(f"tokenizers/{spec}")))
        _loaded[name] = (tok, reference())
    return _loaded[name]


@pytest.fixture(params=list(CASES))
def case(request) -> tuple[str, Any, Reference]:
    return (request.param, *_case(request.param))


def test_byte_level(case):
    name, tok, _ = case
    assert tok.byte_level is CASES[name][1]


def test_unknown_id_is_the_one_the_library_declares_and_it_fires(case):
    """Byte-level tokenizers have none that fires (GPT-2 declares <|endoftext|> as unk, which text never
    produces); the others name the library's own, and it is the id the library gives a rare character
    (unless the model falls back to bytes, as Llama's and Phi-3's do)."""
    _, tok, ref = case
    rare_ids = ref.encode("a" + RARE + "b")
    if tok.byte_level:
        assert tok.unknown_id is None
        assert ref.unk_id is None or ref.unk_id not in rare_ids
        return
    assert tok.unknown_id == ref.unk_id is not None
    fallback = any(tok.id_to_piece(i).startswith("<0x") for i in rare_ids)
    assert (ref.unk_id in rare_ids) is not fallback


def test_batch_ids_equal_the_reference_library(case):
    _, tok, ref = case
    assert tok.encode_ids_batch(PLAIN) == [ref.encode(t) for t in PLAIN]


def test_batch_ids_options_mean_what_encode_means(case):
    _, tok, _ = case
    assert tok.encode_ids_batch(PLAIN, add_special_tokens=True) == [tok.encode(t).ids for t in PLAIN]
    typed = [f"a {s} b" for s in tok.special_tokens][:20]
    split = tok.encode_ids_batch(typed, split_special_tokens=True)
    assert split == [tok.encode(t, add_special_tokens=False, split_special_tokens=True).ids for t in typed]
    if tok.backend != "sentencepiece":  # sentencepiece's batch encoder reads them as text (see its docstring)
        assert tok.encode_ids_batch(typed) == [tok.encode(t, add_special_tokens=False).ids for t in typed]


def test_round_trip_verdicts_equal_the_reference_library(case):
    _, tok, ref = case
    corpus = fixture("corpus/udhr")
    texts = TRICKY + [(corpus / n).read_text(encoding="utf-8")[:3000] for n in ("eng.txt", "jpn.txt", "ara.txt")]
    verdicts = tok.round_trips(IdBatch.of(texts, tok.encode_ids_batch(texts)))
    assert verdicts == [ref.decode(ref.encode(t)) == t for t in texts]
    assert any(verdicts)


def test_declared_normalizer_is_the_one_in_the_file(case):
    _, tok, ref = case
    declared = tok.declared_normalizer
    if ref.normalizer in (None, "Sequence"):
        assert (declared is None) is (ref.normalizer is None)
    else:
        assert declared is not None and declared.startswith(ref.normalizer)


def test_byte_table_joins_into_what_the_library_decodes_for_byte_level_tokenizers(case):
    _, tok, ref = case
    if not tok.byte_level:
        pytest.skip("only byte-level tokenizers decode to exactly their tokens' bytes")
    table = tok.byte_table()
    assert len(table) == tok.vocab_size
    for text in PLAIN:
        ids = ref.encode(text)
        assert b"".join(table[i] for i in ids) == ref.decode(ids).encode("utf-8")  # qwen2's NFC: not always the text


def test_backend_errors_become_typed_errors(tmp_path):
    """The safety boundary: a Rust panic or a library exception on a bad file is a TokenizerFileError."""
    from tokenprism.errors import TokenizerFileError

    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}', encoding="utf-8")
    with pytest.raises(TokenizerFileError, match="tokenizer.json"):
        load_tokenizer(str(bad))
    model = tmp_path / "x.model"
    model.write_bytes(fixture("tokenizers/flan-t5/spiece.model").read_bytes()[:-7])
    with pytest.raises(TokenizerFileError, match="x.model"):
        load_tokenizer(str(model))


def test_backends_do_not_import_each_other():
    """Each backend (hf, hf_files; spm; tik; gguf_*) stands on base.py and the shared helpers only, so a
    new backend is its own modules plus a row in the registry's table."""
    import ast
    from pathlib import Path

    import tokenprism.tokenizers as package

    folder = Path(package.__file__).parent
    shared = {"__init__", "base", "config", "roundtrip", "registry", "chat", "healing", "cuts", "probes", "anatomy", "anatomy_values", "model_rules"}  # helpers every backend may use
    family = {p.stem: p.stem.split("_")[0] for p in folder.glob("*.py") if p.stem not in shared}
    for name, backend in family.items():
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        imported = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
        others = {m for m in imported if family.get(m, backend) != backend}
        assert not others, f"{name}.py imports another backend's module(s): {sorted(others)}"


def test_no_backend_knowledge_outside_tokenizers():
    """compare, properties, corpus, FIM and serve ask the contract; none tests which backend it has or
    reaches into a backend's own objects."""
    import re
    from pathlib import Path

    import tokenprism

    src = Path(tokenprism.__file__).parent
    pattern = re.compile(r"backend ==|backend_tokenizer|\.processor\b|getattr\(tok|bytes_to_unicode|tokenizers\.(hf|spm|tik)\b")
    # Being moved into fim/ by the FIM-pipeline work of the same issue: they reach encode_ids_batch and
    # is_special through getattr, which the contract now declares. Drop these once that lands.
    in_flight = ("fim/", "cli/fim_data.py")
    found = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        if rel.startswith(("tokenizers/", *in_flight)):
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{rel}:{lineno}: {line.strip()}")
    assert not found, "\n".join(found)
