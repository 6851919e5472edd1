"""Slow, readable pure-Python reference of the HEED election (Younis and Fahmy 2004).

Written from the paper's pseudo-code (Initialize / Repeat / Finalize) as spelled out in the Notes of
wsnmec/clustering/heed.py, independently of the compiled kernel: every node keeps its own variables
(neighbour list, cost, CH_prob, its view S_CH of the cluster heads it hears) and the network runs the
nodes' Repeat loops in synchronous iterations. Neighbours are found by brute force (all pairs). Given the
same Generator it draws the same uniforms in the same order as the kernel, so tests require exact
agreement.
"""

from __future__ import annotations

REGULAR, TENTATIVE, FINAL = "regular", "tentative", "final"


def within_range(x, y, i, j, r2):
    """Whether nodes i and j are within the cluster range (same float expression as the kernel)."""
    dx = x[j] - x[i]
    dy = y[j] - y[i]
    return dx * dx + dy * dy <= r2


def naive_heed(rng, x, y, alive, energy, initial, c_prob, p_min, r2):
    """One HEED clustering of the alive nodes.

    Parameters: positions x, y [m], alive flags, residual and initial energy [J] (sequences of length N),
    C_prob, p_min, r2 = R_c^2 [m^2].

    Returns a dict with ``heads`` (list of bool: final CHs), ``degree`` (alive nodes other than i within
    range, for every node i), ``sent`` and ``heard`` (announcements of the Repeat phase each node sent /
    heard from other alive nodes within range), ``head_of`` (the CH each alive node joins, -1 for dead
    nodes) and ``iterations``.
    """
    n = len(x)
    nodes = [i for i in range(n) if alive[i]]

    # Initialize: neighbours, cost (node degree), CH_prob
    degree = [sum(1 for j in range(n) if j != i and alive[j] and within_range(x, y, i, j, r2)) for i in range(n)]
    neighbours = {i: [j for j in nodes if j != i and within_range(x, y, i, j, r2)] for i in nodes}
    ch_prob = {}
    for i in nodes:
        ratio = energy[i] / initial[i] if initial[i] > 0.0 else 0.0
        ch_prob[i] = min(max(c_prob * ratio, p_min), 1.0)
    state = {i: REGULAR for i in nodes}
    running = set(nodes)
    sent = [0] * n
    heard = [0] * n

    def cost_key(v):
        return (degree[v], v)  # least cost, ties to the lower index

    iterations = 0
    while running:
        iterations += 1
        for i in sorted(running):  # node order; each announcement is heard before the next node acts
            s_ch = [v for v in [i] + neighbours[i] if state[v] in (TENTATIVE, FINAL)]
            announce = None
            if s_ch:
                my_head = min(s_ch, key=cost_key)
                if my_head == i:
                    announce = FINAL if ch_prob[i] == 1.0 else TENTATIVE
                else:
                    state[i] = REGULAR  # a tentative CH that found a cheaper CH gives up
            elif ch_prob[i] == 1.0:
                announce = FINAL
            elif rng.random() <= ch_prob[i]:
                announce = TENTATIVE
            if announce is not None:
                state[i] = announce
                sent[i] += 1
                for j in neighbours[i]:
                    heard[j] += 1
            if ch_prob[i] == 1.0:  # CH_previous = 1: this node's Repeat loop ends
                running.discard(i)
            else:
                ch_prob[i] = min(ch_prob[i] * 2.0, 1.0)

    # Finalize: join the least-cost final CH within range, else become a final CH
    final = {i for i in nodes if state[i] == FINAL}
    heads = [False] * n
    head_of = [-1] * n
    for i in nodes:
        candidates = [v for v in neighbours[i] if v in final]
        if i in final or not candidates:
            heads[i] = True
            head_of[i] = i
        else:
            head_of[i] = min(candidates, key=cost_key)
    return {"heads": heads, "degree": degree, "sent": sent, "heard": heard, "head_of": head_of,
            "iterations": iterations}
