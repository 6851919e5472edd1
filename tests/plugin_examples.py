"""Make the plug-in packages of ``examples/`` usable in a test as if they were installed, without installing
anything: each example directory goes on ``sys.path`` (its modules import as ``module:Class``) and the
entry points its ``pyproject.toml`` declares are added to what ``importlib.metadata.entry_points`` returns
(what ``pip install ./examples/NAME`` would register)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GROUP = "wsnmec.policies"


def declared_entry_points(examples: Path = EXAMPLES) -> list[importlib.metadata.EntryPoint]:
    """The entry points of every ``examples/*/pyproject.toml`` (all groups)."""
    found = []
    for pyproject in sorted(examples.glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        for group, entries in project.get("entry-points", {}).items():
            found += [importlib.metadata.EntryPoint(name, value, group) for name, value in entries.items()]
    return found


def install_examples(monkeypatch, examples: Path = EXAMPLES) -> list[importlib.metadata.EntryPoint]:
    """Put every example package directory on ``sys.path`` and its entry points into
    ``importlib.metadata.entry_points`` (undone by ``monkeypatch``); returns the entry points added."""
    for pyproject in sorted(examples.glob("*/pyproject.toml")):
        monkeypatch.syspath_prepend(str(pyproject.parent))
    extra = declared_entry_points(examples)
    add_entry_points(monkeypatch, extra)
    return extra


def add_entry_points(monkeypatch, extra: list[importlib.metadata.EntryPoint]) -> None:
    """``importlib.metadata.entry_points(group=...)`` returns the installed ones plus ``extra``."""
    real = importlib.metadata.entry_points

    def entry_points(**params):
        if not params:
            return real()
        found = list(real(**params))
        return importlib.metadata.EntryPoints(found + list(importlib.metadata.EntryPoints(extra).select(**params)))

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
