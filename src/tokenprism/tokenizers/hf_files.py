"""Hugging Face backend, from files: tokenizer.json (also .gz), vocab.txt (WordPiece), vocab.json +
merges.txt, each built as transformers builds it, with the settings read beside it. The three loaders
here are rows of the registry's table (imported only when such a file is loaded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import TokenizerFileError
from .base import Tokenizer, guard
from .config import settings_beside
from .hf import HFTokenizer

__all__ = ["from_tokenizer_json", "from_bpe_files", "from_vocab_txt", "load_tokenizer_json"]


# --- loaders: (file, name) → tokenizer -----------------------------------------------------------
def from_tokenizer_json(path: Path, name: str) -> Tokenizer:
    """A tokenizer.json (or .json.gz), with tokenizer_config.json and special_tokens_map.json beside it."""
    config = settings_beside(path)
    return HFTokenizer(load_tokenizer_json(path), name=name, source=str(path), config=config, files=_files(path, config))


def from_bpe_files(path: Path, name: str) -> Tokenizer:
    """A GPT-2 style vocab.json with the merges.txt beside it."""
    merges = path.parent / "merges.txt"
    if not merges.is_file():
        raise TokenizerFileError(f"{path} needs merges.txt beside it (a GPT-2 style BPE has both)")
    config = settings_beside(path)
    roles = {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>"}
    inferred = [] if config else ["GPT-2 style byte-level BPE (no prefix space), <|endoftext|> as bos/eos/unk"]
    return HFTokenizer(
        build_byte_level_bpe(path, merges), name=name, source=str(path.parent), config=config,
        default_roles=roles, inferred=inferred, files=[str(path), str(merges)],
    )


def from_vocab_txt(path: Path, name: str) -> Tokenizer:
    """A BERT WordPiece vocab.txt; lowercasing from the config, else from the vocabulary's letters."""
    config = settings_beside(path)
    inferred = []
    if "do_lower_case" in config:
        lowercase = bool(config["do_lower_case"])
    else:
        lowercase = vocab_is_lowercase(read_vocab_txt(path))
        inferred.append(
            "lowercases text (the vocab has no upper-case letters)" if lowercase else "keeps case (the vocab has upper-case letters)"
        )
    inferred.append("BERT WordPiece: [CLS] text [SEP], split on whitespace and punctuation")
    roles = {"unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "mask": "[MASK]"}
    return HFTokenizer(
        build_wordpiece(path, lowercase=lowercase), name=name, source=str(path), config=config,
        default_roles=roles, inferred=inferred, files=_files(path, config),
    )


def _files(path: Path, config: dict[str, Any]) -> list[str]:
    extra = [str(path.parent / "tokenizer_config.json")] if config else []
    return [str(path)] + extra


# --- the raw `tokenizers.Tokenizer` from each kind of file -------------------------------------
def load_tokenizer_json(path: Path) -> Any:
    """A tokenizer.json as transformers uses it: without the file's own padding and truncation
    (sentence-transformers folders pad every text to 128 tokens; tokenizer(text) does not)."""
    raw = _read_tokenizer_json(path)
    raw.no_padding()
    raw.no_truncation()
    check_components(raw, path)
    return raw


def check_components(raw: Any, path: Path) -> None:
    """Refuse at load what the tokenizers library loads but then panics on, or answers with ids that
    name no token: an empty Replace pattern or Prepend in the normaliser, a template naming a special
    token it does not define, a post-processor id beyond the vocabulary, a WordPiece model whose
    unknown token is not in its vocabulary."""
    size = raw.get_vocab_size(with_added_tokens=True)
    normalizer = _component(raw.normalizer)
    for node in _nodes(normalizer):
        if node.get("type") == "Replace" and _matches_empty(node.get("pattern")) or node.get("type") == "Prepend" and not node.get("prepend"):
            raise TokenizerFileError(f"{path}: its normalizer has a {node['type']} with an empty pattern, which the "
                                     "tokenizers library cannot apply; fix or remove that normalizer")
    for node in _nodes(_component(raw.post_processor)):
        problem = _post_processor_problem(node, size)
        if problem:
            raise TokenizerFileError(f"{path}: its post_processor {problem}; fix the file")
    model = raw.model
    unk = getattr(model, "unk_token", None) if type(model).__name__ == "WordPiece" else None
    if unk is not None and raw.token_to_id(unk) is None:
        raise TokenizerFileError(f"{path}: its WordPiece model names {unk!r} as the unknown token, which is not in its vocabulary; fix the file")


def _component(part: Any) -> dict[str, Any]:
    """A normaliser's or post-processor's settings, as the library serialises them (small, unlike the model)."""
    if part is None:
        return {}
    try:
        return json.loads(part.__getstate__())
    except (AttributeError, TypeError, ValueError):
        return {}


def _nodes(node: Any) -> Any:
    """Every settings object in a (possibly nested Sequence of) component(s)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _matches_empty(pattern: Any) -> bool:
    if not isinstance(pattern, dict):
        return False
    if "String" in pattern:
        return pattern["String"] == ""
    import re

    try:  # a regex that can match nothing somewhere ("^", "\\b", "x*")
        found = re.compile(str(pattern.get("Regex", "x"))).finditer(_EMPTY_PROBE)
        return any(m.start() == m.end() for m in found)
    except re.error:  # an Oniguruma pattern Python cannot read: the library judged it already
        return False


_EMPTY_PROBE = "Hello, world! 12 x\n\t é"


def _post_processor_problem(node: dict[str, Any], size: int) -> str | None:
    kind = node.get("type")
    if kind == "TemplateProcessing":
        defined = node.get("special_tokens") or {}
        for piece in [*(node.get("single") or []), *(node.get("pair") or [])]:
            name = piece.get("SpecialToken", {}).get("id") if isinstance(piece, dict) else None
            if name is not None and name not in defined:
                return f"template names the special token {str(name)[:40]!r} but does not define it"
        for name, spec in defined.items():
            bad = [i for i in (spec.get("ids") or []) if not isinstance(i, int) or not 0 <= i < size]
            if bad:
                return f"gives {str(name)[:40]!r} the id {bad[0]}, beyond the vocabulary of {size:,}"
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("cls", "sep"):
            value = node.get(key)
            if isinstance(value, list) and len(value) == 2 and not (isinstance(value[1], int) and 0 <= value[1] < size):
                return f"gives {key} the id {value[1]}, beyond the vocabulary of {size:,}"
    return None


def _read_tokenizer_json(path: Path) -> Any:
    from tokenizers import Tokenizer as RawTokenizer

    if path.name.endswith(".gz"):
        import gzip  # only for .json.gz files

        def read() -> Any:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return RawTokenizer.from_str(fh.read())

        return guard("load tokenizer file", path, read)
    return guard("load tokenizer file", path, lambda: RawTokenizer.from_file(str(path)))


def build_wordpiece(vocab_path: Path, *, lowercase: bool) -> Any:
    """A BERT tokenizer from a bare vocab.txt, built as transformers' BertTokenizerFast builds it."""
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

    vocab = read_vocab_txt(vocab_path)
    tok = RawTokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab]
    tok.add_special_tokens(specials)
    if "[CLS]" in vocab and "[SEP]" in vocab:
        cls, sep = ("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[cls, sep]
        )
    return tok


def read_vocab_txt(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenizerFileError(f"cannot read {path}: {exc}") from None
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for line in lines:
        vocab.setdefault(line.rstrip("\r"), len(vocab))
    if not vocab:
        raise TokenizerFileError(f"{path} holds no vocabulary entries")
    if "[UNK]" not in vocab:  # WordPiece gives [UNK] to a word it cannot spell; without one it fails then
        raise TokenizerFileError(f"{path} has no [UNK] entry, which a WordPiece vocabulary needs for words it cannot spell; "
                                 "add a line [UNK] to the file")
    return vocab


def vocab_is_lowercase(vocab: dict[str, int]) -> bool:
    """A WordPiece vocab with no upper-case letters outside its [SPECIAL] tokens was made for lowercased text.
    (Letters like 'ℝ' look upper-case but have no lower case; lowercasing keeps them, so they don't count.)"""
    return not any(
        ch != ch.lower() for piece in vocab if not (piece.startswith("[") and piece.endswith("]")) for ch in piece
    )


def build_byte_level_bpe(vocab_path: Path, merges_path: Path) -> Any:
    """A GPT-2 style tokenizer from vocab.json + merges.txt, as transformers' GPT2TokenizerFast builds it."""
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import decoders, models, pre_tokenizers, processors

    def build() -> Any:
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        merges = []
        for line in merges_path.read_text(encoding="utf-8").split("\n"):
            if line.startswith("#version") or not line.strip():
                continue
            left, _, right = line.partition(" ")
            merges.append((left, right))
        tok = RawTokenizer(models.BPE(vocab, merges, fuse_unk=False))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        if "<|endoftext|>" in vocab:
            tok.add_special_tokens(["<|endoftext|>"])
        return tok

    return guard("load vocab.json + merges.txt from", vocab_path.parent, build)
