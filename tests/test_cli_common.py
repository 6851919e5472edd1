"""Behaviour shared by every command: one-line errors with exit code 2, early directory checks, and the
main job (`wsnmec figures --quick`) on the studies shipped in studies/."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.study.cache import simulator_fingerprint, task_config, task_key
from wsnmec.study.spec import find_studies, load_study
from wsnmec.sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(result, option):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and option in lines[0]
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize(
    "args, option",
    [
        (["figures", "--quick", "--out", "{file}"], "--out"),
        (["figures", "--quick", "--results", "{file}"], "--results"),
        (["study", "run", "classic", "--quick", "--results", "{file}"], "--results"),
        (["study", "run", "classic", "--quick", "--results", "{file}/below"], "--results"),
    ],
)
def test_directory_options_naming_a_file_fail_before_any_work(tmp_path, args, option):
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me\n", encoding="utf-8")
    args = [a.replace("{file}", str(existing)) for a in args]
    result = CliRunner().invoke(cli.main, args)
    _one_line_error(result, option)
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    assert not (tmp_path / "results").exists()


def test_out_of_memory_is_one_line_with_exit_code_2(monkeypatch):
    import wsnmec.sim.simulation

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 745. GiB")

    monkeypatch.setattr(wsnmec.sim.simulation, "simulate", too_big)
    result = CliRunner().invoke(cli.main, ["run", "--nodes", "20", "--rounds", "5", "--seed", "1"])
    _one_line_error(result, "out of memory")


def test_task_key_covers_the_simulator_code():
    config = task_config(Scenario(), seed=3)
    assert config["code"] == simulator_fingerprint()
    assert len(config["code"]) == 16
    changed = dict(config, code="0" * 16)
    assert task_key(changed) != task_key(config)
    assert task_key(task_config(Scenario(), seed=3)) == task_key(config)


@pytest.mark.slow
def test_figures_quick_renders_every_shipped_study(tmp_path, monkeypatch):
    """The quickstart's main job on the real studies/ (what CI runs), then again from the cache."""
    monkeypatch.chdir(ROOT)
    specs = [load_study(path) for path in find_studies(ROOT / "studies")]
    assert specs, "no study files shipped in studies/"
    out, results = tmp_path / "figures", tmp_path / "results"
    args = ["figures", "--quick", "--out", str(out), "--results", str(results), "--jobs", "2"]
    first = CliRunner().invoke(cli.main, args)
    assert first.exit_code == 0, first.output + first.stderr
    index = (out / "README.md").read_text(encoding="utf-8")
    for spec in specs:
        for figure in spec.figures:
            for suffix in (".png", ".pdf"):
                path = out / f"{spec.name}-{figure.name}{suffix}"
                assert path.is_file() and path.stat().st_size > 1000, path
            assert f"{spec.name}-{figure.name}.png" in index
    from wsnmec.study.partition import load_partition_study

    partition = find_studies(ROOT / "studies", kind="partition")
    assert partition, "no partition study shipped in studies/"
    for path in partition:  # kind = "partition" studies (issue 10): figures and their section in the index
        assert f"## {load_partition_study(path, quick=True)['title']}" in index and "### Claims table" in index
        for figure in ("scaling", "events", "utilization"):
            png = out / f"{path.stem}-{figure}.png"
            assert png.is_file() and png.stat().st_size > 1000 and png.name in index, png
    png_bytes = {p.name: p.read_bytes() for p in out.glob("*.png")}
    second = CliRunner().invoke(cli.main, args)
    assert second.exit_code == 0, second.output + second.stderr
    assert " 0 computed" in second.output and "computed" in second.output
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == png_bytes

