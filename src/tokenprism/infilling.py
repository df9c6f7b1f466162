"""Infill: give a model the text before and after a gap, and watch it write the middle.

    prefix, suffix → the family's FIM prompt (sentinels + texts) → ids → [model → next token] × N
                   → stops at the end-of-middle token → prefix + middle + suffix

The prompt comes from `fim.formats.assemble_fim_prompt`, the steps from `run.Run` (the same loop as
`tokenprism generate`), so what is shown is exactly what the model read and chose.

>>> r = infill(prefix="def add(a, b):\\n    ", suffix="\\n\\nprint(add(1, 2))")   # doctest: +SKIP
>>> r.middle, r.stop_reason                                                  # doctest: +SKIP
('return a + b', 'eos')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .errors import InputError
from .fim.formats import FimFormat, FimPrompt, assemble_fim_prompt, joined_bytes
from .generation import prompt_room
from .run import Run, Step, StopReason, TextStream
from .tokenizers.healing import strip_taken_back

if TYPE_CHECKING:
    from .models import Model
    from .tokenizers.base import Tokenizer
    from .types import Encoding

__all__ = [
    "Infill",
    "infill",
    "infill_prompt",
    "middle_run",
    "fim_prompt_for",
    "middle_text",
    "split_at_fill",
    "FILL_MARKER",
    "DEFAULT_MAX_NEW_TOKENS",
]

DEFAULT_MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class Infill:
    """The result of `infill`: the prompt the model read, every step, the middle and the whole text.

    `stop_reason` (run.StopReason) is "eos" (the model wrote an end-of-middle token or its EOS),
    "length" (max_new_tokens reached: the middle may be unfinished) or "interrupted" (Ctrl-C; the
    steps so far are kept). `text` is
    always prefix + middle + suffix, with the prefix and suffix as given (even where the prompt had
    to cut them to fit the context window).
    """

    model: str
    format: str
    mode: str
    fim_prompt: FimPrompt
    steps: list[Step]
    middle: str
    prefix: str
    suffix: str
    stop_reason: StopReason = "length"
    seed: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.prefix + self.middle + self.suffix

    @property
    def prompt(self) -> str:
        """The prompt string (sentinels written out); `fim_prompt` has its ids and roles."""
        return self.fim_prompt.text

    @property
    def prompt_tokens(self) -> Encoding:
        return self.fim_prompt.encoding

    @property
    def ids(self) -> list[int]:
        """The new ids, in order (the end token included, where there is one)."""
        return [s.id for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "format": self.format,
            "mode": self.mode,
            "prompt": self.prompt,
            "prompt_tokens": self.fim_prompt.tokens_dicts(),
            "steps": [s.to_dict() for s in self.steps],
            "middle": self.middle,
            "text": self.text,
            "stop_reason": self.stop_reason,
            "seed": self.seed,
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from ._display import html

        return html(self)


def infill(
    *,
    prefix: str,
    suffix: str,
    mode: str | None = None,
    fim_format: str | FimFormat | None = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    show_top: int = 5,
    heal: bool = True,
    model: Model | str = "prism-tiny",
    on_step: Callable[[Step], None] | None = None,
) -> Infill:
    """Fill the gap between `prefix` and `suffix` with `model`, one token at a time.

    The format is detected from the model's tokenizer unless `fim_format` names one; `mode` is "psm"
    or "spm" (None: the format's own). Either text may be empty. Greedy unless `temperature` > 0.
    Generation stops at the format's end-of-middle token, one of its sentinels, or the model's EOS.
    `heal` (token healing, see healing.py) takes the prefix's last token back and has the middle write
    it again: a prefix that ends in an indent or half a word then gets the tokens the model would
    have used; `heal=False` sends the prefix exactly as it encodes.

    >>> r = infill(prefix="for i in ", suffix=":\\n    print(i)", model="prism-tiny")   # doctest: +SKIP
    >>> r.middle                                                                   # doctest: +SKIP
    'range(10)'
    """
    from .models import as_model
    from .run import check_sampling

    check_sampling(temperature, top_k, top_p, max_new_tokens=max_new_tokens, show_top=show_top)  # before loading
    model = as_model(model)
    prompt = fim_prompt_for(model, prefix=prefix, suffix=suffix, mode=mode, fim_format=fim_format,
                            max_new_tokens=max_new_tokens, heal=heal)
    return infill_prompt(model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                         top_p=top_p, seed=seed, show_top=show_top, on_step=on_step)


def fim_prompt_for(
    model: Model, *, prefix: str, suffix: str, mode: str | None = None, fim_format: str | FimFormat | None = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, heal: bool = True,
) -> FimPrompt:
    """The FIM prompt `infill` sends: assembled for the model's tokenizer and cut to leave room in
    its context window for `max_new_tokens` new tokens (the CLI shows it before generating)."""
    return assemble_fim_prompt(model.tokenizer, prefix=prefix, suffix=suffix, mode=mode, fim_format=fim_format,
                               max_tokens=prompt_room(model.context_length, max_new_tokens), heal=heal)


def infill_prompt(
    model: Model,
    prompt: FimPrompt,
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    show_top: int = 5,
    on_step: Callable[[Step], None] | None = None,
) -> Infill:
    """Generate the middle for an assembled `prompt`, through the one generation loop, until an
    end-of-middle id (the format's, its sentinels, the model's EOS) or `max_new_tokens`."""
    run = middle_run(model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                     seed=seed, show_top=show_top).complete(on_step)
    return Infill(
        model=model.name, format=prompt.format.name, mode=prompt.mode, fim_prompt=prompt, steps=run.steps,
        middle=run.text, prefix=prompt.prefix, suffix=prompt.suffix, stop_reason=run.stop_reason or "length",
        seed=run.seed, notes=list(prompt.notes),
    )


def middle_run(model: Model, prompt: FimPrompt, **settings: Any) -> Run:
    """The `Run` that writes the middle: it stops at the format's end ids or the model's EOS, and its
    text is the middle (the end token adds nothing; text taken back by healing is not repeated)."""
    stops = frozenset(prompt.stop_ids) | model.eos_ids
    tok = model.tokenizer
    stream = TextStream(tok, render=lambda ids: middle_text(tok, ids, taken_back=prompt.healed), ends=stops)
    return Run(model, prompt.ids, stop_ids=stops, start_with=prompt.healed, stream=stream, **settings)


def middle_text(tokenizer: Tokenizer, ids: list[int], *, taken_back: bytes = b"") -> str:
    """The middle as the model wrote it: its tokens' bytes joined, less the text token healing took
    back from the prefix (which the prefix already has). Not `decode`, whose SentencePiece decoders
    drop a leading space — the middle of " <MID>" often starts with one (Meta's `decode_infilling`
    keeps it the same way, by decoding "☺" + ids and dropping the "☺")."""
    return strip_taken_back(joined_bytes(tokenizer, ids), taken_back).decode("utf-8", "replace")


FILL_MARKER = "<FILL>"


def split_at_fill(text: str, *, marker: str = FILL_MARKER, source: str = "the text") -> tuple[str, str]:
    """A text with one gap marker → (prefix, suffix); none or several markers are refused.

    >>> split_at_fill("def f():\\n    <FILL>\\n")
    ('def f():\\n    ', '\\n')
    """
    count = text.count(marker)
    if count != 1:
        found = "no" if count == 0 else str(count)
        raise InputError(f"{source} has {found} {marker} markers; put exactly one {marker} where the middle goes")
    prefix, suffix = text.split(marker)
    return prefix, suffix
