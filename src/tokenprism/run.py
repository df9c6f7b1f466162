"""One generation run, one visible step at a time: the model guesses the next token, we show the
guess, feed it back in, and guess again.

    prompt ids → [model → probabilities → pick one id → append] × N → new ids → text

`Run` owns all of it: the seed (chosen once), the loop with the KV cache, stop ids and stop strings,
the text as it streams, why it stopped, and interruption. `generate`, `infill`, `explain`, the web
page and the notebook all drive a `Run`; nothing else writes this loop. Iterate a run to stream it:

>>> run = Run(model, model.tokenizer.encode("x = ").ids, max_new_tokens=5)    # doctest: +SKIP
>>> for step in run:                                                          # doctest: +SKIP
...     print(step.token, f"{step.prob:.0%}", repr(run.delta))
>>> run.stop_reason, run.text                                                 # doctest: +SKIP

The probabilities reported are the model's own (the softmax of its logits); temperature, top-k and
top-p only change how the next token is *picked*, so a sampled token can be one the model found
unlikely, and the display shows that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Sequence

from .errors import UsageError

if TYPE_CHECKING:
    from .models import Model
    from .models.sampling import Distribution, Sampling
    from .tokenizers.base import Tokenizer

__all__ = [
    "Run",
    "Step",
    "Candidate",
    "StopReason",
    "TextStream",
    "check_sampling",
    "token_label",
    "token_piece",
    "decode_new",
    "DEFAULT_MAX_NEW_TOKENS",
]

DEFAULT_MAX_NEW_TOKENS = 40

#: Why a run ended: "eos" the model wrote an end token (its EOS, or a FIM format's end of middle);
#: "stop" a stop string appeared; "length" max_new_tokens were made; "interrupted" Ctrl-C or the
#: caller stopped it; "time" a time limit passed (the web page's).
StopReason = Literal["eos", "stop", "length", "interrupted", "time"]


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
            "index": self.index,
            "id": self.id,
            "piece": self.piece,
            "token": self.token,
            "special": self.special,
            "prob": self.prob,
            "logprob": self.logprob,
            "entropy": self.entropy,
            "top": [c.to_dict() for c in self.top],
        }


class Run:
    """One generation: iterate it to get one `Step` per new token, until an end id (`stop_ids`,
    default the model's EOS), a `stop` string in the new text, `max_new_tokens`, or `cancel()`.

    `start_with` is text taken back from the end of the prompt (token healing, see
    tokenizers/healing.py): the first tokens must write it again, and their probabilities are the
    model's among those that can. `stream` turns the new ids into text as they come (default: the
    decoded new text); after each step `delta` holds the text that step completed.

    Greedy unless `temperature` > 0 (or top_k / top_p, which sample at temperature 1). The seed is
    chosen once (drawn when sampling without one) and kept in `seed`, so a sample can be replayed.
    `use_cache=False` re-reads the whole text at every step: the slow path, kept to show (and test)
    that the cache changes nothing but speed.
    """

    def __init__(
        self,
        model: Model,
        prompt_ids: Sequence[int],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop_ids: Iterable[int] | None = None,
        stop: Sequence[str] | str = (),
        show_top: int = 5,
        use_cache: bool = True,
        start_with: bytes = b"",
        stream: TextStream | None = None,
    ) -> None:
        from .models.sampling import random_seed

        self.sampling = check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)
        self.seed = None if self.sampling.greedy else (random_seed() if seed is None else seed)
        self.model = model
        self.prompt_ids = list(prompt_ids)
        self.max_new_tokens = max_new_tokens
        self.stop_ids = model.eos_ids if stop_ids is None else frozenset(stop_ids)
        self.stop = (stop,) if isinstance(stop, str) else tuple(stop)
        self.show_top = show_top
        self.use_cache = use_cache
        self.start_with = start_with
        self.stream = stream if stream is not None else TextStream(model.tokenizer)
        self.steps: list[Step] = []
        self.delta = ""
        self.stop_reason: StopReason | None = None
        self._cancelled: StopReason | None = None

    # --- what the run made ---------------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        """The new ids, in order (an end id included)."""
        return [s.id for s in self.steps]

    @property
    def text(self) -> str:
        """The new text so far, as `stream` writes it."""
        return self.stream.text

    def cancel(self, reason: StopReason = "interrupted") -> None:
        """Stop before the next step (safe from another thread: the web page's disconnects and time limit)."""
        self._cancelled = reason

    # --- the loop ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Step]:
        from .models.sampling import Distribution, new_generator, only, pick
        from .tokenizers.healing import agreeing_ids, still_to_write

        tok = self.model.tokenizer
        generator = None if self.seed is None else new_generator(self.seed)
        ids = list(self.prompt_ids)
        pending = self.start_with
        self.stop_reason = "length"
        # 1. Read the whole prompt once. The cache keeps every layer's keys and values, so each later
        #    step feeds in just the one new token and costs the same as the step before.
        logits, cache = self.model.forward(ids, use_cache=self.use_cache)
        for index in range(self.max_new_tokens):
            if self._cancelled:
                self.stop_reason = self._cancelled
                return
            if pending:
                # (Token healing: until the text taken back from the prompt is written again, only
                # tokens that agree with it may come.)
                allowed = agreeing_ids(tok, pending)
                logits = only(logits, allowed) if allowed else logits
            # 2. The model's guess: a probability for every token in the vocabulary (softmax of logits).
            guess = Distribution(logits, keep=self.show_top)
            # 3. Pick the next token: the most likely one (greedy) or a sample shaped by the settings.
            token_id = pick(guess, self.sampling, generator)
            # 4. Note the choice, how sure the model was, and what else it considered.
            step = make_step(tok, index, token_id, guess, self.show_top)
            self.steps.append(step)
            self.delta = self.stream.push(token_id)
            ids.append(token_id)
            pending = still_to_write(pending, tok.token_bytes(token_id)) if pending else b""
            # 5. Stop at an end id or a stop string (after showing the step that ended it).
            ended = self._ended(token_id)
            if ended:
                self.stop_reason = ended
            yield step
            if ended or index + 1 == self.max_new_tokens:
                return
            # 6. Feed the chosen token back in and go round again.
            if self.use_cache:
                logits, cache = self.model.forward([token_id], cache)
            else:
                logits, _ = self.model.forward(ids, use_cache=False)

    def _ended(self, token_id: int) -> StopReason | None:
        if token_id in self.stop_ids:
            return "eos"
        if self.stop and any(s in decode_new(self.model.tokenizer, self.ids) for s in self.stop):
            return "stop"
        return None

    def complete(self, on_step: Callable[[Step], None] | None = None) -> Run:
        """Run to the end, calling `on_step` after each step. Ctrl-C stops cleanly: the steps made so
        far are kept and `stop_reason` is "interrupted"."""
        try:
            for step in self:
                if on_step is not None:
                    on_step(step)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        return self


def make_step(tok: Tokenizer, index: int, token_id: int, guess: Distribution, show_top: int) -> Step:
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
) -> Sampling:
    """Settings → `Sampling`, or a UsageError naming the bad one (checked before any model loads)."""
    from .models.sampling import Sampling

    if temperature is not None and not (math.isfinite(temperature) and temperature >= 0):
        raise UsageError(f"--temperature must be 0 (greedy) or more, not {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise UsageError(f"--top-k must be a whole number of at least 1, not {top_k}")
    if top_p is not None and not (0 < top_p <= 1):
        raise UsageError(f"--top-p must be above 0 and at most 1, not {top_p}")
    if temperature == 0 and (top_k is not None or top_p is not None):
        raise UsageError("--top-k/--top-p shape sampling, but --temperature 0 is greedy; give a temperature above 0")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be at least 1, not {max_new_tokens}")
    if show_top < 0:
        raise UsageError(f"--show-top must be 0 or more, not {show_top}")
    if temperature is None:
        temperature = 1.0 if (top_k is not None or top_p is not None) else 0.0
    return Sampling(temperature=temperature, top_k=top_k, top_p=top_p)


# --- tokens and text as shown ------------------------------------------------------------------
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
    `render` turns the ids so far into text (default: decode them); `ends` are ids that add nothing
    (a FIM format's end of middle).

    >>> stream = TextStream(tok)                  # doctest: +SKIP
    >>> [stream.push(i) for i in ids]             # doctest: +SKIP
    """

    def __init__(
        self,
        tok: Tokenizer,
        *,
        render: Callable[[list[int]], str] | None = None,
        ends: frozenset[int] = frozenset(),
        skip_special_tokens: bool = False,
    ) -> None:
        self.tok = tok
        self.render = render or (lambda ids: decode_new(tok, ids, skip_special_tokens=skip_special_tokens))
        self.ends = ends
        self.ids: list[int] = []
        self.ended = False
        self.shown = 0

    def push(self, token_id: int) -> str:
        """The text `token_id` completes ("" while a character is unfinished, or for an end id)."""
        if token_id in self.ends:
            self.ended = True
            return ""
        self.ids.append(token_id)
        text = self.render(self.ids)
        if text.endswith("\ufffd"):
            return ""
        delta, self.shown = text[self.shown :], len(text)
        return delta

    @property
    def text(self) -> str:
        return self.render(self.ids)
