"""Slow, readable pure-Python reference of the LEACH-C election (rules: wsnmec/clustering/leach_c.py Notes).

Written from the module Notes, independently of the compiled code: plain lists and floats, brute-force
nearest head over every head. Given the same Generator it draws the same uniforms and computes the same
float64 values, so the tests require exact agreement with the kernel.
"""

from __future__ import annotations

import math


def squared_distance(x, y, i, j):
    dx = x[i] - x[j]
    dy = y[i] - y[j]
    return dx * dx + dy * dy


def cell(offset, side):
    """Grid cell 0..65535 of a coordinate offset [m] on a grid of 65536 cells over ``side`` [m]."""
    if not (0.0 < side < math.inf):
        return 0
    f = offset / side * 65535.0
    return 0 if not f > 0.0 else 65535 if f >= 65535.0 else int(f)


def hilbert_index(cx, cy, order=16):
    """Position of cell (cx, cy) along the Hilbert curve filling a 2^order x 2^order grid: at each level,
    the quadrant's rank in the curve's visiting order (lower-left, upper-left, upper-right, lower-right),
    then the cell is mapped into that quadrant's own (rotated or reflected) frame."""
    side = 2**order
    index = 0
    half = side // 2
    while half >= 1:
        right = int(cx & half != 0)
        up = int(cy & half != 0)
        index += half * half * ((3 * right) ^ up)
        if not up:  # lower quadrants are reflected (lower right) and transposed
            if right:
                cx, cy = side - 1 - cx, side - 1 - cy
            cx, cy = cy, cx
        half //= 2
    return index


def nearest_head(x, y, i, heads):
    """The head nearest node i (squared distance, ties to the lower index)."""
    best, best_d = -1, math.inf
    for h in heads:
        d = squared_distance(x, y, i, h)
        if d < best_d or (d == best_d and h < best):
            best, best_d = h, d
    return best


def improve(x, y, alive_nodes, eligible_set, heads, max_passes):
    """Assign/update passes on ``heads`` (a list in slot order); returns ``(heads, passes)``."""
    heads = list(heads)
    passes = 0
    while passes < max_passes:
        passes += 1
        # assign: nearest head by brute force, ties to the lower index; heads join themselves
        cluster = {h: [] for h in heads}
        for i in alive_nodes:
            cluster[i if i in cluster else nearest_head(x, y, i, heads)].append(i)
        # update: the eligible member nearest the centroid replaces the head if strictly nearer
        new_heads = []
        for h in heads:
            points = sorted(cluster[h])
            sx = 0.0
            sy = 0.0
            for i in points:
                sx += float(x[i])
                sy += float(y[i])
            cx = sx / len(points)
            cy = sy / len(points)

            def to_centroid(i):
                dx = x[i] - cx
                dy = y[i] - cy
                return dx * dx + dy * dy

            chosen = h
            chosen_d = to_centroid(h)
            for i in points:
                if i != h and i in eligible_set and to_centroid(i) < chosen_d:
                    chosen, chosen_d = i, to_centroid(i)
            new_heads.append(chosen)
        if new_heads == heads:
            break
        heads = new_heads
    return heads, passes


def naive_leach_c(rng, p, max_iterations, swap_cap, swap_budget, swap_passes, x, y, alive, energy):
    """Return ``(heads, passes)``: the sorted list of cluster heads and the number of assign passes."""
    n = len(x)
    alive_nodes = [i for i in range(n) if alive[i]]
    if not alive_nodes:
        return [], 0
    total = 0.0
    for i in alive_nodes:
        total += float(energy[i])
    mean = total / len(alive_nodes)
    threshold = min(mean, max(float(energy[i]) for i in alive_nodes))
    eligible = [i for i in alive_nodes if float(energy[i]) >= threshold]

    k = max(1, math.floor(p * len(alive_nodes) + 0.5))
    if k >= len(eligible):
        return sorted(eligible), 0

    # start: eligible nodes along the Hilbert curve, one random head in each of k consecutive runs
    xs = [float(x[i]) for i in alive_nodes]
    ys = [float(y[i]) for i in alive_nodes]
    x_min, y_min = min(xs), min(ys)
    side = max(max(xs) - x_min, max(ys) - y_min)
    order = sorted(eligible, key=lambda i: (hilbert_index(cell(x[i] - x_min, side), cell(y[i] - y_min, side)), i))
    m = len(order)
    heads = []
    for j in range(k):
        lo, hi = j * m // k, (j + 1) * m // k
        heads.append(order[min(lo + int(rng.random() * (hi - lo)), hi - 1)])
    eligible_set = set(eligible)
    heads, passes = improve(x, y, alive_nodes, eligible_set, heads, max_iterations)

    # random swaps, kept when the members' squared distances fall
    cost = naive_objective(x, y, alive, heads)
    for _ in range(min(swap_cap, swap_budget // len(alive_nodes))):
        slot = min(int(rng.random() * k), k - 1)
        others = [i for i in eligible if i not in heads]
        newcomer = others[min(int(rng.random() * (m - k)), m - k - 1)]
        trial = list(heads)
        trial[slot] = newcomer
        trial, trial_passes = improve(x, y, alive_nodes, eligible_set, trial, swap_passes)
        passes += trial_passes
        trial_cost = naive_objective(x, y, alive, trial)
        if trial_cost < cost:
            heads, cost = trial, trial_cost
    return sorted(heads), passes


def naive_objective(x, y, alive, heads):
    """Sum over alive non-heads, in node order, of the squared distance to the nearest head [m^2]."""
    heads = list(heads)
    total = 0.0
    for i in range(len(x)):
        if alive[i] and i not in heads and heads:
            total += squared_distance(x, y, i, nearest_head(x, y, i, heads))
    return total
