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


def naive_leach_c(rng, p, max_iterations, x, y, alive, energy):
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

    # start: partial Fisher-Yates over the eligible nodes in increasing index
    pool = list(eligible)
    m = len(pool)
    for j in range(k):
        t = min(j + int(rng.random() * (m - j)), m - 1)
        pool[j], pool[t] = pool[t], pool[j]
    heads = set(pool[:k])
    eligible_set = set(eligible)

    passes = 0
    while passes < max_iterations:
        passes += 1
        # assign: nearest head by brute force, ties to the lower index; heads join themselves
        cluster = {h: [] for h in heads}
        for i in alive_nodes:
            if i in heads:
                cluster[i].append(i)
                continue
            best = min(heads, key=lambda h: (squared_distance(x, y, i, h), h))
            cluster[best].append(i)
        # update: the eligible member nearest the centroid replaces the head if strictly nearer
        new_heads = set()
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
            new_heads.add(chosen)
        if new_heads == heads:
            break
        heads = new_heads
    return sorted(heads), passes


def naive_objective(x, y, alive, heads):
    """Sum over alive non-heads of the squared distance to the nearest head [m^2]."""
    heads = list(heads)
    total = 0.0
    for i in range(len(x)):
        if alive[i] and i not in heads and heads:
            total += min(squared_distance(x, y, i, h) for h in heads)
    return total
