"""HEED cluster-head election (Younis and Fahmy 2004).

Notes
-----
HEED (Hybrid Energy-Efficient Distributed clustering, [1]_) elects cluster heads (CHs) each round by a
few iterations of probabilistic, local announcements within the *cluster range* R_c [m]. Per round:

**Initialize.** Every alive node i computes

    CH_prob_i = min(max(C_prob * E_residual,i / E_max,i, p_min), 1)

with C_prob = p (the scenario's ``--p``), p_min = 1e-4 and E_max,i = the node's *initial* energy [J]
(E_residual = its stored energy after this round's harvest; the cap at 1 only matters when a harvest has
filled a node beyond its initial energy). Its *cost* is its node degree: the number of alive nodes other
than itself within R_c. Node degree is the paper's cost "used when it is desired to distribute load among
CHs" (the least-cost CH is the one with the fewest neighbours); it is chosen over AMRP here because the
first-order radio model has no discrete power levels for AMRP's "minimum power level" and because an
integer cost keeps the kernel and its reference equal bit for bit (a sum of float powers is not
associative over a grid's neighbour order). Ties of cost are broken by the lower node index.

**Repeat** (iterations t = 1, 2, ..., synchronous over the network; S_CH of node i = the nodes within R_c
of i, i itself included, that are CH (tentative or final) at the start of iteration t, i.e. that
announced in iteration t - 1 or earlier as final):

1. if S_CH is not empty, i picks its least-cost member; if that is i itself, i announces itself
   *final* CH when CH_prob_i = 1, else *tentative* CH again; if it is another node, i stays (or becomes)
   a regular node covered by it (a tentative CH that hears a cheaper CH gives up);
2. else, if CH_prob_i = 1, i announces itself final CH;
3. else i draws u uniform in [0, 1) and announces itself tentative CH when u <= CH_prob_i;
4. CH_prob_i <- min(2 CH_prob_i, 1); node i stops after the iteration in which CH_prob_i was 1
   (so it iterates ceil(log2(1 / CH_prob_i)) + 1 times, at most 15 with p_min = 1e-4).

**Finalize** (after every node has stopped): a node that is not final CH joins the least-cost final CH
within R_c if there is one, else it becomes a final CH itself. The result is the mask of final CHs;
members are assigned to their nearest CH by the accounting (:mod:`wsnmec.sim.accounting`).

**Control energy** (only when ``--control-bits`` B > 0; :meth:`HeedPolicy.control_energy`): every
announcement of the Repeat phase (tentative or final, re-announcements included) costs its sender
E_tx(B, R_c) and every other alive node within R_c E_rx(B) = B E_elec [J]. The Finalize phase's final-CH
messages and the members' joins are the ``distributed`` control pattern that the accounting charges for
every distributed protocol (advertisement, join, schedule). The Initialize cost broadcast (neighbour
discovery) is not charged.

**Cluster range.** A parameter ``cluster_range`` [m]; by default the field's diagonal divided by
sqrt(k_opt), with k_opt the radio model's optimal number of clusters
(:func:`wsnmec.clustering.optimal.optimal_cluster_count_for`) of the network at :meth:`HeedPolicy.reset`
(all initially alive nodes, before round 1). R_c is then fixed for the run, as a radio's cluster power
level is in [1]_.

Random draws: per iteration, one uniform (``rng.random()``) for each alive, still-iterating node that
hears no CH and has CH_prob < 1, in increasing node order. Nothing else draws.

Neighbour searches use a uniform grid of cells at least R_c wide built once per run (positions are
fixed), so a round costs O(number of CH announcements x neighbours) plus O(N) per iteration; node degrees
are updated incrementally when nodes die or revive.

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
from .base import ClusteringPolicy
from .optimal import optimal_cluster_count_for

#: The floor p_min of CH_prob in [1]_.
P_MIN = 1e-4

#: Index of the control-message size B [bit] in ``NetworkState.params``
#: (:data:`wsnmec.sim.accounting.P_CONTROL_BITS`).
CONTROL_BITS_INDEX = 15

NONE, TENTATIVE, FINAL = 0, 1, 2


def default_cluster_range(state) -> float:
    """The default cluster range [m]: the field's diagonal / sqrt(k_opt) (module Notes)."""
    diagonal = math.hypot(float(state.field[0]), float(state.field[1]))
    k_opt = optimal_cluster_count_for(state)
    return diagonal / math.sqrt(k_opt) if k_opt > 0 else diagonal


def build_grid(x: np.ndarray, y: np.ndarray, cluster_range: float):
    """A uniform grid over the nodes' bounding box with cells at least ``cluster_range`` [m] wide.

    Returns ``(origin_and_cell, shape, cell_start, cell_node)``: float64[4] (x0, y0, cell width, cell
    height) [m], int64[2] (cells along x, y), int64[cells + 1] CSR offsets and int64[N] node indices sorted
    by cell (increasing index within a cell). Any two nodes within ``cluster_range`` lie in the same or
    adjacent cells. The number of cells is at most about 4 N.
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
    return geometry, np.array([nx, ny], dtype=np.int64), cell_start, cell_node


@njit(cache=True, nogil=True, inline="always")
def _cell_of(xi, yi, geometry, shape):
    cx = min(int((xi - geometry[0]) / geometry[2]), shape[0] - 1)
    cy = min(int((yi - geometry[1]) / geometry[3]), shape[1] - 1)
    return max(cx, 0), max(cy, 0)


@njit(cache=True, nogil=True)
def update_degrees(x, y, alive, alive_before, r2, geometry, shape, cell_start, cell_node, degree):
    """Bring ``degree`` (alive nodes other than i within R_c of node i, for every node) up to date with
    ``alive`` after nodes died or revived since ``alive_before`` (both uint8[N]; ``alive_before`` is
    updated). ``r2`` = R_c^2 [m^2]. O(changed nodes x neighbours)."""
    nx, ny = shape[0], shape[1]
    for i in range(x.shape[0]):
        if alive[i] == alive_before[i]:
            continue
        step = 1 if alive[i] != 0 else -1
        alive_before[i] = alive[i]
        cx, cy = _cell_of(x[i], y[i], geometry, shape)
        for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
            for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
                c = gy * nx + gx
                for k in range(cell_start[c], cell_start[c + 1]):
                    j = cell_node[k]
                    if j == i:
                        continue
                    dx = x[j] - x[i]
                    dy = y[j] - y[i]
                    if dx * dx + dy * dy <= r2:
                        degree[j] += step


@njit(cache=True, nogil=True)
def elect_heed(rng, x, y, alive, energy, initial, c_prob, p_min, r2, geometry, shape, cell_start, cell_node,
               degree, status, sent, heard, prob, best, ch_list, announced):
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
        R_c^2 [m^2]; j is within range of i when ``dx*dx + dy*dy <= r2``.
    geometry, shape, cell_start, cell_node
        The grid of :func:`build_grid`.
    degree : int64[N]
        Node degrees (:func:`update_degrees`), the cost.
    status : uint8[N]
        Output: 0 regular, 2 final CH (1 tentative only during the iterations).
    sent, heard : int64[N]
        Output: announcements each node sent and heard (from other alive nodes within R_c) in the Repeat
        phase.
    prob : float64[N]; best, ch_list : int64[N]; announced : uint8[N]
        Scratch.
    """
    n = x.shape[0]
    nx, ny = shape[0], shape[1]
    n_active = 0
    for i in range(n):
        status[i] = NONE
        sent[i] = 0
        heard[i] = 0
        best[i] = -1
        announced[i] = 0
        if alive[i] != 0:
            ratio = energy[i] / initial[i] if initial[i] > 0.0 else 0.0
            pr = max(c_prob * ratio, p_min)
            prob[i] = min(pr, 1.0)
            n_active += 1
        else:
            prob[i] = 0.0
    n_ch = 0  # CHs (tentative or final) at the start of the iteration, in ch_list
    iterations = 0
    while n_active > 0:
        iterations += 1
        # S_CH: the least-cost CH within range of each node, from the statuses at the start of the iteration
        for m in range(n_ch):
            c = ch_list[m]
            cx, cy = _cell_of(x[c], y[c], geometry, shape)
            for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
                for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
                    cell = gy * nx + gx
                    for k in range(cell_start[cell], cell_start[cell + 1]):
                        j = cell_node[k]
                        if alive[j] == 0:
                            continue
                        dx = x[j] - x[c]
                        dy = y[j] - y[c]
                        if dx * dx + dy * dy > r2:
                            continue
                        if announced[c] != 0 and j != c:
                            heard[j] += 1
                        b = best[j]
                        if b < 0 or degree[c] < degree[b] or (degree[c] == degree[b] and c < b):
                            best[j] = c
        # decisions, in node order
        for i in range(n):
            announced[i] = 0
            if alive[i] == 0 or prob[i] <= 0.0:  # dead, or stopped iterating (prob set to 0)
                best[i] = -1
                continue
            b = best[i]
            best[i] = -1
            if b >= 0:
                if b == i:
                    status[i] = FINAL if prob[i] == 1.0 else TENTATIVE
                    announced[i] = 1
                else:
                    status[i] = NONE
            elif prob[i] == 1.0:
                status[i] = FINAL
                announced[i] = 1
            else:
                u = rng.random()
                if u <= prob[i]:
                    status[i] = TENTATIVE
                    announced[i] = 1
            if announced[i] != 0:
                sent[i] += 1
            if prob[i] == 1.0:
                prob[i] = 0.0  # CH_previous = 1: this node stops
                n_active -= 1
            else:
                prob[i] = min(prob[i] * 2.0, 1.0)
        n_ch = 0
        for i in range(n):
            if status[i] != NONE:
                ch_list[n_ch] = i
                n_ch += 1
    # Finalize: count the last iteration's announcements, cover the nodes within range of a final CH
    for m in range(n_ch):
        c = ch_list[m]
        cx, cy = _cell_of(x[c], y[c], geometry, shape)
        for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
            for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
                cell = gy * nx + gx
                for k in range(cell_start[cell], cell_start[cell + 1]):
                    j = cell_node[k]
                    if alive[j] == 0:
                        continue
                    dx = x[j] - x[c]
                    dy = y[j] - y[c]
                    if dx * dx + dy * dy > r2:
                        continue
                    if announced[c] != 0 and j != c:
                        heard[j] += 1
                    best[j] = c
    for i in range(n):
        announced[i] = 0
        if alive[i] != 0 and status[i] != FINAL and best[i] < 0:
            status[i] = FINAL  # heard no final CH: becomes one itself
        best[i] = -1
    return iterations


class HeedPolicy(ClusteringPolicy):
    """HEED election (module Notes) as a clustering policy.

    Parameters
    ----------
    scenario : Scenario
        C_prob is ``scenario.p``.
    cluster_range : float or None
        R_c [m] (> 0); None: the field's diagonal / sqrt(k_opt) computed in :meth:`reset`.
    p_min : float
        Floor of CH_prob, in (0, 1] (default 1e-4, the paper's).

    Own per-node state: the node degrees (updated as nodes die or revive) and, after each :meth:`elect`,
    the announcements each node sent and heard (``sent``, ``heard``), which :meth:`control_energy` charges.
    """

    name = "heed"
    control = "distributed"
    fused_code = None

    def __init__(self, scenario, cluster_range: float | None = None, p_min: float = P_MIN):
        super().__init__(scenario)
        if cluster_range is not None:
            value = float(cluster_range)
            if not (math.isfinite(value) and value > 0.0):
                raise ParameterError("cluster_range", f"must be a finite number > 0 [m]; got {cluster_range!r}")
        if not (isinstance(p_min, (int, float)) and 0.0 < float(p_min) <= 1.0):
            raise ParameterError("p_min", f"must be a number in (0, 1]; got {p_min!r}")
        self.requested_range = None if cluster_range is None else float(cluster_range)
        self.p_min = float(p_min)
        self.cluster_range = self.requested_range
        self.iterations = 0

    def reset(self, state, rng):
        n = state.n
        self.c_prob = float(self.scenario.p)
        if self.requested_range is None:
            self.cluster_range = default_cluster_range(state)
        self.r2 = self.cluster_range * self.cluster_range
        self._x = np.ascontiguousarray(state.x, dtype=np.float64)
        self._y = np.ascontiguousarray(state.y, dtype=np.float64)
        self.grid = build_grid(self._x, self._y, self.cluster_range)
        self.degree = np.zeros(n, dtype=np.int64)
        self._alive_before = np.zeros(n, dtype=np.uint8)
        self.status = np.zeros(n, dtype=np.uint8)
        self.sent = np.zeros(n, dtype=np.int64)
        self.heard = np.zeros(n, dtype=np.int64)
        self._prob = np.zeros(n, dtype=np.float64)
        self._best = np.full(n, -1, dtype=np.int64)
        self._ch_list = np.zeros(n, dtype=np.int64)
        self._announced = np.zeros(n, dtype=np.uint8)
        radio = self.scenario.radio_model()
        self._radio = (radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0)

    def elect(self, state, rng):
        geometry, shape, cell_start, cell_node = self.grid
        alive = np.ascontiguousarray(state.alive_u8, dtype=np.uint8)
        update_degrees(self._x, self._y, alive, self._alive_before, self.r2, geometry, shape, cell_start,
                       cell_node, self.degree)
        self.iterations = elect_heed(
            rng, self._x, self._y, alive, np.ascontiguousarray(state.energy, dtype=np.float64),
            np.ascontiguousarray(state.initial_energy, dtype=np.float64), self.c_prob, self.p_min, self.r2,
            geometry, shape, cell_start, cell_node, self.degree, self.status, self.sent, self.heard,
            self._prob, self._best, self._ch_list, self._announced)
        return self.status == FINAL

    def control_energy(self, state, heads):
        """The Repeat phase's announcements of the last :meth:`elect` [J] per node (module Notes):
        ``sent * E_tx(B, R_c) + heard * B * E_elec``; None when B = 0."""
        bits = float(state.params[CONTROL_BITS_INDEX])
        if bits <= 0.0:
            return None
        e_elec, eps_fs, eps_mp, d0 = self._radio
        tx = tx_energy_jit(bits, self.cluster_range, e_elec, eps_fs, eps_mp, d0)
        return self.sent * tx + self.heard * (bits * e_elec)

    def describe(self):
        return {"name": self.name, "c_prob": float(self.scenario.p), "p_min": self.p_min,
                "cost": "node degree",
                "cluster_range_m": self.cluster_range if self.cluster_range is not None
                else "field diagonal / sqrt(k_opt) at reset"}
