"""leach-c and deec as policies: registry, read-only NetworkState, heterogeneous energies."""

from __future__ import annotations

import numpy as np
import pytest

from naive_deec import naive_deec
from naive_leach_c import naive_leach_c
from wsnmec.clustering.leach_c import MAX_ITERATIONS, SWAP_BUDGET, SWAP_CAP, SWAP_PASSES
from wsnmec.clustering.registry import CLUSTERING_POLICIES, make_policy, policy_class
from wsnmec.energy.radio import radio_model
from wsnmec.sim.state import NetworkState, read_only


class FakeScenario:
    p = 0.1
    semantics = "clean"
    offload = "local"
    policy_model = None

    def radio_model(self):
        return radio_model()


def network_state(n, seed, round_number=1):
    g = np.random.default_rng(seed)
    x, y = g.random(n) * 100, g.random(n) * 100
    energy = np.where(g.random(n) < 0.1, 1.0, 0.5)  # SEP: 10 % advanced nodes with (1 + 1) E0
    alive = np.ones(n, dtype=np.uint8)
    alive[g.random(n) < 0.1] = 0
    energy[alive == 0] = 0.0
    d_sink = np.hypot(x - 50, y - 50)
    zeros = np.zeros(n)
    return NetworkState(
        n=n, round=round_number, x=read_only(x), y=read_only(y), sink=(50.0, 50.0), field=(100.0, 100.0),
        d_sink=read_only(d_sink), energy=read_only(energy), initial_energy=read_only(energy.copy()),
        capacity=read_only(energy.copy()), alive_u8=read_only(alive),
        rounds_since_ch=read_only(np.zeros(n, dtype=np.int64)), harvested=read_only(zeros),
        consumed_last=read_only(zeros), receivers=read_only(np.full(n, -2, dtype=np.int64)),
        members=read_only(np.zeros(n, dtype=np.int64)), scenario=FakeScenario(), params=np.zeros(16))


def test_registered_with_control_patterns():
    assert policy_class("leach-c").control == "centralized"
    assert policy_class("deec").control == "distributed"
    assert policy_class("leach-c").fused_code is None and policy_class("deec").fused_code is None


def test_leach_c_policy_on_read_only_state_equals_reference():
    state = network_state(60, 0)
    policy = make_policy("leach-c", FakeScenario())
    rng, twin = np.random.default_rng(1), np.random.default_rng(1)
    policy.reset(state, rng)
    mask = policy.elect(state, rng)
    search = (MAX_ITERATIONS, SWAP_CAP, SWAP_BUDGET, SWAP_PASSES)
    heads, _ = naive_leach_c(twin, 0.1, *search, state.x, state.y, state.alive_u8, state.energy)
    np.testing.assert_array_equal(np.flatnonzero(mask), heads)
    assert mask.dtype == np.bool_ and not mask[state.alive_u8 == 0].any()
    # the advanced (richer) nodes are the only ones above the mean: every head is one of them
    assert np.all(state.energy[mask] == 1.0)
    assert policy.describe()["name"] == "leach-c"


def test_deec_policy_over_rounds_equals_reference():
    state = network_state(150, 2)
    policy = make_policy("deec", FakeScenario())
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    policy.reset(state, rng)
    last = [0] * 150
    for r in range(1, 30):
        state.round = r
        mask = policy.elect(state, rng)
        expected = naive_deec(twin, r, 0.1, state.alive_u8, state.energy, last)
        np.testing.assert_array_equal(mask, np.array(expected))
        np.testing.assert_array_equal(policy.last_ch, last)
    assert policy.describe()["name"] == "deec"


@pytest.mark.parametrize("name", list(CLUSTERING_POLICIES))
def test_no_alive_node_no_head(name):
    state = network_state(20, 4)
    state.alive_u8 = read_only(np.zeros(20, dtype=np.uint8))
    policy = make_policy(name, FakeScenario())
    rng = np.random.default_rng(0)
    policy.reset(state, rng)
    assert not policy.elect(state, rng).any()
