"""The lifetime limit by column generation: an upper bound on first-node death and a schedule that reaches for it.

Notes
-----
**Master problem.** Rounds t_c >= 0 are given to configurations c (a head set and every other node's receiver,
:mod:`wsnmec.bound.costs`); node i pays a_i(c) [J] per round of c and harvests h_i [J] per round. As long as
every node is alive after T = sum_c t_c rounds,

    max  T = sum_c t_c    s.t.  sum_c t_c (a_i(c) - h_i) <= E0_i  for every node i,   t >= 0.        (P)

A simulated run whose first node dies in round F kept every node alive for F - 1 rounds, each round paid in
full, so its rounds form an integer point of (P) with T = F - 1 (the battery cap only removes harvest, so it
can only shrink the feasible set): **FND <= floor(T*) + 1**. The columns are costed by the linear model of
:class:`wsnmec.bound.costs.LinearCosts`, which is never above the simulator's cost of the same configuration
and ranges over more configurations (any receiver), so its optimum T* is at least that of the simulator's
configurations. The model charges no set-up control messages (:mod:`wsnmec.bound.costs`, Notes, relaxation
3): a round that keeps the previous round's clusters costs exactly the model's cost of its configuration
(where relaxations 1 and 2 do not bite), a round that sets up new clusters costs more, so every run's rounds,
kept or not, form a feasible point of (P) whichever rounds it kept. The bound is looser than one charging
each round's set-up by at most the set-up share of the rounds' energy.

**Farley / Lagrangian bound.** Let w >= 0 be any weights (here the duals of the restricted master over the
columns found so far) and L <= min_c sum_i w_i (a_i(c) - h_i) a lower bound of the pricing problem over *all*
configurations. For every feasible t of (P),

    sum_i w_i E0_i >= sum_i w_i sum_c t_c (a_i(c) - h_i) = sum_c t_c [w . (a(c) - h)] >= L sum_c t_c,

so if L > 0, **T* <= w . E0 / L** (the dual solution w / L is feasible). Nothing else is asked of w: the
master's duals, a smoothed mix of them, or the duals of the aggregated LP (*Warm start*) all give a valid
bound, however (in)exactly a solver computed them. Every bound found is kept if it is the smallest so far, so
the bound is valid whenever the run stops (gap, time limit, interrupt). Before the first iteration the bound
``min_i E0_i / (min_c a_i(c) - h_i)`` (each node's cheapest role) holds. L comes only from an exact argument,
never from the heuristic pricing: either the Lagrangian bound L(v) below, evaluated by this module at the
duals v of the pricing problem's LP relaxation (HiGHS), or the pricing MILP's dual bound (HiGHS
``mip_dual_bound``, at least the LP relaxation's value, also when it stops early); both are lowered by a
relative :data:`DUAL_SAFETY` against rounding.

**Pricing** (weighted facility location). With the module's cost model, min_c w . a(c) is

    min  sum_i F_i y_i + sum_{j != i} C_ji x_ji + sum_j S_j s_j + sum_j w_j base_j
    s.t. y_j + s_j + sum_i x_ji = 1,   x_ji <= y_i,   y, s, x binary,

F_i = w_i head_fixed_i, C_ji = w_j member_ji + w_i head_per_member_i, S_j = w_j direct_j, all >= 0. Pairs with
C_ji >= S_j are left out: sending to the sink is then at least as cheap, so an optimum without them exists
(exact, not a relaxation).

**Lagrangian bound.** Relaxing the assignment rows with multipliers v (weak duality) gives, for *any* v,

    L(v) = sum_j w_j base_j + sum_j v_j + sum_j min(0, S_j - v_j) + sum_i min(0, F_i + sum_j min(0, C_ji - v_j))

with C_ii = 0 (a head serves itself; the inner sum then holds -v_i): the minimum over y, s, x of the
Lagrangian separates into each s_j alone and each head i with the members it would serve at a negative
reduced cost. So L(v) <= the pricing minimum for every v; clipping v to [0, S] never lowers it (a v_j < 0
or > S_j only loses), and the pairs left out of the MILP have C_ji - v_j >= 0 there, so they add nothing.
At the LP relaxation's optimal equality duals L(v) is the LP optimum; :class:`FacilityInstance` evaluates it
itself, so the bound does not rest on the LP solver's optimality, only on float rounding, covered by the
safety margin relative to the magnitude of its terms.

**Heuristic pricing.** Each round prices the master's duals (or their smoothed mix, below) by a vectorised
local search over head sets (:meth:`FacilityInstance.local_search`: open a head, close one, or swap two,
every candidate's change of cost computed at once; members at their cheapest receiver), from the previous
round's best head set and from no head. The best head set is then re-optimised with each of its first
:data:`EXTRA_COLUMNS` heads forbidden, and every head set found that improves the master
(``w_master . (a(c) - h) < 1``) enters it as a column, with its cheapest receivers and with the nearest rule's
receivers. Mixes of the master's own columns are tried as well: with the master's head shares
``sum_c t_c y_i(c) / T``, :data:`MASTER_ROUNDING_PER_NODE` head sets per node are drawn by randomised
rounding (*Warm start*) and priced at the master's duals (members at their cheapest receivers); each that
improves the master enters it. A basis of (P) may hold up to N columns, and these draws give a pricing round
many improving columns at the cost of an evaluation each, where the local searches give a few. Every
:data:`BOUND_EVERY` rounds, and whenever the heuristics find no improving column, the LP relaxation gives a bound
L(v) (and its rounded ``y``, improved by the local search, one more candidate).
When nothing improves the master at its own duals and the gap is not reached, the exact pricing MILP decides
(with the time left): no improving column there means the master is optimal. The heuristic only chooses
columns, so it never touches the bound's validity.

**Warm start** (the aggregated LP). With aggregated rounds Y_i = sum_c t_c y_i(c) (node i a head),
S_j = sum_c t_c s_j(c) and X_ji = sum_c t_c x_ji(c), every feasible t of (P) gives a feasible point of

    max T   s.t.  Y_j + S_j + sum_i X_ji = T,   X_ji <= Y_i,   Y, S, X >= 0,
            (base_j - h_j) T + head_fixed_j Y_j + direct_j S_j + sum_i member_ji X_ji
                + head_per_member_j sum_k X_kj <= E0_j        for every node j,                        (P')

(pairs with member_ji >= direct_j left out: sending to the sink instead lowers both nodes' energy, so some
optimum does without them). (P') is (P) with each configuration replaced by a point of the pricing problem's
LP relaxation; its optimum is not used as the bound, only its energy rows' duals, as weights w of a Farley
bound (any w is allowed, above) and as the first smoothing centre. Where the pricing LP relaxation is tight,
these are optimal duals of (P) and the bound is tight from the start. The shares Y_i / T give the master
its first columns in two ways: cut at each of their distinct values (head sets {i : Y_i / T >= level}, a
layered decomposition of the shares), and by *randomised rounding*: :data:`ROUNDING_PER_NODE` head sets per
node (at most :data:`ROUNDING_MAX`) drawn with node i a head with probability Y_i / T, independently (a
generator seeded with :data:`ROUNDING_SEED`), every other node at its cheapest receiver at the aggregated
LP's weights. The layered sets alone mix poorly; the drawn ones mix like the aggregate (N = 400, 200 x 200
m, sink (100, 250), seed 1, the aggregated LP over the 100 nearest heads worth 926 rounds: the master over
the layered sets is worth 238 rounds, over 400 drawn sets 783, over 2000 drawn sets 892). Either kind is
only a column, so neither touches the bound. When the member-head pairs are more than
:data:`COMPACT_PAIRS` but at most :data:`INTERIOR_PAIRS` (and there is no time limit, or one that
:func:`interior_fits`; the solve may take :data:`INTERIOR_SHARE` of it), (P') takes them all at once,
solved by HiGHS's interior-point method without crossover (:func:`_interior_duals`; its duals are optimal to
the solver's tolerance, and no bound of weights from the LP-relaxed pricing can be below (P')'s optimum, so
the column generation then evaluates the relaxation only when its heuristics find no column). Beyond
:data:`INTERIOR_PAIRS`, the first round takes each node's :data:`COMPACT_NEAREST` nearest heads and each
further round adds the pairs the pricing LP relaxation's duals v price below zero (C_ji - v_j < 0, the
reduced cost of a missing X_ji), until none is left or the time is up. HiGHS (interior point) may take
:data:`COMPACT_SHARE` of the time limit; without a solution in time the column generation starts from the
single-head columns alone. An interior-point solve over every pair that ends without a solution (cut by its
share of the limit) falls back to the nearest heads' rounds, which may take :data:`COMPACT_SHARE` of the
time the column generation has left.

**Restricted master.** The master is one HiGHS instance to which columns are added, so each solve starts
from the previous basis (SciPy's bundled bindings; a solve from scratch by ``linprog`` when they are not
there). Beyond :data:`POOL_PER_NODE` columns per node, columns out of the basis with the largest
``w . (a(c) - h) > 1`` are dropped: the master's optimum does not move, and a dropped column may be found
again later.

**Achievable schedule.** The head sets of the restricted master's columns, and no head, are costed by
the simulator's scorer (:func:`wsnmec.bound.costs.score_configurations`: nearest head or sink, the
``--offload`` rule, idle, and no set-up messages: the cost of a kept round). A second column generation then
works on (P) over these scorer columns:
at its duals, the local search of the linear model gives a head set, which is improved by a local search
with the scorer (flip one node in or out of the head set while the scorer's weighted cost falls) and added
when it improves that master (a heuristic: no bound comes from this phase, which stops when the search finds
no improving head set, or at the time limit; each master solve of the phase is given the time left, and one
stopped by it ends the phase with the previous solution, the new head set at 0 rounds). The schedule runs
each configuration's rounds in one block: the block's first round sets up the clusters (the scorer's cost
with set-up messages, ``kept=False``) and the others keep them, so each configuration used pays its set-up
once. The *achievable* fractional value is
(P) over the configurations (P) used, with each node's energy lessened by their set-ups (a schedule that
pays each once, so achievable under the simulator's rules); flooring its rounds and adding whole rounds
greedily while every node keeps energy > 0, a configuration's set-up charged with its first round, gives
the integer schedule, executed by the ``lp-schedule`` policy (the larger of the two values is reported).

**Set-ups.** Each configuration the schedule uses pays its set-up once: a fixed charge, which (P) does not
see, so its optimal support may hold up to N configurations. Where a set-up is dear, that costs more than the
balance gains: with the centralized pattern every node uploads its status to the sink at each set-up (N = 400,
200 x 200 m, sink (100, 250), seed 2026: a set-up costs the farthest tenth of the nodes 0.97 mJ, a kept round
0.55 mJ): the bound's own head sets, 400 configurations of two or three rounds each, are worth 894 rounds
under the simulator's rules without set-ups and 633 with them, and the longer the schedule's search ran the
more configurations it used (417 rounds without a time limit, 473 with 540 s). The configurations are
therefore chosen by dynamic slope scaling
[4]_ (:func:`_fewer_setups`): (P) is solved with each column's cost raised by its set-up spread over a block
(first :data:`SLOPE_FIRST_BLOCK` rounds, then the block's rounds in the previous iteration's schedule, so a
configuration used briefly is charged more), its support is costed exactly (set-ups paid once) and rounded,
and the longest integer schedule of the master's own support and of at most :data:`SLOPE_ITERATIONS` such
iterations is kept. On the deployment above (540 s limit, the solve not cut) the schedule is now worth 709.7
rounds (690 whole rounds, 127 configurations) against 473 before; at N = 100 the gain is a few rounds (three
deployments of each of the two sinks of the default field: +1 to +9) for 1-3 s more. Under a time limit the
choice needs time of its own: the column search of the schedule, set-up blind, adds configurations until its
deadline, so without a share kept for the choice a longer search gave a shorter schedule (seed 1 of the
same geometry, 150 s: 489 rounds when the column generation took the whole limit, 393 with 30 % of it kept
for a search that then used all of it, 657 with that 30 % split between the search and the choice, as
``lp-schedule`` solves it; the bound 962.6 against 954.6 with the whole limit).

The reported gap is ``upper - achievable``. The column generation stops when ``(upper - relaxed) / upper <=
gap`` (``relaxed``: the restricted master's value over model columns), when no column improves
(``optimal``), or at the time limit.

**Dual smoothing** (stabilisation [3]_): the pricing is solved at ``alpha w_best + (1 - alpha) w_master``
(alpha = :data:`SMOOTHING`, w_best the weights of the best bound so far); every pricing gives a valid bound
(any w >= 0 does), and when its columns do not improve the master, the round is priced again at the
master's own duals, where only the exact MILP may declare the master optimal.

**Determinism.** No step depends on the clock except through the time limit: the pricing rounds, the
relaxations every :data:`BOUND_EVERY` rounds, the roundings (seeded by :data:`ROUNDING_SEED`) and HiGHS
follow from the network and the gap alone, so a solve without a time limit gives the same result on every
run. Under a time limit T, the column generation of the bound has T, or (1 - s) T when a share s is kept for
the schedule (:func:`solve_bound`'s ``schedule_share``), of which the warm start may take
:data:`COMPACT_SHARE` (or :data:`INTERIOR_SHARE`); the achievable schedule has the rest of T, its column
search :data:`SEARCH_SHARE` of what is left when it starts and the choice of configurations with their
set-ups (*Set-ups*) the remainder. When any of these cut a step short the result
depends on the machine's speed and says so (:attr:`BoundResult.time_limited`).

References
----------
.. [1] A. A. Farley, "A note on bounding a class of linear programming problems, including cutting stock
   problems", Operations Research 38(5), 1990.
.. [2] M. Lübbecke, J. Desrosiers, "Selected topics in column generation", Operations Research 53(6), 2005.
.. [3] P. Wentges, "Weighted Dantzig-Wolfe decomposition for linear mixed-integer programming", International
   Transactions in Operational Research 4(2), 1997.
.. [4] D. Kim, P. M. Pardalos, "A solution approach to the fixed charge network flow problem using a
   dynamic slope scaling procedure", Operations Research Letters 24(4), 1999.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .costs import LinearCosts, Network, score_configurations

#: Relative safety margin taken off the pricing's dual bound (solver tolerances).
DUAL_SAFETY = 1e-9

#: Weight of the best bound's weights in the smoothed pricing weights (Wentges smoothing [3]_).
SMOOTHING = 0.5

#: Extra columns per pricing round at most: the best head set re-optimised with one of its heads forbidden.
EXTRA_COLUMNS = 8

#: The pricing problem's LP relaxation (a Farley bound) every this many pricing rounds, and whenever the
#: heuristic finds no improving column.
BOUND_EVERY = 3

#: Share of the column generation's time limit the aggregated LP of the warm start may take (module Notes).
COMPACT_SHARE = 0.4

#: Rounds at most of the aggregated LP, each over more member-head pairs (module Notes, *Warm start*).
COMPACT_ROUNDS = 8

#: Pairs the aggregated LP takes at once; beyond, it starts from each node's nearest heads.
COMPACT_PAIRS = 20_000

#: Pairs up to which the aggregated LP of a network with more than :data:`COMPACT_PAIRS` takes every pair at once,
#: by the interior-point solver without crossover (:func:`_interior_duals`; N = 400, 200 x 200 m, sink
#: (100, 250), seed 1: 124,323 pairs, 200-262 s, Farley bound 932.95 rounds, against 943.5 after 600 s from the
#: nearest heads' rounds).
INTERIOR_PAIRS = 200_000

#: Optimality tolerance of :func:`_interior_duals` (HiGHS ``ipm_optimality_tolerance``).
INTERIOR_TOLERANCE = 1e-4

#: Share of the column generation's time limit the interior-point solve may take, and a limit [s] with which it
#: is always tried (a shorter limit tries it when :func:`interior_fits`; otherwise the nearest heads' rounds).
INTERIOR_SHARE = 0.6
INTERIOR_MIN_SECONDS = 300.0

#: The interior-point solve's time on a quiet 2-core machine [s] at :data:`INTERIOR_REFERENCE_PAIRS` pairs
#: (N = 400, 200 x 200 m, sink (100, 250), seed 1: about 200 s), taken to grow as the pairs squared (N = 200,
#: 150 x 150 m, sink (75, 250): 37,475 and 38,165 pairs, the whole bound in 18-22 s), and how many times that
#: time the interior-point share of a shorter limit must hold (a busy machine is slower).
INTERIOR_REFERENCE_SECONDS = 200.0
INTERIOR_REFERENCE_PAIRS = 124_323
INTERIOR_SAFETY = 2.0


def interior_fits(pairs: int, time_limit: float | None) -> bool:
    """Whether the warm start may solve the aggregated LP over ``pairs`` member-head pairs at once by the
    interior point under ``time_limit`` [s]: always without a limit or with one of at least
    :data:`INTERIOR_MIN_SECONDS`; otherwise when :data:`INTERIOR_SAFETY` times its expected time,
    ``INTERIOR_REFERENCE_SECONDS (pairs / INTERIOR_REFERENCE_PAIRS)^2``, fits in :data:`INTERIOR_SHARE` of the
    limit. A fixed rule of the inputs, so the path does not depend on the machine."""
    if time_limit is None or time_limit >= INTERIOR_MIN_SECONDS:
        return True
    expected = INTERIOR_REFERENCE_SECONDS * (float(pairs) / INTERIOR_REFERENCE_PAIRS) ** 2
    return INTERIOR_SAFETY * expected <= INTERIOR_SHARE * float(time_limit)


#: Nearest heads per node of the aggregated LP's first round when the pairs are too many (N = 400, 200 x 200 m,
#: seed 1: the aggregated LP is worth 818 rounds over the 60 nearest, 926 over the 100 nearest, 933 over all).
COMPACT_NEAREST = 100

#: Head sets drawn per node by randomised rounding of the aggregated LP's head shares (module Notes, *Warm
#: start*), at most :data:`ROUNDING_MAX` per aggregated LP solved.
ROUNDING_PER_NODE = 5
ROUNDING_MAX = 2000

#: Head sets drawn per node, and at most, from the shares of the interior-point solve over every pair (one
#: aggregated LP, so its draws are not spread over several rounds).
INTERIOR_ROUNDING_PER_NODE = 15
INTERIOR_ROUNDING_MAX = 6000

#: Head sets drawn per node, in each pricing round, by randomised rounding of the restricted master's head
#: shares (module Notes, *Heuristic pricing*).
MASTER_ROUNDING_PER_NODE = 1

#: Seed of the randomised rounding's generator (the same deployment draws the same head sets in the same
#: order, so a solve without a time limit is repeatable).
ROUNDING_SEED = 17

#: The restricted master keeps at most this many columns per node (:class:`_MasterLP`).
POOL_PER_NODE = 4

#: Pricing rounds at most of the schedule under the simulator's rules (after the bound's column generation).
MAX_SCHEDULE_ROUNDS = 1000

#: Residual energy a node must keep after the integer schedule, relative to its initial energy.
ALIVE_MARGIN = 1e-9

#: Iterations at most of the slope scaling that chooses the schedule's configurations with their set-ups
#: (module Notes, *Set-ups*), and the block length [rounds] over which its first iteration spreads each set-up.
SLOPE_ITERATIONS = 30
SLOPE_FIRST_BLOCK = 4.0

#: Share of the schedule's time its column search may take (the choice of configurations with their set-ups
#: has the rest; module Notes, *Set-ups*).
SEARCH_SHARE = 0.5


@dataclass
class BoundResult:
    """Result of :func:`solve_bound`.

    Attributes
    ----------
    upper : float
        Upper bound on the rounds every node survives [rounds] (inf: harvesting covers a schedule forever).
    fnd_upper : int or None
        Upper bound on the first-node-death round, ``floor(upper) + 1`` (None when ``upper`` is inf).
    relaxed : float
        Value of the restricted master over the model's columns [rounds] (the cost model's schedule).
    achievable : float
        Value of the best schedule of head sets found under the simulator's rules, each configuration's
        set-up paid once (module Notes, *Achievable schedule*) [rounds].
    integer_rounds : int
        Rounds of the integer schedule (every node alive after them, by the scorer's costs).
    gap : float
        ``upper - achievable`` [rounds].
    relative_gap : float
        ``gap / upper``.
    iterations, columns : int
        Pricing rounds and model columns generated.
    seconds : float
        Wall time of the solve [s].
    stopped : str
        ``gap`` (target reached), ``optimal`` (no improving column), ``time`` (time limit), ``iterations``,
        ``unbounded`` (harvest covers a schedule forever).
    schedule : list of dict
        ``heads`` (node indices), ``rounds`` (fractional), ``integer_rounds`` per configuration of the
        achievable schedule with rounds > 0.
    bound_seconds : float or None
        Wall time until the column generation stopped [s] (``seconds`` adds the schedule under the
        simulator's rules, which may take the rest of the time limit); None in a solve cached before it
        was recorded.
    time_limited : bool
        Whether the time limit, or the share of it a step may take (the warm start's, the schedule's),
        cut any step short. The bound is valid either way, but such a result depends on the machine's speed
        and load, and another run may differ. False: every step ran to its own end, and the same network
        and gap give the same result on every run (HiGHS and the seeded draws are deterministic); a solve
        without a time limit is always so.
    without_setups : float or None
        Value of (P) over the schedule's configurations costed by the simulator's scorer as kept rounds, no
        set-up paid [rounds]: the schedule's worth if set-ups were free (module Notes, *Set-ups*), so
        ``relaxed - without_setups`` is about what the simulator's rules other than set-ups cost (the nearest
        receivers, the offload rule) and ``without_setups - achievable`` what the set-ups cost; ``achievable``
        is at most this (inf when the harvest covers a schedule forever).
    """

    upper: float
    fnd_upper: int | None
    relaxed: float
    achievable: float
    integer_rounds: int
    gap: float
    relative_gap: float
    iterations: int
    columns: int
    seconds: float
    stopped: str
    schedule: list = field(default_factory=list)
    bound_seconds: float | None = None
    time_limited: bool = False
    without_setups: float | None = None

    def to_dict(self) -> dict:
        """JSON-able dict (infinite values as None)."""
        out = {}
        for key in ("upper", "fnd_upper", "relaxed", "achievable", "integer_rounds", "gap", "relative_gap",
                    "iterations", "columns", "seconds", "stopped", "bound_seconds", "time_limited",
                    "without_setups"):
            value = getattr(self, key)
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        out["schedule"] = self.schedule
        return out


def _master(columns: np.ndarray, energy: np.ndarray, harvest: float):
    """Solve (P) over ``columns`` (K, N); returns (value, rounds, duals) or None when unbounded."""
    a_ub = (columns - harvest).T
    res = linprog(-np.ones(columns.shape[0]), A_ub=a_ub, b_ub=energy, bounds=(0, None), method="highs")
    if res.status == 3:
        return None
    if res.status != 0:
        raise RuntimeError(f"master LP failed: {res.message}")
    return -res.fun, res.x, np.maximum(-res.ineqlin.marginals, 0.0)


class _MasterTimeLimit(Exception):
    """A solve of :class:`_MasterLP` stopped by its time limit (the caller keeps its previous solution)."""


class _MasterLP:
    """The restricted master (P) kept in one HiGHS instance, so that each solve after new columns starts from
    the previous basis (SciPy's bundled HiGHS bindings; :func:`_master`, a solve from scratch, when they are
    missing). Beyond ``pool`` columns, the columns farthest from entering (largest ``w . (a - h) > 1``, so out
    of the basis) are dropped down to 3/4 of it; the master's optimum stays where it was. Only the weights
    matter for the bound (any w >= 0 gives one), so a solver's inaccuracy could only loosen it."""

    def __init__(self, energy: np.ndarray, harvest: float, pool: int):
        self.energy = energy
        self.harvest = harvest
        self.pool = pool
        self.n = energy.shape[0]
        self.columns: list[np.ndarray] = []
        self.keys: list[bytes] = []
        self.active: set[bytes] = set()
        self.highs = None
        try:
            from scipy.optimize._highspy import _core
        except ImportError:  # pragma: no cover - depends on the SciPy build
            return
        try:
            highs = _core._Highs()
            highs.setOptionValue("output_flag", False)
            n = self.n
            highs.addRows(n, np.full(n, -np.inf), energy.astype(np.float64), 0, np.zeros(n, dtype=np.int32),
                          np.zeros(0, dtype=np.int32), np.zeros(0))
            highs.changeObjectiveSense(_core.ObjSense.kMaximize)
        except (AttributeError, TypeError, RuntimeError):  # pragma: no cover - another bindings version
            return
        self.core = _core
        self.highs = highs

    def add(self, key: bytes, column: np.ndarray) -> bool:
        """Add a column (unless one with the same ``key`` is in the master)."""
        if key in self.active:
            return False
        self.active.add(key)
        self.keys.append(key)
        self.columns.append(column)
        if self.highs is not None:
            n = self.n
            self.highs.addCols(1, np.ones(1), np.zeros(1), np.full(1, np.inf), n, np.zeros(1, dtype=np.int32),
                               np.arange(n, dtype=np.int32), np.ascontiguousarray(column - self.harvest))
        return True

    def solve(self, time_limit: float | None = None):
        """(value, rounds, duals) of the master, or None when it is unbounded. ``time_limit`` [s]: the time this
        solve may take (none by default); a solve stopped by it raises :class:`_MasterTimeLimit`. (HiGHS's
        ``time_limit`` counts the run time of every solve of the instance, so this solve's limit is set past
        the time already run.)"""
        solved = None
        if self.highs is not None:
            limit = math.inf if time_limit is None else self.highs.getRunTime() + max(float(time_limit), 0.0)
            self.highs.setOptionValue("time_limit", limit)
            self.highs.run()
            status = self.highs.getModelStatus()
            statuses = self.core.HighsModelStatus
            if status == statuses.kTimeLimit:
                raise _MasterTimeLimit
            if status in (statuses.kUnbounded, statuses.kUnboundedOrInfeasible):
                return None
            if status == statuses.kOptimal:
                solution = self.highs.getSolution()
                rounds = np.maximum(np.asarray(solution.col_value, dtype=np.float64), 0.0)
                duals = np.maximum(np.asarray(solution.row_dual, dtype=np.float64), 0.0)
                solved = float(self.highs.getInfo().objective_function_value), rounds, duals
            else:
                self.highs = None  # anything else: solve from scratch from now on
        if solved is None:
            solved = _master(np.array(self.columns), self.energy, self.harvest)
            if solved is None:
                return None
        if len(self.columns) > self.pool:
            keep = self._prune(solved[1], solved[2])
            solved = solved[0], solved[1][keep], solved[2]
        return solved

    def head_masks(self) -> np.ndarray:
        """Head set of every column (bool[K, N]), read from its key (the packed head mask comes first)."""
        if not self.keys:
            return np.zeros((0, self.n), dtype=bool)
        width = (self.n + 7) // 8
        packed = np.frombuffer(b"".join(key[:width] for key in self.keys), dtype=np.uint8).reshape(-1, width)
        return np.unpackbits(packed, axis=1)[:, :self.n].astype(bool)

    def _prune(self, rounds: np.ndarray, duals: np.ndarray) -> np.ndarray:
        """Drop columns (class docstring); returns the indices of those kept."""
        reduced = (np.array(self.columns) - self.harvest) @ duals
        candidates = np.flatnonzero((rounds <= 0.0) & (reduced > 1.0 + 1e-6))
        excess = len(self.columns) - (3 * self.pool) // 4
        drop = np.sort(candidates[np.argsort(-reduced[candidates], kind="stable")[:excess]])
        if drop.size == 0:
            return np.arange(len(self.columns))
        if self.highs is not None:
            self.highs.deleteCols(int(drop.size), drop.astype(np.int32))
        keep = np.setdiff1d(np.arange(len(self.columns)), drop)
        self.columns = [self.columns[k] for k in keep]
        self.keys = [self.keys[k] for k in keep]
        self.active = set(self.keys)
        return keep


def _aggregated_lp(model: LinearCosts, energy: np.ndarray, h: float, pairs: np.ndarray):
    """The aggregated LP (P') of the module Notes (*Warm start*) over the member-head ``pairs`` (bool[N, N]) as
    ``max T`` in SciPy's ``linprog`` arrays: (cost of ``min -T``, A_ub, b_ub, A_eq, b_eq); variables T, Y, S, X
    (one X per pair, in ``np.nonzero(pairs)`` order); rows: the pairs' links, then the energy rows."""
    n = model.n
    jj, ii = np.nonzero(pairs)
    n_pair = jj.size
    nv = 1 + 2 * n + n_pair  # T, Y, S, X
    nodes = np.arange(n)
    pairs = np.arange(n_pair)
    cost = np.zeros(nv)
    cost[0] = -1.0
    assign = sparse.csr_matrix((np.concatenate([np.ones(2 * n + n_pair), -np.ones(n)]),
                                (np.concatenate([nodes, nodes, jj, nodes]),
                                 np.concatenate([1 + nodes, 1 + n + nodes, 1 + 2 * n + pairs, np.zeros(n, dtype=np.int64)]))),
                               shape=(n, nv))
    link = sparse.csr_matrix((np.concatenate([np.ones(n_pair), -np.ones(n_pair)]),
                              (np.concatenate([pairs, pairs]), np.concatenate([1 + 2 * n + pairs, 1 + ii]))),
                             shape=(n_pair, nv))
    spend = sparse.csr_matrix((np.concatenate([model.base - h, model.head_fixed, model.direct, model.member[jj, ii],
                                               model.head_per_member[ii]]),
                               (np.concatenate([nodes, nodes, nodes, jj, ii]),
                                np.concatenate([np.zeros(n, dtype=np.int64), 1 + nodes, 1 + n + nodes, 1 + 2 * n + pairs,
                                                1 + 2 * n + pairs]))), shape=(n, nv))
    return (cost, sparse.vstack([link, spend]).tocsr(), np.concatenate([np.zeros(n_pair), energy]), assign,
            np.zeros(n))


def _compact_duals(model: LinearCosts, energy: np.ndarray, h: float, pairs: np.ndarray, time_limit: float | None):
    """The aggregated LP (P') of the module Notes (*Warm start*) over the member-head ``pairs`` (bool[N, N]) by
    HiGHS: (its energy rows' duals w >= 0, each node's share of the rounds as a head), or None when HiGHS stops
    without them (time limit, unbounded)."""
    n = model.n
    cost, a_ub, b_ub, a_eq, b_eq = _aggregated_lp(model, energy, h, pairs)
    n_pair = a_ub.shape[0] - n
    options = {} if time_limit is None else {"time_limit": max(float(time_limit), 0.1)}
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs-ipm",
                  options=options)
    if res.status != 0 or res.x is None or getattr(res, "ineqlin", None) is None or not res.x[0] > 0:
        return None
    w = np.maximum(-np.asarray(res.ineqlin.marginals[n_pair:], dtype=np.float64), 0.0)
    return w, np.clip(res.x[1:1 + n] / res.x[0], 0.0, 1.0)


def _interior_duals(model: LinearCosts, energy: np.ndarray, h: float, pairs: np.ndarray, time_limit: float | None):
    """:func:`_compact_duals` by HiGHS's interior-point solver without crossover (SciPy's bundled bindings;
    :func:`_compact_duals` when they are missing): the warm start over every member-head pair of a large
    network (module Notes, *Warm start*). Its duals are optimal only to :data:`INTERIOR_TOLERANCE`, which can
    only loosen the Farley bound they give, never invalidate it."""
    try:
        from scipy.optimize._highspy import _core
        highs = _core._Highs()
        lp = _core.HighsLp()
    except (ImportError, AttributeError):  # pragma: no cover - depends on the SciPy build
        return _compact_duals(model, energy, h, pairs, time_limit)
    n = model.n
    cost, a_ub, b_ub, a_eq, b_eq = _aggregated_lp(model, energy, h, pairs)
    matrix = sparse.vstack([a_eq, a_ub]).tocsc()
    rows, cols = matrix.shape
    lp.num_col_, lp.num_row_ = cols, rows
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = cols, rows
    lp.a_matrix_.format_ = _core.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, np.zeros(cols), np.full(cols, np.inf)
    lp.row_lower_ = np.concatenate([b_eq, np.full(b_ub.size, -np.inf)])
    lp.row_upper_ = np.concatenate([b_eq, b_ub])
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("run_crossover", "off")
    highs.setOptionValue("ipm_optimality_tolerance", INTERIOR_TOLERANCE)
    if time_limit is not None:
        highs.setOptionValue("time_limit", max(float(time_limit), 0.1))
    highs.passModel(lp)
    highs.run()
    solution = highs.getSolution()
    if not (solution.value_valid and solution.dual_valid):  # any weights give a valid bound (module Notes)
        return None
    x = np.asarray(solution.col_value, dtype=np.float64)
    duals = np.asarray(solution.row_dual, dtype=np.float64)
    if x.size != cols or duals.size != rows or not x[0] > 0:
        return None
    w = np.maximum(-duals[rows - n:], 0.0)  # min -T: the energy rows' duals are <= 0
    return w, np.clip(x[1:1 + n] / x[0], 0.0, 1.0)


def warm_start_pairs(model: LinearCosts) -> tuple[np.ndarray, np.ndarray]:
    """The member-head pairs of the aggregated LP (P') (module Notes, *Warm start*): (every pair whose member
    is nearer to the head than to the sink, bool[N, N]; of those, each node's :data:`COMPACT_NEAREST` nearest
    heads, the first round's pairs beyond :data:`COMPACT_PAIRS` pairs)."""
    member = np.asarray(model.member, dtype=np.float64)
    allowed = member < model.direct[:, None]  # a member nearer than the sink (module Notes)
    np.fill_diagonal(allowed, False)
    nearest = np.argsort(np.where(allowed, member, np.inf), axis=1, kind="stable")[:, :COMPACT_NEAREST]
    first = np.zeros_like(allowed)
    np.put_along_axis(first, nearest, True, axis=1)
    return allowed, first & allowed


def rounded_head_sets(share: np.ndarray, count: int, rng: np.random.Generator) -> list:
    """``count`` head sets drawn by independent randomised rounding of the head shares ``share`` (float[N] in
    [0, 1]): node i is a head with probability ``share[i]`` (module Notes, *Warm start*); distinct sets only,
    no empty one."""
    draws = rng.random((count, share.shape[0])) < share[None, :]
    draws = draws[draws.any(axis=1)]
    return list(np.unique(draws, axis=0)) if draws.size else []


def initial_upper(model: LinearCosts, energy: np.ndarray, harvest: float) -> float:
    """``min_i E0_i / (cheapest role of i - h_i)`` [rounds] (inf when harvest covers every node's cheapest role)."""
    member = model.member + np.diag(np.full(model.n, np.inf))
    cheapest = model.base + np.minimum(np.minimum(model.direct, member.min(axis=1)), model.head_fixed)
    net = cheapest - harvest
    with np.errstate(divide="ignore"):
        per_node = np.where(net > 0, energy / np.where(net > 0, net, 1.0), np.inf)
    return float(per_node.min())


class Pricing:
    """The pricing MILP of a network (module Notes), rebuilt for each weight vector."""

    def __init__(self, model: LinearCosts):
        self.model = model

    def solve(self, w: np.ndarray, time_limit: float | None):
        """Minimise ``w . a(c)`` over all configurations: returns (lower bound, value, heads, receivers)."""
        m = self.model
        n = m.n
        cost_sink = w * m.direct
        cost_pair = w[:, None] * m.member + (w * m.head_per_member)[None, :]
        np.fill_diagonal(cost_pair, np.inf)
        jj, ii = np.nonzero(cost_pair < cost_sink[:, None])
        n_pair = jj.size
        nv = 2 * n + n_pair  # y, s, x
        c = np.concatenate([w * m.head_fixed, cost_sink, cost_pair[jj, ii]])
        rows = np.concatenate([np.arange(n), np.arange(n), jj])
        cols = np.arange(nv)
        assign = sparse.csr_matrix((np.ones(nv), (rows, cols)), shape=(n, nv))
        link = sparse.csr_matrix((np.concatenate([np.ones(n_pair), -np.ones(n_pair)]),
                                  (np.concatenate([np.arange(n_pair)] * 2),
                                   np.concatenate([2 * n + np.arange(n_pair), ii]))), shape=(n_pair, nv))
        cons = [LinearConstraint(assign, 1.0, 1.0)]
        if n_pair:
            cons.append(LinearConstraint(link, -np.inf, 0.0))
        options = {"disp": False, "mip_rel_gap": 1e-6}
        if time_limit is not None:
            options["time_limit"] = max(float(time_limit), 0.1)
        res = milp(c, integrality=np.ones(nv), bounds=Bounds(0, 1), constraints=cons, options=options)
        constant = float(w @ m.base)
        if res.x is None:
            lower = getattr(res, "mip_dual_bound", None)
            return (-np.inf if lower is None or not np.isfinite(lower) else lower + constant), np.inf, None, None
        xv = np.round(res.x).astype(np.int64)
        heads = xv[:n] == 1
        receivers = np.full(n, -1, dtype=np.int64)
        chosen = np.flatnonzero(xv[2 * n:] == 1)
        receivers[jj[chosen]] = ii[chosen]
        lower = res.mip_dual_bound if res.status == 0 or res.mip_dual_bound is not None else -np.inf
        if lower is None or not np.isfinite(lower):
            lower = -np.inf
        lower = min(lower, res.fun)
        return lower + constant, float(res.fun) + constant, heads, receivers


class FacilityInstance:
    """The pricing problem at one weight vector as a facility-location instance (module Notes, *Heuristic
    pricing* and *Lagrangian bound*): facilities are the nodes (opening cost ``F``) and the sink (free),
    clients are the nodes; ``C[j, i]`` is client j served by head i (0 for a head serving itself), ``S[j]``
    client j sending to the sink, ``const`` what every node pays whatever its role. All in [J] times the
    weights.
    """

    def __init__(self, model: LinearCosts, member: np.ndarray, w: np.ndarray):
        self.n = model.n
        self.w = w
        self.F = w * model.head_fixed
        self.S = w * model.direct
        self.C = w[:, None] * member + (w * model.head_per_member)[None, :]
        np.fill_diagonal(self.C, 0.0)
        self.const = float(w @ model.base)

    def _assignment(self, idx: np.ndarray):
        """Each client's cheapest receiver among the heads ``idx`` and the sink: (cost, position in ``idx`` or
        -1 for the sink, cost of the best other receiver than its own head)."""
        n = self.n
        if idx.size == 0:
            return self.S.copy(), np.full(n, -1, dtype=np.int64), self.S.copy()
        rows = np.arange(n)
        sub = self.C[:, idx]
        if idx.size == 1:
            own = np.zeros(n, dtype=np.int64)
            second = np.full(n, np.inf)
        else:
            part = np.argpartition(sub, 1, axis=1)
            own = part[:, 0].copy()
            second = sub[rows, part[:, 1]]
        best = sub[rows, own]
        to_sink = self.S < best
        to_sink[idx] = False
        own[idx] = np.arange(idx.size)  # a head serves itself (cost 0)
        cost = np.where(to_sink, self.S, best)
        cost[idx] = 0.0
        return cost, np.where(to_sink, -1, own), np.minimum(self.S, second)

    def evaluate(self, mask: np.ndarray):
        """Weighted cost ``w . a(c)`` of the head set ``mask`` with every member at its cheapest receiver, and
        those receivers (a head's index, -1 for the sink)."""
        idx = np.flatnonzero(mask)
        cost, pos, _ = self._assignment(idx)
        receivers = np.full(self.n, -1, dtype=np.int64)
        served = pos >= 0
        receivers[served] = idx[pos[served]]
        return self.const + float(self.F[idx].sum() + cost.sum()), receivers

    def local_search(self, mask: np.ndarray, forbidden: np.ndarray | None = None):
        """Best-improvement local search from the head set ``mask``: open a head, close one, or swap one for
        another (each move's change of cost for every candidate at once), until no move lowers the cost.
        Returns (mask, value, receivers)."""
        n = self.n
        mask = np.asarray(mask, dtype=bool).copy()
        F, C = self.F, self.C
        for _ in range(4 * n):
            idx = np.flatnonzero(mask)
            cost, pos, alt = self._assignment(idx)
            tol = 1e-12 * max(float(F[idx].sum() + cost.sum()), 1e-300)
            diff = C - cost[:, None]
            opening = F + np.minimum(diff, 0.0).sum(axis=0)
            opening[idx] = np.inf
            if forbidden is not None:
                opening[forbidden] = np.inf
            served = pos >= 0
            closing = (np.bincount(pos[served], weights=(alt - cost)[served], minlength=idx.size) - F[idx]
                       if idx.size else np.zeros(0))
            i_open = int(np.argmin(opening))
            k_close = int(np.argmin(closing)) if idx.size else -1
            gain_open = opening[i_open]
            gain_close = closing[k_close] if idx.size else np.inf
            if min(gain_open, gain_close) < -tol:
                if gain_open <= gain_close:
                    mask[i_open] = True
                else:
                    mask[idx[k_close]] = False
                continue
            if idx.size == 0:
                break
            # swap: open i, close k; only k's clients (its own node included) see more than the opening
            rows = np.flatnonzero(served)
            part = diff[rows]
            extra = np.minimum(part, (alt - cost)[rows, None]) - np.minimum(part, 0.0)
            clients = sparse.csr_matrix((np.ones(rows.size), (pos[rows], np.arange(rows.size))),
                                        shape=(idx.size, rows.size))
            swap = opening[None, :] - F[idx][:, None] + np.asarray(clients @ extra)
            k, i = np.unravel_index(int(np.argmin(swap)), swap.shape)
            if not swap[k, i] < -tol:
                break
            mask[i] = True
            mask[idx[k]] = False
        value, receivers = self.evaluate(mask)
        return mask, value, receivers

    def lagrangian(self, v: np.ndarray) -> float:
        """The Lagrangian lower bound ``L(v)`` of the pricing minimum (module Notes) at multipliers ``v``
        (clipped to [0, S], which never lowers it), less the safety margin :data:`DUAL_SAFETY` relative to
        the magnitude of its terms."""
        v = np.clip(np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0), 0.0, self.S)
        facility = self.F + np.minimum(self.C - v[:, None], 0.0).sum(axis=0)
        negative = float(np.minimum(facility, 0.0).sum() + np.minimum(self.S - v, 0.0).sum())
        total = float(v.sum())
        lower = self.const + total + negative
        return lower - DUAL_SAFETY * (abs(self.const) + total + abs(negative))

    def lp_relaxation(self, time_limit: float | None):
        """The pricing problem's LP relaxation (HiGHS): (lower bound ``L(v)`` at its equality duals v, head set
        rounded from its ``y``, whether ``y`` is integral, v), or None when HiGHS stops without a solution."""
        n = self.n
        pair = self.C.copy()
        np.fill_diagonal(pair, np.inf)
        jj, ii = np.nonzero(pair < self.S[:, None])
        n_pair = jj.size
        nv = 2 * n + n_pair
        c = np.concatenate([self.F, self.S, pair[jj, ii]])
        assign = sparse.csr_matrix((np.ones(nv), (np.concatenate([np.arange(n), np.arange(n), jj]), np.arange(nv))),
                                   shape=(n, nv))
        link = sparse.csr_matrix((np.concatenate([np.ones(n_pair), -np.ones(n_pair)]),
                                  (np.concatenate([np.arange(n_pair)] * 2),
                                   np.concatenate([2 * n + np.arange(n_pair), ii]))), shape=(n_pair, nv))
        options = {} if time_limit is None else {"time_limit": max(float(time_limit), 0.1)}
        res = linprog(c, A_ub=link if n_pair else None, b_ub=np.zeros(n_pair) if n_pair else None, A_eq=assign,
                      b_eq=np.ones(n), bounds=(0, 1), method="highs", options=options)
        if res.status != 0 or res.x is None or getattr(res, "eqlin", None) is None:
            return None
        y = res.x[:n]
        integral = bool(np.all(np.minimum(np.abs(res.x), np.abs(res.x - 1.0)) < 1e-7))
        v = np.asarray(res.eqlin.marginals, dtype=np.float64)
        return self.lagrangian(v), y > 0.5, integral, v


def _integer_schedule(columns: np.ndarray, rounds: np.ndarray, energy: np.ndarray, harvest: float,
                      setup: np.ndarray | None = None) -> np.ndarray:
    """Floor the rounds, then add whole rounds greedily while every node keeps energy > 0 (module Notes).
    ``columns``: each configuration's per-round cost in a kept round; ``setup`` (K, N): what its first round
    costs more (its set-up messages), paid once per configuration used (zero when None)."""
    whole = np.floor(rounds + 1e-9).astype(np.int64)
    net = columns - harvest
    setup = np.zeros_like(net) if setup is None else setup
    margin = ALIVE_MARGIN * energy

    def residual(counts):
        return energy - counts @ net - (counts > 0).astype(np.float64) @ setup

    while np.any(residual(whole) <= margin):  # rounding noise: take rounds back from the largest
        whole[int(np.argmax(whole))] -= 1
    while True:
        left = residual(whole)
        after = left[None, :] - net - np.where((whole == 0)[:, None], setup, 0.0)
        ok = np.all(after > margin[None, :], axis=1)
        if not ok.any():
            return whole
        score = np.where(ok, (after / energy).min(axis=1), -np.inf)
        whole[int(np.argmax(score))] += 1


def _local_search(net: Network, mask: np.ndarray, w: np.ndarray, h: float, deadline: float | None = None):
    """Flip single nodes in or out of the head set while the scorer's weighted cost ``w . (a - h)`` of a kept
    round falls (until ``deadline``, a :func:`time.perf_counter` time)."""
    flips = np.eye(net.n, dtype=bool)
    best = float(w @ (score_configurations(net, mask[None, :], kept=True)[0] - h))
    for _ in range(net.n):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        candidates = mask[None, :] ^ flips
        values = (score_configurations(net, candidates, kept=True) - h) @ w
        k = int(np.argmin(values))
        if not values[k] < best - 1e-12:
            break
        mask, best = candidates[k], float(values[k])
    return mask, best


def _schedule_with_setups(kept_cols: np.ndarray, setup: np.ndarray, rounds: np.ndarray, energy: np.ndarray,
                          h: float):
    """The achievable schedule when each configuration used pays its set-up once (module Notes, *Achievable
    schedule*): (fractional value, fractional rounds, integer rounds) from the master's ``rounds`` over the
    kept-round columns ``kept_cols`` and the set-up surcharges ``setup`` (both (K, N) [J])."""
    used = rounds > 1e-9
    budget = energy - setup[used].sum(axis=0)
    value, fractional = 0.0, np.zeros_like(rounds)
    if used.any() and np.all(budget > 0.0):
        solved = _master(kept_cols[used], budget, h)
        if solved is not None:
            value = float(solved[0])
            fractional[used] = solved[1]
    whole = _integer_schedule(kept_cols, fractional, energy, h, setup)
    return max(value, float(whole.sum())), fractional, whole


def _fewer_setups(kept_cols: np.ndarray, setup: np.ndarray, rounds: np.ndarray, energy: np.ndarray, h: float,
                  deadline: float | None):
    """The achievable schedule with its configurations chosen for their set-ups (module Notes, *Set-ups*): of
    the master's own ``rounds`` and each iteration of a dynamic slope scaling, the one whose integer schedule
    is longest (then the larger fractional value). Returns (:func:`_schedule_with_setups`'s triple, whether
    ``deadline`` cut the scaling short)."""
    best = _schedule_with_setups(kept_cols, setup, rounds, energy, h)
    if not np.any(setup > 0.0):
        return best, False
    slope = np.full(kept_cols.shape[0], 1.0 / SLOPE_FIRST_BLOCK)
    for _ in range(SLOPE_ITERATIONS):
        if deadline is not None and time.perf_counter() >= deadline:
            return best, True
        solved = _master(kept_cols + setup * slope[:, None], energy, h)
        if solved is None:
            break
        candidate = _schedule_with_setups(kept_cols, setup, solved[1], energy, h)
        if (candidate[2].sum(), candidate[0]) > (best[2].sum(), best[0]):
            best = candidate
        used = solved[1] > 1e-9
        scaled = slope.copy()
        scaled[used] = 1.0 / np.maximum(candidate[1][used], 1.0)  # each set-up over its block's exact rounds
        if np.allclose(scaled, slope):
            break
        slope = scaled
    return best, False


def _improve_achievable(net: Network, model: LinearCosts, member: np.ndarray, head_sets: list, energy: np.ndarray,
                        h: float, deadline: float | None):
    """Column generation over head sets under the simulator's rules (heuristic pricing, module Notes): the
    facility-location local search of the linear model at the duals of the scorer-costed master, then a local
    search with the scorer. Columns are the scorer's costs of kept rounds (no set-up messages). Returns the
    head masks, their kept-round costs and the master's solution over them (None when unbounded)."""
    masks = list(head_sets)
    master = _MasterLP(energy, h, sys.maxsize)
    for mask, column in zip(masks, score_configurations(net, np.array(masks), kept=True)):
        master.add(np.packbits(mask).tobytes(), column)
    solved = master.solve()
    start = np.zeros(net.n, dtype=bool)
    for _ in range(MAX_SCHEDULE_ROUNDS):
        if solved is None or (deadline is not None and time.perf_counter() >= deadline):
            break
        w = solved[2]
        heads, _v, _receivers = FacilityInstance(model, member, w).local_search(start)
        start = heads
        mask, reduced = _local_search(net, heads, w, h, deadline)
        if reduced >= 1.0 - 1e-9 or not master.add(np.packbits(mask).tobytes(),
                                                     score_configurations(net, mask[None, :], kept=True)[0]):
            break
        masks.append(mask)
        try:
            solved = master.solve(None if deadline is None else deadline - time.perf_counter())
        except _MasterTimeLimit:  # the deadline passed inside the solve: the previous solution, new column idle
            solved = solved[0], np.append(solved[1], 0.0), solved[2]
            break
    return np.array(masks), np.array(master.columns), solved


class _ColumnGeneration:
    """The state of one solve of :func:`solve_bound` (module Notes): the restricted master, the columns found,
    the best bound and its weights, and the clock."""

    def __init__(self, net: Network, gap: float, time_limit: float | None, schedule_share: float = 0.0):
        self.start = time.perf_counter()
        self.net = net
        self.gap = gap
        self.time_limit = time_limit  # the whole solve's; the column generation has bound_limit of it
        self.bound_limit = None if time_limit is None else (1.0 - schedule_share) * time_limit
        self.model = LinearCosts(net)
        self.member = np.array(self.model.member, dtype=np.float64)
        self.energy = net.energy
        self.h = net.harvest_j
        self.n = net.n
        self.upper = initial_upper(self.model, self.energy, self.h)
        self.centre = None  # the weights of the best bound so far (dual smoothing, module Notes)
        self.seen: dict[bytes, int] = {}
        self.head_sets: list[np.ndarray] = []
        self.generated = 0  # model columns added to the master
        self.master = _MasterLP(self.energy, self.h, POOL_PER_NODE * self.n)
        self.none = np.zeros(self.n, dtype=bool)
        self.best_heads = self.none
        self.rounding = np.random.default_rng(ROUNDING_SEED)
        self.pricing = Pricing(self.model)
        self.time_cut = False  # a step was cut short by the time limit or its share of it (BoundResult)
        self.at_floor = False  # the warm start's weights solve (P') over every pair (module Notes, *Warm start*)

    def add_heads(self, heads):
        key = np.packbits(heads).tobytes()
        if key not in self.seen:
            self.seen[key] = len(self.head_sets)
            self.head_sets.append(heads.copy())

    def add_model(self, heads, receivers):
        receivers = np.where(heads, -1, receivers)
        key = np.packbits(heads).tobytes() + receivers.astype(np.int64).tobytes()
        if self.master.add(key, self.model.node_costs(heads, receivers)):
            self.generated += 1
            self.add_heads(heads)

    def time_left(self):
        left = None if self.bound_limit is None else self.bound_limit - (time.perf_counter() - self.start)
        if left is not None and left <= 0:
            self.time_cut = True
        return left

    def farley(self, w, lower):
        """Lower the upper bound by the Farley bound of weights ``w`` and pricing lower bound ``lower``."""
        bound_l = lower - float(w.sum() * self.h)
        if bound_l > 0 and float(w @ self.energy) / bound_l < self.upper:
            self.upper = float(w @ self.energy) / bound_l
            self.centre = w

    def reached_gap(self, relaxed) -> bool:
        return math.isfinite(self.upper) and self.upper - relaxed <= self.gap * self.upper

    def single_heads(self):
        """The empty head set and each single-head configuration by the nearest rule: a cheap start."""
        self.add_model(self.none, np.full(self.n, -1))
        for i in range(self.n):
            heads = self.none.copy()
            heads[i] = True
            self.add_model(heads, self.model.nearest_receivers(self.net, heads))

    def warm_start(self):
        """The aggregated LP's duals and the head sets of its solution (module Notes, *Warm start*)."""
        model, member, net, n = self.model, self.member, self.net, self.n
        allowed, nearest = warm_start_pairs(model)
        pairs = allowed.copy()
        solve = _compact_duals
        share_of_limit = COMPACT_SHARE
        count = int(pairs.sum())
        if COMPACT_PAIRS < count <= INTERIOR_PAIRS and interior_fits(count, self.bound_limit):  # all at once (Notes)
            solve, share_of_limit = _interior_duals, INTERIOR_SHARE
        elif count > COMPACT_PAIRS:  # start from each node's nearest heads, then add pairs (module Notes)
            pairs = nearest
        compact_end = None if self.bound_limit is None else self.start + share_of_limit * self.bound_limit
        for _ in range(COMPACT_ROUNDS):
            left = None if compact_end is None else compact_end - time.perf_counter()
            if left is not None and left <= 0:
                self.time_cut = True
                break
            compact = solve(model, self.energy, self.h, pairs, left)
            if compact is None and solve is _interior_duals:  # cut short: each node's nearest heads instead
                solve, pairs = _compact_duals, nearest.copy()
                if compact_end is not None:
                    self.time_cut = True
                    left = self.time_left()
                    compact_end = time.perf_counter() + COMPACT_SHARE * max(left, 0.0)
                continue
            if compact is None:
                break
            w_compact, share = compact
            for level in np.unique(share[share > 1e-9]):
                heads = share >= level
                self.add_model(heads, model.nearest_receivers(net, heads))
            instance = FacilityInstance(model, member, w_compact)
            left = self.time_left()
            relaxation = instance.lp_relaxation(left) if left is None or left > 0 else None
            if relaxation is None:
                break
            self.farley(w_compact, relaxation[0])
            self.at_floor = solve is _interior_duals  # its weights' bound is taken: (P') over every pair
            for level in np.unique(share[share > 1e-9]):
                heads = share >= level
                self.add_model(heads, instance.evaluate(heads)[1])
            draws = (min(INTERIOR_ROUNDING_PER_NODE * n, INTERIOR_ROUNDING_MAX) if self.at_floor
                     else min(ROUNDING_PER_NODE * n, ROUNDING_MAX))
            for heads in rounded_head_sets(share, draws, self.rounding):
                self.add_model(heads, instance.evaluate(heads)[1])
            v = np.clip(relaxation[3], 0.0, instance.S)
            profitable = allowed & ~pairs & (instance.C - v[:, None] < 0.0)
            if not profitable.any():
                break
            pairs |= profitable
        if compact_end is not None and time.perf_counter() >= compact_end:  # its last solve may have been cut
            self.time_cut = True

    def heuristic_columns(self, w_master, relaxed, rounds, iterations, consider: "_Considered") -> bool:
        """One pricing round's heuristic columns, offered to ``consider`` (module Notes, *Heuristic pricing*,
        *Dual smoothing*); evaluates the LP relaxation's Farley bound when due. Returns whether
        ``consider`` took any column."""
        model, member, n = self.model, self.member, self.n
        at_master = consider.at_master
        alpha = SMOOTHING if self.centre is not None else 0.0
        if relaxed > 0:  # mixes of the master's columns (module Notes, *Heuristic pricing*)
            shares = np.clip(rounds @ self.master.head_masks() / relaxed, 0.0, 1.0)
            for mask in rounded_head_sets(shares, min(MASTER_ROUNDING_PER_NODE * n, ROUNDING_MAX), self.rounding):
                consider(mask)
        while True:
            w = alpha * self.centre + (1.0 - alpha) * w_master if alpha > 0 else w_master
            instance = at_master if alpha == 0 else FacilityInstance(model, member, w)
            best, best_value, _ = instance.local_search(self.best_heads)
            other, other_value, _ = instance.local_search(self.none)
            if other_value < best_value:
                best, best_value = other, other_value
            self.best_heads = best
            consider(best)
            for k in np.flatnonzero(best)[:EXTRA_COLUMNS]:  # diversification: one head of the best forbidden
                forbidden = self.none.copy()
                forbidden[k] = True
                variant, _v, _r = instance.local_search(best & ~forbidden, forbidden)
                consider(variant)
            if not consider.found or (iterations % BOUND_EVERY == 0 and not self.at_floor):
                left = self.time_left()
                relaxation = instance.lp_relaxation(left) if left is None or left > 0 else None
                if relaxation is not None:
                    lower, rounded, _integral, _v = relaxation
                    self.farley(w, lower)
                    heads_lp, _v, _r = instance.local_search(rounded)
                    consider(heads_lp)
            if consider.found or alpha == 0.0:
                return bool(consider.found)
            alpha = 0.0  # mispriced at the smoothed weights: price at the master's own

    def achievable(self, solved):
        """The achievable schedule under the simulator's rules (module Notes, *Achievable schedule*):
        (head masks, fractional rounds, integer rounds, achievable value, value without set-ups)."""
        net = self.net
        deadline = None if self.time_limit is None else self.start + self.time_limit
        search_end = (None if deadline is None
                      else time.perf_counter() + SEARCH_SHARE * max(deadline - time.perf_counter(), 0.0))
        head_sets = self.head_sets
        if solved is not None:  # the head sets of the master's columns (and no head) start it
            support = [self.none, *self.master.head_masks()]
            head_sets = list({np.packbits(m).tobytes(): m for m in support}.values())
        masks, kept_cols, solved = _improve_achievable(net, self.model, self.member, head_sets, self.energy, self.h,
                                                       search_end)
        if search_end is not None and time.perf_counter() >= search_end:
            self.time_cut = True
        if solved is None:
            return masks, np.zeros(len(masks)), np.zeros(len(masks), dtype=np.int64), math.inf, math.inf
        setup = np.maximum(score_configurations(net, masks) - kept_cols, 0.0)
        (achievable, rounds, whole), cut = _fewer_setups(kept_cols, setup, solved[1], self.energy, self.h, deadline)
        self.time_cut = self.time_cut or cut
        return masks, rounds, whole, achievable, float(solved[0])


class _Considered:
    """The improving columns of one pricing round at the master's weights (``found``: key -> (mask,
    receivers))."""

    def __init__(self, at_master: FacilityInstance, threshold: float):
        self.at_master = at_master
        self.threshold = threshold
        self.found: dict[bytes, tuple] = {}

    def __call__(self, mask):
        value, receivers = self.at_master.evaluate(mask)
        if value < self.threshold:
            self.found.setdefault(np.packbits(mask).tobytes(), (mask, receivers))


def solve_bound(net: Network, *, gap: float = 0.01, time_limit: float | None = None, max_iterations: int = 100_000,
                progress=None, schedule_share: float = 0.0) -> BoundResult:
    """Column generation for the lifetime limit of ``net`` (module Notes).

    Parameters
    ----------
    net : Network
    gap : float
        Relative target ``(upper - relaxed) / upper``.
    time_limit : float, optional
        Wall-time limit [s] of the whole solve; the bound reported is valid whenever it stops.
    progress : callable, optional
        ``progress(iteration, upper, relaxed)`` after each pricing round.
    schedule_share : float
        Share of ``time_limit`` kept for the schedule under the simulator's rules, in [0, 1): the column
        generation of the bound stops at the rest (module Notes, *Determinism*). 0 (the default) gives the
        bound the whole limit and the schedule what is left after it; ``lp-schedule``, which runs the
        schedule, keeps 30 %.
    """
    if not 0.0 <= schedule_share < 1.0:
        raise ValueError(f"schedule_share must be in [0, 1); got {schedule_share!r}")
    cg = _ColumnGeneration(net, gap, time_limit, schedule_share)
    cg.single_heads()
    relaxed = 0.0
    iterations = 0
    stopped = "iterations"
    cg.warm_start()
    while iterations < max_iterations:
        solved = cg.master.solve()
        if solved is None:
            cg.upper, relaxed, stopped = math.inf, math.inf, "unbounded"
            break
        relaxed, rounds, w_master = solved
        if cg.reached_gap(relaxed):
            stopped = "gap"
            break
        left = cg.time_left()
        if left is not None and left <= 0:
            stopped = "time"
            break
        iterations += 1
        at_master = FacilityInstance(cg.model, cg.member, w_master)
        # w_master . a(c) below the threshold: an improving column
        consider = _Considered(at_master, 1.0 - 1e-9 + float(w_master.sum() * cg.h))
        if not cg.heuristic_columns(w_master, relaxed, rounds, iterations, consider):
            if cg.reached_gap(relaxed):
                stopped = "gap"
                break
            left = cg.time_left()
            if left is not None and left <= 0:
                stopped = "time"
                break
            lower, _value, heads, _receivers = cg.pricing.solve(w_master, left)  # exact pricing (module Notes)
            cg.farley(w_master, lower - abs(lower) * DUAL_SAFETY)
            if heads is None:
                stopped = "time"
                break
            consider(heads)
            if not consider.found:
                stopped = "optimal"
                if progress is not None:
                    progress(iterations, cg.upper, relaxed)
                if cg.reached_gap(relaxed):
                    stopped = "gap"
                break
        for mask, receivers in consider.found.values():
            cg.add_model(mask, receivers)
            nearest = cg.model.nearest_receivers(net, mask)
            if not np.array_equal(nearest[~mask], receivers[~mask]):
                cg.add_model(mask, nearest)
        if progress is not None:
            progress(iterations, cg.upper, relaxed)
    bound_seconds = time.perf_counter() - cg.start
    masks, rounds, whole, achievable, without_setups = cg.achievable(solved)
    schedule = [{"heads": np.flatnonzero(masks[k]).tolist(), "rounds": float(rounds[k]),
                 "integer_rounds": int(whole[k])} for k in np.flatnonzero((rounds > 1e-9) | (whole > 0))]
    upper = cg.upper
    finite = math.isfinite(upper)
    gap_abs = upper - achievable if finite else math.inf
    return BoundResult(upper=upper, fnd_upper=int(math.floor(upper)) + 1 if finite else None, relaxed=relaxed,
                       achievable=achievable, integer_rounds=int(whole.sum()), gap=gap_abs,
                       relative_gap=gap_abs / upper if finite and upper > 0 else math.inf, iterations=iterations,
                       columns=cg.generated, seconds=time.perf_counter() - cg.start, stopped=stopped,
                       bound_seconds=bound_seconds,
                       time_limited=bool(cg.time_cut or stopped == "time"
                                         or (cg.bound_limit is not None and bound_seconds >= cg.bound_limit)),
                       schedule=schedule, without_setups=without_setups)
