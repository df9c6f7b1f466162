"""tiktoken ranks files by what they hold, whatever their name: ``cl100k_base.tiktoken``, and Meta's
Llama-3 ``original/tokenizer.model`` (base64 rank lines, not a SentencePiece model).

A ranks file holds the BPE ranks only. The split pattern and the special tokens come from, in order:
the `pattern=` option (or a ``"pattern"`` key in a tokenizer_config.json beside the file); an OpenAI
encoding's name (``cl100k_base.tiktoken``); Llama-3's, when the folder's config says Llama-3. Where
none applies the file cannot be read exactly, and the error names the option to give.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import TokenizerFileError
from .base import MAX_VOCAB, guard
from .config import read_json_config, roles_from_config, settings_beside
from .tik import TiktokenTokenizer, load_ranks, ranks_instead_of_download

__all__ = ["is_ranks_file", "from_ranks_file", "ranks_setup", "LLAMA3_PATTERN", "LLAMA3_RANKS", "llama3_special_tokens"]

#: Meta's Llama-3 split pattern (llama3/tokenizer.py; transformers' TikTokenConverter uses it too).
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
#: Llama-3's ranks: 128,000 of them, then 256 special tokens from <|begin_of_text|> = 128000.
LLAMA3_RANKS = 128000
_LLAMA3_RESERVED = 256

# the first line of a ranks file: base64 of a token, a space, its rank
_RANKS_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2} [0-9]+\r?\n")


def is_ranks_file(path: Path) -> bool:
    """Whether a file holds tiktoken ranks (a SentencePiece model is a binary protobuf).

    >>> is_ranks_file(Path("/nonexistent"))
    False
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return bool(_RANKS_LINE.match(head))


def llama3_special_tokens() -> dict[str, int]:
    """Meta's Llama-3 special tokens (llama3/tokenizer.py: 10 named, the rest reserved), from 128000.
    Llama 3.1+ renamed a few reserved slots (<|finetune_right_pad_id|>, <|eom_id|>, <|python_tag|>); a
    tokenizer_config.json beside the file gives those names. The ids of the named ones are the same."""
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
             "<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
             "<|reserved_special_token_4|>", "<|eot_id|>"]
    names = named + [f"<|reserved_special_token_{i}|>" for i in range(5, _LLAMA3_RESERVED - 5)]
    return {name: LLAMA3_RANKS + i for i, name in enumerate(names)}


class RanksSetup(NamedTuple):
    """How to read one ranks file: tiktoken's Encoding arguments, what was inferred, the token put
    before a text (Llama-3's <|begin_of_text|>) and the settings found beside the file."""

    params: dict[str, Any]
    inferred: list[str]
    bos: str | None
    config: dict[str, Any]


def from_ranks_file(path: Path, name: str, *, pattern: str | None = None) -> TiktokenTokenizer:
    """A tiktoken ranks file (``*.tiktoken``, or a tokenizer.model holding ranks), read as `ranks_setup` says."""
    import tiktoken

    setup = ranks_setup(path, pattern=pattern)
    # a special token's id among the ranks, a pattern the regex engine rejects, a panic: one line
    encoding = guard("read tiktoken ranks from", path, lambda: tiktoken.Encoding(**setup.params))
    tok = TiktokenTokenizer(encoding, name=name, source=str(path), inferred=setup.inferred, files=[str(path)],
                            config=setup.config, bos=setup.bos)
    return tok


def ranks_setup(path: Path, *, pattern: str | None = None) -> RanksSetup:
    """The split pattern and special tokens of a ranks file (see the module's docstring).

    A pattern given wins; then one named in the settings beside the file; then an OpenAI encoding's,
    by file name; then Llama-3's, where the folder's config says Llama-3 (a tokenizer_config.json
    naming <|begin_of_text|>, a config.json or Meta's params.json with Llama-3's vocabulary size);
    otherwise a `TokenizerFileError` naming the `pattern` option.
    """
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    ranks = load_ranks(path)
    config = _settings(path)
    stem = path.name.removesuffix(".tiktoken")
    llama3 = _llama3_reason(path, ranks, config)
    specials = _config_specials(config, len(ranks))
    given = pattern or (config.get("pattern") if isinstance(config.get("pattern"), str) else None)
    inferred: list[str] = []
    bos = None
    if stem in ENCODING_CONSTRUCTORS and not given:
        with ranks_instead_of_download(ranks):
            params = ENCODING_CONSTRUCTORS[stem]()
        inferred.append(f"split pattern and special tokens of {stem} (from the file name)")
    elif llama3 or given:
        params = {"name": stem, "pat_str": given or LLAMA3_PATTERN}
        inferred.append("split pattern given by the pattern option" if pattern else
                        "split pattern from the settings beside the file" if given else f"Llama-3's split pattern ({llama3})")
        if llama3 and not specials:
            specials = llama3_special_tokens()
            inferred.append("Llama-3's 256 special tokens from 128000 (Llama 3.0's names; a tokenizer_config.json beside gives 3.1+'s)")
        if llama3 and config.get("add_bos_token", True) is not False:
            bos = "<|begin_of_text|>"
            inferred.append("<|begin_of_text|> before a text, as Llama-3's tokenizer.json adds it")
        params["special_tokens"] = specials
    else:
        raise TokenizerFileError(
            f"{path} holds tiktoken ranks whose split pattern cannot be known (not an OpenAI encoding's file name, "
            "no Llama-3 config beside it): pass it, load_tokenizer(path, pattern=REGEX), or put "
            '{"pattern": REGEX} in a tokenizer_config.json beside the file'
        )
    params["mergeable_ranks"] = ranks
    return RanksSetup(params, inferred, bos if bos in params["special_tokens"] else None, config)


def _settings(path: Path) -> dict[str, Any]:
    """Settings beside the file, else in the folder above (Meta's repos keep the ranks in original/)."""
    beside = settings_beside(path)
    return beside or settings_beside(path.parent)


def _config_specials(config: dict[str, Any], ranks: int) -> dict[str, int]:
    """Special tokens a tokenizer_config.json declares beyond the ranks (its added_tokens_decoder)."""
    decoder = config.get("added_tokens_decoder")
    if not isinstance(decoder, dict):
        return {}
    specials = {}
    for key, token in decoder.items():
        content = token.get("content") if isinstance(token, dict) else token
        if isinstance(content, str) and str(key).isdigit() and ranks <= int(key) < MAX_VOCAB:
            specials[content] = int(key)
    return specials


def _llama3_reason(path: Path, ranks: dict[bytes, int], config: dict[str, Any]) -> str | None:
    """Why the file is Llama-3's, or None: 128,000 ranks and a config beside that says so."""
    if len(ranks) != LLAMA3_RANKS:
        return None
    if roles_from_config(config).get("bos") == "<|begin_of_text|>" or "<|begin_of_text|>" in _config_specials(config, LLAMA3_RANKS):
        return "128,000 ranks and <|begin_of_text|> in tokenizer_config.json"
    for folder in (path.parent, path.parent.parent):
        model = read_json_config(folder, "config.json")
        if model.get("model_type") == "llama" and model.get("vocab_size") == LLAMA3_RANKS + _LLAMA3_RESERVED:
            return "128,000 ranks and a Llama config.json with 128,256 ids"
    params = read_json_config(path.parent, "params.json")
    if params.get("vocab_size") == LLAMA3_RANKS + _LLAMA3_RESERVED:
        return "128,000 ranks and Meta's params.json with 128,256 ids"
    return None
