"""Probe: does lp-schedule's solve, cut at a wall budget a per-round decision bar could pay for, keep its gain
over anneal?

lp-schedule beats anneal on both lifetimes at the held-out suite's energy (``docs/ddnn_price/lp_probes.md``),
but its bound solve (seconds at N = 100, minutes at N = 400) is far over issue 18's 0.5 ms per decision once
spread over the rounds. ``budget-plan B`` makes the same solve (:func:`wsnmec.bound.colgen.solve_bound`, gap
:data:`~wsnmec.bound.lp_schedule.SCHEDULE_GAP`, schedule share
:data:`~wsnmec.bound.lp_schedule.SCHEDULE_SHARE`) with the wall-time limit B seconds instead of 150 s, not
read from or written to the bound cache, and plays its integer schedule as lp-schedule does
(:meth:`wsnmec.bound.lp_schedule.LPSchedulePolicy.follow_result`), then lp-schedule's rule after it.
``budget-plan-then-anneal B`` hands over to anneal once the schedule is spent. Both are non-learned, with
global information at the sink (as lp-schedule). A cut solve depends on the machine's speed and load, so the
lifetimes here do too (the table says on which machine and with how many workers it was made).

The decision time per round is all the time spent electing, the solve included, over the rounds run.

Deployments: the 12 validation deployments of the other probes (``benchmarks/ddnn_price_probes.py``), every E0
0.5 J (the held-out suite's); no held-out scenario is touched. Rule (fixed before the first run, in the
session's notes): a variant passes when its mean FND ratio, mean HND ratio and mean per-deployment min ratio
against anneal are all above 1.

Run ``python3 benchmarks/budget_plan_probe.py [--jobs 2] [--out FILE.md] [--budget S ...]`` (about 5 minutes on 2
cores with the default budgets 0.5, 2 and 8 s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddnn_lp_probes import ScheduleThenAnneal  # noqa: E402
from ddnn_price_probes import against_anneal, finish, lifetime, probe_arguments  # noqa: E402

from wsnmec.bound import colgen, lp_schedule  # noqa: E402
from wsnmec.bound.costs import Network, planning_harvest  # noqa: E402
from wsnmec.bound.lp_schedule import LPSchedulePolicy  # noqa: E402
from wsnmec.clustering.anneal import AnnealPolicy  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402

#: Wall budgets of the solve [s] run by default.
BUDGETS = (0.5, 2.0, 8.0)


def budget_plan(budget: float) -> type:
    """lp-schedule whose solve is cut at ``budget`` seconds and bypasses the bound cache."""

    class BudgetPlan(LPSchedulePolicy):
        name = f"budget-plan {budget:g}"

        def _solve(self, state):
            start = time.perf_counter()
            net = Network(state.x, state.y, state.initial_energy, state.sink, state.params, state.scenario.offload,
                          planning_harvest(state.scenario))
            result = colgen.solve_bound(net, gap=lp_schedule.SCHEDULE_GAP, time_limit=budget,
                                        schedule_share=lp_schedule.SCHEDULE_SHARE)
            self.follow_result(net, result)
            self.plan_record = (state.n, int(self.plan.size), result.stopped, float(result.upper),
                                time.perf_counter() - start)

    return BudgetPlan


def then_anneal(budget: float) -> type:
    """:func:`budget_plan`'s schedule, then anneal once it is spent."""
    return type(f"BudgetPlanThenAnneal{budget:g}", (ScheduleThenAnneal,), {"schedule_policy": budget_plan(budget)})


def _policy(name: str):
    if name == "anneal":
        return AnnealPolicy
    kind, budget = name.rsplit(" ", 1)
    return {"budget-plan": budget_plan, "budget-plan-then-anneal": then_anneal}[kind](float(budget))


def _run(task):
    values, seed, name = task
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    clustering = _policy(name)(scenario)
    out = lifetime(scenario, seed, clustering)
    return out, getattr(getattr(clustering, "lp", clustering), "plan_record", None)


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv, extra=lambda p: p.add_argument("--budget", type=float, action="append"))
    budgets = tuple(args.budget) if args.budget else BUDGETS
    names = ["anneal"] + [f"{kind} {b:g}" for b in budgets for kind in ("budget-plan", "budget-plan-then-anneal")]
    start = time.perf_counter()
    results, lines = against_anneal(_run, names, args.jobs, names[1:])
    runs = {name: [r[0] for r in result] for name, result in results.items()}
    lines += ["", "Decision time per round [ms] by deployment (N): "]
    for name in names[1:]:
        lines.append(f"- {name}: " + ", ".join(f"{1e3 * out[2]:.2f} ({record[0]})"
                                               for out, record in results[name]))
    lines += ["", "Solves (N, schedule rounds, why it stopped, bound, seconds):", ""]
    for name in names[1:]:
        if name.startswith("budget-plan "):
            lines.append(f"- {name}: " + "; ".join(f"{n} / {r} / {why} / {up:.0f} / {s:.2f}"
                                                   for _, (n, r, why, up, s) in results[name]))
    lines += ["", "FND / HND of each deployment (validation seeds + 10,000, then + 20,000):", ""]
    lines += [f"- {name}: " + ", ".join(f"{f}/{h}" for f, h, *_ in result) for name, result in runs.items()]
    return finish(lines, len(runs["anneal"]), start, args.jobs, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
