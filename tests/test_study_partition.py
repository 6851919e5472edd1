"""Partition studies (kind = "partition", issue 10): figures, claims table, cache, and the kind filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsnmec.errors import ParameterError
from wsnmec.study.partition import load_partition_study, run_partition_study, study_kind
from wsnmec.study.spec import find_studies

ROOT = Path(__file__).resolve().parents[1]

TINY = """
kind = "partition"
title = "tiny"
seed = 3
seeds = 2
[scaling]
devices = [2, 3]
servers = 2
frames = 40
[claims]
devices = 2
servers = 2
frames = 40
[events]
devices = 2
servers = 2
frames = 60
event_at = 0.5
events = ["server-down:0", "bandwidth:0.5"]
"""


def test_tiny_study_draws_figures_and_claims_table(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    out, results = tmp_path / "fig", tmp_path / "res"
    section = run_partition_study(path, out, results, echo=lambda *_: None)
    for stem in ("tiny-scaling", "tiny-events", "tiny-utilization"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.pdf").is_file()
    assert "### Claims table" in section
    for base in ("all-local", "all-to-nearest", "neurosurgeon"):
        assert f"| {base} |" in section
    assert "-60 %" in section and "+40 %" in section and "latency " in section
    assert "| server-down:0 | ddlo |" in section and "| bandwidth:0.5 | jsq-neurosurgeon |" in section
    cached = sorted(p.name for p in (results / "partition").iterdir())
    assert len([c for c in cached if c.endswith(".json")]) == 2 * 2 + 2 + 2  # scaling, claims, events
    assert run_partition_study(path, out, results, echo=lambda *_: None) == section  # from the cache
    assert sorted(p.name for p in (results / "partition").iterdir()) == cached


def test_kind_filter_and_validation(tmp_path):
    assert study_kind(ROOT / "studies" / "partition.toml") == "partition"
    assert ROOT / "studies" / "partition.toml" not in find_studies(ROOT / "studies")
    assert find_studies(ROOT / "studies", kind="partition") == [ROOT / "studies" / "partition.toml"]
    quick = load_partition_study(ROOT / "studies" / "partition.toml", quick=True)
    full = load_partition_study(ROOT / "studies" / "partition.toml")
    assert quick["claims"]["frames"] < full["claims"]["frames"] and quick["seeds"] < full["seeds"]
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "partition"\n[claims]\nfrmaes = 3\n')
    with pytest.raises(ParameterError, match="claims.frmaes"):
        load_partition_study(bad)


def test_lifetime_parser_reads_kind(tmp_path):
    """The lifetime parser accepts kind = "lifetime" (the default), points partition files to their
    reader, and refuses unknown kinds; the lifetime studies stay listed by find_studies()."""
    from wsnmec.study.spec import load_study

    classic = (ROOT / "studies" / "classic.toml").read_text()
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('kind = "lifetime"\n' + classic)
    assert load_study(explicit).grid == load_study(ROOT / "studies" / "classic.toml").grid
    with pytest.raises(ParameterError, match=r"partition\.toml: kind") as info:
        load_study(ROOT / "studies" / "partition.toml")
    assert "wsnmec figures" in info.value.message
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('kind = "energy"\n' + classic)
    with pytest.raises(ParameterError, match="must be one of lifetime, offload, partition"):
        load_study(unknown)
    offload = tmp_path / "offload.toml"  # an offload study's keys differ: the lifetime keys are refused
    offload.write_text('kind = "offload"\n' + classic)
    with pytest.raises(ParameterError, match="is not a known key"):
        load_study(offload)
    listed = {p.name for p in find_studies(ROOT / "studies")}
    assert {"classic.toml", "scaling.toml", "ddnn_claims.toml"} <= listed and "partition.toml" not in listed


def test_study_run_and_study_figures_take_a_partition_file(tmp_path):
    """`wsnmec study run FILE` computes a partition study's experiments into the cache; `wsnmec study figures
    FILE` then draws its figures and writes its section (OUT/<name>.md) from that cache alone."""
    from click.testing import CliRunner

    from wsnmec import cli

    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    results, out = tmp_path / "res", tmp_path / "fig"
    ran = CliRunner().invoke(cli.main, ["study", "run", str(path), "--results", str(results)])
    assert ran.exit_code == 0, ran.output
    assert "partition experiments in" in ran.stdout and not out.exists()
    cached = sorted((results / "partition").iterdir())
    assert len([c for c in cached if c.suffix == ".json"]) == 2 * 2 + 2 + 2
    drawn = CliRunner().invoke(cli.main, ["study", "figures", str(path), "--results", str(results), "--out", str(out)])
    assert drawn.exit_code == 0, drawn.output
    assert sorted((results / "partition").iterdir()) == cached  # nothing recomputed
    for stem in ("tiny-scaling", "tiny-events", "tiny-utilization"):
        assert (out / f"{stem}.png").is_file() and (out / f"{stem}.pdf").is_file()
    assert "### Claims table" in (out / "tiny.md").read_text()
