"""The training data of prism-tiny: the short functions and structure-aware middles that
scripts/train_prism_tiny.py cuts from source files (pure functions, no training here)."""

from __future__ import annotations

import ast
import importlib.util
import sys

import pytest

from conftest import REPO

_spec = importlib.util.spec_from_file_location("train_prism_tiny", REPO / "scripts" / "train_prism_tiny.py")
train = importlib.util.module_from_spec(_spec)
sys.modules["train_prism_tiny"] = train  # dataclasses look their module up by name
_spec.loader.exec_module(train)

SOURCE = '''\
class Point:
    def norm(self, other,
             scale=1):
        """The distance,
        scaled."""
        dx = self.x - other.x
        return scale * dx

    def bare(self):
        return self.x
    x = 1

def one_liner(): return 1
'''


def _functions() -> dict[str, train.Function]:
    found = train.short_functions(SOURCE, max_lines=24)
    return {f.text.split("(")[0].removeprefix("def "): f for f in found}


def test_short_functions_are_dedented_with_the_line_after_them() -> None:
    functions = _functions()
    assert set(functions) == {"norm", "bare", "one_liner"}
    assert functions["bare"].text == "def bare(self):\n    return self.x\nx = 1\n"
    assert functions["norm"].text.startswith("def norm(self, other,\n         scale=1):\n")


def test_the_body_span_is_the_code_after_a_docstring() -> None:
    norm = _functions()["norm"]
    a, b = norm.body
    assert norm.text[:a].endswith('scaled."""')  # the docstring stays in the prefix
    assert norm.text[a:b] == "\n    dx = self.x - other.x\n    return scale * dx"
    bare = _functions()["bare"]
    assert bare.text[slice(*bare.body)] == "\n    return self.x" and bare.docstring is None
    assert _functions()["one_liner"].body is None  # no line of its own for the code: no gap to fill


def test_without_docstring_keeps_the_code_and_parses() -> None:
    norm = _functions()["norm"]
    bare = train.without_docstring(norm)
    assert bare.text == norm.text.replace('    """The distance,\n    scaled."""\n', "")
    ast.parse(bare.text[: bare.body[1]])  # the function itself (the line after it is cut short)
    assert bare.text[: bare.body[0]] == "def norm(self, other,\n         scale=1):"
    assert bare.text[slice(*bare.body)] == norm.text[slice(*norm.body)]
    assert train.without_docstring(_functions()["bare"]) is None


def test_a_docstring_with_no_code_after_it_is_the_body() -> None:
    (only,) = train.short_functions('def f():\n    """Only this."""\n', max_lines=24)
    assert only.docstring is None and only.text[slice(*only.body)] == '\n    """Only this."""'


def test_body_examples_with_and_without_bare_copies() -> None:
    plain = train.body_examples([SOURCE], train.Settings())
    both = train.body_examples([SOURCE], train.Settings(bare_copies=True))
    assert len(plain) == 2 and len(both) == 3 and set(plain) < set(both)
    (extra,) = set(both) - set(plain)
    assert extra == ("<fim_prefix>def norm(self, other,\n         scale=1):<fim_suffix>\n\ndef bare(self):\n"
                     "<fim_middle>\n    dx = self.x - other.x\n    return scale * dx<|endoftext|>")


def test_bodies_documents_are_the_structure_aware_middles_alone() -> None:
    from tokenizers import Tokenizer

    path = REPO / "src" / "tokenprism" / "assets" / "prism-tiny" / "tokenizer.json"
    if not path.is_file():
        pytest.skip("the bundled prism-tiny is not built yet (scripts/train_prism_tiny.py)")
    tok = Tokenizer.from_file(str(path))
    s = train.Settings(documents="bodies", bare_copies=True)
    contexts = train.fim_contexts([SOURCE], tok, s, epoch=0)
    assert [tok.decode(c, skip_special_tokens=False) for c in contexts] == ["".join(train.body_examples([SOURCE], s))]
