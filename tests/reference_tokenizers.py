"""The reference library under each fixture tokenizer, called as its own users call it: `tokenizers`,
`tiktoken` or `sentencepiece`, ids without tokens added around the text. Tests compare tokenprism with
these, never with numbers copied from tokenprism's output.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from typing import Callable

from conftest import fixture

#: fixture tokenizers (relative to fixtures/tokenizers) that every exactness test runs over
FIXTURE_TOKENIZERS = [
    "gpt2", "bert-base-uncased", "bert-base-cased", "flan-t5/spiece.model", "flan-t5/tokenizer.json",
    "openai-tiktoken/cl100k_base.tiktoken", "openai-tiktoken/o200k_base.tiktoken", "phi-3-mini/tokenizer.json",
    "phi-3-mini/tokenizer.model", "qwen2/tokenizer.json.gz", "starcoder2/tokenizer.json", "deberta-v3/spm.model",
]


@lru_cache(maxsize=None)
def reference_encoder(rel: str) -> Callable[[str], list[int]]:
    """text → ids, by the library the fixture `rel` is read with."""
    path = fixture(f"tokenizers/{rel}")
    if rel.endswith(".tiktoken"):
        return _tiktoken(path)
    if rel.endswith(".model"):
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(path))
        return lambda text: sp.encode(text)
    from tokenizers import Tokenizer

    if rel == "gpt2":
        from tokenizers import ByteLevelBPETokenizer

        raw = ByteLevelBPETokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
        raw.add_special_tokens(["<|endoftext|>"])
    elif rel.startswith("bert-base"):
        from tokenizers import BertWordPieceTokenizer

        raw = BertWordPieceTokenizer(str(path / "vocab.txt"), lowercase=rel.endswith("uncased"))
    elif rel.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = Tokenizer.from_str(fh.read())
    else:
        raw = Tokenizer.from_file(str(path))
    return lambda text: raw.encode(text, add_special_tokens=False).ids


def _tiktoken(path) -> Callable[[str], list[int]]:
    import tiktoken
    import tiktoken_ext.openai_public as public
    from tiktoken.load import load_tiktoken_bpe

    name = path.name.removesuffix(".tiktoken")
    ranks = load_tiktoken_bpe(str(path))
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    try:
        encoding = tiktoken.Encoding(**public.ENCODING_CONSTRUCTORS[name]())
    finally:
        public.load_tiktoken_bpe = original
    return lambda text: encoding.encode(text, allowed_special="all")
