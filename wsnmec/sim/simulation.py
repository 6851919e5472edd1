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
import pandas as pd

from .. import __version__
from ..clustering import PROTOCOL_CODES, epoch_length
from .deployment import deploy
from ..energy.harvest import can_ever_harvest, harvest_code
from ..errors import ParameterError, check_int
from .kernel import (
    FLOAT_COLUMNS,
    INT_COLUMNS,
    SEMANTICS_CODES,
    Workspace,
    bounding_box,
    radio_array,
    run_rounds_jit,
    sink_distances,
)
from .metrics import lifetime_rounds
from .scenario import MAX_REPLICAS, Scenario
from .seeding import check_seed, fresh_seed, replica_seeds

#: Node-rounds simulated per call of the compiled loop (between progress reports).
CHUNK_NODE_ROUNDS = 2_000_000

ROUND_COLUMNS = ("replica", "seed", "round", "alive", "dead", "cluster_heads", "residual_j", "consumed_j",
                 "harvested_j", "packets_to_sink", "packets_to_ch", "nodes_ge_90pct")
SUMMARY_COLUMNS = ("replica", "seed", "fnd", "hnd", "lnd", "rounds", "energy_initial_j", "energy_harvested_j",
                   "energy_consumed_j", "energy_residual_j")


@dataclass
class SimulationResult:
    """Tables of a simulation.

    Attributes
    ----------
    config : dict
        ``scenario.to_config()`` plus ``seed`` (the user seed, drawn fresh and recorded when None),
        ``replicas``, ``replica_seeds``, ``nodes`` (effective N), ``version``, ``radio_constants``, and the
        effective values: ``battery_j`` (the battery capacity [J] when every node has the same one, else
        None), ``battery_rule`` (``"--battery"`` when a capacity was given, else ``"initial energy of each
        node"``), ``rounds_cap`` (rounds simulated at most) and, with a positions CSV,
        ``positions_sha256`` (SHA-256 of the file as read).
    rounds : pandas.DataFrame
        One row per replica and round 1..R (:data:`ROUND_COLUMNS`); ``consumed_j`` and ``harvested_j`` are
        the energy of that round [J], ``residual_j`` the total stored energy at its end [J],
        ``nodes_ge_90pct`` the alive nodes holding >= 90 % of their battery capacity.
    summary : pandas.DataFrame
        One row per replica (:data:`SUMMARY_COLUMNS`); ``fnd``/``hnd``/``lnd`` nullable Int64 (null when
        not reached), energies [J].
    """

    config: dict
    rounds: pd.DataFrame
    summary: pd.DataFrame


@dataclass
class _ReplicaRun:
    nodes: int
    energy_initial: float
    out_int: np.ndarray
    out_float: np.ndarray
    battery_j: float | None
    positions_sha256: str | None


def _run_replica(scenario: Scenario, seed: int, report: Callable[[int], None] | None) -> _ReplicaRun:
    rng = np.random.default_rng(seed)
    net = deploy(scenario, rng)
    n = net.nodes
    radio = scenario.radio_model()
    kind, params = harvest_code(scenario.harvest)
    revive = scenario.revive_threshold if scenario.revive_threshold is not None else 0.0
    can_revive = scenario.revive_threshold is not None and can_ever_harvest(scenario.harvest)
    energy = net.energy.copy()
    capacity = net.capacity
    alive = np.ones(n, dtype=np.uint8)
    ch_epoch = np.full(n, -1, dtype=np.int64)
    rounds_since_ch = np.zeros(n, dtype=np.int64)
    markov_state = np.zeros(n, dtype=np.int8)
    work = Workspace(n)
    d_sink = sink_distances(net.x, net.y, net.sink[0], net.sink[1])
    bbox = bounding_box(net.x, net.y)
    radio_constants = radio_array(radio)
    protocol = PROTOCOL_CODES[scenario.protocol]
    semantics = SEMANTICS_CODES[scenario.semantics]
    epoch_len = epoch_length(scenario.p)
    chunk = max(1, CHUNK_NODE_ROUNDS // n)
    ints, floats = [], []
    done = 0
    total = scenario.max_rounds
    while done < total:
        todo = min(chunk, total - done)
        out_int = np.empty((todo, len(INT_COLUMNS)), dtype=np.int64)
        out_float = np.empty((todo, len(FLOAT_COLUMNS)), dtype=np.float64)
        ran, finished = run_rounds_jit(
            rng, done + 1, todo, protocol, semantics, float(scenario.p), epoch_len, float(scenario.packet_bits),
            radio_constants, kind, params, float(revive), bool(can_revive),
            net.x, net.y, d_sink, bbox, capacity, energy, alive, ch_epoch, rounds_since_ch, markov_state,
            work.is_ch, work.ch_list, work.target, work.distance, work.drawn, work.received,
            work.fgrid, work.igrid, out_int, out_float)
        ints.append(out_int[:ran])
        floats.append(out_float[:ran])
        done += ran
        if report is not None:
            report(int(ran))
        if finished:
            break
    shared = bool((capacity == capacity[0]).all())
    return _ReplicaRun(nodes=n, energy_initial=float(net.energy.sum()),
                       out_int=np.concatenate(ints), out_float=np.concatenate(floats),
                       battery_j=float(capacity[0]) if shared else None,
                       positions_sha256=net.positions_sha256)


def simulate(scenario: Scenario, seed: int | None = None, replicas: int = 1, *,
             workers: int | None = None, progress: Callable[[int], None] | None = None) -> SimulationResult:
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

    threads = min(workers, replicas)
    if threads <= 1:
        runs = [_run_replica(scenario, s, report) for s in seeds]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            runs = list(pool.map(lambda s: _run_replica(scenario, s, report), seeds))

    nodes = runs[0].nodes
    frames, rows = [], []
    for index, (replica_seed, run) in enumerate(zip(seeds, runs)):
        count = run.out_int.shape[0]
        frame = {
            "replica": np.full(count, index, dtype=np.int64),
            "seed": np.full(count, replica_seed, dtype=np.int64),
            "round": np.arange(1, count + 1, dtype=np.int64),
            "alive": run.out_int[:, 0],
            "dead": nodes - run.out_int[:, 0],
            "cluster_heads": run.out_int[:, 1],
            "residual_j": run.out_float[:, 0],
            "consumed_j": run.out_float[:, 1],
            "harvested_j": run.out_float[:, 2],
            "packets_to_sink": run.out_int[:, 2],
            "packets_to_ch": run.out_int[:, 3],
            "nodes_ge_90pct": run.out_int[:, 4],
        }
        frames.append(pd.DataFrame(frame, columns=list(ROUND_COLUMNS)))
        fnd, hnd, lnd = lifetime_rounds(run.out_int[:, 0], nodes)
        rows.append({
            "replica": index, "seed": replica_seed, "fnd": fnd, "hnd": hnd, "lnd": lnd, "rounds": count,
            "energy_initial_j": run.energy_initial,
            "energy_harvested_j": float(run.out_float[:, 2].sum()),
            "energy_consumed_j": float(run.out_float[:, 1].sum()),
            "energy_residual_j": float(run.out_float[-1, 0]) if count else run.energy_initial,
        })
    rounds = pd.concat(frames, ignore_index=True)
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in ("fnd", "hnd", "lnd"):
        summary[column] = summary[column].astype("Int64")
    summary["replica"] = summary["replica"].astype(np.int64)
    summary["seed"] = summary["seed"].astype(np.int64)
    summary["rounds"] = summary["rounds"].astype(np.int64)

    config = scenario.to_config()
    config.update({
        "seed": seed,
        "replicas": replicas,
        "replica_seeds": seeds,
        "nodes": nodes,
        "version": __version__,
        "radio_constants": scenario.radio_model().as_dict(),
        "battery_j": runs[0].battery_j,
        "battery_rule": "--battery" if scenario.battery is not None else "initial energy of each node",
        "rounds_cap": scenario.max_rounds,
    })
    if scenario.positions is not None:
        config["positions_sha256"] = runs[0].positions_sha256
    return SimulationResult(config=config, rounds=rounds, summary=summary)
