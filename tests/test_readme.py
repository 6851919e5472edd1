"""The README's quickstart commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _commands(block: str) -> list[str]:
    return [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_quickstart_has_install_plus_figures_and_install_plus_tests():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [cmd for block in _bash_blocks(quickstart) for cmd in _commands(block)]
    assert len(commands) == 2
    main_job, tests = commands
    assert "pip install" in main_job and main_job.endswith("wsnmec figures --quick")
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    test_command = [cmd for block in _bash_blocks(quickstart) for cmd in _commands(block)][1]
    ci = (ROOT / ".ci" / "run")
    if not ci.exists():
        pytest.skip("no .ci/run in this checkout")
    assert test_command in ci.read_text(encoding="utf-8").splitlines()
