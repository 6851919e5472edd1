"""Tests of the lifetime bound (:mod:`wsnmec.bound`), the ``wsnmec bound`` command and ``lp-schedule``.

Networks are tiny (N <= 8, small E0) so that exhaustive searches and simulations take well under a second.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from wsnmec import cli
from wsnmec.bound.cache import solve_cached
from wsnmec.bound import colgen
from wsnmec.bound.colgen import FacilityInstance, Pricing, _master, _MasterLP, rounded_head_sets, solve_bound
from wsnmec.bound.costs import SCORING_ENERGY, LinearCosts, Network, score_configurations
from wsnmec.clustering.base import ClusteringPolicy
from wsnmec.sim.deployment import deploy
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WSNMEC_BOUND_CACHE", str(tmp_path / "bound-cache"))


def network(seed=1, **options) -> Network:
    scenario = Scenario.from_mapping(options)
    return Network.from_scenario(scenario, deploy(scenario, np.random.default_rng(seed)))


def every_head_set(n) -> np.ndarray:
    """Every head set of ``n`` nodes (bool[2^n, n]), head set k holding the nodes of k's set bits."""
    return (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1 != 0


def random_masks(n, k, rng):
    masks = rng.random((k, n)) < rng.uniform(0.0, 0.5, size=(k, 1))
    masks[0] = False
    return masks


# --- the cost model against the simulator's scorer ----------------------------------------------------


@pytest.mark.parametrize("options", [
    {"control_bits": 0},
    {"sink": "50,175", "control_bits": 0},
    {"workload": "dnn-inference", "offload": "edge", "idle_j": 1e-6, "control_bits": 0},
    {"sink": "50,175", "packet_bits": 2000, "radio": "heinzelman2000", "control_bits": 0},
    {"control_bits": 200},
    {"sink": "50,175", "control_bits": 64, "idle_j": 1e-6},
])
def test_model_equals_scorer_where_exact(options):
    """The model is the scorer of a kept round (no set-up messages), with or without control messages; with
    ``--control-bits 0`` a set-up round costs the same, with control it costs more."""
    net = network(seed=4, nodes=30, **options)
    model = LinearCosts(net)
    assert model.exact
    masks = random_masks(net.n, 40, np.random.default_rng(2))
    kept = score_configurations(net, masks, kept=True)
    set_up = score_configurations(net, masks)
    for mask, real in zip(masks, kept):
        modelled = model.node_costs(mask, model.nearest_receivers(net, mask))
        np.testing.assert_allclose(modelled, real, rtol=1e-12, atol=1e-18)
    if options["control_bits"] == 0:
        np.testing.assert_array_equal(set_up, kept)
    else:
        assert np.all(set_up >= kept) and np.all(set_up.sum(axis=1) > kept.sum(axis=1))


def simulator_receivers(net, mask):
    """The simulator's receivers of a configuration (a head itself, a member its head, -1 the sink)."""
    receivers = LinearCosts(net).nearest_receivers(net, mask)
    return np.where(mask, np.arange(net.n), receivers)


@pytest.mark.parametrize("options", [{}, {"sink": "50,175", "control_bits": 64, "offload": "greedy"}])
def test_kept_scoring_is_the_accounting_of_a_repeated_round(options):
    """``score_configurations(kept=True)`` equals the live accounting's dry run of the same head set when the
    previous round had exactly that configuration (its receivers remembered), under the bound's pattern."""
    scenario = Scenario.from_mapping(nodes=20, **options)
    net = network(5, nodes=20, **options)
    loop = RoundLoop(scenario, 5, clustering="lp-schedule")  # centralized, as the bound's schedules
    np.testing.assert_array_equal(loop.params, net.params)
    loop.energy[:] = SCORING_ENERGY
    masks = random_masks(net.n, 12, np.random.default_rng(6))
    kept = score_configurations(net, masks, kept=True)
    set_up = score_configurations(net, masks)
    for mask, expected, fresh in zip(masks, kept, set_up):
        loop.work.previous[:] = simulator_receivers(net, mask)
        np.testing.assert_array_equal(loop.score(mask[None, :], rule=scenario.offload, per_node=True).drawn[0],
                                      expected)
        loop.work.previous[:] = -2  # no previous round: set-up charged
        np.testing.assert_array_equal(loop.score(mask[None, :], rule=scenario.offload, per_node=True).drawn[0],
                                      fresh)


@pytest.mark.parametrize("options", [
    {"control_bits": 200},
    {"offload": "exact", "workload": "dnn-inference"},
    {"offload": "greedy", "control_bits": 64, "sink": "50,175", "join": "cluster"},
])
def test_model_never_above_scorer(options):
    """Not even above the scorer of a kept round (no set-up messages), the cheapest a round can be."""
    net = network(seed=5, nodes=30, **options)
    model = LinearCosts(net)
    masks = random_masks(net.n, 40, np.random.default_rng(3))
    scored = score_configurations(net, masks, kept=True)
    rng = np.random.default_rng(4)
    for mask, real in zip(masks, scored):
        assert np.all(model.node_costs(mask, model.nearest_receivers(net, mask)) <= real * (1 + 1e-12))
        # any receiver choice of the model is allowed; the scorer's own receivers are among them
        heads = np.flatnonzero(mask)
        if heads.size:
            other = np.where(rng.random(net.n) < 0.5, rng.choice(heads, net.n), -1)
            assert np.all(np.isfinite(model.node_costs(mask, other)))
    assert model.exact == (options.get("offload", "local") in ("local", "edge"))


# --- validity of the bound -----------------------------------------------------------------------------


def best_fnd_exhaustive(scenario, seed, clustering="direct"):
    """The largest FND over every sequence of head sets (breadth-first over rounds, dominated states pruned),
    each round accounted by the simulator's dry-run scorer with the control pattern of ``clustering``. A state
    is the energies and the previous round's head set, so a round that repeats it keeps its clusters and pays
    no set-up messages (accounting Notes, *Kept clusters*)."""
    loop = RoundLoop(scenario, seed, clustering=clustering)
    net = Network.from_scenario(scenario, loop.deployment)
    n = loop.n
    masks = every_head_set(n).astype(np.uint8)
    receivers = [simulator_receivers(net, mask.astype(bool)) for mask in masks]
    states = {-1: [loop.energy.copy()]}  # previous head set's code (-1: no previous round) -> energies
    rounds = 0
    while True:
        following = {}
        for previous, energies in states.items():
            loop.work.previous[:] = receivers[previous] if previous >= 0 else -2
            for energy in energies:
                loop.energy[:] = energy
                drawn = loop.score(masks, rule=scenario.offload, per_node=True).drawn
                after = energy[None, :] - drawn
                for code in np.flatnonzero(np.all(after > 0.0, axis=1)):
                    following.setdefault(int(code), []).append(after[code])
        if not following:
            return rounds + 1  # some node dies in the next round whatever the heads
        states = {}
        for code, energies in following.items():
            energies = np.array(energies)
            energies = energies[np.lexsort(energies.T[::-1])]
            kept = []
            for candidate in energies[::-1]:
                if not any(np.all(k >= candidate) for k in kept):
                    kept.append(candidate)
            states[code] = kept
        rounds += 1


@pytest.mark.parametrize("seed,options,clustering", [
    (1, {}, "direct"), (2, {"sink": "50,175"}, "direct"), (3, {"sink": "0,0"}, "direct"),
    (1, {"control_bits": 200}, "leach-c"), (2, {"sink": "50,175", "control_bits": 400}, "leach-c"),
    (3, {"control_bits": 400, "sink": "0,0"}, "leach"),
    (2, {"nodes": 3, "e0": 0.02, "sink": "50,175", "control_bits": 10000}, "leach"),
])
def test_bound_at_least_exhaustive_best(seed, options, clustering):
    """Also with control messages (``leach-c``: centralized, ``leach``: distributed), where the best sequence
    may repeat a head set to keep its clusters and save the set-up. In the last case (large set-up messages)
    the best sequence reaches FND 15 by keeping clusters, above the FND 10 of a bound that charged the
    least set-up in every round (measured with the former cost model)."""
    options = {"nodes": 4, "e0": 0.0015, **options}
    scenario = Scenario.from_mapping(**options)
    best = best_fnd_exhaustive(scenario, seed, clustering)
    result = solve_bound(network(seed, **options), gap=1e-6)
    assert result.fnd_upper >= best
    assert result.upper >= best - 1
    assert result.integer_rounds + 1 <= best  # the schedule is an achievable sequence


POLICIES = ("direct", "leach", "leach-dchs", "leach-c", "deec", "heed", "ddnn", "ddnn-rule", "lp-schedule")


class KeepHeads(ClusteringPolicy):
    """Elects ``heads`` (default: node 0) in round 1 and keeps those clusters in every later round, so that
    only round 1 pays set-up messages (while every head lives)."""

    name = "keep-heads"

    def __init__(self, scenario, heads=None, control="centralized"):
        super().__init__(scenario)
        self.heads = heads
        self.control = control

    def elect(self, state, rng):
        if state.round > 1:
            return self.keep_previous(state)
        heads = np.zeros(state.n, dtype=bool)
        if self.heads is None:
            heads[0] = True
        else:
            heads[:] = self.heads
        return heads & state.alive


def keep_fnd(scenario, seed, heads, control):
    """FND of :class:`KeepHeads` with ``heads`` (the round loop, stepped to the first death), and whether every
    round after the first kept its clusters."""
    loop = RoundLoop(scenario, seed, clustering=KeepHeads(scenario, heads, control))
    always_kept = True
    while loop.alive.all():
        loop.step()
        if loop.round > 1 and loop.alive.all():
            always_kept &= bool(loop.last_kept)
    return loop.round, always_kept


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), nodes=st.integers(3, 8), far=st.booleans())
def test_bound_at_least_every_policy(seed, nodes, far):
    """Every shipped policy with the default 200-bit control messages (lp-schedule keeps its clusters within
    a block of its schedule), and a policy that keeps its round-1 clusters in every round (both patterns)."""
    options = {"nodes": nodes, "e0": 0.01, "sink": "50,175" if far else None, "control_bits": 200}
    result = solve_bound(network(seed, **options), gap=1e-4)
    for control in ("centralized", "distributed"):
        run = simulate(Scenario.from_mapping(**options), seed, 1, clustering=lambda s, c=control: KeepHeads(s, None, c))
        assert run.summary["fnd"].iloc[0] <= result.fnd_upper, control
    for protocol in POLICIES:
        run = simulate(Scenario.from_mapping(protocol=protocol, **options), seed, 1)
        fnd = run.summary["fnd"].iloc[0]
        assert fnd <= result.fnd_upper, protocol
        if protocol == "lp-schedule":
            # the policy solves its own bound (gap 0.01, not this one's 1e-4), so its integer schedule may be
            # a little shorter or longer; with set-ups charged once per block it has been measured to reach
            # integer_rounds + 1 (seed 339, 8 nodes, far sink: FND 14 for 13 integer rounds; before, when
            # the plan charged set-up in every round, 13)
            assert fnd >= result.integer_rounds


@pytest.mark.parametrize("seed,nodes,options", [
    (1, 4, {}), (2, 5, {"sink": "50,175"}), (3, 6, {"control_bits": 400}), (4, 5, {"sink": "0,0", "control_bits": 800}),
])
def test_keeping_every_round_never_beats_the_bound(seed, nodes, options):
    """Every head set kept from round 1 to the first death (set-up paid once): FND <= the bound; the best of
    them is what a bound charging set-up in every round could miss."""
    options = {"nodes": nodes, "e0": 0.005, **options}
    scenario = Scenario.from_mapping(**options)
    result = solve_bound(network(seed, **options), gap=1e-6)
    for control in ("centralized", "distributed"):
        best = 0
        for heads in every_head_set(nodes):
            fnd, always_kept = keep_fnd(scenario, seed, heads, control)
            assert always_kept
            best = max(best, fnd)
        assert best <= result.fnd_upper, control


@pytest.mark.parametrize("seed,options", [(1, {"nodes": 8, "e0": 0.01}),
                                          (2, {"nodes": 7, "e0": 0.01, "sink": "50,175"})])
def test_lp_schedule_keeps_clusters_within_a_block(seed, options):
    """lp-schedule runs each configuration's rounds in one block: a round that repeats the previous round's head
    set keeps its clusters (no set-up, as planned), one that changes it sets up; every node outlives the
    integer schedule, whose set-ups were charged once per block."""
    scenario = Scenario.from_mapping(protocol="lp-schedule", control_bits=200, **options)
    loop = RoundLoop(scenario, seed)
    loop.step()
    policy = loop.clustering
    plan = policy.plan
    assert plan.size == policy.result.integer_rounds > 0 and np.unique(plan).size < plan.size  # blocks repeat
    assert not loop.last_kept
    for r in range(1, plan.size):
        loop.step()
        assert loop.alive.all()
        assert loop.last_kept == (plan[r] == plan[r - 1]), r
        assert (loop.last_record["control_j"] == 0.0) == loop.last_kept


def test_lp_schedule_records_each_replicas_solve_in_the_run_config():
    """A run of lp-schedule records, per replica, its solve (the bound's upper value, why it stopped, whether the
    time limit cut it) and its schedule's rounds; a policy that records nothing adds no key."""
    scenario = Scenario.from_mapping(protocol="lp-schedule", nodes=8, e0=0.02, rounds=30)
    result = simulate(scenario, seed=5, replicas=2, workers=1)
    records = result.config["clustering_runs"]
    for replica_seed, record in zip(result.config["replica_seeds"], records):
        solved, cached = solve_cached(Network.from_scenario(scenario, deploy(scenario,
                                                                          np.random.default_rng(replica_seed))))
        assert cached and record == {"bound_upper": solved.upper, "bound_stopped": solved.stopped,
                                     "time_limited": False, "schedule_rounds": solved.integer_rounds}
    from wsnmec.bound import lp_schedule

    # the config describes the policy before any replica: its settings, and no bound yet
    assert result.config["clustering_parameters"] == {
        "name": "lp-schedule", "gap": lp_schedule.SCHEDULE_GAP, "time_limit_s": lp_schedule.SCHEDULE_TIME_LIMIT,
        "schedule_share": lp_schedule.SCHEDULE_SHARE, "bound_upper": None}
    assert "clustering_runs" not in simulate(Scenario.from_mapping(nodes=8, rounds=5), seed=5).config
    assert "clustering_runs" not in simulate(Scenario.from_mapping(protocol="spread", nodes=8, rounds=5),
                                             seed=5).config


def test_lp_schedule_keeps_its_share_of_the_limit_for_the_schedule(monkeypatch):
    """lp-schedule solves with its time limit and keeps SCHEDULE_SHARE of it for the schedule under the
    simulator's rules (``wsnmec bound`` keeps none)."""
    from wsnmec.bound import cache, lp_schedule

    asked = []
    real = cache.solve_cached

    def recording(net, **options):
        asked.append(options)
        return real(net, **options)

    monkeypatch.setattr(cache, "solve_cached", recording)
    simulate(Scenario.from_mapping(protocol="lp-schedule", nodes=8, e0=0.02, rounds=5), seed=3)
    assert asked == [{"gap": lp_schedule.SCHEDULE_GAP, "time_limit": lp_schedule.SCHEDULE_TIME_LIMIT,
                      "schedule_share": lp_schedule.SCHEDULE_SHARE}]
    assert 0.0 < lp_schedule.SCHEDULE_SHARE < 1.0


def test_lp_schedule_after_its_schedule_costs_a_repeat_as_kept():
    """Once the schedule is spent, lp-schedule elects the head set that leaves the largest smallest relative
    residual, costing the previous round's head set as a kept round (no set-up) when it can be kept."""
    scenario = Scenario.from_mapping(protocol="lp-schedule", control_bits=2000, nodes=6, e0=0.02)
    loop = RoundLoop(scenario, 3)
    loop.step()
    policy = loop.clustering
    assert np.all(policy.kept_costs <= policy.costs) and np.any(policy.kept_costs < policy.costs)
    while loop.round < policy.plan.size:
        loop.step()
    checked = repeats = 0
    while loop.alive.any() and checked < 20:
        previous = policy.last_choice
        keepable = policy.can_keep(dataclasses.replace(loop.state, round=loop.round + 1))
        alive = loop.alive.astype(bool)
        costs = policy.costs.copy()
        if keepable and np.array_equal(policy.masks[previous] & alive, loop.last_heads):
            costs[previous] = policy.kept_costs[previous]
            repeats += 1
        after = ((loop.energy[None, alive] - costs[:, alive]) / loop.state.initial_energy[None, alive]).min(axis=1)
        loop.step()
        assert after[policy.last_choice] == after.max()
        np.testing.assert_array_equal(loop.last_heads, policy.masks[policy.last_choice] & alive)
        checked += 1
    assert checked > 0 and repeats > 0


def test_keep_fnd_is_the_simulated_fnd():
    options = {"nodes": 6, "e0": 0.005, "sink": "50,175"}
    scenario = Scenario.from_mapping(**options)
    run = simulate(scenario, 3, 1, clustering=lambda s: KeepHeads(s, None, "distributed"))
    assert keep_fnd(scenario, run.summary["seed"].iloc[0], None, "distributed")[0] == run.summary["fnd"].iloc[0]


@pytest.mark.parametrize("seed,options", [(1, {}), (2, {"sink": "50,175", "control_bits": 64})])
def test_pricing_bounds_and_heuristic_bracket_the_exact_minimum(seed, options):
    """The Lagrangian bound at the LP relaxation's duals (and at arbitrary multipliers) is at most the exact
    pricing minimum (MILP), and the local search's head set costs what the model says and at least that."""
    net = network(seed, nodes=15, **options)
    model = LinearCosts(net)
    rng = np.random.default_rng(seed)
    for w in (rng.random(net.n), np.where(rng.random(net.n) < 0.5, 0.0, rng.random(net.n) * 100)):
        instance = FacilityInstance(model, model.member, w)
        lower_milp, exact, _, _ = Pricing(model).solve(w, None)
        lower, _rounded, _integral, v = instance.lp_relaxation(None)
        assert lower <= exact * (1 + 1e-12)
        assert lower >= lower_milp - 1e-6 * abs(lower_milp)  # the LP optimum, up to solver tolerances
        for multipliers in (v, rng.random(net.n) * instance.S, np.full(net.n, 1e9), -np.ones(net.n)):
            assert instance.lagrangian(multipliers) <= exact * (1 + 1e-12)
        mask, value, receivers = instance.local_search(np.zeros(net.n, dtype=bool))
        assert value >= exact * (1 - 1e-9)
        assert float(w @ model.node_costs(mask, receivers)) == pytest.approx(value, rel=1e-12)


def test_warm_started_master_equals_a_fresh_solve():
    rng = np.random.default_rng(3)
    columns = rng.random((60, 12)) * 1e-4
    energy = rng.uniform(0.5, 1.0, 12)
    master = _MasterLP(energy, 1e-6, pool=40)
    for k, column in enumerate(columns):
        master.add(bytes([k]), column)
        if k % 7 == 6:
            value, rounds, duals = master.solve()
            fresh, _, _ = _master(np.array(master.columns), energy, 1e-6)
            assert value == pytest.approx(fresh, rel=1e-9)
            assert len(rounds) == len(master.columns) <= 60
            assert float(duals @ energy) == pytest.approx(value, rel=1e-7)  # strong duality


def test_rounded_head_sets_follow_the_shares():
    """Randomised rounding (module Notes, *Warm start*): distinct non-empty head sets, a node of share 0 never
    a head, one of share 1 always, and the others about as often as their share; the same seed, the same
    sets."""
    share = np.array([0.0, 1.0, 0.5, 0.1, 0.9, 0.0])
    sets = rounded_head_sets(share, 4000, np.random.default_rng(5))
    masks = np.array(sets)
    assert masks.any(axis=1).all()
    assert len({m.tobytes() for m in masks}) == len(masks)
    assert not masks[:, [0, 5]].any() and masks[:, 1].all()
    draws = np.random.default_rng(5).random((4000, share.size)) < share  # the same draws, with repeats
    assert draws[:, 2:5].mean(axis=0) == pytest.approx(share[2:5], abs=0.03)
    again = rounded_head_sets(share, 4000, np.random.default_rng(5))
    assert np.array_equal(np.array(again), masks)
    assert rounded_head_sets(np.zeros(4), 10, np.random.default_rng(0)) == []


def test_master_head_masks_are_the_columns_heads():
    rng = np.random.default_rng(4)
    n = 11
    master = _MasterLP(rng.uniform(0.5, 1.0, n), 0.0, pool=1000)
    masks = rng.random((9, n)) < 0.3
    for mask in masks:
        receivers = np.where(mask, -1, rng.integers(-1, n, n))
        master.add(np.packbits(mask).tobytes() + receivers.astype(np.int64).tobytes(), rng.random(n) * 1e-3)
    assert np.array_equal(master.head_masks(), masks)


def test_reported_gap_is_upper_minus_achievable():
    result = solve_bound(network(2, nodes=8, e0=0.05), gap=0.01)
    assert result.gap == pytest.approx(result.upper - result.achievable, rel=0, abs=1e-9)
    assert result.relative_gap == pytest.approx(result.gap / result.upper)
    assert result.upper >= result.relaxed * (1 - 1e-9) >= 0
    assert result.upper >= result.achievable * (1 - 1e-9)  # the bound holds for the schedule
    if result.stopped == "optimal":  # the model never costs more than the scorer; (stopped by the gap, the
        assert result.relaxed >= result.achievable * (1 - 1e-9)  # schedule's own pricing may find more)
    assert (result.upper - result.relaxed) <= 0.01 * result.upper or result.stopped == "optimal"
    assert result.fnd_upper == math.floor(result.upper) + 1
    assert sum(e["integer_rounds"] for e in result.schedule) == result.integer_rounds
    assert 0 < result.bound_seconds <= result.seconds
    assert result.to_dict()["bound_seconds"] == result.bound_seconds


def _every_head_set_schedule(net):
    """Over every head set of ``net``: the kept-round costs, the set-up surcharges, the master's own rounds and
    the schedule of its support after its set-ups (:func:`colgen._schedule_with_setups`)."""
    masks = every_head_set(net.n)
    kept = score_configurations(net, masks, kept=True)
    setup = np.maximum(score_configurations(net, masks) - kept, 0.0)
    own = _master(kept, net.energy, net.harvest_j)[1]
    return kept, setup, own, colgen._schedule_with_setups(kept, setup, own, net.energy, net.harvest_j)


def _residual_after_blocks(kept, setup, whole, energy, harvest):
    """Pure-Python reference: each node's energy after running each configuration's rounds in one block, its
    set-up paid with the block's first round, checking every node stays alive after every round."""
    left = [float(e) for e in energy]
    for k, count in enumerate(whole):
        for r in range(int(count)):
            for i in range(len(left)):
                left[i] += harvest - float(kept[k][i]) - (float(setup[k][i]) if r == 0 else 0.0)
                assert left[i] > 0.0, (k, r, i)
    return left


@pytest.mark.parametrize("options", [{"nodes": 8, "e0": 0.02, "control_bits": 800},
                                     {"nodes": 8, "e0": 0.02, "sink": "50,175", "control_bits": 800}])
def test_the_schedule_is_chosen_for_its_setups(options):
    """Over every head set of tiny networks, the schedule chosen with its set-ups (slope scaling) is never
    shorter than the master's own support after its set-ups, every node outlives it by the reference's
    count, and on some deployment it is longer."""
    longer = 0
    for seed in range(1, 9):
        net = network(seed, **options)
        kept, setup, own, plain = _every_head_set_schedule(net)
        (value, rounds, whole), cut = colgen._fewer_setups(kept, setup, own, net.energy, net.harvest_j, None)
        assert not cut and whole.sum() >= plain[2].sum() and value >= whole.sum()
        assert np.all(rounds >= 0) and whole.min() >= 0
        _residual_after_blocks(kept, setup, whole, net.energy, net.harvest_j)
        longer += int(whole.sum() > plain[2].sum())
    assert longer > 0


def test_the_setup_choice_stops_at_the_deadline():
    net = network(2, nodes=8, e0=0.02, control_bits=800)
    kept, setup, own, plain = _every_head_set_schedule(net)
    (value, _rounds, whole), cut = colgen._fewer_setups(kept, setup, own, net.energy, net.harvest_j, 0.0)
    assert cut and value == plain[0] and np.array_equal(whole, plain[2])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_schedule_without_setups_lies_between_the_achievable_and_the_bound(seed):
    """``without_setups`` (the schedule's configurations as kept rounds) is at least the achievable schedule,
    which pays its set-ups, and at most the bound; with no control messages there is nothing to pay, and the
    two are equal."""
    for bits in (200, 0):
        result = solve_bound(network(seed, nodes=8, e0=0.05, sink="50,175", control_bits=bits), gap=0.01)
        assert result.achievable <= result.without_setups * (1 + 1e-9) <= result.upper * (1 + 1e-9)
        assert result.to_dict()["without_setups"] == result.without_setups
        if bits == 0:
            assert result.achievable == pytest.approx(result.without_setups, rel=1e-6)


def _farley(model, net, w):
    relaxation = FacilityInstance(model, np.array(model.member, dtype=np.float64), w).lp_relaxation(None)
    return float(w @ net.energy) / (relaxation[0] - float(w.sum() * net.harvest_j))


@pytest.mark.parametrize("seed,options", [(1, {"nodes": 30}), (2, {"nodes": 40, "sink": "50,175"}),
                                          (3, {"nodes": 25, "sink": "0,0", "control_bits": 200})])
def test_interior_point_duals_give_the_aggregated_lp_bound(seed, options):
    """The warm start's interior-point solve without crossover (module Notes, *Warm start*) gives weights whose
    Farley bound is the aggregated LP's optimum (the simplex-based solve's weights' bound) to within its
    tolerance, and never below it."""
    net = network(seed, **options)
    model = LinearCosts(net)
    allowed = np.array(model.member) < model.direct[:, None]
    np.fill_diagonal(allowed, False)
    w_vertex, share_vertex = colgen._compact_duals(model, net.energy, net.harvest_j, allowed, None)
    w_interior, share_interior = colgen._interior_duals(model, net.energy, net.harvest_j, allowed, None)
    assert np.all(w_interior >= 0) and np.all((share_interior >= 0) & (share_interior <= 1))
    vertex, interior = _farley(model, net, w_vertex), _farley(model, net, w_interior)
    assert vertex * (1 - 1e-7) <= interior <= vertex * (1 + 1e-3)  # (P') is the least such bound
    assert share_interior.sum() == pytest.approx(share_vertex.sum(), rel=0.05)  # heads per round, about


@pytest.mark.slow
def test_every_pair_at_once_by_the_interior_point(monkeypatch):
    """A network with more pairs than ``COMPACT_PAIRS`` takes the interior-point path (module Notes): the same
    bound as the simplex path's to the gap, and no periodic relaxation in the column generation."""
    net = network(4, nodes=30, sink="50,175")
    vertex = solve_bound(net, gap=1e-3)
    calls = []
    interior_duals = colgen._interior_duals
    monkeypatch.setattr(colgen, "_interior_duals", lambda *a: calls.append(1) or interior_duals(*a))
    monkeypatch.setattr(colgen, "COMPACT_PAIRS", 10)
    interior = solve_bound(net, gap=1e-3)
    assert calls == [1]
    assert interior.upper >= interior.relaxed * (1 - 1e-9)
    assert interior.upper == pytest.approx(vertex.upper, rel=2e-3)
    assert interior.relaxed == pytest.approx(vertex.relaxed, rel=2e-3)
    monkeypatch.setattr(colgen, "INTERIOR_REFERENCE_SECONDS", 1e12)  # as if the interior point could not fit
    short = solve_bound(net, gap=1e-3, time_limit=colgen.INTERIOR_MIN_SECONDS - 1)  # too short: nearest heads
    assert calls == [1] and short.upper >= short.relaxed * (1 - 1e-9)


def test_the_interior_point_path_is_taken_where_it_fits_the_time_limit():
    """Always without a limit or with one of INTERIOR_MIN_SECONDS; under a shorter limit where twice its
    expected time fits in its share: N = 200's about 38,000 pairs under lp-schedule's 150 s, not N = 400's
    124,323."""
    assert colgen.interior_fits(10**6, None) and colgen.interior_fits(124_323, colgen.INTERIOR_MIN_SECONDS)
    assert colgen.interior_fits(38_165, 150.0) and not colgen.interior_fits(124_323, 150.0)
    assert not colgen.interior_fits(38_165, 20.0)


def test_an_interior_point_solve_without_a_solution_falls_back_to_the_nearest_heads(monkeypatch):
    """When the interior-point solve over every pair ends without a solution (as when its share of the time limit
    cuts it), the warm start takes each node's nearest heads' rounds instead, and the bound stays valid."""
    net = network(2, nodes=20, sink="50,175")
    monkeypatch.setattr(colgen, "COMPACT_PAIRS", 50)
    monkeypatch.setattr(colgen, "COMPACT_NEAREST", 4)
    calls = []
    real_compact = colgen._compact_duals

    def compact(model, energy, h, pairs, time_limit):
        calls.append(pairs.copy())
        return real_compact(model, energy, h, pairs, time_limit)

    monkeypatch.setattr(colgen, "_interior_duals", lambda *args: None)
    monkeypatch.setattr(colgen, "_compact_duals", compact)
    result = solve_bound(net, gap=1e-2)
    allowed, nearest = colgen.warm_start_pairs(LinearCosts(net))
    assert calls and np.array_equal(calls[0], nearest) and not np.array_equal(nearest, allowed)
    assert all(np.all(later >= first) and np.all(allowed >= later) for first, later in zip(calls, calls[1:]))
    plain = solve_bound(net, gap=1e-2)  # a valid bound either way, both within the gap of the same optimum
    assert result.upper >= plain.relaxed * (1 - 1e-9) and plain.upper >= result.relaxed * (1 - 1e-9)


def test_interior_weights_without_their_bound_keep_the_periodic_relaxations(monkeypatch):
    """The column generation skips its periodic relaxations only once the interior-point weights' Farley bound
    is taken: when the pricing relaxation at those weights fails (time limit), it keeps them."""
    net = network(4, nodes=30, sink="50,175")
    monkeypatch.setattr(colgen, "COMPACT_PAIRS", 10)
    taken = colgen._ColumnGeneration(net, 1e-3, None)
    taken.single_heads()
    taken.warm_start()
    assert taken.at_floor and math.isfinite(taken.upper)
    monkeypatch.setattr(colgen.FacilityInstance, "lp_relaxation", lambda self, time_limit: None)
    failed = colgen._ColumnGeneration(net, 1e-3, None)
    failed.single_heads()
    failed.warm_start()
    assert not failed.at_floor
    assert failed.upper == colgen.initial_upper(failed.model, failed.energy, failed.h)


def test_time_limited_bound_stays_valid():
    net = network(3, nodes=25)
    full = solve_bound(net, gap=1e-3)
    cut = solve_bound(net, gap=1e-3, time_limit=1e-3)
    assert cut.stopped == "time" and cut.time_limited and not full.time_limited
    assert cut.upper >= full.relaxed * (1 - 1e-9)


def _without_clock(result) -> dict:
    return {key: value for key, value in result.to_dict().items() if key not in ("seconds", "bound_seconds")}


def test_a_solve_without_time_limit_does_not_depend_on_the_clock(monkeypatch):
    """The same network and gap give the same bound and schedule however slow the machine: here every pricing
    relaxation appears to take 100 s (a loaded machine) and the solve is unchanged, periodic relaxations
    included (14 pricing rounds)."""
    net = network(3, nodes=40, sink="50,175")
    plain = solve_bound(net, gap=1e-3)
    clock = {"now": 0.0}
    real_relaxation = colgen.FacilityInstance.lp_relaxation

    def slow_relaxation(self, time_limit):
        clock["now"] += 100.0
        return real_relaxation(self, time_limit)

    monkeypatch.setattr(colgen.FacilityInstance, "lp_relaxation", slow_relaxation)
    monkeypatch.setattr(colgen, "time", type("Clock", (), {"perf_counter": staticmethod(
        lambda: clock["now"])}))
    slow = solve_bound(net, gap=1e-3)
    assert clock["now"] >= 300.0 and plain.iterations >= 2 * colgen.BOUND_EVERY
    assert _without_clock(slow) == _without_clock(plain) and not slow.time_limited


def test_a_warm_start_cut_by_its_share_of_the_limit_is_reported(monkeypatch):
    """A solve that reaches its gap after the warm start ran out of its share of the time limit is marked
    time-limited (its result depends on the machine), while the same solve with a share that is not reached
    is not."""
    net = network(3, nodes=40, sink="50,175")
    whole = solve_bound(net, gap=1e-2, time_limit=1e4)
    assert whole.stopped == "gap" and not whole.time_limited
    monkeypatch.setattr(colgen, "COMPACT_SHARE", 1e-12)
    cut = solve_bound(net, gap=1e-2, time_limit=1e4)
    assert cut.stopped == "gap" and cut.time_limited


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_a_time_limit_keeps_a_share_for_the_schedule(monkeypatch, share):
    """Under a time limit T the bound's column generation stops at (1 - schedule_share) T (share 0: at T); the
    schedule's column search then has SEARCH_SHARE of what is left of T and the choice of configurations with
    their set-ups the rest (a fake clock on which every pricing relaxation takes 400 s)."""
    net = network(3, nodes=40, sink="50,175")
    clock = {"now": 0.0}
    seen = {}
    real_relaxation = colgen.FacilityInstance.lp_relaxation
    real_search, real_choice = colgen._improve_achievable, colgen._fewer_setups

    def slow_relaxation(self, time_limit):
        clock["now"] += 400.0
        return real_relaxation(self, time_limit)

    def search(*args):
        seen["search"] = (clock["now"], args[-1])
        return real_search(*args)

    def choice(*args):
        seen["choice"] = args[-1]
        return real_choice(*args)

    monkeypatch.setattr(colgen.FacilityInstance, "lp_relaxation", slow_relaxation)
    monkeypatch.setattr(colgen, "_improve_achievable", search)
    monkeypatch.setattr(colgen, "_fewer_setups", choice)
    monkeypatch.setattr(colgen, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: clock["now"])}))
    limit = 1000.0
    result = solve_bound(net, gap=1e-9, time_limit=limit, schedule_share=share)
    started, search_end = seen["search"]
    assert result.stopped == "time" and result.time_limited and result.bound_seconds == started
    assert (1 - share) * limit <= started < (1 - share) * limit + 400.0
    assert search_end == pytest.approx(started + colgen.SEARCH_SHARE * max(limit - started, 0.0))
    assert seen["choice"] == limit and result.integer_rounds > 0
    with pytest.raises(ValueError, match="schedule_share"):
        solve_bound(net, time_limit=limit, schedule_share=1.0)


def test_constant_harvest_raises_the_bound_and_can_make_it_unbounded():
    plain = solve_bound(network(1, nodes=6, e0=0.01), gap=1e-3)
    some = solve_bound(network(1, nodes=6, e0=0.01, harvest="constant:0.00005"), gap=1e-3)
    assert some.upper > plain.upper
    forever = solve_bound(network(1, nodes=6, e0=0.01, harvest="constant:1"), gap=1e-3)
    assert forever.stopped == "unbounded" and forever.fnd_upper is None


def test_cache_returns_the_same_solve():
    net = network(6, nodes=10, e0=0.05)
    first, cached_first = solve_cached(net)
    second, cached_second = solve_cached(net)
    assert (cached_first, cached_second) == (False, True)
    assert second.to_dict() == first.to_dict()


# --- command line ---------------------------------------------------------------------------------------


def invoke(args):
    return CliRunner().invoke(cli.main, ["bound", *args])


def test_cli_json_and_out(tmp_path):
    result = invoke(["--nodes", "8", "--e0", "0.05", "--seed", "7", "--replicas", "2", "--json", "--out",
                     str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["replica_seeds"][0] == 7 and len(report["deployments"]) == 2
    for row in report["deployments"]:
        assert row["gap"] == pytest.approx(row["upper"] - row["achievable"])
        assert row["schedule"] and row["time_limited"] is False
    assert json.loads((tmp_path / "o" / "bound.json").read_text())["deployments"] == report["deployments"]
    text = invoke(["--nodes", "8", "--e0", "0.05", "--seed", "7"])
    assert text.exit_code == 0 and "(cached)" in text.output


def test_cli_bad_input(tmp_path):
    on_node = tmp_path / "p.csv"
    on_node.write_text("x,y\n10,10\n20,20\n")
    for args, name in [(["--nodes", "1"], "--nodes"), (["--e0", "0"], "--e0"),
                       (["--positions", str(on_node), "--sink", "10,10"], "--sink"),
                       (["--gap", "2"], "--gap"), (["--semantics", "matlab"], "--semantics"),
                       (["--harvest", "bernoulli:0.1,0.5"], "--harvest"), (["--time-limit", "-1"], "--time-limit")]:
        result = invoke(args)
        assert result.exit_code == 2, args
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {name}"), result.output


def test_cache_reuses_a_time_limited_solve_only_for_no_longer_limits():
    net = network(8, nodes=25)
    cut, _ = solve_cached(net, time_limit=1e-3)  # N = 25 solves in well under a second: cut it at once
    assert cut.stopped == "time"
    again, cached = solve_cached(net, time_limit=5e-4)
    assert cached and again.to_dict() == cut.to_dict()
    full, cached = solve_cached(net)
    assert not cached and full.stopped in ("gap", "optimal")
    again, cached = solve_cached(net, time_limit=5e-4)  # the finished solve replaced the cut one
    assert cached and again.stopped == full.stopped


def test_a_master_solve_stopped_by_the_time_limit_keeps_the_previous_schedule(monkeypatch):
    """In the schedule phase each master solve gets the time left (HiGHS's time limit): a solve stopped by it
    ends the phase with the previous solution, the new column at 0 rounds, and the result stays consistent
    (schedule and columns aligned, the bound still above the achievable schedule)."""
    import wsnmec.bound.colgen as colgen

    net = network(2, nodes=8, e0=0.05)
    reference = solve_bound(net, gap=0.01, time_limit=600.0)
    limited = []
    plain_solve = colgen._MasterLP.solve

    def stopped_when_limited(self, time_limit=None):
        if time_limit is not None:  # only the schedule phase's loop passes a limit
            limited.append(time_limit)
            raise colgen._MasterTimeLimit
        return plain_solve(self)

    monkeypatch.setattr(colgen._MasterLP, "solve", stopped_when_limited)
    result = solve_bound(net, gap=0.01, time_limit=600.0)
    assert limited and 0.0 < limited[0] <= 600.0
    assert result.upper == reference.upper
    assert 0.0 < result.achievable <= result.upper * (1 + 1e-9)
    assert sum(e["integer_rounds"] for e in result.schedule) == result.integer_rounds
    assert all(e["rounds"] >= 0.0 for e in result.schedule)


def test_a_master_solve_limits_its_own_time_not_the_instances():
    """HiGHS counts the run time of every solve of an instance against its ``time_limit`` (measured: 400
    quick solves of a 200-row master under a bare 0.05 s limit, 344 of them stopped): a limited solve of the
    master sets the limit to the time already run plus its own."""
    rng = np.random.default_rng(6)
    n = 50
    master = _MasterLP(rng.uniform(0.5, 1.0, n), 0.0, pool=10_000)
    for k in range(40):
        master.add(k.to_bytes(2, "little"), rng.random(n) * 1e-3)
        master.solve()
    already = master.highs.getRunTime()
    assert already > 0.0
    value, rounds, _ = master.solve(time_limit=60.0)
    assert master.highs.getOptions().time_limit == pytest.approx(already + 60.0, abs=1e-12)
    assert len(rounds) == 40
    again, _, _ = master.solve()
    assert master.highs.getOptions().time_limit == math.inf and again == pytest.approx(value)
