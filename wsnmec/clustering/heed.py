"""Single-hop HEED: the HEED cluster-head election (Younis and Fahmy 2004) with heads sending to the sink.

Notes
-----
**Single hop.** [1]_ assumes that cluster heads relay to the sink over a multi-hop network of heads, which is
what lets HEED's many small clusters pay off there. Here, as for every protocol of this package, each head
sends its fused packet straight to the sink (one hop), so only HEED's *election* is reproduced, and its
cluster range is sized for single-hop clusters (below: the expected number of heads matches k_opt, the
single-hop optimum of Heinzelman et al. 2002). Results of this policy are those of a single-hop HEED
election, not of the multi-hop protocol of [1]_.

HEED (Hybrid Energy-Efficient Distributed clustering, [1]_) elects cluster heads (CHs) each round by a
few iterations of probabilistic, local announcements within the *cluster range* R_c [m]. Node j is within
range of node i when ``dx*dx + dy*dy <= R_c^2`` (dx, dy the coordinate differences [m]). Per round:

**Initialize.** Every alive node i computes

    CH_prob_i = min(max(C_prob * E_residual,i / E_max,i, p_min), 1)

with C_prob = p (the scenario's ``--p``), p_min = 1e-4 and E_max,i = the node's *initial* energy [J]
(E_residual = its stored energy after this round's harvest; the cap at 1 only matters when a harvest has
filled a node beyond its initial energy; a node with initial energy 0 uses p_min). Its *cost* is its node
degree: the number of alive nodes other than itself within R_c. Node degree is the paper's cost for
distributing load among CHs (the least-cost CH is the one with the fewest neighbours); it is chosen over
AMRP because the first-order radio model has no discrete power levels for AMRP's "minimum power level",
and an integer cost keeps kernel and reference equal bit for bit. Ties of cost go to the lower node index.

**Repeat** (iterations t = 1, 2, ...; in each, the alive nodes still iterating act in increasing index
order and every announcement is heard by the nodes within R_c before the next node acts; S_CH of node i =
the CHs, tentative or final, within R_c of i, i itself included):

1. if S_CH is not empty, i picks its least-cost member; if that is i itself, i announces itself *final*
   CH when CH_prob_i = 1, else *tentative* CH (again); a CH that finds a cheaper CH would become a
   regular node (see below: with announcements heard at once this cannot happen);
2. else, if CH_prob_i = 1, i announces itself final CH;
3. else i draws u uniform in [0, 1) and announces itself tentative CH when u <= CH_prob_i;
4. CH_prob_i <- min(2 CH_prob_i, 1); node i stops after the iteration in which CH_prob_i was 1
   (ceil(log2(1 / CH_prob_i)) + 1 iterations, at most 15 with p_min = 1e-4).

**Finalize**: a node that is not final CH joins the least-cost final CH within R_c (:attr:`HeedPolicy.head_of`);
if there is none it becomes a final CH itself. The result is the mask of final CHs; the accounting
(:mod:`wsnmec.sim.accounting`) assigns members to their *nearest* CH, not to ``head_of``.

*Why announcements are heard within the iteration.* A node announces only when no CH is within its
range, so no two CHs are ever within range of each other: a CH is always its own least-cost candidate,
every tentative CH becomes final, and Finalize never creates a CH. The CHs are thus spread at least R_c
apart and their number is set by R_c, hardly by C_prob, which in [1]_ only limits the initial
announcements. Reading the iterations as fully synchronous instead (every node decides on the
announcements of the previous iteration; tentative CHs that hear a cheaper one fall silent and the nodes
that relied on them end up uncovered and become CHs together) makes the number of CHs explode with
density (5 uniform deployments in 100 m x 100 m, C_prob = 0.1, equal energies): 100 nodes, R_c = 43.8 m:
7.8 +- 3.4 CHs (this rule: 5.0 +- 0.9); 1000 nodes, R_c = 24.7 m: 265 +- 80 (this rule: 14.0 +- 1.1),
and with C_prob = 0.01 18.8 +- 7.3 (this rule: 13.6 +- 1.0). The cost therefore only decides which CH a
member joins (``head_of``).

**Control messages per round** (charged only when ``--control-bits`` B > 0; B = 0 charges nothing):

- *neighbour discovery* (round 1 only; the node degree is the cost): every alive node broadcasts one hello
  over R_c, E_tx(B, R_c), and receives the hello of each alive node within R_c, E_rx(B) = B E_elec [J]
  each. Later deaths are learnt from the missing announcements, so the hellos are not repeated;
- *Repeat phase* (:meth:`HeedPolicy.control_energy`): every announcement (tentative or final,
  re-announcements in later iterations included) costs its sender E_tx(B, R_c) and every other alive node
  within R_c E_rx(B);
- *after Finalize*, the ``distributed`` pattern that the accounting charges for every distributed protocol
  (:mod:`wsnmec.sim.accounting`): each final CH's advertisement over the network's diameter (heard by every
  alive non-CH node), each member's join request to its CH, each CH's TDMA schedule to its members.

**Cluster range.** A parameter ``cluster_range`` [m]; by default (``range_rule = "k_opt"``) the range at
which the expected number of final heads is k_opt, the radio model's optimal number of clusters
(:func:`wsnmec.clustering.optimal.optimal_cluster_count_for`) of the network at :meth:`HeedPolicy.reset`
(the initially alive nodes, before round 1). R_c is then fixed for the run, as a radio's cluster power
level is in [1]_.

*Derivation.* The final heads are pairwise more than R_c apart (see above) and every alive node lies within
R_c of one: the heads form a random sequential packing of the nodes with exclusion distance R_c. Discs of
radius R_c / 2 around the heads are disjoint and lie in the W x H field grown by R_c / 2 on each side, so
with a packing fraction theta of a grown field (W + alpha R_c) x (H + alpha R_c) the expected number of heads is

    K(R_c) = theta (W + alpha R_c) (H + alpha R_c) / (pi R_c^2 / 4).

Setting K(R_c) = k_opt gives a quadratic in R_c whose positive root is the range
(:func:`single_hop_cluster_range`):

    (pi k / 4 - theta alpha^2) R_c^2 - theta alpha (W + H) R_c - theta W H = 0.

theta and alpha are calibrated (:data:`PACKING_FRACTION`, :data:`EDGE_GROWTH`) against the election itself
on uniform 100-node fields (W = H = 100 m, 40 deployments x 5 rounds at full energy, C_prob = 0.1): a
least-squares fit of log K over R_c = 15 .. 100 m gives theta = 0.375 and alpha = 0.89 (the mean heads were
24.4, 16.2, 11.6, 8.9, 5.7, 4.1, 3.3, 2.8, 2.2 and 1.5 at R_c = 15, 20, 25, 30, 40, 50, 60, 70, 80 and
100 m; the fit is within 8 % from 20 to 80 m, +12 % at 15 m and +16 % at 100 m). theta is below the
jamming fraction 0.547 of continuous random sequential adsorption because heads can only be nodes. With
1000 nodes the same ranges give 5 to 15 % more heads (theta about 0.49 there): the constants are
calibrated for the 100-node fields of the shipped studies. The naive "each head covers a disc of radius
R_c", R_c = sqrt(W H / (pi k)), gives 1.7 times k_opt heads in the classic scenario, and the former rule
R_c = diagonal / sqrt(k_opt) (still available as ``range_rule = "diagonal"``) gives about half of k_opt
(8 uniform 100-node deployments x 60 rounds: 5.0 heads per round for a mean k_opt of 10.2 at the centre
sink, 1.6 for k_opt = 2.1 at the sink (50, 175); with the k_opt range 10.4 and 2.2 heads:
``tests/test_heed_run.py::test_mean_head_count_matches_k_opt``).

Random draws: per iteration, one uniform (``rng.random()``) for each alive, still-iterating node that is
not a CH, hears no CH and has CH_prob < 1, in increasing node order. Nothing else draws.

Neighbour searches use a uniform grid of cells at least R_c wide built once per run (positions are
fixed): a round costs O(N) per iteration plus O(CHs x neighbours) (only the final CHs' costs are ever
compared, so only theirs are computed).

References
----------
.. [1] O. Younis, S. Fahmy, "HEED: a hybrid, energy-efficient, distributed clustering approach for ad hoc
   sensor networks", IEEE Trans. Mobile Computing 3(4), 366-379, 2004.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..energy.radio import tx_energy_jit
from ..errors import ParameterError
from ..energy.layout import P_CONTROL_BITS
from .base import ClusteringPolicy, described_p, resolved_p
from .optimal import optimal_cluster_count_for

#: The floor p_min of CH_prob in [1]_.
P_MIN = 1e-4

#: Index of the control-message size B [bit] in ``NetworkState.params``.
CONTROL_BITS_INDEX = P_CONTROL_BITS

NONE, TENTATIVE, FINAL = 0, 1, 2


#: theta: the fraction of the grown field that the heads' disjoint discs (radius R_c / 2) fill (module Notes).
PACKING_FRACTION = 0.375

#: alpha: the field is grown by alpha R_c in each dimension for the heads' discs (module Notes).
EDGE_GROWTH = 0.89

#: How :class:`HeedPolicy` sizes its default cluster range: ``k_opt`` (expected heads = k_opt, the default)
#: or ``diagonal`` (the field's diagonal / sqrt(k_opt), the range of earlier versions).
RANGE_RULES = ("k_opt", "diagonal")


def single_hop_cluster_range(k: float, width: float, height: float) -> float:
    """The cluster range R_c [m] at which a W x H [m] field of uniform nodes has about ``k`` final heads.

    The positive root of ``(pi k / 4 - theta alpha^2) R^2 - theta alpha (W + H) R - theta W H = 0``
    (module Notes, theta = :data:`PACKING_FRACTION`, alpha = :data:`EDGE_GROWTH`); ``k`` is raised to 1 at
    least (one head covers any field).
    """
    k = max(float(k), 1.0)
    theta, alpha = PACKING_FRACTION, EDGE_GROWTH
    a = math.pi * k / 4.0 - theta * alpha * alpha
    b = theta * alpha * (width + height)
    c = theta * width * height
    return (b + math.sqrt(b * b + 4.0 * a * c)) / (2.0 * a)


def default_cluster_range(state, rule: str = "k_opt") -> float:
    """The default cluster range [m] for the network ``state`` (module Notes): ``k_opt`` expected heads
    (:func:`single_hop_cluster_range`), or under ``rule="diagonal"`` the field's diagonal / sqrt(k_opt)."""
    width, height = float(state.field[0]), float(state.field[1])
    k_opt = optimal_cluster_count_for(state)
    if rule == "diagonal":
        diagonal = math.hypot(width, height)
        return diagonal / math.sqrt(k_opt) if k_opt > 0 else diagonal
    return single_hop_cluster_range(k_opt, width, height)


def build_grid(x: np.ndarray, y: np.ndarray, cluster_range: float):
    """A uniform grid over the nodes' bounding box with cells at least ``cluster_range`` [m] wide.

    Returns ``(geometry, shape, cell_start, cell_node, cell_x, cell_y)``: float64[4] (x0, y0, cell width,
    cell height) [m]; int64[2] (cells along x, y); int64[cells + 1] CSR offsets; int64[N] node indices
    sorted by cell (increasing index within a cell) and their coordinates [m] in that order. Any two nodes
    within ``cluster_range`` lie in the same or adjacent cells. There are at most about 4 N cells.
    """
    n = x.shape[0]
    x0, y0 = float(x.min()), float(y.min())
    width, height = float(x.max()) - x0, float(y.max()) - y0
    reach = cluster_range * (1.0 + 1e-6)  # cells a little wider than R_c: rounding cannot skip a cell
    nx = max(1, int(min(width / reach, 1e9)))
    ny = max(1, int(min(height / reach, 1e9)))
    limit = 4 * n + 4
    while nx * ny > limit:
        nx, ny = max(1, nx // 2), max(1, ny // 2)
    cell_w = width / nx if width > 0 else 1.0
    cell_h = height / ny if height > 0 else 1.0
    cx = np.minimum(((x - x0) / cell_w).astype(np.int64), nx - 1)
    cy = np.minimum(((y - y0) / cell_h).astype(np.int64), ny - 1)
    cell = cy * nx + cx
    cell_node = np.argsort(cell, kind="stable").astype(np.int64)
    cell_start = np.zeros(nx * ny + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=nx * ny), out=cell_start[1:])
    geometry = np.array([x0, y0, cell_w, cell_h], dtype=np.float64)
    return (geometry, np.array([nx, ny], dtype=np.int64), cell_start, cell_node,
            np.ascontiguousarray(x[cell_node]), np.ascontiguousarray(y[cell_node]))


@njit(cache=True, nogil=True, inline="always")
def _cell_range(xi, yi, geometry, shape):
    """The cells (x from, x to, y from, y to; ends exclusive) that may hold nodes within range."""
    cx = max(min(int((xi - geometry[0]) / geometry[2]), shape[0] - 1), 0)
    cy = max(min(int((yi - geometry[1]) / geometry[3]), shape[1] - 1), 0)
    return max(cx - 1, 0), min(cx + 2, shape[0]), max(cy - 1, 0), min(cy + 2, shape[1])


@njit(cache=True, nogil=True)
def elect_heed(rng, x, y, alive, energy, initial, c_prob, p_min, r2, geometry, shape, cell_start, cell_node,
               cell_x, cell_y, status, sent, heard, head_of, degree, prob, covered):
    """One HEED clustering (module Notes), compiled; returns the number of iterations run.

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator (draws as in the module Notes).
    x, y : float64[N]
        Positions [m].
    alive : uint8[N]
    energy, initial : float64[N]
        Residual and initial (E_max) energy [J].
    c_prob, p_min : float
        C_prob and the floor p_min of CH_prob.
    r2 : float
        R_c^2 [m^2].
    geometry, shape, cell_start, cell_node, cell_x, cell_y
        The grid of :func:`build_grid`.
    status : uint8[N]
        Output: 2 final CH, else 0.
    sent, heard : int64[N]
        Output: announcements each node sent in the Repeat phase and heard from the other alive nodes
        within R_c.
    head_of : int64[N]
        Output: the CH each alive node joins in Finalize (least cost, then lower index; itself for a CH;
        -1 for dead nodes).
    degree : int64[N]
        Output: the node degree (cost) of each final CH (alive nodes other than itself within R_c); -1 for
        the other nodes (their cost is never compared).
    prob : float64[N]; covered : uint8[N]
        Scratch (CH_prob, 0 once a node stopped; whether a node hears a CH).
    """
    n = x.shape[0]
    nx = shape[0]
    n_active = 0
    for i in range(n):
        status[i] = NONE
        sent[i] = 0
        heard[i] = 0
        head_of[i] = -1
        degree[i] = -1
        covered[i] = 0
        if alive[i] != 0:
            ratio = energy[i] / initial[i] if initial[i] > 0.0 else 0.0
            prob[i] = min(max(c_prob * ratio, p_min), 1.0)
            n_active += 1
        else:
            prob[i] = 0.0
    iterations = 0
    while n_active > 0:
        iterations += 1
        for i in range(n):
            if prob[i] <= 0.0:  # dead, or stopped iterating
                continue
            announce = False
            if status[i] != NONE:  # a CH: no other CH is within its range, so it is its least-cost candidate
                if prob[i] == 1.0:
                    status[i] = FINAL
                announce = True
            elif covered[i] != 0:
                pass  # hears a CH: waits (joins in Finalize)
            elif prob[i] == 1.0:
                status[i] = FINAL
                announce = True
            elif rng.random() <= prob[i]:
                status[i] = TENTATIVE
                announce = True
            if announce:
                sent[i] += 1
                if covered[i] == 0:  # first announcement: the nodes within range hear a CH from now on
                    xi, yi = x[i], y[i]
                    gx0, gx1, gy0, gy1 = _cell_range(xi, yi, geometry, shape)
                    for gy in range(gy0, gy1):
                        for k in range(cell_start[gy * nx + gx0], cell_start[gy * nx + gx1]):
                            dx = cell_x[k] - xi
                            dy = cell_y[k] - yi
                            if dx * dx + dy * dy <= r2:
                                covered[cell_node[k]] = 1
            if prob[i] == 1.0:
                prob[i] = 0.0  # CH_previous = 1: this node stops
                n_active -= 1
            else:
                prob[i] = min(prob[i] * 2.0, 1.0)
    # Finalize: the final CHs' costs; every announcement reaches the alive nodes within range; each other
    # node joins the least-cost final CH within range
    for c in range(n):
        if status[c] != FINAL:
            continue
        xc, yc = x[c], y[c]
        count = 0
        gx0, gx1, gy0, gy1 = _cell_range(xc, yc, geometry, shape)
        for gy in range(gy0, gy1):
            for k in range(cell_start[gy * nx + gx0], cell_start[gy * nx + gx1]):
                if alive[cell_node[k]] != 0:
                    dx = cell_x[k] - xc
                    dy = cell_y[k] - yc
                    if dx * dx + dy * dy <= r2:
                        count += 1
        degree[c] = count - 1  # c itself was counted
    for c in range(n):
        if status[c] != FINAL:
            continue
        xc, yc = x[c], y[c]
        gx0, gx1, gy0, gy1 = _cell_range(xc, yc, geometry, shape)
        for gy in range(gy0, gy1):
            for k in range(cell_start[gy * nx + gx0], cell_start[gy * nx + gx1]):
                j = cell_node[k]
                if alive[j] == 0 or j == c:
                    continue
                dx = cell_x[k] - xc
                dy = cell_y[k] - yc
                if dx * dx + dy * dy > r2:
                    continue
                heard[j] += sent[c]
                b = head_of[j]
                if status[j] != FINAL and (b < 0 or degree[c] < degree[b] or (degree[c] == degree[b] and c < b)):
                    head_of[j] = c
    for i in range(n):
        if alive[i] != 0 and (status[i] == FINAL or head_of[i] < 0):
            status[i] = FINAL  # (a node hearing no final CH would become one; cannot happen, see Notes)
            head_of[i] = i
    return iterations


class HeedPolicy(ClusteringPolicy):
    """HEED election (module Notes) as a clustering policy.

    Parameters
    ----------
    scenario : Scenario
        C_prob is ``scenario.p``.
    cluster_range : float or None
        R_c [m] (> 0); None: computed in :meth:`reset` by ``range_rule``.
    p_min : float
        Floor of CH_prob, in (0, 1] (default 1e-4, the paper's).
    range_rule : {"k_opt", "diagonal"}
        The default range when ``cluster_range`` is None (:func:`default_cluster_range`): expected heads
        k_opt (default), or the earlier versions' field diagonal / sqrt(k_opt).

    Own per-node state, after each :meth:`elect`: the announcements each node sent and heard (``sent``,
    ``heard``; charged by :meth:`control_energy`), the CH each node joins by the paper's rule
    (``head_of``) and the final CHs' node degrees (``degree``, -1 elsewhere).
    """

    name = "heed"
    control = "distributed"
    fused_code = None

    def __init__(self, scenario, cluster_range: float | None = None, p_min: float = P_MIN,
                 range_rule: str = "k_opt"):
        super().__init__(scenario)
        if range_rule not in RANGE_RULES:
            raise ParameterError("range_rule", f"must be one of {', '.join(RANGE_RULES)}; got {range_rule!r}")
        self.range_rule = range_rule
        if cluster_range is not None:
            try:
                value = float(cluster_range)
            except (TypeError, ValueError):
                value = math.nan
            if not (math.isfinite(value) and value > 0.0):
                raise ParameterError("cluster_range", f"must be a finite number > 0 [m]; got {cluster_range!r}")
        if isinstance(p_min, bool) or not isinstance(p_min, (int, float)) or not 0.0 < float(p_min) <= 1.0:
            raise ParameterError("p_min", f"must be a number in (0, 1]; got {p_min!r}")
        self.requested_range = None if cluster_range is None else float(cluster_range)
        self.p_min = float(p_min)
        self.cluster_range = self.requested_range
        self.iterations = 0

    def reset(self, state, rng):
        n = state.n
        self.c_prob = resolved_p(state)  # (--p auto: k_opt / N of the deployment)
        if self.requested_range is None:
            self.cluster_range = default_cluster_range(state, self.range_rule)
        self.r2 = self.cluster_range * self.cluster_range
        self._x = np.ascontiguousarray(state.x, dtype=np.float64)
        self._y = np.ascontiguousarray(state.y, dtype=np.float64)
        self.grid = build_grid(self._x, self._y, self.cluster_range)
        self.degree = np.full(n, -1, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.uint8)
        self.sent = np.zeros(n, dtype=np.int64)
        self.heard = np.zeros(n, dtype=np.int64)
        self.head_of = np.full(n, -1, dtype=np.int64)
        self._prob = np.zeros(n, dtype=np.float64)
        self._covered = np.zeros(n, dtype=np.uint8)
        radio = self.scenario.radio_model()
        self._radio = (radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0)

    def elect(self, state, rng):
        alive = np.ascontiguousarray(state.alive_u8, dtype=np.uint8)
        self.iterations = elect_heed(
            rng, self._x, self._y, alive, np.ascontiguousarray(state.energy, dtype=np.float64),
            np.ascontiguousarray(state.initial_energy, dtype=np.float64), self.c_prob, self.p_min, self.r2,
            *self.grid, self.status, self.sent, self.heard, self.head_of, self.degree, self._prob,
            self._covered)
        return self.status == FINAL

    def control_energy(self, state, heads):
        """The Repeat phase's announcements of the last :meth:`elect` [J] per node (module Notes):
        ``sent * E_tx(B, R_c) + heard * B * E_elec``, plus in round 1 the neighbour discovery
        (:meth:`hello_energy`); None when B = 0."""
        bits = float(state.params[CONTROL_BITS_INDEX])
        if bits <= 0.0:
            return None
        e_elec, eps_fs, eps_mp, d0 = self._radio
        tx = tx_energy_jit(bits, self.cluster_range, e_elec, eps_fs, eps_mp, d0)
        extra = self.sent * tx + self.heard * (bits * e_elec)
        if state.round == 1:
            extra = extra + self.hello_energy(state, tx, bits * e_elec)
        return extra

    def hello_energy(self, state, tx: float, rx: float) -> np.ndarray:
        """Round 1's neighbour discovery [J] per node: an alive node's hello, ``tx`` = E_tx(B, R_c), plus
        ``rx`` = E_rx(B) per alive node within R_c (module Notes)."""
        from scipy.spatial import cKDTree

        alive = np.flatnonzero(state.alive_u8)
        out = np.zeros(state.n, dtype=np.float64)
        if alive.shape[0] == 0:
            return out
        points = np.column_stack((self._x[alive], self._y[alive]))
        neighbours = cKDTree(points).query_ball_point(points, self.cluster_range, return_length=True) - 1
        out[alive] = tx + neighbours * rx
        return out

    def describe(self):
        return {"name": self.name, "c_prob": described_p(self.scenario), "p_min": self.p_min,
                "cost": "node degree", "hops": "single hop (heads send to the sink)",
                "cluster_range_m": self.cluster_range if self.cluster_range is not None
                else ("range with k_opt expected heads at reset" if self.range_rule == "k_opt"
                      else "field diagonal / sqrt(k_opt) at reset")}
