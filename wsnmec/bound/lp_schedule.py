"""``lp-schedule``: the schedule of the lifetime bound, executed under the simulator's own rules.

At reset the policy solves the bound of its deployment (:mod:`wsnmec.bound`; read from the bound cache when the
same deployment and cost model were solved before, :mod:`wsnmec.bound.cache`) and then elects, round after
round, the head sets of the integer schedule (each for its number of rounds, in one block). Members join their
nearest head or the sink by the simulator's rule, the heads decide by ``--offload``, and the accounting is the
simulator's: the schedule's rounds were costed by the same scorer, so every node is alive after them. A
block's first round sets up its clusters; its other rounds repeat them, so the accounting finds them kept and
charges no set-up messages (:mod:`wsnmec.sim.accounting`, Notes, *Kept clusters*), as the schedule was
planned (:mod:`wsnmec.bound.colgen`, Notes, *Achievable schedule*). Once the schedule is spent, each round
elects the schedule's head set (or no head) that leaves the largest smallest residual energy relative to the
initial energy among the alive nodes, by the scorer's costs from the start of the schedule (the previous
round's head set at the cost of a kept round when its clusters can be kept).
The solve stops at the gap :data:`SCHEDULE_GAP` or after :data:`SCHEDULE_TIME_LIMIT` seconds. Where that limit,
or the warm start's share of it, cuts the solve short, the schedule depends on the machine's speed and load
(:attr:`wsnmec.bound.colgen.BoundResult.time_limited`: in the bound cache's entry, in ``wsnmec bound``'s
output for the same deployment, and per replica in the run's ``clustering_runs``, :meth:`run_record`).
Of the limit, the bound's column generation has 70 % and the schedule the rest (:data:`SCHEDULE_SHARE`),
and the schedule's configurations are chosen with the set-ups
they cost (:mod:`wsnmec.bound.colgen`, Notes, *Set-ups*). Measured on 2 cores (2026-12-04): at N <= 100 the
solves end at the gap in a few seconds, far from the limit; at N = 200 (150 m x 150 m, sink (75, 250)) the
warm start solves every member-head pair at once by the interior point
(:func:`wsnmec.bound.colgen.interior_fits`) and the solve ends in 24-28 s; at N = 400 every solve is cut by the
limit: at seed 1 (200 m x 200 m, sink (100, 250)) the schedule is 657 rounds (472 before the set-ups were
weighed and the schedule had a share of the limit), its bound 962.6 (954.6 when the column generation had all
150 s). To fix a deployment's schedule, solve it once with ``wsnmec bound --time-limit T`` (T >= 150): the
policy reuses that cached solve (whose column generation had the whole limit, so where it is cut there the
schedule gets no time: give T long enough for the bound to reach its gap).

With a constant harvest the schedule counts the harvest as inflow without the battery cap (as the bound
does), so a capped battery can make a node die earlier than the schedule's rounds. A random or periodic
harvest has no bound here: the schedule is then planned without it (the harvest only adds energy, so the
plan's rounds stay affordable) and executed as usual.

The solve happens at the first round with an alive node (a network with none elects nobody).

The control pattern is ``centralized`` (the sink computes the schedule, as LEACH-C), the one the bound charges.
"""

from __future__ import annotations

import numpy as np

from ..clustering.base import ClusteringPolicy

#: Relative gap target of the bound the policy solves.
SCHEDULE_GAP = 0.01

#: Wall-time limit of the policy's solve [s] (a solve of ``wsnmec bound --time-limit`` at least as long is
#: reused from the cache).
SCHEDULE_TIME_LIMIT = 150.0

#: Share of :data:`SCHEDULE_TIME_LIMIT` kept for the schedule under the simulator's rules (the bound's column
#: generation has the rest; :func:`wsnmec.bound.colgen.solve_bound`'s ``schedule_share``).
SCHEDULE_SHARE = 0.3


class LPSchedulePolicy(ClusteringPolicy):
    """Executes the integer schedule of the deployment's lifetime bound (module docstring)."""

    name = "lp-schedule"
    control = "centralized"
    fused_code = None

    def reset(self, state, rng):
        self.plan = None

    def _solve(self, state):
        from .cache import solve_cached
        from .costs import Network, check_boundable, planning_harvest

        scenario = state.scenario
        check_boundable(scenario, state.x, state.y, state.initial_energy, state.sink, harvest=False)
        net = Network(state.x, state.y, state.initial_energy, state.sink, state.params, scenario.offload,
                      planning_harvest(scenario))
        result, _ = solve_cached(net, gap=SCHEDULE_GAP, time_limit=SCHEDULE_TIME_LIMIT, schedule_share=SCHEDULE_SHARE)
        self.follow_result(net, result)

    def follow_result(self, net, result) -> None:
        """Play the integer schedule of ``result`` (a :class:`~wsnmec.bound.colgen.BoundResult` of ``net``'s
        deployment, kept as this replica's solve) with :meth:`follow_schedule`."""
        self.result = result
        head_masks = np.zeros((len(result.schedule), net.n), dtype=bool)
        for k, entry in enumerate(result.schedule):
            head_masks[k, entry["heads"]] = True
        self.follow_schedule(net, head_masks, [int(entry["integer_rounds"]) for entry in result.schedule])

    def follow_schedule(self, net, head_masks: np.ndarray, rounds) -> None:
        """Play the head sets ``head_masks`` (bool[K, N]) of ``net``'s deployment for ``rounds`` (K whole numbers)
        rounds each, in order, then the rule after the schedule (module docstring) over them and the empty set.
        The solve calls it with the bound's schedule; another planner may call it with its own."""
        from .costs import score_configurations

        self.masks = np.concatenate([np.zeros((1, net.n), dtype=bool), np.asarray(head_masks, dtype=bool)])
        self.plan = np.repeat(np.arange(1, self.masks.shape[0], dtype=np.int64), np.asarray(rounds, dtype=np.int64))
        self.costs = score_configurations(net, self.masks)
        self.kept_costs = score_configurations(net, self.masks, kept=True)
        self.last_choice = None

    def elect(self, state, rng):
        if not state.alive.any():
            return np.zeros(state.n, dtype=bool)
        if self.plan is None:
            self._solve(state)
        r = state.round - 1
        if r < self.plan.size:
            choice = int(self.plan[r])
        else:
            alive = state.alive
            costs = self.costs
            last = self.last_choice
            if last is not None and self.can_keep(state) and np.array_equal(self.masks[last] & alive,
                                                                            self.previous_heads(state)):
                costs = costs.copy()
                costs[last] = self.kept_costs[last]  # electing it again keeps the clusters
            after = (state.energy[None, alive] - costs[:, alive]) / state.initial_energy[None, alive]
            choice = int(np.argmax(after.min(axis=1))) if alive.any() else 0
        self.last_choice = choice
        return self.masks[choice] & state.alive

    def run_record(self) -> dict | None:
        """The replica's solve: its bound, why it stopped, whether the time limit cut it (then the schedule
        depends on the machine) and the schedule's rounds; None before a solve."""
        solved = getattr(self, "result", None)
        if solved is None:
            return None
        return {"bound_upper": solved.upper if solved.upper != float("inf") else None,
                "bound_stopped": solved.stopped, "time_limited": bool(solved.time_limited),
                "schedule_rounds": int(self.plan.size)}

    def describe(self) -> dict:
        """The solve's settings: gap, time limit [s] and the share of it kept for the schedule. ``bound_upper``
        is this object's bound once it has solved (a run's config describes a policy before any replica, so
        it holds None there; each replica's bound is in the config's ``clustering_runs``, :meth:`run_record`)."""
        solved = getattr(self, "result", None)
        return {"name": self.name, "gap": SCHEDULE_GAP, "time_limit_s": SCHEDULE_TIME_LIMIT,
                "schedule_share": SCHEDULE_SHARE, "bound_upper": None if solved is None else solved.upper}
