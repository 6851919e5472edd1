"""The DDLO learner and the online loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

import naive_offload as naive
from wsnmec.errors import ParameterError
from wsnmec.offload import DDLO, compare_policies, mumt_model, quantize, run_online, solvers, wsn_ch_model
from wsnmec.offload.online import run_experiment


def _learner(n_in=4, n_out=3, **kw):
    kw.setdefault("hidden", (5, 4))
    kw.setdefault("networks", 3)
    return DDLO(n_in, n_out, rng=np.random.default_rng(kw.pop("seed", 0)), **kw)


def test_forward_matches_reference_per_network():
    learner = _learner(input_scale=2.0)
    for w in learner.biases:  # non-zero biases so they are exercised
        w += np.random.default_rng(1).normal(size=w.shape)
    x = np.random.default_rng(2).normal(size=(6, 4))
    z, _ = learner.logits(x)
    assert z.shape == (3, 6, 3)
    for k in range(3):
        weights = [w[k].tolist() for w in learner.weights]
        biases = [b[k, 0].tolist() for b in learner.biases]
        for s in range(6):
            want = naive.mlp_forward(2.0 * x[s], weights, biases)
            np.testing.assert_allclose(z[k, s], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("count", [1, 2, 4, 7])
def test_quantize_matches_reference(count):
    rng = np.random.default_rng(count)
    logits = rng.normal(size=(3, 6))
    got = quantize(logits, count)
    for k in range(3):
        relaxed = (1.0 / (1.0 + np.exp(-logits[k]))).tolist()
        want = naive.order_preserving(relaxed, count)
        np.testing.assert_array_equal(got[k * count:(k + 1) * count], want)


@settings(max_examples=examples(50), deadline=None)
@given(st.lists(st.floats(-0.999, 0.999).filter(lambda v: abs(v) > 1e-6), min_size=1, max_size=8,
                unique_by=lambda v: round(abs(v), 6)), st.data())
def test_quantize_property(values, data):
    # logits from probabilities at distinct distances from 0.5 (the order of equally distant ones is a tie
    # that the logit and probability forms may break differently by one ulp); order-preserving candidates
    # are distinct and the first is the threshold
    logits = np.log((1 + np.asarray(values)) / (1 - np.asarray(values)))
    count = data.draw(st.integers(1, len(values) + 1))
    got = quantize(logits[None, :], count)
    relaxed = (0.5 * (1 + np.asarray(values))).tolist()
    np.testing.assert_array_equal(got, naive.order_preserving(relaxed, count))
    np.testing.assert_array_equal(got[0], np.asarray(values) > 0)


@pytest.mark.parametrize("make", [lambda: mumt_model(2, 2), lambda: wsn_ch_model(4, cycles_per_bit=500.0)])
@pytest.mark.parametrize("quantization,count", [("threshold", 1), ("order-preserving", 3)])
def test_decide_picks_best_candidate(make, quantization, count):
    model = make()
    states = model.random_states(np.random.default_rng(3), 5)
    feats = model.features(states)
    learner = DDLO(feats.shape[1], model.n_decisions, networks=3, quantization=quantization, candidates=count,
                   rng=np.random.default_rng(4))
    for s in range(5):
        dec, util, winner = learner.decide(model, feats[s], states[s])
        z, _ = learner.logits(feats[s:s + 1])
        cands = quantize(z[:, 0, :], count)
        costs = [naive.cost(model, states[s], c) for c in cands]
        best = int(np.argmin(costs))
        assert util == pytest.approx(costs[best], rel=1e-12)
        np.testing.assert_array_equal(dec, cands[best])
        assert winner == best // count


@pytest.mark.parametrize("batch_norm", [False, True])
def test_gradients_match_finite_differences(batch_norm):
    learner = _learner(batch_norm=batch_norm, input_scale=1.0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 8, 4))
    y = rng.integers(0, 2, size=(3, 8, 3)).astype(float)
    _, grads = learner.loss_and_gradients(x, y)
    params = learner._parameters()
    eps = 1e-6
    for p, g in zip(params, grads):
        assert g.shape == p.shape
        flat = p.reshape(-1)
        gflat = g.reshape(-1)
        for idx in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + eps
            up = learner.loss_and_gradients(x, y)[0].sum()
            flat[idx] = old - eps
            down = learner.loss_and_gradients(x, y)[0].sum()
            flat[idx] = old
            assert gflat[idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)


def test_training_fits_a_fixed_memory():
    learner = _learner(n_in=4, n_out=3, hidden=(16, 16), batch_size=32, memory_size=64, learning_rate=0.01)
    rng = np.random.default_rng(6)
    feats = rng.normal(size=(64, 4))
    labels = (feats[:, :3] > 0).astype(np.uint8)  # a learnable rule
    for f, d in zip(feats, labels):
        learner.remember(f, d)
    first = learner.train_step().mean()
    for _ in range(300):
        last = learner.train_step().mean()
    assert last < 0.3 * first
    z, _ = learner.logits(feats)
    assert ((z > 0) == labels[None]).mean() > 0.95


def test_learner_beats_random_on_small_problem():
    model = mumt_model(2, 3, uplink_rate=2.0)
    states = model.random_states(np.random.default_rng(8), 1500)
    table, summary = compare_policies(
        model, states, networks=3, seed=3,
        learner_options={"memory_size": 256, "batch_size": 64, "train_interval": 2, "hidden": (32, 32)},
    )
    pol = summary["policies"]
    assert pol["ddlo"]["normalized_utility"] > pol["random"]["normalized_utility"] + 0.05
    assert pol["ddlo"]["normalized_utility"] > pol["all-local"]["normalized_utility"]
    assert pol["ddlo"]["normalized_utility"] <= 1.0 + 1e-12
    ddlo = table[table["policy"] == "ddlo"]
    # learning happened: the last test frames are better than the first training frames
    assert ddlo["normalized_utility"].iloc[-300:].mean() > ddlo["normalized_utility"].iloc[:200].mean()
    assert set(ddlo["winner"]) <= {0, 1, 2}
    assert (ddlo["train_ms"] > 0).sum() > 100


def test_seeded_run_is_identical_twice():
    kwargs = dict(model="wsn-ch", devices=5, frames=200, networks=2, seed=42,
                  learner_options={"memory_size": 64, "batch_size": 16})
    t1, r1 = run_experiment(**kwargs)
    t2, r2 = run_experiment(**kwargs)
    cols = ["policy", "frame", "phase", "utility", "winner", "reference_utility", "normalized_utility"]
    assert t1[cols].equals(t2[cols])
    strip = lambda r: {k: {p: v["normalized_utility"] for p, v in r["policies"].items()} if k == "policies" else v
                       for k, v in r.items()}
    assert strip(r1) == strip(r2)
    t3, _ = run_experiment(**{**kwargs, "seed": 43})
    assert not t1[cols].equals(t3[cols])


def test_online_without_optimum_uses_best_known():
    table, result = run_experiment(model="mumt", devices=2, tasks=2, frames=60, networks=2, seed=1,
                                   exact_limit=3, learner_options={"memory_size": 16, "batch_size": 4})
    assert "optimal" not in result["policies"]
    assert result["config"]["reference"] == "best-known"
    test = table[table["phase"] == "test"]
    assert np.all(test["normalized_utility"] <= 1.0 + 1e-12)
    assert np.isclose(test.groupby("frame")["normalized_utility"].max(), 1.0).all()


def test_run_online_stops_learning_on_test_frames():
    model = mumt_model(2, 2)
    states = model.random_states(np.random.default_rng(1), 100)
    learner = DDLO(4, 4, networks=2, memory_size=20, batch_size=8, train_interval=5, rng=np.random.default_rng(0))
    table = run_online(model, states, learner, train_frames=60, optimum=solvers.exact(model, states)[1])
    assert learner.stored == 60
    assert (table.loc[table["frame"] >= 60, "train_ms"] == 0).all()
    decided = np.array([[int(c) for c in row] for row in table["decision"]], dtype=np.uint8)
    np.testing.assert_allclose(model.score(states, decided), table["utility"], rtol=1e-12)
    assert table["normalized_utility"].between(0, 1 + 1e-12).all()


def test_learner_parameter_errors():
    with pytest.raises(ParameterError, match="--networks"):
        _learner(networks=0)
    with pytest.raises(ParameterError, match="--quantization"):
        _learner(quantization="rounding")
    with pytest.raises(ParameterError, match="--candidates"):
        _learner(quantization="threshold", candidates=2)  # threshold gives one candidate per network
    with pytest.raises(ParameterError, match="--candidates"):
        _learner(quantization="order-preserving", candidates=5)  # n + 1 = 4 at most
    with pytest.raises(ParameterError, match="memory"):
        _learner().train_step()


SHARED = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "peers" / "ddlo" / "MUMT_data_3x3.mat"
FIXTURE = __import__("pathlib").Path(__file__).parent / "data" / "ddlo_mumt_3x3_first300.mat"
#: The learner setting of the DDLO-data-set acceptance: K = 3, order-preserving quantization with 10
#: candidates per network, one training step every 2 frames.
ACCEPTANCE_LEARNER = {"quantization": "order-preserving", "candidates": 10, "train_interval": 2}


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="shared DDLO data set not present")
def test_ddlo_dataset_acceptance_k3():
    # Issue 3 acceptance: K = 3 on the published data, first 80% train, last 20% test, >= 0.995.
    _, result = run_experiment(
        model="mumt", devices=3, tasks=3, networks=3, seed=1, dataset=SHARED, learner_options=ACCEPTANCE_LEARNER,
    )
    assert result["test_frames"] == 4000
    assert result["policies"]["optimal"]["normalized_utility"] == pytest.approx(1.0, abs=1e-12)
    assert result["policies"]["ddlo"]["normalized_utility"] >= 0.995


@pytest.mark.parametrize("seed", [1, 2])
def test_ddlo_fixture_acceptance_setting_learns(seed):
    # Always runs: the acceptance setting on the 300-sample extract of the DDLO data (memory scaled down
    # so that training starts). Measured (seeds 1-3): 0.985-0.989 trained, 0.965-0.967 untrained.
    kwargs = dict(model="mumt", devices=3, tasks=3, networks=3, seed=seed, dataset=FIXTURE)
    small = {**ACCEPTANCE_LEARNER, "memory_size": 64, "batch_size": 32}
    _, trained = run_experiment(**kwargs, learner_options=small)
    _, untrained = run_experiment(**kwargs, learner_options={**small, "train_interval": 10**6})
    assert trained["test_frames"] == 60
    ddlo = trained["policies"]["ddlo"]["normalized_utility"]
    assert ddlo >= 0.98
    assert ddlo > untrained["policies"]["ddlo"]["normalized_utility"] + 0.01
    assert ddlo > trained["policies"]["all-offload"]["normalized_utility"] + 0.05


@pytest.mark.slow
def test_learner_clearly_beats_simple_rules_on_tight_uplink():
    # The "hard" mumt setting where the simple rules fall clearly below the learner: a tight uplink
    # (0.5 MB/s per device) and latency weighted 3x. 6000 frames (4800 train, 1200 test), seed 1.
    # Measured: ddlo 0.9834, coordinate-descent 0.9532, greedy 0.9349 (seeds 2, 3: margins over
    # coordinate descent 0.026 and 0.030, over greedy 0.045 and 0.048; 20,000 frames: ddlo 0.9964).
    _, result = run_experiment(
        model="mumt", devices=3, tasks=3, frames=6000, networks=3, seed=1,
        model_params={"uplink_rate": 0.5, "time_weight": 3.0}, learner_options=ACCEPTANCE_LEARNER,
    )
    pol = {name: row["normalized_utility"] for name, row in result["policies"].items()}
    assert result["test_frames"] == 1200
    assert pol["optimal"] == pytest.approx(1.0, abs=1e-12)
    assert pol["ddlo"] > pol["greedy"] + 0.03
    assert pol["ddlo"] > pol["coordinate-descent"] + 0.02
