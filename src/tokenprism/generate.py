"""Generation, one visible step at a time: the model guesses the next token, we show the guess, feed it
back in, and guess again.

    prompt → ids → [model → probabilities → pick one id → append] × N → ids → text

`generate_steps` is that loop (the CLI, the web page, the notebook display and infill all consume
it); `generate` runs it to the end and returns a `Generation`. The probabilities reported are the
model's own (the softmax of its logits); temperature, top-k and top-p only change how the next token
is *picked*, so a sampled token can be one the model found unlikely, and the display shows that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .errors import InputError, UsageError

if TYPE_CHECKING:
    from .models import Model
    from .tokenizers.base import Tokenizer

__all__ = [
    "Candidate",
    "Step",
    "Generation",
    "Prompt",
    "generate",
    "generate_steps",
    "prepare_prompt",
    "TextStream",
    "token_label",
]

DEFAULT_MAX_NEW_TOKENS = 40


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of the tokens the model considered at a step, with its probability."""

    id: int
    token: str
    prob: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "token": self.token, "prob": self.prob}


@dataclass(frozen=True, slots=True)
class Step:
    """One next-token prediction: the token chosen, how sure the model was, what else it considered.

    `token` is how the token is shown (its text; special tokens by name; byte fragments as
    ``<0xE2 0x80>``), `piece` its raw vocabulary entry (``Ġworld``). `prob` and `logprob` (natural log)
    are the chosen token's under the model; `entropy` (bits) measures how spread out the guess was;
    `top` lists the most likely tokens, most likely first.
    """

    index: int
    id: int
    piece: str
    token: str
    prob: float
    logprob: float
    entropy: float
    top: tuple[Candidate, ...]
    special: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "prob": self.prob,
            "logprob": self.logprob,
            "entropy": self.entropy,
            "top": [c.to_dict() for c in self.top],
        }


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
    stop_reason: str = "length"
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
    if not prompt:
        raise InputError("empty prompt: give the model some text to continue, e.g. 'def '")
    tok = model.tokenizer
    if chat:
        from .tokenizers.chat import chat_messages

        text = tok.apply_chat_template(chat_messages(prompt, system=system), add_generation_prompt=True)
        ids = tok.encode(text, add_special_tokens=False).ids  # the template already holds BOS etc.
    elif system is not None:
        raise UsageError("--system adds a system message to a chat: use it with --chat")
    else:
        text, ids = prompt, tok.encode(prompt).ids
    if not ids:
        raise InputError("the prompt encodes to no tokens; give the model some text to continue")
    ids, notes = fit_context(ids, model.context_length, max_new_tokens)
    return Prompt(text=text, ids=ids, notes=notes)


def fit_context(ids: list[int], context: int | None, max_new_tokens: int) -> tuple[list[int], list[str]]:
    """Left-truncate `ids` so that they and `max_new_tokens` new ones fit the context window.

    >>> fit_context([1, 2, 3, 4], 5, 2)
    ([3, 4], ['the prompt has 4 tokens; kept the last 2 so that they and 2 new tokens fit the context window of 5'])
    """
    if context is None or len(ids) + max_new_tokens <= context:
        return ids, []
    if max_new_tokens >= context:
        raise UsageError(
            f"--max-new-tokens {max_new_tokens} leaves no room for the prompt in the context window of "
            f"{context} tokens; ask for fewer new tokens"
        )
    keep = context - max_new_tokens
    note = (
        f"the prompt has {len(ids)} tokens; kept the last {keep} so that they and {max_new_tokens} "
        f"new tokens fit the context window of {context}"
    )
    return ids[-keep:], [note]


# --- the loop ----------------------------------------------------------------------------------
def generate_steps(
    model: Model,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop_ids: Iterable[int] | None = None,
    stop_strings: Sequence[str] = (),
    show_top: int = 5,
    use_cache: bool = True,
    start_with: bytes = b"",
) -> Iterator[Step]:
    """Yield one `Step` per new token, until an end-of-text id (`stop_ids`, default the model's EOS),
    a stop string in the new text, or `max_new_tokens`.

    `start_with` is text taken back from the end of the prompt (token healing, see healing.py): the
    first tokens must write it again, and their probabilities are the model's among those that can.

    Greedy unless `temperature` > 0 (or top_k / top_p, which sample at temperature 1). The same `seed`
    gives the same samples. `use_cache=False` re-reads the whole text at every step: the slow path,
    kept to show (and test) that the cache changes nothing but speed.

    >>> for step in generate_steps(model, model.tokenizer.encode("x = ").ids):   # doctest: +SKIP
    ...     print(step.token, f"{step.prob:.0%}")
    """
    from .healing import agreeing_ids, still_to_write
    from .models.sampling import Distribution, new_generator, one_thread, only, pick, random_seed

    sampling = check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)
    generator = None if sampling.greedy else new_generator(model.device, random_seed() if seed is None else seed)
    stops = model.eos_ids if stop_ids is None else frozenset(stop_ids)
    stop_strings = (stop_strings,) if isinstance(stop_strings, str) else tuple(stop_strings)
    tok = model.tokenizer
    ids = list(prompt_ids)
    new: list[int] = []
    pending = start_with
    # 1. Read the whole prompt once. The cache keeps every layer's keys and values, so each later
    #    step feeds in just the one new token and costs the same as the step before.
    logits, cache = model.forward(ids, use_cache=use_cache)
    for index in range(max_new_tokens):
        with one_thread():  # vector maths over the vocabulary: faster on one thread (see one_thread)
            if pending:
                # (Token healing: until the text taken back from the prompt is written again, only
                # tokens that agree with it may come.)
                allowed = agreeing_ids(tok, pending)
                logits = only(logits, allowed) if allowed else logits
            # 2. The model's guess: a probability for every token in the vocabulary (softmax of logits).
            guess = Distribution(logits, keep=show_top)
            # 3. Pick the next token: the most likely one (greedy) or a sample shaped by the settings.
            token_id = pick(guess, sampling, generator)
            # 4. Note the choice, how sure the model was, and what else it considered.
            step = make_step(tok, index, token_id, guess, show_top)
        yield step
        ids.append(token_id)
        new.append(token_id)
        pending = still_to_write(pending, tok.token_bytes(token_id)) if pending else b""
        # 5. Stop at end-of-text, at a stop string, or when enough tokens are made.
        if token_id in stops or hits_stop_string(tok, new, stop_strings) or index + 1 == max_new_tokens:
            return
        # 6. Feed the chosen token back in and go round again.
        if use_cache:
            logits, cache = model.forward([token_id], cache)
        else:
            logits, _ = model.forward(ids, use_cache=False)


def make_step(tok: Tokenizer, index: int, token_id: int, guess: Any, show_top: int) -> Step:
    logprob = guess.logprob(token_id)
    return Step(
        index=index,
        id=token_id,
        piece=token_piece(tok, token_id),
        token=token_label(tok, token_id),
        prob=math.exp(logprob),
        logprob=logprob,
        entropy=guess.entropy_bits(),
        top=tuple(Candidate(i, token_label(tok, i), p) for i, p in guess.top(show_top)),
        special=tok.is_special(token_id),
    )


def check_sampling(
    temperature: float | None, top_k: int | None, top_p: float | None, *, max_new_tokens: int, show_top: int
) -> Any:
    """Settings → `Sampling`, or a UsageError naming the bad one."""
    from .models.sampling import Sampling

    if temperature is not None and not (math.isfinite(temperature) and temperature >= 0):
        raise UsageError(f"--temperature must be 0 (greedy) or more, not {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise UsageError(f"--top-k must be a whole number of at least 1, not {top_k}")
    if top_p is not None and not (0 < top_p <= 1):
        raise UsageError(f"--top-p must be above 0 and at most 1, not {top_p}")
    if temperature == 0 and (top_k is not None or top_p is not None):
        raise UsageError("--top-k/--top-p shape sampling, but --temperature 0 is greedy; give a temperature above 0")
    if max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be at least 1, not {max_new_tokens}")
    if show_top < 0:
        raise UsageError(f"--show-top must be 0 or more, not {show_top}")
    if temperature is None:
        temperature = 1.0 if (top_k is not None or top_p is not None) else 0.0
    return Sampling(temperature=temperature, top_k=top_k, top_p=top_p)


def hits_stop_string(tok: Tokenizer, new_ids: list[int], stop_strings: Sequence[str]) -> bool:
    return bool(stop_strings) and any(s in decode_new(tok, new_ids) for s in stop_strings)


# --- tokens as shown ---------------------------------------------------------------------------
def token_label(tok: Tokenizer, token_id: int) -> str:
    """How a generated id is shown. Models often have more output rows than the tokenizer has tokens
    (padding to a multiple of 64), and a sampled id can land there: show it, do not crash."""
    try:
        return tok.label(token_id)
    except (KeyError, IndexError, ValueError, OverflowError):
        return f"<id {token_id}>"


def token_piece(tok: Tokenizer, token_id: int) -> str:
    try:
        return tok.id_to_piece(token_id)
    except (KeyError, IndexError, ValueError, OverflowError):
        return f"<id {token_id}>"



def decode_new(tok: Tokenizer, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
    """Decode generated ids, leaving out any the tokenizer does not know (see `token_label`)."""
    size = tok.vocab_size
    return tok.decode([i for i in ids if 0 <= i < size], skip_special_tokens=skip_special_tokens)


class TextStream:
    """Turn ids, one at a time, into text to print as it comes.

    A token can hold part of a character (one byte of an emoji); its text is held back until the
    character is complete, so the stream never prints "�" that a later token would have fixed.

    >>> stream = TextStream(tok)                  # doctest: +SKIP
    >>> [stream.push(i) for i in ids]             # doctest: +SKIP
    """

    def __init__(self, tok: Tokenizer, *, skip_special_tokens: bool = False) -> None:
        self.tok = tok
        self.skip_special_tokens = skip_special_tokens
        self.ids: list[int] = []
        self.shown = 0

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = decode_new(self.tok, self.ids, skip_special_tokens=self.skip_special_tokens)
        if text.endswith("\ufffd"):
            return ""
        delta, self.shown = text[self.shown :], len(text)
        return delta


# --- the whole run -----------------------------------------------------------------------------
def generate(
    prompt: str,
    model: Model | str = "prism-tiny",
    *,
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

    >>> g = generate("if __name__ == ", "prism-tiny", max_new_tokens=8)     # doctest: +SKIP
    >>> g.text, [(s.token, round(s.prob, 2)) for s in g.steps]            # doctest: +SKIP
    """
    model = _as_model(model)
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    sampling = check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)
    if not sampling.greedy and seed is None:
        from .models.sampling import random_seed

        seed = random_seed()
    ready = prepare_prompt(model, prompt, chat=chat, system=system, max_new_tokens=max_new_tokens)
    steps: list[Step] = []
    reason = "length"
    try:
        for step in generate_steps(
            model, ready.ids, max_new_tokens=max_new_tokens, temperature=sampling.temperature, top_k=top_k,
            top_p=top_p, seed=seed, stop_strings=stop, show_top=show_top, use_cache=use_cache,
        ):
            steps.append(step)
            if on_step is not None:
                on_step(step)
    except KeyboardInterrupt:
        reason = "interrupted"
    new = [s.id for s in steps]
    if reason != "interrupted":
        reason = _stop_reason(model, new, stop)
    return Generation(
        model=model.name, prompt=ready.text, prompt_ids=list(ready.ids), steps=steps,
        text=decode_new(model.tokenizer, new, skip_special_tokens=True), stop_reason=reason,
        seed=None if sampling.greedy else seed, notes=list(ready.notes),
    )


def _stop_reason(model: Model, new: list[int], stop: Sequence[str]) -> str:
    if new and new[-1] in model.eos_ids:
        return "eos"
    if hits_stop_string(model.tokenizer, new, stop):
        return "stop"
    return "length"


def _as_model(model: Model | str) -> Model:
    if isinstance(model, str):
        from .models import load_model

        return load_model(model)
    return model
