"""Decision time per round of the learned clustering policy ``ddnn`` (and of ``ddnn-rule``).

Run with ``python -m pytest benchmarks/bench_ddnn.py --benchmark-only``. One decision is
:meth:`wsnmec.clustering.ddnn.DDNNPolicy.decide` on a live state: the features, the K = 3 forward passes of
the shipped default model, the top-k quantization (5 sizes around k_opt, plus the empty set) and the dry-run
scoring of every candidate with per-node draws, then the objective. The state is that of the classic
scenario (field side scaled with sqrt(N / 100) to keep the density, sink at the centre) after one round.
``extra_info`` holds the number of candidates.

Targets (issue 8): <= 0.5 ms at N = 100 and <= 20 ms at N = 10,000 with K = 3.
"""

from __future__ import annotations

import math

import pytest

from wsnmec.clustering.ddnn import DDNNPolicy, DDNNRulePolicy
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario


def _policy_and_state(cls, nodes: int, sink: str):
    side = 100.0 * math.sqrt(nodes / 100.0)
    values = {"protocol": cls.name, "nodes": nodes, "field": (side, side), "rounds": 2}
    if sink == "far":
        values["sink"] = (side / 2.0, 1.75 * side)
    scenario = Scenario.from_mapping(values)
    policy = cls(scenario)
    loop = RoundLoop(scenario, 1, clustering=policy)
    loop.step()
    policy.decide(loop.state)  # compile
    return policy, loop.state


@pytest.mark.parametrize("sink", ["centre", "far"])
@pytest.mark.parametrize("nodes", [100, 10_000])
@pytest.mark.parametrize("cls", [DDNNPolicy, DDNNRulePolicy], ids=["ddnn", "ddnn-rule"])
def test_decision_time(benchmark, cls, nodes, sink):
    policy, state = _policy_and_state(cls, nodes, sink)
    _, _, _, masks, _ = benchmark(policy.decide, state)
    benchmark.extra_info.update(nodes=nodes, sink=sink, candidates=int(masks.shape[0]),
                                networks=3 if cls is DDNNPolicy else 0)
