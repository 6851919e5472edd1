"""``--control-bits`` for every protocol, in the fused kernel and in the policy loop: control energy is
charged exactly when B > 0 (and never for ``direct``, which has no control messages), and the energy
balance initial + harvested - consumed = residual holds with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wsnmec.clustering.deec import DEECPolicy
from wsnmec.clustering.registry import CLUSTERING_POLICIES, policy_class
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

BASE = {"nodes": 40, "e0": 0.02, "rounds": 400, "sink": (50, 120)}
CASES = [(name, "policy") for name in CLUSTERING_POLICIES] + [
    (name, "fused") for name in CLUSTERING_POLICIES if policy_class(name).fused_code is not None]
#: lp-schedule solves its deployment's lifetime bound at reset, about ten times slower at 40 nodes than at 20:
#: it runs these tests on 20 nodes.
NODES = {"lp-schedule": 20}


def balance(result):
    """Per-round initial + harvested - consumed and the stored / residual energies it must equal."""
    rounds, summary = result.rounds, result.summary.iloc[0]
    left = summary["energy_initial_j"] + rounds["harvested_j"].cumsum() - rounds["consumed_j"].cumsum()
    scale = summary["energy_initial_j"] + summary["energy_harvested_j"]
    return left.to_numpy(), rounds["stored_j"].to_numpy(), rounds["residual_j"].to_numpy(), scale


@pytest.mark.parametrize("protocol, loop", CASES)
@pytest.mark.parametrize("bits", [0, 200])
def test_control_energy_is_charged_when_b_is_positive_and_conserved(protocol, loop, bits):
    extras = {"harvest": "bernoulli:0.0005,0.2", "battery": 0.03} if bits else {}
    scenario = Scenario.from_mapping(BASE, protocol=protocol, control_bits=bits, p=0.1,
                                     nodes=NODES.get(protocol, BASE["nodes"]), **extras)
    result = simulate(scenario, seed=2, loop=loop)
    assert result.config["loop"] == loop
    control = result.rounds["control_j"]
    if bits == 0 or protocol == "direct":
        assert (control == 0).all()
    else:
        assert (control > 0).any() and control.sum() > 0
    assert (control >= 0).all()
    left, stored, residual, scale = balance(result)
    np.testing.assert_allclose(left, stored, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(left, residual, rtol=0, atol=1e-9 * scale)  # clean semantics: no negative energy


@pytest.mark.parametrize("protocol", [name for name in CLUSTERING_POLICIES if policy_class(name).fused_code is not None])
def test_fused_and_policy_loops_charge_the_same_control(protocol):
    scenario = Scenario.from_mapping(BASE, protocol=protocol, control_bits=200, p=0.1)
    fused = simulate(scenario, seed=4, loop="fused")
    policy = simulate(scenario, seed=4, loop="policy")
    np.testing.assert_array_equal(fused.rounds["control_j"], policy.rounds["control_j"])
    np.testing.assert_array_equal(fused.rounds["energy_j"], policy.rounds["energy_j"])


def test_deec_pays_the_mean_energy_broadcast():
    """DEEC's control energy is LEACH's distributed pattern plus exactly one E_rx(B) = B E_elec per alive node
    (the sink's E_mean broadcast), in rounds where nobody runs out of energy."""

    class Unpaid(DEECPolicy):
        def control_energy(self, state, heads):
            return None

    scenario = Scenario.from_mapping(protocol="deec", nodes=100, control_bits=200, p=0.1)
    paid = RoundLoop(scenario, seed=5)
    unpaid = RoundLoop(scenario, seed=5, clustering=Unpaid(scenario))
    e_elec = scenario.radio_model().e_elec
    for _ in range(3):
        alive = paid.alive_count
        paid.step()
        unpaid.step()
        np.testing.assert_array_equal(paid.last_heads, unpaid.last_heads)
        gap = paid.last_record["control_j"] - unpaid.last_record["control_j"]
        assert gap == pytest.approx(alive * 200 * e_elec, rel=1e-9)


# --- kept clusters: set-up messages only when the clusters change (wsnmec.sim.accounting Notes) -----------

import naive  # noqa: E402  (the pure-Python reference of the round)
from wsnmec.clustering.base import ClusteringPolicy  # noqa: E402
from wsnmec.sim.columns import ROUND_COLUMNS  # noqa: E402

COMPARED = [c for c in ROUND_COLUMNS if c not in ("replica", "seed")]
#: A scenario in which heads die and nodes revive, so that keeping is refused now and then.
KEEP_SCENARIO = {"nodes": 40, "e0": 0.02, "rounds": 400, "sink": (50, 120), "control_bits": 200, "p": 0.1,
                 "harvest": "bernoulli:0.0005,0.2", "battery": 0.03, "revive_threshold": 0.002}
HEAD_FRACTION = 0.15


class KeepEveryOther(ClusteringPolicy):
    """Random heads in odd rounds; in even rounds the previous round's clusters when they can be kept. One
    uniform per node every round (so the reference draws the same numbers)."""

    name = "keep-every-other"

    def __init__(self, scenario, control="distributed"):
        super().__init__(scenario)
        self.control = control

    def elect(self, state, rng):
        u = rng.random(state.n)
        if state.round % 2 == 0 and self.can_keep(state):
            return self.keep_previous(state)
        return (u < HEAD_FRACTION) & state.alive


def reference_elect(kept_before):
    """The same policy on the reference's plain lists, written from the rule (previous heads alive, every
    alive node in the previous round); appends to ``kept_before`` whether the previous round kept."""

    def elect(network, r):
        u = network.rng.random(network.n)
        if r > 1:
            kept_before.append(network.last_kept)
        previous = network.previous
        if r % 2 == 0 and previous is not None:
            heads = sorted(c for c, receiver in previous.items() if receiver == c)
            if all(network.alive[c] for c in heads) and all(i in previous for i in range(network.n) if network.alive[i]):
                return heads
        return [i for i in range(network.n) if network.alive[i] and u[i] < HEAD_FRACTION]

    return elect


@pytest.mark.parametrize("protocol, control", [("leach", "distributed"), ("leach-c", "centralized")])
def test_kept_rounds_pay_no_set_up_and_equal_the_reference(protocol, control):
    """A policy that keeps its clusters every other round: the policy loop equals the pure-Python reference
    on the same draws, column for column; kept rounds charge no control energy, the others do, and the energy
    balance initial + harvested - consumed = residual holds."""
    scenario = Scenario.from_mapping(KEEP_SCENARIO, protocol=protocol)
    result = simulate(scenario, seed=3, clustering=lambda sc: KeepEveryOther(sc, control))
    kept = []
    reference = naive.NaiveNetwork(scenario, np.random.default_rng(3))
    records = reference.run(elect=reference_elect(kept))
    kept.append(reference.last_kept)
    assert len(records) == len(result.rounds)
    for column in COMPARED:
        expected = np.array([rec[column] for rec in records])
        np.testing.assert_array_equal(result.rounds[column].to_numpy(), expected, err_msg=column)
    kept = np.array(kept)
    control_j = result.rounds["control_j"].to_numpy()
    with_heads = result.rounds["cluster_heads"].to_numpy() > 0
    assert kept.sum() > 20 and (~kept[1::2]).sum() > 0  # kept often, refused sometimes (deaths, revivals)
    assert kept[0::2].sum() < kept[1::2].sum() / 4  # odd rounds draw new heads (the same set only by chance)
    assert (control_j[kept] == 0).all()
    assert (control_j[~kept & with_heads] > 0).all()
    left, stored, residual, scale = balance(result)
    np.testing.assert_allclose(left, stored, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(left, residual, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
def test_fused_loop_keeps_repeated_clusters_like_the_reference(semantics):
    """LEACH with p = 1 elects every alive node every round, so its clusters repeat until a node dies: the
    fused loop, the policy loop and the reference charge set-up in round 1 and after each death only."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=30, e0=0.05, rounds=300, p=1.0, control_bits=200,
                                     semantics=semantics)
    fused = simulate(scenario, seed=8, loop="fused")
    policy = simulate(scenario, seed=8, loop="policy")
    records, _ = naive.simulate_naive(scenario, 8)
    for column in COMPARED:
        expected = np.array([rec[column] for rec in records])
        np.testing.assert_array_equal(fused.rounds[column].to_numpy(), expected, err_msg=column)
        np.testing.assert_array_equal(policy.rounds[column].to_numpy(), expected, err_msg=column)
    control_j = fused.rounds["control_j"].to_numpy()
    alive_before = np.concatenate([[scenario.nodes], fused.rounds["alive"].to_numpy()[:-1]])
    changed = np.concatenate([[True], alive_before[1:] != alive_before[:-1]])  # round 1, each round after a death
    assert control_j[0] > 0 and changed.sum() < len(changed) / 2
    np.testing.assert_array_equal(control_j > 0, changed)


def test_fused_loop_with_per_node_table_replays_kept_rounds():
    """The per-node table replays chunks of the fused loop; the previous round's clusters are part of the
    replayed state, so the replay repeats the records (it raises otherwise) and the tables do not change."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=30, e0=0.05, rounds=300, p=1.0, control_bits=200)
    plain = simulate(scenario, seed=9, loop="fused")
    with_nodes = simulate(scenario, seed=9, loop="fused", per_node=True)
    for column in COMPARED:
        np.testing.assert_array_equal(plain.rounds[column].to_numpy(), with_nodes.rounds[column].to_numpy())


def test_dry_run_scores_the_kept_candidate_without_set_up():
    """After a round, scoring the previous heads (kept) and the same heads with one head more: the kept candidate
    equals applying it (a round with no control energy); the scorer's set-up saving is exactly the pattern's
    cost, the same mask scored without a previous round."""
    from wsnmec.sim.accounting import account_round

    scenario = Scenario.from_mapping(protocol="leach", nodes=50, rounds=50, p=0.1, control_bits=200)
    loop = RoundLoop(scenario, seed=4)
    while not loop.last_heads.any():
        loop.step()
    previous = loop.work.previous.copy()
    heads = loop.last_heads.copy()
    state = dataclasses.replace(loop.state, round=loop.round + 1)  # as in the next round's elect (no harvest)
    policy = ClusteringPolicy(scenario)
    assert policy.can_keep(state)
    np.testing.assert_array_equal(policy.keep_previous(state), heads & loop.alive.astype(bool))
    scores = loop.score(heads[None, :], rule="local", per_node=True)
    fresh = account_round(loop.x, loop.y, loop.energy.copy(), loop.alive.copy(), heads, loop.deployment.sink,
                          scenario.radio_model(), scenario.packet_bits, control_bits=200, control="distributed",
                          medium=scenario.medium)
    kept = account_round(loop.x, loop.y, loop.energy.copy(), loop.alive.copy(), heads, loop.deployment.sink,
                         scenario.radio_model(), scenario.packet_bits, control_bits=200, control="distributed",
                         medium=scenario.medium, previous_receivers=previous)
    assert kept.clusters_kept and not fresh.clusters_kept
    np.testing.assert_array_equal(scores.drawn[0], kept.drawn)
    assert fresh.consumed > kept.consumed

    class Keep(ClusteringPolicy):
        control = "distributed"

        def elect(self, state, rng):
            return self.keep_previous(state)

    loop.clustering = Keep(scenario)
    loop.step()
    assert loop.last_kept and loop.last_record["control_j"] == 0.0
    assert loop.last_record["consumed_j"] == scores.energy_j[0]


def test_keeping_is_refused_after_a_head_dies():
    """``can_keep`` is false when a previous head is dead; electing the surviving heads then pays set-up."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=20, rounds=20, p=0.2, control_bits=200, e0=0.5)
    loop = RoundLoop(scenario, seed=6)
    while loop.last_heads.sum() < 2:
        loop.step()
    head = int(np.flatnonzero(loop.last_heads)[0])
    state = dataclasses.replace(loop.state, round=loop.round + 1)
    policy = ClusteringPolicy(scenario)
    assert policy.can_keep(state)
    loop.alive[head] = 0  # as if it had run out of energy
    loop.energy[head] = 0.0
    assert not policy.can_keep(state)
    assert not policy.keep_previous(state)[head] and policy.keep_previous(state).sum() == loop.last_heads.sum() - 1
