"""Time of one HEED election (:meth:`wsnmec.clustering.heed.HeedPolicy.elect`) per round, and of a whole
round of the policy round loop with HEED (:meth:`wsnmec.sim.rounds.RoundLoop.step`).

Run with ``python -m pytest benchmarks/bench_heed.py --benchmark-only``. N nodes uniform in the classic
100 m x 100 m field (sink at the centre), all alive with equal energy, p = 0.1, the default cluster range
(field diagonal / sqrt(k_opt): 24.7 m at N = 1e3, 13.8 m at 1e4, 7.8 m at 1e5). The JIT is compiled and
the grid built (``reset``) before timing; each timed call is one round's election, on one thread.

Target (issue 7, item 4): well under ~50 ms per round at N = 1e4.
"""

from __future__ import annotations

import numpy as np
import pytest

from wsnmec.clustering.heed import HeedPolicy
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.state import NetworkState, read_only


def _state(n: int) -> NetworkState:
    scenario = Scenario.from_mapping({"nodes": n, "protocol": "heed"})
    gen = np.random.default_rng(0)
    x, y = gen.uniform(0.0, 100.0, n), gen.uniform(0.0, 100.0, n)
    sink = scenario.sink_position
    energy = np.full(n, 0.5)
    return NetworkState(
        n=n, round=1, x=read_only(x), y=read_only(y), sink=sink, field=scenario.field,
        d_sink=read_only(np.hypot(x - sink[0], y - sink[1])), energy=read_only(energy),
        initial_energy=read_only(energy.copy()), capacity=read_only(energy.copy()),
        alive_u8=read_only(np.ones(n, dtype=np.uint8)), rounds_since_ch=read_only(np.zeros(n, dtype=np.int64)),
        harvested=read_only(np.zeros(n)), consumed_last=read_only(np.zeros(n)),
        receivers=read_only(np.full(n, -2, dtype=np.int64)), members=read_only(np.zeros(n, dtype=np.int64)),
        scenario=scenario, params=np.zeros(22))


@pytest.mark.parametrize("nodes", [1000, 10_000, 100_000])
def test_heed_elect(benchmark, nodes):
    state = _state(nodes)
    policy = HeedPolicy(state.scenario)
    rng = np.random.default_rng(1)
    policy.reset(state, rng)
    heads = policy.elect(state, rng)  # compile
    benchmark.pedantic(policy.elect, args=(state, rng), rounds=20, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(nodes=nodes, cluster_range_m=policy.cluster_range, heads=int(heads.sum()),
                                iterations=policy.iterations,
                                ms_per_round=1e3 * benchmark.stats.stats.mean)


@pytest.mark.parametrize("nodes", [1000, 10_000])
def test_heed_policy_loop_round(benchmark, nodes):
    """A whole round (harvest, HEED election, receivers, accounting, record) with E0 large enough that no
    node dies."""
    loop = RoundLoop(Scenario.from_mapping({"nodes": nodes, "protocol": "heed", "e0": 1000.0}), seed=1)
    loop.step()  # compile
    benchmark.pedantic(loop.step, rounds=50, iterations=1, warmup_rounds=2)
    benchmark.extra_info.update(nodes=nodes, ms_per_round=1e3 * benchmark.stats.stats.mean,
                                heads=int(loop.last_heads.sum()))
