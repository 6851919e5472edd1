"""The package's layering rule, checked on its import graph (read with ``ast``, every import counted: module level
and inside functions).

A *unit* is a subpackage of ``wsnmec`` (``sim``, ``clustering``, ...) or a top-level module (``cli``, ``errors``,
...); ``from wsnmec import __version__`` (the root package, which imports only ``kernel_cache``, the lowest
layer) is not an edge.
The rule, lowest layer first: a unit may import units of strictly lower layers only.

==  ==============================================  ===================================================
 0  kernel_cache                                    drops numba's cache when a source file changed (run by
                                                    __init__ on import; no wsnmec import)
 1  __init__, errors, io, threads                   foundations: no other wsnmec import (__init__: the
                                                    version and the kernel-cache check)
 2  integrity, fingerprint, energy, learn, seeding  checksums; the simulator's code hash; radio, harvest
                                                    and workload models, the round-parameter layout;
                                                    MLPs; user and replica seeds
 3  clustering, limits                              policies: see a network state, elect the heads;
                                                    checks made before any work
 4  sim                                             the round simulator: runs the policies; the policy
                                                    conformance checks
 5  bound, offload, network_map                     lifetime bound (and lp-schedule, the policy that
                                                    executes it); offloading experiments; network maps
 6  study                                           studies: grids of runs, cache, figures, report,
                                                    ``wsnmec compare``
 7  console, gym, training, warmup                  terminal helpers, Gymnasium environment, training of
                                                    the learned policies, compilation
 8  cli                                             the command line
 9  __main__                                        ``python -m wsnmec``
==  ==============================================  ===================================================

The rule holds without exception, so no two subpackages import each other (no import cycle). A policy that
needs a higher layer lives in that layer's package and is registered by name (``lp-schedule`` in
``wsnmec/bound``: the clustering registry names ``"module:Class"`` and imports it lazily, not an import edge).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wsnmec"

#: The layers, lowest first (module docstring).
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"kernel_cache"},
    {"__init__", "errors", "io", "threads"},
    {"integrity", "fingerprint", "energy", "learn", "seeding"},
    {"clustering", "limits"},
    {"sim"},
    {"bound", "offload", "network_map"},
    {"study"},
    {"console", "gym", "training", "warmup"},
    {"cli"},
    {"__main__"},
))

def unit_of(path: Path, package: Path = PACKAGE) -> str:
    """The unit a module file belongs to (its subpackage, or the top-level module's name)."""
    parts = path.relative_to(package).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def imported_modules(path: Path, package_root: Path = PACKAGE) -> list[tuple[str, int]]:
    """Absolute names of the modules (or module attributes) a file imports, with their line numbers."""
    module = list(path.relative_to(package_root.parent).with_suffix("").parts)
    package = module[:-1]  # where a relative import starts (an __init__'s own package, a module's package)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
            else:
                base = []
            stem = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.append((stem, node.lineno))
            else:  # from .. import name: each name may be a subpackage or module
                found += [(f"{stem}.{alias.name}", node.lineno) for alias in node.names]
    return found


def import_graph(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """``{(importer unit, imported unit): ["file:line", ...]}`` over every module of the package."""
    units = {unit_of(p, package) for p in package.rglob("*.py")}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        source = unit_of(path, package)
        for name, line in imported_modules(path, package):
            parts = name.split(".")
            if parts[0] != package.name or len(parts) < 2 or parts[1] not in units or parts[1] == source:
                continue
            edges[(source, parts[1])].append(f"{path.relative_to(package.parent).as_posix()}:{line}")
    return dict(edges)


def layer_of(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise AssertionError(f"unit {unit!r} is in no layer of LAYERS: add it where it belongs")


def violations(graph: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    """The edges whose importer is not in a strictly higher layer than what it imports."""
    return {edge: where for edge, where in graph.items() if layer_of(edge[0]) <= layer_of(edge[1])}


def test_every_unit_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(unit_of(path))


def test_no_import_breaks_the_layering():
    found = violations(import_graph())
    assert not found, "imports against the layering rule (tests/test_layering.py): " + "; ".join(
        f"{a} -> {b} at {', '.join(where)}" for (a, b), where in sorted(found.items())
    )


def test_a_violation_is_found(tmp_path):
    """The check reports an upward edge: a module of a lower layer importing a higher one."""
    package = tmp_path / "wsnmec"
    for folder in ("clustering", "sim"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "clustering" / "policy.py").write_text("def f():\n    from ..sim import rounds\n", encoding="utf-8")
    (package / "sim" / "rounds.py").write_text("from ..clustering import policy\n", encoding="utf-8")
    assert set(violations(import_graph(package))) == {("clustering", "sim")}


def test_the_graph_reads_relative_absolute_and_function_level_imports(tmp_path):
    package = tmp_path / "wsnmec"
    for folder in ("low", "high"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("__version__ = '0'\n", encoding="utf-8")
    (package / "errors.py").write_text("", encoding="utf-8")
    (package / "low" / "a.py").write_text(
        "from .. import __version__\nfrom ..errors import x\n\ndef f():\n    from ..high import b\n", encoding="utf-8")
    (package / "high" / "b.py").write_text("import wsnmec.low.a\nfrom . import c\n", encoding="utf-8")
    graph = import_graph(package)
    assert set(graph) == {("low", "errors"), ("low", "high"), ("high", "low")}
    assert graph[("low", "high")] == ["wsnmec/low/a.py:5"]
