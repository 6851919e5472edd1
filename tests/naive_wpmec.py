"""Slow, readable reference for the wpmec model (used only by the tests and the data checks).

Written from the equations of Bi & Zhang (IEEE TWC 2018) / Huang, Bi & Zhang (IEEE TMC 2020), solved by a
method different from the package's: an outer one-dimensional search over the energy-transfer time a
(bounded Brent search, the objective is concave in a) and, for each a, the inner optimal split of the
remaining time 1 - a among the offloading devices (bisection on the split's multiplier mu with Brent's
root finder; each device's SNR-to-time ratio from the Lambert W function).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import lambertw


def constants(cfg):
    """(eta1, eta2, epsilon, kappa) from a config dict of the model's named constants."""
    eta1 = (cfg["efficiency"] * cfg["ap_power"]) ** (1.0 / 3.0) / cfg["cycles_per_bit"]
    eta2 = cfg["efficiency"] * cfg["ap_power"] / cfg["noise_power"]
    epsilon = cfg["bandwidth"] / (cfg["v_u"] * math.log(2.0))
    return eta1, eta2, epsilon, cfg["kappa"]


def local_rate(h, a, cfg):
    """Local computing rate [bit/s]: eta1 (h / kappa)^(1/3) a^(1/3)."""
    eta1, _, _, kappa = constants(cfg)
    return eta1 * (h / kappa) ** (1.0 / 3.0) * a ** (1.0 / 3.0)


def offload_rate(h, a, tau, cfg):
    """Offloading rate [bit/s]: (B tau / v_u) log2(1 + mu P a h^2 / (tau N0)); 0 for tau = 0."""
    _, eta2, epsilon, _ = constants(cfg)
    if tau <= 0.0:
        return 0.0
    return epsilon * tau * math.log1p(eta2 * h * h * a / tau)


def ratio_for(t):
    """x > 0 with ln(1 + x) - x / (1 + x) = t (t > 0), via the principal Lambert W branch."""
    u = -lambertw(-math.exp(-1.0 - t)).real  # u = 1 / (1 + x)
    return 1.0 / u - 1.0


def inner_split(a, h_off, w_off, cfg):
    """Optimal offloading times (sum = 1 - a) for energy time a; returns (tau list, offloading rate sum)."""
    _, eta2, epsilon, _ = constants(cfg)
    c = [eta2 * h * h for h in h_off]
    budget = 1.0 - a
    if not h_off or budget <= 0.0:
        return [0.0] * len(h_off), 0.0

    def taus(mu):
        return [c[j] * a / ratio_for(mu / (w_off[j] * epsilon)) for j in range(len(c))]

    lo = hi = 1e-6 * min(w_off) * epsilon  # mu with t = mu / (w eps) <= 1e-6: x ~ 1e-3, tau ~ 1e3 c a
    while sum(taus(lo)) < budget:
        lo /= 2.0
    while sum(taus(hi)) > budget:
        hi *= 2.0
    mu = brentq(lambda m: sum(taus(m)) - budget, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500)
    tau = taus(mu)
    total = sum(w_off[j] * offload_rate(h_off[j], a, tau[j], cfg) for j in range(len(c)))
    return tau, total


def allocate(h, weights, decision, cfg):
    """(objective, a, tau[N]) of one decision by the nested searches."""
    N = len(h)
    off = [j for j in range(N) if decision[j] and weights[j] > 0]
    loc = [i for i in range(N) if not decision[i]]

    def objective(a):
        local = sum(weights[i] * local_rate(h[i], a, cfg) for i in loc)
        _, offload = inner_split(a, [h[j] for j in off], [weights[j] for j in off], cfg)
        return local + offload

    if not off:
        a = 1.0
    else:
        res = minimize_scalar(lambda a: -objective(a), bounds=(1e-12, 1.0 - 1e-12), method="bounded",
                              options={"xatol": 1e-13, "maxiter": 1000})
        a = res.x
    tau_off, _ = inner_split(a, [h[j] for j in off], [weights[j] for j in off], cfg)
    tau = [0.0] * N
    for j, t in zip(off, tau_off):
        tau[j] = t
    return objective(a), a, tau


def brute_force(h, weights, cfg):
    """Best (objective, decision) over all 2^N decisions with the nested-search allocation."""
    N = len(h)
    best, best_x = -1.0, None
    for code in range(2**N):
        x = [(code >> q) & 1 for q in range(N)]
        u = allocate(h, weights, x, cfg)[0]
        if u > best:
            best, best_x = u, x
    return best, np.asarray(best_x, dtype=np.uint8)


DROO = {"cycles_per_bit": 100.0, "ap_power": 3.0, "efficiency": 0.7, "kappa": 1e-26, "bandwidth": 2e6,
        "v_u": 1.1, "noise_power": 1e-10}
