"""Model ``wpmec``: DROO's wireless-powered mobile-edge computing network (binary offloading).

An access point (AP) broadcasts RF energy during a fraction ``a`` of each frame (T = 1 s); its N wireless
devices harvest it. Device i either computes locally for the whole frame with its harvested energy
(x_i = 0) or offloads its data to the AP in its own time slot tau_i after the energy transfer (x_i = 1),
spending all its harvested energy on the transmission; ``a + sum_j tau_j <= 1``. The utility is the
weighted sum computation rate [bit/s] (higher is better, ``sense = +1``).

Notes
-----
Equations of Bi & Zhang [1]_ as used by DROO [2]_ (time in units of the frame T = 1), with the channel gain
h_i, harvested energy ``mu P h_i a``::

    local     r_L,i = eta1 (h_i / kappa)^(1/3) a^(1/3),        eta1 = (mu P)^(1/3) / phi       [bit/s]
    offload   r_O,j = eps tau_j ln(1 + eta2 h_j^2 a / tau_j),  eta2 = mu P / N0,
                                                                eps = B / (v_u ln 2)            [bit/s]
    Q(x) = max_{a, tau >= 0, a + sum tau <= 1}  sum_{x_i=0} w_i r_L,i + sum_{x_j=1} w_j r_O,j

Q is concave in (a, tau), so for each decision x the resource allocation is a convex problem. With
``A = sum_{x_i=0} w_i eta1 (h_i/kappa)^(1/3)``, ``c_j = eta2 h_j^2`` and ``v`` the multiplier of the time
constraint, its KKT conditions are (the constraint is tight at the optimum):

    eps w_j [ln(1 + x_j) - x_j / (1 + x_j)] = v            with x_j = c_j a / tau_j (each offloader)
    (A/3) a^(-2/3) + eps sum_j w_j c_j / (1 + x_j) = v
    a = 1 / (1 + sum_j c_j / x_j),   tau_j = c_j a / x_j

For a given v the first line fixes every x_j (the paper writes the solution with the Lambert W function);
the second, ``F(v) = 0``, then fixes v. DROO bisects on v; here F is solved by a safeguarded Newton
iteration (F is strictly decreasing: ``F'(v) = (2A/9) a^(1/3) S' - S - 1 < 0`` with ``S = sum c_j/x_j``,
``S' < 0``; bracketing falls back to halving when a Newton step leaves the bracket), and each x_j by
Newton's method on ``s = ln(1 + x)``: ``s + expm1(-s) = t`` is convex and increasing in s, so Newton
converges from any s > 0 (the first step lands right of the root, then decreases monotonically). The
tests compare with a readable reference solving the same problem by nested one-dimensional searches over
a and over the split of 1 - a, and check the KKT conditions at the returned (a, tau). Devices with weight
0 (switched off) contribute nothing and get tau = 0 whatever their decision.

Constants (DROO [2]_): phi = 100 cycles/bit, P = 3 W, mu = 0.7, kappa = 1e-26, B = 2 MHz, v_u = 1.1,
N0 = 1e-10 W, weights 1 (even device index, 0-based) and 1.5 (odd). Random states: h_i = h̄_i f_i with
Rayleigh fading (f exponential, unit mean) and the free-space path-loss mean
``h̄_i = A_d (3e8 / (4 pi f_c d_i))^d_e``, A_d = 3, f_c = 915 MHz, d_e = 2.8, distances
d_i = 2.5 + 0.3 i m. (DROO's paper states A_d = 4.11; its data sets ``data_N.mat`` were generated with
A_d = 3 and these distances: the per-device mean gains of every file match them to about 1 %.)

State row (length 2N): ``[h_1..h_N, w_1..w_N]`` (gains [-] and weights [-]). The learner's input is
``gain_scale * h`` (DROO scales by 1e6) with switched-off devices (weight 0) masked to 0.

References
----------
.. [1] S. Bi, Y. J. A. Zhang, "Computation Rate Maximization for Wireless Powered Mobile-Edge Computing
   With Binary Computation Offloading", IEEE Trans. Wireless Communications 17(6), 2018.
.. [2] L. Huang, S. Bi, Y. J. A. Zhang, "Deep Reinforcement Learning for Online Computation Offloading in
   Wireless Powered Mobile-Edge Computing Networks", IEEE Trans. Mobile Computing 19(11), 2020.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from numba import njit

from ..errors import ParameterError, check_float, check_int
from .family import OffloadFamily
from .models import OffloadModel

#: The family's kernel id in the compiled dispatch (:mod:`.dispatch`).
WPMEC_KIND = 2

#: Default constants of the wpmec model (SI units).
WPMEC_DEFAULTS: dict[str, float] = {
    "cycles_per_bit": 100.0,  # phi [cycles/bit]
    "ap_power": 3.0,  # P [W]
    "efficiency": 0.7,  # mu, energy-harvesting efficiency [-]
    "kappa": 1e-26,  # energy efficiency of the device CPU [J s^2/cycle^3]
    "bandwidth": 2e6,  # B [Hz]
    "v_u": 1.1,  # communication overhead factor [-]
    "noise_power": 1e-10,  # N0 [W]
    "weight_even": 1.0,  # w_i for even 0-based device index [-]
    "weight_odd": 1.5,  # w_i for odd device index [-]
    "gain_scale": 1e6,  # learner input = gain_scale * h
    # random states (path loss + Rayleigh fading, as DROO's data)
    "antenna_gain": 3.0,  # A_d [-]
    "carrier_frequency": 915e6,  # f_c [Hz]
    "path_loss_exponent": 2.8,  # d_e [-]
    "distance_first": 2.5,  # d_0 [m]
    "distance_step": 0.3,  # d_i = d_0 + i * step [m]
}

#: Largest accepted number of devices N.
MAX_DEVICES = 1024
#: Stopping tolerance of the Newton iterations (relative step) and their iteration caps.
NEWTON_RTOL = 1e-14
_OUTER_ITER = 200
_INNER_ITER = 100

# packed parameter indices
_N, _ETA1, _ETA2, _EPS, _KAPPA = range(5)


def wpmec_model(devices: int = 10, **overrides) -> OffloadModel:
    """Build the ``wpmec`` model for ``devices`` wireless devices (module Notes for the equations).

    Parameters
    ----------
    devices : int
        N (1..MAX_DEVICES = 1024).
    **overrides
        Any key of :data:`WPMEC_DEFAULTS`: ``cycles_per_bit`` [cycles/bit], ``ap_power`` [W],
        ``efficiency`` [-] (in (0, 1]), ``kappa`` [J s^2/cycle^3], ``bandwidth`` [Hz], ``v_u`` [-],
        ``noise_power`` [W], ``weight_even``, ``weight_odd`` [-] (>= 0), ``gain_scale``; for random states
        ``antenna_gain``, ``carrier_frequency`` [Hz], ``path_loss_exponent``, ``distance_first``,
        ``distance_step`` [m].
    """
    n = check_int("--devices", devices, 1, MAX_DEVICES)
    unknown = set(overrides) - set(WPMEC_DEFAULTS)
    if unknown:
        raise ParameterError(sorted(unknown)[0], f"is not a wpmec parameter; valid names: {', '.join(WPMEC_DEFAULTS)}")
    cfg = dict(WPMEC_DEFAULTS)
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "efficiency":
            cfg[key] = check_float(key, value, 0.0, 1.0, min_inclusive=False)
        elif key in ("weight_even", "weight_odd", "distance_step", "path_loss_exponent"):
            cfg[key] = check_float(key, value, 0.0)
        else:
            cfg[key] = check_float(key, value, 0.0, min_inclusive=False)
    eta1 = (cfg["efficiency"] * cfg["ap_power"]) ** (1.0 / 3.0) / cfg["cycles_per_bit"]
    eta2 = cfg["efficiency"] * cfg["ap_power"] / cfg["noise_power"]
    eps = cfg["bandwidth"] / (cfg["v_u"] * math.log(2.0))
    config = {"model": "wpmec", "devices": n, **cfg}
    params = np.array([n, eta1, eta2, eps, cfg["kappa"]], dtype=np.float64)
    return OffloadModel(
        name="wpmec",
        n_decisions=n,
        n_state=2 * n,
        sense=1.0,
        params=params,
        kind=WPMEC_KIND,
        acc_size=(_SCRATCH_PER_DEVICE + 1) * n + 1,
        config=config,
        random_states_fn=partial(_wpmec_random_states, n, cfg),
        features_fn=partial(_wpmec_features, n, cfg["gain_scale"]),
        score_batch_fn=wpmec_score_batch,
        greedy_fn=wpmec_greedy,
    )


def default_weights(devices: int, weight_even: float = 1.0, weight_odd: float = 1.5) -> np.ndarray:
    """DROO's weights: ``weight_even`` for 0-based even device indices, ``weight_odd`` for odd ones."""
    w = np.full(devices, float(weight_even))
    w[1::2] = weight_odd
    return w


def mean_gains(devices: int, cfg: dict = WPMEC_DEFAULTS) -> np.ndarray:
    """Path-loss mean gains h̄_i = A_d (3e8 / (4 pi f_c d_i))^d_e, d_i = d_0 + i step [-]."""
    d = cfg["distance_first"] + cfg["distance_step"] * np.arange(devices)
    return cfg["antenna_gain"] * (3e8 / (4.0 * np.pi * cfg["carrier_frequency"] * d)) ** cfg["path_loss_exponent"]


def wpmec_states(gains, weights) -> np.ndarray:
    """State rows [S, 2N] from gains [S, N] and weights [N] or [S, N]."""
    h = np.atleast_2d(np.asarray(gains, dtype=np.float64))
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), h.shape)
    return np.ascontiguousarray(np.concatenate([h, w], axis=1))


def _wpmec_random_states(n, cfg, rng, count):
    """Gains: path-loss mean times unit-mean exponential (Rayleigh) fading; DROO's weights."""
    h = mean_gains(n, cfg) * rng.exponential(1.0, size=(count, n))
    return wpmec_states(h, default_weights(n, cfg["weight_even"], cfg["weight_odd"]))


def _wpmec_features(n, scale, states):
    """gain_scale * h, 0 for devices with weight 0 (switched off)."""
    return np.where(states[:, n:] > 0.0, states[:, :n] * scale, 0.0)


# ---------------------------------------------------------------------------- compiled allocation
@njit(cache=True, inline="always")
def _log_ratio(t, s):
    """s = ln(1 + x) > 0 solving s + expm1(-s) = t (t > 0), Newton from the start value s > 0."""
    if s <= 0.0:
        s = math.sqrt(2.0 * t) + t / 3.0 if t < 1.0 else 1.0 + t
    for _ in range(_INNER_ITER):
        em = math.expm1(-s)
        step = (s + em - t) / (-em)
        s_new = s - step
        if s_new <= 0.0:
            s_new = 0.5 * s
        if abs(s_new - s) <= NEWTON_RTOL * s:
            return s_new
        s = s_new
    return s


#: Weight classes tracked per state (offloaders of one class share x_j); more distinct weights each
#: get their own inner solve.
_MAX_CLASSES = 16
#: Scratch values per device of :func:`_allocate` (see ``_scratch_size``).
_SCRATCH_PER_DEVICE = 7


@njit(cache=True)
def _coefficients(state, params, work):
    """work[i] = (w_i eta1 (h_i/kappa)^(1/3), eta2 h_i^2, w_i eps, class) for one state.

    ``class`` is the index of the first device with the same w_i eps among the first _MAX_CLASSES
    distinct values (else i itself): offloaders of one class share x_j.
    """
    n = int(params[_N])
    distinct = 0
    for i in range(n):
        h = state[i]
        w = state[n + i]
        work[i, 0] = w * params[_ETA1] * np.cbrt(h / params[_KAPPA])
        work[i, 1] = params[_ETA2] * h * h
        work[i, 2] = w * params[_EPS]
        work[i, 3] = i
        found = False
        for k in range(i):
            if work[k, 3] == k and work[k, 2] == work[i, 2]:
                work[i, 3] = k
                found = True
                break
        if not found:
            if distinct >= _MAX_CLASSES:
                work[i, 3] = i
            distinct += 1


@njit(cache=True)
def _allocate(work, bits, scratch, v0):
    """Optimal (objective, a, v) of the decision ``bits`` [n] (float 0/1) (module Notes).

    ``scratch`` [7n]: ``[0:n]`` ln(1 + x_j) of each offloader (0 for the others), ``[n:2n]`` the
    offloading times tau_j (output), ``[2n:7n]`` per weight class (stamp, s, x, dx/dv term, e^-s w eps).
    ``v0`` > 0 starts the Newton iteration on the multiplier v (e.g. the previous decision's v),
    otherwise ``A/3 + sum w_j eps c_j``.
    """
    n = bits.shape[0]
    s = scratch[:n]
    tau = scratch[n:2 * n]
    cls = scratch[2 * n:]
    A = 0.0
    E0 = 0.0
    m = 0
    for i in range(n):
        tau[i] = 0.0
        s[i] = 0.0
        cls[5 * i] = -1.0
        cls[5 * i + 1] = -1.0
        if bits[i] > 0.5:
            if work[i, 1] > 0.0 and work[i, 2] > 0.0:
                m += 1
                E0 += work[i, 2] * work[i, 1]
        else:
            A += work[i, 0]
    if m == 0:
        return A, 1.0, 0.0
    v = v0 if v0 > 0.0 else A / 3.0 + E0
    lo = 0.0
    hi = np.inf
    S = 0.0
    for it in range(_OUTER_ITER):
        S = 0.0
        dS = 0.0
        E = 0.0
        for j in range(n):
            if bits[j] > 0.5 and work[j, 1] > 0.0 and work[j, 2] > 0.0:
                c = work[j, 1]
                q = 5 * int(work[j, 3])
                if cls[q] != it:
                    we = work[j, 2]
                    sj = _log_ratio(v / we, cls[q + 1])
                    x = math.expm1(sj)
                    cls[q] = it
                    cls[q + 1] = sj
                    cls[q + 2] = x
                    cls[q + 3] = (1.0 + x) * (1.0 + x) / (x * x * x * we)
                    cls[q + 4] = we * math.exp(-sj)
                s[j] = cls[q + 1]
                S += c / cls[q + 2]
                dS -= c * cls[q + 3]
                E += c * cls[q + 4]
        a = 1.0 / (1.0 + S)
        ca = np.cbrt(a)
        F = A / 3.0 / (ca * ca) + E - v
        if F > 0.0:
            lo = v
        else:
            hi = v
        dF = 2.0 * A / 9.0 * ca * dS - S - 1.0
        v_new = v - F / dF
        if v_new <= lo:
            v_new = 0.5 * (v + lo)
        elif v_new >= hi:
            v_new = 0.5 * (v + hi)
        if abs(v_new - v) <= NEWTON_RTOL * v or F == 0.0:
            break
        v = v_new
    a = 1.0 / (1.0 + S)
    total = A * np.cbrt(a)
    for j in range(n):
        if s[j] > 0.0:
            x = math.expm1(s[j])
            tau[j] = work[j, 1] * a / x
            total += work[j, 2] * tau[j] * s[j]
    return total, a, v


@njit(cache=True)
def wpmec_score(state, decision, params):
    """Weighted sum computation rate [bit/s] of one decision with its optimal (a, tau)."""
    n = int(params[_N])
    work = np.empty((n, 4))
    _coefficients(state, params, work)
    bits = np.empty(n)
    for i in range(n):
        bits[i] = decision[i]
    scratch = np.empty(_SCRATCH_PER_DEVICE * n)
    u, _, _ = _allocate(work, bits, scratch, -1.0)
    return u


@njit(cache=True)
def wpmec_gray_init(state, params, work, acc):
    """Gray-code setup: work = per-device coefficients, acc[:n] = decision bits, acc[n] = the last
    multiplier v (warm start), acc[n+1:] scratch of :func:`_allocate`."""
    n = int(params[_N])
    _coefficients(state, params, work)
    for i in range(n):
        acc[i] = 0.0
    acc[n] = -1.0
    u, _, _ = _allocate(work, acc[:n], acc[n + 1:], -1.0)
    return u


@njit(cache=True)
def wpmec_gray_flip(work, params, acc, j, bit):
    """Set x_j = bit and return the new objective (a full allocation, warm-started from the last v)."""
    n = int(params[_N])
    acc[j] = bit
    u, _, v = _allocate(work, acc[:n], acc[n + 1:], acc[n])
    if v > 0.0:
        acc[n] = v
    return u


@njit(cache=True)
def wpmec_score_batch(states, decisions, params, out):
    """out[s, c] = wpmec_score(states[s], decisions[s, c]) (the model's ``score_batch_fn``)."""
    n = int(params[_N])
    work = np.empty((n, 4))
    bits = np.empty(n)
    scratch = np.empty(_SCRATCH_PER_DEVICE * n)
    for r in range(decisions.shape[0]):
        _coefficients(states[r], params, work)
        for c in range(decisions.shape[1]):
            for i in range(n):
                bits[i] = decisions[r, c, i]
            out[r, c], _, _ = _allocate(work, bits, scratch, -1.0)


@njit(cache=True)
def _allocation_batch(states, decisions, params, util, a_out, tau_out):
    n = int(params[_N])
    work = np.empty((n, 4))
    bits = np.empty(n)
    scratch = np.empty(_SCRATCH_PER_DEVICE * n)
    for r in range(decisions.shape[0]):
        _coefficients(states[r], params, work)
        for i in range(n):
            bits[i] = decisions[r, i]
        util[r], a_out[r], _ = _allocate(work, bits, scratch, -1.0)
        tau_out[r] = scratch[n:2 * n]


def wpmec_allocation(model: OffloadModel, states, decisions):
    """The optimal resource allocation of each decision.

    Parameters
    ----------
    model : OffloadModel
        A ``wpmec`` model.
    states : array_like [S, 2N]
    decisions : array_like of 0/1 [S, N]

    Returns
    -------
    objective : numpy.ndarray [S]
        Weighted sum computation rate [bit/s].
    a : numpy.ndarray [S]
        Energy-transfer fraction of the frame [-] (1 when nobody offloads).
    tau : numpy.ndarray [S, N]
        Offloading time fractions [-] (0 for local or switched-off devices).
    """
    if model.name != "wpmec":
        raise ParameterError("model", f"must be a wpmec model, got {model.name!r}")
    states = model.check_states(states)
    dec = model.check_decisions(decisions, states.shape[0])
    if dec.shape[1] != 1:
        raise ParameterError("decisions", f"must have shape [S, N], got {np.shape(decisions)}")
    S = states.shape[0]
    util, a, tau = np.empty(S), np.empty(S), np.empty((S, model.n_decisions))
    _allocation_batch(states, dec[:, 0, :], model.params, util, a, tau)
    return util, a, tau


@njit(cache=True)
def _wpmec_greedy_kernel(states, params, out):
    """Offload the k devices of highest w_i h_i, for the best k in 0..N (N + 1 allocations per state)."""
    n = int(params[_N])
    work = np.empty((n, 4))
    bits = np.empty(n)
    scratch = np.empty(_SCRATCH_PER_DEVICE * n)
    key = np.empty(n)
    for r in range(states.shape[0]):
        _coefficients(states[r], params, work)
        for i in range(n):
            key[i] = -states[r, n + i] * states[r, i]
            bits[i] = 0.0
        order = np.argsort(key, kind="mergesort")
        best, _, _ = _allocate(work, bits, scratch, -1.0)
        best_k = 0
        for k in range(1, n + 1):
            bits[order[k - 1]] = 1.0
            u, _, _ = _allocate(work, bits, scratch, -1.0)
            if u > best:
                best = u
                best_k = k
        for i in range(n):
            out[r, i] = 0
        for k in range(best_k):
            out[r, order[k]] = 1


def wpmec_greedy(model: OffloadModel, states: np.ndarray) -> np.ndarray:
    """Greedy rule of ``wpmec``: rank devices by w_i h_i; offload the top k for the best k in 0..N."""
    out = np.zeros((states.shape[0], model.n_decisions), dtype=np.uint8)
    _wpmec_greedy_kernel(states, model.params, out)
    return out


#: ``--param`` keys: unit and meaning (``wsnmec offload --list-params``); defaults: :data:`WPMEC_DEFAULTS`.
WPMEC_PARAMETERS: dict[str, tuple[str, str]] = {
    "cycles_per_bit": ("cycles/bit", "phi, cycles of local computing per bit"),
    "ap_power": ("W", "P, wireless power of the access point"),
    "efficiency": ("-", "mu, energy-harvesting efficiency, in (0, 1]"),
    "kappa": ("J s^2/cycle^3", "energy efficiency of a device's CPU"),
    "bandwidth": ("Hz", "B, uplink bandwidth"),
    "v_u": ("-", "communication overhead factor of the offloaded data"),
    "noise_power": ("W", "N0, receiver noise power"),
    "weight_even": ("-", "computation-rate weight of the devices with even (0-based) index"),
    "weight_odd": ("-", "computation-rate weight of the devices with odd index"),
    "gain_scale": ("-", "factor on the channel gains fed to the learner (DROO: 1e6)"),
    "antenna_gain": ("-", "A_d, antenna gain of random states' mean channel gains"),
    "carrier_frequency": ("Hz", "f_c of random states' mean channel gains"),
    "path_loss_exponent": ("-", "d_e of random states' mean channel gains"),
    "distance_first": ("m", "distance of the first device from the access point (random states)"),
    "distance_step": ("m", "distance increment per device (random states)"),
}


def _load_dataset(path, devices):
    """Read a DROO data file before the model is built (its N is the number of devices)."""
    from .datasets import load_droo

    droo = load_droo(path, devices)
    return droo, droo.devices


def _dataset_states(model: OffloadModel, path, droo):
    """The frames of a DROO data file: its channel gains with the model's weights."""
    weights = default_weights(model.n_decisions, model.config["weight_even"], model.config["weight_odd"])
    return droo.samples, wpmec_states(droo.input_h, weights)


FAMILY = OffloadFamily(
    name="wpmec", build=wpmec_model, defaults=dict(WPMEC_DEFAULTS), parameters=WPMEC_PARAMETERS,
    summary="DROO's wireless-powered devices, rate in bit/s",
    kind=WPMEC_KIND, score=wpmec_score, gray_init=wpmec_gray_init, gray_flip=wpmec_gray_flip,
    dataset_label="DROO", load_dataset=_load_dataset, dataset_states=_dataset_states,
)
