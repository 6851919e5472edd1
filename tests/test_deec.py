"""DEEC election: the compiled kernel against the pure-Python reference (tests/naive_deec.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from naive_deec import naive_deec
from wsnmec.clustering.deec import elect_deec, node_epoch


def run_rounds(seed, n, rounds, p, energies, dead_fraction, harvest):
    """Run ``rounds`` DEEC elections through kernel and reference on twin generators, energies drawn down
    (CHs more) and optionally harvested between rounds; asserts equal masks and last-CH rounds each round."""
    g = np.random.default_rng(seed)
    if energies == "equal":
        energy = np.full(n, 0.5)
    elif energies == "two-levels":  # SEP: advanced nodes with (1 + a) E0
        energy = np.where(g.random(n) < 0.2, 1.0, 0.5)
    else:
        energy = g.random(n) + 1e-9
    alive = (g.random(n) >= dead_fraction).astype(np.uint8)
    energy = np.where(alive == 1, energy, 0.0)
    rng_kernel = np.random.default_rng(seed + 1)
    rng_naive = np.random.default_rng(seed + 1)
    last_ch = np.zeros(n, dtype=np.int64)
    naive_last = [0] * n
    is_ch = np.zeros(n, dtype=np.uint8)
    heads_per_round = []
    for r in range(1, rounds + 1):
        if harvest:
            energy = np.where(alive == 1, energy + g.random(n) * 0.01, energy)
        n_ch = elect_deec(rng_kernel, r, p, alive, energy, last_ch, is_ch)
        expected = naive_deec(rng_naive, r, p, alive, energy, naive_last)
        np.testing.assert_array_equal(is_ch.astype(bool), np.array(expected, dtype=bool), err_msg=f"round {r}")
        np.testing.assert_array_equal(last_ch, np.array(naive_last, dtype=np.int64), err_msg=f"round {r}")
        assert n_ch == sum(expected)
        assert not np.any(is_ch[alive == 0])
        heads_per_round.append(is_ch.copy())
        energy = energy - g.random(n) * 0.02 - 0.05 * is_ch
        alive = (alive.astype(bool) & (energy > 0)).astype(np.uint8)
    assert rng_kernel.bit_generator.state == rng_naive.bit_generator.state
    return np.array(heads_per_round)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    rounds=st.integers(1, 40),
    p=st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.5, 1.0]),
    energies=st.sampled_from(["equal", "two-levels", "random"]),
    dead_fraction=st.sampled_from([0.0, 0.3, 1.0]),
    harvest=st.booleans(),
)
def test_kernel_matches_reference(seed, n, rounds, p, energies, dead_fraction, harvest):
    run_rounds(seed, n, rounds, p, energies, dead_fraction, harvest)


def test_node_epoch_is_round_inverse_with_cap():
    assert node_epoch(1.0) == 1
    assert node_epoch(0.1) == 10
    assert node_epoch(0.4) == 3  # 1/0.4 = 2.5: halves round up
    assert node_epoch(1e-300) == 2**62


def test_equal_energies_about_p_heads_per_round():
    """Equal energies: p_i = p, so about p N heads per round on average (over many rounds)."""
    n, p = 200, 0.1
    rng = np.random.default_rng(0)
    energy = np.full(n, 0.5)
    alive = np.ones(n, dtype=np.uint8)
    last_ch = np.zeros(n, dtype=np.int64)
    is_ch = np.zeros(n, dtype=np.uint8)
    counts = [elect_deec(rng, r, p, alive, energy, last_ch, is_ch) for r in range(1, 401)]
    assert np.mean(counts) == pytest.approx(p * n, rel=0.1)


def test_richer_nodes_are_heads_more_often_in_proportion_to_energy():
    """SEP-like network (advanced nodes with twice the energy, energies held fixed): an advanced node's
    p_i is twice a normal node's, so it is CH about twice as often."""
    n, p = 300, 0.05
    energy = np.where(np.arange(n) < 60, 1.0, 0.5)
    alive = np.ones(n, dtype=np.uint8)
    rng = np.random.default_rng(1)
    last_ch = np.zeros(n, dtype=np.int64)
    is_ch = np.zeros(n, dtype=np.uint8)
    turns = np.zeros(n)
    for r in range(1, 2001):
        elect_deec(rng, r, p, alive, energy, last_ch, is_ch)
        turns += is_ch
    ratio = turns[:60].mean() / turns[60:].mean()
    assert ratio == pytest.approx(2.0, rel=0.1)


def test_at_most_one_turn_per_own_epoch_and_p_capped_at_one():
    # 20 nodes, node 0 holds 1 J, the others 0.011 J: p_0 = 0.1 * 1 / 0.06045 > 1 is capped at 1 (epoch 1): CH
    # every round; the others have p_i = 0.1 * 0.011 / 0.06045 and epoch round(1 / p_i) = 55 rounds.
    n = 20
    energy = np.full(n, 0.011)
    energy[0] = 1.0
    alive = np.ones(n, dtype=np.uint8)
    rng = np.random.default_rng(2)
    last_ch = np.zeros(n, dtype=np.int64)
    is_ch = np.zeros(n, dtype=np.uint8)
    history = []
    for r in range(1, 401):
        elect_deec(rng, r, 0.1, alive, energy, last_ch, is_ch)
        history.append(is_ch.copy())
    history = np.array(history)
    assert history[:, 0].all()
    epoch = node_epoch(0.1 * 0.011 / (energy.sum() / n))
    assert epoch == 55
    turns = 0
    for i in range(1, n):
        rounds = np.flatnonzero(history[:, i]) + 1
        epochs = (rounds - 1) // epoch
        assert np.unique(epochs).size == epochs.size  # at most once per epoch of 55 rounds
        turns += rounds.size
    assert turns >= 19 * 5  # ... and once in every complete epoch (55 >= 1/p_i = 54.95: T reaches 1)


def test_dead_nodes_and_all_dead_draw_nothing():
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    is_ch = np.ones(5, dtype=np.uint8)
    assert elect_deec(rng, 1, 0.1, np.zeros(5, np.uint8), np.zeros(5), np.zeros(5, np.int64), is_ch) == 0
    assert not is_ch.any()
    assert rng.bit_generator.state == before


def test_equal_energies_elect_exactly_the_leach_heads():
    """Equal energies (0.5 J: the mean is exact, p_i = p): DEEC's per-node epochs are LEACH's epochs and the
    same draws elect the same heads, round after round (dead nodes included)."""
    from wsnmec.clustering.leach import elect_leach, epoch_length

    n, p = 120, 0.1
    alive = (np.random.default_rng(0).random(n) > 0.2).astype(np.uint8)
    energy = np.where(alive == 1, 0.5, 0.0)
    rng_deec, rng_leach = np.random.default_rng(9), np.random.default_rng(9)
    last_ch = np.zeros(n, dtype=np.int64)
    is_ch = np.zeros(n, dtype=np.uint8)
    ch_epoch = np.full(n, -1, dtype=np.int64)
    rounds_since = np.zeros(n, dtype=np.int64)
    leach_ch = np.zeros(n, dtype=np.uint8)
    ch_list = np.zeros(n, dtype=np.int64)
    for r in range(1, 61):
        elect_deec(rng_deec, r, p, alive, energy, last_ch, is_ch)
        elect_leach(rng_leach, r, p, epoch_length(p), False, alive, energy, energy, ch_epoch, rounds_since,
                    leach_ch, ch_list)
        np.testing.assert_array_equal(is_ch, leach_ch, err_msg=f"round {r}")
    assert rng_deec.bit_generator.state == rng_leach.bit_generator.state
