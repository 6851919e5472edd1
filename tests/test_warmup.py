"""`wsnmec warmup`: every distinct configuration of the study files (and the default `wsnmec run`) run short,
in groups, so that numba compiles each kernel once; a second warm-up only loads them."""

from __future__ import annotations

import re

from click.testing import CliRunner

from wsnmec import cli
from wsnmec.warmup import WARMUP_FRAMES, WARMUP_ROUNDS, warmup_groups

STUDY = """
title = "warm-up test"
seed = 5
seeds = 3
[base]
nodes = 12
e0 = 0.05
[grid]
protocol = ["direct", "leach"]
harvest = ["none", "constant:0.0001"]
[quick]
seeds = 1
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
style = "harvest"
"""

OFFLOAD_STUDY = """
kind = "offload"
title = "warm-up offload test"
seed = 2
seeds = 2
[base]
model = "mumt"
devices = 2
tasks = 2
frames = 400
memory_size = 32
batch_size = 8
[grid]
batch_norm = [false, true]
[[figures]]
name = "utility"
kind = "offload-metric"
x = "batch_norm"
y = "normalized_utility"
"""


def _studies(tmp_path):
    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "warm.toml").write_text(STUDY, encoding="utf-8")
    (studies / "warmoff.toml").write_text(OFFLOAD_STUDY, encoding="utf-8")
    return studies


def test_groups_hold_each_distinct_configuration_once_shortened(tmp_path):
    groups = {group.label: group for group in warmup_groups(_studies(tmp_path))}
    assert set(groups) == {"policy direct", "policy leach", "offload mumt"}
    # direct: 2 harvest values; leach: 2 harvest values + the default `wsnmec run` scenario (leach)
    assert len(groups["policy direct"].items) == 2 and len(groups["policy leach"].items) == 3
    assert all(s.rounds == WARMUP_ROUNDS for label in ("policy direct", "policy leach") for s in groups[label].items)
    offload = groups["offload mumt"].items
    assert sorted(o["batch_norm"] for o in offload) == [False, True] and all(o["frames"] == WARMUP_FRAMES for o in offload)


def test_warmup_runs_and_reports_kernels_then_only_loads_them(tmp_path):
    args = ["warmup", "--studies", str(_studies(tmp_path)), "--jobs", "1"]
    first = CliRunner().invoke(cli.main, args)
    assert first.exit_code == 0, first.output
    assert len(re.findall(r"^warmup \[\d/3\] ", first.stdout, flags=re.M)) == 3  # one progress line per group
    total = re.search(r"warmup: 7 configurations in 3 groups, (\d+) kernels ready \((\d+) compiled now", first.stdout)
    assert total and int(total[1]) > 0, first.stdout
    second = CliRunner().invoke(cli.main, args)
    assert second.exit_code == 0, second.output
    again = re.search(r"(\d+) kernels ready \((\d+) compiled now", second.stdout)
    assert again and int(again[1]) > 0 and int(again[2]) == 0, second.stdout  # all loaded from the cache


def test_warmup_refuses_a_missing_studies_directory(tmp_path):
    result = CliRunner().invoke(cli.main, ["warmup", "--studies", str(tmp_path / "none")])
    assert result.exit_code == 2 and result.stderr.startswith("Error: --studies: ")
