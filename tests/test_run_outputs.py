"""Outputs of ``wsnmec run`` that papers report (issue 19, click's CliRunner): bits and packets delivered to
the sink (totals and per-round means, old keys kept), ``--lifetime-threshold PCT`` and the stability period,
``nodes.parquet`` (per-node death rounds and energies) and ``--format csv``. Scenarios are tiny (20 nodes)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.sim.simulation import NODE_COLUMNS

DYING = ["--nodes", "20", "--e0", "0.01..0.03", "--rounds", "400", "--seed", "11", "--replicas", "2"]
#: a cap before every node is dead: some nodes alive at the end
CAPPED = ["--nodes", "20", "--e0", "0.02", "--rounds", "48", "--seed", "11", "--replicas", "2"]


def invoke(*args):
    return CliRunner().invoke(cli.main, ["run", *args])


def run_json(*args) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_out(tmp_path, name, *args) -> tuple[dict, object]:
    out = tmp_path / name
    data = run_json(*args, "--out", str(out))
    return data, out


# --- delivered bits and packets --------------------------------------------------------------------------


def test_delivered_totals_and_means_match_the_rounds_table(tmp_path):
    data, out = run_out(tmp_path, "d", *DYING)
    rounds = pd.read_parquet(out / "rounds.parquet")
    for replica, record in enumerate(data["replicas"]):
        mine = rounds[rounds["replica"] == replica]
        delivered = record["delivered"]
        assert delivered["bits_total"] == pytest.approx(mine["delivered_bits"].sum())
        assert delivered["packets_total"] == int(mine["packets_to_sink"].sum()) > 0
        assert delivered["bits_per_round_mean"] == pytest.approx(delivered["bits_total"] / record["rounds"])
        assert delivered["packets_per_round_mean"] == pytest.approx(delivered["packets_total"] / record["rounds"])
        assert record["utility"]["delivered_bits"] == delivered["bits_total"]  # the old key, a run total, kept
    for key in ("bits_total", "bits_per_round_mean", "packets_total", "packets_per_round_mean"):
        assert data["delivered"][key] == pytest.approx(np.mean([r["delivered"][key] for r in data["replicas"]]))
    assert data["utility"]["delivered_bits"] == pytest.approx(data["delivered"]["bits_total"])
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["packets_to_sink_total"]) == [r["delivered"]["packets_total"] for r in data["replicas"]]


def test_summary_text_shows_delivered_bits_and_packets():
    result = invoke(*DYING)
    assert result.exit_code == 0, result.output
    data = run_json(*DYING)
    lines = result.stdout.splitlines()
    line = lines[lines.index("Delivered to the sink, mean per replica:") + 1]
    assert f"{data['delivered']['bits_total']:,.0f} bit" in line
    assert f"{data['delivered']['packets_total']:,.1f} packets in total" in line
    assert "per round" in line


# --- lifetime threshold and stability period -------------------------------------------------------------


def test_lifetime_threshold_50_is_hnd_100_is_lnd_and_small_is_fnd():
    for percent, metric in (("50", "hnd"), ("100", "lnd"), ("5", "fnd"), ("0.5", "fnd")):
        data = run_json(*DYING, "--lifetime-threshold", percent)
        assert data["config"]["lifetime_threshold"] == float(percent)
        for record in data["replicas"]:
            assert record["lifetime_threshold"] == {"percent": float(percent), "round": record[metric]}


def test_lifetime_threshold_is_the_first_round_with_that_share_dead():
    data = run_json(*DYING, "--lifetime-threshold", "25")
    for record in data["replicas"]:
        alive = np.array(record["alive"])
        expected = int(np.flatnonzero(20 - alive >= 5)[0]) + 1  # 25 % of 20 nodes
        assert record["lifetime_threshold"]["round"] == expected
        assert record["fnd"] <= expected <= record["hnd"]


def test_lifetime_threshold_not_reached_is_null_and_shown_in_the_text():
    data = run_json(*CAPPED, "--lifetime-threshold", "90")
    assert all(r["lifetime_threshold"]["round"] is None for r in data["replicas"])
    result = invoke(*DYING, "--lifetime-threshold", "30")
    assert result.exit_code == 0, result.output
    assert "  30 % dead  mean" in result.stdout


@pytest.mark.parametrize("value", ["0", "-5", "100.5", "abc", "nan"])
def test_bad_lifetime_threshold_is_one_line_exit_2(value):
    result = invoke(*CAPPED, "--lifetime-threshold", value)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --lifetime-threshold:") and len(result.stderr.splitlines()) == 1
    assert "(0, 100]" in result.stderr


def test_stability_period_is_the_rounds_before_the_first_death(tmp_path):
    data, out = run_out(tmp_path, "s", *DYING)
    for record in data["replicas"]:
        assert record["stability_period"] == record["fnd"] - 1
        assert all(a == 20 for a in record["alive"][: record["stability_period"]])  # every node alive until then
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["stability_period"]) == [r["fnd"] - 1 for r in data["replicas"]]
    short = run_json("--nodes", "20", "--rounds", "3", "--seed", "1")  # nobody dies in 3 rounds at 0.5 J
    assert short["replicas"][0]["fnd"] is None and short["replicas"][0]["stability_period"] is None
    text = invoke(*DYING).stdout
    assert "stability period (rounds before the first death, FND - 1)  mean" in text


# --- nodes.parquet ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["leach", "leach-c"])  # the fused loop and the policy loop
def test_node_death_rounds_agree_with_the_alive_curve(tmp_path, protocol):
    data, out = run_out(tmp_path, protocol, *CAPPED, "--protocol", protocol)
    nodes = pd.read_parquet(out / "nodes.parquet")
    rounds = pd.read_parquet(out / "rounds.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(nodes.columns) == list(NODE_COLUMNS)
    for replica, record in enumerate(data["replicas"]):
        mine = nodes[nodes["replica"] == replica]
        assert list(mine["node"]) == list(range(20))
        assert (mine["seed"] == record["seed"]).all()
        deaths = mine["death_round"].to_numpy()
        dead = rounds[rounds["replica"] == replica].sort_values("round")["dead"].to_numpy()
        for round_number, dead_count in enumerate(dead, start=1):
            assert int(np.sum(deaths <= round_number)) == dead_count
        alive_at_end = record["alive"][-1]
        assert 0 < alive_at_end < 20  # the cap leaves some alive: their death round is NaN
        assert int(np.isnan(deaths).sum()) == alive_at_end
        assert (mine.loc[mine["death_round"].isna(), "energy_residual_j"] > 0).all()
        assert mine["energy_residual_j"].sum() == pytest.approx(record["energy"]["residual"], rel=1e-12, abs=1e-15)
        assert mine["energy_initial_j"].sum() == pytest.approx(record["energy"]["initial"], rel=1e-12)
        if not np.isnan(deaths).all():
            assert np.nanmin(deaths) == record["fnd"]
    assert list(summary["fnd"]) == [r["fnd"] for r in data["replicas"]]


def test_nodes_hold_the_positions_and_energies_of_a_positions_file(tmp_path):
    csv = tmp_path / "nodes.csv"
    csv.write_text("x,y,energy\n1,2,0.02\n30.5,40,0.01\n70,10.25,0.03\n", encoding="utf-8")
    data, out = run_out(tmp_path, "p", "--positions", str(csv), "--seed", "1")
    nodes = pd.read_parquet(out / "nodes.parquet")
    assert list(nodes["x"]) == [1.0, 30.5, 70.0] and list(nodes["y"]) == [2.0, 40.0, 10.25]
    assert list(nodes["energy_initial_j"]) == [0.02, 0.01, 0.03]
    assert nodes["death_round"].max() == data["replicas"][0]["lnd"]  # run until every node is dead


def test_writing_nodes_changes_nothing_else():
    import tempfile

    plain = run_json(*DYING)
    with tempfile.TemporaryDirectory() as scratch:
        written = run_json(*DYING, "--out", os.path.join(scratch, "o"))
    assert written == plain


# --- --format csv ----------------------------------------------------------------------------------------


def test_csv_and_parquet_hold_the_same_tables(tmp_path):
    _, parquet = run_out(tmp_path, "pq", *CAPPED, "--lifetime-threshold", "10")
    _, csv = run_out(tmp_path, "csv", *CAPPED, "--lifetime-threshold", "10", "--format", "csv")
    assert sorted(os.listdir(parquet)) == ["config.json", "nodes.parquet", "rounds.parquet", "summary.parquet"]
    assert sorted(os.listdir(csv)) == ["config.json", "nodes.csv", "rounds.csv", "summary.csv"]
    assert (parquet / "config.json").read_text() == (csv / "config.json").read_text()
    for name in ("rounds", "summary", "nodes"):
        a = pd.read_parquet(parquet / f"{name}.parquet")
        b = pd.read_csv(csv / f"{name}.csv")
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b) > 0
        for column in a.columns:
            if a[column].dtype == np.int64:  # seeds up to 2**63 - 1: compared as integers
                assert list(a[column]) == list(b[column]), f"{name}.{column}"
                continue
            left = a[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            right = b[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            np.testing.assert_array_equal(left, right, err_msg=f"{name}.{column}")
    summary = pd.read_csv(csv / "summary.csv")
    assert "lifetime_threshold_round" in summary.columns and (summary["lifetime_threshold_pct"] == 10).all()


def test_bad_format_is_one_line_exit_2(tmp_path):
    result = invoke(*CAPPED, "--format", "xlsx", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --format:") and "parquet, csv" in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("options", [
    {"protocol": "leach", "nodes": 50, "e0": 0.05},
    {"protocol": "direct", "nodes": 30, "e0": 0.02},
    {"protocol": "leach-dchs", "nodes": 40, "e0": 0.05, "semantics": "matlab", "preset": "classic"},
    {"protocol": "leach", "nodes": 40, "e0": 0.03, "harvest": "markov:1e-4,0,0.1,0.2", "rounds": 3000},
    {"protocol": "leach", "nodes": 40, "e0": 0.03, "harvest": "bernoulli:1e-3,0.3", "rounds": 600,
     "revive_threshold": 0.01},
    {"protocol": "heed", "nodes": 20, "e0": 0.02},
])
def test_per_node_table_leaves_the_run_unchanged(options):
    """The fused loop's chunks in which a node died are replayed round by round (wsnmec.sim.simulation):
    the tables are those of a run without the per-node table, and the death rounds match the dead counts."""
    from wsnmec.sim.scenario import Scenario
    from wsnmec.sim.simulation import simulate

    scenario = Scenario.from_mapping(options)
    plain = simulate(scenario, seed=5, replicas=2, workers=1)
    per_node = simulate(scenario, seed=5, replicas=2, workers=1, per_node=True)
    pd.testing.assert_frame_equal(plain.rounds, per_node.rounds)
    pd.testing.assert_frame_equal(plain.summary, per_node.summary)
    assert plain.nodes is None
    for replica, group in per_node.rounds.groupby("replica"):
        deaths = per_node.nodes.loc[per_node.nodes["replica"] == replica, "death_round"].to_numpy()
        if options.get("revive_threshold") is None:  # without revival a dead node stays dead
            for round_number, dead in zip(group["round"], group["dead"]):
                assert int(np.sum(deaths <= round_number)) == dead
        assert int(np.isnan(deaths).sum()) == group["alive"].iloc[-1]


def test_a_replay_that_differs_is_an_error():
    from wsnmec.sim.simulation import _DeathRounds, _replay_rounds

    energy, alive = np.array([1.0, 2.0]), np.ones(2, dtype=np.uint8)
    rng = np.random.default_rng(1)
    snapshot = ([energy.copy(), alive.copy()], rng.bit_generator.state)
    out_int, out_float = np.array([[2]]), np.array([[3.0]])

    def other_record(k, row_int, row_float):
        row_int[0, 0], row_float[0, 0] = 2, 2.5

    with pytest.raises(RuntimeError, match="another record"):
        _replay_rounds(other_record, (energy, alive), snapshot, out_int, out_float, rng, _DeathRounds(alive), 0)

    def same_record_other_state(k, row_int, row_float):
        row_int[0, 0], row_float[0, 0] = 2, 3.0
        energy[0] = 0.5

    with pytest.raises(RuntimeError, match="another node state"):
        _replay_rounds(same_record_other_state, (energy, alive), snapshot, out_int, out_float, rng,
                       _DeathRounds(alive), 0)
