"""benchmarks/heldout_primary.py: stored runs of another policy are paired with the fair-fight runs by replica
seed, and runs of another scenario are refused."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "heldout_primary.py"


def _module():
    spec = importlib.util.spec_from_file_location("heldout_primary", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VALUES = {"nodes": 50, "field": [100.0, 100.0], "sink": [50.0, 150.0], "deployment": "uniform", "harvest": "none",
          "e0": 0.5, "packet_bits": 4000, "radio": "heinzelman2002", "semantics": "clean", "control_bits": 200,
          "medium": "shared", "rounds": 4000}
SEEDS = [11, 22, 33, 44]


def _fight(folder: Path) -> None:
    """A fair-fight JSON with four replicas of ddnn-price and the references (anneal best on FND and HND)."""
    config = {**VALUES, "replica_seeds": SEEDS}
    runs = {"ddnn-price": {"fnd": [100, 110, 120, 130], "hnd": [200, 210, 220, 230]},
            "ddnn-price-rule": {"fnd": [90, 100, 110, 120], "hnd": [190, 200, 210, 220]},
            "anneal": {"fnd": [105, 115, 125, 135], "hnd": [205, 215, 225, 235]},
            "spread": {"fnd": [50, 50, 50, 50], "hnd": [100, 100, 100, 100]}}
    scenarios = {"H9 test, outside": {name: {"config": config, **metrics} for name, metrics in runs.items()}}
    (folder / "H9.json").write_text(json.dumps({"scenarios": scenarios}))


def _stored(folder: Path, seeds, fnd, hnd, **changed) -> None:
    replicas = [{"seed": s, "fnd": f, "hnd": h} for s, f, h in zip(seeds, fnd, hnd)]
    (folder / "H9.json").write_text(json.dumps({"config": {**VALUES, **changed, "replica_seeds": list(seeds)},
                                                "replicas": replicas}))


def test_stored_runs_pair_by_replica_seed(tmp_path):
    fight, stored = tmp_path / "fight", tmp_path / "stored"
    fight.mkdir(), stored.mkdir()
    _fight(fight)
    # the stored policy ran the 3rd and 1st replicas, in that order: 10 rounds above ddnn-price's on each
    _stored(stored, [33, 11], fnd=[130, 110], hnd=[230, None])
    lines = _module().stored_table(fight, stored, "other")
    fnd = next(line for line in lines if "| FND |" in line)
    hnd = next(line for line in lines if "| HND |" in line)
    assert "| 120.0 | -10.0 [-10.0, -10.0] (2 pairs) | anneal 115.0 | +5.0 [+5.0, +5.0] (2 pairs) |" in fnd
    assert "| 230.0 | -10.0 (1 pair) | anneal 215.0 | +5.0 (1 pair) |" in hnd  # a missing HND: its pair left out


def test_stored_runs_of_another_scenario_are_refused(tmp_path):
    fight, stored = tmp_path / "fight", tmp_path / "stored"
    fight.mkdir(), stored.mkdir()
    _fight(fight)
    _stored(stored, [11, 22], fnd=[1, 2], hnd=[3, 4], e0=0.1)
    with pytest.raises(ValueError, match="e0"):
        _module().stored_table(fight, stored, "other")
    _stored(stored, [11, 99], fnd=[1, 2], hnd=[3, 4])
    with pytest.raises(ValueError, match="replica seed 99"):
        _module().stored_table(fight, stored, "other")
    done = subprocess.run([sys.executable, str(SCRIPT), str(fight), "--runs", f"other={stored}"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: --runs: replica seed 99 of {stored / 'H9.json'} is not among H9.json's"]
