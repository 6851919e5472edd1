"""LEACH-C: centralised cluster formation at the sink (Heinzelman, Chandrakasan, Balakrishnan 2002).

Notes
-----
Every round each node reports its position and residual energy to the sink (``control = "centralized"``:
with ``--control-bits B`` the accounting charges these uploads and the sink's broadcast). The sink then,
for the n alive nodes with energies E_i [J] after this round's harvest ([1]_, Sec. IV):

1. computes the mean residual energy E_mean = (E_1 + ... + E_n) / n (summed in node order); the *eligible*
   nodes are the alive nodes with E_i >= min(E_mean, max_i E_i) (the ``min`` only guards against the
   rounded mean exceeding every energy, e.g. all energies equal: the richest nodes are always eligible);
2. sets k = round(p n) (halves up), at least 1; if fewer than k nodes are eligible, every eligible node
   is a cluster head (k = number eligible: the paper's energy rule is kept, the cluster count shrinks);
3. chooses k heads H among the eligible nodes minimising the sum of squared distances [m^2] of the
   members (alive non-heads) to their nearest head,

       J(H) = sum over alive i not in H of min_{h in H} |x_i - x_h|^2.

The paper minimises J by simulated annealing; evaluating J for each annealing move costs O(N), too slow
for thousands of moves at N = 1e4 within a round. Here J is lowered by a documented deterministic local
search, the alternating k-medoids iteration (Park & Jun 2009 [2]_) restricted to eligible heads, started
from a seeded random draw:

- *start*: a spatially spread random draw. The eligible nodes are ordered along a Hilbert curve [3]_
  (positions quantised to a 65536 x 65536 grid over the alive nodes' bounding box: with S the larger
  span [m], a coordinate at ``offset`` from the minimum is in cell ``int(offset / S * 65535)``; ties by
  node index) and cut into
  k consecutive runs, run j holding positions floor(j m / k) .. floor((j + 1) m / k) - 1 of the m
  eligible nodes; in run order, one uniform u per run picks position lo + floor(u (hi - lo)) (capped at
  hi - 1). When k = m nothing is drawn (every eligible node is a head);
- *assign*: every alive node joins its nearest head (squared distance ``dx*dx + dy*dy``, ties to the
  lower node index; a head joins itself);
- *update*: for each cluster C with centroid c = (sum of x_i, sum of y_i over C in node order) / |C|, the
  eligible node of C nearest to c replaces the head if it is strictly nearer than the head (ties to the
  lower index). For a fixed cluster, sum_{i in C} |x_i - m|^2 = sum |x_i - c|^2 + |C| |m - c|^2, so this
  is the head of C that minimises the cluster's part of J (the old head becomes a member);
- repeat assign/update until no head changes or ``max_iterations`` (default 30) assignment passes;
- *random swaps* (the move of the paper's annealing, accepted greedily as in random-swap clustering,
  Fraenti 2018 [4]_): T = min(50, 20000 // n) trials (50 at n <= 400, 2 at n = 1e4, 0 from n = 20001;
  T n <= 2e4 bounds the swap phase's cost at every n); each trial draws u1 and u2, replaces
  head ``heads[min(floor(u1 k), k - 1)]`` (heads kept in a fixed slot order) by the eligible non-head of
  rank ``min(floor(u2 (m - k)), m - k - 1)`` in increasing index, runs at most 2 assign/update passes
  and keeps the result when its J (members' squared distances to their nearest head, summed in node
  order) is strictly lower than the current J.

Each assign/update pass does not increase J (the update lowers each cluster's sum, the re-assignment can
only lower it further), and a swap is kept only if J falls; the result is a local minimum, not
necessarily the global one. On one uniform 100-node field (100 m x 100 m) with k = 10, the mean J over
100 seeds is 3 % above the lowest J found by any run (23 % above without the swaps); with 1000 nodes and
k = 100 (20 trials), 11 % (17 % without the swaps).
The nearest head is found on a uniform grid over the heads (about one head per cell,
rings of cells searched outward until no unsearched cell can hold a head as near), so a pass costs O(N)
and a round O(N log N + N x passes) (the start sorts the eligible nodes); it equals a brute-force search
exactly (same squared distances, same tie-break).

**Control messages per round** (charged only when ``--control-bits`` B > 0, the ``centralized`` pattern
of :mod:`wsnmec.sim.accounting`, [1]_; B = 0 charges nothing):

- each alive node sends its position and residual energy to the sink, E_tx(B, d_sink);
- each alive node receives the sink's broadcast of the cluster assignment, E_rx(B) (the sink is mains
  powered);
- each CH broadcasts its TDMA schedule to its farthest member, E_tx(B, r_c), and each member receives it,
  E_rx(B).

No advertisements and no join requests: the sink assigns the clusters.

Random draws, per round: k uniforms for the start, then 2 per swap trial (none when k = m or no node
is alive), the same under both semantics.

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 660-670, 2002.
.. [2] H.-S. Park, C.-H. Jun, "A simple and fast algorithm for K-medoids clustering", Expert Systems with
   Applications 36(2), 3336-3341, 2009.
.. [3] D. Hilbert, "Ueber die stetige Abbildung einer Linie auf ein Flaechenstueck", Math. Ann. 38,
   459-460, 1891.
.. [4] P. Fraenti, "Efficiency of random swap clustering", Journal of Big Data 5(13), 2018.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .base import ClusteringPolicy, described_p, resolved_p

#: Default cap on the assign/update passes of the local search from the start.
MAX_ITERATIONS = 30
#: Default random-swap trials per round: min(SWAP_CAP, SWAP_BUDGET // alive nodes), SWAP_PASSES passes each.
SWAP_CAP = 50
SWAP_BUDGET = 20_000
SWAP_PASSES = 2


@njit(cache=True, nogil=True)
def cluster_count(p, n_alive):
    """k = round(p n) (halves up), at least 1 when n >= 1 (0 when no node is alive)."""
    if n_alive == 0:
        return 0
    k = int(math.floor(p * n_alive + 0.5))
    if k < 1:
        k = 1
    return k


@njit(cache=True, nogil=True)
def eligible_nodes(alive, energy, out):
    """Fill ``out`` with the eligible nodes (alive, E_i >= min(E_mean, max E)) in increasing index; returns
    ``(m, n_alive)``."""
    total = 0.0
    n_alive = 0
    top = -np.inf
    for i in range(alive.shape[0]):
        if alive[i] != 0:
            total += energy[i]
            n_alive += 1
            if energy[i] > top:
                top = energy[i]
    if n_alive == 0:
        return 0, 0
    threshold = total / n_alive
    if threshold > top:
        threshold = top
    m = 0
    for i in range(alive.shape[0]):
        if alive[i] != 0 and energy[i] >= threshold:
            out[m] = i
            m += 1
    return m, n_alive


@njit(cache=True, nogil=True)
def alive_bounds(x, y, alive):
    """``(x_min, x_max, y_min, y_max)`` [m] of the alive nodes (infinities when none is alive)."""
    x_min = np.inf
    x_max = -np.inf
    y_min = np.inf
    y_max = -np.inf
    for i in range(x.shape[0]):
        if alive[i] != 0:
            x_min = min(x_min, x[i])
            x_max = max(x_max, x[i])
            y_min = min(y_min, y[i])
            y_max = max(y_max, y[i])
    return x_min, x_max, y_min, y_max


@njit(cache=True, nogil=True)
def nearest_heads(x, y, alive, heads, k, is_head, owner):
    """Nearest head of every alive node (``owner[i]``; a head owns itself; dead nodes get -1).

    Squared distances ``dx*dx + dy*dy`` with dx = x_i - x_h; ties to the lower head index. Uses a uniform
    grid over the alive nodes' bounding box with about one head per cell (cell side
    max(sqrt(span_x span_y / k), max(span_x, span_y) / k), so at most 3k + 1 cells), searched in rings
    of cells until the nearest unsearched cell is farther than the best head found (with a slack for
    rounding; the 3 x 3 block around the node's cell first, from one contiguous candidate list per cell);
    a single cell when the side is 0 or not finite.
    """
    n = x.shape[0]
    x_min, x_max, y_min, y_max = alive_bounds(x, y, alive)
    span_x = x_max - x_min
    span_y = y_max - y_min
    side = max(math.sqrt(span_x * span_y / k), max(span_x, span_y) / k)
    gx = 1
    gy = 1
    single = not (side > 0.0 and side < np.inf and 1.0 / side < np.inf)
    if single:
        side = 1.0
    else:
        gx = int(span_x / side) + 1
        gy = int(span_y / side) + 1
    inv = 1.0 / side
    # slack on the ring bound for rounding in the cell index (relative to cell and coordinate sizes)
    slack = 1e-9 * side + 1e-12 * (abs(x_min) + abs(y_min) + span_x + span_y)
    n_cells = gx * gy
    start = np.zeros(n_cells + 1, dtype=np.int64)
    head_cell = np.empty(k, dtype=np.int64)
    for j in range(k):
        h = heads[j]
        cx = 0
        cy = 0
        if not single:
            cx = min(max(int((x[h] - x_min) * inv), 0), gx - 1)
            cy = min(max(int((y[h] - y_min) * inv), 0), gy - 1)
        head_cell[j] = cy * gx + cx
        start[head_cell[j] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    fill = start[:n_cells].copy()
    cell_head = np.empty(k, dtype=np.int64)
    cell_x = np.empty(k, dtype=np.float64)
    cell_y = np.empty(k, dtype=np.float64)
    for j in range(k):
        c = head_cell[j]
        cell_head[fill[c]] = heads[j]
        cell_x[fill[c]] = x[heads[j]]
        cell_y[fill[c]] = y[heads[j]]
        fill[c] += 1
    # each cell's candidates: the heads of the 3 x 3 block of cells around it, stored contiguously
    nb_start = np.zeros(n_cells + 1, dtype=np.int64)
    for cy in range(gy):
        for cx in range(gx):
            total = 0
            for yy in range(max(cy - 1, 0), min(cy + 2, gy)):
                total += start[yy * gx + min(cx + 2, gx)] - start[yy * gx + max(cx - 1, 0)]
            nb_start[cy * gx + cx + 1] = total
    for c in range(n_cells):
        nb_start[c + 1] += nb_start[c]
    nb_head = np.empty(nb_start[n_cells], dtype=np.int64)
    nb_x = np.empty(nb_start[n_cells], dtype=np.float64)
    nb_y = np.empty(nb_start[n_cells], dtype=np.float64)
    for cy in range(gy):
        for cx in range(gx):
            pos = nb_start[cy * gx + cx]
            for yy in range(max(cy - 1, 0), min(cy + 2, gy)):
                for q in range(start[yy * gx + max(cx - 1, 0)], start[yy * gx + min(cx + 2, gx)]):
                    nb_head[pos] = cell_head[q]
                    nb_x[pos] = cell_x[q]
                    nb_y[pos] = cell_y[q]
                    pos += 1
    for i in range(n):
        if alive[i] == 0:
            owner[i] = -1
            continue
        if is_head[i] != 0:
            owner[i] = i
            continue
        px = x[i]
        py = y[i]
        cx = 0
        cy = 0
        if not single:
            cx = min(max(int((px - x_min) * inv), 0), gx - 1)
            cy = min(max(int((py - y_min) * inv), 0), gy - 1)
        c = cy * gx + cx
        best = -1
        best_d = np.inf
        for q in range(nb_start[c], nb_start[c + 1]):
            dx = px - nb_x[q]
            dy = py - nb_y[q]
            d = dx * dx + dy * dy
            if d < best_d or (d == best_d and nb_head[q] < best):
                best_d = d
                best = nb_head[q]
        # distance to the nearest cell outside the 3 x 3 block (block edges on the grid's border do not
        # count), less the slack; otherwise search rings of cells outward
        bound = np.inf
        if cx - 1 > 0:
            bound = min(bound, px - (x_min + (cx - 1) * side))
        if cx + 1 < gx - 1:
            bound = min(bound, x_min + (cx + 2) * side - px)
        if cy - 1 > 0:
            bound = min(bound, py - (y_min + (cy - 1) * side))
        if cy + 1 < gy - 1:
            bound = min(bound, y_min + (cy + 2) * side - py)
        bound -= slack
        if best >= 0 and bound > 0.0 and best_d < bound * bound:
            owner[i] = best
            continue
        owner[i] = _ring_search(px, py, cx, cy, gx, gy, x_min, y_min, side, slack, start, cell_head, cell_x,
                                cell_y)


@njit(cache=True, nogil=True)
def _ring_search(px, py, cx, cy, gx, gy, x_min, y_min, side, slack, start, cell_head, cell_x, cell_y):
    """Nearest head of the point (px, py) in cell (cx, cy): rings of cells searched outward until the
    nearest unsearched cell is farther than the best head found (ties to the lower index)."""
    reach = max(max(cx, gx - 1 - cx), max(cy, gy - 1 - cy))
    best = -1
    best_d = np.inf
    r = 0
    while True:
        for yy in range(cy - r, cy + r + 1):
            if yy < 0 or yy >= gy:
                continue
            step = 1 if (yy == cy - r or yy == cy + r) else 2 * r
            xx = cx - r
            while xx <= cx + r:
                if xx >= 0 and xx < gx:
                    c = yy * gx + xx
                    for q in range(start[c], start[c + 1]):
                        dx = px - cell_x[q]
                        dy = py - cell_y[q]
                        d = dx * dx + dy * dy
                        if d < best_d or (d == best_d and cell_head[q] < best):
                            best_d = d
                            best = cell_head[q]
                xx += step
        if r >= reach:
            return best
        if best >= 0:
            bound = np.inf
            if cx - r > 0:
                bound = min(bound, px - (x_min + (cx - r) * side))
            if cx + r < gx - 1:
                bound = min(bound, x_min + (cx + r + 1) * side - px)
            if cy - r > 0:
                bound = min(bound, py - (y_min + (cy - r) * side))
            if cy + r < gy - 1:
                bound = min(bound, y_min + (cy + r + 1) * side - py)
            bound -= slack
            if bound > 0.0 and best_d < bound * bound:
                return best
        r += 1


#: Side of the Hilbert curve's grid (cells per axis) used for the start, and the key stride (> any N).
HILBERT_SIDE = 65536
HILBERT_STRIDE = 2**31


@njit(cache=True, nogil=True)
def _quantize(offset, scale):
    """Cell ``int(offset / scale * 65535)`` in [0, 65535] of a coordinate ``offset`` [m] from the alive
    nodes' minimum, ``scale`` [m] the larger span (0 when the span is 0 or not finite)."""
    if not (scale > 0.0 and scale < np.inf):
        return 0
    f = offset / scale * 65535.0
    if not f > 0.0:
        return 0
    if f >= 65535.0:
        return 65535
    return int(f)


@njit(cache=True, nogil=True)
def hilbert_key(qx, qy):
    """Index of cell (qx, qy) along the Hilbert curve over a 65536 x 65536 grid (the classic ``xy2d``)."""
    d = 0
    s = HILBERT_SIDE // 2
    while s > 0:
        rx = 1 if (qx & s) > 0 else 0
        ry = 1 if (qy & s) > 0 else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                qx = HILBERT_SIDE - 1 - qx
                qy = HILBERT_SIDE - 1 - qy
            qx, qy = qy, qx
        s //= 2
    return d


@njit(cache=True, nogil=True)
def elect_leach_c(rng, p, max_iterations, swap_cap, swap_budget, swap_passes, x, y, alive, energy, is_ch):
    """Elect this round's LEACH-C cluster heads (compiled; see the module Notes).

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator (k uniforms for the start, then 2 per swap trial; see Notes).
    p : float
        Desired CH fraction in (0, 1].
    max_iterations : int
        Cap on the assign/update passes from the start (>= 1).
    swap_cap, swap_budget : int
        The random-swap trials are ``min(swap_cap, swap_budget // n)`` for n alive nodes.
    swap_passes : int
        Cap on the assign/update passes after each swap.
    x, y : float64[N]
        Node positions [m].
    alive : uint8[N]
        Alive flags.
    energy : float64[N]
        Residual energy after this round's harvest [J].
    is_ch : uint8[N]
        Output mask of the cluster heads.

    Returns
    -------
    (n_ch, passes) : (int, int)
        Number of heads and of assign/update passes run in all (0 when the heads were not searched).
    """
    n = x.shape[0]
    for i in range(n):
        is_ch[i] = 0
    pool = np.empty(n, dtype=np.int64)
    m, n_alive = eligible_nodes(alive, energy, pool)
    if n_alive == 0:
        return 0, 0
    k = min(cluster_count(p, n_alive), m)
    if k == m:
        for j in range(m):
            is_ch[pool[j]] = 1
        return m, 0
    # start: one head drawn in each of k consecutive runs of the eligible nodes along a Hilbert curve
    x_min, x_max, y_min, y_max = alive_bounds(x, y, alive)
    scale = max(x_max - x_min, y_max - y_min)
    keys = np.empty(m, dtype=np.int64)
    for j in range(m):
        i = pool[j]
        keys[j] = hilbert_key(_quantize(x[i] - x_min, scale), _quantize(y[i] - y_min, scale)) * HILBERT_STRIDE + i
    keys.sort()
    heads = np.empty(k, dtype=np.int64)
    for j in range(k):
        lo = j * m // k
        hi = (j + 1) * m // k
        t = lo + int(rng.random() * (hi - lo))
        if t > hi - 1:
            t = hi - 1
        heads[j] = keys[t] % HILBERT_STRIDE
    for j in range(k):
        is_ch[heads[j]] = 1
    eligible = np.zeros(n, dtype=np.uint8)
    for j in range(m):
        eligible[pool[j]] = 1
    owner = np.empty(n, dtype=np.int64)
    passes, settled = k_medoids(x, y, alive, eligible, heads, is_ch, max_iterations, owner)
    swap_trials = min(swap_cap, swap_budget // n_alive)
    if swap_trials <= 0:
        return k, passes
    # random swaps: a random head for a random eligible non-head, refined, kept when J falls
    if not settled:  # (when settled, owner already holds the nearest heads)
        nearest_heads(x, y, alive, heads, k, is_ch, owner)
    cost = members_cost(x, y, alive, is_ch, owner)
    trial_heads = np.empty(k, dtype=np.int64)
    trial_is_ch = np.empty(n, dtype=np.uint8)
    for _ in range(swap_trials):
        j = int(rng.random() * k)
        if j > k - 1:
            j = k - 1
        rank = int(rng.random() * (m - k))
        if rank > m - k - 1:
            rank = m - k - 1
        c = -1
        for i in range(n):
            if eligible[i] != 0 and is_ch[i] == 0:
                if rank == 0:
                    c = i
                    break
                rank -= 1
        trial_heads[:] = heads
        trial_is_ch[:] = is_ch
        trial_is_ch[heads[j]] = 0
        trial_is_ch[c] = 1
        trial_heads[j] = c
        trial_passes, settled = k_medoids(x, y, alive, eligible, trial_heads, trial_is_ch, swap_passes, owner)
        passes += trial_passes
        if not settled:
            nearest_heads(x, y, alive, trial_heads, k, trial_is_ch, owner)
        trial_cost = members_cost(x, y, alive, trial_is_ch, owner)
        if trial_cost < cost:
            cost = trial_cost
            heads[:] = trial_heads
            is_ch[:] = trial_is_ch
    return k, passes


@njit(cache=True, nogil=True)
def members_cost(x, y, alive, is_ch, owner):
    """J [m^2]: squared distance of every alive non-head to its head ``owner[i]``, summed in node order."""
    total = 0.0
    for i in range(x.shape[0]):
        if alive[i] != 0 and is_ch[i] == 0:
            dx = x[i] - x[owner[i]]
            dy = y[i] - y[owner[i]]
            total += dx * dx + dy * dy
    return total


@njit(cache=True, nogil=True)
def k_medoids(x, y, alive, eligible, heads, is_ch, max_passes, owner):
    """The assign/update passes of the module Notes on ``heads`` and ``is_ch`` (in place); returns the number
    of passes run (at most ``max_passes``) and whether the last pass changed no head (then ``owner`` holds
    every alive node's nearest head)."""
    n = x.shape[0]
    k = heads.shape[0]
    slot = np.full(n, -1, dtype=np.int64)
    sum_x = np.empty(k, dtype=np.float64)
    sum_y = np.empty(k, dtype=np.float64)
    count = np.empty(k, dtype=np.int64)
    cen_x = np.empty(k, dtype=np.float64)
    cen_y = np.empty(k, dtype=np.float64)
    best = np.empty(k, dtype=np.int64)
    best_d = np.empty(k, dtype=np.float64)
    passes = 0
    while passes < max_passes:
        passes += 1
        nearest_heads(x, y, alive, heads, k, is_ch, owner)
        for j in range(k):
            slot[heads[j]] = j
            sum_x[j] = 0.0
            sum_y[j] = 0.0
            count[j] = 0
        for i in range(n):
            if alive[i] != 0:
                j = slot[owner[i]]
                sum_x[j] += x[i]
                sum_y[j] += y[i]
                count[j] += 1
        for j in range(k):
            cen_x[j] = sum_x[j] / count[j]
            cen_y[j] = sum_y[j] / count[j]
            h = heads[j]
            dx = x[h] - cen_x[j]
            dy = y[h] - cen_y[j]
            best[j] = h
            best_d[j] = dx * dx + dy * dy
        for i in range(n):
            if alive[i] != 0 and eligible[i] != 0 and is_ch[i] == 0:
                j = slot[owner[i]]
                dx = x[i] - cen_x[j]
                dy = y[i] - cen_y[j]
                d = dx * dx + dy * dy
                if d < best_d[j]:
                    best_d[j] = d
                    best[j] = i
        changed = False
        for j in range(k):
            h = heads[j]
            if best[j] != h:
                changed = True
                slot[h] = -1
                is_ch[h] = 0
                is_ch[best[j]] = 1
                heads[j] = best[j]
        if not changed:
            return passes, True
    return passes, False


def squared_distance_objective(x, y, alive, heads):
    """J(H) [m^2]: the members' (alive non-heads) squared distances to their nearest head (brute force,
    for tests and diagnostics; O(N k))."""
    alive = np.asarray(alive, dtype=bool)
    heads = np.asarray(heads, dtype=bool)
    members = alive & ~heads
    if not heads.any() or not members.any():
        return 0.0
    hx, hy = x[heads], y[heads]
    total = 0.0
    for i in np.flatnonzero(members):
        dx = x[i] - hx
        dy = y[i] - hy
        total += float(np.min(dx * dx + dy * dy))
    return total


class LeachCPolicy(ClusteringPolicy):
    """LEACH-C election (see the module Notes) as a policy: the sink's choice each round, no own state."""

    name = "leach-c"
    control = "centralized"
    max_iterations = MAX_ITERATIONS
    swap_cap = SWAP_CAP
    swap_budget = SWAP_BUDGET
    swap_passes = SWAP_PASSES

    def reset(self, state, rng):
        self.p = resolved_p(state)  # (--p auto: k_opt / N of the deployment)
        self._is_ch = np.zeros(state.n, dtype=np.uint8)
        self.last_passes = 0

    def elect(self, state, rng):
        x = np.ascontiguousarray(state.x, dtype=np.float64)
        y = np.ascontiguousarray(state.y, dtype=np.float64)
        _, self.last_passes = elect_leach_c(rng, self.p, self.max_iterations, self.swap_cap, self.swap_budget,
                                            self.swap_passes, x, y, state.alive_u8, state.energy, self._is_ch)
        return self._is_ch.view(np.bool_)

    def describe(self):
        return {"name": self.name, "p": described_p(self.scenario),
                "search": "k-medoids passes from a Hilbert-spread random start, then random swaps",
                "max_iterations": int(self.max_iterations), "swap_cap": int(self.swap_cap),
                "swap_budget": int(self.swap_budget), "swap_passes": int(self.swap_passes)}
