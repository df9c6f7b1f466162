"""The folder list is the pipeline: imports point one way and never run in a circle.

Measured from the code itself with `ast`: every `import` that runs (imports under
`if TYPE_CHECKING:` only name types and are left out) between modules of src/tokenprism.

    core (errors, files, _display) → tokenizers/ → analyses (compare, properties, count, corpus/, fim/,
    train) → models (models/, run, generation, scoring, infilling, embeddings/, inside/) → render/ →
    shells (cli/, web/, the package's own __init__)
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tokenprism"

#: module prefix → pipeline stage (first match wins, longest prefixes first)
STAGES = [
    ("tokenprism.errors", 0), ("tokenprism.files", 0), ("tokenprism._display", 0), ("tokenprism.types", 1),
    ("tokenprism.tokenizers", 1),
    ("tokenprism.comparison", 2), ("tokenprism.properties", 2), ("tokenprism.count", 2), ("tokenprism.corpus", 2),
    ("tokenprism.fim", 2), ("tokenprism.train", 2), ("tokenprism.streamed", 2),
    ("tokenprism.models", 3), ("tokenprism.run", 3), ("tokenprism.generation", 3), ("tokenprism.scoring", 3),
    ("tokenprism.infilling", 3), ("tokenprism.embeddings", 3), ("tokenprism.inside", 3),
    ("tokenprism.render", 4),
    ("tokenprism.cli", 5), ("tokenprism.web", 5), ("tokenprism.__main__", 5), ("tokenprism", 5),
]
#: The imports allowed to run from a lower stage to a higher one, each with its reason.
ALLOWED_UPWARD = {
    ("tokenprism._display", "tokenprism.render"),  # the one hook through which values find their HTML view
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Import nodes that run (not those under `if TYPE_CHECKING:`)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names]
            deps |= {t for t in targets if t in names and t != name}
        graph[name] = deps
    return graph


def stage(module: str) -> int:
    return next(level for prefix, level in STAGES if module == prefix or module.startswith(prefix + "."))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, deps in graph.items() for b in deps if stage(b) > stage(a))


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_imports_point_down_the_pipeline():
    found = upward(import_graph())
    assert {(a, b.rsplit(".", 1)[0] if b.startswith("tokenprism.render.") else b) for a, b in found} <= ALLOWED_UPWARD, found
    assert len(found) <= 2


def test_the_checks_can_fail():
    """The walker sees real imports: a cycle and an upward import made up here are caught."""
    graph = {"tokenprism.compare": {"tokenprism.properties"}, "tokenprism.properties": {"tokenprism.compare"}}
    assert cycles(graph) == [["tokenprism.compare", "tokenprism.properties"]]
    assert upward({"tokenprism.tokenizers.base": {"tokenprism.render.html"}, "tokenprism.render.html": set()}) == [
        ("tokenprism.tokenizers.base", "tokenprism.render.html")
    ]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nimport b\ndef f():\n    import c\n")
    assert [getattr(n, "module", None) or n.names[0].name for n in _imports(tree)] == ["typing", "b", "c"]
