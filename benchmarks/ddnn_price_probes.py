"""Probes of what else could let ``ddnn-price`` gain both FND and HND, on training data only.

Issue 18's ablation found that the learned prices trade HND for FND (docs/ddnn_price/README.md). This script
measures seven changes that could gain both, each against its own baseline on the 12 *validation deployments* of
the price training scenarios (``wsnmec.training.prices.TRAINING_SCENARIOS`` with run seeds + 10,000, the
validation of ``wsnmec train``, and + 20,000). No held-out scenario of ``studies/suite.toml`` is touched.

Probes (baseline in brackets):

- ``min-fitness``: the cross-entropy search of the price weights with the fitness min(FND / FND_0, HND / HND_0)
  per scenario instead of their mean (``train_prices(fitness="min")``), 8 generations x 12 samples, initial
  spread 1.0 and 0.3 [the prices 1 / e_i].
- ``gated``: the same search over a price network with three more inputs, a flag that is 1 once a node has died
  and its products with the consumed fraction and the below-mean input, so the prices can change once the
  first node is dead; fitness ``min`` and ``mean`` [the prices 1 / e_i].
- ``value``: issue 18's value of the next state, argmin_c [J_c - V(s'_c)] with V linear in the smallest, a soft
  minimum, the spread and the mean of the remaining energy fractions that candidate c leaves (and a scale of the
  prices), searched in the same way with fitness ``min`` (spreads 0.3 and 0.05) and ``mean`` (0.05) [1 / e_i,
  V = 0].
- ``proposals``: one batch of 8 or 16 of anneal's moves per round on top of ddnn-price, the heads a swap or a
  move takes out and the nodes a swap brings in drawn with learned weights (interacting set construction
  learned over lifetimes), searched with fitness ``min`` [the same moves with uniform picks].
- ``keep-bias``: the kept clusters' J multiplied by 1 + beta before the argmin (beta < 0 keeps clusters longer,
  > 0 re-clusters sooner) [beta = 0], rule and learned prices.
- ``search``: 1, 2 or 4 batches of 16 of anneal's moves from the pool's best each round (the pool holds the
  previous set, so the search continues across rounds) [no search], with the decision time per round; and the
  learned prices against 1 / e_i when both run the same search of 4 or 32 batches (32: anneal's budget).
- ``mixed``: the pool gains spread sets over the farthest 50 % and 75 % of the alive nodes from the sink (the
  others send straight to the sink: the mixed configurations of the lifetime bound's schedules) [the pool].

Rule (fixed before this script's run; the probes had been tried once in a scratch version): a probe is worth a
held-out run only when its mean FND ratio and its mean HND ratio over the 12 deployments are both above 1 and
the mean of the per-deployment min(FND ratio, HND ratio) is above 1.

Run ``python3 benchmarks/ddnn_price_probes.py [--jobs 2] [--out FILE.md]`` (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to

from wsnmec.clustering.dryrun import REFINE_MAX_ALIVE, candidate_objective, distinct_rows, refine  # noqa: E402
from wsnmec.clustering.priced import PricedPolicy, PricedRulePolicy, PricedScorer  # noqa: E402
from wsnmec.clustering.spread import spread_heads  # noqa: E402
from wsnmec.sim.metrics import mean_ci  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402
from wsnmec.training.prices import (  # noqa: E402
    TRAINING_SCENARIOS, run_lifetime, train_prices, validation_deployments)

ROUNDS = 5000


class GatedPolicy(PricedPolicy):
    """ddnn-price with three more price inputs: a flag (1 once a node has died) and its products with the
    consumed fraction and the below-mean input."""

    features = (*PricedPolicy.features, "after_first_death", "after_first_death_times_consumed",
                "after_first_death_times_below_mean")

    def price_inputs(self, state):
        rows, alive = super().price_inputs(state)
        flag = np.full(rows.shape[0], float(alive.shape[0] < state.n))
        return np.column_stack([rows, flag, flag * rows[:, 0], flag * rows[:, 1]]), alive


#: Temperature of the soft minimum among the value inputs [1/1].
SOFTMIN_SHARPNESS = 50.0


def value_inputs(fraction: np.ndarray) -> np.ndarray:
    """[K, 4] inputs of the value of a state from the alive nodes' remaining energy fractions e_i / e0_i [K, n]:
    the smallest, a soft minimum (sharpness :data:`SOFTMIN_SHARPNESS`), minus the spread and the mean."""
    low = fraction.min(axis=1)
    soft = low - np.log(np.mean(np.exp(-SOFTMIN_SHARPNESS * (fraction - low[:, None])), axis=1)) / SOFTMIN_SHARPNESS
    return np.column_stack([low, soft, -fraction.std(axis=1), fraction.mean(axis=1)])


class ValueScorer(PricedScorer):
    """The priced objective minus a learned value of the next state: J - n (phi(s'_c) - phi(s)) . w, phi the
    :func:`value_inputs` of the energies the dry run leaves (n alive nodes)."""

    value_weights = np.zeros(4)

    def __call__(self, state, masks):
        from wsnmec.energy.layout import P_TIME_WEIGHT

        drawn, latency, utility = self.draws(state, masks)
        j = candidate_objective(drawn, latency, state.energy, state.alive, float(state.params[P_TIME_WEIGHT]),
                                prices=self.prices)
        if np.any(self.value_weights):
            alive = np.flatnonzero(state.alive_u8)
            e0 = state.initial_energy[alive]
            now = value_inputs((state.energy[alive] / e0)[None, :])
            after = value_inputs((state.energy[alive][None, :] - drawn[:, alive]) / e0[None, :])
            j = j - alive.shape[0] * ((after - now) @ self.value_weights)
        return j, latency, utility


class ValuePolicy(PricedPolicy):
    """issue 18's "value of the next state": argmin_c [J_c - V(s'_c)] over ddnn-price's pool, J with the prices
    exp(b) / e_i; the weights are V's four weights on :func:`value_inputs` and b (zero: ddnn-price-rule)."""

    features = ("min_fraction", "softmin_fraction", "minus_spread_fraction", "mean_fraction")

    def reset(self, state, rng):
        super().reset(state, rng)
        self.scorer = ValueScorer(state)
        self.scorer.value_weights = np.asarray(self.weights[:-1], dtype=np.float64)

    def prices(self, state):
        out = np.zeros(state.n)
        out[state.alive] = float(np.exp(np.clip(self.weights[-1], -20.0, 20.0))) / np.maximum(
            state.energy[state.alive], 1e-300)
        return out


def _weighted_pick(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Indices into ``weights`` drawn by the inverse CDF at the uniforms ``u`` (equal weights: floor(u n))."""
    cumulative = np.cumsum(weights)
    return np.minimum(np.searchsorted(cumulative / cumulative[-1], u, side="right"), weights.shape[0] - 1)


def proposal_inputs(state, alive, heads_mask, d0: float) -> np.ndarray:
    """[n_alive, 4] inputs of the learned move picks: energy over the alive mean, distance to the sink over d0
    (at most 5), distance to the nearest other head over the heads' mean spacing (at most 3), consumed fraction."""
    e = state.energy[alive]
    relative = e / e.mean() if e.mean() > 0 else np.ones_like(e)
    reach = np.minimum(state.d_sink[alive] / d0, 5.0)
    heads = alive[heads_mask[alive]]
    near = np.zeros(alive.shape[0])
    if heads.shape[0]:
        d = np.hypot(state.x[alive][:, None] - state.x[heads][None, :],
                     state.y[alive][:, None] - state.y[heads][None, :])
        d[d == 0.0] = np.inf
        near = d.min(axis=1)
        near[~np.isfinite(near)] = 0.0
        spacing = math.sqrt(float(state.field[0]) * float(state.field[1]) / heads.shape[0])
        near = np.minimum(near / spacing, 3.0)
    return np.column_stack([relative, reach, near, 1.0 - e / state.initial_energy[alive]])


class LearnedProposals(PricedPolicy):
    """ddnn-price (the shipped prices) plus one batch of :attr:`batch` of anneal's moves per round from the
    pool's best, kept when it lowers J; a swap's or a move's head is drawn with weights exp(theta_out . x_i),
    a swap's new head with exp(theta_in . x_i), x_i the :func:`proposal_inputs` (theta = 0: anneal's uniform
    picks on the same uniforms). The weights are theta_in, theta_out and an unused last entry."""

    features = ("in_relative_energy", "in_reach", "in_spacing", "in_consumed",
                "out_relative_energy", "out_reach", "out_spacing", "out_consumed")
    batch = 8

    def __init__(self, scenario, weights=None):
        super().__init__(scenario)
        self.theta = np.zeros(len(self.features) + 1) if weights is None else np.asarray(weights, dtype=np.float64)

    def _weights(self):
        from wsnmec.clustering.priced import DEFAULT_PRICE_MODEL, load_price_weights

        return load_price_weights(DEFAULT_PRICE_MODEL)

    def anneal(self, state, rng, start, value, alive):
        from wsnmec.clustering.anneal import MOVE_PROBABILITIES, NEIGHBOURS

        best, best_j = start.copy(), value
        if alive.shape[0] < 2:
            return best, best_j
        draws = rng.random((3, self.batch))
        inputs = proposal_inputs(state, alive, best, self.radio.d0)
        w_in = np.exp(np.clip(inputs @ self.theta[0:4], -20.0, 20.0))
        w_out = np.exp(np.clip(inputs @ self.theta[4:8], -20.0, 20.0))
        is_head = best[alive]
        heads, others = alive[is_head], alive[~is_head]
        trials = np.repeat(best[None, :].astype(np.uint8), self.batch, axis=0)
        rows = np.arange(self.batch)
        kind = (np.searchsorted(np.cumsum(MOVE_PROBABILITIES)[:-1], draws[0], side="right")
                if heads.shape[0] and others.shape[0] else np.zeros(self.batch, dtype=np.int64))
        toggle = kind == 0
        pick = np.minimum((draws[1] * alive.shape[0]).astype(np.int64), alive.shape[0] - 1)
        trials[rows[toggle], alive[pick[toggle]]] ^= 1
        if heads.shape[0] and others.shape[0]:
            out = _weighted_pick(draws[1], w_out[is_head])
            into = _weighted_pick(draws[2], w_in[~is_head])
            swap, move = kind == 1, kind == 2
            trials[rows[swap], heads[out[swap]]] = 0
            trials[rows[swap], others[into[swap]]] = 1
            if move.any():
                q = min(NEIGHBOURS, others.shape[0])
                moved = heads[out[move]]
                d2 = (state.x[moved][:, None] - state.x[others][None, :]) ** 2 + (
                    state.y[moved][:, None] - state.y[others][None, :]) ** 2
                nearest = np.argsort(d2, axis=1, kind="stable")[:, :q]
                slot = np.minimum((draws[2][move] * q).astype(np.int64), q - 1)
                trials[rows[move], moved] = 0
                trials[rows[move], others[nearest[np.arange(moved.shape[0]), slot]]] = 1
        j = self.scorer(state, trials)[0]
        k = int(np.argmin(j))
        if j[k] < best_j:
            best, best_j = trials[k].astype(np.bool_), float(j[k])
        return best, best_j


class LearnedProposals16(LearnedProposals):
    """:class:`LearnedProposals` with 16 moves per round."""

    batch = 16


class PricedSearch4(PricedPolicy):
    """ddnn-price with 4 batches of 16 of anneal's moves from the pool's best each round (anneal's batched
    Metropolis at 4 steps; the only probe that passed the rule; run on the held-out suite by
    ``benchmarks/variant_fight.py``)."""

    name = "ddnn-price-search4"
    steps = 4


def _variant(base, kind: str, value):
    """``base`` (PricedPolicy or PricedRulePolicy) changed by one probe."""
    if kind == "search":
        return type(f"{base.__name__}Search", (base,), {"steps": int(value)})
    if kind == "keep-bias":
        beta = float(value)

        class KeepBias(base):
            def decide(self, state, rng):
                alive = np.flatnonzero(state.alive_u8)
                if alive.shape[0] == 0:
                    return np.zeros(state.n, dtype=np.bool_), np.zeros((0, state.n), np.uint8), np.zeros(0)
                pool = self.start_pool(state, rng, alive)
                j = self.scorer(state, pool)[0].copy()
                if self.can_keep(state):
                    kept = (pool == (self.previous & state.alive).astype(np.uint8)[None, :]).all(axis=1)
                    j[kept] += beta * np.abs(j[kept])
                first = int(np.argmin(j))
                mask = pool[first].astype(np.bool_)
                if alive.shape[0] <= REFINE_MAX_ALIVE:
                    mask = refine(self.scorer, state, mask, float(j[first]), alive)
                return mask, pool, j

        return KeepBias
    if kind == "mixed":
        fractions = tuple(value)

        class Mixed(base):
            def start_pool(self, state, rng, alive):
                pool = super().start_pool(state, rng, alive)
                if alive.shape[0] < 4:
                    return pool
                sizes = self.sizes(state, alive.shape[0])
                far_first = alive[np.argsort(-state.d_sink[alive], kind="stable")]
                extra = []
                for f in fractions:
                    part = np.sort(far_first[:max(2, int(round(f * alive.shape[0])))])
                    for k in np.unique(np.clip(np.round(sizes * f).astype(int), 1, part.shape[0])):
                        mask = np.zeros(state.n, np.uint8)
                        heads = spread_heads(state.x[part], state.y[part], state.energy[part], int(k), rng,
                                             self.max_passes)
                        mask[part[heads]] = 1
                        extra.append(mask)
                return distinct_rows(np.concatenate([pool, np.array(extra)]))

        return Mixed
    return base


def probe_deployments() -> list:
    """The 12 deployments every probe runs on: the validation runs of ``wsnmec train`` (run seeds + 10,000 of
    the price training scenarios), then the same scenarios at run seeds + 20,000."""
    return (validation_deployments(TRAINING_SCENARIOS)
            + [(dict(v), int(s) + 20_000) for v, s in TRAINING_SCENARIOS])


def lifetime(scenario, seed: int, clustering) -> tuple[int, int, float, float]:
    """(FND, HND, mean decision time per round [s], mean round latency up to FND [s]) of ``clustering`` on one
    deployment, at most :data:`ROUNDS` rounds (:func:`wsnmec.training.prices.run_lifetime`)."""
    elect, spent, calls = clustering.elect, [0.0], [0]

    def timed(state, rng):
        start = time.perf_counter()
        out = elect(state, rng)
        spent[0] += time.perf_counter() - start
        calls[0] += 1
        return out

    clustering.elect = timed
    fnd, hnd, latency = run_lifetime(scenario, seed, clustering, ROUNDS, latency=True)
    return fnd, hnd, spent[0] / max(calls[0], 1), latency


def probe_arguments(doc: str, argv=None, extra=None) -> argparse.Namespace:
    """A probe script's options: ``--jobs`` (worker processes) and ``--out`` (a file for the table); ``extra``,
    a function of the parser, adds a script's own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path)
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def finish(lines: list, deployments: int, start: float, jobs: int, out) -> int:
    """Close a probe's table with its count and wall time, print it and write it to ``out`` (when given)."""
    lines += ["", f"{deployments} deployments; {time.perf_counter() - start:.0f} s with --jobs {jobs}."]
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text + "\n")
    return 0


#: Initial energy [J] of the held-out suite, at which the probes against anneal run every deployment.
SUITE_E0 = 0.5


def against_anneal(run, names: list, jobs: int, rows: list) -> tuple[dict, list]:
    """Run ``run((values, seed, name))`` for each name of ``names`` (``"anneal"`` among them) on every probe
    deployment at :data:`SUITE_E0`, on ``jobs`` processes; returns ``{name: [run's output per deployment]}``
    and the table's lines: each name of ``rows`` against anneal (:func:`_row`; ``run``'s output starts with
    :func:`lifetime`'s tuple)."""
    deployments = [(dict(values, e0=SUITE_E0), seed) for values, seed in probe_deployments()]
    with ProcessPoolExecutor(jobs) as pool:
        results = {name: list(pool.map(run, [(v, s, name) for v, s in deployments])) for name in names}
    lifetimes = {name: [r[0] for r in result] for name, result in results.items()}
    lines = ["| variant | FND / anneal [95 % t] | HND / anneal | min(FND, HND ratio) | decision ms/round | passes |",
             "|---|---|---|---|---|---|"]
    lines += [_row(name, lifetimes[name], lifetimes["anneal"]) for name in rows]
    return results, lines


def _run(task):
    """(FND, HND, mean decision time per round [s]) of one deployment."""
    values, seed, learned, kind, value, weights, policy = task
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    cls = _variant(policy if policy is not None else (PricedPolicy if learned else PricedRulePolicy), kind, value)
    clustering = cls(scenario, weights=weights) if weights is not None else cls(scenario)
    return lifetime(scenario, seed, clustering)


def _row(name, runs, base):
    fnd = [a[0] / b[0] for a, b in zip(runs, base)]
    hnd = [a[1] / b[1] for a, b in zip(runs, base)]
    both = [min(f, h) for f, h in zip(fnd, hnd)]
    cells = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in (mean_ci(fnd), mean_ci(hnd), mean_ci(both))]
    worth = mean_ci(fnd)[0] > 1 and mean_ci(hnd)[0] > 1 and mean_ci(both)[0] > 1
    ms = 1e3 * float(np.mean([a[2] for a in runs]))
    return f"| {name} | {' | '.join(cells)} | {ms:.3f} | {'yes' if worth else 'no'} |"


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv)
    deployments = probe_deployments()
    scenarios = list(TRAINING_SCENARIOS)
    lines = ["| probe | FND / baseline [95 % t] | HND / baseline | min(FND, HND ratio) | decision ms/round | "
             "worth a held-out run |", "|---|---|---|---|---|---|"]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        def runs(learned, kind=None, value=None, weights=None, policy=None):
            return list(pool.map(_run, [(v, s, learned, kind, value, weights, policy) for v, s in deployments]))

        rule, learned = runs(False), runs(True)
        lines.append(_row("baseline: prices 1 / e_i (ddnn-price-rule)", rule, rule))
        lines.append(_row("baseline: shipped learned prices (ddnn-price)", learned, learned))
        lines.append(_row("shipped learned prices, against 1 / e_i", learned, rule))
        searches = [("min-fitness, spread 1.0", "min", 1.0, PricedPolicy),
                    ("min-fitness, spread 0.3", "min", 0.3, PricedPolicy),
                    ("gated, min fitness", "min", 1.0, GatedPolicy),
                    ("gated, mean fitness", "mean", 1.0, GatedPolicy),
                    ("value, min fitness, spread 0.3", "min", 0.3, ValuePolicy),
                    ("value, min fitness, spread 0.05", "min", 0.05, ValuePolicy),
                    ("value, mean fitness, spread 0.05", "mean", 0.05, ValuePolicy)]
        for name, fitness, spread, policy in searches:
            out = train_prices(scenarios, seed=1, generations=8, population=12, initial_std=spread,
                               fitness=fitness, policy=policy, jobs=args.jobs)
            trained = runs(True, weights=np.asarray(out["weights"]), policy=policy)
            zero = "zero weights" if not np.any(out["weights"]) else f"training fitness {out['fitness']:.4f}"
            lines.append(_row(f"{name} ({zero}), against 1 / e_i", trained, rule))
        for policy, spread in ((LearnedProposals, 1.0), (LearnedProposals16, 0.5)):
            out = train_prices(scenarios, seed=1, generations=8, population=12, initial_std=spread,
                               fitness="min", policy=policy, jobs=args.jobs)
            theta = np.asarray(out["weights"])
            lines.append(_row(f"learned move picks ({policy.batch} moves, min fitness, spread {spread}) against "
                              "uniform picks", runs(True, weights=theta, policy=policy),
                              runs(True, weights=np.zeros_like(theta), policy=policy)))
        for beta in (-0.05, -0.02, 0.02, 0.05, 0.1):
            lines.append(_row(f"keep-bias beta {beta:+.2f}, prices 1 / e_i", runs(False, "keep-bias", beta), rule))
            lines.append(_row(f"keep-bias beta {beta:+.2f}, learned prices", runs(True, "keep-bias", beta), learned))
        for steps in (1, 2, 4):
            lines.append(_row(f"search {steps} x 16 moves, prices 1 / e_i", runs(False, "search", steps), rule))
            lines.append(_row(f"search {steps} x 16 moves, learned prices", runs(True, "search", steps), learned))
        for steps in (4, 32):  # what the learned prices add when both run the same search (32: anneal's)
            lines.append(_row(f"search {steps} x 16 moves: learned prices against 1 / e_i",
                              runs(True, "search", steps), runs(False, "search", steps)))
        for fractions in ((0.5, 0.75), (0.25, 0.5, 0.75)):
            label = "/".join(f"{f:.0%}" for f in fractions)
            lines.append(_row(f"mixed (farthest {label}), prices 1 / e_i", runs(False, "mixed", fractions), rule))
            lines.append(_row(f"mixed (farthest {label}), learned prices", runs(True, "mixed", fractions), learned))
    return finish(lines, len(deployments), start, args.jobs, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
