"""Inside the model: /api/lens, /api/attention and /api/attribute, one library verb each.

Each is a whole forward pass (attribution: dozens, with gradients), so each takes one of the
server's generation slots (429 when all are busy) and runs in the threadpool. Prompts are capped at
`MAX_TOKENS` tokens: the lens sends layers × positions × top tokens back, and attention n² numbers.
"""

from __future__ import annotations

from typing import Any, Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ..errors import UsageError
from .api import JSON, Busy, ServerState, load_model_once, router, state
from .schemas import AttentionRequest, AttentionResponse, AttributeRequest, AttributeResponse, LensRequest, LensResponse

__all__ = ["lens", "attention", "attribute", "MAX_TOKENS"]

MAX_TOKENS = 256


async def _in_slot(request: Request, work: Callable[[ServerState, Any], dict[str, Any]], body: Any) -> JSON:
    st = state(request)
    if not st.slots.try_take():
        raise Busy(f"{st.slots.limit} model run(s) already going; try again when one finishes")
    try:
        return JSON(await run_in_threadpool(work, st, body))
    finally:
        st.slots.give_back()


def _model(st: ServerState, spec: Any, prompt: str) -> Any:
    model = load_model_once(st.model_spec(spec))
    count = len(model.tokenizer.encode(prompt).ids)
    if count > MAX_TOKENS:
        raise UsageError(f"the prompt has {count} tokens; the Inside views read at most {MAX_TOKENS}: shorten it")
    return model


@router.post("/lens", response_model=LensResponse)
async def lens(body: LensRequest, request: Request) -> JSON:
    """Logit lens: for every layer (0 = the embeddings, the last = the output) and position, the top
    tokens that layer would predict next, its entropy, its KL divergence to the final layer, and the
    rank of the model's final prediction."""
    return await _in_slot(request, _lens, body)


def _lens(st: ServerState, body: LensRequest) -> dict[str, Any]:
    from .. import inside
    from ..inside.logit_lens import check_lens_options

    check_lens_options(top=body.top, positions=body.positions)
    result = inside.lens(body.prompt, model=_model(st, body.model, body.prompt), top=body.top, positions=body.positions)
    return {**result.to_dict(), "ids": result.ids, "notes": list(result.notes)}


@router.post("/attention", response_model=AttentionResponse)
async def attention(body: AttentionRequest, request: Request) -> JSON:
    """Where one token looked: its row of attention weights in every layer and head."""
    return await _in_slot(request, _attention, body)


def _attention(st: ServerState, body: AttentionRequest) -> dict[str, Any]:
    from .. import inside

    result = inside.attention(body.prompt, model=_model(st, body.model, body.prompt))
    n = len(result.ids)
    if not -n <= body.position < n:
        raise UsageError(f"position {body.position} is out of range: the prompt has {n} tokens (0 to {n - 1})")
    row = result.row(body.position)
    layers = [{"layer": lay.layer, "heads": [{"head": h, "weights": w[row].tolist()} for h, w in zip(lay.heads, lay.weights)]}
              for lay in result.layers]
    return {"model": result.model, "tokens": result.tokens, "ids": result.ids, "position": body.position % n,
            "num_layers": result.num_layers, "num_heads": result.num_heads, "layers": layers, "notes": list(result.notes)}


@router.post("/attribute", response_model=AttributeResponse)
async def attribute(body: AttributeRequest, request: Request) -> JSON:
    """Each prompt token's contribution to log p(target | prompt), by integrated gradients (baseline:
    the pad token's embedding) or grad × input, with the completeness check. Needs torch."""
    return await _in_slot(request, _attribute, body)


def _attribute(st: ServerState, body: AttributeRequest) -> dict[str, Any]:
    from .. import inside

    result = inside.attribute(body.prompt, body.target, model=_model(st, body.model, body.prompt), method=body.method,
                           steps=body.steps)
    return {**result.to_dict(), "ids": result.ids, "target_tokens": result.target_tokens, "logprob": result.logprob,
            "notes": list(result.notes)}
