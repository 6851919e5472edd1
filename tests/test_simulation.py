"""simulate(): tables, reproducibility, energy conservation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from wsnmec import __version__
from wsnmec.errors import ParameterError
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import ROUND_COLUMNS, SUMMARY_COLUMNS, simulate

SMALL = dict(nodes=30, e0=0.02)


def test_tables_and_config():
    scenario = Scenario.from_mapping(protocol="leach", **SMALL)
    result = simulate(scenario, seed=5, replicas=3, workers=2)
    assert list(result.rounds.columns) == list(ROUND_COLUMNS)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    for column in ("fnd", "hnd", "lnd"):
        assert str(result.summary[column].dtype) == "Int64"
    config = result.config
    assert config["seed"] == 5 and config["replicas"] == 3 and config["nodes"] == 30
    assert config["replica_seeds"][0] == 5 and len(set(config["replica_seeds"])) == 3
    assert config["version"] == __version__ and config["radio_constants"]["e_elec"] == 50e-9
    assert config["protocol"] == "leach" and config["sink"] == [50.0, 50.0]
    assert list(result.summary["seed"]) == config["replica_seeds"]
    for replica, group in result.rounds.groupby("replica"):
        row = result.summary.iloc[replica]
        assert list(group["round"]) == list(range(1, len(group) + 1))
        assert row["rounds"] == len(group)
        assert (group["alive"] + group["dead"] == 30).all()
        assert group["alive"].iloc[-1] == 0 and row["lnd"] == len(group)  # runs until all are dead
        assert row["fnd"] <= row["hnd"] <= row["lnd"]
        assert group["packets_to_sink"].iloc[0] >= 1
        assert group["nodes_ge_90pct"].iloc[0] <= 30
        assert row["energy_initial_j"] == pytest.approx(30 * 0.02)
        assert row["energy_consumed_j"] == pytest.approx(group["consumed_j"].sum())


def test_same_seed_identical_different_seeds_differ():
    scenario = Scenario.from_mapping(protocol="ileach", harvest="markov:0.0005,0.0,0.2,0.2", rounds=200, **SMALL)
    a = simulate(scenario, seed=42, replicas=2)
    b = simulate(scenario, seed=42, replicas=2, workers=1)
    c = simulate(scenario, seed=43, replicas=2)
    pd.testing.assert_frame_equal(a.rounds, b.rounds)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not np.array_equal(a.rounds["residual_j"].to_numpy(), c.rounds["residual_j"].to_numpy())
    # replicas of one run differ from each other too
    r0 = a.rounds[a.rounds.replica == 0]["residual_j"].to_numpy()
    r1 = a.rounds[a.rounds.replica == 1]["residual_j"].to_numpy()
    assert not np.array_equal(r0, r1)


def test_recorded_replica_seed_reproduces_the_replica():
    scenario = Scenario.from_mapping(protocol="leach", semantics="matlab", **SMALL)
    many = simulate(scenario, seed=9, replicas=3)
    seed = int(many.summary["seed"].iloc[2])
    one = simulate(scenario, seed=seed, replicas=1)
    expected = many.rounds[many.rounds.replica == 2].drop(columns="replica").reset_index(drop=True)
    pd.testing.assert_frame_equal(one.rounds.drop(columns="replica"), expected)


def test_fresh_seed_is_recorded_and_reproduces():
    scenario = Scenario.from_mapping(protocol="leach", rounds=50, **SMALL)
    first = simulate(scenario)
    again = simulate(scenario, seed=first.config["seed"])
    pd.testing.assert_frame_equal(first.rounds, again.rounds)


def test_progress_counts_every_round():
    scenario = Scenario.from_mapping(protocol="direct", **SMALL)
    calls = []
    result = simulate(scenario, seed=1, replicas=3, progress=calls.append)
    assert sum(calls) == len(result.rounds)


def test_rounds_cap_and_nulls():
    scenario = Scenario.from_mapping(protocol="leach", nodes=30, e0=0.5, rounds=10)
    result = simulate(scenario, seed=1)
    assert len(result.rounds) == 10
    assert result.summary["fnd"].isna().all() and result.summary["lnd"].isna().all()


def test_bad_arguments():
    scenario = Scenario()
    with pytest.raises(ParameterError, match="--replicas"):
        simulate(scenario, seed=1, replicas=0)
    with pytest.raises(ParameterError, match="--seed"):
        simulate(scenario, seed=-1)
    with pytest.raises(ParameterError, match="workers"):
        simulate(scenario, seed=1, workers=0)
    with pytest.raises(ParameterError, match="--replicas"):
        simulate(scenario, seed=1, replicas=100_001)


def test_config_records_effective_battery_rounds_cap_and_positions_hash(tmp_path):
    import hashlib

    from wsnmec.sim.scenario import MAX_ROUNDS

    result = simulate(Scenario.from_mapping(nodes=5, e0=0.3, rounds=4), seed=1)
    config = result.config
    assert (config["battery_j"], config["battery_rule"], config["rounds_cap"]) == (
        0.3, "initial energy of each node", 4)
    assert "positions_sha256" not in config and config["battery"] is None
    result = simulate(Scenario.from_mapping(nodes=5, e0=0.3, battery=0.8, p=0.5, advanced_fraction=0.4,
                                            advanced_factor=1.0, rounds=2), seed=1)
    assert (result.config["battery_j"], result.config["battery_rule"]) == (0.8, "--battery")
    result = simulate(Scenario.from_mapping(nodes=5, e0=0.3, advanced_fraction=0.4, advanced_factor=1.0,
                                            rounds=2), seed=1)
    assert result.config["battery_j"] is None  # capacities differ: 0.6 J advanced, 0.3 J normal
    assert Scenario.from_mapping().replace(rounds=None).max_rounds == MAX_ROUNDS
    data = b"x,y,energy\n1,2,0.1\n5,5,0.2\n"
    path = tmp_path / "nodes.csv"
    path.write_bytes(data)
    result = simulate(Scenario.from_mapping(positions=str(path), rounds=3), seed=2)
    assert result.config["positions_sha256"] == hashlib.sha256(data).hexdigest()
    assert result.config["battery_j"] is None and result.config["rounds_cap"] == 3


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from(["direct", "leach", "ileach"]),
    extras=st.fixed_dictionaries({
        "offload": st.sampled_from(["local", "edge", "greedy", "exact"]),
        "workload": st.sampled_from(["fusion", "dnn-inference"]),
        "control_bits": st.sampled_from([0, 200]),
        "idle_j": st.sampled_from([0.0, 1e-5]),
        "join": st.sampled_from(["nearest", "cluster"]),
    }),
    semantics=st.sampled_from(["clean", "matlab"]),
    nodes=st.integers(1, 60),
    e0=st.floats(0.001, 0.2),
    p=st.floats(0.02, 1.0),
    harvest=st.sampled_from(["none", "constant:0.0002", "bernoulli:0.002,0.1", "markov:0.001,0,0.3,0.1",
                             "solar:0.001,24", "markov-shared:0.001,0,0.3,0.1"]),
    revive=st.sampled_from([None, 0.001]),
    battery_factor=st.sampled_from([None, 1.0, 1.5]),  # the battery holds at least E0
    sink=st.sampled_from(["50,50", "0,0", "50,175"]),
    seed=st.integers(0, 2**63 - 1),
)
def test_energy_conservation(protocol, extras, semantics, nodes, e0, p, harvest, revive, battery_factor, sink,
                             seed):
    """initial + harvested - consumed = stored, every round, with computation, offloading, control and idle
    energy; under clean no energy goes below zero and the residual is the stored energy."""
    battery = None if battery_factor is None else e0 * battery_factor
    if semantics == "matlab":
        extras = dict(extras, offload="local")
    scenario = Scenario.from_mapping(protocol=protocol, semantics=semantics, nodes=nodes, e0=e0, p=p,
                                     harvest=harvest, revive_threshold=revive, battery=battery, sink=sink,
                                     rounds=300, **extras)
    result = simulate(scenario, seed=seed)
    rounds = result.rounds
    summary = result.summary.iloc[0]
    balance = summary["energy_initial_j"] + rounds["harvested_j"].cumsum() - rounds["consumed_j"].cumsum()
    scale = summary["energy_initial_j"] + summary["energy_harvested_j"]
    np.testing.assert_allclose(balance.to_numpy(), rounds["stored_j"].to_numpy(), rtol=0, atol=1e-9 * scale)
    assert summary["energy_stored_j"] == pytest.approx(
        summary["energy_initial_j"] + summary["energy_harvested_j"] - summary["energy_consumed_j"],
        rel=1e-9, abs=1e-9 * scale)
    assert (rounds["consumed_j"] >= 0).all() and (rounds["harvested_j"] >= 0).all()
    assert (rounds["residual_j"] >= rounds["stored_j"]).all() and (rounds["residual_j"] >= 0).all()
    assert (rounds["latency_s"] >= 0).all() and (rounds["control_j"] <= rounds["consumed_j"] + 1e-15).all()
    if semantics == "clean":
        assert (rounds["residual_j"] >= 0).all()
        np.testing.assert_array_equal(rounds["residual_j"].to_numpy(), rounds["stored_j"].to_numpy())
