"""The compiled round kernel against the pure-Python reference (tests/naive.py) on the same random draws."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from naive import NaiveNetwork, simulate_naive
from wsnmec.energy.radio import radio_model
from wsnmec.errors import ParameterError
from wsnmec.sim.accounting import account_round
from wsnmec.sim.nearest import TO_SINK, assign_receivers
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import ROUND_COLUMNS, simulate

COMPARED = [c for c in ROUND_COLUMNS if c not in ("replica", "seed")]


def assert_same_run(scenario: Scenario, seed: int):
    """Kernel and reference agree exactly (integers and float64 values bit for bit)."""
    result = simulate(scenario, seed=seed, replicas=1)
    records, lifetimes = simulate_naive(scenario, seed)
    kernel = result.rounds
    assert len(kernel) == len(records)
    for column in COMPARED:
        expected = np.array([rec[column] for rec in records])
        # Exact equality: both compute every float64 with the same operations in the same order.
        np.testing.assert_array_equal(kernel[column].to_numpy(), expected, err_msg=column)
    summary = result.summary.iloc[0]
    for name, value in zip(("fnd", "hnd", "lnd"), lifetimes):
        assert (None if pd.isna(summary[name]) else int(summary[name])) == value
    return result


HARVESTS = [
    ("none", None),
    ("constant:0.0004", None),
    ("bernoulli:0.003,0.2", 0.004),
    ("markov:0.001,0.0001,0.1,0.3", None),
    ("solar:0.002,40", 0.003),
]


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
@pytest.mark.parametrize("protocol", ["direct", "leach", "ileach"])
@pytest.mark.parametrize("harvest,revive", HARVESTS, ids=[h for h, _ in HARVESTS])
def test_kernel_matches_reference(semantics, protocol, harvest, revive):
    scenario = Scenario.from_mapping(
        protocol=protocol, semantics=semantics, nodes=40, e0=0.05, rounds=400, harvest=harvest,
        revive_threshold=revive, p=0.15,
    )
    result = assert_same_run(scenario, seed=7)
    assert result.rounds["consumed_j"].sum() > 0


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
@pytest.mark.parametrize("protocol", ["leach", "ileach"])
def test_kernel_matches_reference_until_all_dead(semantics, protocol):
    """Classic scenario shape (sink at the centre) run to the end, SEP heterogeneity, small N."""
    scenario = Scenario.from_mapping(protocol=protocol, semantics=semantics, nodes=60, e0=0.03,
                                     advanced_fraction=0.2, advanced_factor=1.0)
    result = assert_same_run(scenario, seed=3)
    assert result.rounds["alive"].iloc[-1] == 0


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
def test_kernel_matches_reference_far_sink_and_heinzelman2000(semantics):
    """Sink outside the field (multipath branch for every packet to the sink), one-amplifier radio."""
    for radio, sink in (("heinzelman2002", "50,250"), ("heinzelman2000", "130,40")):
        scenario = Scenario.from_mapping(protocol="leach", semantics=semantics, nodes=50, e0=0.1, rounds=300,
                                         sink=sink, radio=radio)
        assert_same_run(scenario, seed=11)


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
def test_kernel_matches_reference_with_overridden_radio_constants(semantics):
    """Every radio constant overridden (d0 given, and recomputed from eps_fs / eps_mp)."""
    for overrides in (
        dict(e_elec=30e-9, eps_fs=20e-12, eps_mp=0.002e-12, e_da=2e-9, d0=40.0),
        dict(eps_fs=5e-12, e_da=0.0),
    ):
        scenario = Scenario.from_mapping(protocol="leach", semantics=semantics, nodes=50, e0=0.05,
                                         rounds=300, sink="50,150", **overrides)
        radio = scenario.radio_model()
        for name, value in overrides.items():
            assert getattr(radio, name) == value
        if "d0" not in overrides:
            assert radio.d0 == math.sqrt(radio.eps_fs / radio.eps_mp)
        result = assert_same_run(scenario, seed=5)
        assert result.config["radio_constants"] == radio.as_dict()
        default = simulate(Scenario.from_mapping(protocol="leach", semantics=semantics, nodes=50, e0=0.05,
                                                 rounds=300, sink="50,150"), seed=5)
        assert not np.array_equal(result.rounds["consumed_j"], default.rounds["consumed_j"])


@pytest.mark.parametrize("semantics", ["clean", "matlab"])
@pytest.mark.parametrize("protocol", ["leach", "ileach"])
def test_kernel_matches_reference_on_a_lattice_with_ties(tmp_path, semantics, protocol):
    """Integer lattice positions: many equal distances, so tie-breaking must match the brute force."""
    path = tmp_path / "lattice.csv"
    rows = ["x,y"] + [f"{10 * i},{10 * j}" for i in range(8) for j in range(8)]
    path.write_text("\n".join(rows) + "\n")
    scenario = Scenario.from_mapping(protocol=protocol, semantics=semantics, positions=str(path), e0=0.05,
                                     rounds=300, sink="35,35", p=0.2)
    assert_same_run(scenario, seed=5)


def test_kernel_matches_reference_battery_cap_and_revival():
    """Battery slightly above E0 with strong harvesting (the harvest only fills up to capacity) and dead
    nodes reviving."""
    scenario = Scenario.from_mapping(protocol="ileach", nodes=30, e0=0.04, battery=0.042, rounds=500,
                                     harvest="bernoulli:0.004,0.05", revive_threshold=0.005)
    result = assert_same_run(scenario, seed=2)
    alive = result.rounds["alive"].to_numpy()
    assert (np.diff(alive) > 0).any(), "some node revives in this scenario"
    # the cap binds: in some round a node's harvest fills its battery to exactly the capacity, less than
    # the 0.004 J drawn (the rest is wasted), and stored energy never exceeds the capacity
    ref = NaiveNetwork(scenario, np.random.default_rng(2))
    capped = 0
    for r in range(1, 101):
        before = list(ref.energy)
        ref.harvest(r)
        assert all(e <= c for e, c in zip(ref.energy, ref.capacity))
        capped += sum(b + 0.004 > c and e == c for b, e, c in zip(before, ref.energy, ref.capacity))
        ref.account(ref.elect(r))
    assert capped > 0


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 150),
    lattice=st.booleans(),
    ch_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
    aspect=st.sampled_from([1.0, 0.01, 0.0, 5.0]),
    join=st.sampled_from(["nearest", "cluster"]),
    search=st.sampled_from(["auto", "grid", "scan"]),
)
def test_grid_nearest_cluster_head_equals_brute_force(n, lattice, ch_fraction, seed, aspect, join, search):
    """The grid search, the scan of every CH and the simulator's choice between them return the
    brute-force nearest CH (ties to the lower index) for any layout."""
    rng = np.random.default_rng(seed)
    if lattice:
        x = rng.integers(0, 5, n).astype(float) * 3.0
        y = rng.integers(0, 5, n).astype(float) * 3.0 * aspect
    else:
        x = rng.random(n) * 100.0
        y = rng.random(n) * 100.0 * aspect
    alive = rng.random(n) < 0.9
    ch_mask = alive & (rng.random(n) < ch_fraction)
    sink = (float(rng.random() * 100.0), float(rng.random() * 100.0))
    target, dist = assign_receivers(x, y, alive, ch_mask, sink, join=join, search=search)

    class Holder:  # minimal stand-in for NaiveNetwork's receiver()
        pass

    ref = Holder()
    ref.scenario = Holder()
    ref.scenario.join = join
    ref.x, ref.y = list(map(float, x)), list(map(float, y))
    ref.d_sink = [math.sqrt((float(x[i]) - sink[0]) * (float(x[i]) - sink[0])
                            + (float(y[i]) - sink[1]) * (float(y[i]) - sink[1])) for i in range(n)]
    heads = [int(i) for i in np.flatnonzero(ch_mask)]
    for i in range(n):
        if not alive[i]:
            assert target[i] == -2
        elif ch_mask[i]:
            assert target[i] == i and dist[i] == ref.d_sink[i]
        else:
            expected = NaiveNetwork.receiver(ref, i, heads)
            assert (int(target[i]), float(dist[i])) == expected


def brute_force_receivers(x, y, alive, ch_mask, sink):
    """(target, distance) lists from the reference's brute-force receiver()."""

    class Holder:  # minimal stand-in for NaiveNetwork's receiver()
        pass

    n = len(x)
    ref = Holder()
    ref.scenario = Holder()
    ref.scenario.join = "nearest"
    ref.x, ref.y = list(map(float, x)), list(map(float, y))
    ref.d_sink = [math.sqrt((ref.x[i] - sink[0]) * (ref.x[i] - sink[0])
                            + (ref.y[i] - sink[1]) * (ref.y[i] - sink[1])) for i in range(n)]
    heads = [int(i) for i in np.flatnonzero(ch_mask)]
    out = []
    for i in range(n):
        if not alive[i]:
            out.append((-2, 0.0))
        elif ch_mask[i]:
            out.append((i, ref.d_sink[i]))
        else:
            out.append(NaiveNetwork.receiver(ref, i, heads))
    return out


def assert_receivers_brute_force(x, y, alive, ch_mask, sink):
    expected = brute_force_receivers(x, y, alive, ch_mask, sink)
    for search in ("auto", "grid", "scan"):
        target, dist = assign_receivers(x, y, alive, ch_mask, sink, search=search)
        got = [(int(t), float(d)) for t, d in zip(target, dist)]
        assert got == expected, search


def test_scan_and_grid_agree_on_crowded_and_spread_heads_around_the_switch():
    """Around :data:`SCAN_MAX_CH` (where the simulator switches from the scan to the grid) both searches give
    the brute-force receivers, with the heads spread over the field or crowded in one corner of it."""
    from wsnmec.sim.nearest import SCAN_MAX_CH

    rng = np.random.default_rng(5)
    n = 400
    x, y = rng.random(n) * 300.0, rng.random(n) * 300.0
    alive = np.ones(n, dtype=bool)
    corner = np.flatnonzero((x < 60.0) & (y < 60.0))
    for n_ch in (1, SCAN_MAX_CH - 1, SCAN_MAX_CH, SCAN_MAX_CH + 1, 2 * SCAN_MAX_CH):
        for pool in (np.arange(n), corner):
            ch_mask = np.zeros(n, dtype=bool)
            ch_mask[rng.choice(pool, min(n_ch, pool.size), replace=False)] = True
            assert_receivers_brute_force(x, y, alive, ch_mask, (150.0, 150.0))


def test_assign_receivers_rejects_an_unknown_search_or_join():
    with pytest.raises(ParameterError, match="search"):
        assign_receivers([0.0, 1.0], [0.0, 1.0], [True, True], [True, False], (0.0, 0.0), search="kd")
    with pytest.raises(ParameterError, match="join"):
        assign_receivers([0.0, 1.0], [0.0, 1.0], [True, True], [True, False], (0.0, 0.0), join="any")


# Coordinate scales from subnormal-adjacent to near overflow: spans whose product underflows to 0
# (1e-300 x 1e-300) or overflows (1e300 x 1e300), squared distances that underflow or overflow, and
# mixed aspect ratios (a 1e300 m by 1e-300 m box).
SCALES = [(1e-300, 1e-300), (1e-200, 1e-200), (1e-160, 1e-160), (1e-3, 1e-3), (1.0, 1.0), (1e150, 1e150),
          (1e300, 1e300), (1e300, 1e-300), (1e-300, 1e300), (1e-310, 1.0), (1.0, 0.0)]


@pytest.mark.parametrize("scale_x, scale_y", SCALES)
@pytest.mark.parametrize("n", [1, 7, 60])
@pytest.mark.parametrize("lattice", [False, True])
def test_grid_with_tiny_and_huge_coordinates_equals_brute_force(scale_x, scale_y, n, lattice):
    rng = np.random.default_rng(n * 31 + lattice)
    u = rng.integers(0, 4, (n, 2)).astype(float) if lattice else rng.random((n, 2))
    x = u[:, 0] * scale_x
    y = u[:, 1] * scale_y
    alive = rng.random(n) < 0.9
    ch_mask = alive & (rng.random(n) < 0.3)
    sink = (float(rng.random() * 2 * scale_x), float(rng.random() * 2 * scale_y))
    assert_receivers_brute_force(x, y, alive, ch_mask, sink)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 80),
    exponent_x=st.integers(-320, 307),
    exponent_y=st.integers(-320, 307),
    offset_exponent=st.one_of(st.none(), st.integers(-10, 300)),
    ch_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_grid_any_coordinate_magnitude_equals_brute_force(n, exponent_x, exponent_y, offset_exponent,
                                                          ch_fraction, seed):
    """Any magnitude of spans and of the box's offset from the origin: still the brute-force receiver."""
    rng = np.random.default_rng(seed)
    offset = 0.0 if offset_exponent is None else 10.0**offset_exponent
    x = offset + rng.random(n) * 10.0**exponent_x
    y = offset + rng.random(n) * 10.0**exponent_y
    alive = rng.random(n) < 0.9
    ch_mask = alive & (rng.random(n) < ch_fraction)
    sink = (float(x[0]), float(offset + 10.0**exponent_y))
    assert_receivers_brute_force(x, y, alive, ch_mask, sink)


def test_grid_shape_is_bounded_and_finite():
    from wsnmec.sim.nearest import _grid_shape

    for span_x, span_y in [(1e-300, 1e-300), (1e300, 1e300), (1e300, 1e-300), (0.0, 0.0), (5e-324, 1.0),
                           (np.inf, 1.0), (1.0, np.inf), (100.0, 100.0), (1e-320, 1e-320)]:
        for n_ch in (1, 2, 10, 1000):
            gx, gy, cell_w, cell_h = _grid_shape(span_x, span_y, n_ch)
            assert 1 <= gx and 1 <= gy and gx * gy <= n_ch
            for size in (cell_w, cell_h):
                assert 0.0 < size < np.inf and 1.0 / size < np.inf
    assert _grid_shape(100.0, 100.0, 100) == (10, 10, 10.0, 10.0)


def test_assign_receivers_rejects_non_finite_positions():
    with pytest.raises(ParameterError, match="finite"):
        assign_receivers([0.0, np.nan], [0.0, 1.0], [True, True], [True, False], (0.0, 0.0))


def test_account_round_is_the_kernel_accounting():
    """One round through the public seam equals one reference round with the same cluster heads."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=80, e0=0.01, semantics="clean")
    for semantics in ("clean", "matlab"):
        ref = NaiveNetwork(scenario.replace(semantics=semantics), np.random.default_rng(4))
        rng = np.random.default_rng(99)
        ch_mask = rng.random(ref.n) < 0.1
        ref.energy = [float(e) for e in rng.random(ref.n) * 0.0004]  # some cannot afford a packet
        energy = np.array(ref.energy)
        alive = np.ones(ref.n, dtype=bool)
        out = account_round(ref.x, ref.y, energy, alive, ch_mask, ref.sink, radio_model(), 4000, semantics,
                            control_bits=scenario.control_bits, control="distributed",  # (LEACH's pattern)
                            medium=scenario.medium, sink_channels=scenario.sink_channels)
        acc = ref.account([int(i) for i in np.flatnonzero(ch_mask)])
        np.testing.assert_array_equal(energy, np.array(ref.energy))
        np.testing.assert_array_equal(alive, np.array(ref.alive))
        assert out.consumed == acc["consumed"] and out.packets_to_sink == acc["to_sink"]
        assert out.packets_to_ch == acc["to_ch"] and out.latency_s == acc["latency"]
        assert out.delivered_bits == acc["delivered"]
        if semantics == "clean":
            assert (~alive).any(), "low energies: some node dies in this round"
        sizes = out.cluster_sizes()
        assert sizes[~ch_mask].sum() == 0
        assert sizes.sum() == (out.target >= 0).sum()


def test_account_round_hand_computed_clean():
    """Two members and one CH on a line, sink far away: energies computed by hand."""
    radio = radio_model("heinzelman2002")
    bits = 4000
    x = np.array([0.0, 10.0, 30.0])
    y = np.zeros(3)
    sink = (200.0, 0.0)
    energy = np.array([1.0, 1.0, 1.0])
    alive = np.ones(3, dtype=bool)
    out = account_round(x, y, energy, alive, np.array([False, True, False]), sink, radio, bits, "clean")
    e_member0 = bits * 50e-9 + bits * 10e-12 * 10.0**2
    e_member2 = bits * 50e-9 + bits * 10e-12 * 20.0**2
    e_ch = 2 * bits * 50e-9 + 3 * bits * 5e-9 + bits * 50e-9 + bits * 0.0013e-12 * 190.0**4
    np.testing.assert_allclose(out.drawn, [e_member0, e_ch, e_member2], rtol=1e-12)
    assert list(out.target) == [1, 1, 1]
    assert out.packets_to_ch == 2 and out.packets_to_sink == 1
    np.testing.assert_allclose(energy, 1.0 - out.drawn, rtol=1e-12)


def test_account_round_matlab_sink_nearest_charges_first_ch():
    """matlab rule (c): a node nearer the sink than every CH still makes the first CH pay to receive."""
    radio = radio_model("heinzelman2002")
    bits = 4000
    x = np.array([0.0, 50.0, 60.0, 99.0])
    y = np.zeros(4)
    energy = np.ones(4)
    alive = np.ones(4, dtype=bool)
    ch_mask = np.array([True, False, True, False])
    out = account_round(x, y, energy, alive, ch_mask, (80.0, 0.0), radio, bits, "matlab")
    assert out.target[3] == TO_SINK and out.target[1] == 2
    receive = (50e-9 + 5e-9) * bits
    ch0_own = (50e-9 + 5e-9) * bits + bits * 10e-12 * 80.0**2
    # node 3 (sink nearest) is charged to CH 0, the first elected; node 1 chose CH 2.
    np.testing.assert_allclose(out.drawn[0], ch0_own + receive, rtol=1e-12)


def test_matlab_no_cluster_head_means_silence_but_direct_sends():
    radio = radio_model()
    x = np.array([10.0, 20.0])
    y = np.array([0.0, 0.0])
    for idle, expected_zero in ((True, True), (False, False)):
        energy = np.ones(2)
        alive = np.ones(2, dtype=bool)
        out = account_round(x, y, energy, alive, np.zeros(2, bool), (0.0, 0.0), radio, 4000, "matlab",
                            idle_without_ch=idle)
        assert (out.consumed == 0.0) == expected_zero


def test_matlab_energy_goes_negative_and_node_dies_next_round():
    scenario = Scenario.from_mapping(protocol="leach", semantics="matlab", nodes=20, e0=0.002)
    result = simulate(scenario, seed=1)
    residual = result.rounds["residual_j"].to_numpy()
    stored = result.rounds["stored_j"].to_numpy()
    assert not pd.isna(result.summary["lnd"].iloc[0])
    # no clipping: some node overdraws; the signed sum is ``stored_j``, the users' residual only sums the
    # positive energies (as the MATLAB code reports it)
    net = NaiveNetwork(scenario, np.random.default_rng(1))
    net.run()
    assert min(net.energy) < 0.0
    assert stored[-1] == pytest.approx(sum(net.energy), rel=0, abs=0)
    assert residual[-1] == sum(e for e in net.energy if e > 0.0)
    assert residual[-1] >= 0.0 and (residual >= stored).all()
