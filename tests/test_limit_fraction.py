"""Fraction of the limit (:mod:`wsnmec.study.limit`): a lifetime study with a ``[bound]`` table adds each task's
deployment bound and ``fnd_over_bound = fnd / bound_fnd`` to its summary.

Networks are tiny (N = 6, small E0) so that the simulations and the bound solves take well under a second.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wsnmec.bound.colgen import solve_bound
from wsnmec.bound.costs import Network
from wsnmec.errors import ParameterError
from wsnmec.sim.deployment import deploy
from wsnmec.sim.rounds import RoundLoop
from wsnmec.study.figures import draw_study
from wsnmec.study.limit import deployment_network, fraction_of_limit
from wsnmec.study.runner import expand_tasks, run_study
from wsnmec.study.spec import load_study, parse_study

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(tmp_path / "bound-cache"))


def tiny_study(**extra) -> dict:
    data = {
        "title": "tiny fraction of the limit",
        "seed": 5,
        "seeds": 2,
        "base": {"nodes": 6, "field": [40, 40], "e0": 0.01, "packet_bits": 2000},
        "grid": {"protocol": ["direct", "leach", "leach-c"], "sink": [[20, 20], [20, 70]]},
        "bound": {"gap": 0.01, "time_limit": 300},  # far above a solve (and a cold compile of its kernels)
        "figures": [{"name": "fraction", "kind": "metric", "x": "protocol", "y": ["fnd_over_bound"],
                     "panel": "sink"}],
    }
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("limit")
    import os

    old = os.environ.get("WSNMEC_BOUND_CACHE")
    os.environ["WSNMEC_BOUND_CACHE"] = str(root / "bound-cache")
    try:
        spec = parse_study(tiny_study(), root / "tiny.toml")
        run = run_study(spec, root / "results", jobs=1, progress=False)
    finally:
        if old is None:
            del os.environ["WSNMEC_BOUND_CACHE"]
        else:
            os.environ["WSNMEC_BOUND_CACHE"] = old
    return spec, run, root


def test_fraction_of_limit_values():
    assert fraction_of_limit(150, 200) == 0.75
    assert fraction_of_limit(200, 200) == 1.0
    assert math.isnan(fraction_of_limit(None, 200))  # first node never died (run capped)
    assert math.isnan(fraction_of_limit(150, None))  # infinite bound (harvesting)
    assert math.isnan(fraction_of_limit(float("nan"), 200))


def test_bound_is_solved_for_the_deployment_the_task_simulated():
    spec = parse_study(tiny_study(), Path("tiny.toml"))
    for task in expand_tasks(spec)[:4]:
        net = deployment_network(task.scenario, task.seed)
        loop = RoundLoop(task.scenario, task.seed, clustering="direct")  # the simulator's own deployment
        np.testing.assert_array_equal(net.x, loop.x)
        np.testing.assert_array_equal(net.y, loop.y)
        np.testing.assert_array_equal(net.energy, loop.energy)


def test_summary_holds_fnd_over_an_independently_solved_bound(tiny_run):
    spec, run, _ = tiny_run
    summary = run.summary
    assert len(summary) == 12
    for row in summary.itertuples():
        task = next(t for t in run.tasks if t.key == row.task)
        scenario = task.scenario
        net = Network.from_scenario(scenario, deploy(scenario, np.random.default_rng(row.seed)))
        result = solve_bound(net, gap=0.01, time_limit=300)
        assert row.bound_fnd == result.fnd_upper
        assert row.bound_upper == pytest.approx(result.upper, rel=1e-9)
        assert row.bound_stopped in ("gap", "optimal") and not row.bound_time_limited
        assert row.fnd_over_bound == pytest.approx(row.fnd / result.fnd_upper, rel=1e-12)
        # the bound's theorem: no policy's first node dies after fnd_upper
        assert row.fnd <= row.bound_fnd
        assert 0 < row.fnd_over_bound <= 1


def test_one_bound_per_deployment_shared_by_every_policy(tiny_run):
    _, run, root = tiny_run
    per_deployment = run.summary.groupby(["sink", "seed"])["bound_fnd"].nunique()
    assert (per_deployment == 1).all()
    assert len(list((root / "bound-cache").glob("*.json"))) == 4  # 2 sinks x 2 seeds


def test_rerun_reads_the_summary_and_keeps_the_fraction(tiny_run, monkeypatch):
    spec, run, root = tiny_run
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(root / "bound-cache"))
    stored = pd.read_parquet(root / "results" / spec.name / "full" / "summary.parquet")
    pd.testing.assert_series_equal(stored["fnd_over_bound"], run.summary["fnd_over_bound"])
    again = run_study(spec, root / "results", jobs=1, progress=False)
    assert again.computed == 0
    pd.testing.assert_series_equal(again.summary["fnd_over_bound"], run.summary["fnd_over_bound"])
    # a finished study is read without the bound cache (nothing is solved again) ...
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(root / "empty-bound-cache"))
    again = run_study(spec, root / "results", jobs=1, progress=False)
    pd.testing.assert_series_equal(again.summary["fnd_over_bound"], run.summary["fnd_over_bound"])
    assert not (root / "empty-bound-cache").exists()
    # ... unless its [bound] settings changed
    from dataclasses import replace

    changed = replace(spec, bound={"gap": 0.01, "time_limit": 301.0})
    again = run_study(changed, root / "results", jobs=1, progress=False)
    assert len(list((root / "empty-bound-cache").glob("*.json"))) == 4
    pd.testing.assert_series_equal(again.summary["fnd_over_bound"], run.summary["fnd_over_bound"])


def test_fraction_figure_draws(tiny_run, tmp_path):
    _, run, _ = tiny_run
    drawn = draw_study(run, tmp_path)
    assert [figure.name for figure, _, _ in drawn] == ["fraction"]
    assert all(path.is_file() for _, paths, _ in drawn for path in paths)


@pytest.mark.parametrize("change, key", [
    ({"bound": {"gap": 1.5}}, "bound.gap"),
    ({"bound": {"time_limit": 0}}, "bound.time_limit"),
    ({"bound": {"limit": 3}}, "bound.limit"),
    ({"bound": None}, "figures[0].y"),  # fnd_over_bound without a [bound] table
    ({"quick": {"bound": {"time_limit": 5}}, "bound": None, "figures": []}, "quick.bound"),
])
def test_bad_bound_tables(change, key):
    data = tiny_study(**change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ParameterError) as error:
        parse_study(data, Path("tiny.toml"))
    assert error.value.parameter == f"tiny.toml: {key}"


def test_quick_bound_overrides_the_time_limit():
    spec = parse_study(tiny_study(quick={"bound": {"time_limit": 5}}), Path("tiny.toml"))
    assert spec.bound == {"gap": 0.01, "time_limit": 300.0}
    assert spec.variant(True).bound == {"gap": 0.01, "time_limit": 5.0}


def test_limit_fraction_study_file():
    spec = load_study(REPO / "studies" / "limit_fraction.toml")
    from wsnmec.clustering.registry import CLUSTERING_POLICIES

    assert set(spec.grid["protocol"]) == set(CLUSTERING_POLICIES)  # every shipped policy
    cases = {(c["nodes"], tuple(c["field"]), tuple(c["sink"])) for c in spec.grid["case"]}
    assert cases == {(100, (100, 100), (50, 50)), (100, (100, 100), (50, 175)), (400, (200, 200), (100, 250))}
    assert spec.seeds == 30 and spec.bound["time_limit"] > 0
    quick = spec.variant(True)
    assert max(c["nodes"] for c in quick.grid["case"]) <= 20 and quick.seeds <= 2
    assert quick.bound["time_limit"] <= 30


def test_reading_lists_every_case_and_policy(tiny_run):
    spec, run, _ = tiny_run
    from wsnmec.study.figures import _text
    from wsnmec.study.limit import fraction_table
    from wsnmec.study.report import reading

    table = fraction_table(spec.figures[0], run)
    assert len(table) == 6 and (table["seeds"] == 2).all() and (table["time_limited"] == 0).all()
    for row in table.itertuples():
        rows = run.summary[(run.summary["protocol"] == row.x)
                           & (run.summary["sink"].map(_text) == row.panel)]
        assert row.mean == pytest.approx(rows["fnd_over_bound"].mean())
        assert row.low <= row.mean <= row.high <= 1
    text = reading(spec.figures[0], run)
    assert text.count("\n| ") == 7  # header + one row per case and policy


def test_hand_solved_three_node_case(tmp_path):
    """Three nodes 1 m from the sink, no control messages: each node's cheapest role is sending its own
    packet straight to the sink, k (E_elec + eps_fs 1 m^2) [J] (a member would send as far or farther, to a head
    at least sqrt(2) m away, and a head pays reception and aggregation on top), so the bound is
    E0 / (k (E_elec + eps_fs)) rounds, direct reaches fnd_upper = floor(that) + 1 and scores 1."""
    positions = tmp_path / "p.csv"
    positions.write_text("x,y\n49,50\n51,50\n50,49\n", encoding="utf-8")
    e0, bits, e_elec, eps_fs = 0.01, 4000, 50e-9, 10e-12  # heinzelman2002 radio
    data = {"title": "hand", "seed": 1, "seeds": 1,
            "base": {"positions": str(positions), "sink": [50, 50], "e0": e0, "packet_bits": bits,
                     "radio": "heinzelman2002", "control_bits": 0},
            "grid": {"protocol": ["direct", "leach"]}, "bound": {"time_limit": 300}}  # far above the solve
    run = run_study(parse_study(data, tmp_path / "hand.toml"), tmp_path / "results", jobs=1, progress=False)
    upper = e0 / (bits * (e_elec + eps_fs * 1.0))  # 49.99 rounds
    rows = run.summary.set_index("protocol")
    assert rows.loc["direct", "bound_upper"] == pytest.approx(upper, rel=1e-6)
    assert rows.loc["direct", "bound_fnd"] == math.floor(upper) + 1 == 50
    assert rows.loc["direct", "fnd"] == 50 and rows.loc["direct", "fnd_over_bound"] == 1.0
    assert rows.loc["leach", "fnd_over_bound"] == pytest.approx(rows.loc["leach", "fnd"] / 50)
    assert rows.loc["leach", "fnd"] <= 50


def test_bound_solves_on_worker_processes_equal_those_in_process(tmp_path, monkeypatch):
    """``jobs`` > 1 solves the deployments on worker processes: the same bound columns as one after another
    in this process (solves without a time limit do not depend on the clock), each deployment cached once."""
    from wsnmec.study.limit import add_bound_columns

    spec = parse_study(tiny_study(), tmp_path / "tiny.toml")
    tasks = expand_tasks(spec)
    summary = pd.DataFrame({"task": [t.key for t in tasks], "fnd": [5.0] * len(tasks)})
    columns = ["bound_upper", "bound_fnd", "bound_stopped", "bound_time_limited", "fnd_over_bound"]
    untimed = {"gap": 0.01, "time_limit": None}
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(tmp_path / "in-process"))
    alone = add_bound_columns(summary, tasks, untimed, jobs=1)
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(tmp_path / "workers"))
    pooled = add_bound_columns(summary, tasks, untimed, jobs=2)
    pd.testing.assert_frame_equal(alone[columns], pooled[columns])
    assert (pooled["bound_stopped"].isin(["gap", "optimal"])).all()
    assert len(list((tmp_path / "workers").glob("*.json"))) == 4  # 2 sinks x 2 seeds, shared by 3 policies
    # once every deployment is cached, no worker process is started
    import wsnmec.study.runner as runner

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for cached bounds")

    monkeypatch.setattr(runner, "ExecutorHandle", no_pool)
    again = add_bound_columns(summary, tasks, untimed, jobs=2)
    pd.testing.assert_frame_equal(again[columns], pooled[columns])
