"""The non-learned references ``spread`` and ``anneal`` (wsnmec.clustering.spread, wsnmec.clustering.anneal):
conservation, reproducibility, the spread sets' k-medoids fixed point, the moves, and what the executed set
is under ddnn's dry-run objective (the argmin of spread's scored candidates; for anneal, never worse than
its start pool, which holds every candidate of spread and ddnn-rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from naive import spread_heads_naive
from wsnmec.clustering.anneal import NEIGHBOURS, AnnealPolicy, propose
from wsnmec.sim.checks import energy_balance_problems
from wsnmec.clustering.ddnn import DDNNRulePolicy
from wsnmec.clustering.dryrun import REFINE_MAX_ALIVE
from wsnmec.clustering.registry import policy_class
from wsnmec import threads
from wsnmec.clustering.spread import PARALLEL_MIN_ALIVE, SpreadPolicy, _numpy_sum_jit, spread_head_sets, spread_heads
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

POLICIES = ["spread", "anneal"]
#: The same, anneal's whole runs (about 3 s each) in the full suite only (the fast tier keeps under 3 minutes).
POLICIES_ANNEAL_SLOW = ["spread", pytest.param("anneal", marks=pytest.mark.slow)]


def _conserved(result):
    assert energy_balance_problems(result) == []


def test_registered_centralized():
    assert policy_class("spread") is SpreadPolicy and policy_class("anneal") is AnnealPolicy
    assert SpreadPolicy.control == AnnealPolicy.control == "centralized"


@pytest.mark.parametrize("protocol", POLICIES)
@pytest.mark.parametrize("extras", [
    {"sink": "50,175", "control_bits": 200},
    {"harvest": "constant:0.0002", "revive_threshold": 0.001, "rounds": 60},
    {"e0": "0.005..0.015", "offload": "greedy", "workload": "dnn-inference", "join": "cluster"},
])
def test_energy_conserved(protocol, extras):
    params = dict(nodes=40, e0=0.02, protocol=protocol)
    params.update(extras)
    result = simulate(Scenario.from_mapping(**params), seed=3, replicas=2, workers=1)
    _conserved(result)
    assert (result.rounds["consumed_j"] > 0).any()


@pytest.mark.parametrize("protocol", POLICIES_ANNEAL_SLOW)
def test_seeded_run_identical_twice(protocol):
    scenario = Scenario.from_mapping(protocol=protocol, nodes=50, e0=0.02, sink="50,175", rounds=60)
    a = simulate(scenario, seed=5, replicas=2, workers=1)
    b = simulate(scenario, seed=5, replicas=2)
    pd.testing.assert_frame_equal(a.rounds, b.rounds)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert a.config["clustering"] == protocol


def _state_after(protocol, rounds, seed=1, driver=None, **values):
    """A far-sink 100-node loop after ``rounds`` rounds of ``driver`` (default: ``protocol`` itself; a fast
    policy reaches late states sooner) with a fresh ``protocol`` policy on its state."""
    values = {"protocol": protocol, "nodes": 100, "sink": (50.0, 175.0), "e0": 0.1, **values}
    scenario = Scenario.from_mapping(values)
    loop = RoundLoop(scenario, seed, clustering=driver)
    for _ in range(rounds):
        loop.step()
    if driver is not None:
        loop.clustering = policy_class(protocol)(scenario)
        loop.clustering.reset(loop.state, np.random.default_rng(seed))
    return loop


@pytest.mark.parametrize("rounds", [1, 120, 185])
def test_spread_executes_the_argmin_of_its_scored_candidates(rounds):
    loop = _state_after("spread", rounds, driver="leach-c", preset="classic")  # enough nodes alive at round 185
    policy = loop.clustering
    assert loop.alive_count > REFINE_MAX_ALIVE  # no refinement here: the choice is the argmin
    mask, masks, j = policy.decide(loop.state, np.random.default_rng(4))
    assert masks[0].sum() == 0  # the empty set is a candidate
    sizes = set(policy.sizes(loop.state, loop.alive_count).tolist())
    assert {int(m.sum()) for m in masks[1:]} <= sizes
    np.testing.assert_array_equal(mask, masks[int(np.argmin(j))].astype(bool))
    j_again = policy.scorer(loop.state, masks)[0]
    np.testing.assert_array_equal(j, j_again)  # scoring does not change the state
    assert not masks[:, loop.alive == 0].any()


@pytest.mark.parametrize("rounds", [1, 120, 185])
def test_anneal_is_never_worse_than_spread_and_ddnn_rule_candidates(rounds):
    """anneal's start pool holds every candidate spread and ddnn-rule score in the same state (the same
    draws for spread's sets), and its executed set's J is at most the pool's minimum."""
    loop = _state_after("anneal", rounds, seed=2, driver="leach-c")
    policy = loop.clustering
    policy.previous[np.flatnonzero(loop.alive)[:3]] = True  # a previous set in the pool
    state = loop.state
    spread = SpreadPolicy(loop.scenario)
    spread.reset(state, np.random.default_rng(0))
    _, spread_masks, spread_j = spread.decide(state, np.random.default_rng(9))
    rule = DDNNRulePolicy(loop.scenario)
    rule.reset(state, np.random.default_rng(0))
    rows, alive = rule.features(state)
    rule_masks = rule.candidates(state, rows, alive)
    mask, pool, pool_j = policy.decide(state, np.random.default_rng(9))
    pool_rows = {row.tobytes() for row in pool}
    assert all(m.tobytes() in pool_rows for m in spread_masks)
    assert all(m.tobytes() in pool_rows for m in rule_masks)
    executed = policy.scorer(state, mask[None, :].astype(np.uint8))[0][0]
    assert executed == pytest.approx(policy.last_j, rel=1e-12)  # (scored alone vs in a batch)
    assert policy.last_j <= pool_j.min() == policy.last_start_j
    assert policy.last_j <= spread_j.min()
    assert policy.last_j <= policy.scorer(state, rule_masks)[0].min()


def test_anneal_searches():
    """Over rounds of a far-sink run, the annealing finds a strictly better set than its start at times."""
    loop = _state_after("anneal", 0, seed=3)
    policy = loop.clustering
    better = 0
    for _ in range(20):
        loop.step()
        assert policy.last_j <= policy.last_start_j
        better += policy.last_j < policy.last_start_j
    assert better > 0


def _fixed_point_violations(x, y, e, heads):
    """Heads that are not the k-medoids update of their own cluster (a plain per-node loop)."""
    owner = []
    for i in range(len(x)):
        d = [(x[i] - x[h]) ** 2 + (y[i] - y[h]) ** 2 for h in heads]
        owner.append(heads.index(i) if i in heads else int(np.argmin(d)))
    bad = []
    for s, h in enumerate(heads):
        members = [i for i in range(len(x)) if owner[i] == s]
        w = [1.0 / e[i] for i in members]
        cx = sum(wi * x[i] for wi, i in zip(w, members)) / sum(w)
        cy = sum(wi * y[i] for wi, i in zip(w, members)) / sum(w)
        threshold = min(sum(e[i] for i in members) / len(members), max(e[i] for i in members))
        eligible = [i for i in members if e[i] >= threshold]
        best = min(eligible, key=lambda i: ((x[i] - cx) ** 2 + (y[i] - cy) ** 2, i))
        if best != h:
            bad.append(h)
    return bad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spread_heads_are_a_k_medoids_fixed_point_on_rich_nodes(seed):
    g = np.random.default_rng(seed)
    n, k = 120, 7
    x, y = g.random(n) * 100.0, g.random(n) * 100.0
    e = g.uniform(0.1, 0.5, n)
    heads = spread_heads(x, y, e, k, np.random.default_rng(seed), max_passes=1000)
    assert len(set(heads.tolist())) == k
    assert _fixed_point_violations(x, y, e, heads.tolist()) == []
    # spread: the members' squared distances to their nearest head are lower than for random heads
    def cost(hs):
        d = (x[:, None] - x[hs][None, :]) ** 2 + (y[:, None] - y[hs][None, :]) ** 2
        return d.min(axis=1).sum()
    random_costs = [cost(g.choice(n, k, replace=False)) for _ in range(50)]
    assert cost(heads) < np.percentile(random_costs, 5)


@pytest.mark.parametrize("case", range(40))
def test_spread_heads_kernel_matches_the_numpy_reference_on_the_same_draws(case):
    """The compiled kernel and the NumPy reference (tests/naive.py) give the same heads from the same
    Generator state, and leave it in the same state: random fields, lattices with tied distances, equal
    energies, stacked nodes, k from 1 to n, one pass or many."""
    g = np.random.default_rng(case)
    n = int(g.integers(1, 260))
    k = int(g.integers(1, n + 1))
    layout = case % 4
    if layout == 0:
        x, y = g.random(n) * 100.0, g.random(n) * 100.0
    elif layout == 1:  # lattice: many tied distances
        side = int(np.ceil(np.sqrt(n)))
        x, y = (np.arange(n) % side) * 10.0, (np.arange(n) // side) * 10.0
    elif layout == 2:  # nodes stacked on a few points
        x, y = g.integers(0, 3, n) * 5.0, g.integers(0, 3, n) * 5.0
    else:
        x, y = g.normal(50.0, 5.0, n), g.normal(50.0, 40.0, n)
    e = np.full(n, 0.25) if case % 5 == 0 else g.uniform(1e-6, 0.5, n)
    passes = int(g.choice([1, 2, 10, 1000]))
    a, b = np.random.default_rng(1000 + case), np.random.default_rng(1000 + case)
    kernel = spread_heads(x, y, e, k, a, max_passes=passes)
    reference = spread_heads_naive(x, y, e, k, b, max_passes=passes)
    assert kernel.tolist() == reference.tolist()
    assert a.random() == b.random()


@pytest.mark.parametrize("allowed", [1, 2, 3])
def test_spread_head_sets_give_each_size_the_heads_of_spread_heads_in_turn(monkeypatch, allowed):
    """Above PARALLEL_MIN_ALIVE nodes the sets of several sizes are computed on parallel threads (up to the
    process's allowed threads; 1: in turn): the same heads as spread_heads called for each size in turn, from
    the same draws, and the Generator left in the same state. Below it, likewise (in turn)."""
    monkeypatch.setattr(threads, "_process_threads", allowed)
    assert threads.allowed_threads() == allowed
    g = np.random.default_rng(allowed)
    for n, sizes in ((PARALLEL_MIN_ALIVE + 500, [40, 3, 17, 8, 25]), (150, [2, 9, 5])):
        x, y, e = g.random(n) * 400.0, g.random(n) * 400.0, g.uniform(1e-3, 0.5, n)
        a, b = np.random.default_rng(7), np.random.default_rng(7)
        sets = spread_head_sets(x, y, e, np.array(sizes), a)
        assert [h.tolist() for h in sets] == [spread_heads(x, y, e, k, b).tolist() for k in sizes]
        assert a.random() == b.random()


def test_compiled_sum_adds_in_numpys_order():
    """The seeding total of the kernel is NumPy's ``sum`` bit for bit (pairwise order), across the block
    and split sizes (< 8, <= 128, halves rounded to multiples of 8) and magnitudes 1e-6 to 1e6."""
    g = np.random.default_rng(11)
    for n in list(range(0, 300)) + [511, 512, 1000, 1029, 4099, 20000]:
        values = g.random(n) * 10.0 ** g.uniform(-6, 6, n)
        assert _numpy_sum_jit(values) == values.sum(), n


def test_spread_heads_draw_one_uniform_per_head_and_cover_edge_sizes():
    g = np.random.default_rng(3)
    x, y, e = g.random(10), g.random(10), np.full(10, 0.3)
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    heads = spread_heads(x, y, e, 4, a)
    b.random(4)
    assert a.random() == b.random()
    assert sorted(spread_heads(x, y, e, 10, np.random.default_rng(0)).tolist()) == list(range(10))
    same = np.zeros(5)  # every node at one point: still k distinct heads
    assert len(set(spread_heads(same, same, np.full(5, 0.2), 3, np.random.default_rng(0)).tolist())) == 3
    assert heads.shape == (4,)


def test_moves_change_the_set_as_documented():
    g = np.random.default_rng(5)
    n = 60
    x, y = g.random(n) * 100, g.random(n) * 100
    alive = np.flatnonzero(g.random(n) < 0.8)
    current = np.zeros(n, dtype=bool)
    current[alive[:5]] = True
    draws = g.random((3, 400))
    trials = propose(current, alive, x, y, draws).astype(bool)
    dead = np.setdiff1d(np.arange(n), alive)
    assert not trials[:, dead].any()
    changed = trials != current[None, :]
    counts = changed.sum(axis=1)
    kind = np.searchsorted([0.2, 0.5], draws[0], side="right")
    assert (counts[kind == 0] == 1).all()
    assert (counts[kind > 0] == 2).all() and (trials[kind > 0].sum(axis=1) == 5).all()
    others = alive[~current[alive]]
    for t in np.flatnonzero(kind == 2):
        moved = int(np.flatnonzero(current & ~trials[t])[0])
        target = int(np.flatnonzero(trials[t] & ~current)[0])
        d = (x[others] - x[moved]) ** 2 + (y[others] - y[moved]) ** 2
        assert d[others == target][0] <= np.sort(d)[NEIGHBOURS - 1]
    # from the empty set only heads are added
    empty = propose(np.zeros(n, dtype=bool), alive, x, y, draws[:, :20]).astype(bool)
    assert (empty.sum(axis=1) == 1).all()


@pytest.mark.parametrize("protocol", POLICIES_ANNEAL_SLOW)
def test_far_sink_lifetime_at_least_leach_c_order(protocol):
    """Far sink, 2 seeds: the references cluster (FND well above direct transmission's)."""
    far = dict(nodes=100, e0=0.03, sink="50,175")
    direct = simulate(Scenario.from_mapping(protocol="direct", **far), seed=1, replicas=2).summary
    summary = simulate(Scenario.from_mapping(protocol=protocol, **far), seed=1, replicas=2).summary
    assert summary["fnd"].mean() > 1.5 * direct["fnd"].mean()
    assert (summary["fnd"] <= summary["hnd"]).all() and (summary["hnd"] <= summary["lnd"]).all()
