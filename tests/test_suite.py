"""The scenario suite (studies/suite.toml, wsnmec.study.suite): the split into training and held-out scenarios is
disjoint, every scenario passes the run's own validation and deploys inside its field, the suite covers what
issue 18 asks for, and no training code path draws a held-out scenario."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from wsnmec.errors import ParameterError
from wsnmec.sim.deployment import deploy, parse_deployment
from wsnmec.study.runner import expand_tasks
from wsnmec.study.spec import load_study
from wsnmec.study.suite import SUITE_PATH, geometry_key, heldout_scenarios, load_suite, train_scenarios

ROOT = Path(__file__).resolve().parents[1]


def test_split_is_disjoint_and_covers_the_suite():
    suite = load_suite()
    train, heldout = train_scenarios(), heldout_scenarios()
    names = [s.name for s in suite]
    assert len(names) == len(set(names)) >= 12
    assert {s.name for s in train}.isdisjoint({s.name for s in heldout})
    assert sorted(s.name for s in train + heldout) == sorted(names)
    assert train and heldout
    # no held-out network is also a training network (same N, field, sink and layout draw the same nodes)
    assert {geometry_key(s.values) for s in train}.isdisjoint({geometry_key(s.values) for s in heldout})


def test_every_scenario_passes_the_run_validation_and_deploys_inside_its_field():
    for quick in (False, True):
        for entry in load_suite(quick=quick):
            scenario = entry.scenario("leach")
            assert scenario.control_bits > 0  # control messages on in every scenario
            net = deploy(scenario, np.random.default_rng(1))
            width, height = scenario.field
            assert net.nodes == scenario.nodes
            assert (net.x >= 0).all() and (net.x <= width).all() and (net.y >= 0).all() and (net.y <= height).all()


def test_suite_covers_the_deployments_sinks_sizes_and_harvests_of_the_issue():
    suite = load_suite()
    scenarios = [s.scenario() for s in suite]
    kinds = {parse_deployment(s.deployment).kind for s in scenarios}
    assert kinds == {"uniform", "grid", "gaussian", "clusters", "corridor"}
    assert min(s.nodes for s in scenarios) == 50 and max(s.nodes for s in scenarios) == 1000
    harvests = {s.harvest.kind != "none" for s in scenarios}
    assert harvests == {True, False}

    def where(s):
        (width, height), (x, y) = s.field, s.sink
        if x > width or y > height:
            return "outside"
        if (x in (0, width)) and (y in (0, height)):
            return "corner"
        if x in (0, width) or y in (0, height):
            return "edge"
        if (x, y) == (width / 2, height / 2):
            return "centre"
        return "inside"

    places = {where(s) for s in scenarios}
    assert {"centre", "edge", "outside", "corner"} <= places
    # each split holds every layout
    for split in ("train", "heldout"):
        chosen = [s.scenario() for s in suite if s.split == split]
        assert len({parse_deployment(s.deployment).kind for s in chosen}) == 5


def test_suite_runs_as_a_study_over_policies():
    spec = load_study(SUITE_PATH)
    quick = spec.variant(True)
    tasks = expand_tasks(quick)
    cases = {t.point["case"]["name"] for t in tasks}
    protocols = {t.point["protocol"] for t in tasks}
    assert cases == {s.name for s in load_suite()}
    assert len(tasks) == len(cases) * len(protocols) * quick.seeds
    # the policies are paired: every (case, seed) has one task per protocol, the same seed
    by_case_seed = {}
    for task in tasks:
        by_case_seed.setdefault((task.point["case"]["name"], task.seed), set()).add(task.point["protocol"])
    assert all(found == protocols for found in by_case_seed.values())


def test_split_is_checked(tmp_path):
    text = SUITE_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('split = "heldout"', 'split = "test"', 1), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"grid\.case\[7\]\.split: must be one of train, heldout"):
        load_suite(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace('split = "train", ', "", 1), encoding="utf-8")
    load_study(missing)  # a study may omit split; a suite may not
    with pytest.raises(ParameterError, match=r"grid\.case\[0\]\.split"):
        load_suite(missing)


def test_no_training_code_path_draws_a_held_out_scenario():
    """ddnn's training and validation episodes never have a held-out network, and no module of the package
    besides the suite's own names the held-out scenarios or the suite file."""
    from wsnmec.training import ddnn

    heldout = {geometry_key(s.values) for s in heldout_scenarios()}
    for seed in (0, 1, 2024):
        for raw, _seed in ddnn.training_scenarios(seed, 50, 10):
            assert geometry_key(raw) not in heldout
    for raw, _seed in ddnn.validation_scenarios(20, 10):
        assert geometry_key(raw) not in heldout
    from wsnmec.training import prices as priced

    for values, _seed in priced.TRAINING_SCENARIOS + tuple(priced.validation_deployments(priced.TRAINING_SCENARIOS)):
        assert geometry_key(values) not in heldout  # ddnn-price's training and validation
    pattern = re.compile(r"heldout_scenarios|suite\.toml|split\s*==\s*[\"']heldout")
    allowed = {ROOT / "wsnmec" / "study" / "suite.py"}
    for path in (ROOT / "wsnmec").rglob("*.py"):
        if path not in allowed:
            assert not pattern.search(path.read_text(encoding="utf-8")), path
