"""A Gymnasium environment over the policy round loop: :class:`ClusteringEnv` (``wsnmec/Clustering-v0``).

Needs the optional extra ``gym`` (``pip install wsnmec[gym]``, i.e. ``gymnasium>=0.29``). Importing this module
registers the environment id ``wsnmec/Clustering-v0`` (entry point ``wsnmec.gym:ClusteringEnv``), so

>>> import gymnasium, wsnmec.gym                                          # doctest: +SKIP
>>> env = gymnasium.make("wsnmec/Clustering-v0", nodes=100, reward="lifetime")  # doctest: +SKIP
>>> obs, info = env.reset(seed=1)                                        # doctest: +SKIP

One environment step is one round of :class:`wsnmec.sim.rounds.RoundLoop` (the round API every clustering
policy uses): the harvest, the agent's cluster heads instead of a policy's ``elect``, the receivers, the agent's
offloading bits instead of a rule's ``decide``, then the compiled accounting and record. An action applied to
an environment reset with seed ``s`` therefore changes the energies exactly as the same mask and decisions
given to ``RoundLoop(scenario, s)`` (tested).

Observation (float32, shape (N, F) with F = 5 features per node, in this order):

0. ``energy / capacity`` -- residual energy over the battery capacity (the capacity is the initial energy unless
   ``battery`` is set, so without it this is residual over initial energy; clipped to [0, 1]: under ``matlab``
   semantics a dead node's stored energy may be negative),
1. ``alive`` -- 1 alive, 0 dead,
2. ``d_sink / max(d_sink)`` -- distance to the sink over the farthest node's distance in this episode [0, 1],
3. ``min(rounds_since_ch, E) / E`` -- rounds since the node was last cluster head over the LEACH epoch
   E = round(1/p) rounds, capped at 1 (p is the scenario's ``p``),
4. ``harvested / capacity`` -- energy the node stored in the last round's harvest over its battery capacity.

With ``observe_positions=True`` the observation is instead a dict (a ``spaces.Dict``) of two arrays:
``"features"``, the (N, 5) array above, and ``"positions"``, float32 of shape (N, 2), each node's ``x, y`` [m]
(fixed during an episode; a new deployment at each reset, as ``scenario.deployment`` lays it out, e.g.
``deployment="clusters:4,10"``), in the Box [0, W'] x [0, H'] with W', H' the field's width and height, or the
largest CSV coordinate when ``positions`` places nodes beyond the field.

The observation is the state after the last round. The next round's harvest happens inside :meth:`step`, before
the action is applied (as in the round loop, where the harvest precedes the election), so the agent decides
round r + 1 knowing round r's harvest, not round r + 1's.

Action: ``MultiBinary(2N)``; the first N entries are the cluster-head mask, the last N each head's offloading
decision (1 = send the gathered data to the edge server at the sink, 0 = process locally and send the result).
Entries of dead nodes are ignored, and so are the offloading bits of nodes that are not heads. An all-zero mask
is legal: every alive node then sends straight to the sink (as in a LEACH round that elects nobody).

Reward (``reward=``):

``"utility"`` (default)
    Minus the round's system utility [J]: ``-(energy_j + w_T latency_s)`` with the scenario's time weight w_T
    [J/s] (:mod:`wsnmec.sim.accounting`). This is a per-round cost only: it does not by itself reward keeping
    nodes alive (dead nodes draw nothing), so use it for per-round offloading/clustering quality.
``"lifetime"``
    ``alive / N`` after the round: the episode's return is the nodes' mean lifetime in rounds (the area under
    the alive-nodes curve over N), up to the truncation.

Episode end: ``terminated`` when a round leaves no node alive and no node can revive (with harvesting and a
``revive_threshold`` the episode goes on until truncation); ``truncated`` after the scenario's ``rounds``
(:data:`wsnmec.sim.scenario.MAX_ROUNDS` when not set).

Seeds: ``reset(seed=s)`` makes ``s`` the replica seed (``RoundLoop(scenario, s)``: deployment, harvests); a
``reset()`` without a seed draws the next replica seed from the environment's generator (seeded by the last
``reset(seed=...)``, else from entropy), so a sequence of resets after one seeded reset is reproducible too.
``info`` holds ``replica_seed`` (reset) and the round's record (step): ``round``, ``alive``, ``cluster_heads``,
``offloaded``, ``energy_j`` [J], ``latency_s`` [s], ``system_utility`` [J], ``residual_j`` [J],
``harvested_j`` [J].

Control overhead: the agent is charged, with ``control_bits`` > 0, as a centralised protocol (every alive node
uploads its state to the sink, which broadcasts the heads; like LEACH-C): the sink needs the per-node state the
observation shows.
"""

from __future__ import annotations

import numbers

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("wsnmec.gym needs gymnasium: pip install 'wsnmec[gym]' (gymnasium>=0.29)") from exc

import numpy as np
from numba import njit

from .clustering.base import ClusteringPolicy
from .clustering.leach import epoch_length
from .errors import ParameterError
from .sim.columns import FLOAT_COLUMNS, INT_COLUMNS
from .sim.rounds import OffloadPolicy, RoundLoop
from .sim.scenario import Scenario
from .seeding import MAX_SEED, check_seed

__all__ = ["ENV_ID", "FEATURES", "REWARDS", "ClusteringEnv"]

#: The registered environment id.
ENV_ID = "wsnmec/Clustering-v0"

#: Per-node observation features, in column order (see the module docstring).
FEATURES = ("energy_fraction", "alive", "d_sink_fraction", "rounds_since_ch_fraction", "harvested_fraction")

#: Reward options (see the module docstring).
REWARDS = ("utility", "lifetime")

_INT_INDEX = {name: i for i, name in enumerate(INT_COLUMNS)}
_FLOAT_INDEX = {name: i for i, name in enumerate(FLOAT_COLUMNS)}
_INFO_INT = ("alive", "cluster_heads", "offloaded")
_INFO_FLOAT = ("latency_s", "system_utility", "residual_j", "harvested_j")


@njit(cache=True, nogil=True)
def _observe_jit(energy, alive, d_sink, rounds_since_ch, harvested, capacity, d_max, epoch, obs):
    """Fill the (N, 5) observation (features of the module docstring) in place."""
    for i in range(energy.shape[0]):
        e = energy[i] / capacity[i]
        obs[i, 0] = min(max(e, 0.0), 1.0)
        obs[i, 1] = alive[i]
        obs[i, 2] = d_sink[i] / d_max if d_max > 0.0 else 0.0
        obs[i, 3] = min(rounds_since_ch[i], epoch) / epoch
        h = harvested[i] / capacity[i]
        obs[i, 4] = min(max(h, 0.0), 1.0)


@njit(cache=True, nogil=True)
def _parse_action_jit(action, heads, bits):
    """Heads mask and offloading bits from a (2N,) binary action (nonzero = 1)."""
    n = heads.shape[0]
    for i in range(n):
        heads[i] = action[i] != 0
        bits[i] = 1 if action[n + i] != 0 else 0


class _ActionHeads(ClusteringPolicy):
    """The environment's pending cluster-head mask as a clustering policy (draws no random numbers)."""

    name = "gym-action"
    control = "centralized"

    def __init__(self, scenario, n: int):
        super().__init__(scenario)
        self.mask = np.zeros(n, dtype=np.bool_)

    def elect(self, state, rng):
        return self.mask


class _ActionOffload(OffloadPolicy):
    """The environment's pending offloading bits as an offloading policy (draws no random numbers)."""

    name = "gym-action"

    def __init__(self, n: int):
        self.bits = np.zeros(n, dtype=np.uint8)

    def decide(self, state, heads, rng):
        return self.bits


def _check_limits(scenario) -> None:
    """The checks of ``wsnmec run`` before any allocation: magnitudes that would overflow and the memory of
    one replica (its nodes, the observation's float32 features and positions, no rounds table) against the
    memory available (:func:`wsnmec.limits.check_memory`; one line naming ``nodes``)."""
    from .limits import BYTES_PER_NODE, PROCESS_BASE_BYTES, _node_count, check_magnitudes, check_memory

    check_magnitudes(scenario)
    nodes = _node_count(scenario)
    needed = nodes * (BYTES_PER_NODE + 4 * (len(FEATURES) + 2)) + PROCESS_BASE_BYTES
    check_memory(needed, f"this environment ({nodes} nodes)", "nodes", "nodes (or the positions file's rows)",
                 force=False, force_option=None)


class ClusteringEnv(gymnasium.Env):
    """Cluster-head election and per-head offloading, one round per step (see the module docstring).

    Parameters
    ----------
    scenario : Scenario or dict, optional
        The simulated scenario (default: the classic one, :class:`wsnmec.sim.scenario.Scenario`); its
        ``protocol`` and ``offload`` are not used (the agent replaces both).
    reward : {"utility", "lifetime"}
        Reward of a round (module docstring).
    render_mode : None or "ansi"
        ``"ansi"``: :meth:`render` returns a one-line text summary of the last round.
    observe_positions : bool
        Observe a dict ``{"features": (N, 5), "positions": (N, 2) [m]}`` instead of the (N, 5) array (module
        docstring).
    **parameters
        Scenario parameters (as :meth:`Scenario.from_mapping` accepts them), applied over ``scenario``; e.g.
        ``gymnasium.make("wsnmec/Clustering-v0", nodes=1000, rounds=2000, deployment="gaussian:20")``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 30}

    def __init__(self, scenario=None, reward: str = "utility", render_mode: str | None = None,
                 observe_positions: bool = False, **parameters):
        if scenario is None:
            values = {}
        elif isinstance(scenario, Scenario):
            values = {key: getattr(scenario, key) for key in Scenario.keys()}
        elif isinstance(scenario, dict):
            values = dict(scenario)
        else:
            raise ParameterError("scenario", f"must be a Scenario or a dict of its parameters, got {type(scenario).__name__}")
        values.update(parameters)
        self.scenario = scenario if isinstance(scenario, Scenario) and not parameters else Scenario.from_mapping(values)
        if reward not in REWARDS:
            raise ParameterError("reward", f"must be one of {', '.join(REWARDS)}; got {reward!r}")
        self.reward_kind = reward
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ParameterError("render_mode", f"must be None or one of {', '.join(self.metadata['render_modes'])}; "
                                 f"got {render_mode!r}")
        self.render_mode = render_mode
        self.max_rounds = int(self.scenario.max_rounds)
        _check_limits(self.scenario)
        # N (and the energy bounds of the observation) from a deployment; reset deploys again with its seed.
        try:
            self._start(0)
        except MemoryError:  # (an estimate below a process limit such as ulimit -v)
            raise ParameterError("nodes", f"this environment ({self.scenario.nodes} nodes) ran out of memory "
                                 "while deploying; reduce nodes") from None
        n = self.n
        if not isinstance(observe_positions, (bool, np.bool_)):
            raise ParameterError("observe_positions", f"must be True or False; got {observe_positions!r}")
        self.observe_positions = bool(observe_positions)
        features = spaces.Box(low=0.0, high=1.0, shape=(n, len(FEATURES)), dtype=np.float32)
        if self.observe_positions:
            width, height = self.scenario.field
            if n:
                width = max(width, float(self.loop.x.max()))
                height = max(height, float(self.loop.y.max()))
            high = np.tile(np.array([width, height], dtype=np.float32), (n, 1))
            self.observation_space = spaces.Dict({
                "features": features,
                "positions": spaces.Box(low=np.zeros((n, 2), dtype=np.float32), high=high, dtype=np.float32),
            })
        else:
            self.observation_space = features
        self.action_space = spaces.MultiBinary(2 * n)
        self.replica_seed: int | None = None

    def _start(self, seed: int):
        self.loop = loop = RoundLoop(self.scenario, seed, clustering=_ActionHeads(self.scenario, 0),
                                     offloading=_ActionOffload(0))
        n = loop.n
        self.n = n
        self._heads = loop.clustering = _ActionHeads(self.scenario, n)
        self._offload = loop.offloading = _ActionOffload(n)
        loop.rule = -1
        self._d_max = float(loop.d_sink.max()) if n else 0.0
        self.epoch = float(epoch_length(loop.p_resolved))  # (--p auto: this deployment's k_opt / N)
        self._obs = np.zeros((n, len(FEATURES)), dtype=np.float32)
        self._positions = np.stack([loop.x, loop.y], axis=1).astype(np.float32) if n else np.zeros((0, 2), np.float32)
        self._last = None

    def _observation(self):
        loop = self.loop
        _observe_jit(loop.energy, loop.alive, loop.d_sink, loop.rounds_since_ch, loop.harvested, loop.capacity,
                     self._d_max, self.epoch, self._obs)
        if getattr(self, "observe_positions", False):
            return {"features": self._obs.copy(), "positions": self._positions.copy()}
        return self._obs.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new replica; ``seed`` becomes its replica seed (module docstring). Returns ``(obs, info)``."""
        if seed is not None:
            if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):  # 1.5 or "5": no silent casts
                raise ParameterError("seed", f"must be an integer in [0, {MAX_SEED}], got {seed!r}")
            seed = check_seed(seed, "seed")
        super().reset(seed=seed)
        replica_seed = seed if seed is not None else int(self.np_random.integers(0, MAX_SEED))
        self.replica_seed = replica_seed
        self._start(replica_seed)
        return self._observation(), {"replica_seed": replica_seed, "round": 0, "alive": self.n}

    def step(self, action):
        """Simulate one round with the action's heads and offloading bits; returns
        ``(obs, reward, terminated, truncated, info)``."""
        if self.replica_seed is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action)
        n = self.n
        if action.shape != (2 * n,):
            raise ParameterError("action", f"must be {2 * n} binary entries (heads, then offloading bits); "
                                 f"got shape {action.shape}")
        _parse_action_jit(action, self._heads.mask, self._offload.bits)
        loop = self.loop
        alive = loop.step()
        row_int = loop._row_int[0]
        row_float = loop._row_float[0]
        utility = float(row_float[_FLOAT_INDEX["system_utility"]])
        reward = -utility if self.reward_kind == "utility" else alive / n
        terminated = alive == 0 and not loop.can_revive
        truncated = not terminated and loop.round >= self.max_rounds
        info = {"round": loop.round}
        for name in _INFO_INT:
            info[name] = int(row_int[_INT_INDEX[name]])
        info["energy_j"] = float(row_float[_FLOAT_INDEX["consumed_j"]])
        for name in _INFO_FLOAT:
            info[name] = float(row_float[_FLOAT_INDEX[name]])
        self._last = info
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    def render(self):
        """``"ansi"``: a one-line summary of the last round (None without a render mode)."""
        if self.render_mode != "ansi":
            return None
        if self._last is None:
            return f"round 0: {self.loop.alive_count} alive"
        i = self._last
        return (f"round {i['round']}: {i['alive']} alive, {i['cluster_heads']} heads ({i['offloaded']} offloaded), "
                f"energy {i['energy_j']:.4g} J, latency {i['latency_s']:.4g} s, utility {i['system_utility']:.4g} J")


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="wsnmec.gym:ClusteringEnv")
