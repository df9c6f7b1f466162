"""Request and response shapes of the JSON API: they validate requests and describe the API in OpenAPI
(/docs). Requests are strict (no "5" for 5, no unknown fields), so a typo is a clear 422, not a
silently ignored option.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TokenizeRequest", "TokenizeResponse", "TokenColumns", "CompareRequest", "CompareResponse", "DecodeRequest",
    "DecodeResponse", "GenerateRequest", "InfillRequest", "EmbedRequest", "EmbedResponse", "SimilarRequest",
    "SimilarResponse", "ConfigResponse", "ErrorResponse",
]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ErrorResponse(BaseModel):
    error: str = Field(description="One line: what was wrong and what to do.")


# --- tokens -------------------------------------------------------------------------------------
class TokenizeRequest(_Request):
    text: str = Field(description="The text to tokenize.")
    tokenizer: Optional[str] = Field(None, description="One of /api/config's tokenizers (default: the first).")
    add_special_tokens: bool = Field(True, description="Add the tokens the tokenizer puts around a text (BOS, [CLS] …).")
    split_special_tokens: bool = Field(False, description="Treat special-token strings typed in the text as plain text.")


class TokenColumns(BaseModel):
    ids: list[int]
    offsets: list[tuple[int, int]] = Field(description="Character span [start, end) of each token in the text.")
    pieces: list[str] = Field(description="Each token's raw vocabulary entry (Ġhello, ##ing, ▁the).")
    labels: list[str] = Field(description="What a display shows: the text, a special token's name, a fragment's bytes.")
    bytes: list[str] = Field(description="Each token's bytes, in hex.")
    special: list[int] = Field(description="Indices of special tokens.")
    fragment: list[int] = Field(description="Indices of tokens holding part of a multi-byte character.")
    from_text: list[int] = Field(description="Indices of special tokens parsed from special-token strings in the text.")
    added: list[int] = Field(description="Indices of the tokens the tokenizer added around the text.")


class TokenizeResponse(BaseModel):
    tokenizer: str
    count: int
    chars: int
    lossless: bool
    notes: list[str]
    tokens: TokenColumns


class DecodeRequest(_Request):
    ids: list[int] = Field(description="Token ids; each must be an integer in the tokenizer's range.")
    tokenizer: Optional[str] = None
    skip_special_tokens: bool = False


class DecodeResponse(BaseModel):
    tokenizer: str
    ids: list[int]
    tokens: list[dict[str, Any]]
    text: str


class CompareRequest(_Request):
    text: Optional[str] = Field(None, description="The text (default: the book's test text).")
    tokenizers: list[str] = Field(default_factory=list, description="Configured tokenizer specs, one row each.")
    preset: Optional[str] = Field(None, description='A named set of tokenizers ("book"); its unconfigured ones get an error row.')
    add_special_tokens: bool = True
    split_special_tokens: bool = False


class CompareRow(BaseModel):
    tokenizer: str
    error: Optional[str] = None
    count: int = 0
    text_tokens: int = 0
    chars_per_token: float = 0.0
    bytes_per_token: float = 0.0
    unknown: int = 0
    lossless: bool = False
    tokens: Optional[TokenColumns] = None


class CompareResponse(BaseModel):
    text: str
    rows: list[CompareRow]
    disagreements: list[dict[str, Any]]


# --- models -------------------------------------------------------------------------------------
class GenerateRequest(_Request):
    prompt: str
    model: Optional[str] = Field(None, description="One of /api/config's models (default: the first).")
    max_new_tokens: int = Field(40, description="Capped by the server's max_new_tokens_cap.")
    temperature: Optional[float] = Field(None, description="0 or absent: greedy; above 0: sample.")
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    seed: Optional[int] = Field(None, ge=0, le=2**63 - 1, description="Same seed, same sample (absent: a random one).")
    show_top: int = Field(5, ge=0, le=20, description="How many alternatives each step reports.")
    stop: list[str] = Field(default_factory=list, description="Stop when one of these strings appears in the new text.")
    chat: bool = Field(False, description="Wrap the prompt in the model's chat template.")
    system: Optional[str] = None


class InfillRequest(_Request):
    prefix: str
    suffix: str
    model: Optional[str] = None
    max_new_tokens: int = 64
    temperature: Optional[float] = None
    seed: Optional[int] = Field(None, ge=0, le=2**63 - 1)
    show_top: int = Field(5, ge=0, le=20)
    mode: Optional[str] = Field(None, description="psm or spm (default: the model's usual order).")
    heal: bool = Field(True, description="Token healing: the prefix's last token is taken back and written again by the middle.")


# --- embeddings ---------------------------------------------------------------------------------
class EmbedRequest(_Request):
    texts: list[str] = Field(description="One or more texts (at most 64).", min_length=1, max_length=64)
    model: Optional[str] = None
    layer: int = Field(-1, description="0 = input embeddings, -1 = last layer.")
    sentence: bool = Field(True, description="One vector per text (pooled) instead of one per token.")


class EmbedResponse(BaseModel):
    model: str
    layer: int
    sentence: bool
    texts: list[str]
    tokens: list[list[str]]
    labels: list[str] = Field(description="One label per point (a text, or a token and its text's number).")
    points: list[list[float]] = Field(description="2-D coordinates (first two principal components).")
    similarity: list[list[float]] = Field(description="Cosine similarity between the points (empty above 64 points).")
    pooling: Optional[str] = None
    notes: list[str]


class SimilarRequest(_Request):
    word: str
    contexts: list[str] = Field(min_length=1, max_length=32)
    model: Optional[str] = None
    layer: int = -1


class SimilarResponse(BaseModel):
    model: str
    word: str
    layer: int
    contexts: list[str]
    pieces: list[list[str]]
    spans: list[list[int]]
    similarity: list[list[float]]
    static_similarity: list[list[float]]
    points: list[list[float]]
    notes: list[str]


class ConfigResponse(BaseModel):
    tokenizers: list[str]
    models: list[str]
    embedding_models: list[str]
    allow_local_paths: bool
    max_new_tokens_cap: int
    generation_timeout_s: float
    max_body_bytes: int
    features: dict[str, Optional[str]] = Field(description="Each tab's capability: null when available, else why not.")
    presets: dict[str, list[str]]
    book_text: str
    version: str
