"""Replenishment models (wsnmec.energy.harvest)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wsnmec.energy.harvest import can_ever_harvest, harvest_code, harvest_round, solar_energy


def one_round(spec, energy, capacity, alive, round_number=1, revive=0.0, seed=0, state=None):
    kind, params = harvest_code(spec)
    energy = np.array(energy, dtype=float)
    alive = np.array(alive, dtype=np.uint8)
    state = np.zeros(energy.size, dtype=np.int8) if state is None else state
    rng = np.random.default_rng(seed)
    total = harvest_round(rng, kind, params, round_number, energy, np.array(capacity, dtype=float), alive,
                          state, revive, np.zeros(len(energy)))
    return total, energy, alive, state, rng


def test_none_and_constant_with_battery_cap():
    total, energy, *_ = one_round("none", [0.1, 0.2], [1.0, 1.0], [1, 1])
    assert total == 0.0 and list(energy) == [0.1, 0.2]
    total, energy, *_ = one_round("constant:0.3", [0.1, 0.9, 1.5, 0.5], [1.0, 1.0, 1.0, 1.0], [1, 1, 1, 0])
    # node 1 capped at its capacity, node 2 above capacity gains nothing, node 3 is dead (no reviving)
    np.testing.assert_allclose(energy, [0.4, 1.0, 1.5, 0.5])
    assert total == pytest.approx(0.3 + 0.1)


def test_bernoulli_frequency_and_draws():
    n = 20000
    total, energy, _, _, rng = one_round("bernoulli:0.01,0.25", np.zeros(n), np.ones(n), np.ones(n))
    fraction = np.mean(energy > 0)
    assert abs(fraction - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n)
    assert total == pytest.approx(energy.sum())
    # exactly one uniform per harvesting node, in node order
    reference = np.random.default_rng(0).random(n) < 0.25
    np.testing.assert_array_equal(energy > 0, reference)
    assert rng.random() == np.random.default_rng(0).random(n + 1)[-1]


def test_dead_nodes_draw_nothing_without_revive():
    alive = np.array([1, 0, 1, 0])
    _, energy, _, _, rng = one_round("bernoulli:0.01,0.5", np.zeros(4), np.ones(4), alive)
    assert rng.random() == np.random.default_rng(0).random(3)[-1]  # only the two alive nodes drew
    assert energy[1] == 0.0 and energy[3] == 0.0


def test_markov_starts_good_and_switches():
    n = 20000
    state = np.zeros(n, dtype=np.int8)
    total, energy, _, state, _ = one_round("markov:0.002,0.0005,0.3,0.6", np.zeros(n), np.ones(n), np.ones(n),
                                           state=state)
    assert np.all(energy == 0.002)  # everyone harvests the good-state energy in the first round
    assert abs(state.mean() - 0.3) < 0.02  # then switches to bad with probability 0.3
    bad = state == 1
    _, energy2, _, state2, _ = one_round("markov:0.002,0.0005,0.3,0.6", energy, np.ones(n), np.ones(n),
                                         state=state, seed=1)
    np.testing.assert_allclose(energy2[bad] - energy[bad], 0.0005)
    assert abs((state2[bad] == 0).mean() - 0.6) < 0.03


def test_solar_profile():
    for r in (1, 6, 12, 18, 23):
        total, energy, *_ = one_round("solar:0.01,24", [0.0], [1.0], [1], round_number=r)
        expected = 0.01 * max(0.0, math.sin(2 * math.pi * r / 24))
        assert energy[0] == pytest.approx(expected, abs=1e-18)
        assert solar_energy(0.01, 24, r) == pytest.approx(expected, abs=1e-18)
    assert one_round("solar:0.01,24", [0.0], [1.0], [1], round_number=18)[0] == 0.0  # night


def test_revive_threshold():
    total, energy, alive, *_ = one_round("constant:0.002", [0.0, 0.0, 0.004], [1.0, 1.0, 1.0], [0, 1, 0],
                                         revive=0.005)
    assert list(alive) == [0, 1, 1]  # the dead node at 0.004 reaches 0.006 >= 0.005 and revives
    np.testing.assert_allclose(energy, [0.002, 0.002, 0.006])
    assert total == pytest.approx(0.006)


def test_can_ever_harvest():
    assert not can_ever_harvest("none")
    assert not can_ever_harvest("constant:0")
    assert can_ever_harvest("constant:0.1")
    assert not can_ever_harvest("bernoulli:0.1,0")
    assert can_ever_harvest("bernoulli:0.1,0.5")
    assert not can_ever_harvest("markov:0,0.1,0,0.5")
    assert can_ever_harvest("markov:0,0.1,0.2,0.5")
    assert can_ever_harvest("solar:1,24")
