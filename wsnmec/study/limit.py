"""Fraction of the limit: each task's FND divided by the lifetime bound of the deployment it ran on.

A lifetime study with a ``[bound]`` table (``gap``, ``time_limit``) gets four more summary columns per task:

``bound_upper``
    The bound's ``upper`` [rounds]: no schedule keeps every node alive for more rounds (:mod:`wsnmec.bound`).
``bound_fnd``
    The bound's ``fnd_upper = floor(upper) + 1`` [round]: an upper bound on the first-node-death round of
    every policy on that deployment and cost model.
``bound_stopped``
    Why the solve stopped (``gap``, ``optimal``, ``time``, ...): ``time`` marks a bound that a time limit cut
    short, still valid but looser.
``fnd_over_bound``
    ``fnd / bound_fnd``, the fraction of the limit; at most 1 by the bound's theorem (FND <= fnd_upper).
    Missing (NaN) when the run stopped before its first node died or when harvesting makes the bound
    infinite.

The denominator is ``fnd_upper``, not ``upper``, because that is the quantity FND is compared with: the
fraction is then at most 1 exactly, and a policy reaching the limit scores 1.

Which deployment: a study task with seed ``s`` runs ``simulate(scenario, seed=s, replicas=1)``, whose only
replica draws its deployment with ``deploy(scenario, numpy.random.default_rng(s))``
(:mod:`wsnmec.sim.simulation`); the bound is solved for exactly that deployment, as ``wsnmec bound --seed s``
does. The bound does not depend on the policy (its control charge is the least any control pattern pays,
:mod:`wsnmec.bound.costs`), so every policy at a scenario point and seed shares one solve. Solves go through
the bound cache (:func:`wsnmec.bound.cache.solve_cached`, content-addressed by deployment and cost model), so
a rerun or another study on the same deployment solves nothing again.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Summary columns this module adds.
BOUND_COLUMNS = ("bound_upper", "bound_fnd", "bound_stopped", "fnd_over_bound")

#: Defaults of a study's ``[bound]`` table.
DEFAULT_GAP = 0.01
DEFAULT_TIME_LIMIT = 60.0


def deployment_network(scenario, seed: int):
    """The bound's :class:`~wsnmec.bound.costs.Network` of the deployment a task with ``seed`` simulates."""
    from ..bound.costs import Network
    from ..sim.deployment import deploy

    return Network.from_scenario(scenario, deploy(scenario, np.random.default_rng(seed)))


def fraction_of_limit(fnd, fnd_upper) -> float:
    """``fnd / fnd_upper`` (NaN when either is missing or the bound is infinite)."""
    if fnd is None or fnd_upper is None:
        return math.nan
    fnd, fnd_upper = float(fnd), float(fnd_upper)
    if not (math.isfinite(fnd) and math.isfinite(fnd_upper)) or fnd_upper <= 0:
        return math.nan
    return fnd / fnd_upper


def add_bound_columns(summary: pd.DataFrame, tasks, bound: dict, report=None) -> pd.DataFrame:
    """``summary`` (one row per task, with ``task`` keys) with :data:`BOUND_COLUMNS` (module docstring).

    Parameters
    ----------
    summary : DataFrame
        The study's summary table.
    tasks : list of Task
        The study's tasks (their scenario and seed give each row's deployment).
    bound : dict
        ``gap`` (relative gap target) and ``time_limit`` [s] per deployment solve.
    report : callable, optional
        Receives one line before solving (how many deployments).
    """
    from ..bound.cache import cache_key, solve_cached

    if summary.empty:
        return summary
    gap = float(bound.get("gap", DEFAULT_GAP))
    time_limit = bound.get("time_limit", DEFAULT_TIME_LIMIT)
    time_limit = None if time_limit is None else float(time_limit)
    by_task = {task.key: task for task in tasks}
    networks: dict[str, object] = {}  # network cache key -> network
    key_of_task: dict[str, str] = {}
    for key in dict.fromkeys(summary["task"]):
        task = by_task[key]
        net = deployment_network(task.scenario, task.seed)
        net_key = cache_key(net, gap)
        networks.setdefault(net_key, net)
        key_of_task[key] = net_key
    if report is not None:
        report(f"lifetime bound of {len(networks)} deployment(s) (gap {gap:g}, time limit "
               f"{'none' if time_limit is None else f'{time_limit:g} s'} each; cached solves are reused)")
    solved = {k: solve_cached(net, gap=gap, time_limit=time_limit)[0] for k, net in networks.items()}
    out = summary.drop(columns=[c for c in BOUND_COLUMNS if c in summary.columns])
    results = [solved[key_of_task[key]] for key in out["task"]]
    upper = [r.upper for r in results]
    fnd_upper = [math.nan if r.fnd_upper is None else float(r.fnd_upper) for r in results]
    fnd = pd.to_numeric(out["fnd"], errors="coerce").astype(float).to_numpy() if "fnd" in out else [math.nan] * len(out)
    return out.assign(
        bound_upper=np.asarray(upper, dtype=float),
        bound_fnd=np.asarray(fnd_upper, dtype=float),
        bound_stopped=[r.stopped for r in results],
        fnd_over_bound=np.asarray([fraction_of_limit(f, b) for f, b in zip(fnd, fnd_upper)], dtype=float),
    )
