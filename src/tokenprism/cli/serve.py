"""`tokenprism serve`: the local web page and JSON API (FastAPI and uvicorn are imported when it runs)."""

from __future__ import annotations

import click

from ._app import app
from ..errors import MissingDependency, UsageError

__all__ = ["serve", "offline_defaults", "serve_specs"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def offline_defaults() -> list[str]:
    """Tokenizers to offer when none are named: prism-tiny, then those of the book preset whose
    files are already on this machine (Hugging Face cache, tiktoken files) — nothing is downloaded.

    >>> offline_defaults()[0]
    'prism-tiny'
    """
    from ..comparison import PRESETS
    from ..tokenizers.registry import available_offline

    return ["prism-tiny"] + [spec for spec in PRESETS["book"] if available_offline(spec)]


def serve_specs(specs: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The tokenizers to serve for `-t` values, and the preset tokenizers left out with why: a preset
    ("book") adds only the tokenizers that load here (found offline, or downloaded once now), so the
    page never offers one that fails later; a spec named on its own is kept as it is.

    >>> serve_specs(("prism-tiny",))
    (['prism-tiny'], {})
    """
    from ..comparison import PRESETS
    from ..errors import TokenprismError
    from ..tokenizers.registry import available_offline, load_tokenizer

    kept: list[str] = []
    left_out: dict[str, str] = {}
    for spec in specs:
        for one in PRESETS.get(spec, (spec,)):
            if spec in PRESETS and one not in specs and not available_offline(one):
                try:
                    load_tokenizer(one)
                except TokenprismError as exc:
                    left_out[one] = f"could not be loaded when the server started: {exc}"
                    continue
            kept.append(one)
    return list(dict.fromkeys(kept)), left_out


def collect_less_often() -> None:
    """Tune the garbage collector for serving: freeze what start-up made and collect the young
    generation after 10,000 allocations instead of 700.

    A 10 KB tokenize request builds ~15,000 short-lived objects (offset tuples, token columns). With
    Python's default thresholds that sets off dozens of collections per request, some of which walk
    every long-lived object of FastAPI, pydantic and the loaded libraries: measured, 2 of the 6 ms a
    request costs. None of those objects is garbage, so the walks find nothing.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@app.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only unless you say otherwise).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0 = any free port).")
@click.option("-t", "--tokenizer", "specs", multiple=True,
              help="A tokenizer the page may use; repeat it. 'book' adds the book preset's tokenizers that load here (the others are "
                   "named, with why). Default: prism-tiny and the book's tokenizers found offline.")
@click.option("-m", "--model", "models", multiple=True, help="A causal LM for Generate/Infill; repeat it. Default: prism-tiny.")
@click.option("-e", "--embedding-model", "embedding_models", multiple=True, help="A model for Embeddings. Default: all-MiniLM-L6-v2.")
@click.option("--allow-local-paths", is_flag=True, help="Let a request name a local tokenizer/model path (off: only the ones named here).")
@click.option("--max-new-tokens-cap", default=256, show_default=True, type=click.IntRange(1), help="Most tokens one generation may ask for.")
@click.option("--generation-timeout", "generation_timeout", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds after which a generation is stopped.")
@click.option("--concurrency-limit", default=64, show_default=True, type=click.IntRange(1), help="Requests at once before answering 429.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, help="Another host name the page may be opened at (besides localhost).")
@click.option("--header-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a new connection has to send a whole request header (then a JSON 408 and closed).")
@click.option("--body-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a request's body has to arrive after its header (then a JSON 408 and closed).")
@click.option("--keep-alive", default=20.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds an idle connection is kept after a response (the next header must be whole by then).")
def serve(host: str, port: int, specs: tuple[str, ...], models: tuple[str, ...], embedding_models: tuple[str, ...],
          allow_local_paths: bool, max_new_tokens_cap: int, generation_timeout: float, concurrency_limit: int,
          allowed_hosts: tuple[str, ...], header_timeout: float, body_timeout: float, keep_alive: float) -> None:
    """Serve the page and its JSON API on your machine (default http://127.0.0.1:8000).

    \b
    Example:
      tokenprism serve -t gpt2 -t cl100k_base -m prism-tiny
    """
    try:
        import uvicorn

        from ..web import create_app
    except ImportError as exc:
        raise MissingDependency(exc.name or "fastapi", "web") from None
    tokenizers, left_out = serve_specs(specs) if specs else (offline_defaults(), {})
    if not tokenizers:
        raise UsageError("none of the tokenizers named with -t can be loaded here: " + "; ".join(f"{k}: {v}" for k, v in left_out.items())[:400])
    for spec, why in left_out.items():
        click.echo(f"tokenprism: left out {spec}: {why}", err=True)
    extra_hosts = list(allowed_hosts) + ([host] if host not in LOOPBACK and host not in ("0.0.0.0", "::") else [])
    application = create_app(
        tokenizers=list(dict.fromkeys(tokenizers)), models=list(models) or ["prism-tiny"],
        embedding_models=list(embedding_models) or None, allow_local_paths=allow_local_paths,
        max_new_tokens_cap=max_new_tokens_cap, generation_timeout_s=generation_timeout,
        concurrency_limit=concurrency_limit, allowed_hosts=extra_hosts, left_out=left_out, body_timeout_s=body_timeout,
    )
    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}: other machines on the network can reach this page", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"tokenprism: http://{shown}:{port}/  ({len(tokenizers)} tokenizer(s); Ctrl-C stops)", err=True)
    collect_less_often()
    from ..web.server import uvicorn_config

    try:
        # slow clients get deadlines (web/server.py); keep-alive above uvicorn's 5 s, so that a page left
        # open reuses its connection instead of racing the server closing it
        uvicorn.Server(uvicorn_config(application, host=host, port=port, header_timeout_s=header_timeout,
                                      keep_alive_s=keep_alive)).run()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None
