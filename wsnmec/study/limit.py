"""Fraction of the limit: each task's FND divided by the lifetime bound of the deployment it ran on.

A lifetime study with a ``[bound]`` table (``gap``, ``time_limit``) gets five more summary columns per task:

``bound_upper``
    The bound's ``upper`` [rounds]: no schedule keeps every node alive for more rounds (:mod:`wsnmec.bound`).
``bound_fnd``
    The bound's ``fnd_upper = floor(upper) + 1`` [round]: an upper bound on the first-node-death round of
    every policy on that deployment and cost model.
``bound_stopped``
    Why the solve stopped (``gap``, ``optimal``, ``time``, ...): ``time`` marks a bound that a time limit cut
    short, still valid but looser.
``bound_time_limited``
    Whether the time limit, or a step's share of it, cut any step of the solve short
    (:attr:`wsnmec.bound.colgen.BoundResult.time_limited`): the bound then depends on the machine's speed and
    load, also when it stopped at the gap. Missing in a study stored before it was recorded.
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
a rerun or another study on the same deployment solves nothing again. The deployments not in the cache are
solved after the study's tasks, one per local worker process (``--jobs``; each solve keeps its own time
limit, so a solve cut by it depends on the machine's load). The columns are stored in the study's
``summary.parquet`` with the ``[bound]`` settings in its ``study.json``; reading a finished study with the same
settings (``wsnmec study show``, ``figures``) takes them from there and solves nothing, even without the cache.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Summary columns this module adds (a stored summary holding these needs no solve), and one more it adds
#: that a study stored before it was recorded lacks.
BOUND_COLUMNS = ("bound_upper", "bound_fnd", "bound_stopped", "fnd_over_bound")
RECORD_COLUMNS = ("bound_time_limited",)

from .spec import DEFAULT_GAP, DEFAULT_TIME_LIMIT  # noqa: E402  (defaults of a study's [bound] table)


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


def _solve_deployment(net, gap: float, time_limit, directory):
    """One deployment's bound through the cache in ``directory`` (a worker of :func:`add_bound_columns`; the
    parent names the directory, since a worker's environment is the one its process server started with)."""
    from ..bound.cache import solve_cached

    return solve_cached(net, gap=gap, time_limit=time_limit, directory=directory)[0]


def add_bound_columns(summary: pd.DataFrame, tasks, bound: dict, report=None, jobs: int | None = None) -> pd.DataFrame:
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
    jobs : int, optional
        Local worker processes for the solves (one solve per process, one BLAS/numba thread each); None or 1
        solves in this process, one deployment after another. Each solve has its own time limit, so give
        at most one per free core: a solve cut by its limit on a loaded machine is looser.
    """
    from ..bound.cache import cache_dir, cache_key, cached_bound

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
    directory = cache_dir()
    solved = {k: cached_bound(net, gap=gap, time_limit=time_limit, directory=directory)
              for k, net in networks.items()}
    unsolved = [k for k, result in solved.items() if result is None]
    workers = min(int(jobs or 1), len(unsolved))
    if workers > 1:
        from .runner import ExecutorHandle

        with ExecutorHandle(jobs=workers) as pool:
            futures = {k: pool.submit(_solve_deployment, networks[k], gap, time_limit, directory) for k in unsolved}
            solved.update({k: future.result() for k, future in futures.items()})
    else:
        solved.update({k: _solve_deployment(networks[k], gap, time_limit, directory) for k in unsolved})
    out = summary.drop(columns=[c for c in (*BOUND_COLUMNS, *RECORD_COLUMNS) if c in summary.columns])
    results = [solved[key_of_task[key]] for key in out["task"]]
    upper = [r.upper for r in results]
    fnd_upper = [math.nan if r.fnd_upper is None else float(r.fnd_upper) for r in results]
    fnd = pd.to_numeric(out["fnd"], errors="coerce").astype(float).to_numpy() if "fnd" in out else [math.nan] * len(out)
    return out.assign(
        bound_upper=np.asarray(upper, dtype=float),
        bound_fnd=np.asarray(fnd_upper, dtype=float),
        bound_stopped=[r.stopped for r in results],
        bound_time_limited=[bool(r.time_limited) for r in results],
        fnd_over_bound=np.asarray([fraction_of_limit(f, b) for f, b in zip(fnd, fnd_upper)], dtype=float),
    )


def fraction_table(figure, run) -> pd.DataFrame:
    """Per ``panel`` level (e.g. the scenario case) and ``x`` level (e.g. the policy): seeds, mean
    ``fnd_over_bound`` with its 95 % percentile-bootstrap interval over seeds, mean FND, mean ``bound_fnd``,
    and how many of the bounds a time limit cut short."""
    from .figures import _levels, _text, bootstrap_ci

    data = run.summary
    panels = _levels(run.spec, data, figure.panel) if figure.panel else [None]
    xs = _levels(run.spec, data, figure.x)
    rows = []
    for panel in panels:
        chosen = data if panel is None else data[data[figure.panel].map(_text) == _text(panel)]
        for x in xs:
            group = chosen[chosen[figure.x].map(_text) == _text(x)]
            values = pd.to_numeric(group["fnd_over_bound"], errors="coerce").to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            low, high = bootstrap_ci(values) if values.size else (math.nan, math.nan)
            rows.append({"panel": None if panel is None else _text(panel), "x": _text(x), "seeds": int(values.size),
                         "mean": float(values.mean()) if values.size else math.nan, "low": low, "high": high,
                         "fnd": float(pd.to_numeric(group["fnd"], errors="coerce").mean()),
                         "bound_fnd": float(group["bound_fnd"].mean()),
                         "time_limited": int((group["bound_stopped"] == "time").sum())})
    return pd.DataFrame(rows)


def fraction_reading(figure, run) -> str:
    """Reading of a ``fnd_over_bound`` metric figure: :func:`fraction_table` as Markdown."""
    table = fraction_table(figure, run)

    def pct(value):
        return "n/a" if not math.isfinite(value) else f"{100 * value:.1f} %"

    head = (["case"] if figure.panel else []) + [figure.x, "FND / bound [95 % CI]", "mean FND", "mean bound on FND",
                                                 "seeds", "time-limited bounds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table.to_dict("records"):
        cells = ([str(row["panel"])] if figure.panel else []) + [
            row["x"], f"{pct(row['mean'])} [{pct(row['low'])}, {pct(row['high'])}]",
            "n/a" if not math.isfinite(row["fnd"]) else f"{row['fnd']:,.0f}",
            "n/a" if not math.isfinite(row["bound_fnd"]) else f"{row['bound_fnd']:,.0f}",
            str(row["seeds"]), str(row["time_limited"])]
        lines.append("| " + " | ".join(cells) + " |")
    return ("Fraction of the limit: each policy's FND divided by the upper bound on FND of the same deployment "
            "(`wsnmec bound`, fnd_upper = floor(upper) + 1, so at most 100 %), mean over seeds with a 95 % "
            "percentile-bootstrap interval. A time-limited bound is still valid but looser, so its fractions "
            "under-state how close a policy comes to the true limit:\n\n" + "\n".join(lines) + "\n")
