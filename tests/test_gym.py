"""The Gymnasium environment wsnmec/Clustering-v0 (optional extra ``gym``): API conformance, equality with the
round loop it wraps, seeds, episode ends, rewards, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from wsnmec.clustering.base import ClusteringPolicy  # noqa: E402
from wsnmec.errors import ParameterError  # noqa: E402
from wsnmec.gym import ENV_ID, FEATURES, ClusteringEnv  # noqa: E402
from wsnmec.sim import Scenario  # noqa: E402
from wsnmec.sim.rounds import OffloadPolicy, RoundLoop  # noqa: E402


@pytest.mark.parametrize("parameters", [
    {"nodes": 30, "rounds": 40},
    {"nodes": 30, "rounds": 40, "reward": "lifetime", "harvest": "bernoulli:0.002,0.3", "battery": 1.0},
    {"nodes": 20, "e0": 0.002, "workload": "dnn-inference", "sink": "50,175"},
])
def test_check_env_passes_without_warnings(parameters):
    env = gymnasium.make(ENV_ID, **parameters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not [str(w.message) for w in caught]
    assert env.observation_space.shape == (parameters["nodes"], len(FEATURES))
    assert env.action_space.n == 2 * parameters["nodes"]


class SequenceHeads(ClusteringPolicy):
    name = "sequence"
    control = "centralized"  # the environment's control pattern

    def __init__(self, scenario, masks):
        super().__init__(scenario)
        self.masks = masks

    def elect(self, state, rng):
        return self.masks[state.round - 1]


class SequenceOffload(OffloadPolicy):
    def __init__(self, bits):
        self.bits = bits
        self.calls = 0

    def decide(self, state, heads, rng):
        self.calls += 1
        return self.bits[self.calls - 1]


@pytest.mark.parametrize("values", [
    {"nodes": 40, "e0": 0.02, "rounds": 120},
    {"nodes": 40, "e0": 0.02, "rounds": 120, "workload": "dnn-inference", "time_weight": 0.3, "sink": "50,175",
     "control_bits": 100, "idle_j": 1e-6},
    {"nodes": 40, "e0": "0.01..0.03", "rounds": 120, "harvest": "markov:0.001,0,0.2,0.3", "battery": 0.05,
     "revive_threshold": 0.002, "join": "cluster"},
])
def test_fixed_actions_give_the_round_loops_energies_and_records(values):
    """The environment stepped with a fixed action sequence changes energies exactly as RoundLoop given the same
    masks and decisions (same replica seed): every node's energy, alive flag and the round's record, bit for
    bit; rewards are minus the recorded system utility."""
    scenario = Scenario.from_mapping(values)
    rounds, seed = scenario.rounds, 17
    env = ClusteringEnv(scenario)
    n = env.n
    rng = np.random.default_rng(5)
    masks = rng.random((rounds, n)) < 0.12
    bits = (rng.random((rounds, n)) < 0.5).astype(np.uint8)
    loop = RoundLoop(scenario, seed, clustering=SequenceHeads(scenario, masks), offloading=SequenceOffload(bits))
    obs, info = env.reset(seed=seed)
    assert info["replica_seed"] == seed
    harvested = 0.0
    np.testing.assert_array_equal(env.loop.x, loop.x)
    for r in range(rounds):
        obs, reward, terminated, truncated, info = env.step(np.concatenate([masks[r], bits[r]]).astype(np.int8))
        alive = loop.step()
        np.testing.assert_array_equal(env.loop.energy, loop.energy)
        np.testing.assert_array_equal(env.loop.alive, loop.alive)
        record = loop.last_record
        assert info["alive"] == alive == record["alive"]
        for key in ("cluster_heads", "offloaded", "latency_s", "system_utility", "residual_j", "harvested_j"):
            assert info[key] == record[key], key
        assert info["energy_j"] == record["consumed_j"]
        assert reward == -record["system_utility"]
        harvested += info["harvested_j"]
        np.testing.assert_array_equal(obs[:, 0], np.clip(loop.energy / loop.capacity, 0, 1).astype(np.float32))
        np.testing.assert_array_equal(obs[:, 1], loop.alive.astype(np.float32))
        np.testing.assert_array_equal(obs[:, 2], (loop.d_sink / loop.d_sink.max()).astype(np.float32))
        epoch = round(1 / loop.p_resolved)  # (--p auto: k_opt / N of the deployment)
        np.testing.assert_array_equal(obs[:, 3], (np.minimum(loop.rounds_since_ch, epoch) / epoch).astype(np.float32))
        np.testing.assert_array_equal(obs[:, 4], np.clip(loop.harvested / loop.capacity, 0, 1).astype(np.float32))
        if terminated or truncated:
            break
    assert r == rounds - 1 or terminated
    assert (harvested > 0) == ("harvest" in values)
    assert env.loop.round == r + 1


def run_episode(env, seed, actions):
    out = [env.reset(seed=seed)[0]]
    rewards = []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        out.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(out), np.array(rewards)


def test_reset_with_a_seed_is_reproducible():
    env = gymnasium.make(ENV_ID, nodes=30, e0=0.02, rounds=60, harvest="bernoulli:0.001,0.2")
    actions = [env.action_space.sample() for _ in range(60)]
    obs_a, rew_a = run_episode(env, 7, actions)
    obs_b, rew_b = run_episode(env, 7, actions)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    obs_c, _ = run_episode(env, 8, actions)
    assert not np.array_equal(obs_a[0], obs_c[0])  # another deployment
    # unseeded resets continue from the last seeded one, in every environment alike
    other = gymnasium.make(ENV_ID, nodes=30, e0=0.02, rounds=60, harvest="bernoulli:0.001,0.2")
    seeds = []
    for e in (env, other):
        e.reset(seed=3)
        seeds.append([e.reset()[1]["replica_seed"] for _ in range(3)])
    assert seeds[0] == seeds[1] and len(set(seeds[0])) == 3


def test_lifetime_reward_sums_to_the_mean_node_lifetime_and_the_episode_terminates():
    env = ClusteringEnv(nodes=25, e0=0.003, reward="lifetime")
    env.reset(seed=2)
    n = env.n
    action = np.zeros(2 * n, dtype=np.int8)
    action[:n:5] = 1  # a fixed set of heads, dead ones ignored
    total, alive_sum, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        alive_sum += info["alive"]
    assert terminated and not truncated and info["alive"] == 0
    assert total == pytest.approx(alive_sum / n, rel=1e-12)
    assert 1 < total < env.loop.round


def test_truncation_at_the_scenarios_rounds():
    env = ClusteringEnv(nodes=10, rounds=5)
    env.reset(seed=1)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]


def test_actions_on_dead_nodes_and_non_heads_are_ignored():
    scenario = Scenario.from_mapping(nodes=30, e0="0.001..0.02", rounds=200)
    a, b = ClusteringEnv(scenario), ClusteringEnv(scenario)
    a.reset(seed=4)
    b.reset(seed=4)
    n = a.n
    rng = np.random.default_rng(0)
    for _ in range(200):
        heads = rng.random(n) < 0.1
        bits = rng.random(n) < 0.5
        dead = a.loop.alive == 0
        noisy_heads = heads | dead
        noisy_bits = np.where(heads, bits, rng.random(n) < 0.5)
        out_a = a.step(np.concatenate([heads & ~dead, bits & heads]).astype(np.int8))
        out_b = b.step(np.concatenate([noisy_heads, noisy_bits]).astype(np.int8))
        np.testing.assert_array_equal(out_a[0], out_b[0])
        assert out_a[1:] == out_b[1:]
        if out_a[2]:
            break
    assert dead.any()


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="reward"):
        ClusteringEnv(reward="alive")
    with pytest.raises(ParameterError, match="--nodes"):
        ClusteringEnv(nodes=0)
    env = ClusteringEnv(nodes=10)
    with pytest.raises(RuntimeError):
        env.step(np.zeros(20, dtype=np.int8))
    env.reset(seed=0)
    with pytest.raises(ParameterError, match="action"):
        env.step(np.zeros(10, dtype=np.int8))
    with pytest.raises(ParameterError, match="seed"):
        env.reset(seed=-1)


@pytest.mark.parametrize("seed", [1.5, "5", True, -1])
def test_reset_refuses_a_seed_that_is_not_an_integer(seed):
    # issue 21 (lesser): reset(seed=1.5) used to run seed 1 and seed="5" seed 5
    from wsnmec.errors import ParameterError
    from wsnmec.gym import ClusteringEnv

    env = ClusteringEnv(nodes=5)
    with pytest.raises(ParameterError, match="seed: must be an integer"):
        env.reset(seed=seed)
    assert env.reset(seed=np.int64(5))[1]["replica_seed"] == 5


def test_an_environment_too_large_for_the_memory_is_one_line_before_allocating(monkeypatch):
    # issue 21 (lesser): ClusteringEnv(nodes=10**8) raised a raw MemoryError (numpy's 1.49 GiB allocation)
    monkeypatch.setenv("WSNMEC_AVAILABLE_MEMORY", str(10**9))
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ParameterError) as info:
            ClusteringEnv(nodes=10**8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert info.value.parameter == "nodes" and "\n" not in message and "--force" not in message, message
    assert "needs about" in message and "is available" in message
    assert peak < 50 * 2**20  # refused before the deployment's arrays (1.6 GB) exist
    ClusteringEnv(nodes=10)  # a small one still fits the same budget


def test_an_environment_refuses_what_the_cli_refuses():
    with pytest.raises(ParameterError, match=r"^--e0: must be at most 1e\+12 J"):
        ClusteringEnv(nodes=5, e0=1e13)


def test_an_environment_running_out_of_memory_while_deploying_is_one_line(monkeypatch):
    from wsnmec import gym as gym_module

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(gym_module, "RoundLoop", no_memory)
    with pytest.raises(ParameterError, match=r"^nodes: this environment \(5 nodes\) ran out of memory"):
        ClusteringEnv(nodes=5)
