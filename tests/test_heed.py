"""HEED election: compiled kernel == pure-Python reference (tests/naive_heed.py) bit for bit, and the
paper's properties of its result."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

from naive_heed import naive_heed
from wsnmec.clustering.heed import (
    CONTROL_BITS_INDEX,
    HeedPolicy,
    build_grid,
    EDGE_GROWTH,
    PACKING_FRACTION,
    default_cluster_range,
    single_hop_cluster_range,
    elect_heed,
)
from wsnmec.clustering.optimal import optimal_cluster_count_for
from wsnmec.clustering.registry import make_policy
from wsnmec.energy.radio import tx_energy_jit
from wsnmec.errors import ParameterError
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.state import NetworkState, read_only


def make_state(scenario, x, y, energy, initial, alive, round_number=1, control_bits=0.0):
    n = x.shape[0]
    sink = scenario.sink_position
    params = np.zeros(22)
    params[CONTROL_BITS_INDEX] = control_bits
    return NetworkState(
        n=n, round=round_number, x=read_only(x), y=read_only(y), sink=sink, field=scenario.field,
        d_sink=read_only(np.hypot(x - sink[0], y - sink[1])), energy=read_only(energy),
        initial_energy=read_only(initial), capacity=read_only(initial.copy()), alive_u8=read_only(alive),
        rounds_since_ch=read_only(np.zeros(n, dtype=np.int64)), harvested=read_only(np.zeros(n)),
        consumed_last=read_only(np.zeros(n)), receivers=read_only(np.full(n, -2, dtype=np.int64)),
        members=read_only(np.zeros(n, dtype=np.int64)), scenario=scenario, params=params)


def random_network(seed, n, *, lattice=False, dead_fraction=0.2, equal_energy=False, field=100.0):
    """Positions, energies and alive flags with the cases that matter: dead nodes, ties of cost and
    distance (lattice positions, equal energies), nodes above their initial energy, zero energy."""
    gen = np.random.default_rng(seed)
    if lattice:  # integer positions on a small lattice: many equal distances and equal degrees
        side = max(1, int(math.ceil(math.sqrt(n))))
        x = (gen.integers(0, side, n) * (field / side)).astype(np.float64)
        y = (gen.integers(0, side, n) * (field / side)).astype(np.float64)
    else:
        x = gen.uniform(0.0, field, n)
        y = gen.uniform(0.0, field, n)
    initial = np.full(n, 0.5) if equal_energy or gen.random() < 0.5 else gen.uniform(0.1, 1.0, n)
    if equal_energy:
        energy = initial.copy()
    else:
        energy = initial * gen.uniform(0.0, 1.3, n)
        energy[gen.random(n) < 0.05] = 0.0
    alive = (gen.random(n) >= dead_fraction).astype(np.uint8)
    return x, y, energy, initial, alive


def run_kernel(rng, x, y, alive, energy, initial, c_prob, p_min, cluster_range):
    n = x.shape[0]
    r2 = cluster_range * cluster_range
    grid = build_grid(x, y, cluster_range)
    degree = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.uint8)
    sent = np.zeros(n, dtype=np.int64)
    heard = np.zeros(n, dtype=np.int64)
    head_of = np.zeros(n, dtype=np.int64)
    iterations = elect_heed(rng, x, y, alive, energy, initial, c_prob, p_min, r2, *grid, status, sent, heard,
                            head_of, degree, np.zeros(n), np.zeros(n, dtype=np.uint8))
    return {"heads": status == 2, "degree": degree, "sent": sent, "heard": heard, "head_of": head_of,
            "iterations": iterations}


def head_degrees(reference):
    """The reference's node degrees at its final CHs, -1 elsewhere (the kernel computes only those)."""
    return np.where(reference["heads"], reference["degree"], -1)


def assert_same(kernel, reference, alive):
    np.testing.assert_array_equal(kernel["heads"], np.array(reference["heads"], dtype=bool))
    np.testing.assert_array_equal(kernel["degree"], head_degrees(reference))
    np.testing.assert_array_equal(kernel["sent"], np.array(reference["sent"], dtype=np.int64))
    np.testing.assert_array_equal(kernel["heard"], np.array(reference["heard"], dtype=np.int64))
    np.testing.assert_array_equal(kernel["head_of"], np.array(reference["head_of"], dtype=np.int64))
    if alive.any():
        assert kernel["iterations"] == reference["iterations"]


def compare(seed, n, c_prob, cluster_range, *, p_min=1e-4, **network):
    x, y, energy, initial, alive = random_network(seed, n, **network)
    kernel_rng = np.random.default_rng([seed, 7])
    reference_rng = np.random.default_rng([seed, 7])
    kernel = run_kernel(kernel_rng, x, y, alive, energy, initial, c_prob, p_min, cluster_range)
    reference = naive_heed(reference_rng, x.tolist(), y.tolist(), alive.tolist(), energy.tolist(),
                           initial.tolist(), c_prob, p_min, cluster_range * cluster_range)
    assert_same(kernel, reference, alive)
    # the same number of draws: both generators are at the same point
    assert kernel_rng.random() == reference_rng.random()
    return kernel, alive, x, y


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("n", [1, 2, 7, 60, 300])
def test_kernel_equals_reference(seed, n):
    gen = np.random.default_rng(seed + 1000 * n)
    c_prob = float(gen.choice([0.01, 0.05, 0.1, 0.3, 1.0]))
    cluster_range = float(gen.choice([3.0, 10.0, 25.0, 43.8, 200.0]))
    compare(seed, n, c_prob, cluster_range, lattice=bool(seed % 3 == 0), equal_energy=bool(seed % 4 == 1),
            dead_fraction=float(gen.choice([0.0, 0.2, 0.7])))


@settings(max_examples=examples(60), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), c_prob=st.floats(1e-6, 1.0),
       cluster_range=st.floats(0.5, 150.0), p_min=st.sampled_from([1e-4, 1e-2, 0.3]),
       lattice=st.booleans(), equal_energy=st.booleans(), dead_fraction=st.sampled_from([0.0, 0.3, 1.0]))
def test_kernel_equals_reference_hypothesis(seed, n, c_prob, cluster_range, p_min, lattice, equal_energy,
                                            dead_fraction):
    compare(seed, n, c_prob, cluster_range, p_min=p_min, lattice=lattice, equal_energy=equal_energy,
            dead_fraction=dead_fraction)


def pairwise_d2(x, y):
    dx = x[:, None] - x[None, :]
    dy = y[:, None] - y[None, :]
    return dx * dx + dy * dy


@pytest.mark.parametrize("seed", range(6))
def test_result_follows_the_paper(seed):
    """Final CHs are alive and at least R_c apart; every alive node is a CH or within range of the CH it
    joins, which is the least-cost CH in its range; every CH announced in the Repeat phase."""
    cluster_range = 15.0
    kernel, alive, x, y = compare(seed, 200, 0.1, cluster_range)
    heads, head_of, degree = kernel["heads"], kernel["head_of"], kernel["degree"]
    assert not heads[alive == 0].any()
    assert 0 < heads.sum() < alive.sum()
    in_range = pairwise_d2(x, y) <= cluster_range ** 2
    h = np.flatnonzero(heads)
    assert not (in_range[np.ix_(h, h)] & ~np.eye(h.size, dtype=bool)).any()
    for i in np.flatnonzero(alive):
        if heads[i]:
            assert head_of[i] == i
            continue
        candidates = h[in_range[i, h]]
        assert candidates.size > 0
        assert head_of[i] == min(candidates, key=lambda v: (degree[v], v))
    assert (head_of[alive == 0] == -1).all()
    assert (kernel["sent"][heads] >= 1).all() and (kernel["sent"][~heads] == 0).all()
    assert kernel["iterations"] <= math.ceil(math.log2(1 / 1e-4)) + 1


def test_number_of_heads_depends_on_the_range_not_on_c_prob():
    """The paper: C_prob only limits the initial announcements; the CH count follows R_c."""
    counts = {}
    for c_prob in (0.1, 0.01):
        for cluster_range in (12.0, 25.0):
            total = 0
            for seed in range(4):
                x, y, energy, initial, alive = random_network(seed, 1000, dead_fraction=0.0, equal_energy=True)
                total += run_kernel(np.random.default_rng(seed), x, y, alive, energy, initial, c_prob, 1e-4,
                                    cluster_range)["heads"].sum()
            counts[c_prob, cluster_range] = total / 4
    for cluster_range in (12.0, 25.0):
        assert abs(counts[0.1, cluster_range] / counts[0.01, cluster_range] - 1.0) < 0.2
    assert counts[0.1, 12.0] > 2.5 * counts[0.1, 25.0]


def test_probability_one_is_one_greedy_iteration():
    """With CH_prob = 1 every node decides in iteration 1, in node order: node 0 is CH, every other node is
    CH exactly when no lower-index CH is within range."""
    x, y, energy, initial, alive = random_network(3, 80, dead_fraction=0.0, equal_energy=True)
    kernel = run_kernel(np.random.default_rng(0), x, y, alive, energy, initial, 1.0, 1e-4, 20.0)
    assert kernel["iterations"] == 1
    in_range = pairwise_d2(x, y) <= 400.0
    expected = np.zeros(80, dtype=bool)
    for i in range(80):
        expected[i] = not (expected[:i] & in_range[i, :i]).any()
    np.testing.assert_array_equal(kernel["heads"], expected)
    np.testing.assert_array_equal(kernel["sent"], expected.astype(np.int64))
    np.testing.assert_array_equal(kernel["heard"], (in_range & ~np.eye(80, dtype=bool))[:, expected].sum(axis=1))


def test_policy_over_rounds_equals_reference_with_deaths_and_revivals():
    """Over rounds in which nodes die and revive and energies change, the policy's masks and per-node
    state equal the reference's each round (one Generator stream across rounds)."""
    scenario = Scenario.from_mapping({"nodes": 150, "p": 0.1})
    gen = np.random.default_rng(5)
    n = 150
    x, y = gen.uniform(0, 100, n), gen.uniform(0, 100, n)
    initial = np.full(n, 0.5)
    energy = initial.copy()
    alive = np.ones(n, dtype=np.uint8)
    policy = HeedPolicy(scenario)
    state = make_state(scenario, x, y, energy, initial, alive)
    policy.reset(state, np.random.default_rng(1))
    assert policy.cluster_range == pytest.approx(default_cluster_range(state))
    rng_policy, rng_reference = np.random.default_rng(11), np.random.default_rng(11)
    for r in range(1, 40):
        state.round = r
        mask = policy.elect(state, rng_policy)
        reference = naive_heed(rng_reference, x.tolist(), y.tolist(), alive.tolist(), energy.tolist(),
                               initial.tolist(), 0.1, 1e-4, policy.r2)
        np.testing.assert_array_equal(mask, np.array(reference["heads"]))
        np.testing.assert_array_equal(policy.sent, reference["sent"])
        np.testing.assert_array_equal(policy.heard, reference["heard"])
        np.testing.assert_array_equal(policy.degree, head_degrees(reference))
        np.testing.assert_array_equal(policy.head_of, reference["head_of"])
        # next round: energies drop, some nodes die, a few revive (the state's views follow the arrays)
        energy -= gen.uniform(0.0, 0.03, n) * (1 + mask)
        np.maximum(energy, 0.0, out=energy)
        alive[:] = (energy > 0.0).astype(np.uint8)
        revive = gen.random(n) < 0.02
        energy[revive] = 0.05
        alive[revive] = 1


def test_default_cluster_range_solves_the_packing_model_and_the_diagonal_rule_stays():
    scenario = Scenario.from_mapping({"nodes": 100})
    gen = np.random.default_rng(2)
    x, y = gen.uniform(0, 100, 100), gen.uniform(0, 100, 100)
    state = make_state(scenario, x, y, np.full(100, 0.5), np.full(100, 0.5), np.ones(100, dtype=np.uint8))
    k_opt = optimal_cluster_count_for(state)
    r = default_cluster_range(state)
    # the range is the root of the module's head-count model K(R_c) = k_opt
    theta, alpha = PACKING_FRACTION, EDGE_GROWTH
    assert theta * (100 + alpha * r) ** 2 / (math.pi * r * r / 4) == pytest.approx(k_opt, rel=1e-12)
    assert default_cluster_range(state, "diagonal") == pytest.approx(math.hypot(100, 100) / math.sqrt(k_opt))
    policy = make_policy("heed", scenario)
    policy.reset(state, np.random.default_rng(0))
    assert 20.0 < policy.cluster_range < 35.0  # classic scenario: k_opt ~ 10, R_c ~ 27 m
    assert policy.cluster_range == pytest.approx(r)
    assert policy.describe()["cluster_range_m"] == policy.cluster_range
    diagonal = HeedPolicy(scenario, range_rule="diagonal")
    diagonal.reset(state, np.random.default_rng(0))
    assert diagonal.cluster_range == pytest.approx(math.hypot(100, 100) / math.sqrt(k_opt))


def test_single_hop_range_falls_with_k_and_one_head_covers_any_field():
    ranges = [single_hop_cluster_range(k, 100.0, 100.0) for k in (1.0, 2.0, 5.0, 10.0, 40.0)]
    assert all(a > b for a, b in zip(ranges, ranges[1:]))
    assert single_hop_cluster_range(0.2, 100.0, 100.0) == single_hop_cluster_range(1.0, 100.0, 100.0)
    assert ranges[0] > math.hypot(100, 100)  # k = 1: no second node is out of range
    # scale invariance: a field twice as large needs twice the range for the same k
    assert single_hop_cluster_range(7.0, 200.0, 200.0) == pytest.approx(2 * single_hop_cluster_range(7.0, 100, 100))


def test_control_energy_charges_announcements():
    scenario = Scenario.from_mapping({"nodes": 80})
    x, y, energy, initial, alive = random_network(4, 80)
    policy = HeedPolicy(scenario, cluster_range=20.0)
    state = make_state(scenario, x, y, energy, initial, alive, round_number=2, control_bits=200.0)
    policy.reset(state, np.random.default_rng(0))
    heads = policy.elect(state, np.random.default_rng(3))
    radio = scenario.radio_model()
    extra = policy.control_energy(state, heads)
    tx = tx_energy_jit(200.0, 20.0, radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0)
    expected = policy.sent * tx + policy.heard * 200.0 * radio.e_elec
    np.testing.assert_array_equal(extra, expected)
    assert extra.sum() > 0 and (extra[alive == 0] == 0).all()
    # round 1 adds the neighbour discovery: one hello per alive node, one reception per alive neighbour
    first = make_state(scenario, x, y, energy, initial, alive, round_number=1, control_bits=200.0)
    live = alive != 0
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    neighbours = ((d2 <= 400.0) & live[None, :]).sum(axis=1) - 1
    hello = np.where(live, tx + neighbours * 200.0 * radio.e_elec, 0.0)
    np.testing.assert_allclose(policy.control_energy(first, heads), expected + hello, rtol=1e-12, atol=0)
    silent = make_state(scenario, x, y, energy, initial, alive, control_bits=0.0)
    assert policy.control_energy(silent, heads) is None


@pytest.mark.parametrize("kwargs, parameter", [({"cluster_range": 0.0}, "cluster_range"),
                                               ({"cluster_range": float("nan")}, "cluster_range"),
                                               ({"p_min": 0.0}, "p_min"), ({"p_min": 2.0}, "p_min")])
def test_bad_parameters(kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        HeedPolicy(Scenario.from_mapping({}), **kwargs)
    assert info.value.parameter == parameter


def test_grid_covers_every_pair_within_range():
    """Every pair within range is found through the grid (CH degrees and heard counts equal brute force),
    for ranges from far below to far above the node spacing and an elongated field."""
    gen = np.random.default_rng(9)
    for cluster_range in (0.01, 1.0, 7.3, 500.0):
        x, y = gen.uniform(0, 50, 400), gen.uniform(0, 20, 400)
        grid = build_grid(x, y, cluster_range)
        shape, cell_node = grid[1], grid[3]
        assert shape[0] * shape[1] <= 4 * 400 + 4
        assert np.array_equal(np.sort(cell_node), np.arange(400))
        alive = np.ones(400, dtype=np.uint8)
        energy = np.full(400, 0.5)
        kernel = run_kernel(np.random.default_rng(1), x, y, alive, energy, energy, 1.0, 1e-4, cluster_range)
        in_range = pairwise_d2(x, y) <= cluster_range ** 2
        heads = kernel["heads"]
        np.testing.assert_array_equal(kernel["degree"][heads], in_range[heads].sum(axis=1) - 1)
        np.testing.assert_array_equal(kernel["heard"], (in_range & ~np.eye(400, dtype=bool))[:, heads].sum(axis=1))
