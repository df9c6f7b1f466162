"""Chat templates: a list of messages → the exact text a chat model was trained on.

Rendered the way transformers renders them (`apply_chat_template`): Jinja2 in an immutable sandbox
(templates come from the Hub and are untrusted code), `trim_blocks` and `lstrip_blocks`, the
`raise_exception`, `strftime_now` and a JSON-faithful `tojson`, and the tokenizer's special tokens
(`bos_token`, `eos_token`, …) as variables.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError

if TYPE_CHECKING:
    from jinja2 import Template

    from .base import Tokenizer

__all__ = ["render_chat_template", "chat_messages"]


def chat_messages(prompt: str, *, system: str | None = None) -> list[dict[str, str]]:
    """One user turn, after an optional system message.

    >>> chat_messages("Hi", system="Be brief.")
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": prompt}]


def render_chat_template(
    tokenizer: Tokenizer, messages: list[dict[str, Any]], *, add_generation_prompt: bool = True
) -> str:
    """Render `messages` with the tokenizer's own chat template, as transformers does.

    >>> tok = load_tokenizer("microsoft/Phi-3-mini-4k-instruct")                     # doctest: +SKIP
    >>> render_chat_template(tok, [{"role": "user", "content": "Hi"}])              # doctest: +SKIP
    '<|user|>\\nHi<|end|>\\n<|assistant|>\\n'
    """
    if tokenizer.chat_template is None:
        raise UsageError(
            f"{tokenizer.name} has no chat template (no chat_template in tokenizer_config.json); "
            "drop --chat, or use a chat/instruct model"
        )
    _check_messages(messages)
    import jinja2

    variables = {f"{role}_token": token for role, token in tokenizer.roles.items()}
    try:
        return _compile(tokenizer.chat_template).render(
            messages=messages, add_generation_prompt=add_generation_prompt, tools=None, documents=None, **variables
        )
    except jinja2.TemplateError as exc:
        # raise_exception() in a template says what it refuses ("roles must alternate…").
        raise InputError(f"{tokenizer.name}'s chat template refused the messages: {exc}") from None


def _check_messages(messages: list[dict[str, Any]]) -> None:
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise InputError(f"chat message {i} must be a dict with 'role' and 'content'")


@lru_cache(maxsize=16)
def _compile(template: str) -> Template:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
        # Jinja's own tojson escapes <, > and & for HTML, which would change the prompt text.
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        return env.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"the chat template is not valid Jinja (line {exc.lineno}: {exc.message})") from None
