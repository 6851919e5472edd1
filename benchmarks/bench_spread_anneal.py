"""Decision time per round of the non-learned references ``spread`` and ``anneal``.

Run with ``python -m pytest benchmarks/bench_spread_anneal.py --benchmark-only``. One decision is the
policy's ``decide`` on a live state (the classic scenario's field scaled with sqrt(N / 100), the sink at
the centre or far outside, after one round): for ``spread`` the weighted k-medoids sets at ddnn's sizes
and their dry-run scoring; for ``anneal`` also ddnn-rule's sets, the previous set and the 32 x 16 scored
moves of the annealing. ``extra_info`` holds the number of sets scored per decision.

Targets (issue 16, item 4): anneal about <= 50 ms per round at N = 100 and < 1 s at N = 400 on one core.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wsnmec.clustering.anneal import AnnealPolicy
from wsnmec.clustering.spread import SpreadPolicy
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario


def _policy_and_state(cls, nodes: int, sink: str):
    side = 100.0 * math.sqrt(nodes / 100.0)
    values = {"protocol": cls.name, "nodes": nodes, "field": (side, side), "rounds": 2}
    if sink == "far":
        values["sink"] = (side / 2.0, 1.75 * side)
    scenario = Scenario.from_mapping(values)
    loop = RoundLoop(scenario, 1)
    loop.step()
    policy = loop.clustering
    policy.decide(loop.state, np.random.default_rng(0))  # compile
    return policy, loop.state


@pytest.mark.parametrize("sink", ["centre", "far"])
@pytest.mark.parametrize("nodes", [100, 400])
@pytest.mark.parametrize("cls", [SpreadPolicy, AnnealPolicy], ids=["spread", "anneal"])
def test_decision_time(benchmark, cls, nodes, sink):
    policy, state = _policy_and_state(cls, nodes, sink)
    rng = np.random.default_rng(1)
    before = policy.scorer.scored
    rounds = {"calls": 0}

    def decide():
        rounds["calls"] += 1
        return policy.decide(state, rng)

    benchmark(decide)
    benchmark.extra_info.update(nodes=nodes, sink=sink,
                                sets_scored=(policy.scorer.scored - before) / max(rounds["calls"], 1))
