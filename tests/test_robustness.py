"""Regression tests for the robustness report of issue 21 (each reproduces a reported failure)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.io import write_set

TINY_RUN = ["--rounds", "5", "--nodes", "10"]


def invoke(args, **kwargs):
    return CliRunner().invoke(cli.main, args, **kwargs)


def assert_one_line_error(result, key: str):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and key in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


# --- item 1: a symlinked output directory ----------------------------------------------------------------


def test_run_through_a_symlinked_out_writes_into_its_target(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    first = invoke(["run", "--seed", "1", *TINY_RUN, "--out", str(real)])
    assert first.exit_code == 0, first.output
    link.symlink_to("real")
    second = invoke(["run", "--seed", "2", *TINY_RUN, "--out", str(link)])
    assert second.exit_code == 0, second.output
    assert link.is_symlink() and os.readlink(link) == "real"  # the link is kept
    config = json.loads((real / "config.json").read_text())
    assert config["seed"] == 2  # the new run's files are in the target
    assert {p.name for p in real.iterdir()} == {"config.json", "rounds.parquet", "summary.parquet"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no temporary left beside them


def test_write_set_through_a_link_to_a_directory_holding_only_the_set(tmp_path):
    real = tmp_path / "real"
    write_set(real, {"a.txt": lambda p: p.write_text("1"), "b.txt": lambda p: p.write_text("1")})
    (tmp_path / "link").symlink_to(real)
    write_set(tmp_path / "link", {"a.txt": lambda p: p.write_text("2"), "b.txt": lambda p: p.write_text("2")})
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["a.txt", "b.txt"]
    assert (real / "a.txt").read_text() == (real / "b.txt").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_write_set_refuses_a_dangling_link_and_leaves_it(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        write_set(tmp_path / "link", {"a.txt": lambda p: p.write_text("1")})
    assert (tmp_path / "link").is_symlink() and not (tmp_path / "missing").exists()


# --- item 7: malformed claim files --------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [None, 10**20, "123", 1.5, -4, 0, True, [1]])
def test_a_claim_with_a_malformed_pid_is_taken_over(tmp_path, pid):
    from wsnmec.study.task_claims import TaskClaims

    claims = TaskClaims(tmp_path)
    claims.path("k").write_text(json.dumps({"host": claims.host, "pid": pid, "start": None}))
    assert claims.stale(claims.path("k"))
    assert claims.acquire("k")
    assert json.loads(claims.path("k").read_text())["pid"] == os.getpid()
    claims.release_all()
