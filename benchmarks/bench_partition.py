"""Benchmarks of the partition model (issue 10; run: python -m pytest benchmarks/bench_partition.py --benchmark-only).

Target: the categorical learner's decision time <= 1 ms per frame at 20 devices x 4 servers (AlexNet,
K = 3, all 1 + D + S candidates per network, one best-response sweep), where exact enumeration is
infeasible. Also timed: the exact optimum at 4 x 3 and the baselines at 20 x 4, one frame per call.
"""

from __future__ import annotations

import numpy as np
import pytest

from wsnmec.offload import partition as P
from wsnmec.offload.categorical import CategoricalDDLO


def _frames(devices, servers, count=256):
    model = P.partition_model(devices, servers, "alexnet", "int8")
    states = model.random_states(np.random.default_rng(2), count)
    return model, states, model.features(states)


@pytest.mark.parametrize("devices, servers, refine", [(20, 4, 1), (20, 4, 0), (4, 3, 1)])
def test_learner_decision_time(benchmark, devices, servers, refine):
    model, states, feats = _frames(devices, servers)
    learner = CategoricalDDLO(feats.shape[1], devices, model.n_options, servers=servers, refine=refine,
                              rng=np.random.default_rng(1))
    learner.decide(model, feats[0], states[0])  # compile
    counter = iter(range(10**9))

    def one_frame():
        f = next(counter) % len(states)
        return learner.decide(model, feats[f], states[f])

    benchmark(one_frame)
    benchmark.extra_info.update(devices=devices, servers=servers, refine=refine, options=model.n_options,
                                median_ms=benchmark.stats["median"] * 1e3)


@pytest.mark.parametrize("name", ["coordinate-descent", "jsq-neurosurgeon", "neurosurgeon"])
def test_baseline_time_20x4(benchmark, name):
    model, states, _ = _frames(20, 4)
    fn = P.PARTITION_BASELINES[name]
    fn(model, states[:1])
    counter = iter(range(10**9))

    def one_frame():
        f = next(counter) % len(states)
        return fn(model, states[f:f + 1])

    benchmark(one_frame)
    benchmark.extra_info.update(median_ms=benchmark.stats["median"] * 1e3)


def test_exact_time_4x3(benchmark):
    model, states, _ = _frames(4, 3)
    P.exact(model, states[:1])
    counter = iter(range(10**9))

    def one_frame():
        f = next(counter) % len(states)
        return P.exact(model, states[f:f + 1])

    benchmark(one_frame)
    benchmark.extra_info.update(evaluations=P.exact_evaluations(model), median_ms=benchmark.stats["median"] * 1e3)
