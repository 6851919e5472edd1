"""Probes of issue 18's second option, the lifetime limit's linear program as the source of what a policy learns,
on training data only.

Issue 18 suggests networks "trained to predict the LP's dual weights (the optimal per-node energy prices) or its
schedule from local features". Before anything is trained, this script asks whether the LP's own answer, solved
for each deployment at its first round (an oracle a network could at best imitate), gains both FND and HND over
``ddnn-price-rule`` (the prices 1 / e_i) and over ``ddnn-price`` (the shipped learned prices). Measured on the
12 validation deployments of the price training scenarios, as ``benchmarks/ddnn_price_probes.py`` (run seeds +
10,000 and + 20,000 of ``wsnmec.training.prices.TRAINING_SCENARIOS``); no held-out scenario of
``studies/suite.toml`` is touched.

Variants (every one centralised, information global at the sink, charged as ``ddnn-price``):

- ``share-credit B``: the aggregated LP (P') of :mod:`wsnmec.bound.colgen` (*Warm start*: members may split
  their rounds over heads), solved at the first round, gives each node's share s_i of the rounds as a head.
  Every B rounds each alive node's credit grows by B s_i, K = the whole part of the accumulated sum of the
  alive shares, the K alive nodes of largest credit are the heads for the next B rounds (their credit falls by
  B; the clusters of the B rounds are kept, paying no set-up). Members join their nearest head (the simulator's
  rule).
- ``share-candidate``: ddnn-price-rule's pool plus the share-credit set (B = 1) as one more candidate; the
  credit falls by 1 for every executed head.
- ``dual-prices``: ddnn-price-rule with g_i = ln max(w_i E0_i / mean_alive(w E0), 0.1) (the prices
  exp(g_i) / e_i), w the aggregated LP's energy duals at the first round.
- ``lp-schedule``: the package's policy (the bound's integer schedule under the simulator's rules, then its
  own heuristic once the schedule is spent).
- ``schedule-candidates``: ddnn-price-rule's (or ddnn-price's) pool plus every head set of lp-schedule's
  schedule restricted to the alive nodes, argmin of the priced objective each round.
- ``schedule-then-rule``: lp-schedule's integer schedule, then ddnn-price-rule once it is spent.
- ``schedule-then-anneal``: lp-schedule's integer schedule, then ``anneal`` once it is spent: the oracle of
  the best imitation of the schedule a learner could reach, followed by the strongest non-learned search.
- ``anneal``, as a third baseline of every variant.

Rule (fixed before the first run, in the session's notes): a variant is worth a learned predictor and a
held-out screen only if, against ddnn-price-rule and against ddnn-price both, its mean FND ratio, its mean HND
ratio and the mean per-deployment min(FND ratio, HND ratio) are all above 1. (The first three variants were
fixed first; the three lp-schedule variants were added after the first three had failed. The comparison with
``anneal`` and ``schedule-then-anneal`` were added later, with the rule fixed before their first run: against
anneal, the same three means all above 1 say that imitating the schedule could, in principle, beat anneal.)

The LP solves are ``wsnmec.bound`` solves: the aggregated LP (one HiGHS solve, about 1 to 2 s here) in every
run, lp-schedule's column generation through the bound cache (at most 150 s each; about 20 s per deployment
here when not cached). A decision time here includes what the first round spends on them, spread over the
rounds run: with the bounds cached, lp-schedule's solve is a cache read.

Run ``python3 benchmarks/ddnn_lp_probes.py [--jobs 2] [--out FILE.md]`` (about 3 minutes on 2 cores with the
bounds cached, 5 more to solve them). ``--e0 J`` gives every deployment that initial energy instead of its
scenario's own (the training scenarios use 0.1-0.3 J for short lifetimes; the held-out suite 0.5 J), and
``--variant NAME`` (repeatable) runs only those variants besides the baselines.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddnn_price_probes import _row, finish, lifetime, probe_arguments, probe_deployments  # noqa: E402

from wsnmec.bound import colgen  # noqa: E402
from wsnmec.bound.costs import LinearCosts, Network, planning_harvest  # noqa: E402
from wsnmec.bound.lp_schedule import LPSchedulePolicy  # noqa: E402
from wsnmec.clustering.anneal import AnnealPolicy  # noqa: E402
from wsnmec.clustering.ddnn import smooth_harvest_and_consumption  # noqa: E402
from wsnmec.clustering.dryrun import distinct_rows  # noqa: E402
from wsnmec.clustering.priced import PricedPolicy, PricedRulePolicy  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402

#: Time limit of one aggregated LP solve [s].
AGGREGATED_TIME_LIMIT = 60.0


def aggregated_lp(state) -> tuple[np.ndarray, np.ndarray]:
    """(energy duals w [1/J], head shares s) of the aggregated LP (P') of the deployment at its initial energies,
    over the member-head pairs the bound's warm start takes first (every pair nearer than the sink, or each
    node's :data:`wsnmec.bound.colgen.COMPACT_NEAREST` nearest above :data:`~wsnmec.bound.colgen.COMPACT_PAIRS`
    pairs)."""
    scenario = state.scenario
    net = Network(state.x, state.y, state.initial_energy, state.sink, state.params, scenario.offload,
                  planning_harvest(scenario))
    model = LinearCosts(net)
    allowed, nearest = colgen.warm_start_pairs(model)
    pairs = nearest if allowed.sum() > colgen.COMPACT_PAIRS else allowed
    out = colgen._compact_duals(model, net.energy, net.harvest_j, pairs, AGGREGATED_TIME_LIMIT)
    if out is None:
        raise RuntimeError("the aggregated LP stopped without a solution")
    return out


class _Credit:
    """Head sets that follow the LP's head shares (module docstring, ``share-credit``)."""

    block = 1

    def credit_reset(self, state):
        self.duals, self.share = aggregated_lp(state)
        self.credit = np.zeros(state.n)
        self.accumulated = 0.0

    def credit_set(self, state) -> np.ndarray:
        alive = state.alive
        self.credit[alive] += self.block * self.share[alive]
        self.accumulated += self.block * float(self.share[alive].sum())
        k = min(int(np.floor(self.accumulated)), int(alive.sum()))
        self.accumulated -= k
        mask = np.zeros(state.n, dtype=bool)
        if k > 0:
            mask[np.argsort(-np.where(alive, self.credit, -np.inf), kind="stable")[:k]] = True
        return mask


class ShareCredit(_Credit, PricedRulePolicy):
    def reset(self, state, rng):
        super().reset(state, rng)
        self.ready = False
        self.held = None
        self.left = 0

    def elect(self, state, rng):
        if not self.ready:
            self.credit_reset(state)
            self.ready = True
        if self.left <= 0 or self.held is None:
            self.held = self.credit_set(state)
            self.credit[self.held] -= self.block
            self.left = self.block
        self.left -= 1
        return self.held & state.alive


class ShareCredit10(ShareCredit):
    block = 10


class ShareCandidate(_Credit, PricedRulePolicy):
    def reset(self, state, rng):
        super().reset(state, rng)
        self.ready = False

    def start_pool(self, state, rng, alive):
        pool = super().start_pool(state, rng, alive)
        return distinct_rows(np.concatenate([pool, self.credit_set(state).astype(np.uint8)[None, :]]))

    def elect(self, state, rng):
        if not self.ready:
            self.credit_reset(state)
            self.ready = True
        mask = super().elect(state, rng)
        self.credit[mask] -= 1.0
        return mask


class DualPrices(PricedRulePolicy):
    def reset(self, state, rng):
        super().reset(state, rng)
        self.g = None

    def prices(self, state):
        alive = state.alive
        if self.g is None:
            w, _ = aggregated_lp(state)
            value = w * state.initial_energy
            mean = float(value[alive].mean())
            self.g = np.log(np.maximum(value / (mean if mean > 0 else 1.0), 0.1))
        out = np.zeros(state.n)
        out[alive] = np.exp(self.g[alive]) / np.maximum(state.energy[alive], 1e-300)
        return out


class ScheduleCandidates(PricedRulePolicy):
    def reset(self, state, rng):
        super().reset(state, rng)
        self.schedule = None

    def start_pool(self, state, rng, alive):
        pool = super().start_pool(state, rng, alive)
        if self.schedule is None:
            lp = LPSchedulePolicy(state.scenario)
            lp._solve(state)
            self.schedule = lp.masks[1:].astype(np.uint8)  # (masks[0] is the empty set, already in the pool)
        if self.schedule.shape[0] == 0:
            return pool
        return distinct_rows(np.concatenate([pool, self.schedule & state.alive_u8[None, :]]))


class ScheduleCandidatesLearned(ScheduleCandidates, PricedPolicy):
    learned = True


class ScheduleFirst:
    """Mixed in before a policy: lp-schedule's integer schedule (or that of ``schedule_policy``, a subclass that
    overrides ``_solve``), then that policy once the schedule is spent; :meth:`follow` keeps the policy's memory
    up to date during the schedule."""

    schedule_policy = LPSchedulePolicy

    def reset(self, state, rng):
        super().reset(state, rng)
        self.lp = self.schedule_policy(state.scenario)
        self.lp.reset(state, rng)

    def elect(self, state, rng):
        if not state.alive.any():
            return np.zeros(state.n, dtype=bool)
        if self.lp.plan is None:
            self.lp._solve(state)
        if state.round - 1 >= self.lp.plan.size:
            return super().elect(state, rng)
        mask = self.lp.elect(state, rng)
        self.follow(state, np.asarray(mask, dtype=np.bool_))
        return mask


class ScheduleThenRule(ScheduleFirst, PricedRulePolicy):
    def follow(self, state, mask):
        self.consumption_avg = smooth_harvest_and_consumption(state, self.harvest_avg, self.consumption_avg,
                                                              np.flatnonzero(state.alive_u8))
        self.previous = mask.copy()


class ScheduleThenAnneal(ScheduleFirst, AnnealPolicy):
    def follow(self, state, mask):
        self.previous = mask.copy()  # anneal's only memory: its start pool holds the previous set


#: The baselines every variant is compared with.
BASELINES = ("ddnn-price-rule", "ddnn-price", "anneal")

POLICIES = {"ddnn-price-rule": PricedRulePolicy, "ddnn-price": PricedPolicy, "anneal": AnnealPolicy,
            "share-credit 1": ShareCredit, "share-credit 10": ShareCredit10, "share-candidate": ShareCandidate,
            "dual-prices": DualPrices, "lp-schedule": LPSchedulePolicy,
            "schedule-candidates, prices 1 / e_i": ScheduleCandidates,
            "schedule-candidates, learned prices": ScheduleCandidatesLearned,
            "schedule-then-rule": ScheduleThenRule, "schedule-then-anneal": ScheduleThenAnneal}


def _run(task):
    """(FND, HND, mean decision time per round [s], the solve at the first round included) of one deployment."""
    values, seed, name = task
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    return lifetime(scenario, seed, POLICIES[name](scenario))


def comparison_lines(runs: dict, names) -> list:
    """The table of ``names`` against each of :data:`BASELINES`, then every deployment's FND / HND of every run
    in ``runs``."""
    lines = ["| variant | against | FND / baseline [95 % t] | HND / baseline | min(FND, HND ratio) | "
             "decision ms/round | passes | latency to FND / baseline's |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        for base in BASELINES:
            if name != base:
                latency = np.mean([a[3] / b[3] for a, b in zip(runs[name], runs[base])])
                lines.append(_row(name, runs[name], runs[base]).replace(f"| {name} |", f"| {name} | {base} |", 1)
                             + f" {latency:.3f} |")
    lines += ["", "FND / HND and mean round latency up to FND [ms] of each deployment (validation seeds + 10,000, "
                  "then + 20,000):", ""]
    lines += [f"- {name}: " + ", ".join(f"{f}/{h} ({1e3 * lat:.0f})" for f, h, _, lat in result)
              for name, result in runs.items()]
    return lines


def _options(parser) -> None:
    parser.add_argument("--e0", type=float, metavar="J",
                        help="every deployment's initial energy [J] (default: each training scenario's own)")
    parser.add_argument("--variant", action="append", metavar="NAME",
                        help="a variant to run besides the baselines, repeatable (default: every variant)")


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv, _options)
    names = list(POLICIES)
    chosen = args.variant or []
    if chosen:
        unknown = [name for name in chosen if name not in POLICIES]
        if unknown:
            print(f"Error: --variant: {unknown[0]!r} is not a variant; allowed: {'; '.join(POLICIES)}", file=sys.stderr)
            return 2
        names = [*BASELINES, *(name for name in chosen if name not in BASELINES)]
    if args.e0 is not None and not args.e0 > 0:
        print(f"Error: --e0: must be > 0 [J]; got {args.e0}", file=sys.stderr)
        return 2
    deployments = [(v if args.e0 is None else dict(v, e0=args.e0), s) for v, s in probe_deployments()]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = {name: list(pool.map(_run, [(v, s, name) for v, s in deployments])) for name in names}
    shown = [name for name in names if name in chosen] if chosen else names  # the baselines' runs feed them
    return finish(comparison_lines(runs, shown), len(deployments), start, args.jobs, args.out)

if __name__ == "__main__":
    raise SystemExit(main())
