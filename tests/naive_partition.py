"""Slow, readable pure-Python reference of the partition model (used only by the tests).

It restates the equations of wsnmec.offload.partition's docstring from the profile CSV and the model's
config dict, with plain loops, and solves by brute force over all O^D decisions with itertools.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

PROFILES = Path(__file__).resolve().parents[1] / "wsnmec" / "offload" / "profiles"
BITS = {"fp32": 32.0, "fp16": 16.0, "int8": 8.0}


def read_profile(name):
    """Rows of the profile CSV as dicts (comment lines skipped)."""
    with open(PROFILES / f"{name}.csv") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return [{k: (int(v) if k in ("layer", "output_elements", "macs", "cut") else v) for k, v in row.items()}
            for row in csv.DictReader(lines)]


def slowdown(rho, rho_cap):
    if rho <= rho_cap:
        return 1.0 / (1.0 - rho)
    g = 1.0 - rho_cap
    return 1.0 / g + (rho - rho_cap) / g**2


def batch_ps_completions(works, capacity):
    """Completion times of jobs started together on a processor-sharing server, in input order, by the
    recursion t_(k) = t_(k-1) + (n - k + 1) (w_(k) - w_(k-1)) / C over the works sorted ascending."""
    n = len(works)
    order = sorted(range(n), key=lambda a: works[a])
    times = [0.0] * n
    t_prev, w_prev = 0.0, 0.0
    for k, a in enumerate(order, start=1):
        t_prev = t_prev + (n - k + 1) * (works[a] - w_prev) / capacity
        w_prev = works[a]
        times[a] = t_prev
    return times


def options(model):
    """List of (cut layer or None, server or None), option 0 = local."""
    cfg = model.config
    return [(None, None)] + [(s, j) for s in cfg["cut_layers"] for j in range(cfg["servers"])]


def device_part(cfg, rows, state, i, cut, server, loss_table):
    """(latency without the server part, energy, accuracy loss, remote MACs, precision cost) of one device."""
    total = sum(r["macs"] for r in rows)
    if cut is None:
        return total / cfg["device_rate"], total * cfg["device_energy"], 0.0, 0.0
    local = sum(r["macs"] for r in rows[: cut + 1])
    rate = state[i * cfg["servers"] + server]
    names = list(BITS) if cfg["precision"] == "learned" else [cfg["precision"]]
    best = None
    for p in names:
        loss = 0.0 if cut == 0 else loss_table[p]
        if loss > cfg["accuracy_floor"]:
            continue
        bits = rows[cut]["output_elements"] * (min(BITS[p], 8.0) if cut == 0 else BITS[p])
        t_tx = bits / rate
        c = (cfg["time_weight"] + cfg["energy_weight"] * cfg["tx_power"]) * t_tx + cfg["accuracy_weight"] * loss
        if best is None or c < best[0]:
            best = (c, t_tx, loss)
    _, t_tx, loss = best
    t = local / cfg["device_rate"] + t_tx
    e = local * cfg["device_energy"] + cfg["tx_power"] * t_tx
    return t, e, loss, total - local


def evaluate(model, state, decision, loss_table):
    """(Q, per-device latencies, per-device energies, per-server utilization) of one decision."""
    cfg = model.config
    rows = read_profile(cfg["network"])
    D, S = cfg["devices"], cfg["servers"]
    opts = options(model)
    caps = [cfg["capacities"][j] * state[D * S + S + j] for j in range(S)]
    back = [state[D * S + j] for j in range(S)]
    parts = [device_part(cfg, rows, state, i, *opts[decision[i]], loss_table) for i in range(D)]
    work = [0.0] * S
    on_server = [[] for _ in range(S)]  # devices on each live server
    for i in range(D):
        server = opts[decision[i]][1]
        if server is not None and caps[server] > 0:
            work[server] += parts[i][3]
            on_server[server].append(i)
    server_time = {}  # device -> time on its server under batch-ps
    for j in range(S):
        if on_server[j]:
            times = batch_ps_completions([parts[i][3] for i in on_server[j]], caps[j] * (1.0 - back[j]))
            server_time.update(zip(on_server[j], times))
    latency, energy, q = [], [], 0.0
    for i in range(D):
        t, e, loss, remote = parts[i]
        server = opts[decision[i]][1]
        if server is not None:
            if caps[server] <= 0:
                t += cfg["timeout_s"]
            elif cfg["queueing"] == "mm1":
                rho = back[server] + work[server] / (caps[server] * cfg["frame_period"])
                t += remote / caps[server] * slowdown(rho, cfg["rho_cap"])
            else:
                t += server_time[i]
        latency.append(t)
        energy.append(e)
        q += cfg["time_weight"] * t + cfg["energy_weight"] * e + cfg["accuracy_weight"] * loss
    util = [0.0 if caps[j] <= 0 else min(1.0, back[j] + work[j] / (caps[j] * cfg["frame_period"])) for j in range(S)]
    return q, latency, energy, util


def brute_force(model, state, loss_table):
    """(least Q, all decisions reaching it within 1e-12 relative) over all O^D decisions."""
    best, arg = None, []
    for dec in itertools.product(range(model.n_options), repeat=model.devices):
        q = evaluate(model, state, dec, loss_table)[0]
        if best is None or q < best * (1 - 1e-12):
            best, arg = q, [dec]
        elif q <= best * (1 + 1e-12):
            arg.append(dec)
    return best, arg


def categorical_candidates(logits, devices, options, per_net, opt_server):
    """The learner's candidates from logits [K][D*O] (wsnmec.offload.categorical docstring), plain Python."""
    out = []
    for z in logits:
        groups = [list(z[i * options:(i + 1) * options]) for i in range(devices)]
        top, second, margin = [], [], []
        for g in groups:
            ranked = sorted(range(options), key=lambda o: (-g[o], o))  # ties: lower index first
            top.append(ranked[0])
            second.append(ranked[1] if options > 1 else ranked[0])
            margin.append(g[ranked[0]] - g[second[-1]])
        order = sorted(range(devices), key=lambda i: (margin[i], i))
        for q in range(per_net):
            cand = list(top)
            if 1 <= q <= devices:
                cand[order[q - 1]] = second[order[q - 1]]
            elif q > devices:
                j = q - 1 - devices
                for i in range(devices):
                    if opt_server[top[i]] == j:
                        off = [o for o in range(options) if opt_server[o] != j]
                        cand[i] = max(off, key=lambda o: (groups[i][o], -o))
            out.append(cand)
    return out
