"""Offloading models and solvers: compiled kernels against the pure-Python references."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

import naive_offload as naive
from wsnmec.errors import ParameterError
from wsnmec.offload import (
    load_ddlo,
    make_model,
    mumt_model,
    normalized_utility,
    solvers,
    wsn_ch_breakdown,
    wsn_ch_model,
    wsn_ch_state_from_round,
)

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "ddlo_mumt_3x3_first300.mat"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "peers" / "ddlo" / "MUMT_data_3x3.mat"

MODELS = [
    pytest.param(lambda: mumt_model(2, 3), id="mumt-2x3"),
    pytest.param(lambda: mumt_model(3, 2, uplink_rate=1.0, time_weight=2.0), id="mumt-3x2-tight"),
    pytest.param(lambda: mumt_model(1, 1), id="mumt-1x1"),
    pytest.param(lambda: wsn_ch_model(6), id="wsnch-6"),
    pytest.param(lambda: wsn_ch_model(5, energy_exponent=1.0, cycles_per_bit=800.0), id="wsnch-5-aware"),
    pytest.param(lambda: wsn_ch_model(4, radio="heinzelman2000", bandwidth=1e5), id="wsnch-4-2000"),
]


def _random_decisions(rng, states, model, candidates):
    return rng.integers(0, 2, size=(states.shape[0], candidates, model.n_decisions)).astype(np.uint8)


@pytest.mark.parametrize("make", MODELS)
def test_score_matches_reference(make):
    model = make()
    rng = np.random.default_rng(7)
    states = model.random_states(rng, 6)
    decisions = _random_decisions(rng, states, model, 5)
    got = model.score(states, decisions)
    want = [[naive.cost(model, states[s], decisions[s, c]) for c in range(5)] for s in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@settings(max_examples=examples(40), deadline=None)
@given(
    devices=st.integers(1, 4),
    tasks=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    time_weight=st.floats(0.0, 5.0),
    uplink=st.floats(0.2, 20.0),
)
def test_mumt_score_property(devices, tasks, seed, time_weight, uplink):
    model = mumt_model(devices, tasks, time_weight=time_weight, uplink_rate=uplink)
    rng = np.random.default_rng(seed)
    states = model.random_states(rng, 2)
    dec = _random_decisions(rng, states, model, 3)
    got = model.score(states, dec)
    for s in range(2):
        for c in range(3):
            assert got[s, c] == pytest.approx(naive.mumt_cost(states[s], dec[s, c], model.config), rel=1e-12)


@settings(max_examples=examples(40), deadline=None)
@given(
    heads=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    exponent=st.floats(0.0, 2.0),
    bandwidth=st.floats(1e4, 1e7),
    field=st.floats(10.0, 300.0),
)
def test_wsn_ch_score_property(heads, seed, exponent, bandwidth, field):
    model = wsn_ch_model(heads, energy_exponent=exponent, bandwidth=bandwidth, field_size=field,
                         sink_x=field / 2, sink_y=field)
    rng = np.random.default_rng(seed)
    states = model.random_states(rng, 2)
    dec = _random_decisions(rng, states, model, 3)
    got = model.score(states, dec)
    for s in range(2):
        for c in range(3):
            assert got[s, c] == pytest.approx(naive.wsn_ch_cost(states[s], dec[s, c], model.config), rel=1e-12)


@pytest.mark.parametrize("make", MODELS)
def test_exact_equals_brute_force(make):
    model = make()
    states = model.random_states(np.random.default_rng(11), 4)
    dec, util = solvers.exact(model, states)
    for s in range(states.shape[0]):
        best, best_decisions = naive.brute_force(model, states[s])
        assert util[s] == pytest.approx(best, rel=1e-12)
        assert tuple(int(v) for v in dec[s]) in best_decisions


def _all_decisions(n):
    """Every decision of length n [2^n, n] uint8 (decision 0 first)."""
    codes = np.arange(2**n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def _assert_exactly_optimal(model, states):
    """exact() returns a decision whose model score equals, bit for bit, the minimum over all 2^n scores."""
    dec, util = solvers.exact(model, states)
    every = _all_decisions(model.n_decisions)
    for s in range(states.shape[0]):
        scores = model.score(states[s:s + 1], every[None])[0]
        best = scores.min() if model.sense < 0 else scores.max()
        assert util[s] == best  # exact equality: no accumulated rounding in the answer
        assert model.score(states[s:s + 1], dec[s:s + 1])[0] == util[s]


NEAR_TIE_MODELS = [
    pytest.param(lambda: mumt_model(3, 5), id="mumt-3x5"),  # n = 15 > 2**12: crosses resync blocks
    pytest.param(lambda: mumt_model(2, 4, uplink_rate=0.5, time_weight=3.0), id="mumt-2x4-tight"),
    pytest.param(lambda: wsn_ch_model(12), id="wsnch-12"),
]


@pytest.mark.parametrize("make", NEAR_TIE_MODELS)
@pytest.mark.parametrize("resync_bits", [solvers.RESYNC_BITS, 2])
def test_exact_is_exactly_optimal_with_near_ties(make, resync_bits, monkeypatch):
    # Equal task sizes (mumt) or identical cluster heads (wsn-ch) make many decisions tie in exact
    # arithmetic; their float scores differ only by rounding, so an accumulated Gray-code utility could
    # pick one that the model's own score puts 1 ulp above the optimum.
    monkeypatch.setattr(solvers, "RESYNC_BITS", resync_bits)
    model = make()
    rng = np.random.default_rng(21)
    states = model.random_states(rng, 3)
    if model.name == "mumt":
        states[0] = 17.0  # every task the same size
        states[1] = np.repeat(rng.integers(10, 31, size=model.config["devices"]), model.config["tasks"])
        states[2] = np.where(rng.random(model.n_decisions) < 0.5, 11.0, 29.0)
    else:
        n = model.n_decisions
        states[0] = np.concatenate([np.full(n, 40.0), np.full(n, 8000.0), np.full(n, 0.3)])
        states[1, :n] = states[1, 0]  # equal distances, random data and energies
        states[2, n:2 * n] = states[2, n]  # equal data sizes
    _assert_exactly_optimal(model, states)


@settings(max_examples=examples(30), deadline=None)
@given(
    devices=st.integers(1, 3),
    tasks=st.integers(1, 4),
    sizes=st.lists(st.sampled_from([10.0, 20.0, 30.0]), min_size=12, max_size=12),
    time_weight=st.sampled_from([0.0, 1.0, 3.0]),
    uplink=st.sampled_from([None, 0.5, 4.0]),
)
def test_exact_is_exactly_optimal_property(devices, tasks, sizes, time_weight, uplink):
    model = mumt_model(devices, tasks, time_weight=time_weight, uplink_rate=uplink)
    _assert_exactly_optimal(model, np.array([sizes[:devices * tasks]]))


def test_exact_ties_keep_the_first_gray_code_decision():
    # time_weight 0 and offloading cheaper per bit: all-offload is the unique optimum; with zero-size
    # tasks every decision scores 0 and the first decision in Gray-code order (all local) is kept.
    model = mumt_model(2, 2, time_weight=0.0)
    dec, util = solvers.exact(model, np.zeros((1, 4)))
    assert util[0] == 0.0
    np.testing.assert_array_equal(dec[0], [0, 0, 0, 0])


@pytest.mark.parametrize("make", MODELS)
def test_coordinate_descent_matches_reference(make):
    model = make()
    states = model.random_states(np.random.default_rng(3), 4)
    dec, util = solvers.coordinate_descent(model, states)
    for s in range(states.shape[0]):
        x, u = naive.coordinate_descent(model, states[s])
        assert list(dec[s]) == x
        assert util[s] == pytest.approx(u, rel=1e-12)


@pytest.mark.parametrize("devices,tasks", [(1, 1), (2, 3), (3, 3), (2, 5)])
def test_mumt_greedy_matches_reference(devices, tasks):
    model = mumt_model(devices, tasks, uplink_rate=2.0)
    states = model.random_states(np.random.default_rng(5), 20)
    dec, util = solvers.greedy(model, states)
    for s in range(20):
        assert list(dec[s]) == naive.mumt_greedy(states[s], model.config)
    np.testing.assert_allclose(util, model.score(states, dec))


@pytest.mark.parametrize("make", MODELS)
def test_baselines_are_never_better_than_optimum(make):
    model = make()
    states = model.random_states(np.random.default_rng(2), 30)
    _, opt = solvers.exact(model, states)
    rng = np.random.default_rng(0)
    for name, solve in solvers.BASELINES.items():
        dec, util = solve(model, states, rng) if name == "random" else solve(model, states)
        assert dec.shape == (30, model.n_decisions) and dec.dtype == np.uint8
        np.testing.assert_allclose(util, model.score(states, dec), rtol=1e-12)
        norm = normalized_utility(util, opt, model.sense)
        assert np.all(norm <= 1.0 + 1e-12)
    np.testing.assert_array_equal(solvers.all_local(model, states)[0], 0)
    np.testing.assert_array_equal(solvers.all_offload(model, states)[0], 1)


@pytest.mark.parametrize("make", MODELS)
def test_models_pickle_and_draw_reproducibly(make):
    import pickle

    model = make()
    clone = pickle.loads(pickle.dumps(model))
    a = model.random_states(np.random.default_rng(4), 3)
    b = clone.random_states(np.random.default_rng(4), 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.score(a, np.ones((3, model.n_decisions))),
                                  clone.score(b, np.ones((3, model.n_decisions))))
    np.testing.assert_array_equal(model.features(a), clone.features(b))
    assert model.features(a).shape[0] == 3


def test_normalized_utility_for_both_senses():
    np.testing.assert_allclose(normalized_utility([2.0, 4.0], [2.0, 2.0], -1.0), [1.0, 0.5])
    np.testing.assert_allclose(normalized_utility([2.0, 1.0], [2.0, 2.0], +1.0), [1.0, 0.5])


def test_wsn_ch_greedy_offloads_when_alone_it_pays():
    # One CH near the sink with a big cluster and a heavy task: offloading is clearly cheaper.
    model = wsn_ch_model(1, cycles_per_bit=2000.0)
    state = wsn_ch_state_from_round([0.5], [20], distances=[10.0])
    dec, util = solvers.greedy(model, state)
    assert dec[0, 0] == 1
    assert util[0] < model.score(state, np.zeros((1, 1), np.uint8))[0]


def test_wsn_ch_state_from_round():
    state = wsn_ch_state_from_round(
        [0.3, 0.2], [4, 7], ch_positions=[[0.0, 0.0], [3.0, 4.0]], sink_position=(0.0, 0.0), packet_bits=100
    )
    np.testing.assert_allclose(state, [0.0, 5.0, 400.0, 700.0, 0.3, 0.2])
    same = wsn_ch_state_from_round([0.3, 0.2], [4, 7], distances=[0.0, 5.0], packet_bits=100)
    np.testing.assert_array_equal(state, same)
    with pytest.raises(ParameterError):
        wsn_ch_state_from_round([0.3], [4, 7], distances=[1.0, 2.0])
    with pytest.raises(ParameterError):
        wsn_ch_state_from_round([0.3], [0], distances=[1.0])
    with pytest.raises(ParameterError):
        wsn_ch_state_from_round([0.3], [1])


@pytest.mark.parametrize("exponent", [0.0, 1.0])
def test_wsn_ch_breakdown_matches_reference_and_sums_to_utility(exponent):
    model = wsn_ch_model(6, energy_exponent=exponent)
    rng = np.random.default_rng(9)
    states = model.random_states(rng, 5)
    for s in range(5):
        dec = rng.integers(0, 2, size=6).astype(np.uint8)
        energy, latency = wsn_ch_breakdown(model, states[s], dec)
        want_e, want_t = naive.wsn_ch_breakdown(states[s], dec, model.config)
        np.testing.assert_allclose(energy, want_e, rtol=1e-12)
        np.testing.assert_allclose(latency, want_t, rtol=1e-12)
        weights = model.config["energy_weight"] * (model.config["reference_energy"] / states[s, 12:]) ** exponent
        total = (weights * energy + model.config["time_weight"] * latency).sum()
        assert total == pytest.approx(model.score(states[s:s + 1], dec[None])[0], rel=1e-12)
    with pytest.raises(ParameterError):
        wsn_ch_breakdown(mumt_model(2, 2), np.ones(4), np.zeros(4))


def test_model_input_validation():
    with pytest.raises(ParameterError, match="--model"):
        make_model("nope", 3, 3)
    with pytest.raises(ParameterError, match="--devices"):
        mumt_model(0, 3)
    with pytest.raises(ParameterError, match="--tasks"):
        mumt_model(3, 0)
    with pytest.raises(ParameterError, match="--tasks"):
        make_model("wsn-ch", 3, 2)
    with pytest.raises(ParameterError, match="valid names"):
        wsn_ch_model(3, warp_drive=1.0)
    model = mumt_model(2, 2)
    with pytest.raises(ParameterError):
        model.score(np.ones((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ParameterError):
        model.score(np.ones((2, 4)), np.full((2, 4), 2))
    with pytest.raises(ParameterError):
        solvers.exact(mumt_model(4, 8), np.ones((1, 32)))


# ----------------------------------------------------------------------------------- DDLO data set


def _check_ddlo(dataset):
    model = mumt_model(3, 3)
    stored = model.score(dataset.task_size, dataset.gain_mode)
    np.testing.assert_allclose(stored, dataset.gain_min, rtol=1e-9, atol=0)
    _, util = solvers.exact(model, dataset.task_size)
    np.testing.assert_allclose(util, dataset.gain_min, rtol=1e-9, atol=0)


def test_ddlo_fixture_stored_decisions_and_exact_optimum():
    dataset = load_ddlo(FIXTURE, n_decisions=9)
    assert dataset.samples == 300
    _check_ddlo(dataset)
    # and the pure-Python reference agrees on a few samples
    for s in range(5):
        want = naive.mumt_cost(dataset.task_size[s], dataset.gain_mode[s], mumt_model(3, 3).config)
        assert want == pytest.approx(dataset.gain_min[s], rel=1e-9)


@pytest.mark.skipif(not SHARED.exists(), reason="shared DDLO data set not present")
def test_ddlo_full_dataset():
    dataset = load_ddlo(SHARED, n_decisions=9)
    assert dataset.samples == 20000
    _check_ddlo(dataset)


def test_load_ddlo_errors(tmp_path):
    from scipy.io import savemat

    with pytest.raises(ParameterError, match="--dataset"):
        load_ddlo(tmp_path / "missing.mat")
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(ParameterError, match="cannot read"):
        load_ddlo(garbage)
    with pytest.raises(ParameterError, match="9 decisions|columns"):
        load_ddlo(FIXTURE, n_decisions=4)
    bad = tmp_path / "bad.mat"
    savemat(bad, {"task_size": np.ones((5, 4)), "gain_min": np.ones((1, 5)), "gain_mode": np.ones((5, 3))})
    with pytest.raises(ParameterError, match="gain_mode"):
        load_ddlo(bad)
    savemat(bad, {"task_size": np.ones((5, 4)), "gain_mode": np.ones((5, 4))})
    with pytest.raises(ParameterError, match="lacks"):
        load_ddlo(bad)
    savemat(bad, {"task_size": np.ones((5, 4)), "gain_min": np.ones((1, 5)), "gain_mode": np.full((5, 4), 3)})
    with pytest.raises(ParameterError, match="0 and 1"):
        load_ddlo(bad)


def test_gray_enumeration_visits_every_decision():
    # With a utility that is a distinct "hash" of the decision, the optimum is unique and known.
    model = mumt_model(2, 2, time_weight=0.0)  # cost = sum of per-task energies: separable, unique optimum
    states = np.array([[10.0, 30.0, 20.0, 25.0]])
    dec, util = solvers.exact(model, states)
    exhaustive = min(
        naive.mumt_cost(states[0], bits, model.config) for bits in itertools.product((0, 1), repeat=4)
    )
    assert util[0] == pytest.approx(exhaustive, rel=1e-12)
    # offloading (e_t + e_a = 2.92e-7 J/bit) is cheaper than local (3.25e-7 J/bit) for every task
    np.testing.assert_array_equal(dec[0], [1, 1, 1, 1])


def test_offload_module_imports_are_acyclic():
    """The interface imports no implementation: the intra-package import graph of wsnmec/offload has no
    cycle (lazy imports inside functions included) and only the dispatch table imports the families."""
    import ast
    from pathlib import Path

    root = Path(__import__("wsnmec.offload", fromlist=["x"]).__file__).parent
    graph = {}
    for path in root.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.add(node.module or "__init__")
        graph[path.stem] = deps - {"__init__"}

    def visit(name, stack):
        assert name not in stack, f"import cycle: {' -> '.join([*stack, name])}"
        for dep in graph.get(name, ()):
            visit(dep, [*stack, name])

    for name in graph:
        visit(name, [])
    assert graph["models"] <= {"constants"}
    assert "dispatch" not in graph["mumt"] | graph["wsn_ch"]
