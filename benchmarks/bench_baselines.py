"""Election time per round of the clustering baselines LEACH-C and DEEC (compiled kernels only).

Run with ``python -m pytest benchmarks/bench_baselines.py --benchmark-only``. Each case elects the heads of
one round for N nodes uniform in 100 m x 100 m with p = 0.1 (SEP-like energies: 10 % of the nodes hold
twice the energy, plus a small spread so that the eligible set is not trivial). LEACH-C draws a fresh
start each call. The JIT is compiled before timing.

Target (issue 7 item 4): LEACH-C well under ~50 ms per round at N = 1e4; the full simulated round with the
accounting is measured by ``wsnmec run`` (see the closing note).
"""

from __future__ import annotations

import numpy as np
import pytest

from wsnmec.clustering.deec import elect_deec
from wsnmec.clustering.leach_c import MAX_ITERATIONS, SWAP_BUDGET, SWAP_CAP, SWAP_PASSES, elect_leach_c

SEARCH = (MAX_ITERATIONS, SWAP_CAP, SWAP_BUDGET, SWAP_PASSES)


def _network(n):
    g = np.random.default_rng(0)
    x, y = g.random(n) * 100.0, g.random(n) * 100.0
    energy = np.where(g.random(n) < 0.1, 1.0, 0.5) + g.random(n) * 0.01
    return x, y, np.ones(n, dtype=np.uint8), energy


@pytest.mark.parametrize("nodes", [1000, 10_000, 100_000])
def test_leach_c_round(benchmark, nodes):
    x, y, alive, energy = _network(nodes)
    is_ch = np.zeros(nodes, dtype=np.uint8)
    rng = np.random.default_rng(1)
    elect_leach_c(rng, 0.1, *SEARCH, x, y, alive, energy, is_ch)
    result = benchmark(elect_leach_c, rng, 0.1, *SEARCH, x, y, alive, energy, is_ch)
    benchmark.extra_info["heads"] = int(result[0])
    benchmark.extra_info["passes_last_call"] = int(result[1])


@pytest.mark.parametrize("nodes", [1000, 10_000, 100_000])
def test_deec_round(benchmark, nodes):
    _, _, alive, energy = _network(nodes)
    is_ch = np.zeros(nodes, dtype=np.uint8)
    last_ch = np.zeros(nodes, dtype=np.int64)
    rng = np.random.default_rng(1)
    elect_deec(rng, 1, 0.1, alive, energy, last_ch, is_ch)
    state = {"round": 1}

    def one_round():
        state["round"] += 1
        return elect_deec(rng, state["round"], 0.1, alive, energy, last_ch, is_ch)

    benchmark(one_round)
