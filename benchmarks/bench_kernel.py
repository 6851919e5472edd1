"""Throughput of the lifetime-simulator round kernel and of the pure-Python reference.

Run with ``python -m pytest benchmarks/bench_kernel.py --benchmark-only``. Each kernel case runs the
classic scenario (100 m x 100 m, sink at the centre, LEACH, clean) with N nodes and E0 large enough that no
node dies, through :func:`wsnmec.sim.simulation.simulate` (deployment and tables included) with the replicas in
parallel threads. The JIT is compiled before timing. ``extra_info`` holds node-rounds per second and the
speed-up over the pure-Python reference (tests/naive.py) at N = 1000 measured in the same session.

Targets (issue 2, 2-core machine): >= 1e7 node-rounds/s for N = 1e3 .. 1e5 with both cores, >= 3e6 at
N = 1e6, >= 300x the reference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from naive import NaiveNetwork  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402
from wsnmec.sim.simulation import simulate  # noqa: E402

#: Node-rounds per replica and timed call (rounds = this / N, at least 3).
NODE_ROUNDS = 4_000_000
REFERENCE_NODES = 1000
REFERENCE_ROUNDS = 5
CASES = [(100, 2), (1000, 1), (1000, 2), (10_000, 2), (100_000, 2), (1_000_000, 1), (1_000_000, 2)]


def _scenario(nodes: int, rounds: int) -> Scenario:
    return Scenario.from_mapping(protocol="leach", nodes=nodes, e0=1e9, rounds=rounds)


def _run_reference(nodes: int, rounds: int) -> None:
    network = NaiveNetwork(_scenario(nodes, rounds), np.random.default_rng(1))
    network.run()


@pytest.fixture(scope="module")
def reference_rate() -> float:
    """Node-rounds per second of the pure-Python reference at N = 1000 (best of 2)."""
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        _run_reference(REFERENCE_NODES, REFERENCE_ROUNDS)
        best = min(best, time.perf_counter() - start)
    return REFERENCE_NODES * REFERENCE_ROUNDS / best


def test_reference_python(benchmark):
    benchmark.extra_info.update(nodes=REFERENCE_NODES, rounds=REFERENCE_ROUNDS, replicas=1)
    benchmark.pedantic(_run_reference, args=(REFERENCE_NODES, REFERENCE_ROUNDS), rounds=2, iterations=1)
    rate = REFERENCE_NODES * REFERENCE_ROUNDS / benchmark.stats.stats.min
    benchmark.extra_info["node_rounds_per_s"] = rate


@pytest.mark.parametrize("nodes,replicas", CASES, ids=[f"N{n}-x{k}" for n, k in CASES])
def test_kernel(benchmark, reference_rate, nodes, replicas):
    rounds = max(3, NODE_ROUNDS // nodes)
    scenario = _scenario(nodes, rounds)
    simulate(_scenario(min(nodes, 1000), 3), seed=0, replicas=replicas, workers=replicas)  # JIT warm-up

    def run():
        return simulate(scenario, seed=1, replicas=replicas, workers=replicas)

    result = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    assert (result.rounds["alive"] == nodes).all()  # nobody died: every round costs N node-rounds
    rate = nodes * rounds * replicas / benchmark.stats.stats.min
    benchmark.extra_info.update(
        nodes=nodes, rounds=rounds, replicas=replicas, node_rounds_per_s=rate,
        reference_node_rounds_per_s=reference_rate, speedup_vs_reference=rate / reference_rate,
    )
