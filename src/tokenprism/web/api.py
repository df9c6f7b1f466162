"""The JSON API: one short handler per library verb. Tokenizer work runs in worker threads, a few at a
time (`off_loop`: tokenizing 1 MB must not stall the event loop); embedding handlers, declared with
plain `def`, run in FastAPI's threadpool; generation runs in its own thread and streams server-sent
events (api_models.py). Errors are raised as `TokenprismError`s and turned into JSON in one place (app.py).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Optional

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from .. import __version__
from ..errors import MissingDependency, TokenprismError, UsageError
from .config import DEFAULT_EMBEDDING_MODEL, Settings, check_spec, scrub_paths
from .payload import comparison_payload, encoding_payload, matrix_payload, points_payload
from .schemas import (
    CompareRequest, CompareResponse, ConfigResponse, DecodeRequest, DecodeResponse, EmbedRequest, EmbedResponse,
    ErrorResponse, ExplainTokenRequest, ExplainTokenResponse, SimilarRequest, SimilarResponse, TokenizeRequest, TokenizeResponse,
)
from .stream import GenerationSlots

__all__ = ["router", "ServerState", "Busy", "Unavailable", "JSON", "state", "missing_lm", "features", "load_model_once"]

router = APIRouter(prefix="/api", responses={code: {"model": ErrorResponse} for code in (400, 403, 404, 413, 422, 429, 501)})


#: transformers' from_pretrained is not safe to run in two threads at once (it patches torch globally
#: while it builds the model on the meta device), so the server loads one model at a time.
_LOADING = threading.Lock()


def load_model_once(spec: str) -> Any:
    from ..models import load_model

    with _LOADING:
        return load_model(spec)


def load_embedding_model_once(spec: str) -> Any:
    from ..embeddings import load_embedding_model

    with _LOADING:
        return load_embedding_model(spec)


class Busy(TokenprismError):
    status_code = 429


class Unavailable(TokenprismError):
    status_code = 501


try:
    import orjson as _orjson
except ImportError:  # the [web] extra installs it; the standard library's json also works, ~10x slower
    _orjson = None


class JSON(JSONResponse):
    """JSON rendered by orjson where it is installed (the token columns of 10 KB of text take it
    0.2 ms, the standard library 3.5 ms: most of a request's time), and that survives lone surrogates
    in a string (they cannot be UTF-8): escaped instead."""

    def render(self, content: Any) -> bytes:
        if _orjson is not None:
            try:
                return _orjson.dumps(content)
            except (_orjson.JSONEncodeError, TypeError):  # a lone surrogate, a type orjson does not know
                pass
        try:
            return super().render(content)
        except UnicodeEncodeError:
            import json

            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


@dataclass
class ServerState:
    """What the handlers share: the settings, the generation slots, and the limiter of tokenizer work."""

    settings: Settings
    slots: GenerationSlots
    cpu: Any = None  # anyio.CapacityLimiter, made on first use (inside the event loop)

    def tokenizer(self, spec: Optional[str]) -> Any:
        from ..tokenizers.registry import load_tokenizer

        s = self.settings
        return load_tokenizer(check_spec(spec or s.tokenizers[0], s.tokenizers, kind="tokenizer", allow_local_paths=s.allow_local_paths))

    def model_spec(self, spec: Optional[str]) -> str:
        s = self.settings
        if not s.models and not spec:
            raise UsageError("no model is configured on this server; start it with -m MODEL (e.g. -m prism-tiny)")
        return check_spec(spec or s.models[0], s.models, kind="model", allow_local_paths=s.allow_local_paths)

    def embedding_spec(self, spec: Optional[str]) -> str:
        s = self.settings
        return check_spec(spec or s.embedding_models[0], s.embedding_models, kind="embedding model",
                          allow_local_paths=s.allow_local_paths, bundled=(DEFAULT_EMBEDDING_MODEL,))


def state(request: Request) -> ServerState:
    return request.app.state.tokenprism


async def off_loop(request: Request, work: Callable[..., JSON], *args: Any) -> JSON:
    """Run `work(state, *args)` in a worker thread, at most one per core at a time.

    Tokenizing is CPU work that holds the GIL for most of its time: with FastAPI's 40 threads all
    running at once, every request would crawl along together (and the switching costs CPU); a few
    at a time, the rest waiting their turn on the event loop, each request is done sooner.
    """
    st = state(request)
    if st.cpu is None:
        st.cpu = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
    return await anyio.to_thread.run_sync(partial(work, st, *args), limiter=st.cpu)


# --- what the page needs to start ---------------------------------------------------------------
def missing_lm() -> Optional[str]:
    """Why the model tabs cannot work here, or None."""
    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed; install it with: pip install 'tokenprism[lm]'"
    return None


def features(settings: Settings) -> dict[str, Optional[str]]:
    lm = missing_lm()
    no_model = None if settings.models else "no model is configured; start the server with -m MODEL"
    return {
        "tokenize": None,
        "compare": None,
        # The bundled models run on the numpy engine: the model tabs need torch only for other models,
        # and loading one of those without it answers with the install command.
        "generate": no_model,
        "infill": no_model,
        "embed": lm,
    }


@router.get("/config", response_model=ConfigResponse)
async def config(request: Request) -> JSON:
    """What this server offers: its tokenizers and models, its limits, which tabs work."""
    from ..comparison import BOOK_TEXT, PRESETS
    from ..tokenizers.registry import spec_label
    from .presets import preset_status

    s = state(request).settings
    return JSON({**s.public(), "features": features(s), "presets": {k: list(v) for k, v in PRESETS.items()},
                 # per preset: the configured specs that stand for its tokenizers, and why the others are missing
                 "preset_status": {k: preset_status(s, k) for k in PRESETS},
                 "labels": {spec: spec_label(spec) for spec in (*s.tokenizers, *s.models, *s.embedding_models)},
                 "book_text": BOOK_TEXT, "version": __version__})


# --- tokens -------------------------------------------------------------------------------------
@router.post("/tokenize", response_model=TokenizeResponse)
async def tokenize(body: TokenizeRequest, request: Request) -> JSON:
    """Text → tokens (as columns: ids, offsets, pieces, labels, bytes …)."""
    return await off_loop(request, _tokenize, body)


def _tokenize(st: ServerState, body: TokenizeRequest) -> JSON:
    tok = st.tokenizer(body.tokenizer)
    enc = tok.encode(body.text, add_special_tokens=body.add_special_tokens, split_special_tokens=body.split_special_tokens)
    return JSON(encoding_payload(enc, tok))


@router.post("/explain-token", response_model=ExplainTokenResponse)
async def explain_token(body: ExplainTokenRequest, request: Request) -> JSON:
    """How one token of a text was built: BPE's merges with their ranks, WordPiece's longest matches,
    Unigram's best cut beside the runners-up."""
    return await off_loop(request, _explain_token, body)


def _explain_token(st: ServerState, body: ExplainTokenRequest) -> JSON:
    from ..tokenizers.anatomy import explain_token as explain

    built = explain(st.tokenizer(body.tokenizer), body.text, body.index, add_special_tokens=body.add_special_tokens,
                    split_special_tokens=body.split_special_tokens)
    return JSON({**built.to_dict(), "tokenizer": scrub_paths(built.tokenizer)})


@router.post("/decode", response_model=DecodeResponse)
async def decode(body: DecodeRequest, request: Request) -> JSON:
    """Ids → each id's piece and label, and the text; an id out of range is a 422."""
    return await off_loop(request, _decode, body)


def _decode(st: ServerState, body: DecodeRequest) -> JSON:
    tok = st.tokenizer(body.tokenizer)
    return JSON(tok.decode_tokens(body.ids, skip_special_tokens=body.skip_special_tokens).to_dict())


@router.get("/info")
async def info(request: Request, tokenizer: Optional[str] = Query(None, description="A configured tokenizer spec.")) -> JSON:
    """What a tokenizer is: backend, model type, vocabulary size, special tokens and their roles."""
    return await off_loop(request, _info, tokenizer)


def _info(st: ServerState, spec: Optional[str]) -> JSON:
    data = st.tokenizer(spec).info().to_dict()
    data["source"] = scrub_paths(data["source"])
    data["files"] = [scrub_paths(f) for f in data["files"]]
    return JSON(data)


@router.post("/compare", response_model=CompareResponse)
async def compare(body: CompareRequest, request: Request) -> JSON:
    """One text, several tokenizers: a row each (an error row for any that cannot be had) and the
    places where they cut the text differently."""
    return await off_loop(request, _compare, body)


def _compare(st: ServerState, body: CompareRequest) -> JSON:
    from ..comparison import BOOK_TEXT, PRESETS, Comparison, ComparisonRow, compare as compare_texts, expand_specs

    s = st.settings
    refused: dict[str, str] = {}
    if body.preset in PRESETS and not body.tokenizers:  # the preset as this server holds it; the others say why not
        from .presets import preset_status

        status = preset_status(s, body.preset)
        refused.update(status["missing"])
        wanted = [*status["specs"], *refused]
    else:
        wanted = list(dict.fromkeys(expand_specs(body.tokenizers or None, preset=body.preset) if (body.tokenizers or body.preset)
                                    else s.tokenizers))
    if len(wanted) > 16:
        raise UsageError(f"compare at most 16 tokenizers at once, not {len(wanted)}")
    for spec in wanted:
        if spec in refused:
            continue
        try:
            check_spec(spec, s.tokenizers, kind="tokenizer", allow_local_paths=s.allow_local_paths)
        except TokenprismError as exc:
            refused[spec] = scrub_paths(dict(s.left_out).get(spec) or str(exc))  # a left-out one: why it was
    allowed = [w for w in wanted if w not in refused]
    done = compare_texts(body.text, allowed, add_special_tokens=body.add_special_tokens,
                         split_special_tokens=body.split_special_tokens) if allowed else None
    rows = {r.tokenizer: r for r in (done.rows if done else [])}
    merged = [rows.get(w) or ComparisonRow(tokenizer=w, error=refused.get(w)) for w in wanted]
    merged = [r if r.error is None else ComparisonRow(tokenizer=r.tokenizer, error=scrub_paths(r.error)) for r in merged]
    text = done.text if done else (BOOK_TEXT if body.text is None else body.text)
    return JSON(comparison_payload(Comparison(text=text, rows=merged, disagreements=done.disagreements if done else [])))


# --- embeddings ---------------------------------------------------------------------------------
@router.post("/embed", response_model=EmbedResponse)
def embed(body: EmbedRequest, request: Request) -> JSON:
    """Texts → vectors, and what the page draws of them: cosine similarities and a 2-D projection."""
    if missing_lm():
        raise MissingDependency("torch", "lm")
    from ..embeddings import cosine_matrix, embed as embed_texts

    spec = state(request).embedding_spec(body.model)
    emb = embed_texts(body.texts, model=load_embedding_model_once(spec), layer=body.layer, sentence=body.sentence)
    vectors, labels = _points(emb)
    return JSON({
        "model": emb.model, "layer": emb.layer, "sentence": emb.sentence, "texts": emb.texts, "tokens": emb.tokens,
        "labels": labels, "points": points_payload(vectors),
        "similarity": matrix_payload(cosine_matrix(vectors)) if len(labels) <= 64 else [],
        "pooling": emb.pooling, "notes": emb.notes,
        # What the page's per-token view draws: the array's shape, its axes named, each point's first values.
        "shape": list(emb.shape), "axes": ["texts", "dimensions"] if emb.sentence else ["batch (texts)", "tokens", "dimensions"],
        "values": matrix_payload(vectors[:64, :VALUES_SHOWN]),
    })


#: The first values of each vector the Embeddings tab draws as a heat map (all of them are in `tokenprism embed --json`).
VALUES_SHOWN = 16


def _points(emb: Any) -> tuple[Any, list[str]]:
    import numpy as np

    if emb.sentence:
        return emb.vectors, list(emb.texts)
    if len(emb.texts) == 1:
        return emb.token_vectors(0), list(emb.tokens[0])
    vectors = np.concatenate([emb.token_vectors(i) for i in range(len(emb.texts))])
    return vectors, [f"{t} ({i + 1})" for i, toks in enumerate(emb.tokens) for t in toks]


@router.post("/similar", response_model=SimilarResponse)
def similar(body: SimilarRequest, request: Request) -> JSON:
    """One word in several sentences: its contextual vectors' cosine similarities (and the static ones)."""
    if missing_lm():
        raise MissingDependency("torch", "lm")
    from ..embeddings import similar as similar_word

    spec = state(request).embedding_spec(body.model)
    sim = similar_word(body.word, body.contexts, model=load_embedding_model_once(spec), layer=body.layer)
    return JSON({**sim.to_dict(), "points": points_payload(sim.vectors)})
