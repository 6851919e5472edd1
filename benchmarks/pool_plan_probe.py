"""Probe: does a lifetime plan over a fixed pool of head sets, with no column generation, beat anneal?

lp-schedule beats anneal on both lifetimes at the held-out suite's energy (``docs/ddnn_price/lp_probes.md``) but
needs a bound solve per deployment (seconds at N = 100, minutes at N = 400), too slow to amortise under issue
18's 0.5 ms per decision. This asks whether the bound's master LP alone, over a cheap fixed pool of
configurations instead of the column generation's, keeps the gain: ``pool-plan`` at its first round builds

- k-medoids spread sets (:func:`wsnmec.clustering.spread.spread_heads`, energy-weighted) of every size 1..K,
  K = max(4, ceil(0.15 N)), :data:`RESTARTS` draws each, over all nodes and over the farthest 25, 50 and 75 %
  of the nodes from the sink (the others then reach the sink directly or join the nearest head: the mixed
  configurations of the bound's schedules), and the empty set;
- scores each under the simulator's rules (:func:`wsnmec.bound.costs.score_configurations`, kept and set-up
  rounds), solves the master LP (P) over them and chooses the configurations with their set-ups as the bound's
  schedule does (``wsnmec.bound.colgen._fewer_setups``);

then executes the integer schedule as lp-schedule does. ``pool-plan-then-anneal`` hands over to anneal once
the schedule is spent. Both are non-learned, with global information at the sink (as lp-schedule).

Deployments: the 12 validation deployments of the other probes (``benchmarks/ddnn_price_probes.py``), every E0
0.5 J (the held-out suite's); no held-out scenario is touched. Rule (fixed before the first run, in the
session's notes): a variant passes when its mean FND ratio, mean HND ratio and mean per-deployment min ratio
against anneal are all above 1.

Run ``python3 benchmarks/pool_plan_probe.py [--jobs 2] [--out FILE.md]`` (about 3 minutes on 2 cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddnn_lp_probes import ScheduleThenAnneal  # noqa: E402
from ddnn_price_probes import against_anneal, finish, lifetime, probe_arguments  # noqa: E402

from wsnmec.bound import colgen  # noqa: E402
from wsnmec.bound.costs import Network, planning_harvest, score_configurations  # noqa: E402
from wsnmec.bound.lp_schedule import LPSchedulePolicy  # noqa: E402
from wsnmec.clustering.anneal import AnnealPolicy  # noqa: E402
from wsnmec.clustering.dryrun import distinct_rows  # noqa: E402
from wsnmec.clustering.spread import spread_heads  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402

#: Draws of each k-medoids set size.
RESTARTS = 4
#: Fractions of the nodes, the farthest from the sink, over which mixed configurations place their heads.
FAR_FRACTIONS = (0.25, 0.5, 0.75)


def pool_masks(net: Network, rng: np.random.Generator, largest: int) -> np.ndarray:
    """The pool (module docstring): bool[K, N], distinct rows, the empty set first."""
    masks = [np.zeros(net.n, dtype=bool)]
    farthest_first = np.argsort(-net.d_sink, kind="stable")
    groups = [np.arange(net.n)] + [np.sort(farthest_first[:max(1, int(round(f * net.n)))]) for f in FAR_FRACTIONS]
    for group in groups:
        for k in range(1, min(largest, group.size) + 1):
            for _ in range(RESTARTS):
                mask = np.zeros(net.n, dtype=bool)
                mask[group[spread_heads(net.x[group], net.y[group], net.energy[group], k, rng)]] = True
                masks.append(mask)
    return distinct_rows(np.array(masks, dtype=np.uint8)).astype(bool)


class PoolPlan(LPSchedulePolicy):
    """lp-schedule's execution of a schedule chosen over :func:`pool_masks` instead of the bound's columns."""

    name = "pool-plan"

    def _solve(self, state):
        start = time.perf_counter()
        net = Network(state.x, state.y, state.initial_energy, state.sink, state.params, state.scenario.offload,
                      planning_harvest(state.scenario))
        masks = pool_masks(net, np.random.default_rng([state.n, 7]), max(4, int(np.ceil(0.15 * net.n))))
        kept = score_configurations(net, masks, kept=True)
        setup = score_configurations(net, masks) - kept
        solved = colgen._master(kept, net.energy, net.harvest_j)
        (_, _, whole), _ = colgen._fewer_setups(kept, setup, solved[1], net.energy, net.harvest_j, None)
        used = whole > 0
        self.follow_schedule(net, masks[used], whole[used])
        self.plan_record = (masks.shape[0], int(used.sum()), int(whole.sum()), float(solved[0]),
                            time.perf_counter() - start)


class PoolPlanThenAnneal(ScheduleThenAnneal):
    """:class:`PoolPlan`'s schedule, then anneal once it is spent."""

    schedule_policy = PoolPlan


POLICIES = {"anneal": AnnealPolicy, "pool-plan": PoolPlan, "pool-plan-then-anneal": PoolPlanThenAnneal}


def _run(task):
    values, seed, name = task
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    clustering = POLICIES[name](scenario)
    out = lifetime(scenario, seed, clustering)
    return out, getattr(getattr(clustering, "lp", clustering), "plan_record", None)


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv)
    start = time.perf_counter()
    results, lines = against_anneal(_run, list(POLICIES), args.jobs, ["pool-plan", "pool-plan-then-anneal"])
    runs = {name: [r[0] for r in result] for name, result in results.items()}
    lines += ["", "Plans (pool size, configurations used, schedule rounds, LP value over the pool, seconds): "
              + "; ".join(f"{p} / {u} / {r} / {v:.0f} / {s:.2f}" for p, u, r, v, s in
                          (record for _, record in results["pool-plan"])), "",
              "FND / HND of each deployment (validation seeds + 10,000, then + 20,000):", ""]
    lines += [f"- {name}: " + ", ".join(f"{f}/{h}" for f, h, *_ in result) for name, result in runs.items()]
    return finish(lines, len(runs["anneal"]), start, args.jobs, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
