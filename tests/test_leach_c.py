"""LEACH-C election: the compiled kernel against the pure-Python reference (tests/naive_leach_c.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples, largest

from naive_leach_c import naive_leach_c, naive_objective
from wsnmec.clustering.leach_c import (
    SWAP_BUDGET,
    SWAP_CAP,
    SWAP_PASSES,
    elect_leach_c,
    nearest_heads,
    squared_distance_objective,
)

DEFAULT_SWAPS = (SWAP_CAP, SWAP_BUDGET, SWAP_PASSES)
NO_SWAPS = (0, 0, 0)


def random_state(seed, n, layout, energies, dead_fraction):
    """Positions, alive flags and energies of a test network; layouts and energies chosen to make ties."""
    g = np.random.default_rng(seed)
    if layout == "uniform":
        x, y = g.random(n) * 100.0, g.random(n) * 100.0
    elif layout == "lattice":  # integer coordinates: many equal distances
        x, y = g.integers(0, 6, n).astype(float), g.integers(0, 6, n).astype(float)
    elif layout == "line":  # zero span along y
        x, y = g.random(n) * 50.0, np.full(n, 3.0)
    else:  # all at one point
        x, y = np.full(n, 7.0), np.full(n, 7.0)
    alive = (g.random(n) >= dead_fraction).astype(np.uint8)
    if energies == "equal":
        energy = np.full(n, 0.1)
    elif energies == "two-levels":  # SEP-like: some nodes start with twice the energy
        energy = np.where(g.random(n) < 0.2, 1.0, 0.5)
    else:
        energy = g.random(n) * 0.5 + 1e-6
    energy = np.where(alive == 1, energy, 0.0)
    return x, y, alive, energy


def run_both(seed, x, y, alive, energy, p, max_iterations=30, swaps=DEFAULT_SWAPS):
    rng_kernel = np.random.default_rng(seed)
    rng_naive = np.random.default_rng(seed)
    is_ch = np.zeros(x.shape[0], dtype=np.uint8)
    n_ch, passes = elect_leach_c(rng_kernel, p, max_iterations, *swaps, x, y, alive, energy, is_ch)
    heads, naive_passes = naive_leach_c(rng_naive, p, max_iterations, *swaps, x, y, alive, energy)
    expected = np.zeros(x.shape[0], dtype=np.uint8)
    expected[heads] = 1
    np.testing.assert_array_equal(is_ch, expected)
    assert n_ch == len(heads)
    assert passes == naive_passes
    # same number of draws: the generators are in the same state afterwards
    assert rng_kernel.bit_generator.state == rng_naive.bit_generator.state
    return is_ch, passes


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    # the reference's cost grows with n (its swap passes); the fast tier stops at 80 nodes, still above the
    # 36 points of the lattice layout (ties) and the swap caps below
    n=st.integers(1, largest(300, 80)),
    layout=st.sampled_from(["uniform", "lattice", "line", "point"]),
    energies=st.sampled_from(["equal", "two-levels", "random"]),
    dead_fraction=st.sampled_from([0.0, 0.3, 0.9, 1.0]),
    p=st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.5, 1.0]),
    max_iterations=st.sampled_from([1, 3, 30]),
    swaps=st.sampled_from([NO_SWAPS, (4, 10**9, 1), (6, 10**9, 2), (3, 10**9, 30), (50, 2000, 2)]),
)
def test_kernel_matches_reference(seed, n, layout, energies, dead_fraction, p, max_iterations, swaps):
    x, y, alive, energy = random_state(seed, n, layout, energies, dead_fraction)
    is_ch, _ = run_both(seed + 1, x, y, alive, energy, p, max_iterations, swaps)
    assert not np.any(is_ch[alive == 0])


@pytest.mark.parametrize("seed", range(4))
def test_kernel_matches_reference_over_rounds(seed):
    """Default search (50 swap trials at this size), several rounds on one generator, energies falling
    between rounds (nodes die), heterogeneous start."""
    n = 80
    x, y, alive, energy = random_state(seed, n, "uniform", "two-levels", 0.0)
    g = np.random.default_rng(100 + seed)
    rng_kernel = np.random.default_rng(seed)
    rng_naive = np.random.default_rng(seed)
    is_ch = np.zeros(n, dtype=np.uint8)
    for _ in range(6):
        elect_leach_c(rng_kernel, 0.1, 30, *DEFAULT_SWAPS, x, y, alive, energy, is_ch)
        heads, _ = naive_leach_c(rng_naive, 0.1, 30, *DEFAULT_SWAPS, x, y, alive, energy)
        np.testing.assert_array_equal(np.flatnonzero(is_ch), heads)
        energy = energy - g.random(n) * 0.05 - 0.1 * is_ch
        alive = (alive.astype(bool) & (energy > 0)).astype(np.uint8)
    assert rng_kernel.bit_generator.state == rng_naive.bit_generator.state


def test_heads_are_eligible_and_k_is_round_p_n():
    x, y, alive, energy = random_state(3, 300, "uniform", "random", 0.3)
    is_ch = np.zeros(300, dtype=np.uint8)
    n_ch, passes = elect_leach_c(np.random.default_rng(0), 0.05, 30, *DEFAULT_SWAPS, x, y, alive, energy, is_ch)
    n_alive = int(alive.sum())
    assert n_ch == int(np.floor(0.05 * n_alive + 0.5)) == int(is_ch.sum())
    mean = energy[alive == 1].mean()
    assert np.all(energy[is_ch == 1] >= mean * (1 - 1e-12))
    assert np.all(alive[is_ch == 1] == 1)
    assert 1 <= passes <= 30 + SWAP_CAP * SWAP_PASSES


def test_fewer_eligible_than_k_makes_every_eligible_node_a_head():
    # 3 rich nodes, 97 poor: the mean is below the rich only, k = round(0.1 * 100) = 10 > 3 eligible.
    g = np.random.default_rng(1)
    x, y = g.random(100) * 100, g.random(100) * 100
    energy = np.full(100, 0.01)
    energy[[5, 50, 95]] = 1.0
    alive = np.ones(100, dtype=np.uint8)
    rng = np.random.default_rng(2)
    before = rng.bit_generator.state
    is_ch = np.zeros(100, dtype=np.uint8)
    n_ch, passes = elect_leach_c(rng, 0.1, 30, *DEFAULT_SWAPS, x, y, alive, energy, is_ch)
    assert (n_ch, passes) == (3, 0)
    np.testing.assert_array_equal(np.flatnonzero(is_ch), [5, 50, 95])
    assert rng.bit_generator.state == before  # nothing drawn


def test_equal_energies_every_alive_node_eligible_and_at_least_one_head():
    x = np.array([0.0, 1.0, 2.0])
    y = np.zeros(3)
    energy = np.full(3, 0.1)  # 0.1 * 3 / 3 != 0.1 in float64: the min(mean, max) rule keeps them eligible
    alive = np.ones(3, dtype=np.uint8)
    is_ch = np.zeros(3, dtype=np.uint8)
    n_ch, _ = elect_leach_c(np.random.default_rng(0), 0.01, 30, *DEFAULT_SWAPS, x, y, alive, energy, is_ch)
    assert n_ch == 1
    assert is_ch[1] == 1  # the middle node minimises the squared distances


def test_no_alive_node_no_head_no_draw():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    is_ch = np.ones(4, dtype=np.uint8)
    zeros, none_alive = np.zeros(4), np.zeros(4, np.uint8)
    assert elect_leach_c(rng, 0.1, 30, *DEFAULT_SWAPS, zeros, zeros, none_alive, zeros, is_ch) == (0, 0)
    assert not is_ch.any()
    assert rng.bit_generator.state == before


def test_finds_one_head_per_separated_group():
    """Four tight groups far apart, k = 4: the local optimum puts one head in each group (near its centre)."""
    g = np.random.default_rng(5)
    centres = np.array([[10, 10], [90, 10], [10, 90], [90, 90]], dtype=float)
    pts = np.concatenate([c + g.normal(0, 2.0, (25, 2)) for c in centres])
    x, y = pts[:, 0].copy(), pts[:, 1].copy()
    alive = np.ones(100, dtype=np.uint8)
    energy = np.full(100, 0.5)
    for seed in range(10):
        is_ch = np.zeros(100, dtype=np.uint8)
        elect_leach_c(np.random.default_rng(seed), 0.04, 30, *DEFAULT_SWAPS, x, y, alive, energy, is_ch)
        groups = np.flatnonzero(is_ch) // 25
        assert sorted(groups) == [0, 1, 2, 3], seed


def test_search_lowers_the_objective_below_random_heads():
    x, y, alive, energy = random_state(11, 300, "uniform", "equal", 0.0)
    masks = {}
    for name, passes, swaps in [("one pass", 1, NO_SWAPS), ("passes", 30, NO_SWAPS), ("swaps", 30, DEFAULT_SWAPS)]:
        masks[name] = np.zeros(300, dtype=np.uint8)
        elect_leach_c(np.random.default_rng(4), 0.1, passes, *swaps, x, y, alive, energy, masks[name])
    cost = {name: squared_distance_objective(x, y, alive, mask) for name, mask in masks.items()}
    assert cost["swaps"] == pytest.approx(naive_objective(x, y, alive, np.flatnonzero(masks["swaps"])))
    # same start: every further pass and every kept swap lowers J
    assert cost["swaps"] <= cost["passes"] <= cost["one pass"]
    random_heads = np.random.default_rng(9).choice(300, 30, replace=False)
    mask = np.zeros(300, dtype=bool)
    mask[random_heads] = True
    assert cost["swaps"] < 0.8 * squared_distance_objective(x, y, alive, mask)


@pytest.mark.parametrize("layout", ["uniform", "lattice", "line", "point"])
def test_grid_nearest_head_equals_brute_force(layout):
    x, y, alive, _ = random_state(21, 3000, layout, "equal", 0.2)
    g = np.random.default_rng(0)
    heads = np.sort(g.choice(np.flatnonzero(alive), 150, replace=False))
    is_head = np.zeros(3000, dtype=np.uint8)
    is_head[heads] = 1
    owner = np.empty(3000, dtype=np.int64)
    nearest_heads(x, y, alive, heads, heads.shape[0], is_head, owner)
    d = (x[:, None] - x[heads][None, :]) ** 2 + (y[:, None] - y[heads][None, :]) ** 2
    expected = heads[np.argmin(d, axis=1)]  # argmin: first (lowest index) among ties
    expected[heads] = heads
    expected[alive == 0] = -1
    np.testing.assert_array_equal(owner, expected)


def test_hilbert_key_equals_reference_and_curve_is_continuous():
    from naive_leach_c import hilbert_index
    from wsnmec.clustering.leach_c import hilbert_key

    g = np.random.default_rng(0)
    for qx, qy in g.integers(0, 65536, (500, 2)):
        assert hilbert_key(int(qx), int(qy)) == hilbert_index(int(qx), int(qy))
    # on a 16 x 16 grid the reference visits every cell once, each step to a side neighbour
    cells = sorted(((hilbert_index(cx, cy, order=4), cx, cy) for cx in range(16) for cy in range(16)))
    assert [c[0] for c in cells] == list(range(256))
    steps = [abs(a[1] - b[1]) + abs(a[2] - b[2]) for a, b in zip(cells, cells[1:])]
    assert steps == [1] * 255


def test_grid_nearest_head_far_heads_need_the_ring_search():
    """Heads only in one corner: most nodes' 3 x 3 blocks hold no head, so the outward ring search runs."""
    g = np.random.default_rng(3)
    n = 2000
    x, y = g.random(n) * 100.0, g.random(n) * 100.0
    alive = (g.random(n) > 0.1).astype(np.uint8)
    corner = np.flatnonzero((x < 20) & (y < 20) & (alive == 1))
    heads = np.sort(np.concatenate([g.choice(corner, 60, replace=False), [int(np.argmax(x + y * (alive == 1)))]]))
    is_head = np.zeros(n, dtype=np.uint8)
    is_head[heads] = 1
    owner = np.empty(n, dtype=np.int64)
    nearest_heads(x, y, alive, heads, heads.shape[0], is_head, owner)
    d = (x[:, None] - x[heads][None, :]) ** 2 + (y[:, None] - y[heads][None, :]) ** 2
    expected = heads[np.argmin(d, axis=1)]
    expected[heads] = heads
    expected[alive == 0] = -1
    np.testing.assert_array_equal(owner, expected)
