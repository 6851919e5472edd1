"""Slow, readable pure-Python references for the offloading kernels (used only by the tests).

They restate the model equations of wsnmec.offload.mumt / wsn_ch directly from their docstrings, with
plain loops and dictionaries of named constants, and solve by brute force with itertools.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def mumt_cost(sizes_mb, decision, cfg):
    """Q [J] of the mumt model; ``cfg`` is the model's config dict."""
    n_dev, n_task = cfg["devices"], cfg["tasks"]
    total = 0.0
    for i in range(n_dev):
        energy = 0.0
        local_time = 0.0
        offload_time = 0.0
        for j in range(n_task):
            size = float(sizes_mb[i * n_task + j])
            bits = cfg["bits_per_mb"] * size
            if decision[i * n_task + j]:
                energy += (cfg["tx_energy"] + cfg["edge_energy"]) * bits
                offload_time += size / cfg["uplink_rate"] + cfg["cycles_per_bit"] * bits / cfg["edge_cpu"]
            else:
                energy += cfg["local_energy"] * bits
                local_time += cfg["local_time"] * bits
        total += energy + cfg["time_weight"] * max(local_time, offload_time)
    return total


def radio_tx(bits, distance, cfg):
    """First-order radio model E_tx [J] (two-ray form)."""
    if distance <= cfg["d0"]:
        return bits * cfg["e_elec"] + bits * cfg["eps_fs"] * distance**2
    return bits * cfg["e_elec"] + bits * cfg["eps_mp"] * distance**4


def wsn_ch_cost(state, decision, cfg):
    """U [J] of the wsn-ch model; ``cfg`` is the model's config dict."""
    n = cfg["cluster_heads"]
    distances, data_bits, residual = state[:n], state[n:2 * n], state[2 * n:]
    k = sum(int(x) for x in decision)
    total = 0.0
    for i in range(n):
        cycles = cfg["cycles_per_bit"] * data_bits[i]
        w_e = cfg["energy_weight"] * (cfg["reference_energy"] / max(residual[i], 1e-12)) ** cfg["energy_exponent"]
        if decision[i]:
            energy = radio_tx(data_bits[i], distances[i], cfg)
            time = data_bits[i] / (cfg["bandwidth"] / k) + cycles / (cfg["edge_cpu"] / k)
        else:
            energy = cfg["kappa"] * cfg["cpu_frequency"] ** 2 * cycles + radio_tx(cfg["result_bits"], distances[i], cfg)
            time = cycles / cfg["cpu_frequency"] + cfg["result_bits"] / cfg["bandwidth"]
        total += w_e * energy + cfg["time_weight"] * time
    return total


def wsn_ch_breakdown(state, decision, cfg):
    """Per-CH (energy [J], latency [s]) lists of the wsn-ch model, unweighted."""
    n = cfg["cluster_heads"]
    k = sum(int(x) for x in decision)
    energy, latency = [], []
    for i in range(n):
        d, b = state[i], state[n + i]
        cycles = cfg["cycles_per_bit"] * b
        if decision[i]:
            energy.append(radio_tx(b, d, cfg))
            latency.append(b / (cfg["bandwidth"] / k) + cycles / (cfg["edge_cpu"] / k))
        else:
            energy.append(cfg["kappa"] * cfg["cpu_frequency"] ** 2 * cycles + radio_tx(cfg["result_bits"], d, cfg))
            latency.append(cycles / cfg["cpu_frequency"] + cfg["result_bits"] / cfg["bandwidth"])
    return energy, latency


def cost(model, state, decision):
    """Dispatch on the model family."""
    if model.name == "mumt":
        return mumt_cost(state, decision, model.config)
    return wsn_ch_cost(state, decision, model.config)


def brute_force(model, state):
    """(best utility, list of all best decisions) over all 2^n decisions."""
    best = None
    best_decisions = []
    for bits in itertools.product((0, 1), repeat=model.n_decisions):
        u = cost(model, state, bits)
        if best is None or model.sense * u > model.sense * best + 1e-12 * abs(best):
            best = u
            best_decisions = [bits]
        elif math.isclose(u, best, rel_tol=1e-12):
            best_decisions.append(bits)
    return best, best_decisions


def mumt_greedy(state, cfg):
    """Each device offloads its largest tasks (stable order on ties) while its cost drops."""
    n_dev, n_task = cfg["devices"], cfg["tasks"]
    decision = [0] * (n_dev * n_task)
    for i in range(n_dev):
        tasks = sorted(range(n_task), key=lambda j: -state[i * n_task + j])  # stable
        one_device = {**cfg, "devices": 1}
        sizes = [state[i * n_task + j] for j in range(n_task)]
        current = [0] * n_task
        cost_now = mumt_cost(sizes, current, one_device)
        for j in tasks:
            trial = list(current)
            trial[j] = 1
            c = mumt_cost(sizes, trial, one_device)
            if c < cost_now:
                current, cost_now = trial, c
            else:
                break
        decision[i * n_task:(i + 1) * n_task] = current
    return decision


def coordinate_descent(model, state):
    """Steepest single-flip descent from all-local (lowest index wins ties)."""
    x = [0] * model.n_decisions
    u = cost(model, state, x)
    while True:
        best_j, best_u = -1, u
        for j in range(model.n_decisions):
            x[j] ^= 1
            v = cost(model, state, x)
            x[j] ^= 1
            if model.sense * v > model.sense * best_u:
                best_j, best_u = j, v
        if best_j < 0:
            return x, u
        x[best_j] ^= 1
        u = best_u


def order_preserving(relaxed, count):
    """DROO order-preserving quantization of one relaxed vector (list of probabilities)."""
    n = len(relaxed)
    out = [[1 if p > 0.5 else 0 for p in relaxed]]
    order = sorted(range(n), key=lambda j: abs(relaxed[j] - 0.5))
    for q in range(1, count):
        pivot = relaxed[order[q - 1]]
        if pivot <= 0.5:
            out.append([1 if p >= pivot else 0 for p in relaxed])
        else:
            out.append([1 if p > pivot else 0 for p in relaxed])
    return out


def mlp_forward(x, weights, biases):
    """One network's logits for one input (plain Python lists of lists)."""
    h = list(map(float, x))
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = [sum(h[i] * w[i][o] for i in range(len(h))) + b[o] for o in range(len(b))]
        h = z if layer == len(weights) - 1 else [max(v, 0.0) for v in z]
    return h


def as_uint8(rows):
    return np.asarray(rows, dtype=np.uint8)
