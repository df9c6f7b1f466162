"""Request and response shapes of the JSON API: they validate requests and describe the API in OpenAPI
(/docs). Requests are strict (no "5" for 5, no unknown fields), so a typo is a clear 422, not a
silently ignored option.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TokenizeRequest", "TokenizeResponse", "TokenColumns", "ExplainTokenRequest", "ExplainTokenResponse", "CompareRequest", "CompareResponse", "DecodeRequest",
    "DecodeResponse", "GenerateRequest", "InfillRequest", "EmbedRequest", "EmbedResponse", "SimilarRequest",
    "SimilarResponse", "ConfigResponse", "ErrorResponse",
    "LensRequest", "LensResponse", "AttentionRequest", "AttentionResponse", "AttributeRequest", "AttributeResponse",
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


class ExplainTokenRequest(_Request):
    text: str = Field(description="The text, as sent to /api/tokenize.")
    index: int = Field(description="Which token of the text's encoding (0 for the first; negative counts from the end).")
    tokenizer: Optional[str] = Field(None, description="One of /api/config's tokenizers (default: the first).")
    add_special_tokens: bool = True
    split_special_tokens: bool = False


class ExplainTokenResponse(BaseModel):
    tokenizer: str
    index: int
    id: int
    piece: str
    label: str
    why: str = Field(description="For a token the model did not build (special, added around the text): where it came from.")
    word: Optional[dict[str, Any]] = Field(None, description="The word it came from: symbols, algorithm, merges / matches / cuts, exact.")
    position: Optional[int] = Field(None, description="Which token of its word this is.")
    span: Optional[list[int]] = Field(None, description="Where the token lies in the word's symbols.")
    start: Optional[list[str]] = Field(None, description="BPE: the token's symbols before its first merge.")
    steps: Optional[list[dict[str, Any]]] = Field(None, description="BPE: each merge that built it, its rank and the symbols after it.")


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
    shape: list[int] = Field(default_factory=list, description="The vectors' shape: [batch, tokens, dimensions] or [texts, dimensions].")
    axes: list[str] = Field(default_factory=list, description="What each axis of `shape` counts.")
    values: list[list[float]] = Field(default_factory=list, description="The first 16 values of each point (at most 64 points).")


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
    preset_status: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description='Per preset: {"specs": the configured specs that stand for its tokenizers, '
                                          '"missing": {spec: why it is not on this server}}.')
    labels: dict[str, str] = Field(default_factory=dict, description="Each configured spec's short label (a folder by its name).")
    book_text: str
    version: str


# --- inside the model -----------------------------------------------------------------------------
class LensRequest(_Request):
    prompt: str = Field(min_length=1, description="The text whose next-token guesses are read layer by layer.")
    model: Optional[str] = Field(None, description="One of /api/config's models (default: the first).")
    top: int = Field(5, ge=1, le=20, description="Top tokens kept per layer and position.")
    positions: Literal["all", "last"] = Field("all", description="Every position, or only the last.")


class LensCandidate(BaseModel):
    id: int
    token: str
    prob: float


class LensCell(BaseModel):
    position: int
    top: list[LensCandidate] = Field(description="The layer's most likely next tokens at this position, most likely first.")
    entropy: float = Field(description="Bits.")
    kl_to_final: float = Field(description="KL(final ‖ this layer), bits.")
    rank_of_final: int = Field(description="Where the model's final prediction ranks here (1 = top).")


class LensLayer(BaseModel):
    layer: int = Field(description="0 = the embeddings; the last = the model's output.")
    positions: list[LensCell]


class LensResponse(BaseModel):
    model: str
    prompt: str
    tokens: list[str]
    ids: list[int]
    layers: list[LensLayer]
    notes: list[str]


class AttentionRequest(_Request):
    prompt: str = Field(min_length=1)
    model: Optional[str] = None
    position: int = Field(-1, description="The token whose attention is returned (from 0; -1 = the last).")


class AttentionHead(BaseModel):
    head: int
    weights: list[float] = Field(description="How much the token looked at each position (sums to 1).")


class AttentionLayer(BaseModel):
    layer: int = Field(description="1 = the first block.")
    heads: list[AttentionHead]


class AttentionResponse(BaseModel):
    model: str
    tokens: list[str]
    ids: list[int]
    position: int
    num_layers: int
    num_heads: int
    layers: list[AttentionLayer]
    notes: list[str]


class AttributeRequest(_Request):
    prompt: str = Field(min_length=1)
    target: str = Field(min_length=1, description="The continuation to explain (forced after the prompt).")
    model: Optional[str] = None
    method: Literal["integrated-gradients", "grad-x-input"] = "integrated-gradients"
    steps: int = Field(32, ge=1, le=128, description="Integration points (integrated gradients).")


class Completeness(BaseModel):
    sum: float = Field(description="The attributions added up.")
    expected: float = Field(description="log p(target | prompt) − log p(target | baseline).")
    relative_error: float


class AttributeResponse(BaseModel):
    model: str
    prompt: str
    target: str
    tokens: list[str]
    ids: list[int]
    target_tokens: list[str]
    attributions: list[float] = Field(description="Each prompt token's contribution to log p(target | prompt).")
    method: str
    baseline: str
    steps: int
    logprob: float
    completeness: Completeness
    notes: list[str]
