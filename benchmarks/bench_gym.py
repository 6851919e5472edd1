"""Steps per second of the Gymnasium environment ``wsnmec/Clustering-v0`` (optional extra ``gym``).

Run with ``python -m pytest benchmarks/bench_gym.py --benchmark-only``. Each case steps
:class:`wsnmec.gym.ClusteringEnv` (classic scenario, E0 large enough that no node dies) with a fixed action
(about p N heads, half of them offloading), observation and info included, against
:class:`wsnmec.sim.rounds.RoundLoop` stepped with the same fixed mask and decisions (the round alone), so the
difference is the environment's own cost (action parsing, the (N, 5) float32 observation, info).
``extra_info`` holds steps per second.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from wsnmec.clustering.base import ClusteringPolicy  # noqa: E402
from wsnmec.gym import ClusteringEnv  # noqa: E402
from wsnmec.sim.rounds import OffloadPolicy, RoundLoop  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402

STEPS = 2000


def _scenario(nodes: int) -> Scenario:
    return Scenario.from_mapping(nodes=nodes, e0=1e9, rounds=10**5)


def _action(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.random(n) < 0.1, rng.random(n) < 0.5]).astype(np.int8)


@pytest.mark.parametrize("nodes", [100, 1000])
def test_env_steps_per_second(benchmark, nodes):
    env = ClusteringEnv(_scenario(nodes))
    env.reset(seed=1)
    action = _action(env.n)
    env.step(action)  # compile

    def run():
        for _ in range(STEPS):
            env.step(action)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["steps_per_s"] = STEPS / benchmark.stats.stats.min


class _Fixed(ClusteringPolicy):
    name = "fixed"
    control = "centralized"

    def __init__(self, scenario, mask):
        super().__init__(scenario)
        self.mask = mask

    def elect(self, state, rng):
        return self.mask


class _Given(OffloadPolicy):
    def __init__(self, bits):
        self.bits = bits

    def decide(self, state, heads, rng):
        return self.bits


@pytest.mark.parametrize("nodes", [100, 1000])
def test_round_loop_steps_per_second(benchmark, nodes):
    scenario = _scenario(nodes)
    action = _action(nodes)
    loop = RoundLoop(scenario, 1, clustering=_Fixed(scenario, action[:nodes].astype(bool)),
                     offloading=_Given(action[nodes:].astype(np.uint8)))
    loop.step()

    def run():
        for _ in range(STEPS):
            loop.step()

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["steps_per_s"] = STEPS / benchmark.stats.stats.min
