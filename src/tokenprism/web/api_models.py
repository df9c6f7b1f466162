"""The model endpoints: /api/generate and /api/infill, each a stream of server-sent events over the
library's one generation run (`run.Run`).

Everything that can fail on the request (unknown model, bad settings, an empty prompt, a model
without FIM sentinels) fails before the stream starts, as a 4xx JSON error; after that, failures
arrive as an ``error`` event. The model is loaded and the prompt made in the threadpool.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from .api import Busy, Unavailable, features, load_model_once, router, state
from .payload import token_columns
from .schemas import GenerateRequest, InfillRequest
from .stream import StepRun, stream_steps

__all__ = ["generate", "infill", "EventStream"]

_SSE = {200: {"content": {"text/event-stream": {}}, "description": "events: prompt, step…, done (or error)"}}


class EventStream(StreamingResponse):
    """The SSE response of one generation; gives its slot back if the stream never started."""

    def __init__(self, content: Any = (), run: Optional[StepRun] = None) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
        self.run = run

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.run is not None:
                self.run.stop.set()
                if not self.run.started:
                    self.run.slots.give_back()


async def _open(request: Request, body: Any, prepare: Callable[..., Any]) -> tuple[Any, Any, int]:
    """Check the request, take a generation slot, and run `prepare(spec, body, max_new)` in the
    threadpool; the slot is given back if anything fails before the stream starts."""
    st = state(request)
    spec = st.model_spec(body.model)
    max_new = min(body.max_new_tokens, st.settings.max_new_tokens_cap)
    if not st.slots.try_take():
        raise Busy(f"{st.slots.limit} generation(s) already running; try again when one finishes")
    try:
        *prepared, max_new = await run_in_threadpool(prepare, spec, body, max_new)
        return st, tuple(prepared), max_new
    except BaseException:
        st.slots.give_back()
        raise


def _seed(body: Any, max_new: int) -> Optional[int]:
    """The seed a sampled run will use (so the page can show it and it can be replayed); None when greedy."""
    from ..models.sampling import random_seed
    from ..run import check_sampling

    sampling = check_sampling(body.temperature, getattr(body, "top_k", None), getattr(body, "top_p", None),
                              max_new_tokens=max_new, show_top=body.show_top)
    if sampling.greedy:
        return None
    return random_seed() if body.seed is None else body.seed


def _done(run: Any, started: float, **fields: Any) -> dict[str, Any]:
    """The ``done`` event's data: why the run stopped, its text (or middle), and what it cost."""
    return {"stop_reason": run.stop_reason, **fields, "steps": len(run.steps), "seed": run.seed,
            "elapsed_s": round(time.monotonic() - started, 3)}


def _capped(asked: int, max_new: int) -> list[str]:
    return [f"max_new_tokens capped at {max_new} by this server (to fit its cap and the model's context window)"] \
        if asked > max_new else []


def _fitted(model: Any, asked: int, max_new: int, prompt_tokens: Callable[[], int]) -> int:
    """A count the server capped also fits the model's context window beside the prompt (a cap of 256
    on a 256-token model would leave no room for the prompt); a count asked for as it is stays as asked."""
    if asked <= max_new or not model.context_length:
        return max_new
    return max(1, min(max_new, model.context_length - prompt_tokens()))


# --- generate ------------------------------------------------------------------------------------
def _prepare_generation(spec: str, body: GenerateRequest, max_new: int) -> tuple[Any, Any, Optional[int]]:
    from ..generation import prepare_prompt

    model = load_model_once(spec)
    max_new = _fitted(model, body.max_new_tokens, max_new, lambda: len(
        prepare_prompt(model, body.prompt, chat=body.chat, system=body.system, max_new_tokens=1).ids))
    seed = _seed(body, max_new)
    return model, prepare_prompt(model, body.prompt, chat=body.chat, system=body.system, max_new_tokens=max_new), seed, max_new


@router.post("/generate", response_class=EventStream, status_code=200, responses=_SSE)
async def generate(body: GenerateRequest, request: Request) -> EventStream:
    """Generate step by step, as server-sent events: `prompt`, one `step` per token (with its
    probability and top alternatives), then `done` (stop_reason: eos, stop, length, time) or `error`.
    Closing the connection stops the generation."""
    from ..run import Run, decode_new

    st, (model, prompt, seed), max_new = await _open(request, body, _prepare_generation)
    tok = model.tokenizer
    first = {"model": model.name, "prompt": prompt.text, "ids": list(prompt.ids),
             "labels": [tok.label(i) for i in prompt.ids], "special": [i for i, t in enumerate(prompt.ids) if tok.is_special(t)],
             "max_new_tokens": max_new, "seed": seed, "notes": list(prompt.notes) + _capped(body.max_new_tokens, max_new)}
    started = time.monotonic()

    def finish(run: Run) -> dict[str, Any]:
        return _done(run, started, text=decode_new(tok, run.ids, skip_special_tokens=True))

    run = StepRun(
        make=lambda: Run(model, prompt.ids, max_new_tokens=max_new, temperature=body.temperature, top_k=body.top_k,
                         top_p=body.top_p, seed=seed, stop=body.stop, show_top=body.show_top),
        deadline_s=st.settings.generation_timeout_s, slots=st.slots,
    )
    return EventStream(stream_steps(run, first, finish), run)


# --- infill --------------------------------------------------------------------------------------
def _prepare_infill(spec: str, body: InfillRequest, max_new: int) -> tuple[Any, Any, Optional[int]]:
    from ..infilling import fim_prompt_for

    model = load_model_once(spec)
    max_new = _fitted(model, body.max_new_tokens, max_new, lambda: len(fim_prompt_for(
        model, prefix=body.prefix, suffix=body.suffix, mode=body.mode, max_new_tokens=1, heal=body.heal).ids))
    seed = _seed(body, max_new)
    return model, fim_prompt_for(model, prefix=body.prefix, suffix=body.suffix, mode=body.mode, max_new_tokens=max_new,
                                 heal=body.heal), seed, max_new


@router.post("/infill", response_class=EventStream, status_code=200, responses=_SSE)
async def infill(body: InfillRequest, request: Request) -> EventStream:
    """Fill in the middle between a prefix and a suffix with a FIM-capable model, as server-sent events:
    `prompt` (the FIM prompt's tokens, sentinels marked), one `step` per token, then `done` with the
    middle and the whole text (stop_reason: eos, length, time) or `error`."""
    from ..infilling import middle_run
    from ..run import Run

    reason = features(state(request).settings)["infill"]
    if reason is not None:
        raise Unavailable(reason)
    st, (model, prompt, seed), max_new = await _open(request, body, _prepare_infill)
    columns = token_columns(prompt.encoding, model.tokenizer)
    first = {"model": model.name, "format": prompt.format.name, "mode": prompt.mode, "prompt": prompt.text,
             "ids": columns["ids"], "labels": columns["labels"], "special": columns["special"], "roles": prompt.roles,
             "max_new_tokens": max_new, "seed": seed, "notes": list(prompt.notes) + _capped(body.max_new_tokens, max_new)}
    started = time.monotonic()

    def finish(run: Run) -> dict[str, Any]:
        return _done(run, started, middle=run.text, text=prompt.prefix + run.text + prompt.suffix)

    run = StepRun(
        make=lambda: middle_run(model, prompt, max_new_tokens=max_new, temperature=body.temperature, seed=seed,
                                show_top=body.show_top),
        deadline_s=st.settings.generation_timeout_s, slots=st.slots,
    )
    return EventStream(stream_steps(run, first, finish), run)
