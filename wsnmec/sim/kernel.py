"""The round kernel: harvest, elect, account and record, compiled with numba.

A round is split into the steps of the design card. The built-in protocols run the whole loop in
:func:`run_rounds_jit`; the same compiled accounting, :func:`account_round_jit`, is public through
:func:`account_round` so that a policy living in Python can supply its own cluster-head mask one round at a
time. The nearest-cluster-head assignment is public as :func:`assign_receivers`.

Notes
-----
**One round r** (counted from 1), in this order:

1. *harvest* (:func:`wsnmec.energy.harvest.harvest_round`): in node order, each harvesting node (alive, or
   any node when reviving is enabled) draws its harvest random numbers (``bernoulli``: one uniform;
   ``markov``: one uniform after harvesting, for the state switch; other models: none), stores the energy
   up to its capacity; a dead node whose energy reaches the revive threshold is alive again.
2. *elect* (:mod:`wsnmec.clustering`): in node order, LEACH/iLEACH draw one uniform per eligible alive
   node (``clean``) or per alive node (``matlab``); ``direct`` draws nothing. No other random draws exist
   in a round, so the stream of a replica is: deployment (2 N uniforms unless a CSV is given), then per
   round the harvest draws followed by the election draws.
3. *account* (:func:`account_round_jit`): radio energy of the round, then every node whose energy is
   <= 0 is marked dead (it takes no part in later rounds).
4. *record*: alive count, cluster heads, residual/consumed/harvested energy [J], packets, nodes at >= 90 %
   of their capacity.

**Receivers.** An alive non-CH node sends to its nearest CH when that CH is strictly nearer than the
sink, else to the sink (so a tie between the sink and a CH goes to the sink, as in the MATLAB code).
Among CHs at the same distance the one with the lower node index wins. Distances are
``sqrt(dx*dx + dy*dy)`` [m] in float64. The nearest CH is found on a uniform grid over the CHs (about one
CH per cell), searching rings of cells outward until no unsearched cell can hold a nearer CH, so a round
costs O(N) rather than O(N x #CH). The grid is sized without multiplying the spans (cell side
``sqrt(span_x / n_ch) * sqrt(span_y)``) and degrades to fewer cells, down to a single one, when a span,
side or cell size is 0, subnormal or not finite, so tiny (1e-300 m) and huge (1e300 m) coordinates give
the brute-force answer too.

**clean accounting** (l = packet bits, E_tx/E_rx from :mod:`wsnmec.energy.radio`):

- each alive non-CH node pays E_tx(l, d) to its receiver. If it holds less than that, it spends all it has,
  its energy is 0 and it dies; the packet is lost: it is not counted, and the CH neither receives nor
  fuses it.
- then each CH c with k_c packets received pays D_c = k_c E_rx(l) + (k_c + 1) E_DA l + E_tx(l, d_sink).
  If it holds less than D_c it spends all it has and dies, and its fused packet does not reach the sink
  (the k_c packets it received still count in ``packets_to_ch``).
- ``consumed`` is the energy actually drawn, so initial + harvested - consumed = residual holds exactly
  (up to float64 rounding).
- with no CH (``direct``, or nobody elected) every alive node sends to the sink.

**matlab accounting** (the MATLAB LEACH/SEP code, Smaragdakis, Matta, Bestavros 2004):

- each CH, in node order, pays (E_elec + E_DA) l + amp(d_sink) l at once;
- then each alive non-CH node, in node order, with d = min(distance to the sink, distances to the CHs)
  pays E_elec l + amp(d) l, and when d > 0 the CH it chose pays (E_elec + E_DA) l, the first CH
  elected that round (lowest index) when the sink was nearest;
- in a round with no CH the non-CH nodes of LEACH/iLEACH spend nothing (``direct`` still sends to the
  sink);
- energy is not clipped: it may go below zero, ``consumed`` counts every charge and ``residual`` the
  (possibly negative) stored energies, so the energy balance also holds; a node with energy <= 0 is dead
  from the next round on.

**numba cache caveat (development checkouts).** The compiled functions use ``@njit(cache=True)``; the
cache files (``__pycache__/*.nbi`` and ``*.nbc`` next to each module) are reused while the *calling*
function's own source file keeps its timestamp. :func:`run_rounds_jit` inlines compiled functions from
other files (:mod:`wsnmec.energy.harvest`, :mod:`wsnmec.energy.radio`, :mod:`wsnmec.clustering.leach`,
:mod:`wsnmec.clustering.ileach`, :mod:`wsnmec.clustering.direct`), and numba does not check those files: after
editing one of them in a source checkout, the cached kernel may still run the *old* code. Clear the cache
after such an edit::

    find wsnmec -path '*/__pycache__/*' -name '*.nb[ic]' -delete

(or touch ``wsnmec/kernel.py``). Installed releases are not affected: installing writes every file anew,
so the cache is rebuilt against the installed sources.

References
----------
.. [1] G. Smaragdakis, I. Matta, A. Bestavros, "SEP: A Stable Election Protocol for clustered
   heterogeneous wireless sensor networks", Proc. SANPA, 2004 (MATLAB code distributed with the paper).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..clustering.direct import elect_direct
from ..clustering.ileach import elect_ileach
from ..clustering.leach import elect_leach
from ..energy.harvest import harvest_round
from ..energy.radio import RadioModel, amplifier_energy_jit, tx_energy_jit
from ..errors import ParameterError

SEMANTICS_CODES: dict[str, int] = {"clean": 0, "matlab": 1}
CLEAN = 0
MATLAB = 1

DIRECT = 0
LEACH = 1
ILEACH = 2

#: ``target`` value of a node that sends to the sink, and of a node that does not send.
TO_SINK = -1
NO_TARGET = -2

#: Columns of the integer and float per-round records written by :func:`run_rounds_jit`.
INT_COLUMNS = ("alive", "cluster_heads", "packets_to_sink", "packets_to_ch", "nodes_ge_90pct")
FLOAT_COLUMNS = ("residual_j", "consumed_j", "harvested_j")


def radio_array(radio: RadioModel) -> np.ndarray:
    """Radio constants as the kernel takes them: ``[e_elec, eps_fs, eps_mp, d0, e_da]``."""
    return np.array([radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0, radio.e_da], dtype=np.float64)


@njit(cache=True, nogil=True)
def sink_distances(x, y, sink_x, sink_y):
    """Distance of every node to the sink [m], ``sqrt(dx*dx + dy*dy)``."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        dx = x[i] - sink_x
        dy = y[i] - sink_y
        out[i] = math.sqrt(dx * dx + dy * dy)
    return out


def bounding_box(x, y) -> np.ndarray:
    """``[x_min, y_min, x_span, y_span]`` [m] of the node positions (the grid covers this box)."""
    x_min, y_min = float(np.min(x)), float(np.min(y))
    return np.array([x_min, y_min, float(np.max(x)) - x_min, float(np.max(y)) - y_min], dtype=np.float64)


class Workspace:
    """Scratch arrays of the accounting for a network of ``n`` nodes (reused across rounds)."""

    def __init__(self, n: int):
        self.is_ch = np.zeros(n, dtype=np.uint8)
        self.ch_list = np.zeros(n, dtype=np.int64)
        self.target = np.full(n, NO_TARGET, dtype=np.int64)
        self.distance = np.zeros(n, dtype=np.float64)
        self.drawn = np.zeros(n, dtype=np.float64)
        self.received = np.zeros(n, dtype=np.int64)
        # grid scratch: float rows cell_x, cell_y, node_x, node_y, cand_x, cand_y;
        # int rows cell_start, cell_node, ch_cell, node_start, node_order, cand_node
        self.fgrid = np.zeros((6, n), dtype=np.float64)
        self.igrid = np.zeros((6, n + 2), dtype=np.int64)

    def grid_arrays(self):
        return self.fgrid, self.igrid


# --- nearest cluster head on a uniform grid -------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _cell_index(offset, inverse_size, cells):
    """Cell of a point at ``offset`` [m] from the grid origin: ``int(offset * inverse_size)`` clamped to
    ``[0, cells - 1]``; computed in float first, so an infinite or NaN product (extreme coordinates) gives
    an edge cell instead of an undefined integer conversion."""
    f = offset * inverse_size
    if not f > 0.0:  # also NaN
        return 0
    if f >= cells - 1:
        return cells - 1
    return int(f)


@njit(cache=True, nogil=True)
def _grid_shape(span_x, span_y, n_ch):
    """``(gx, gy, cell_w, cell_h)`` of a uniform grid over a ``span_x`` x ``span_y`` [m] box holding about one
    of ``n_ch`` CHs per cell, with ``gx * gy <= n_ch``.

    The cell side is ``sqrt(span_x / n_ch) * sqrt(span_y)`` (no product of spans, which can underflow to 0
    or overflow to inf). An axis whose span is not a positive finite number, or whose cell size or its
    inverse would not be a positive finite number, gets a single cell (of nominal size 1 m, never used as
    a boundary); a side that is 0 or not finite gives a 1 x 1 grid. Fewer cells are always correct (the
    search scans more CHs), only slower.
    """
    ok_x = span_x > 0.0 and span_x < np.inf
    ok_y = span_y > 0.0 and span_y < np.inf
    gx = 1
    gy = 1
    if ok_x and ok_y:
        side = math.sqrt(span_x / n_ch) * math.sqrt(span_y)
        if side > 0.0 and side < np.inf:
            gx = int(min(max(span_x / side, 1.0), float(n_ch)))
            gy = int(min(max(span_y / side, 1.0), float(n_ch)))
    elif ok_x:
        gx = n_ch
    elif ok_y:
        gy = n_ch
    while gx * gy > n_ch:  # cap the cells (float rounding could leave one too many)
        if gx >= gy:
            gx -= 1
        else:
            gy -= 1
    # A single cell along an axis: its size is never used for a boundary, so 1 m is as good as any.
    cell_w = span_x / gx if gx > 1 else 1.0
    if not (cell_w > 0.0 and 1.0 / cell_w < np.inf):
        gx = 1
        cell_w = 1.0
    cell_h = span_y / gy if gy > 1 else 1.0
    if not (cell_h > 0.0 and 1.0 / cell_h < np.inf):
        gy = 1
        cell_h = 1.0
    return gx, gy, cell_w, cell_h


@njit(cache=True, nogil=True)
def _search_margin(bbox, gx, gy, cell_w, cell_h):
    """Slack [m] subtracted from the distance to a searched block's boundary before it proves a nearest CH:
    relative to the cell size and to the magnitude of the coordinates (rounding of ``x_min + k * cell_w``)."""
    size = 0.0
    if gx > 1:
        size += cell_w
    if gy > 1:
        size += cell_h
    magnitude = abs(bbox[0]) + abs(bbox[1]) + abs(bbox[2]) + abs(bbox[3])
    return 1e-9 * size + 1e-13 * magnitude


@njit(cache=True, nogil=True)
def _build_grid(x, y, ch_list, n_ch, bbox, cell_start, cell_x, cell_y, cell_node, ch_cell):
    """Bucket the CHs into a uniform grid over ``bbox`` with about one CH per cell (counting sort).

    Returns ``(gx, gy, cell_w, cell_h)`` (see :func:`_grid_shape`); cell c = cy * gx + cx holds the CHs
    ``cell_node[cell_start[c]:cell_start[c + 1]]`` (in increasing node index) at ``cell_x``, ``cell_y``.
    """
    x_min = bbox[0]
    y_min = bbox[1]
    gx, gy, cell_w, cell_h = _grid_shape(bbox[2], bbox[3], n_ch)
    inv_w = 1.0 / cell_w
    inv_h = 1.0 / cell_h
    n_cells = gx * gy
    for c in range(n_cells + 1):
        cell_start[c] = 0
    for k in range(n_ch):
        i = ch_list[k]
        cx = _cell_index(x[i] - x_min, inv_w, gx)
        cy = _cell_index(y[i] - y_min, inv_h, gy)
        c = cy * gx + cx
        ch_cell[k] = c
        cell_start[c + 1] += 1
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    for k in range(n_ch):
        c = ch_cell[k]
        pos = cell_start[c]
        i = ch_list[k]
        cell_x[pos] = x[i]
        cell_y[pos] = y[i]
        cell_node[pos] = i
        cell_start[c] = pos + 1
    for c in range(n_cells, 0, -1):
        cell_start[c] = cell_start[c - 1]
    cell_start[0] = 0
    return gx, gy, cell_w, cell_h


#: Relative margin on squared distances: if d2 > best_d2 * (1 + SQ_MARGIN) then sqrt(d2) > sqrt(best_d2)
#: after rounding (the square roots differ by > 2 ulp), so the square root can be skipped.
SQ_MARGIN = 1e-15


@njit(cache=True, nogil=True, inline="always")
def _scan_cell(c, px, py, best_node, best_d, best_d2, cell_start, cell_x, cell_y, cell_node):
    """Update the best (node, distance, squared distance) with the CHs of cell ``c``.

    The comparison is on the float64 distance ``sqrt(dx*dx + dy*dy)`` (ties to the lower node index), as
    the brute-force reference does; the square root is only taken when the squared distance can tie.
    """
    limit = best_d2 * (1.0 + SQ_MARGIN)
    for pos in range(cell_start[c], cell_start[c + 1]):
        dx = px - cell_x[pos]
        dy = py - cell_y[pos]
        d2 = dx * dx + dy * dy
        if d2 > limit:
            continue
        d = math.sqrt(d2)
        node = cell_node[pos]
        if d < best_d or (d == best_d and node < best_node):
            best_d = d
            best_node = node
            if d2 < best_d2:
                best_d2 = d2
            limit = best_d2 * (1.0 + SQ_MARGIN)
    return best_node, best_d, best_d2


@njit(cache=True, nogil=True)
def _nearest_ch(px, py, bbox, gx, gy, cell_w, cell_h, cell_start, cell_x, cell_y, cell_node):
    """Nearest CH of the point (px, py) [m]: ``(node, distance)``; ties to the lower node index.

    Searches the 3 x 3 block of cells around the point's cell, then rings of cells further out, until
    the best distance found is below the distance from the point to the searched block's boundary.
    """
    x_min = bbox[0]
    y_min = bbox[1]
    cx = _cell_index(px - x_min, 1.0 / cell_w, gx)
    cy = _cell_index(py - y_min, 1.0 / cell_h, gy)
    margin = _search_margin(bbox, gx, gy, cell_w, cell_h)
    best_node = -1
    best_d = np.inf
    best_d2 = np.inf
    # ring 0 and ring 1 at once
    for yy in range(max(cy - 1, 0), min(cy + 1, gy - 1) + 1):
        row = yy * gx
        for xx in range(max(cx - 1, 0), min(cx + 1, gx - 1) + 1):
            best_node, best_d, best_d2 = _scan_cell(row + xx, px, py, best_node, best_d, best_d2,
                                                    cell_start, cell_x, cell_y, cell_node)
    k = 1
    while True:
        x_lo = cx - k
        x_hi = cx + k
        y_lo = cy - k
        y_hi = cy + k
        # Lower bound on the distance to any CH outside the searched block of cells.
        bound = np.inf
        if x_lo > 0:
            bound = min(bound, px - (x_min + x_lo * cell_w))
        if x_hi < gx - 1:
            bound = min(bound, (x_min + (x_hi + 1) * cell_w) - px)
        if y_lo > 0:
            bound = min(bound, py - (y_min + y_lo * cell_h))
        if y_hi < gy - 1:
            bound = min(bound, (y_min + (y_hi + 1) * cell_h) - py)
        if bound == np.inf or best_d < bound - margin:
            return best_node, best_d
        k += 1
        x_lo = cx - k
        x_hi = cx + k
        y_lo = cy - k
        y_hi = cy + k
        for yy in range(max(y_lo, 0), min(y_hi, gy - 1) + 1):
            row = yy * gx
            if yy == y_lo or yy == y_hi:
                for xx in range(max(x_lo, 0), min(x_hi, gx - 1) + 1):
                    best_node, best_d, best_d2 = _scan_cell(row + xx, px, py, best_node, best_d, best_d2,
                                                            cell_start, cell_x, cell_y, cell_node)
            else:
                if x_lo >= 0:
                    best_node, best_d, best_d2 = _scan_cell(row + x_lo, px, py, best_node, best_d, best_d2,
                                                            cell_start, cell_x, cell_y, cell_node)
                if x_hi < gx:
                    best_node, best_d, best_d2 = _scan_cell(row + x_hi, px, py, best_node, best_d, best_d2,
                                                            cell_start, cell_x, cell_y, cell_node)


@njit(cache=True, nogil=True)
def assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance,
                         fgrid, igrid):
    """Receiver of every node (compiled): CH index, :data:`TO_SINK` or :data:`NO_TARGET`; see module Notes.

    A CH's target is itself (its fused packet goes to the sink at ``distance = d_sink``); dead nodes get
    :data:`NO_TARGET`. ``fgrid`` (float64[6, N]) and ``igrid`` (int64[6, N + 2]) are scratch.

    The alive non-CH nodes are bucketed into the CH grid; for each cell the CHs of its 3 x 3 block are
    gathered once and scanned for every node of the cell; a node whose best distance is not proven by that
    block (the distance to the block's boundary is not larger) falls back to the ring search.
    """
    n = x.shape[0]
    cell_x = fgrid[0]
    cell_y = fgrid[1]
    node_x = fgrid[2]
    node_y = fgrid[3]
    cand_x = fgrid[4]
    cand_y = fgrid[5]
    cell_start = igrid[0]
    cell_node = igrid[1]
    ch_cell = igrid[2]
    node_start = igrid[3]
    node_order = igrid[4]
    cand_node = igrid[5]
    gx, gy, cell_w, cell_h = 1, 1, 1.0, 1.0
    if n_ch > 0:
        gx, gy, cell_w, cell_h = _build_grid(x, y, ch_list, n_ch, bbox, cell_start, cell_x, cell_y,
                                             cell_node, ch_cell)
    x_min = bbox[0]
    y_min = bbox[1]
    inv_w = 1.0 / cell_w
    inv_h = 1.0 / cell_h
    n_cells = gx * gy
    margin = _search_margin(bbox, gx, gy, cell_w, cell_h)
    # classify the nodes; bucket the members by cell (counting sort; ch_cell is reused as the cell of node i)
    node_cell = ch_cell
    for c in range(n_cells + 1):
        node_start[c] = 0
    members = 0
    for i in range(n):
        node_cell[i] = -1
        if alive[i] == 0:
            target[i] = NO_TARGET
            distance[i] = 0.0
        elif is_ch[i] != 0:
            target[i] = i
            distance[i] = d_sink[i]
        elif n_ch == 0:
            target[i] = TO_SINK
            distance[i] = d_sink[i]
        else:
            members += 1
            cx = _cell_index(x[i] - x_min, inv_w, gx)
            cy = _cell_index(y[i] - y_min, inv_h, gy)
            c = cy * gx + cx
            node_cell[i] = c
            node_start[c + 1] += 1
    if n_ch == 0 or members == 0:
        return
    for c in range(n_cells):
        node_start[c + 1] += node_start[c]
    for i in range(n):
        c = node_cell[i]
        if c >= 0:
            pos = node_start[c]
            node_order[pos] = i
            node_x[pos] = x[i]
            node_y[pos] = y[i]
            node_start[c] = pos + 1
    for c in range(n_cells, 0, -1):
        node_start[c] = node_start[c - 1]
    node_start[0] = 0
    for cy in range(gy):
        for cx in range(gx):
            c = cy * gx + cx
            first = node_start[c]
            last = node_start[c + 1]
            if first == last:
                continue
            # the CHs of the 3 x 3 block around this cell
            n_cand = 0
            for yy in range(max(cy - 1, 0), min(cy + 1, gy - 1) + 1):
                for xx in range(max(cx - 1, 0), min(cx + 1, gx - 1) + 1):
                    cc = yy * gx + xx
                    for pos in range(cell_start[cc], cell_start[cc + 1]):
                        cand_x[n_cand] = cell_x[pos]
                        cand_y[n_cand] = cell_y[pos]
                        cand_node[n_cand] = cell_node[pos]
                        n_cand += 1
            # boundaries of the block that have cells beyond them
            has_left = cx - 1 > 0
            has_right = cx + 1 < gx - 1
            has_low = cy - 1 > 0
            has_high = cy + 1 < gy - 1
            left = x_min + (cx - 1) * cell_w
            right = x_min + (cx + 2) * cell_w
            low = y_min + (cy - 1) * cell_h
            high = y_min + (cy + 2) * cell_h
            for pos in range(first, last):
                px = node_x[pos]
                py = node_y[pos]
                # pass 1 (branch-free): the smallest squared distance; sqrt is monotone, so
                # sqrt(best_d2) is the smallest distance
                best_d2 = np.inf
                for k in range(n_cand):
                    dx = px - cand_x[k]
                    dy = py - cand_y[k]
                    d2 = dx * dx + dy * dy
                    best_d2 = min(best_d2, d2)
                best_d = math.sqrt(best_d2)
                # pass 2: the lowest node index at that distance (only squared distances within
                # SQ_MARGIN of the minimum can have the same square root)
                best_node = -1
                limit = best_d2 * (1.0 + SQ_MARGIN)
                for k in range(n_cand):
                    dx = px - cand_x[k]
                    dy = py - cand_y[k]
                    d2 = dx * dx + dy * dy
                    if d2 <= limit:
                        node = cand_node[k]
                        if math.sqrt(d2) == best_d and (best_node < 0 or node < best_node):
                            best_node = node
                bound = np.inf
                if has_left:
                    bound = min(bound, px - left)
                if has_right:
                    bound = min(bound, right - px)
                if has_low:
                    bound = min(bound, py - low)
                if has_high:
                    bound = min(bound, high - py)
                if not (bound == np.inf or best_d < bound - margin):
                    best_node, best_d = _nearest_ch(px, py, bbox, gx, gy, cell_w, cell_h, cell_start, cell_x,
                                                    cell_y, cell_node)
                i = node_order[pos]
                if best_d < d_sink[i]:
                    target[i] = best_node
                    distance[i] = best_d
                else:
                    target[i] = TO_SINK
                    distance[i] = d_sink[i]


# --- accounting ------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def account_round_jit(x, y, d_sink, energy, alive, is_ch, ch_list, n_ch, bits, radio, semantics,
                      idle_without_ch, bbox, target, distance, drawn, received,
                      fgrid, igrid):
    """Radio energy of one round (compiled, in place); see the module Notes.

    Parameters
    ----------
    x, y, d_sink : float64[N]
        Positions and distance to the sink [m].
    energy : float64[N]
        Stored energy [J]; charged in place.
    alive : uint8[N]
        Alive flags at the start of the round; nodes with energy <= 0 at the end are set to 0.
    is_ch : uint8[N]
        Cluster-head mask (only alive nodes may be CH).
    ch_list : int64[N]
        CH indices in increasing order in the first ``n_ch`` entries.
    bits : float
        Packet length l [bit].
    radio : float64[5]
        ``[e_elec, eps_fs, eps_mp, d0, e_da]`` ([J/bit], [J/bit/m^2], [J/bit/m^4], [m], [J/bit/signal]).
    semantics : int
        0 clean, 1 matlab.
    idle_without_ch : bool
        When True and ``n_ch == 0`` the non-CH nodes spend nothing (matlab rule (d)).
    bbox : float64[4]
        ``[x_min, y_min, x_span, y_span]`` of all node positions [m].
    target, distance, drawn, received : arrays of N
        Outputs: receiver (see :func:`assign_receivers_jit`), its distance [m], energy drawn per node [J],
        packets received per CH.

    Returns
    -------
    (consumed [J], packets_to_sink, packets_to_ch)
    """
    n = x.shape[0]
    e_elec = radio[0]
    eps_fs = radio[1]
    eps_mp = radio[2]
    d0 = radio[3]
    e_da = radio[4]
    assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance,
                         fgrid, igrid)
    for i in range(n):
        drawn[i] = 0.0
        received[i] = 0
    to_sink = 0
    to_ch = 0
    idle = idle_without_ch and n_ch == 0
    if semantics == MATLAB:
        for k in range(n_ch):
            c = ch_list[k]
            cost = (e_elec + e_da) * bits + amplifier_energy_jit(bits, d_sink[c], eps_fs, eps_mp, d0)
            energy[c] -= cost
            drawn[c] += cost
            to_sink += 1
        if not idle:
            receive_cost = (e_elec + e_da) * bits
            for i in range(n):
                if alive[i] == 0 or is_ch[i] != 0:
                    continue
                d = distance[i]
                cost = tx_energy_jit(bits, d, e_elec, eps_fs, eps_mp, d0)
                energy[i] -= cost
                drawn[i] += cost
                t = target[i]
                if t >= 0:
                    to_ch += 1
                else:
                    to_sink += 1
                if n_ch > 0 and d > 0.0:
                    payer = t if t >= 0 else ch_list[0]
                    energy[payer] -= receive_cost
                    drawn[payer] += receive_cost
    else:
        if not idle:
            for i in range(n):
                if alive[i] == 0 or is_ch[i] != 0:
                    continue
                cost = tx_energy_jit(bits, distance[i], e_elec, eps_fs, eps_mp, d0)
                if energy[i] >= cost:
                    energy[i] -= cost
                    drawn[i] = cost
                    t = target[i]
                    if t >= 0:
                        received[t] += 1
                        to_ch += 1
                    else:
                        to_sink += 1
                else:
                    drawn[i] = energy[i]
                    energy[i] = 0.0
        for k in range(n_ch):
            c = ch_list[k]
            got = received[c]
            demand = (got * bits * e_elec + (got + 1) * bits * e_da
                      + tx_energy_jit(bits, d_sink[c], e_elec, eps_fs, eps_mp, d0))
            if energy[c] >= demand:
                energy[c] -= demand
                drawn[c] = demand
                to_sink += 1
            else:
                drawn[c] = energy[c]
                energy[c] = 0.0
    consumed = 0.0
    for i in range(n):
        consumed += drawn[i]
        if alive[i] != 0 and energy[i] <= 0.0:
            alive[i] = 0
    return consumed, to_sink, to_ch


# --- the whole loop ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def run_rounds_jit(rng, first_round, n_rounds, protocol, semantics, p, epoch_len, bits, radio,
                   harvest_kind, harvest_params, revive_threshold, can_revive,
                   x, y, d_sink, bbox, capacity, energy, alive, ch_epoch, rounds_since_ch, markov_state,
                   is_ch, ch_list, target, distance, drawn, received,
                   fgrid, igrid, out_int, out_float):
    """Simulate rounds ``first_round .. first_round + n_rounds - 1`` of one replica (compiled, in place).

    Writes one row per round into ``out_int`` (:data:`INT_COLUMNS`) and ``out_float``
    (:data:`FLOAT_COLUMNS`). Stops early after a round that leaves no node alive when ``can_revive`` is
    False. Returns ``(rounds_done, finished)``.
    """
    draw_all = semantics == MATLAB
    idle_without_ch = semantics == MATLAB and protocol != DIRECT
    n = x.shape[0]
    for k in range(n_rounds):
        r = first_round + k
        harvested = harvest_round(rng, harvest_kind, harvest_params, r, energy, capacity, alive, markov_state,
                                  revive_threshold)
        if protocol == LEACH:
            n_ch = elect_leach(rng, r, p, epoch_len, draw_all, alive, energy, capacity, ch_epoch,
                               rounds_since_ch, is_ch, ch_list)
        elif protocol == ILEACH:
            n_ch = elect_ileach(rng, r, p, epoch_len, draw_all, alive, energy, capacity, ch_epoch,
                                rounds_since_ch, is_ch, ch_list)
        else:
            n_ch = elect_direct(rng, r, p, epoch_len, draw_all, alive, energy, capacity, ch_epoch,
                                rounds_since_ch, is_ch, ch_list)
        consumed, to_sink, to_ch = account_round_jit(
            x, y, d_sink, energy, alive, is_ch, ch_list, n_ch, bits, radio, semantics, idle_without_ch, bbox,
            target, distance, drawn, received, fgrid, igrid)
        n_alive = 0
        at_90 = 0
        residual = 0.0
        for i in range(n):
            residual += energy[i]
            if alive[i] != 0:
                n_alive += 1
                if energy[i] >= 0.9 * capacity[i]:
                    at_90 += 1
        out_int[k, 0] = n_alive
        out_int[k, 1] = n_ch
        out_int[k, 2] = to_sink
        out_int[k, 3] = to_ch
        out_int[k, 4] = at_90
        out_float[k, 0] = residual
        out_float[k, 1] = consumed
        out_float[k, 2] = harvested
        if n_alive == 0 and not can_revive:
            return k + 1, True
    return n_rounds, False


# --- public wrappers ------------------------------------------------------------------------------------


@dataclass
class RoundAccount:
    """Result of :func:`account_round`.

    Attributes
    ----------
    drawn : float64[N]
        Energy drawn from each node this round [J].
    target : int64[N]
        Receiver of each node: a CH index (a CH's own index for itself), -1 the sink, -2 not sending.
    distance : float64[N]
        Distance to the receiver [m] (a CH: to the sink).
    consumed : float
        Total energy drawn [J].
    packets_to_sink, packets_to_ch : int
        Packets delivered to the sink (direct and fused) and to CHs.
    """

    drawn: np.ndarray
    target: np.ndarray
    distance: np.ndarray
    consumed: float
    packets_to_sink: int
    packets_to_ch: int

    def cluster_sizes(self) -> np.ndarray:
        """Nodes per CH including the CH itself (index = node; 0 for non-CH nodes)."""
        sending = self.target[self.target >= 0]
        return np.bincount(sending, minlength=self.target.shape[0])


def _finite_positions(x, y):
    for name, values in (("x", x), ("y", y)):
        if not np.isfinite(values).all():
            raise ParameterError(name, "must hold finite coordinates [m]")


def _as_float_array(name, values, n=None, writable=False) -> np.ndarray:
    array = np.asarray(values)
    if writable:
        if not (isinstance(values, np.ndarray) and values.dtype == np.float64 and values.flags.c_contiguous
                and values.flags.writeable):
            raise ParameterError(name, "must be a writable C-contiguous float64 numpy array (updated in place)")
        array = values
    else:
        array = np.ascontiguousarray(array, dtype=np.float64)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise ParameterError(name, f"must be a 1-d array of {n if n is not None else 'N'} values, got shape {array.shape}")
    return array


def _alive_view(alive, n) -> np.ndarray:
    if not (isinstance(alive, np.ndarray) and alive.dtype in (np.bool_, np.uint8) and alive.flags.c_contiguous
            and alive.flags.writeable and alive.shape == (n,)):
        raise ParameterError("alive", f"must be a writable C-contiguous bool or uint8 array of {n} values (updated in place)")
    return alive.view(np.uint8)


def _ch_arrays(ch_mask, alive_u8, n):
    mask = np.asarray(ch_mask).astype(bool, copy=False)
    if mask.shape != (n,):
        raise ParameterError("ch_mask", f"must be a boolean array of {n} values, got shape {mask.shape}")
    if np.any(mask & (alive_u8 == 0)):
        raise ParameterError("ch_mask", "may only mark alive nodes as cluster heads")
    is_ch = mask.astype(np.uint8)
    ch_list = np.zeros(n, dtype=np.int64)
    idx = np.flatnonzero(mask)
    ch_list[: idx.size] = idx
    return is_ch, ch_list, int(idx.size)


def assign_receivers(x, y, alive, ch_mask, sink) -> tuple[np.ndarray, np.ndarray]:
    """Receiver of every node for a given cluster-head mask (see module Notes, *Receivers*).

    Parameters
    ----------
    x, y : array_like of float
        Node positions [m].
    alive, ch_mask : array_like of bool
        Alive nodes and cluster heads (CHs must be alive).
    sink : (float, float)
        Sink position [m].

    Returns
    -------
    target : int64[N]
        CH index (a CH: itself), -1 the sink, -2 for dead nodes.
    distance : float64[N]
        Distance to the receiver [m] (a CH: to the sink).
    """
    x = _as_float_array("x", x)
    n = x.shape[0]
    y = _as_float_array("y", y, n)
    _finite_positions(x, y)
    alive_u8 = np.ascontiguousarray(np.asarray(alive).astype(np.uint8))
    if alive_u8.shape != (n,):
        raise ParameterError("alive", f"must be an array of {n} values, got shape {alive_u8.shape}")
    is_ch, ch_list, n_ch = _ch_arrays(ch_mask, alive_u8, n)
    work = Workspace(n)
    d_sink = sink_distances(x, y, float(sink[0]), float(sink[1]))
    assign_receivers_jit(x, y, d_sink, alive_u8, is_ch, ch_list, n_ch, bounding_box(x, y), work.target,
                         work.distance, *work.grid_arrays())
    return work.target, work.distance


def account_round(x, y, energy, alive, ch_mask, sink, radio: RadioModel, packet_bits: int,
                  semantics: str = "clean", *, idle_without_ch: bool | None = None) -> RoundAccount:
    """Account the radio energy of one round for a cluster-head mask chosen outside (e.g. by a policy).

    The same compiled function as the built-in protocols' loop (:func:`account_round_jit`).

    Parameters
    ----------
    x, y : array_like of float
        Node positions [m].
    energy : float64 ndarray
        Stored energy [J]; charged in place.
    alive : bool or uint8 ndarray
        Alive flags at the start of the round; updated in place (nodes with energy <= 0 die).
    ch_mask : array_like of bool
        This round's cluster heads (alive nodes only).
    sink : (float, float)
        Sink position [m].
    radio : RadioModel
        Radio constants.
    packet_bits : int
        Packet length l [bit].
    semantics : {"clean", "matlab"}
        Accounting rules (module Notes).
    idle_without_ch : bool, optional
        Whether non-CH nodes stay silent when there is no CH; default True under ``matlab`` (the rule of
        the MATLAB code), False under ``clean``.
    """
    if semantics not in SEMANTICS_CODES:
        raise ParameterError("semantics", f"must be one of {', '.join(SEMANTICS_CODES)}; got {semantics!r}")
    x = _as_float_array("x", x)
    n = x.shape[0]
    y = _as_float_array("y", y, n)
    _finite_positions(x, y)
    energy = _as_float_array("energy", energy, n, writable=True)
    alive_u8 = _alive_view(alive, n)
    is_ch, ch_list, n_ch = _ch_arrays(ch_mask, alive_u8, n)
    if idle_without_ch is None:
        idle_without_ch = semantics == "matlab"
    work = Workspace(n)
    d_sink = sink_distances(x, y, float(sink[0]), float(sink[1]))
    consumed, to_sink, to_ch = account_round_jit(
        x, y, d_sink, energy, alive_u8, is_ch, ch_list, n_ch, float(packet_bits), radio_array(radio),
        SEMANTICS_CODES[semantics], bool(idle_without_ch), bounding_box(x, y), work.target, work.distance,
        work.drawn, work.received, *work.grid_arrays())
    return RoundAccount(drawn=work.drawn, target=work.target, distance=work.distance, consumed=float(consumed),
                        packets_to_sink=int(to_sink), packets_to_ch=int(to_ch))
