"""HEED election: compiled kernel == pure-Python reference (tests/naive_heed.py) bit for bit, and the
paper's properties of its result."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naive_heed import naive_heed
from wsnmec.clustering.heed import (
    CONTROL_BITS_INDEX,
    HeedPolicy,
    build_grid,
    default_cluster_range,
    elect_heed,
    update_degrees,
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
    geometry, shape, cell_start, cell_node = build_grid(x, y, cluster_range)
    degree = np.zeros(n, dtype=np.int64)
    update_degrees(x, y, alive, np.zeros(n, dtype=np.uint8), r2, geometry, shape, cell_start, cell_node, degree)
    status = np.zeros(n, dtype=np.uint8)
    sent = np.zeros(n, dtype=np.int64)
    heard = np.zeros(n, dtype=np.int64)
    iterations = elect_heed(rng, x, y, alive, energy, initial, c_prob, p_min, r2, geometry, shape, cell_start,
                            cell_node, degree, status, sent, heard, np.zeros(n), np.zeros(n, dtype=np.int64),
                            np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.uint8))
    return {"heads": status == 2, "degree": degree, "sent": sent, "heard": heard, "iterations": iterations}


def assert_same(kernel, reference, alive):
    np.testing.assert_array_equal(kernel["heads"], np.array(reference["heads"], dtype=bool))
    np.testing.assert_array_equal(kernel["degree"], np.array(reference["degree"], dtype=np.int64))
    np.testing.assert_array_equal(kernel["sent"], np.array(reference["sent"], dtype=np.int64))
    np.testing.assert_array_equal(kernel["heard"], np.array(reference["heard"], dtype=np.int64))
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


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), c_prob=st.floats(1e-6, 1.0),
       cluster_range=st.floats(0.5, 150.0), p_min=st.sampled_from([1e-4, 1e-2, 0.3]),
       lattice=st.booleans(), equal_energy=st.booleans(), dead_fraction=st.sampled_from([0.0, 0.3, 1.0]))
def test_kernel_equals_reference_hypothesis(seed, n, c_prob, cluster_range, p_min, lattice, equal_energy,
                                            dead_fraction):
    compare(seed, n, c_prob, cluster_range, p_min=p_min, lattice=lattice, equal_energy=equal_energy,
            dead_fraction=dead_fraction)


@pytest.mark.parametrize("seed", range(6))
def test_result_follows_the_paper(seed):
    """Final CHs are alive; every alive node is a CH or within range of one; a CH that hears another final
    CH in the Repeat phase never became final after it (no two final CHs within range unless they
    announced in the same iteration or one was forced in Finalize)."""
    kernel, alive, x, y = compare(seed, 200, 0.1, 15.0)
    heads = kernel["heads"]
    assert not heads[alive == 0].any()
    r2 = 15.0 * 15.0
    for i in np.flatnonzero(alive):
        d2 = (x[heads] - x[i]) ** 2 + (y[heads] - y[i]) ** 2
        assert heads[i] or (d2 <= r2).any()
    assert 0 < heads.sum() < alive.sum()
    assert (kernel["sent"][heads] >= 1).sum() > 0  # heads elected in the Repeat phase announced
    assert kernel["iterations"] <= math.ceil(math.log2(1 / 1e-4)) + 1


def test_probability_one_makes_every_node_final_at_once():
    x, y, energy, initial, alive = random_network(3, 50, dead_fraction=0.0, equal_energy=True)
    rng = np.random.default_rng(0)
    kernel = run_kernel(rng, x, y, alive, energy, initial, 1.0, 1e-4, 20.0)
    assert kernel["heads"].all() and kernel["iterations"] == 1
    np.testing.assert_array_equal(kernel["sent"], np.ones(50, dtype=np.int64))
    np.testing.assert_array_equal(kernel["heard"], kernel["degree"])


def test_policy_over_rounds_equals_reference_with_deaths_and_revivals():
    """The policy keeps node degrees incrementally; over rounds in which nodes die and revive and energies
    change, its masks and per-node counts equal the reference's fresh computation each round."""
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
        np.testing.assert_array_equal(policy.degree, reference["degree"])
        # next round: energies drop, some nodes die, a few revive (the state's views follow the arrays)
        energy -= gen.uniform(0.0, 0.03, n) * (1 + mask)
        np.maximum(energy, 0.0, out=energy)
        alive[:] = (energy > 0.0).astype(np.uint8)
        revive = gen.random(n) < 0.02
        energy[revive] = 0.05
        alive[revive] = 1


def test_default_cluster_range_is_diagonal_over_sqrt_kopt():
    scenario = Scenario.from_mapping({"nodes": 100})
    gen = np.random.default_rng(2)
    x, y = gen.uniform(0, 100, 100), gen.uniform(0, 100, 100)
    state = make_state(scenario, x, y, np.full(100, 0.5), np.full(100, 0.5), np.ones(100, dtype=np.uint8))
    k_opt = optimal_cluster_count_for(state)
    assert default_cluster_range(state) == pytest.approx(math.hypot(100, 100) / math.sqrt(k_opt))
    policy = make_policy("heed", scenario)
    policy.reset(state, np.random.default_rng(0))
    assert 30.0 < policy.cluster_range < 60.0  # classic scenario: k_opt ~ 10, R_c ~ 44 m
    assert policy.describe()["cluster_range_m"] == policy.cluster_range


def test_control_energy_charges_announcements():
    scenario = Scenario.from_mapping({"nodes": 80})
    x, y, energy, initial, alive = random_network(4, 80)
    policy = HeedPolicy(scenario, cluster_range=20.0)
    state = make_state(scenario, x, y, energy, initial, alive, control_bits=200.0)
    policy.reset(state, np.random.default_rng(0))
    heads = policy.elect(state, np.random.default_rng(3))
    radio = scenario.radio_model()
    extra = policy.control_energy(state, heads)
    expected = policy.sent * tx_energy_jit(200.0, 20.0, radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0) \
        + policy.heard * 200.0 * radio.e_elec
    np.testing.assert_array_equal(extra, expected)
    assert extra.sum() > 0 and (extra[alive == 0] == 0).all()
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
    gen = np.random.default_rng(9)
    for cluster_range in (0.01, 1.0, 7.3, 500.0):
        x, y = gen.uniform(0, 50, 400), gen.uniform(0, 20, 400)
        geometry, shape, cell_start, cell_node = build_grid(x, y, cluster_range)
        assert shape[0] * shape[1] <= 4 * 400 + 4
        assert np.array_equal(np.sort(cell_node), np.arange(400))
        degree = np.zeros(400, dtype=np.int64)
        alive = np.ones(400, dtype=np.uint8)
        update_degrees(x, y, alive, np.zeros(400, dtype=np.uint8), cluster_range ** 2, geometry, shape,
                       cell_start, cell_node, degree)
        dx = x[:, None] - x[None, :]
        dy = y[:, None] - y[None, :]
        brute = ((dx * dx + dy * dy) <= cluster_range ** 2).sum(axis=1) - 1
        np.testing.assert_array_equal(degree, brute)
