"""`generate`: continue a prompt with a model, one visible step at a time, and keep every step.

    prompt text → (chat template) → ids → Run (run.py: the one loop) → Generation

The loop itself lives in run.py, shared with infill, explain and the web page; this module prepares
the prompt (chat template, context window) and gathers a run into a `Generation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .errors import InputError, UsageError
from .run import DEFAULT_MAX_NEW_TOKENS, Run, Step, StopReason, decode_new

if TYPE_CHECKING:
    from .models import Model

__all__ = ["Generation", "Prompt", "generate", "prepare_prompt", "check_prompt", "fit_context", "prompt_room"]


@dataclass(frozen=True)
class Prompt:
    """The ids the model reads first: the text as given (or rendered by the chat template), encoded,
    and left-truncated to fit the context window (`notes` says so when it happens)."""

    text: str
    ids: list[int]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Generation:
    """The result of `generate`: the prompt, every step, and the generated text.

    `stop_reason` is "eos" (the model ended the text), "stop" (a stop string appeared), "length"
    (max_new_tokens reached) or "interrupted" (Ctrl-C; the steps so far are kept). `seed` is the seed
    that was used when sampling, so any sample can be replayed.
    """

    model: str
    prompt: str
    prompt_ids: list[int]
    steps: list[Step]
    text: str
    stop_reason: StopReason = "length"
    seed: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        """The new ids, in order."""
        return [s.id for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "prompt_ids": list(self.prompt_ids),
            "steps": [s.to_dict() for s in self.steps],
            "text": self.text,
            "stop_reason": self.stop_reason,
            "seed": self.seed,
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)


# --- preparing the prompt ----------------------------------------------------------------------
def prepare_prompt(
    model: Model,
    prompt: str,
    *,
    chat: bool = False,
    system: str | None = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
) -> Prompt:
    """Prompt text → the ids the model reads first.

    With `chat`, the text becomes one user message (after an optional `system` message) rendered
    by the model's chat template, whose special tokens are parsed as special tokens. An empty prompt
    is refused, even where the model has a BOS token to start from: a lesson needs text to continue.

    >>> prepare_prompt(load_model("prism-tiny"), "def add(a, b):").ids      # doctest: +SKIP
    """
    check_prompt(prompt, chat=chat, system=system)
    tok = model.tokenizer
    if chat:
        from .tokenizers.chat import chat_messages

        text = tok.apply_chat_template(chat_messages(prompt, system=system), add_generation_prompt=True)
        ids = tok.encode(text, add_special_tokens=False).ids  # the template already holds BOS etc.
    else:
        text, ids = prompt, tok.encode(prompt).ids
    if not ids:
        raise InputError("the prompt encodes to no tokens; give the model some text to continue")
    ids, notes = fit_context(ids, model.context_length, max_new_tokens)
    return Prompt(text=text, ids=ids, notes=notes)


def check_prompt(prompt: str, *, chat: bool = False, system: str | None = None) -> None:
    """The checks on a prompt that need no model (the CLI makes them before loading one)."""
    if not prompt:
        raise InputError("empty prompt: give the model some text to continue, e.g. 'def '")
    if system is not None and not chat:
        raise UsageError("--system adds a system message to a chat: use it with --chat")


def fit_context(ids: list[int], context: int | None, max_new_tokens: int) -> tuple[list[int], list[str]]:
    """Left-truncate `ids` so that they and `max_new_tokens` new ones fit the context window.

    >>> fit_context([1, 2, 3, 4], 5, 2)
    ([3, 4], ['the prompt has 4 tokens; kept the last 2 so that they and 2 new tokens fit the context window of 5'])
    """
    keep = prompt_room(context, max_new_tokens)
    if keep is None or len(ids) <= keep:
        return ids, []
    note = (
        f"the prompt has {len(ids)} tokens; kept the last {keep} so that they and {max_new_tokens} "
        f"new tokens fit the context window of {context}"
    )
    return ids[-keep:], [note]


def prompt_room(context: int | None, max_new_tokens: int) -> int | None:
    """How many prompt tokens fit beside `max_new_tokens` new ones in a context window (None: no limit).

    >>> prompt_room(2048, 48)
    2000
    """
    if context is None:
        return None
    if max_new_tokens >= context:
        raise UsageError(
            f"--max-new-tokens {max_new_tokens} leaves no room for the prompt in the context window of "
            f"{context} tokens; ask for fewer new tokens"
        )
    return context - max_new_tokens




def generate(
    prompt: str,
    *,
    model: Model | str = "prism-tiny",
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop: Sequence[str] = (),
    chat: bool = False,
    system: str | None = None,
    show_top: int = 5,
    use_cache: bool = True,
    on_step: Callable[[Step], None] | None = None,
) -> Generation:
    """Continue `prompt` with `model`, one token at a time, and return every step.

    Ctrl-C stops cleanly: the steps made so far are kept (stop_reason "interrupted").

    >>> g = generate("if __name__ == ", model="prism-tiny", max_new_tokens=8)     # doctest: +SKIP
    >>> g.text, [(s.token, round(s.prob, 2)) for s in g.steps]                    # doctest: +SKIP
    """
    from .models import as_model
    from .run import check_sampling

    check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)  # before loading
    check_prompt(prompt, chat=chat, system=system)
    model = as_model(model)
    ready = prepare_prompt(model, prompt, chat=chat, system=system, max_new_tokens=max_new_tokens)
    run = Run(model, ready.ids, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
              seed=seed, stop=stop, show_top=show_top, use_cache=use_cache).complete(on_step)
    return Generation(
        model=model.name, prompt=ready.text, prompt_ids=list(ready.ids), steps=run.steps,
        text=decode_new(model.tokenizer, run.ids, skip_special_tokens=True), stop_reason=run.stop_reason or "length",
        seed=run.seed, notes=list(ready.notes),
    )
