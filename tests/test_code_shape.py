"""No function of the package is longer than :data:`MAX_FUNCTION_LINES` lines, compiled kernels excepted.

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (docstring and comments included; a nested
function or a method counts on its own and within its enclosing function). A function decorated with numba's
``njit`` or ``jit`` (a compiled kernel, whose body cannot call helpers freely) is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wsnmec"

#: Longest function allowed outside compiled kernels [lines].
MAX_FUNCTION_LINES = 120

#: Functions allowed to stay longer for now, as ``module path:qualified name``.
KNOWN_LONG_FUNCTIONS: set[str] = set()

COMPILING_DECORATORS = {"njit", "jit"}


def _is_compiled(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a decorator is numba's ``njit`` / ``jit`` (bare, called, or as ``numba.njit``)."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        if name in COMPILING_DECORATORS:
            return True
    return False


def function_lengths(path: Path) -> list[tuple[str, int, bool]]:
    """``(qualified name, lines, compiled)`` of every function and method defined in the module at ``path``."""
    found = []

    def visit(node: ast.AST, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child.end_lineno - child.lineno + 1, _is_compiled(child)))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), "")
    return found


def long_functions(package: Path = PACKAGE, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """``{"wsnmec/module.py:qualified.name": lines}`` of the functions over ``limit`` lines, kernels excepted."""
    root = package.parent
    return {
        f"{path.relative_to(root).as_posix()}:{name}": lines
        for path in sorted(package.rglob("*.py"))
        for name, lines, compiled in function_lengths(path)
        if lines > limit and not compiled
    }


def test_no_function_over_the_limit_outside_compiled_kernels():
    over = {name: lines for name, lines in long_functions().items() if name not in KNOWN_LONG_FUNCTIONS}
    assert not over, "functions over {} lines (split them into named helpers): {}".format(
        MAX_FUNCTION_LINES, ", ".join(f"{name} ({lines} lines)" for name, lines in sorted(over.items()))
    )


def test_known_long_functions_are_still_long():
    """A listed exception that was split (or renamed) must leave the list, so that it only shrinks."""
    still_long = set(long_functions())
    assert KNOWN_LONG_FUNCTIONS <= still_long, f"no longer over the limit: {sorted(KNOWN_LONG_FUNCTIONS - still_long)}"


def test_the_measure_finds_a_long_function_and_exempts_a_kernel(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(5))
    (package / "mod.py").write_text(
        "import numba\nfrom numba import njit\n\n"
        f"def long_one():\n{body}\n"
        f"@njit(cache=True)\ndef kernel():\n{body}\n"
        f"@numba.jit\ndef other_kernel():\n{body}\n"
        f"class Box:\n    def method(self):\n{body.replace('    ', '        ')}\n"
        "def short():\n    return 1\n",
        encoding="utf-8",
    )
    assert long_functions(package, limit=4) == {"pkg/mod.py:long_one": 6, "pkg/mod.py:Box.method": 6}
