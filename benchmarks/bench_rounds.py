"""The policy round loop and dry-run scoring (issue 7 targets).

Run with ``python -m pytest benchmarks/bench_rounds.py --benchmark-only``.

- *policy-loop overhead*: a trivial Python policy (a fixed cluster-head mask) run through
  :class:`wsnmec.sim.rounds.RoundLoop` against the fused compiled loop doing the same work per round
  (LEACH's accounting with ~10 % heads); ``extra_info["overhead_us_per_round"]`` is the difference per
  round. Target: <= 30 us at N = 100, growing linearly up to N = 1e5.
- *dry-run scoring*: K = 8 candidates at N = 1000 (random heads, exact offloading off: the scenario's
  rule). Target: <= 1 ms per call.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from wsnmec.clustering.base import ClusteringPolicy
from wsnmec.sim import Scenario, simulate
from wsnmec.sim.rounds import RoundLoop


class FixedMask(ClusteringPolicy):
    """The same cluster heads every round (a trivial Python policy)."""

    name = "fixed"

    def __init__(self, mask):
        self.mask = mask

    def elect(self, state, rng):
        return self.mask


def _scenario(nodes, rounds):
    return Scenario.from_mapping(protocol="leach", nodes=nodes, e0=1e9, rounds=rounds)


@pytest.mark.parametrize("nodes", [100, 1000, 10_000, 100_000])
def test_policy_loop_overhead(benchmark, nodes):
    rounds = max(20, 200_000 // nodes)
    scenario = _scenario(nodes, rounds)
    loop = RoundLoop(scenario, seed=1)
    mask = np.random.default_rng(0).random(nodes) < 0.1
    loop.clustering = FixedMask(mask)
    loop.run(3)  # compile
    simulate(_scenario(100, 3), seed=0, loop="fused")

    def policy_rounds():
        loop.run(rounds)

    benchmark.pedantic(policy_rounds, rounds=3, iterations=1)
    per_round_policy = benchmark.stats.stats.min / rounds
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        simulate(scenario, seed=1, loop="fused", workers=1)
        best = min(best, time.perf_counter() - start)
    per_round_fused = best / rounds
    benchmark.extra_info.update(nodes=nodes, rounds=rounds, policy_us_per_round=per_round_policy * 1e6,
                                fused_us_per_round=per_round_fused * 1e6,
                                overhead_us_per_round=(per_round_policy - per_round_fused) * 1e6)


@pytest.mark.parametrize("nodes,candidates", [(1000, 8), (100, 8), (10_000, 8)])
def test_dry_run_scoring(benchmark, nodes, candidates):
    loop = RoundLoop(_scenario(nodes, 10), seed=1)
    rng = np.random.default_rng(2)
    masks = rng.random((candidates, nodes)) < 0.05
    decisions = np.zeros((candidates, nodes), dtype=np.uint8)
    loop.score(masks, decisions)  # compile
    result = benchmark(loop.score, masks, decisions)
    assert result.energy_j.shape == (candidates,)
    benchmark.extra_info.update(nodes=nodes, candidates=candidates, ms_per_call=benchmark.stats.stats.min * 1e3)
