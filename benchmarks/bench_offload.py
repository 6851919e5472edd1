"""Benchmarks of the offloading engine (run: python -m pytest benchmarks/bench_offload.py --benchmark-only).

Targets (issue 3): median decision time <= 0.3 ms per frame at n = 9 with K = 3 (K forward passes +
quantization + scoring), and >= 5e7 candidate decisions scored per second by the enumeration solver at
n = 20. Throughputs are reported in ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from wsnmec.offload import DDLO, mumt_model, solvers, wsn_ch_model

# (devices, tasks) of the mumt model for n = 9, 20, 30
SHAPES = {9: (3, 3), 20: (4, 5), 30: (5, 6)}


def _learner_for(model, networks=3, **kw):
    feats = model.features(model.random_states(np.random.default_rng(0), 1))
    return DDLO(feats.shape[1], model.n_decisions, networks=networks, rng=np.random.default_rng(1), **kw)


@pytest.mark.parametrize("n", [9, 20, 30])
def test_decision_time_per_frame(benchmark, n):
    model = mumt_model(*SHAPES[n])
    states = model.random_states(np.random.default_rng(2), 256)
    feats = model.features(states)
    learner = _learner_for(model)
    learner.decide(model, feats[0], states[0])  # compile
    counter = iter(range(10**9))

    def one_frame():
        f = next(counter) % 256
        return learner.decide(model, feats[f], states[f])

    benchmark(one_frame)
    benchmark.extra_info.update(n=n, networks=3, frames_per_s=1.0 / benchmark.stats["median"])


def test_decision_time_order_preserving_n9(benchmark):
    model = mumt_model(3, 3)
    states = model.random_states(np.random.default_rng(2), 256)
    feats = model.features(states)
    learner = _learner_for(model, quantization="order-preserving", candidates=10)
    learner.decide(model, feats[0], states[0])
    benchmark(learner.decide, model, feats[0], states[0])
    benchmark.extra_info.update(n=9, networks=3, candidates=30, frames_per_s=1.0 / benchmark.stats["median"])


def test_decision_time_wsn_ch_n20(benchmark):
    model = wsn_ch_model(20)
    states = model.random_states(np.random.default_rng(2), 8)
    feats = model.features(states)
    learner = _learner_for(model)
    learner.decide(model, feats[0], states[0])
    benchmark(learner.decide, model, feats[0], states[0])
    benchmark.extra_info.update(n=20, networks=3, frames_per_s=1.0 / benchmark.stats["median"])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_training_step(benchmark, batch_norm):
    model = mumt_model(3, 3)
    states = model.random_states(np.random.default_rng(3), 1024)
    learner = _learner_for(model, batch_norm=batch_norm)
    for f, s in zip(model.features(states), states):
        learner.remember(f, (s > 20).astype(np.uint8))
    learner.train_step()
    benchmark(learner.train_step)
    benchmark.extra_info.update(n=9, networks=3, batch=learner.batch_size,
                                steps_per_s=1.0 / benchmark.stats["median"])


@pytest.mark.parametrize("name", ["mumt", "wsn-ch"])
def test_exact_enumeration_n20(benchmark, name):
    model = mumt_model(4, 5) if name == "mumt" else wsn_ch_model(20)
    states = model.random_states(np.random.default_rng(4), 4)
    solvers.exact(model, states[:1])  # compile
    benchmark.pedantic(solvers.exact, args=(model, states), rounds=5, iterations=1, warmup_rounds=1)
    candidates = states.shape[0] * 2**20
    benchmark.extra_info.update(n=20, states=states.shape[0],
                                candidates_per_s=candidates / benchmark.stats["median"])


def test_coordinate_descent_n20(benchmark):
    model = mumt_model(4, 5)
    states = model.random_states(np.random.default_rng(5), 64)
    solvers.coordinate_descent(model, states[:1])
    benchmark(solvers.coordinate_descent, model, states)
    benchmark.extra_info.update(n=20, frames_per_s=64 / benchmark.stats["median"])


# --- wpmec (issue 9): allocation <= 20 us per decision at N = 10, exact enumeration <= 20 ms at N = 10,
# learner decision (DROO's settings, K = 10 candidates, each with its optimal allocation) <= 1 ms.
def test_wpmec_allocation_n10(benchmark):
    from wsnmec.offload import wpmec_model

    model = wpmec_model(10)
    states = model.random_states(np.random.default_rng(3), 512)
    decisions = np.random.default_rng(4).integers(0, 2, size=(512, 1, 10)).astype(np.uint8)
    out = np.empty((512, 1))
    model.score_batch_fn(states, decisions, model.params, out)  # compile
    benchmark(model.score_batch_fn, states, decisions, model.params, out)
    benchmark.extra_info.update(us_per_decision=benchmark.stats["median"] / 512 * 1e6)


def test_wpmec_exact_n10(benchmark):
    from wsnmec.offload import wpmec_model

    model = wpmec_model(10)
    states = model.random_states(np.random.default_rng(5), 8)
    solvers.exact(model, states[:1])  # compile
    counter = iter(range(10**9))
    benchmark(lambda: solvers.exact(model, states[next(counter) % 8:][:1]))
    benchmark.extra_info.update(decisions=1024, ms_per_state=benchmark.stats["median"] * 1e3)


def test_wpmec_learner_decision_droo_k10(benchmark):
    from wsnmec.offload import wpmec_model

    model = wpmec_model(10)
    states = model.random_states(np.random.default_rng(6), 256)
    feats = model.features(states)
    learner = DDLO(10, 10, networks=1, quantization="order-preserving", candidates=10, input_scale=1.0,
                   rng=np.random.default_rng(7))
    learner.decide(model, feats[0], states[0])  # compile
    counter = iter(range(10**9))

    def one_frame():
        f = next(counter) % 256
        return learner.decide(model, feats[f], states[f])

    benchmark(one_frame)
    benchmark.extra_info.update(candidates=10, ms_per_frame=benchmark.stats["median"] * 1e3)
