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
configurations.

**Farley / Lagrangian bound.** Let w >= 0 be any weights (here the duals of the restricted master over the
columns found so far) and L <= min_c sum_i w_i (a_i(c) - h_i) a lower bound of the pricing problem over *all*
configurations. For every feasible t of (P),

    sum_i w_i E0_i >= sum_i w_i sum_c t_c (a_i(c) - h_i) = sum_c t_c [w . (a(c) - h)] >= L sum_c t_c,

so if L > 0, **T* <= w . E0 / L** (the dual solution w / L is feasible). Every iteration gives such a bound; the
smallest is reported, so the bound is valid whenever the run stops (gap, time limit, interrupt). Before the
first iteration the bound ``min_i E0_i / (min_c a_i(c) - h_i)`` (each node's cheapest role) holds. L is the
pricing MILP's dual bound (HiGHS ``mip_dual_bound``, at least the LP relaxation's value, also when it stops early),
lowered by a relative 1e-9 against rounding.

**Pricing** (weighted facility location). With the module's cost model, min_c w . a(c) is

    min  sum_i F_i y_i + sum_{j != i} C_ji x_ji + sum_j S_j s_j + sum_j w_j base_j
    s.t. y_j + s_j + sum_i x_ji = 1,   x_ji <= y_i,   y, s, x binary,

F_i = w_i head_fixed_i, C_ji = w_j member_ji + w_i head_per_member_i, S_j = w_j direct_j. Pairs with
C_ji >= S_j are left out: sending to the sink is then at least as cheap, so an optimum without them exists
(exact, not a relaxation).

**Achievable schedule.** Each head set found is also costed by the simulator's scorer
(:func:`wsnmec.bound.costs.score_configurations`: nearest head or sink, the ``--offload`` rule, control, idle).
A second column generation then works on (P) over these scorer columns: at its duals, the pricing MILP's
head set is improved by a local search (flip one node in or out of the head set while the scorer's weighted
cost falls) and added when it improves that master (a heuristic: no bound comes from this phase, which stops
when the search finds no improving head set, or at the time limit). (P) over the scorer columns gives the
*achievable* fractional value; flooring its rounds and adding whole
rounds greedily while every node keeps energy > 0 gives the integer schedule, executed by the ``lp-schedule``
policy. The reported gap is ``upper - achievable``. The column generation stops when
``(upper - relaxed) / upper <= gap`` (``relaxed``: the restricted master's value over model columns), when no
column improves, or at the time limit.

**Dual smoothing** (stabilisation [3]_): the pricing is solved at ``alpha w_best + (1 - alpha) w_master``
(alpha = :data:`SMOOTHING`, w_best the weights of the best bound so far); every pricing gives a valid bound
(any w >= 0 does), and when its column does not improve the master, the round is priced again at the
master's own duals, where no improving column means the master is optimal.

References
----------
.. [1] A. A. Farley, "A note on bounding a class of linear programming problems, including cutting stock
   problems", Operations Research 38(5), 1990.
.. [2] M. Lübbecke, J. Desrosiers, "Selected topics in column generation", Operations Research 53(6), 2005.
"""

from __future__ import annotations

import math
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

#: Pricing rounds at most of the schedule under the simulator's rules (after the bound's column generation).
MAX_SCHEDULE_ROUNDS = 1000

#: Residual energy a node must keep after the integer schedule, relative to its initial energy.
ALIVE_MARGIN = 1e-9


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
        Value of the best fractional schedule of head sets under the simulator's rules [rounds].
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

    def to_dict(self) -> dict:
        """JSON-able dict (infinite values as None)."""
        out = {}
        for key in ("upper", "fnd_upper", "relaxed", "achievable", "integer_rounds", "gap", "relative_gap",
                    "iterations", "columns", "seconds", "stopped"):
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


def _integer_schedule(columns: np.ndarray, rounds: np.ndarray, energy: np.ndarray, harvest: float) -> np.ndarray:
    """Floor the rounds, then add whole rounds greedily while every node keeps energy > 0 (module Notes)."""
    whole = np.floor(rounds + 1e-9).astype(np.int64)
    net = columns - harvest
    margin = ALIVE_MARGIN * energy

    def residual(counts):
        return energy - counts @ net

    while np.any(residual(whole) <= margin):  # rounding noise: take rounds back from the largest
        whole[int(np.argmax(whole))] -= 1
    while True:
        left = residual(whole)
        after = left[None, :] - net
        ok = np.all(after > margin[None, :], axis=1)
        if not ok.any():
            return whole
        score = np.where(ok, (after / energy).min(axis=1), -np.inf)
        whole[int(np.argmax(score))] += 1


def _local_search(net: Network, mask: np.ndarray, w: np.ndarray, h: float):
    """Flip single nodes in or out of the head set while the scorer's weighted cost ``w . (a - h)`` falls."""
    flips = np.eye(net.n, dtype=bool)
    best = float(w @ (score_configurations(net, mask[None, :])[0] - h))
    for _ in range(net.n):
        candidates = mask[None, :] ^ flips
        values = (score_configurations(net, candidates) - h) @ w
        k = int(np.argmin(values))
        if not values[k] < best - 1e-12:
            break
        mask, best = candidates[k], float(values[k])
    return mask, best


def _improve_achievable(net: Network, pricing: Pricing, head_sets: list, energy: np.ndarray, h: float,
                        deadline: float | None):
    """Column generation over head sets under the simulator's rules (heuristic pricing, module Notes): the
    pricing MILP at the duals of the scorer-costed master, then a local search with the scorer. Returns the
    head masks and their scorer costs."""
    masks = np.array(head_sets)
    cols = score_configurations(net, masks)
    known = {np.packbits(m).tobytes() for m in masks}
    for _ in range(MAX_SCHEDULE_ROUNDS):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        solved = _master(cols, energy, h)
        if solved is None:
            break
        _value, _rounds, w = solved
        _lower, _v, heads, _receivers = pricing.solve(w, left)
        if heads is None:
            break
        mask, reduced = _local_search(net, heads, w, h)
        key = np.packbits(mask).tobytes()
        if reduced >= 1.0 - 1e-9 or key in known:
            break
        known.add(key)
        masks = np.vstack([masks, mask[None, :]])
        cols = np.vstack([cols, score_configurations(net, mask[None, :])])
    return masks, cols


def solve_bound(net: Network, *, gap: float = 0.01, time_limit: float | None = None, max_iterations: int = 100_000,
                progress=None) -> BoundResult:
    """Column generation for the lifetime limit of ``net`` (module Notes).

    Parameters
    ----------
    net : Network
    gap : float
        Relative target ``(upper - relaxed) / upper``.
    time_limit : float, optional
        Wall-time limit [s]; the bound reported is valid whenever it stops.
    progress : callable, optional
        ``progress(iteration, upper, relaxed)`` after each pricing round.
    """
    start = time.perf_counter()
    model = LinearCosts(net)
    energy = net.energy
    h = net.harvest_j
    n = net.n
    upper = initial_upper(model, energy, h)
    seen: dict[bytes, int] = {}
    head_sets: list[np.ndarray] = []
    model_cols: list[np.ndarray] = []

    def add_heads(heads):
        key = np.packbits(heads).tobytes()
        if key not in seen:
            seen[key] = len(head_sets)
            head_sets.append(heads.copy())

    def add_model(heads, receivers):
        model_cols.append(model.node_costs(heads, receivers))
        add_heads(heads)

    none = np.zeros(n, dtype=bool)
    add_model(none, np.full(n, -1))
    for i in range(n):  # single-head configurations by the nearest rule: a cheap start
        heads = none.copy()
        heads[i] = True
        add_model(heads, model.nearest_receivers(net, heads))
    relaxed = 0.0
    iterations = 0
    stopped = "iterations"
    centre = None  # the weights of the best bound so far (dual smoothing, module Notes)
    pricing = Pricing(model)
    while iterations < max_iterations:
        solved = _master(np.array(model_cols), energy, h)
        if solved is None:
            upper, relaxed, stopped = math.inf, math.inf, "unbounded"
            break
        relaxed, _rounds, w_master = solved
        if math.isfinite(upper) and upper - relaxed <= gap * upper:
            stopped = "gap"
            break
        alpha = SMOOTHING if centre is not None else 0.0
        while True:
            left = None if time_limit is None else time_limit - (time.perf_counter() - start)
            if left is not None and left <= 0:
                stopped = "time"
                break
            w = alpha * centre + (1.0 - alpha) * w_master if alpha > 0 else w_master
            lower, value, heads, receivers = pricing.solve(w, left)
            iterations += 1
            inflow = float(w.sum() * h)
            bound_l = lower - abs(lower) * DUAL_SAFETY - inflow
            if bound_l > 0 and float(w @ energy) / bound_l < upper:
                upper = float(w @ energy) / bound_l
                centre = w
            if progress is not None:
                progress(iterations, upper, relaxed)
            if heads is None:
                stopped = "time"
                break
            column = model.node_costs(heads, receivers)
            if float(w_master @ (column - h)) < 1.0 - 1e-9:
                break  # an improving column for the master
            if alpha == 0.0:
                stopped = "optimal"
                break
            alpha = 0.0  # mispriced at the smoothed weights: price at the master's own
        if stopped in ("time", "optimal"):
            if math.isfinite(upper) and upper - relaxed <= gap * upper:
                stopped = "gap"
            break
        add_model(heads, receivers)
        nearest = model.nearest_receivers(net, heads)
        if not np.array_equal(nearest[~heads], receivers[~heads]):
            model_cols.append(model.node_costs(heads, nearest))
    # the achievable schedule under the simulator's rules
    deadline = None if time_limit is None else start + time_limit
    masks, true_cols = _improve_achievable(net, pricing, head_sets, energy, h, deadline)
    solved = _master(true_cols, energy, h)
    if solved is None:
        achievable, rounds = math.inf, np.zeros(len(masks))
        whole = np.zeros(len(masks), dtype=np.int64)
    else:
        achievable, rounds, _ = solved
        whole = _integer_schedule(true_cols, rounds, energy, h)
    schedule = [{"heads": np.flatnonzero(masks[k]).tolist(), "rounds": float(rounds[k]),
                 "integer_rounds": int(whole[k])} for k in np.flatnonzero((rounds > 1e-9) | (whole > 0))]
    finite = math.isfinite(upper)
    gap_abs = upper - achievable if finite else math.inf
    return BoundResult(upper=upper, fnd_upper=int(math.floor(upper)) + 1 if finite else None, relaxed=relaxed,
                       achievable=achievable, integer_rounds=int(whole.sum()), gap=gap_abs,
                       relative_gap=gap_abs / upper if finite and upper > 0 else math.inf, iterations=iterations,
                       columns=len(model_cols), seconds=time.perf_counter() - start, stopped=stopped,
                       schedule=schedule)
