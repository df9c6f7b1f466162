"""Train a tokenizer of your own with Hugging Face tokenizers' trainers, into a folder that
`load_tokenizer` (and so `compare`, `corpus`, `tokenize`) reads like any other.

>>> result = train_tokenizer(["src/"], algorithm="byte-bpe", vocab_size=2000, output="my-tok")  # doctest: +SKIP
>>> compare("    return x", ["my-tok", "gpt2"])                                               # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .errors import InputError, UsageError
from .files import written_whole

if TYPE_CHECKING:
    from .tokenizers.base import Tokenizer

__all__ = ["train_tokenizer", "TrainResult", "ALGORITHMS"]

ALGORITHMS = ("bpe", "byte-bpe", "wordpiece", "unigram")

# Special tokens each algorithm gets unless told otherwise, and the role each one plays.
_DEFAULT_SPECIALS = {
    "bpe": {"<unk>": "unk"},
    "byte-bpe": {"<|endoftext|>": "eos"},
    "wordpiece": {"[PAD]": "pad", "[UNK]": "unk", "[CLS]": "cls", "[SEP]": "sep", "[MASK]": "mask"},
    "unigram": {"<unk>": "unk"},
}
# Plain (not byte-level) BPE keeps whitespace runs as their own pre-tokens, as GPT-2's pattern does.
_PLAIN_BPE_SPLIT = r"\s+(?!\S)|\s+|[^\s\w]+|\w+"


@dataclass(frozen=True)
class TrainResult:
    """What training made: the folder written, the loaded tokenizer, and the first merges it learned."""

    output: Path
    algorithm: str
    vocab_size: int
    tokenizer: Tokenizer
    merges: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "algorithm": self.algorithm,
            "vocab_size": self.vocab_size,
            "merges": [list(m) for m in self.merges],
            "files": list(self.files),
        }


def train_tokenizer(
    corpus: Sequence[str | os.PathLike[str]] | Iterable[str],
    *,
    algorithm: str = "byte-bpe",
    vocab_size: int = 8000,
    output: str | os.PathLike[str],
    special_tokens: Sequence[str] = (),
    lowercase: bool = False,
    min_frequency: int = 2,
    show_merges: int = 20,
    texts: bool = False,
) -> TrainResult:
    """Train on files/folders (or, with ``texts=True``, on an iterable of strings) and write
    ``tokenizer.json`` + ``tokenizer_config.json`` into `output`.

    >>> train_tokenizer(["a.txt"], algorithm="unigram", vocab_size=500, output="out").tokenizer  # doctest: +SKIP
    """
    from tokenizers import Tokenizer as RawTokenizer

    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown algorithm {algorithm!r}: choose one of {', '.join(ALGORITHMS)}")
    if not 2 <= vocab_size <= 10_000_000:
        raise UsageError(f"--vocab-size must be between 2 and 10,000,000, not {vocab_size}")
    specials = {**_DEFAULT_SPECIALS[algorithm], **{s: None for s in special_tokens if s}}
    raw: RawTokenizer = _build(algorithm, lowercase=lowercase)
    trainer = _trainer(algorithm, vocab_size=vocab_size, min_frequency=min_frequency, specials=list(specials))
    seen = _Counted(_texts(corpus, texts=texts))
    raw.train_from_iterator(seen, trainer=trainer)
    if not seen.chars:
        raise InputError("the training corpus is empty: no readable text in the given paths")
    _post_process(raw, algorithm)
    out = Path(output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the tokenizer into {out}: {exc.strerror}") from None
    with written_whole(out / "tokenizer.json") as temp:  # each file whole or not at all
        try:
            raw.save(str(temp))
        except Exception as exc:  # noqa: BLE001 - the Rust library raises a bare Exception for an OS error
            raise UsageError(f"cannot write {out / 'tokenizer.json'}: {str(exc)[:160]}; nothing was written there") from None
    with written_whole(out / "tokenizer_config.json") as temp:
        temp.write_text(json.dumps(_config(specials, lowercase), indent=2), encoding="utf-8")
    from .tokenizers.registry import load_local

    tok = load_local(out, name=str(out))
    return TrainResult(out, algorithm, raw.get_vocab_size(), tok, first_merges(raw, show_merges),
                       [str(out / "tokenizer.json"), str(out / "tokenizer_config.json")])


class _Counted:
    """An iterator that remembers whether it gave any text (the trainers accept an empty corpus silently)."""

    def __init__(self, texts: Iterator[str]) -> None:
        self._texts = texts
        self.chars = 0

    def __iter__(self) -> Iterator[str]:
        for t in self._texts:
            self.chars += len(t)
            yield t


def _texts(corpus: Iterable[Any], *, texts: bool) -> Iterator[str]:
    if texts:
        yield from corpus
        return
    from .corpus.readers import read_corpus

    for doc in read_corpus(list(corpus), group_by="none"):
        yield doc.text


def _build(algorithm: str, *, lowercase: bool) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    norm = [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else [])
    if algorithm == "byte-bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
    elif algorithm == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(_PLAIN_BPE_SPLIT), behavior="isolated")
        tok.decoder = decoders.Fuse()
    elif algorithm == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        norm = [normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False if not lowercase else None)]
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.normalizer = normalizers.Sequence(norm)
    return tok


def _trainer(algorithm: str, *, vocab_size: int, min_frequency: int, specials: list[str]) -> Any:
    from tokenizers import pre_tokenizers, trainers

    if algorithm == "byte-bpe":
        return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                   initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    if algorithm == "bpe":
        return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials, show_progress=False)
    if algorithm == "wordpiece":
        return trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials, show_progress=False)
    return trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>", show_progress=False)


def _post_process(raw: Any, algorithm: str) -> None:
    """WordPiece gets BERT's [CLS] text [SEP] framing, as the BERT tokenizers it imitates."""
    if algorithm != "wordpiece":
        return
    from tokenizers import processors

    cls, sep = raw.token_to_id("[CLS]"), raw.token_to_id("[SEP]")
    if cls is not None and sep is not None:
        raw.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )


def _config(specials: dict[str, str | None], lowercase: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": lowercase}
    for token, role in specials.items():
        if role is not None:
            config[f"{role}_token"] = token
    extra = [t for t, role in specials.items() if role is None]
    if extra:
        config["additional_special_tokens"] = extra
    return config


def first_merges(raw: Any, n: int) -> list[tuple[str, str]]:
    """The first `n` merges a BPE model learned (in the order it learned them); none for other models."""
    if n <= 0 or type(raw.model).__name__ != "BPE":
        return []
    merges = json.loads(raw.to_str())["model"].get("merges", [])[:n]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]
