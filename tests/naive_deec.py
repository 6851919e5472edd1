"""Slow, readable pure-Python reference of the DEEC election (rules: wsnmec/clustering/deec.py Notes).

Written from the module Notes, independently of the compiled code: plain Python ints and floats. Given the
same Generator it draws the same uniforms and computes the same float64 values, so the tests require exact
agreement with the kernel.
"""

from __future__ import annotations

import math

EPOCH_CAP = 2**62


def naive_deec(rng, round_number, p, alive, energy, last_ch):
    """One DEEC round: returns the CH mask (list of bool) and updates ``last_ch`` (a list; 0 = never CH)."""
    n = len(alive)
    alive_energies = [float(energy[i]) for i in range(n) if alive[i]]
    mean = 0.0
    for e in alive_energies:
        mean += e
    if alive_energies:
        mean = mean / len(alive_energies)
    heads = [False] * n
    if not mean > 0.0:
        return heads
    for i in range(n):
        if not alive[i]:
            continue
        p_i = min(p * float(energy[i]) / mean, 1.0)
        if p_i <= 0.0:
            continue
        inverse = 1.0 / p_i + 0.5
        epoch = EPOCH_CAP if inverse >= 2.0**62 else max(1, math.floor(inverse))
        # not eligible if it was CH in its current epoch (rounds k * epoch + 1 .. (k + 1) * epoch)
        current_epoch = (round_number - 1) // epoch
        if last_ch[i] > 0 and (last_ch[i] - 1) // epoch == current_epoch:
            continue
        threshold = p_i / (1.0 - p_i * ((round_number - 1) % epoch))
        if rng.random() < threshold:
            heads[i] = True
            last_ch[i] = round_number
    return heads
