"""Training of ``ddnn-price``'s price weights (``wsnmec train --protocol ddnn-price``): the cross-entropy
method over whole simulated lifetimes (Rubinstein 1999; :mod:`wsnmec.clustering.priced`, Notes), on fixed
training scenarios, validated on other deployments of the same scenarios.
"""

from __future__ import annotations

import numpy as np

from ..clustering.priced import PricedPolicy
from ..errors import check_choice
from ..sim.rounds import RoundLoop
from ..sim.scenario import Scenario
from ..study.interrupts import stop_workers, worker_init

#: How a scenario's FND and HND ratios combine into its fitness (:func:`train_prices`).
FITNESS = ("mean", "min")


def run_lifetime(scenario, seed: int, clustering, rounds: int, latency: bool = False) -> tuple:
    """``(FND, HND)`` [rounds] of the policy object ``clustering`` on ``scenario`` with the run seed ``seed``
    (a run that does not reach a death counts ``rounds``; the run stops at HND); with ``latency``, ``(FND,
    HND, mean round latency up to FND [s])``, the mean of the simulator's ``latency_s`` over rounds 1..FND."""
    loop = RoundLoop(scenario, seed, clustering=clustering)
    n = scenario.nodes
    fnd = hnd = None
    latency_sum = 0.0
    for r in range(1, rounds + 1):
        alive = loop.step()
        if latency and fnd is None:
            latency_sum += loop.last_record["latency_s"]
        if fnd is None and alive < n:
            fnd = r
        if alive <= n // 2:
            hnd = r
            break
    if latency:
        return (fnd or rounds), (hnd or rounds), latency_sum / (fnd or r)
    return (fnd or rounds), (hnd or rounds)


def lifetime(values: dict, seed: int, weights, rounds: int, policy=PricedPolicy, latency: bool = False) -> tuple:
    """:func:`run_lifetime` of ``ddnn-price`` (or of ``policy``, a subclass of
    :class:`~wsnmec.clustering.priced.PricedPolicy`) with ``weights`` on the scenario ``values``."""
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    return run_lifetime(scenario, seed, policy(scenario, weights=weights), rounds, latency)


#: Training scenarios ``(values, run seed)`` of ``wsnmec train --protocol ddnn-price``: six geometries (sink at
#: the centre, outside, at a corner, at an edge; uniform, Gaussian, clustered and corridor deployments; 80 to
#: 200 nodes), initial energies small enough that a lifetime takes about 100-400 rounds. Never a scenario
#: of the held-out part of the scenario suite (``wsnmec.study.suite``).
TRAINING_SCENARIOS = (
    ({"nodes": 100, "field": (100, 100), "sink": (50, 50), "e0": 0.1}, 101),
    ({"nodes": 100, "field": (100, 100), "sink": (50, 175), "e0": 0.1}, 102),
    ({"nodes": 100, "field": (100, 100), "sink": (0, 0), "e0": 0.1, "deployment": "gaussian:25"}, 103),
    ({"nodes": 100, "field": (100, 100), "sink": (50, 100), "e0": 0.1, "deployment": "clusters:4,10"}, 104),
    ({"nodes": 200, "field": (150, 150), "sink": (75, 250), "e0": 0.3}, 105),
    ({"nodes": 80, "field": (200, 100), "sink": (100, 50), "e0": 0.1, "deployment": "corridor:20"}, 106),
)


def validation_deployments(scenarios) -> list:
    """The validation runs of ``scenarios``: the same scenarios with other run seeds (other deployments), so
    validation never reuses a training deployment and never touches a held-out scenario."""
    return [(dict(values), int(seed) + 10_000) for values, seed in scenarios]


def validation_bounds(validation, *, gap: float = 0.01, time_limit: float | None = 120.0) -> list[int]:
    """The bound on FND [round] (``fnd_upper`` of :mod:`wsnmec.bound`) of each ``(values, run seed)`` deployment,
    the one :func:`lifetime` runs (``wsnmec bound --seed SEED`` of the scenario), through the bound cache; a
    solve cut short by ``time_limit`` [s] still gives a valid, looser bound."""
    from ..bound.cache import solve_cached
    from ..study.limit import deployment_network

    out = []
    for values, seed in validation:
        scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
        result, _ = solve_cached(deployment_network(scenario, int(seed)), gap=gap, time_limit=time_limit)
        out.append(int(result.fnd_upper))
    return out


def _fraction_of_bound(runs, bounds) -> float:
    """Mean of the fraction of the limit (:func:`wsnmec.study.limit.fraction_of_limit`, FND over the bound on
    FND) over paired ``(FND, HND)`` runs and bounds."""
    from ..study.limit import fraction_of_limit

    return float(np.mean([fraction_of_limit(f, b) for (f, _h), b in zip(runs, bounds)]))


def relative_lifetime(scenarios, weights, reference, rounds: int, pool=None, fitness: str = "mean",
                      policy=PricedPolicy) -> float:
    """Mean over ``scenarios`` of (FND / FND_0 + HND / HND_0) / 2 (``fitness="mean"``) or of
    min(FND / FND_0, HND / HND_0) (``"min"``: a gain counts only when both lifetimes gain), with ``reference``
    the zero-weight ``(FND_0, HND_0)`` of each (module Notes); ``pool``, an executor, runs the lifetimes in
    parallel (the same numbers: every lifetime is deterministic)."""
    return _relative(_lifetimes(scenarios, [weights] * len(scenarios), rounds, pool, policy), reference, fitness)


def _relative(runs, reference, fitness: str = "mean") -> float:
    """Mean of the scenarios' fitness (:func:`relative_lifetime`) over paired ``(FND, HND)`` runs and their
    references."""
    if fitness == "min":
        return sum(min(f / f0, h / h0) for (f, h), (f0, h0) in zip(runs, reference)) / len(runs)
    return sum(0.5 * (f / f0 + h / h0) for (f, h), (f0, h0) in zip(runs, reference)) / len(runs)


def _lifetime_task(task):
    values, seed, weights, rounds, policy, latency = task
    return lifetime(values, seed, weights, rounds, policy, latency)


def _lifetimes(scenarios, weights_per_scenario, rounds: int, pool=None, policy=PricedPolicy,
               latency: bool = False) -> list:
    tasks = [(values, seed, np.asarray(w, dtype=np.float64), rounds, policy, latency)
             for (values, seed), w in zip(scenarios, weights_per_scenario)]
    return list(pool.map(_lifetime_task, tasks)) if pool is not None else [_lifetime_task(t) for t in tasks]


def _latency_ratio(runs, reference) -> float:
    """Mean over the deployments of the round latency up to FND relative to ``reference``'s (the third item of
    :func:`lifetime` with ``latency``)."""
    return float(np.mean([run[2] / ref[2] for run, ref in zip(runs, reference)]))


def train_prices(scenarios, *, seed: int, generations: int = 8, population: int = 12, elite: int = 4,
                 initial_std: float = 1.0, rounds: int = 5000, validation=None, progress=None,
                 on_generation=None, jobs: int = 1, fitness: str = "mean", policy=PricedPolicy,
                 bounds=None) -> dict:
    """Cross-entropy search of the price weights over ``scenarios`` (a list of ``(values, run seed)``;
    module Notes). Returns the chosen weights, their training fitness, the history and the reference
    lifetimes.

    Sample s of generation t is ``mean + std * z`` with z from ``default_rng([seed, t])``; the first sample
    of every generation is the mean itself (so every mean is scored: the training curve). Fitness
    (:func:`relative_lifetime`): the mean over the scenarios of (FND / FND_0 + HND / HND_0) / 2, the
    subscript 0 for zero weights (the non-learned prices 1 / e_i), so zero weights score 1. With
    ``validation`` (:func:`validation_deployments`), each generation's mean is also scored there (the
    validation curve). The weights returned are the best scored sample (the zero weights included), so
    training never returns weights worse on its own scenarios than the non-learned prices. ``jobs`` > 1 runs
    a generation's lifetimes in that many processes (the same result). ``fitness="min"`` scores each scenario
    by the smaller of its two ratios instead of their mean (:func:`relative_lifetime`). ``policy`` (a
    subclass of :class:`~wsnmec.clustering.priced.PricedPolicy`, importable by the worker processes) trains
    another price network: its ``features`` give the number of weights. ``bounds`` (:func:`validation_bounds`
    of ``validation``) adds each generation's ``validation_fnd_over_bound``, the mean over the validation
    deployments of the mean weights' FND over the deployment's bound on FND (the fraction of the limit), and
    the result's for the returned weights and for the prices 1 / e_i (``..._reference``). With
    ``validation``, ``validation_latency_ratio`` (each generation's, and the result's for the returned weights)
    is the mean over the validation deployments of the mean round latency up to FND relative to the prices
    1 / e_i's: what the lifetimes cost in latency, which the fitness does not count.
    """
    check_choice("fitness", fitness, FITNESS)
    options = (fitness, policy, bounds)
    if jobs > 1:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        # the study runner's workers: they ignore Ctrl-C (the parent stops them) and exit when the parent dies
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=worker_init,
                                   initargs=(os.getpid(),))
        try:
            result = _train_prices(scenarios, seed, generations, population, elite, initial_std, rounds,
                                   validation, progress, on_generation, pool, *options)
        except BaseException:
            stop_workers(pool)
            raise
        pool.shutdown(wait=True)
        return result
    return _train_prices(scenarios, seed, generations, population, elite, initial_std, rounds, validation,
                         progress, on_generation, None, *options)


def _train_prices(scenarios, seed, generations, population, elite, initial_std, rounds, validation, progress,
                  on_generation, pool, fitness, policy, bounds) -> dict:
    dim = len(policy.features) + 1
    zero = np.zeros(dim)
    reference = _lifetimes(scenarios, [zero] * len(scenarios), rounds, pool, policy)
    checked_latency = (_lifetimes(validation, [zero] * len(validation), rounds, pool, policy, latency=True)
                       if validation else None)
    checked = [run[:2] for run in checked_latency] if validation else None

    def fitnesses(samples):
        """Fitness of every sample, all their lifetimes submitted at once."""
        m = len(scenarios)
        runs = _lifetimes(scenarios * len(samples), [w for w in samples for _ in range(m)], rounds, pool, policy)
        out = []
        for k in range(len(samples)):
            out.append(_relative(runs[k * m:(k + 1) * m], reference, fitness))
            if progress is not None:
                progress(1)
        return np.array(out)

    mean = np.zeros(dim)
    std = np.full(dim, float(initial_std))
    history = []
    best_weights, best_fit = zero.copy(), 1.0
    for t in range(generations):
        z = np.random.default_rng([seed, t]).standard_normal((population, dim))
        z[0] = 0.0
        samples = mean + std * z
        fits = fitnesses(samples)
        order = np.argsort(-fits, kind="stable")
        if fits[order[0]] > best_fit:
            best_fit, best_weights = float(fits[order[0]]), samples[order[0]].copy()
        record = {"generation": t + 1, "mean_fitness": float(fits[0]), "best_fitness": float(fits[order[0]]),
                  "median_fitness": float(np.median(fits))}
        if validation:
            with_latency = _lifetimes(validation, [mean] * len(validation), rounds, pool, policy, latency=True)
            runs = [run[:2] for run in with_latency]
            record["validation_fitness"] = _relative(runs, checked, fitness)
            if bounds:
                record["validation_fnd_over_bound"] = _fraction_of_bound(runs, bounds)
            record["validation_latency_ratio"] = _latency_ratio(with_latency, checked_latency)
        history.append(record)
        if on_generation is not None:
            on_generation(record)
        top = samples[order[:elite]]
        mean = top.mean(axis=0)
        std = np.maximum(top.std(axis=0), 0.05)
    out = {"weights": [float(v) for v in best_weights], "fitness": best_fit, "history": history,
           "reference": [[int(f), int(h)] for f, h in reference]}
    if validation:
        with_latency = _lifetimes(validation, [best_weights] * len(validation), rounds, pool, policy, latency=True)
        runs = [run[:2] for run in with_latency]
        out["validation_fitness"] = _relative(runs, checked, fitness)
        out["validation_latency_ratio"] = _latency_ratio(with_latency, checked_latency)
        out["validation_reference"] = [[int(f), int(h)] for f, h in checked]
        if bounds:
            out["validation_bounds"] = [int(b) for b in bounds]
            out["validation_fnd_over_bound"] = _fraction_of_bound(runs, bounds)
            out["validation_fnd_over_bound_reference"] = _fraction_of_bound(checked, bounds)
    return out
