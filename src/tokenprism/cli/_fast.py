"""`tokenize` without click: the command people run in loops and time from a cold start.

Importing click costs ≈ 13 ms, as much as everything else tokenprism imports to tokenize a text.
When the arguments of `tokenize` are plain (known options, one value each, at most one TEXT), they
are read here and the command runs at once; anything else (--help, a typo, an option twice, `--`)
goes to click, which explains it. Both paths run `run_tokenize`, and a test holds `TOKENIZE_OPTIONS`
equal to the options the click command declares.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ._io import emit_json, load, read_text, show

__all__ = ["fast_command", "run_tokenize", "TOKENIZE_OPTIONS", "TOKENIZE_DEFAULTS"]

#: option string → (parameter name, whether it takes a value), as cli/tokens.py declares them.
TOKENIZE_OPTIONS: dict[str, tuple[str, bool]] = {
    "-t": ("spec", True), "--tokenizer": ("spec", True),
    "-f": ("file", True), "--file": ("file", True),
    "--errors": ("errors", True),
    "--ids-only": ("ids_only", False),
    "--no-special-tokens": ("no_special_tokens", False),
    "--split-special-tokens": ("split_special_tokens", False),
    "--explain": ("explain", False),
    "--json": ("as_json", False),
}
TOKENIZE_DEFAULTS: dict[str, Any] = {
    "text": None, "file": None, "errors": "strict", "spec": "prism-tiny",
    "ids_only": False, "no_special_tokens": False, "split_special_tokens": False, "explain": False, "as_json": False,
}
_CHOICES = {"errors": ("strict", "replace")}


def fast_command(args: list[str]) -> Callable[[], None] | None:
    """The command to run for `args` without click, or None when click should read them."""
    if not args or args[0] != "tokenize" or "_TOKENPRISM_COMPLETE" in os.environ:
        return None
    params = _parse(args[1:])
    if params is None:
        return None
    return lambda: run_tokenize(**params)


def _parse(args: list[str]) -> dict[str, Any] | None:
    params, seen = dict(TOKENIZE_DEFAULTS), set()
    i = 0
    while i < len(args):
        arg = args[i]
        name, _, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "-" or not arg.startswith("-"):
            name, value = "text", arg
        elif name in TOKENIZE_OPTIONS:
            name, takes_value = TOKENIZE_OPTIONS[name]
            if takes_value and not attached and "=" not in arg:
                if i + 1 == len(args):
                    return None
                i += 1
                value = args[i]
            elif takes_value:
                value = attached
            elif "=" in arg:
                return None
            else:
                value = True
        else:
            return None  # --help, --debug, a typo, `--`, -t glued to its value: click explains
        if name in seen or value not in _CHOICES.get(name, (value,)):
            return None
        seen.add(name)
        params[name] = value
        i += 1
    return params


def run_tokenize(*, text: str | None, file: str | None, errors: str, spec: str, ids_only: bool,
                 no_special_tokens: bool, split_special_tokens: bool, as_json: bool, explain: bool = False) -> None:
    """What `tokenprism tokenize` does, whichever path read its arguments."""
    streamable = (ids_only or as_json) and not explain and text is None and file is not None
    if streamable or (text == "-" and file is None and (ids_only or as_json) and not explain):
        # a large file or stdin is encoded a part at a time and printed as it goes (cli/_stream.py)
        from ._io import decode_bytes
        from ._stream import large_input, tokenize_streamed

        source = file or "-"
        got = large_input(source)
        if not isinstance(got, bytes):
            with got:
                return tokenize_streamed(got, source="stdin" if source == "-" else source, errors=errors, spec=spec,
                                         as_json=as_json, add_special_tokens=not no_special_tokens,
                                         split_special_tokens=split_special_tokens)
        text, file = decode_bytes(got, errors=errors, source="stdin" if source == "-" else source), None
    content = read_text(text, file, errors=errors)
    if explain:
        return _run_explain(content, spec=spec, ids_only=ids_only, no_special_tokens=no_special_tokens,
                            split_special_tokens=split_special_tokens, as_json=as_json)
    enc = load(spec).encode(content, add_special_tokens=not no_special_tokens, split_special_tokens=split_special_tokens)
    if as_json:
        emit_json(enc.to_dict())
    elif ids_only:
        print(" ".join(map(str, enc.ids)))
    else:
        from ..render.terminal import encoding_view

        show(encoding_view(enc))


def _run_explain(content: str, *, spec: str, ids_only: bool, no_special_tokens: bool, split_special_tokens: bool,
                 as_json: bool) -> None:
    """`tokenize --explain`: how each token was built (BPE merges, WordPiece matches, Unigram cuts)."""
    from ..errors import UsageError
    from ..tokenizers.anatomy import explain_tokens

    if ids_only:
        raise UsageError("--explain shows how each token was built; drop --ids-only (or --explain)")
    anatomy = explain_tokens(load(spec), content, add_special_tokens=not no_special_tokens,
                             split_special_tokens=split_special_tokens)
    if as_json:
        emit_json(anatomy.to_dict())
    else:
        from ..render.anatomy import anatomy_view

        show(anatomy_view(anatomy))
