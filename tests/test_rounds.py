"""The policy round loop, computation and offloading in the round, dry-run scoring (issue: open the simulator
to policies)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from naive import NaiveNetwork, simulate_naive
from wsnmec.clustering.base import ClusteringPolicy
from wsnmec.sim import Scenario, simulate
from wsnmec.sim.accounting import OFFLOAD_RULES
from wsnmec.sim.columns import ROUND_COLUMNS
from wsnmec.sim.rounds import OffloadPolicy, RoundLoop

COMPARED = [c for c in ROUND_COLUMNS if c not in ("replica", "seed")]


def assert_tables_equal(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)


@pytest.mark.parametrize("protocol", ["direct", "leach", "leach-dchs"])
@pytest.mark.parametrize("semantics", ["clean", "matlab"])
@pytest.mark.parametrize("harvest", ["none", "bernoulli:0.002,0.3", "markov:0.001,0.0002,0.1,0.2"])
def test_policy_loop_equals_fused_loop(protocol, semantics, harvest):
    """LEACH, LEACH-DCHS and direct run through the Python policy loop give the compiled loop's tables bit for
    bit (every per-round column, both semantics, with harvesting)."""
    scenario = Scenario.from_mapping(protocol=protocol, semantics=semantics, nodes=60, e0=0.05, harvest=harvest,
                                     revive_threshold=0.003 if harvest != "none" else None, rounds=700, p=0.1)
    fused = simulate(scenario, seed=11, replicas=2, loop="fused")
    policy = simulate(scenario, seed=11, replicas=2, loop="policy")
    assert fused.config["loop"] == "fused" and policy.config["loop"] == "policy"
    assert_tables_equal(fused.rounds, policy.rounds)
    assert_tables_equal(fused.summary, policy.summary)
    assert fused.rounds["cluster_heads"].sum() > 0 or protocol == "direct"


@pytest.mark.parametrize("offload", ["local", "edge", "greedy"])
@pytest.mark.parametrize("extra", [
    {},
    {"workload": "dnn-inference"},
    {"workload": "dnn-inference", "hardware": "cc2650", "time_weight": 0.5, "sink": "50,175"},
    {"control_bits": 200, "idle_j": 2e-6},
    {"join": "cluster", "control_bits": 64},
    {"e0": "0.02..0.06", "harvest": "markov-shared:0.0005,0,0.2,0.3"},
    {"harvest": "solar-w:0.0002,3600", "round_seconds": 20, "battery": 0.1},
])
def test_kernel_with_computation_and_offloading_matches_reference(offload, extra):
    """The compiled accounting with workloads, offloading rules, control and idle energy, the join rule and the
    new harvest specs equals the pure-Python reference bit for bit."""
    values = {"protocol": "leach", "nodes": 40, "e0": 0.05, "rounds": 300, "p": 0.15, "offload": offload}
    values.update(extra)
    scenario = Scenario.from_mapping(values)
    result = simulate(scenario, seed=5)
    records, lifetimes = simulate_naive(scenario, 5)
    assert len(result.rounds) == len(records)
    for column in COMPARED:
        expected = np.array([rec[column] for rec in records])
        np.testing.assert_array_equal(result.rounds[column].to_numpy(), expected, err_msg=column)
    if offload == "edge":
        assert (result.rounds["offloaded"] == result.rounds["cluster_heads"]).all()
    if offload == "local":
        assert (result.rounds["offloaded"] == 0).all()
    if extra.get("control_bits"):
        assert result.rounds["control_j"].sum() > 0


def test_default_workload_reproduces_the_classic_accounting():
    """fusion + local: the head pays k E_rx + (k+1) l E_DA + E_tx(l, d), as before computation existed."""
    from wsnmec.energy.radio import radio_model
    from wsnmec.sim.accounting import account_round

    x = np.array([0.0, 10.0, 20.0])
    y = np.zeros(3)
    energy = np.ones(3)
    alive = np.ones(3, dtype=bool)
    radio = radio_model()
    out = account_round(x, y, energy, alive, np.array([False, True, False]), (10.0, 30.0), radio, 4000)
    l = 4000
    member = l * radio.e_elec + l * radio.eps_fs * 100.0
    head = 2 * l * radio.e_elec + 3 * l * radio.e_da + (l * radio.e_elec + l * radio.eps_fs * 900.0)
    assert out.drawn[0] == pytest.approx(member, rel=1e-15) and out.drawn[1] == pytest.approx(head, rel=1e-15)
    # latency: members' slots, fusion cycles on the MSP430 preset, the result packet (250 kbit/s, 8 MHz)
    expected_latency = 2 * l / 250e3 + 3 * l * 4.0 / 8e6 + l / 250e3
    assert out.latency_s == pytest.approx(expected_latency, rel=1e-15)
    assert out.system_utility == pytest.approx(out.consumed + 0.01 * expected_latency, rel=1e-15)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 9), seed=st.integers(0, 2**32 - 1), workload=st.sampled_from(["fusion", "dnn-inference"]),
       time_weight=st.sampled_from([0.0, 0.01, 1.0, 30.0]), sink=st.sampled_from(["50,50", "50,175", "0,0"]))
def test_exact_rule_is_optimal_against_brute_force(n, seed, workload, time_weight, sink):
    """The O(n^3) exact rule reaches the brute-force minimum of the round's system utility over all 2^n
    decisions of the heads (each scored by applying it: members' energy is the same for every decision), and the
    reference's brute force over sum E + w_T max T picks a decision of the same value."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=40, rounds=1, workload=workload, time_weight=time_weight,
                                     sink=sink, offload="exact")
    rng = np.random.default_rng(seed)
    loop = RoundLoop(scenario, seed)
    heads = sorted(int(i) for i in rng.choice(loop.n, size=n, replace=False))
    mask = np.zeros(loop.n, dtype=bool)
    mask[heads] = True
    compiled = loop.score(mask[None, :], rule="exact")
    combos = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)
    decisions = np.zeros((len(combos), loop.n), dtype=np.uint8)
    decisions[:, heads] = combos
    every = loop.score(np.repeat(mask[None, :], len(combos), axis=0), decisions)
    assert compiled.system_utility[0] == pytest.approx(every.system_utility.min(), rel=1e-12)
    greedy = loop.score(mask[None, :], rule="greedy")
    assert compiled.system_utility[0] <= greedy.system_utility[0] * (1 + 1e-12)
    ref = NaiveNetwork(scenario, np.random.default_rng(seed))
    receivers = {i: ref.receiver(i, heads) for i in range(ref.n) if i not in heads}
    choice = ref.decide(heads, receivers)
    index = int("".join("1" if choice[c] else "0" for c in heads), 2)
    assert every.system_utility[index] == pytest.approx(every.system_utility.min(), rel=1e-12)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 6), ch_fraction=st.floats(0.0, 0.5),
       extra=st.sampled_from([{}, {"workload": "dnn-inference"}, {"control_bits": 100, "idle_j": 1e-6},
                              {"join": "cluster"}, {"e0": 0.001}]),
       rounds_before=st.integers(0, 30))
def test_dry_run_scoring_equals_applying_the_candidate(seed, k, ch_fraction, extra, rounds_before):
    """Scoring K random candidates leaves the state untouched and equals applying each candidate and measuring
    the difference (energy drawn per node, total, latency, utility)."""
    values = {"protocol": "leach", "nodes": 30, "rounds": 100}
    values.update(extra)
    scenario = Scenario.from_mapping(values)
    loop = RoundLoop(scenario, seed)
    for _ in range(rounds_before):
        loop.step()
    rng = np.random.default_rng(seed + 1)
    masks = (rng.random((k, loop.n)) < ch_fraction) & loop.alive.astype(bool)
    decisions = (rng.random((k, loop.n)) < 0.5).astype(np.uint8)
    before = loop.energy.copy(), loop.alive.copy()
    scores = loop.score(masks, decisions, per_node=True)
    np.testing.assert_array_equal(loop.energy, before[0])
    np.testing.assert_array_equal(loop.alive, before[1])

    class Fixed(ClusteringPolicy):
        name = "fixed"

        def __init__(self, mask):
            self.mask = mask

        def elect(self, state, rng):
            return self.mask

    class Given(OffloadPolicy):
        def __init__(self, decision):
            self.decision = decision

        def decide(self, state, heads, rng):
            return self.decision

    for j in range(k):
        # replay: a fresh loop with the same seed advanced the same way, then apply candidate j
        other = RoundLoop(scenario, seed)
        for _ in range(rounds_before):
            other.step()
        other.clustering = Fixed(masks[j])
        other.offloading = Given(decisions[j])
        other.rule = -1
        # the harvest of the applied round must not change anything: the scenarios here harvest nothing
        start = other.energy.copy()
        other.step()
        drawn = start - other.energy
        np.testing.assert_array_equal(scores.drawn[j], other.work.drawn)
        np.testing.assert_allclose(drawn, scores.drawn[j], rtol=1e-12, atol=1e-21)  # start - end rounds
        record = other.last_record
        assert scores.energy_j[j] == record["consumed_j"]
        assert scores.latency_s[j] == record["latency_s"]
        assert scores.system_utility[j] == record["system_utility"]
        assert scores.delivered_bits[j] == record["delivered_bits"]


def test_round_loop_state_is_read_only_and_follows_the_simulation():
    loop = RoundLoop(Scenario.from_mapping(protocol="leach", nodes=50, rounds=20), seed=3)
    state = loop.state
    with pytest.raises(ValueError):
        state.energy[0] = 1.0
    total = state.energy.sum()
    loop.step()
    assert state.round == 1 and state.energy.sum() < total
    assert state.consumed_last.sum() == pytest.approx(total - state.energy.sum(), rel=1e-12)


@pytest.mark.parametrize("offload", list(OFFLOAD_RULES))
def test_offload_rules_run_in_simulate(offload):
    scenario = Scenario.from_mapping(protocol="leach", nodes=50, rounds=200, offload=offload, workload="dnn-inference",
                                     sink="50,175")
    result = simulate(scenario, seed=1, replicas=2)
    assert result.summary["system_utility_mean"].notna().all()
    assert (result.rounds["system_utility"] >= result.rounds["energy_j"]).all()


def test_enumerated_optimum_equals_scoring_every_subset_one_by_one():
    """The chunked enumeration finds the same minimum as scoring each subset alone (exact offloading)."""
    from wsnmec.sim.optimum import enumerate_head_sets

    scenario = Scenario.from_mapping(protocol="leach", nodes=7, rounds=5, workload="dnn-inference", sink="50,175")
    loop = RoundLoop(scenario, seed=4)
    loop.step()
    best = enumerate_head_sets(loop, chunk=5)
    alive = np.flatnonzero(loop.alive)
    values = []
    for combo in itertools.product((0, 1), repeat=alive.size):
        mask = np.zeros(loop.n, dtype=bool)
        mask[alive[np.array(combo, dtype=bool)]] = True
        values.append(loop.score(mask[None, :], rule="exact").system_utility[0])
    assert best.candidates == 2 ** alive.size
    assert best.value == min(values)
    assert loop.score(best.mask[None, :], rule="exact").system_utility[0] == best.value
