"""The policy-loop baselines end to end through the policy round loop (simulate): reproducible, energy
conserved, sensible lifetimes (every registered policy the fused loop does not run, taken from the
registry so that a new policy gets these tests); leach-c and deec: heterogeneous energies, harvesting
and control messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wsnmec.sim.checks import energy_balance_problems
from wsnmec.clustering.registry import CLUSTERING_POLICIES, policy_class
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

#: Policies whose per-round search makes these 250-400-round runs take about a minute each (marked slow;
#: their quicker conformance tests are in their own files, e.g. test_spread_anneal.py).
SLOW = {"anneal"}
#: Every registered policy run by the policy round loop (not the fused built-ins), from the registry.
POLICY_LOOP = [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
               for name in CLUSTERING_POLICIES if policy_class(name).fused_code is None]
#: The energy-aware baselines of the behavioural tests below.
BASELINES = ["leach-c", "deec"]
SMALL = dict(nodes=40, e0=0.02)
#: lp-schedule solves its deployment's lifetime bound at reset: by column generation, about ten times slower at
#: 40 nodes than at 20 (measured: 24 s against 1.3 s for two replicas), so it runs these tests on 20 nodes (the
#: solver's own tests are in test_bound.py).
NODES = {"lp-schedule": 20}


def small(protocol):
    """The small network of these tests for ``protocol``."""
    return dict(SMALL, nodes=NODES.get(protocol, SMALL["nodes"]))


def assert_conserved(result):
    """initial + harvested - consumed = stored, every round (per replica); clean: residual = stored >= 0; the
    summary's totals equal the rounds' (:func:`wsnmec.sim.checks.energy_balance_problems`)."""
    assert energy_balance_problems(result) == []


@pytest.mark.parametrize("protocol", POLICY_LOOP)
def test_seeded_run_identical_twice_and_seeds_differ(protocol):
    scenario = Scenario.from_mapping(protocol=protocol, harvest="bernoulli:0.0005,0.2", advanced_fraction=0.2,
                                     advanced_factor=1.0, rounds=400, **small(protocol))
    a = simulate(scenario, seed=11, replicas=2)
    b = simulate(scenario, seed=11, replicas=2, workers=1)
    pd.testing.assert_frame_equal(a.rounds, b.rounds)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = simulate(scenario, seed=12, replicas=2)
    assert not np.array_equal(a.rounds["stored_j"].to_numpy(), c.rounds["stored_j"].to_numpy())
    assert a.config["protocol"] == protocol


@pytest.mark.parametrize("protocol", POLICY_LOOP)
@pytest.mark.parametrize("extras", [
    {},
    {"harvest": "constant:0.0002", "revive_threshold": 0.001},
    {"harvest": "markov:0.001,0,0.3,0.1", "advanced_fraction": 0.3, "advanced_factor": 2.0},
    {"e0": "0.01..0.03", "control_bits": 200, "offload": "greedy", "join": "cluster"},
    {"sink": "50,175", "workload": "dnn-inference", "offload": "exact", "idle_j": 1e-6},
])
def test_energy_conserved(protocol, extras):
    # 250 rounds: the networks without harvest are dead by round 100; the harvesting ones have died and
    # revived many times by then.
    params = dict(small(protocol), protocol=protocol, rounds=250)
    params.update(extras)
    result = simulate(Scenario.from_mapping(**params), seed=3, replicas=2)
    assert_conserved(result)
    assert (result.rounds["consumed_j"] > 0).any()


@pytest.mark.parametrize("protocol", POLICY_LOOP)
def test_lifetimes_sensible_and_every_node_dies(protocol):
    network = small(protocol)
    result = simulate(Scenario.from_mapping(protocol=protocol, **network), seed=5, replicas=3)
    for replica, rounds in result.rounds.groupby("replica"):
        row = result.summary.iloc[replica]
        assert 1 <= row["fnd"] <= row["hnd"] <= row["lnd"] == len(rounds)
        assert rounds["alive"].iloc[-1] == 0
        # alive nodes when the heads are chosen: those alive at the end of the previous round
        alive_before = rounds["alive"].shift(1, fill_value=network["nodes"]).to_numpy()
        heads = rounds["cluster_heads"].to_numpy()
        assert (heads <= alive_before).all()
        if protocol == "leach-c":
            # min(round(p n), eligible) heads, at least one
            assert (heads >= 1).all()
            p = result.config["p_resolved"][replica]
            assert (heads <= np.maximum(1, np.floor(p * alive_before + 0.5))).all()
    assert_conserved(result)


def test_leach_c_outlives_direct_transmission_with_a_far_sink():
    """Sink 125 m outside the field: direct transmission (multipath to the sink from every node) dies
    long before the clustered networks."""
    far = dict(nodes=100, e0=0.1, sink="50,175")
    direct = simulate(Scenario.from_mapping(protocol="direct", **far), seed=1, replicas=2).summary
    for protocol in BASELINES:
        summary = simulate(Scenario.from_mapping(protocol=protocol, **far), seed=1, replicas=2).summary
        assert summary["hnd"].mean() > 1.5 * direct["hnd"].mean(), protocol


def test_centralized_control_is_charged_for_leach_c():
    base = dict(SMALL, protocol="leach-c", rounds=50)
    off = simulate(Scenario.from_mapping(**base, control_bits=0), seed=2).rounds
    on = simulate(Scenario.from_mapping(**base, control_bits=200), seed=2).rounds
    assert (off["control_j"] == 0).all()
    assert (on["control_j"] > 0).all()


@pytest.mark.parametrize("protocol", BASELINES)
def test_advanced_nodes_are_heads_more_often(protocol):
    """SEP network (20 % advanced nodes with 3x the energy), policy round loop: DEEC's p_i and LEACH-C's
    above-mean rule both make the advanced nodes heads more often per node than the normal ones."""
    from wsnmec.sim.rounds import RoundLoop

    scenario = Scenario.from_mapping(protocol=protocol, nodes=100, e0=0.1, advanced_fraction=0.2,
                                     advanced_factor=2.0, rounds=200)
    loop = RoundLoop(scenario, seed=6)
    advanced = loop.initial > 0.1 * 1.5
    turns = np.zeros(100)
    for _ in range(150):
        loop.step()
        turns += loop.last_heads
    assert advanced.sum() == 20
    assert turns[advanced].mean() > 2.0 * turns[~advanced].mean()
