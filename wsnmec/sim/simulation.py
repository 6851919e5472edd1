"""Public simulation API: run replicas of a scenario and return tables.

>>> from wsnmec.sim.scenario import Scenario
>>> from wsnmec.sim.simulation import simulate
>>> result = simulate(Scenario(nodes=50, rounds=20), seed=1, replicas=2)   # doctest: +SKIP
>>> result.summary[["replica", "seed", "fnd", "hnd", "lnd"]]                # doctest: +SKIP

Replica i uses ``numpy.random.default_rng(replica_seeds(seed, K)[i])`` for all of its draws (deployment,
harvesting, election; order in :mod:`wsnmec.sim.kernel`), so its recorded seed run with ``replicas=1``
reproduces it exactly. Replicas run in parallel threads; the compiled kernel releases the GIL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..clustering.leach import epoch_length
from ..clustering.registry import canonical_name, policy_class, protocol_record, runs_fused
from ..energy.harvesters.registry import harvest_record
from ..energy.workload import hardware_preset, workload_preset
from ..errors import ParameterError, check_choice, check_int
from ..seeding import check_seed, fresh_seed, replica_seeds
from .accounting import CONTROL_KINDS, OFFLOAD_RULES
from .columns import FLOAT_COLUMNS, INT_COLUMNS, ROUND_COLUMNS, SUMMARY_COLUMNS
from .kernel import SEMANTICS_CODES, run_rounds_jit
from .metrics import lifetime_rounds
from .replica import build_replica
from .rounds import RoundLoop
from .scenario import MAX_REPLICAS, Scenario
from .setup import round_parameters_for

#: Node-rounds simulated per call of the compiled loop (between progress reports).
CHUNK_NODE_ROUNDS = 2_000_000

#: ``loop`` choices of :func:`simulate`.
LOOPS = ("auto", "fused", "policy")


class SimulationResult:
    """Tables of a simulation.

    ``rounds``, ``summary`` and ``nodes`` are pandas DataFrames built on first access from the arrays the
    simulation returned (so that a command printing only the summary never imports pandas); they may also
    be given (or assigned) directly. :meth:`replica_data` gives each replica's summary row and per-round
    columns without pandas.

    Attributes
    ----------
    config : dict
        ``scenario.to_config()`` plus ``seed`` (the user seed, drawn fresh and recorded when None),
        ``replicas``, ``replica_seeds``, ``nodes`` (effective N), ``version``, ``radio_constants``,
        ``workload_constants``, ``hardware_constants``, ``clustering`` (the policy's parameters), ``loop``
        (``fused`` or ``policy``), and the effective values: ``battery_j`` (the battery capacity [J] when
        every node has the same one, else None), ``battery_rule`` (``"--battery"`` when a capacity was given,
        else ``"initial energy of each node"``), ``rounds_cap`` (rounds simulated at most) and, with a
        positions CSV, ``positions_sha256`` (SHA-256 of the file as read); ``p_resolved``: each replica's
        cluster-head fraction (``p`` itself, or k_opt / N of its deployment under ``--p auto``);
        ``clustering_runs``, only for a policy that records something per replica
        (:meth:`~wsnmec.clustering.base.ClusteringPolicy.run_record`, e.g. lp-schedule's solve and whether
        its time limit cut it): one entry per replica.
    rounds : pandas.DataFrame
        One row per replica and round 1..R (:data:`wsnmec.sim.columns.ROUND_COLUMNS`); ``consumed_j``
        (= ``energy_j``) and ``harvested_j`` are the energy of that round [J], ``residual_j`` the total
        stored energy at its end [J] (positive parts only; ``stored_j`` is the signed sum, which differs
        under ``matlab`` semantics, where energies are not clipped), ``nodes_ge_90pct`` the alive nodes
        holding >= 90 % of their battery capacity, ``latency_s`` [s] and ``system_utility`` [J] as in
        :mod:`wsnmec.sim.accounting`.
    summary : pandas.DataFrame
        One row per replica (:data:`wsnmec.sim.columns.SUMMARY_COLUMNS`); ``fnd``/``hnd``/``lnd`` nullable
        Int64 (null when not reached), energies [J], per-round means of energy, latency and utility.
    nodes : pandas.DataFrame or None
        With ``simulate(..., per_node=True)``: one row per replica and node (:data:`NODE_COLUMNS`): ``node``
        (0-based id), ``x``, ``y`` [m], ``energy_initial_j`` [J], ``death_round`` (the round at whose end the
        node was found dead, the last such round when it revived in between; NaN when alive at the end) and
        ``energy_residual_j`` [J] (its stored energy at the end, positive part, as ``residual_j``: the
        nodes of a replica sum to its ``energy_residual_j``). Else None.
    """

    def __init__(self, config: dict, rounds=None, summary=None, nodes=None, *, replicas: list | None = None,
                 per_node: bool = False):
        self.config = config
        self._replicas = replicas  # one _ReplicaTables per replica (simulate), or None (tables given)
        self._per_node = per_node
        self._rounds, self._summary, self._nodes = rounds, summary, nodes

    def __repr__(self) -> str:
        return f"SimulationResult(replicas={len(self.config.get('replica_seeds', []))}, nodes={self.config.get('nodes')})"

    def _release(self) -> None:
        """Drop the simulation's arrays once every table is built (they would double the memory held)."""
        if self._rounds is not None and self._summary is not None and (self._nodes is not None or not self._per_node):
            self._replicas = None

    @property
    def rounds(self):
        if self._rounds is None and self._replicas is not None:
            self._rounds = _rounds_frame(self._replicas)
            self._release()
        return self._rounds

    @rounds.setter
    def rounds(self, value):
        self._rounds = value

    @property
    def summary(self):
        if self._summary is None and self._replicas is not None:
            self._summary = _summary_frame(self._replicas)
            self._release()
        return self._summary

    @summary.setter
    def summary(self, value):
        self._summary = value

    @property
    def nodes(self):
        if self._nodes is None and self._replicas is not None and self._per_node:
            self._nodes = _nodes_frame(self._replicas)
            self._release()
        return self._nodes

    @nodes.setter
    def nodes(self, value):
        self._nodes = value

    def replica_data(self) -> list[dict]:
        """Per replica, in replica order: ``row`` (its summary row as plain Python values: the
        :data:`~wsnmec.sim.columns.SUMMARY_COLUMNS`, ``fnd``/``hnd``/``lnd`` None when not reached) and
        ``columns`` (its per-round numpy columns of :data:`~wsnmec.sim.columns.INT_COLUMNS` and
        :data:`~wsnmec.sim.columns.FLOAT_COLUMNS`, rounds 1, 2, ...). From the simulation's arrays while the
        tables are not built (no pandas), else from the ``summary`` and ``rounds`` tables."""
        if self._replicas is not None and self._rounds is None and self._summary is None:
            return [{"row": dict(replica.row), "columns": {**replica.ints, **replica.floats}}
                    for replica in self._replicas]
        import pandas as pd

        summary = self.summary.sort_values("replica", kind="stable")
        ordered = self.rounds.sort_values(["replica", "round"], kind="stable")
        groups = {int(replica): group for replica, group in ordered.groupby("replica", sort=True)}
        empty = ordered.iloc[0:0]
        data = []
        for row in summary.to_dict("records"):
            group = groups.get(int(row["replica"]), empty)
            data.append({"row": {key: (None if value is pd.NA else value) for key, value in row.items()},
                         "columns": {name: group[name].to_numpy() for name in (*INT_COLUMNS, *FLOAT_COLUMNS)
                                     if name in group.columns}})
        return data


@dataclass
class _ReplicaTables:
    """What :func:`simulate` keeps of a replica: its index, seed, per-round columns and summary row."""

    index: int
    seed: int
    nodes: int
    ints: dict
    floats: dict
    row: dict
    node_table: dict | None


def _rounds_frame(replicas: list[_ReplicaTables]):
    import pandas as pd

    frames = []
    for replica in replicas:
        ints, floats = replica.ints, replica.floats
        count = ints["alive"].shape[0]
        frame = {
            "replica": np.full(count, replica.index, dtype=np.int64),
            "seed": np.full(count, replica.seed, dtype=np.int64),
            "round": np.arange(1, count + 1, dtype=np.int64),
            "dead": replica.nodes - ints["alive"],
            "energy_j": floats["consumed_j"],
        }
        frame.update(ints)
        frame.update(floats)
        frames.append(pd.DataFrame({name: frame[name] for name in ROUND_COLUMNS}, columns=list(ROUND_COLUMNS)))
    return pd.concat(frames, ignore_index=True)


def _summary_frame(replicas: list[_ReplicaTables]):
    import pandas as pd

    summary = pd.DataFrame([replica.row for replica in replicas], columns=list(SUMMARY_COLUMNS))
    for column in ("fnd", "hnd", "lnd"):
        summary[column] = summary[column].astype("Int64")
    summary["replica"] = summary["replica"].astype(np.int64)
    summary["seed"] = summary["seed"].astype(np.int64)
    summary["rounds"] = summary["rounds"].astype(np.int64)
    return summary


def _nodes_frame(replicas: list[_ReplicaTables]):
    import pandas as pd

    parts = []
    for replica in replicas:
        count = replica.node_table["x"].shape[0]
        parts.append(pd.DataFrame({"replica": np.full(count, replica.index, dtype=np.int64),
                                   "seed": np.full(count, replica.seed, dtype=np.int64),
                                   "node": np.arange(count, dtype=np.int64), **replica.node_table},
                                  columns=list(NODE_COLUMNS)))
    return pd.concat(parts, ignore_index=True)


#: Columns of :attr:`SimulationResult.nodes` (``nodes.parquet`` of ``wsnmec run --out``).
NODE_COLUMNS = ("replica", "seed", "node", "x", "y", "energy_initial_j", "death_round", "energy_residual_j")


@dataclass
class _ReplicaRun:
    nodes: int
    energy_initial: float
    out_int: np.ndarray
    out_float: np.ndarray
    battery_j: float | None
    positions_sha256: str | None
    p_resolved: float
    node_table: dict | None = None
    clustering_record: dict | None = None  # the policy's run_record() (policy loop only)


class _DeathRounds:
    """Per-node death rounds, updated after every round from the alive flags (see SimulationResult.nodes)."""

    def __init__(self, alive: np.ndarray):
        self.previous = alive.astype(bool)
        self.round = np.full(alive.shape[0], np.nan)

    def update(self, alive: np.ndarray, round_number: int) -> None:
        now = alive.astype(bool)
        self.round[self.previous & ~now] = round_number
        self.round[~self.previous & now] = np.nan  # revived: alive again
        self.previous = now


def _node_table(x, y, initial, energy, deaths: _DeathRounds) -> dict:
    return {"x": np.asarray(x, dtype=float).copy(), "y": np.asarray(y, dtype=float).copy(),
            "energy_initial_j": np.asarray(initial, dtype=float).copy(), "death_round": deaths.round.copy(),
            "energy_residual_j": np.maximum(np.asarray(energy, dtype=float), 0.0)}


#: Rounds per call of the fused loop while per-node death rounds are recorded (a chunk with a death is
#: replayed one round per call).
PER_NODE_CHUNK = 64


def _replay_rounds(one_round, mutable, snapshot, out_int, out_float, rng, deaths: _DeathRounds, done: int) -> None:
    """Replay a chunk of the fused loop one round at a time to find which node died in which round.

    ``mutable``: the per-node arrays the loop updates in place; ``snapshot``: their copies and the generator
    state before the chunk. The arrays and the generator are restored, then ``one_round(k, row_int,
    row_float)`` simulates round ``done + 1 + k`` for each of the chunk's rounds. The compiled loop is
    deterministic given these, so every replayed round must write the chunk's record again and end in the
    same node state: this is checked (a RuntimeError names a difference, which would be a bug).
    """
    after = [a.copy() for a in mutable]
    saved, state = snapshot
    for array, copy in zip(mutable, saved):
        np.copyto(array, copy)
    rng.bit_generator.state = state
    row_int = np.empty((1, out_int.shape[1]), dtype=out_int.dtype)
    row_float = np.empty((1, out_float.shape[1]), dtype=out_float.dtype)
    for k in range(out_int.shape[0]):
        one_round(k, row_int, row_float)
        if not (np.array_equal(row_int[0], out_int[k]) and np.array_equal(row_float[0], out_float[k], equal_nan=True)):
            raise RuntimeError(f"replaying round {done + 1 + k} for the per-node table gave another record")
        deaths.update(mutable[1], done + 1 + k)
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(mutable, after)):
        raise RuntimeError(f"replaying rounds {done + 1}..{done + out_int.shape[0]} for the per-node table "
                           "ended in another node state")


def _uses_fused_loop(scenario: Scenario, loop: str, custom: bool) -> bool:
    if custom or loop == "policy":
        return False
    fused = runs_fused(scenario.protocol)
    if loop == "fused" and not fused:
        raise ParameterError("loop", f"'fused' needs a built-in protocol (direct, leach, leach-dchs); "
                                     f"got {scenario.protocol!r}")
    if not scenario.harvest.compiled:  # a plug-in harvest model: its Python step runs in the policy loop only
        if loop == "fused":
            raise ParameterError("loop", f"'fused' needs a built-in harvest model; got --harvest {scenario.harvest}")
        return False
    return fused


def _run_fused(scenario: Scenario, seed: int, report, per_node: bool = False) -> _ReplicaRun:
    rng = np.random.default_rng(seed)
    replica = build_replica(scenario, rng)
    net = replica.deployment
    n = replica.n
    energy, initial, capacity = replica.energy, replica.initial, replica.capacity
    alive, rounds_since_ch, markov_state = replica.alive, replica.rounds_since_ch, replica.markov_state
    ch_epoch = np.full(n, -1, dtype=np.int64)
    stored = replica.harvested
    work, d_sink, bbox = replica.work, replica.d_sink, replica.bbox
    can_revive = replica.can_revive
    policy = policy_class(scenario.protocol)
    params = round_parameters_for(scenario, bbox, CONTROL_KINDS[policy.control])
    rule = OFFLOAD_RULES[scenario.offload]
    p = replica.p_resolved
    epoch_len = epoch_length(p)
    draw_all = scenario.semantics == "matlab"
    harvest = (replica.harvest_kind, replica.harvest_params, float(replica.revive), bool(can_revive), stored)
    geometry = (net.x, net.y, d_sink, bbox)
    energies = (initial, capacity, energy)
    node_state = (alive, ch_epoch, rounds_since_ch, markov_state)
    scratch = (work.is_ch, work.ch_list, work.target, work.distance, work.drawn, work.received, work.members,
               work.decision, np.zeros(0, dtype=np.float64), work.fgrid, work.igrid, work.result, work.previous)
    # per-node death rounds (see _replay_rounds): chunks of PER_NODE_CHUNK rounds, a chunk in which a node
    # died replayed one round per call; one round per call when dead nodes can revive
    if per_node:
        chunk = 1 if can_revive else min(PER_NODE_CHUNK, max(1, CHUNK_NODE_ROUNDS // n))
    else:
        chunk = max(1, CHUNK_NODE_ROUNDS // n)
    deaths = _DeathRounds(alive) if per_node else None
    mutable = (energy, alive, ch_epoch, rounds_since_ch, markov_state, stored, work.previous)
    ints, floats = [], []
    done = 0
    total = scenario.max_rounds
    while done < total:
        todo = min(chunk, total - done)
        snapshot = None
        if deaths is not None and todo > 1:
            snapshot = ([a.copy() for a in mutable], rng.bit_generator.state)
        out_int = np.empty((todo, len(INT_COLUMNS)), dtype=np.int64)
        out_float = np.empty((todo, len(FLOAT_COLUMNS)), dtype=np.float64)
        ran, finished = run_rounds_jit(rng, done + 1, todo, policy.fused_code, p, epoch_len,
                                       draw_all, rule, params, harvest, geometry, energies, node_state, scratch,
                                       out_int, out_float)
        ints.append(out_int[:ran])
        floats.append(out_float[:ran])
        if snapshot is not None and not np.array_equal(alive.astype(bool), deaths.previous):
            def one_round(k, row_int, row_float):
                return run_rounds_jit(rng, done + 1 + k, 1, policy.fused_code, p, epoch_len, draw_all, rule,
                                      params, harvest, geometry, energies, node_state, scratch, row_int, row_float)

            _replay_rounds(one_round, mutable, snapshot, out_int[:ran], out_float[:ran], rng, deaths, done)
        done += ran
        if deaths is not None:
            deaths.update(alive, done)
        if report is not None:
            report(int(ran))
        if finished:
            break
    shared = bool((capacity == capacity[0]).all())
    return _ReplicaRun(nodes=n, energy_initial=float(net.energy.sum()),
                       out_int=np.concatenate(ints), out_float=np.concatenate(floats),
                       battery_j=float(capacity[0]) if shared else None,
                       positions_sha256=net.positions_sha256, p_resolved=p,
                       node_table=None if deaths is None else _node_table(net.x, net.y, initial, energy, deaths))


def _run_policy(scenario: Scenario, seed: int, report, clustering=None, offloading=None,
                per_node: bool = False) -> _ReplicaRun:
    loop = RoundLoop(scenario, seed, clustering=clustering, offloading=offloading)
    n = loop.n
    chunk = 1 if per_node else max(1, min(CHUNK_NODE_ROUNDS // n, 10_000))
    deaths = _DeathRounds(loop.alive) if per_node else None
    ints, floats = [], []
    done = 0
    total = scenario.max_rounds
    while done < total:
        todo = min(chunk, total - done)
        ran, finished = loop.run(todo)
        out_int, out_float = loop.records
        ints.append(out_int[:ran].copy())
        floats.append(out_float[:ran].copy())
        done += ran
        if deaths is not None:
            deaths.update(loop.alive, done)
        if report is not None:
            report(int(ran))
        if finished:
            break
    capacity = loop.capacity
    shared = bool((capacity == capacity[0]).all())
    return _ReplicaRun(nodes=n, energy_initial=float(loop.initial.sum()),
                       out_int=np.concatenate(ints), out_float=np.concatenate(floats),
                       battery_j=float(capacity[0]) if shared else None,
                       positions_sha256=loop.deployment.positions_sha256, p_resolved=loop.p_resolved,
                       node_table=None if deaths is None else _node_table(loop.x, loop.y, loop.initial, loop.energy,
                                                                     deaths),
                       clustering_record=loop.clustering.run_record())


def _run_config(scenario: Scenario, seed: int, replicas: int, seeds: list, nodes: int, clustering, fused: bool,
                runs: list) -> dict:
    """The ``config`` of :class:`SimulationResult` (its Attributes) for the replicas ``runs``."""
    config = scenario.to_config()
    config.update({
        "seed": seed,
        "replicas": replicas,
        "replica_seeds": seeds,
        "nodes": nodes,
        "version": __version__,
        "radio_constants": scenario.radio_model().as_dict(),
        "workload_constants": workload_preset(scenario.workload).as_dict(),
        "hardware_constants": hardware_preset(scenario.hardware).as_dict(),
        "clustering": canonical_name(scenario.protocol) if clustering is None else "custom",
        "clustering_parameters": (policy_class(scenario.protocol)(scenario).describe() if clustering is None
                                  else {"name": "custom"}),
        "loop": "fused" if fused else "policy",
        "battery_j": runs[0].battery_j,
        "battery_rule": "--battery" if scenario.battery is not None else "initial energy of each node",
        "rounds_cap": scenario.max_rounds,
        "p_resolved": [run.p_resolved for run in runs],
    })
    if any(run.clustering_record is not None for run in runs):  # e.g. lp-schedule's solve of each replica
        config["clustering_runs"] = [run.clustering_record for run in runs]
    if clustering is None:
        config.update(protocol_record(scenario.protocol))  # a plug-in's module:Class and module SHA-256
    config.update(harvest_record(scenario.harvest.kind))  # a plug-in harvest model's module:object and SHA-256
    if scenario.positions is not None:
        config["positions_sha256"] = runs[0].positions_sha256
    return config


def simulate(scenario: Scenario, seed: int | None = None, replicas: int = 1, *,
             workers: int | None = None, progress: Callable[[int], None] | None = None,
             clustering=None, offloading=None, loop: str = "auto", per_node: bool = False) -> SimulationResult:
    """Simulate ``replicas`` independent replicas of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        Validated parameters.
    seed : int, optional
        User seed (non-negative, < 2**63); a fresh one is drawn and recorded when None.
    replicas : int
        Number of replicas K in [1, :data:`wsnmec.sim.scenario.MAX_REPLICAS`]; replica i uses ``replica_seeds(seed, K)[i]``.
    workers : int, optional
        Threads running replicas in parallel (default: all cores).
    progress : callable, optional
        Called with the number of rounds completed since its last call (summed over replicas), from
        worker threads under a lock.
    clustering, offloading : callable, optional
        Factories ``f(scenario) -> policy`` of a clustering policy (:class:`wsnmec.clustering.base.ClusteringPolicy`)
        and an offloading policy (:class:`wsnmec.sim.rounds.OffloadPolicy`) used instead of the scenario's
        ``protocol`` and ``offload`` (one new object per replica); they run through the policy loop.
    loop : {"auto", "fused", "policy"}
        ``auto`` runs the built-in protocols (direct, leach, leach-dchs) in the fused compiled loop and any
        other policy, and any plug-in harvest model (:mod:`wsnmec.energy.harvesters.registry`), in the policy
        round loop; ``policy`` forces the policy loop (same tables, slower).
    per_node : bool
        Also return the per-node table :attr:`SimulationResult.nodes` (death rounds, energies). The same
        draws and tables; a little slower: the fused loop runs chunks of :data:`PER_NODE_CHUNK` rounds and
        replays a chunk in which a node died one round per call (checking that the replay repeats it);
        the policy loop, and any loop where nodes can revive, runs one round per call.

    Returns
    -------
    SimulationResult
    """
    if not isinstance(scenario, Scenario):
        raise ParameterError("scenario", f"must be a wsnmec.sim.scenario.Scenario, got {type(scenario).__name__}")
    seed = fresh_seed() if seed is None else check_seed(seed)
    replicas = check_int("--replicas", replicas, 1, MAX_REPLICAS)
    workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers, 1)
    seeds = replica_seeds(seed, replicas)

    report = None
    if progress is not None:
        lock = threading.Lock()

        def report(count: int) -> None:
            with lock:
                progress(count)

    check_choice("loop", loop, LOOPS)
    custom = clustering is not None or offloading is not None
    fused = _uses_fused_loop(scenario, loop, custom)

    def one(replica_seed):
        if fused:
            return _run_fused(scenario, replica_seed, report, per_node)
        return _run_policy(scenario, replica_seed, report,
                           clustering=None if clustering is None else clustering(scenario),
                           offloading=None if offloading is None else offloading(scenario), per_node=per_node)

    threads = min(workers, replicas)
    if threads <= 1:
        runs = [one(s) for s in seeds]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            runs = list(pool.map(one, seeds))

    nodes = runs[0].nodes
    tables = []
    for index, (replica_seed, run) in enumerate(zip(seeds, runs)):
        count = run.out_int.shape[0]
        ints = dict(zip(INT_COLUMNS, run.out_int.T))
        floats = dict(zip(FLOAT_COLUMNS, run.out_float.T))
        fnd, hnd, lnd = lifetime_rounds(ints["alive"], nodes)

        def mean(values):
            return float(values.mean()) if count else float("nan")

        row = {
            "replica": index, "seed": replica_seed, "fnd": fnd, "hnd": hnd, "lnd": lnd, "rounds": count,
            "energy_initial_j": run.energy_initial,
            "energy_harvested_j": float(floats["harvested_j"].sum()),
            "energy_consumed_j": float(floats["consumed_j"].sum()),
            "energy_residual_j": float(floats["residual_j"][-1]) if count else run.energy_initial,
            "energy_stored_j": float(floats["stored_j"][-1]) if count else run.energy_initial,
            "energy_j_mean": mean(floats["consumed_j"]),
            "latency_s_mean": mean(floats["latency_s"]),
            "system_utility_mean": mean(floats["system_utility"]),
            "delivered_bits_total": float(floats["delivered_bits"].sum()),
            "offload_fallback_rounds": int(ints["offload_fallback"].sum()),
        }
        tables.append(_ReplicaTables(index, replica_seed, nodes, ints, floats, row, run.node_table))

    config = _run_config(scenario, seed, replicas, seeds, nodes, clustering, fused, runs)
    return SimulationResult(config=config, replicas=tables, per_node=per_node)
