"""The study package's own import graph has no cycle (every import counted, module level and inside
functions, as tests/test_layering.py reads them): the pipeline's mechanics (texts, options, the kinds registry,
cache, aggregates, runner) sit below the study kinds (lifetime, offload, partition), which the registry names
by ``"module:object"`` and never imports."""

from __future__ import annotations

import ast
from pathlib import Path

STUDY = Path(__file__).resolve().parents[1] / "wsnmec" / "study"


def study_imports(path: Path) -> set[str]:
    """The modules of ``wsnmec.study`` that a module of it imports (relative imports: ``from .x import``,
    ``from . import x``; absolute ``wsnmec.study.x`` too)."""
    modules = {p.stem for p in STUDY.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("wsnmec.study."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("wsnmec.study."))
    return (found & modules) - {path.stem}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_study_package_has_no_import_cycle():
    graph = {path.stem: study_imports(path) for path in STUDY.glob("*.py")}
    assert cycles(graph) == []


def test_the_kinds_registry_imports_no_study_kind():
    for interface in ("kinds", "options", "texts"):
        assert study_imports(STUDY / f"{interface}.py") & {"lifetime", "offload", "partition", "spec", "runner"} == set()


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
