"""Attribution: which prompt tokens drove the model towards a given continuation.

The continuation (`target`) is forced, not sampled: its tokens are appended to the prompt and the
score is f = log p(target | prompt), the sum of the log-probabilities of its tokens. Each prompt
token's contribution to f is read off the gradient of f with respect to the token's embedding:

    grad-x-input           e_i · ∂f/∂e_i  at the input (one backward pass; a local, linear picture, whose
                           own reference is zero embeddings: its completeness is reported against them)
    integrated-gradients   (e_i − b_i) · ∫₀¹ ∂f/∂e_i (b + α (e − b)) dα   (Sundararajan et al., 2017)

The baseline b is the PAD TOKEN'S EMBEDDING at every prompt position (the tokenizer's pad token, else
config.json's pad_token_id, else the EOS): a real input that says nothing. A BOS that the tokenizer
put first is kept as it is (you did not type it; its attribution is 0), and so are the target's own
tokens. Zero embeddings would be no baseline for most models: a pre-norm transformer without biases
maps an all-zero prompt to all-zero states, so its output jumps from uniform to real within a hair
of α = 0, which no quadrature follows.
The integral is taken with Gauss–Legendre quadrature over `steps` points (Captum's default rule).
Integrated gradients is "complete": the attributions add up to f(input) − f(baseline). That check is
reported (`completeness`); with enough steps the relative error is well under 1%.

Gradients need autograd: the model runs on the torch engine (a numpy-engine model is loaded again
there), so this needs torch.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InputError, MissingDependency, UsageError
from ..run import token_label
from .prompt import prompt_ids

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["attribute", "Attribution", "Completeness", "Method", "METHODS", "check_attribute_options", "baseline_id"]

Method = Literal["integrated-gradients", "grad-x-input"]
METHODS = ("integrated-gradients", "grad-x-input")
#: Interpolation points run through the model together (each a whole sequence, forward and backward):
#: at most 32, and at most ~512 positions in all, so that a long prompt's backward pass stays small.
_BATCH, _BATCH_POSITIONS = 32, 512


@dataclass(frozen=True, slots=True)
class Completeness:
    """Do the attributions add up? `sum` of them against `expected` = f(input) − f(baseline)."""

    sum: float
    expected: float

    @property
    def relative_error(self) -> float:
        return abs(self.sum - self.expected) / max(abs(self.expected), 1e-12)  # finite: JSON has no infinity

    def to_dict(self) -> dict[str, Any]:
        return {"sum": self.sum, "expected": self.expected, "relative_error": self.relative_error}


@dataclass(frozen=True)
class Attribution:
    """The result of `attribute`: one number per prompt token, its share of log p(target | prompt).

    >>> a = attribute("The capital of France is", " Paris", model="gpt2")     # doctest: +SKIP
    >>> sorted(zip(a.attributions, a.tokens))[-3:]                            # doctest: +SKIP
    """

    model: str
    prompt: str
    target: str
    ids: list[int]
    tokens: list[str]
    target_ids: list[int]
    target_tokens: list[str]
    attributions: list[float]
    method: Method
    steps: int
    logprob: float  # log p(target | prompt), natural log
    completeness: Completeness
    baseline: str  # in words: which token's embedding replaced the prompt's
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "prompt": self.prompt, "target": self.target, "tokens": list(self.tokens),
                "attributions": list(self.attributions), "method": self.method, "baseline": self.baseline,
                "steps": self.steps, "completeness": self.completeness.to_dict()}

    def _repr_html_(self) -> str:
        from .._display import html

        return html(self)


def attribute(
    prompt: str, target: str, *, model: Model | str = "prism-tiny", method: Method = "integrated-gradients", steps: int = 32
) -> Attribution:
    """Each prompt token's contribution to log p(target | prompt), the target forced after the prompt.

    >>> a = attribute("def add(a, b):", "\\n    return", model="prism-tiny")      # doctest: +SKIP
    >>> a.completeness.relative_error < 0.01                                    # doctest: +SKIP
    True
    """
    from ..models import as_model

    check_attribute_options(target=target, method=method, steps=steps)
    model = _torch_twin(as_model(model))
    ids, notes = prompt_ids(model, prompt)
    target_ids = list(model.tokenizer.encode(target, add_special_tokens=False).ids)
    if not target_ids:
        raise InputError("the target encodes to no tokens; give the text the model should continue with")
    points = 1 if method == "grad-x-input" else steps
    tok, pad = model.tokenizer, baseline_id(model)
    # what the baseline holds at each prompt position: the pad token, except a BOS put first by the tokenizer
    reference = [i if k == 0 and i == model.bos_id and len(ids) > 1 else pad for k, i in enumerate(ids)]
    scores, values = _gradients(model, ids, None if method == "grad-x-input" else reference, target_ids, steps=points)
    baseline = ("zero embeddings (grad × input's own reference)" if method == "grad-x-input"
                else f"pad token {token_label(tok, pad)} (id {pad}) at every prompt position")
    return Attribution(
        model=model.name, prompt=prompt, target=target, ids=ids, tokens=[token_label(tok, i) for i in ids],
        target_ids=target_ids, target_tokens=[token_label(tok, i) for i in target_ids], attributions=values.tolist(),
        method=method, steps=points, logprob=scores[0], completeness=Completeness(sum=float(values.sum()), expected=scores[0] - scores[1]),
        baseline=baseline, notes=tuple(notes),
    )


def check_attribute_options(*, target: str, method: str, steps: int) -> None:
    """The checks that need no model (made before one loads)."""
    if not target:
        raise InputError("empty target: give the continuation to explain, e.g. --target ' Paris'")
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1024:
        raise UsageError(f"--steps must be a whole number from 1 to 1024, not {steps!r}")


def _torch_twin(model: Model) -> Model:
    """The same model on the torch engine (the numpy engine has no autograd)."""
    if model.engine == "torch":
        return model
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise MissingDependency("torch", "lm")
    from ..models import load_model

    return load_model(model.name, engine="torch", device="cpu", dtype="float32")


def baseline_id(model: Model) -> int:
    """The token whose embedding is the baseline: the tokenizer's pad, config's pad_token_id, the EOS, or 0."""
    tok = model.tokenizer
    pad = tok.roles.get("pad")
    for candidate in (tok.special_tokens.get(pad) if pad else None, model.config.get("pad_token_id"),  # type: ignore[attr-defined]
                      min(model.eos_ids, default=None)):
        if isinstance(candidate, int) and not isinstance(candidate, bool) and 0 <= candidate < tok.vocab_size:
            return candidate
    return 0


def _gradients(model: Model, ids: list[int], reference: list[int] | None, target_ids: list[int], *,
               steps: int) -> tuple[tuple[float, float], np.ndarray]:
    """(f(input), f(baseline)) and the attribution of every prompt token; `reference` holds the baseline's
    ids (None: zero embeddings, the reference of grad × input, which is one step at α = 1)."""
    import torch

    module = model.module  # type: ignore[attr-defined]
    n = len(ids)
    every = torch.tensor([ids + target_ids, (reference or ids) + target_ids], dtype=torch.long, device=module.device)
    with torch.no_grad():
        # [1, positions, hidden] each, the family's own scaling included (Gemma's lives in its embedding module)
        inputs, baseline = module.get_input_embeddings()(every).split(1)
        if reference is None:
            baseline[:, :n] = 0
    score = _scorer(module, every[0, n:], n)
    with torch.no_grad():
        f_input, f_base = score(torch.cat([inputs, baseline])).tolist()
    if reference is None:
        alphas, weights = np.ones(1), np.ones(1)
    else:  # Gauss–Legendre on [0, 1]: exact for polynomials of degree < 2·steps
        nodes, w = np.polynomial.legendre.leggauss(steps)
        alphas, weights = (nodes + 1) / 2, w / 2
    total = torch.zeros_like(inputs[0, :n], dtype=torch.float32)
    batch = max(1, min(_BATCH, _BATCH_POSITIONS // every.shape[1]))
    for start in range(0, len(alphas), batch):
        a = torch.tensor(alphas[start : start + batch], dtype=inputs.dtype, device=inputs.device)[:, None, None]
        path = (baseline + a * (inputs - baseline)).detach().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(score(path).sum(), path)
        share = torch.tensor(weights[start : start + batch], dtype=torch.float32, device=inputs.device)[:, None, None]
        total += (share * grad[:, :n].float()).sum(0)
    values = ((inputs - baseline)[0, :n].float() * total).sum(-1)
    return (f_input, f_base), values.cpu().numpy().astype(np.float64)


def _scorer(module: Any, target: Any, n: int) -> Any:
    """embeddings [batch, positions, hidden] → log p(target | prompt) per row. Only the positions that
    predict the target are turned into logits (a 128k vocabulary × every position would not fit)."""
    import torch

    keep = len(target) + 1
    extra = {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(module.forward).parameters else {}

    def score(embeds: Any) -> Any:
        out = module(inputs_embeds=embeds, use_cache=False, **extra)
        logits = out.logits[:, -keep:-1].float()
        picked = torch.log_softmax(logits, dim=-1).gather(-1, target.expand(len(embeds), -1)[..., None])
        return picked[..., 0].sum(-1)

    return score
