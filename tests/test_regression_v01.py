"""The default workload and hardware reproduce wsnmec 0.1's per-round tables exactly, for every shipped study.

``tests/data/v0_1_round_digests.json`` holds SHA-256 digests of the per-round columns that wsnmec 0.1 (commit
0fb768f, before computation, offloading and the policy seam entered the round) computed for the first seed of
every grid point of the shipped lifetime studies' quick variants. 0.1's ``residual_j`` was the signed sum of the
stored energies, which is ``stored_j`` since (``residual_j`` now sums the positive energies; they differ only
under ``matlab`` semantics).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from wsnmec.sim import simulate
from wsnmec.study.runner import expand_tasks
from wsnmec.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "data" / "v0_1_round_digests.json").read_text(encoding="utf-8"))
SLOW_STUDIES = {"scaling"}


def _digest(rounds) -> str:
    digest = hashlib.sha256()
    for column in GOLDEN["columns"]:
        name = "stored_j" if column == "residual_j" else column
        digest.update(np.ascontiguousarray(rounds[name].to_numpy()).tobytes())
    return digest.hexdigest()


def _cases():
    for entry in GOLDEN["tasks"]:
        marks = [pytest.mark.slow] if entry["study"] in SLOW_STUDIES else []
        label = entry["study"] + ":" + ",".join(f"{k}={v}" for k, v in entry["point"].items())
        yield pytest.param(entry, id=label, marks=marks)


@pytest.mark.parametrize("entry", list(_cases()))
def test_shipped_study_tables_equal_version_0_1(entry):
    spec = load_study(ROOT / "studies" / f"{entry['study']}.toml").variant(True)
    tasks = [t for t in expand_tasks(spec) if t.seed == entry["seed"]
             and {k: t.point[k] for k in entry["point"]} == entry["point"]]
    assert len(tasks) == 1, entry
    task = tasks[0]
    assert (task.scenario.offload, task.scenario.workload, task.scenario.hardware) == ("local", "fusion", "msp430f1611")
    result = simulate(task.scenario, seed=task.seed)
    assert len(result.rounds) == entry["rounds"]
    assert _digest(result.rounds) == entry["sha256"]
