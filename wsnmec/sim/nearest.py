"""Nearest-receiver search: each alive non-cluster-head node's receiver (its nearest cluster head or the sink).

Notes
-----
An alive non-CH node sends to its nearest CH when that CH is strictly nearer than the sink, else to the
sink (so a tie between the sink and a CH goes to the sink, as in the MATLAB LEACH/SEP code); with
``join_cluster`` it joins its nearest CH whenever one exists. Among CHs at the same distance the one with
the lower node index wins. Distances are ``sqrt(dx*dx + dy*dy)`` [m] in float64. The nearest CH is found on
a uniform grid over the CHs (about one CH per cell), searching rings of cells outward until no unsearched
cell can hold a nearer CH, so a round costs O(N) rather than O(N x #CH). The grid is sized without
multiplying the spans (cell side ``sqrt(span_x / n_ch) * sqrt(span_y)``) and degrades to fewer cells, down
to a single one, when a span, side or cell size is 0, subnormal or not finite, so tiny (1e-300 m) and huge
(1e300 m) coordinates give the brute-force answer too.

*Scan*: with at most :data:`SCAN_MAX_CH` CHs the grid does not pay: the nodes are compared with every CH,
the CHs in the outer loop and the nodes in the inner, contiguous one, which the compiler vectorises. The
comparison is the same (distance, then the lower node index), so the receivers are the same. Measured on
10,000 nodes in a 1 km square (``benchmarks/bench_decision.py``'s network): 48 CHs take 0.27 ms by the scan
against 0.38 ms on the grid when the CHs are spread and 1.2 ms when they crowd near the sink (most grid
cells empty, so far nodes search many rings).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import ParameterError, check_choice

#: ``target`` value of a node that sends to the sink, and of a node that does not send.
TO_SINK = -1
NO_TARGET = -2


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


#: At most this many CHs, every CH is scanned for every node (module Notes, *Scan*); more use the grid.
SCAN_MAX_CH = 64


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


@njit(cache=True, nogil=True, inline="always")
def _not_a_member(i, alive, is_ch, d_sink, target, distance):
    """Set the receiver of node i when it is dead (:data:`NO_TARGET`) or a CH (itself, at its sink distance)
    and return True; False for an alive non-CH node, whose receiver the search decides."""
    if alive[i] == 0:
        target[i] = NO_TARGET
        distance[i] = 0.0
        return True
    if is_ch[i] != 0:
        target[i] = i
        distance[i] = d_sink[i]
        return True
    return False


@njit(cache=True, nogil=True)
def assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance,
                         fgrid, igrid, join_cluster=False):
    """Receiver of every node (compiled): CH index, :data:`TO_SINK` or :data:`NO_TARGET`; see module Notes.

    A CH's target is itself (its fused packet goes to the sink at ``distance = d_sink``); dead nodes get
    :data:`NO_TARGET`. ``fgrid`` (float64[6, N]) and ``igrid`` (int64[6, N + 2]) are scratch.

    With at most :data:`SCAN_MAX_CH` CHs every CH is scanned for every node (module Notes, *Scan*).
    Otherwise the alive non-CH nodes are bucketed into the CH grid; for each cell the CHs of its 3 x 3 block
    are gathered once and scanned for every node of the cell; a node whose best distance is not proven by
    that block (the distance to the block's boundary is not larger) falls back to the ring search. Both give
    the same receivers (the brute-force answer).

    With ``join_cluster`` every alive non-CH node joins its nearest CH whenever there is one, even when the
    sink is nearer (``--join cluster``); by default it sends to the sink when the sink is at least as near
    (``--join nearest``, the MATLAB LEACH/SEP rule).
    """
    if n_ch <= SCAN_MAX_CH:
        _assign_receivers_scan_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, target, distance, fgrid, igrid,
                                   join_cluster)
    else:
        _assign_receivers_grid_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance, fgrid,
                                   igrid, join_cluster)


@njit(cache=True, nogil=True)
def _assign_receivers_scan_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, target, distance, fgrid, igrid,
                               join_cluster):
    """:func:`assign_receivers_jit` by scanning every CH (module Notes, *Scan*): the CHs in the outer loop,
    the nodes in the inner one (contiguous, vectorised); ``fgrid[0]`` and ``igrid[0]`` hold each node's best
    distance and CH."""
    n = x.shape[0]
    best_d = fgrid[0]
    best_node = igrid[0]
    for i in range(n):
        best_d[i] = np.inf
        best_node[i] = -1
    for k in range(n_ch):
        ch = ch_list[k]
        ch_x = x[ch]
        ch_y = y[ch]
        for i in range(n):
            dx = x[i] - ch_x
            dy = y[i] - ch_y
            d = math.sqrt(dx * dx + dy * dy)
            better = d < best_d[i] or (d == best_d[i] and (best_node[i] < 0 or ch < best_node[i]))
            best_d[i] = d if better else best_d[i]
            best_node[i] = ch if better else best_node[i]
    for i in range(n):
        if _not_a_member(i, alive, is_ch, d_sink, target, distance):
            continue
        if n_ch > 0 and (best_d[i] < d_sink[i] or join_cluster):
            target[i] = best_node[i]
            distance[i] = best_d[i]
        else:
            target[i] = TO_SINK
            distance[i] = d_sink[i]


@njit(cache=True, nogil=True)
def _assign_receivers_grid_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance,
                               fgrid, igrid, join_cluster):
    """:func:`assign_receivers_jit` on the grid (module Notes); the docstring of that function says the rest."""
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
        if _not_a_member(i, alive, is_ch, d_sink, target, distance):
            continue
        if n_ch == 0:
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
                if best_d < d_sink[i] or join_cluster:
                    target[i] = best_node
                    distance[i] = best_d
                else:
                    target[i] = TO_SINK
                    distance[i] = d_sink[i]


# --- public wrappers ----------------------------------------------------------------------------------


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


def assign_receivers(x, y, alive, ch_mask, sink, join: str = "nearest",
                     search: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Receiver of every node for a given cluster-head mask (see module Notes, *Receivers*).

    Parameters
    ----------
    x, y : array_like of float
        Node positions [m].
    alive, ch_mask : array_like of bool
        Alive nodes and cluster heads (CHs must be alive).
    sink : (float, float)
        Sink position [m].
    join : {"nearest", "cluster"}
        The members' rule (module Notes).
    search : {"auto", "grid", "scan"}
        How the nearest CH is found: ``auto`` (the simulator's choice, by :data:`SCAN_MAX_CH`), always on
        the grid, or always by scanning every CH (module Notes); all three give the same receivers.

    Returns
    -------
    target : int64[N]
        CH index (a CH: itself), -1 the sink, -2 for dead nodes.
    distance : float64[N]
        Distance to the receiver [m] (a CH: to the sink).
    """
    check_choice("join", join, ("nearest", "cluster"))
    check_choice("search", search, ("auto", "grid", "scan"))
    x = _as_float_array("x", x)
    n = x.shape[0]
    y = _as_float_array("y", y, n)
    _finite_positions(x, y)
    alive_u8 = np.ascontiguousarray(np.asarray(alive).astype(np.uint8))
    if alive_u8.shape != (n,):
        raise ParameterError("alive", f"must be an array of {n} values, got shape {alive_u8.shape}")
    is_ch, ch_list, n_ch = _ch_arrays(ch_mask, alive_u8, n)
    target = np.full(n, NO_TARGET, dtype=np.int64)
    distance = np.zeros(n, dtype=np.float64)
    fgrid = np.zeros((6, n), dtype=np.float64)
    igrid = np.zeros((6, n + 2), dtype=np.int64)
    d_sink = sink_distances(x, y, float(sink[0]), float(sink[1]))
    if search == "auto":
        assign_receivers_jit(x, y, d_sink, alive_u8, is_ch, ch_list, n_ch, bounding_box(x, y), target, distance,
                             fgrid, igrid, join == "cluster")
    elif search == "scan":
        _assign_receivers_scan_jit(x, y, d_sink, alive_u8, is_ch, ch_list, n_ch, target, distance, fgrid, igrid,
                                   join == "cluster")
    else:
        _assign_receivers_grid_jit(x, y, d_sink, alive_u8, is_ch, ch_list, n_ch, bounding_box(x, y), target,
                                   distance, fgrid, igrid, join == "cluster")
    return target, distance


