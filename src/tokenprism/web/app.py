"""`create_app`: the FastAPI application behind `tokenprism serve` — the JSON API, the page, and the
one place where errors become JSON.

Every error answer is ``{"error": "one line"}`` with a 4xx status (5xx only for a bug), and no error
body names an absolute path on the server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TokenprismError
from .config import DEFAULT_EMBEDDING_MODEL, Settings, scrub_paths

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app", "STATIC"]

STATIC = Path(__file__).resolve().parent / "static"
_log = logging.getLogger("tokenprism.web")


def create_app(
    *,
    tokenizers: list[str],
    models: list[str] | None = None,
    embedding_models: list[str] | None = None,
    allow_local_paths: bool = False,
    max_new_tokens_cap: int = 256,
    generation_timeout_s: float = 60.0,
    max_body_bytes: int = 1_000_000,
    concurrency_limit: int = 64,
    generation_limit: int = 2,
    allowed_hosts: list[str] | None = None,
    left_out: dict[str, str] | None = None,
    body_timeout_s: float = 10.0,
) -> FastAPI:
    """The web app for these tokenizers and models; only they (and the bundled ones) can be loaded
    from a request, unless `allow_local_paths` lets a request name a local file or folder. `left_out`:
    tokenizers of a preset that could not be loaded at start-up, and why (the Book preset names them).

    >>> app = create_app(tokenizers=["prism-tiny", "gpt2"], models=["prism-tiny"])     # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)                  # doctest: +SKIP
    """
    from fastapi import FastAPI

    from . import api_inside  # noqa: F401 - adds /api/lens, /api/attention and /api/attribute
    from . import api_models  # noqa: F401 - adds /api/generate and /api/infill to the router
    from .api import ServerState, router
    from .guard import Guard
    from .stream import GenerationSlots

    settings = Settings(
        tokenizers=tuple(tokenizers), models=tuple(models or ()),
        embedding_models=tuple(embedding_models or (DEFAULT_EMBEDDING_MODEL,)), allow_local_paths=allow_local_paths,
        max_new_tokens_cap=max_new_tokens_cap, generation_timeout_s=generation_timeout_s, max_body_bytes=max_body_bytes,
        concurrency_limit=concurrency_limit, generation_limit=generation_limit, allowed_hosts=tuple(allowed_hosts or ()),
        left_out=tuple((left_out or {}).items()), body_timeout_s=body_timeout_s,
    )
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN. /openapi.json describes the API.
    app = FastAPI(title="tokenprism", summary="See how a language model sees text.", docs_url=None, redoc_url=None)
    app.state.tokenprism = ServerState(settings=settings, slots=GenerationSlots(generation_limit))
    app.include_router(router)
    _add_error_handlers(app)
    _add_page(app)
    app.add_middleware(Guard, max_body_bytes=max_body_bytes, concurrency_limit=concurrency_limit,
                       allowed_hosts=settings.allowed_hosts, body_timeout_s=body_timeout_s)
    return app


def _error(status: int, message: str) -> Any:
    from .api import JSON

    return JSON({"error": scrub_paths(message)}, status_code=status)


def _add_error_handlers(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(TokenprismError)
    async def library_error(request: Any, exc: TokenprismError) -> Any:
        return _error(exc.status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Any, exc: RequestValidationError) -> Any:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, f"the body is not valid JSON ({_first_message(errors)}); send a JSON object")
        return _error(422, "; ".join(_describe(e) for e in errors[:3]))

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> Any:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def bug(request: Any, exc: Exception) -> Any:
        _log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")


def _first_message(errors: list[dict[str, Any]]) -> str:
    ctx = errors[0].get("ctx") or {}
    return str(ctx.get("error") or errors[0].get("msg", "malformed"))


def _describe(error: dict[str, Any]) -> str:
    """'body.texts.0: Input should be a valid string' — where, then what; never the value itself
    (it can be large, and it is the caller's own)."""
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
    message = error.get("msg", "invalid")
    if error.get("type") == "extra_forbidden":
        message = "unknown field (see /openapi.json for the fields)"
    return f"{where}: {message}"


def _add_page(app: Any) -> None:
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> Any:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"cache-control": "no-cache"})
