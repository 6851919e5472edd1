"""Cost of the shared sink medium (``--medium shared``) against the ideal one.

Run with ``python -m pytest benchmarks/bench_medium.py --benchmark-only``. Each case simulates a scenario
whose nodes do not die (E0 large) under both media, after a JIT warm-up; ``extra_info`` holds node-rounds
per second. The ``exact`` case runs the classic 100-node field with the ``dnn-inference`` workload, where
the shared medium's ``exact`` rule searches the combinations of up to 16 heads each round (branch and
bound over their schedules).

Target: the shared medium costs at most 2x the ideal one for the local rule (one schedule of the round's
sink jobs per round, O(J log J)).
"""

from __future__ import annotations

import pytest

from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

CASES = [("leach", 10_000, 100, "local"), ("direct", 100_000, 20, "local"), ("leach", 100, 1000, "exact")]


@pytest.mark.parametrize("medium", ["ideal", "shared"])
@pytest.mark.parametrize("protocol,nodes,rounds,offload", CASES,
                         ids=[f"{p}-N{n}-{o}" for p, n, _r, o in CASES])
def test_medium(benchmark, medium, protocol, nodes, rounds, offload):
    values = {"protocol": protocol, "nodes": nodes, "rounds": rounds, "offload": offload, "e0": 1e9,
              "workload": "dnn-inference", "medium": medium}
    scenario = Scenario.from_mapping(values)
    simulate(scenario.replace(rounds=3), seed=0)  # JIT warm-up
    result = benchmark.pedantic(lambda: simulate(scenario, seed=1), rounds=3, iterations=1, warmup_rounds=0)
    assert (result.rounds["alive"] == nodes).all()
    benchmark.extra_info.update(nodes=nodes, rounds=rounds, medium=medium,
                                node_rounds_per_s=nodes * rounds / benchmark.stats.stats.min,
                                mean_latency_s=float(result.rounds["latency_s"].mean()))
