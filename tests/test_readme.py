"""The README's quickstart commands are the ones CI and users run."""

from __future__ import annotations

import hashlib
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
    assert "wsnmec warmup && wsnmec figures --quick" in main_job  # the kernels compiled first, once
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    test_command = [cmd for block in _bash_blocks(quickstart) for cmd in _commands(block)][1]
    ci = (ROOT / ".ci" / "run")
    if not ci.exists():
        pytest.skip("no .ci/run in this checkout")
    assert test_command in ci.read_text(encoding="utf-8").splitlines()


# --- every `wsnmec` command of the README runs as written ------------------------------------------------

#: Appended to a README command in this test so that it runs in seconds (click keeps an option's last
#: value): fewer rounds, replicas and frames; everything else runs as written.
TINY = {"run": ["--rounds", "25", "--replicas", "2"], "compare": ["--rounds", "25", "--replicas", "2"], "offload": ["--frames", "300"],
        "train": ["--scenarios", "2", "--rounds", "20"],
        "bound": ["--nodes", "12", "--e0", "0.05", "--replicas", "1", "--no-cache"]}

#: Stand-in study files for the README's study commands (the real ones take minutes): same names.
TINY_STUDY = """
title = "README test study"
seed = 1
seeds = 2
[base]
nodes = 12
e0 = 0.02
rounds = 300
[grid]
protocol = ["direct", "leach"]
[quick]
seeds = 2
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
"""


def readme_commands() -> list[str]:
    """Every `wsnmec ...` command of the README's bash blocks (continuation lines joined, comments cut)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in _bash_blocks(readme):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("wsnmec "):
                commands.append(line)
    return commands


def _slow(command: str) -> bool:
    """Commands of many seconds: maps, figures, studies, ddnn-price's training (no later command reads its model)
    and the partition run with events."""
    words = command.split()
    return (words[1] in ("map", "figures", "study") or words[1:4] == ["train", "--protocol", "ddnn-price"]
            or ("partition" in words and "--event" in words))


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A stand-in for a fresh clone: the examples, tiny study files under the real names, and the data
    folder beside it when this machine has one. The commands run in it in README order (``study show``
    reads what ``study run`` computed)."""
    import shutil

    root = tmp_path_factory.mktemp("readme")
    clone = root / "clone"
    clone.mkdir()
    shutil.copytree(ROOT / "examples", clone / "examples")
    (clone / "studies").mkdir()
    for path in (ROOT / "studies").glob("*.toml"):
        (clone / "studies" / path.name).write_text(TINY_STUDY, encoding="utf-8")
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (root / "shared").symlink_to(shared)
    return clone


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.slow) if _slow(c) else c for c in readme_commands()]
)
def test_readme_command_runs(command, clone, monkeypatch):
    import shlex

    from click.testing import CliRunner

    from wsnmec import cli

    from plugin_examples import install_examples

    args = shlex.split(command)[1:]
    for value in args:
        if value.startswith("../") and not (clone / value).exists():
            pytest.skip(f"{value} is not in this checkout (data from outside the repository)")
    install_examples(monkeypatch, clone / "examples")  # as after `pip install ./examples/mypolicy`
    if "--event" not in args:  # events name frames of the run as written
        args += TINY.get(args[0], [])
    monkeypatch.chdir(clone)
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, f"{command}\n{result.output}"


def test_readme_lists_the_commands_this_issue_documents():
    commands = readme_commands()
    for needle in ("wsnmec map", "--animate", "wsnmec study list", "wsnmec study figures", "--studies",
                   "--list-params", "examples/nodes.csv", "--protocol mypolicy:SpreadRichest",
                   "--protocol spread-richest", "wsnmec compare --protocols", "--lifetime-threshold", "--format csv",
                   "wsnmec warmup"):
        assert any(needle in c for c in commands), needle


def test_every_file_a_readme_command_names_is_in_the_repository():
    """The README's commands read only files the repository ships (the data set examples use the excerpts
    in examples/data), so that each runs from a fresh clone."""
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in readme_commands():
        for value in shlex.split(command):
            if value.startswith(("../", "examples/")) or value.endswith((".mat", ".csv")):
                assert (ROOT / value).exists(), f"{command}: {value} is not in the repository"
    assert "examples/data/ddlo_mumt_3x3_first2000.mat" in readme
    provenance = (ROOT / "examples" / "data" / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in (ROOT / "examples" / "data").glob("*.mat"):
        assert path.name in provenance and hashlib.sha256(path.read_bytes()).hexdigest() in provenance
    assert "MIT License" in provenance and "https://github.com/revenol/DDLO" in readme
