"""Model ``mumt``: DDLO's multi-user multi-task offloading model.

N devices each hold M independent tasks. Decision ``x_ij = 1`` offloads task j of device i to the edge
server, ``x_ij = 0`` computes it on the device. The system utility is a cost (lower is better,
``sense = -1``).

Notes
-----
Model of Huang et al. [1]_ (their MUMT data set), with D_ij the task size [MB] and
``d_ij = bits_per_mb * D_ij`` its size in bits (``bits_per_mb = 8 * 2**20``)::

    E_i = sum_j (1 - x_ij) E_l d_ij + x_ij (e_t + e_a) d_ij                                   [J]
    T_i = max( sum_j (1 - x_ij) T_l d_ij ,  sum_j x_ij (D_ij / c_u + APP d_ij / f_c) )         [s]
    Q   = sum_i (E_i + p T_i)                                                                  [J]

Local computation and offloading run in parallel on a device, so its latency is the longer of the two
branches. The uplink rate ``c_u`` is expressed in the task-size unit per second (MB/s) and divides D_ij
directly (not d_ij): this is the interpretation that reproduces the published minima ``gain_min`` of the
DDLO data set to 4.4e-16 relative for all 20,000 samples (checked in the tests). Defaults: E_l = 3.25e-7
J/bit, T_l = 4.75e-7 s/bit, e_t = 1.42e-7 J/bit, e_a = 1.5e-7 J/bit, APP = 1900 cycles/bit, f_c = 10 GHz,
c_u = (100/8)/N MB/s (a 100 Mbit/s uplink shared equally by the N devices), p = 1 J/s.

State row (length N*M): the task sizes D_ij [MB], device-major (``k = i*M + j``), as in the data set.

References
----------
.. [1] L. Huang, X. Feng, A. Feng, Y. Huang, L. P. Qian, "Distributed Deep Learning-based Offloading for
   Mobile Edge Computing Networks", Mobile Networks and Applications, 2018.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from ..errors import check_float, check_int
from .family import OffloadFamily
from .models import OffloadModel, check_constant

#: The family's kernel id in the compiled dispatch (:mod:`.dispatch`).
MUMT_KIND = 0

#: Default constants of the mumt model (SI units unless stated).
MUMT_DEFAULTS: dict[str, float] = {
    "local_energy": 3.25e-7,  # E_l [J/bit]
    "local_time": 4.75e-7,  # T_l [s/bit]
    "tx_energy": 1.42e-7,  # e_t [J/bit]
    "edge_energy": 1.5e-7,  # e_a [J/bit]
    "cycles_per_bit": 1900.0,  # APP [cycles/bit]
    "edge_cpu": 10e9,  # f_c [cycles/s]
    "time_weight": 1.0,  # p [J/s]
    "bits_per_mb": 8.0 * 2**20,  # [bit/MB]
    "size_min": 10,  # [MB]
    "size_max": 30,  # [MB]
}

#: Largest accepted number of devices N and of tasks per device M.
MAX_DEVICES = 1024
MAX_TASKS = 1024
#: Largest accepted task size bound (size_min, size_max) [MB].
MAX_TASK_SIZE = 10**9

# packed parameter indices
_N, _M, _EL, _TL, _ET, _EA, _APP, _FC, _CU, _P, _BPM = range(11)


def mumt_model(
    devices: int = 3,
    tasks: int = 3,
    *,
    local_energy: float = MUMT_DEFAULTS["local_energy"],
    local_time: float = MUMT_DEFAULTS["local_time"],
    tx_energy: float = MUMT_DEFAULTS["tx_energy"],
    edge_energy: float = MUMT_DEFAULTS["edge_energy"],
    cycles_per_bit: float = MUMT_DEFAULTS["cycles_per_bit"],
    edge_cpu: float = MUMT_DEFAULTS["edge_cpu"],
    uplink_rate: float | None = None,
    time_weight: float = MUMT_DEFAULTS["time_weight"],
    bits_per_mb: float = MUMT_DEFAULTS["bits_per_mb"],
    size_min: int = MUMT_DEFAULTS["size_min"],
    size_max: int = MUMT_DEFAULTS["size_max"],
) -> OffloadModel:
    """Build the ``mumt`` model (see the module Notes for the equations).

    Parameters
    ----------
    devices : int
        Number of devices N (1..MAX_DEVICES = 1024).
    tasks : int
        Tasks per device M (1..MAX_TASKS = 1024). The decision vector has n = N*M entries.
    local_energy : float
        E_l, local computing energy [J/bit].
    local_time : float
        T_l, local computing time [s/bit].
    tx_energy : float
        e_t, transmission energy [J/bit].
    edge_energy : float
        e_a, energy charged for edge computation [J/bit].
    cycles_per_bit : float
        APP, edge CPU cycles per bit [cycles/bit].
    edge_cpu : float
        f_c, edge CPU frequency [cycles/s].
    uplink_rate : float, optional
        c_u, each device's uplink rate [MB/s]; default (100/8)/N.
    time_weight : float
        p, weight of latency against energy [J/s].
    bits_per_mb : float
        Bits per task-size unit [bit/MB]; 8 * 2**20.
    size_min, size_max : int
        Range of the uniformly drawn integer task sizes of random states [MB].
    """
    devices = check_int("--devices", devices, 1, MAX_DEVICES)
    tasks = check_int("--tasks", tasks, 1, MAX_TASKS)
    if uplink_rate is None:
        uplink_rate = (100.0 / 8.0) / devices
    config = {
        "model": "mumt",
        "devices": devices,
        "tasks": tasks,
        "local_energy": check_constant("local_energy", local_energy),
        "local_time": check_constant("local_time", local_time),
        "tx_energy": check_constant("tx_energy", tx_energy),
        "edge_energy": check_constant("edge_energy", edge_energy),
        "cycles_per_bit": check_constant("cycles_per_bit", cycles_per_bit),
        "edge_cpu": check_constant("edge_cpu", edge_cpu, rate=True),
        "uplink_rate": check_constant("uplink_rate", uplink_rate, rate=True),
        "time_weight": check_constant("time_weight", time_weight),
        "bits_per_mb": check_constant("bits_per_mb", bits_per_mb, rate=True),
        "size_min": check_int("size_min", size_min, 0, MAX_TASK_SIZE),
        "size_max": check_int("size_max", size_max, 0, MAX_TASK_SIZE),
    }
    if config["size_max"] < config["size_min"]:
        from ..errors import ParameterError

        raise ParameterError("size_max", f"must be >= size_min ({size_min}), got {size_max}")
    if config["size_max"] < 1:
        from ..errors import ParameterError

        raise ParameterError("size_max", f"must be >= 1 (with every task size 0 every cost is 0: nothing to decide), got {size_max}")
    params = np.array(
        [
            devices,
            tasks,
            config["local_energy"],
            config["local_time"],
            config["tx_energy"],
            config["edge_energy"],
            config["cycles_per_bit"],
            config["edge_cpu"],
            config["uplink_rate"],
            config["time_weight"],
            config["bits_per_mb"],
        ],
        dtype=np.float64,
    )
    lo, hi = config["size_min"], config["size_max"]
    mid, half = 0.5 * (lo + hi), max(0.5 * (hi - lo), 1.0)
    return OffloadModel(
        name="mumt",
        n_decisions=devices * tasks,
        n_state=devices * tasks,
        sense=-1.0,
        params=params,
        kind=MUMT_KIND,
        acc_size=3 * devices + 1,
        config=config,
        random_states_fn=partial(_mumt_random_states, devices * tasks, lo, hi),
        features_fn=partial(_mumt_features, mid, half),
        score_batch_fn=mumt_score_batch,
        greedy_fn=mumt_greedy,
    )


def _mumt_random_states(n, lo, hi, rng, count):
    """Task sizes uniform over the integers lo..hi [MB]."""
    return rng.integers(lo, hi + 1, size=(count, n)).astype(np.float64)


def _mumt_features(mid, half, states):
    """Task sizes centred and scaled to [-1, 1]."""
    return (states - mid) / half


@njit(cache=True)
def mumt_score(state, decision, params):
    """System cost Q [J] of one decision (module Notes)."""
    n_dev = int(params[_N])
    n_task = int(params[_M])
    el, tl, eo = params[_EL], params[_TL], params[_ET] + params[_EA]
    app_fc, cu, p, bpm = params[_APP] / params[_FC], params[_CU], params[_P], params[_BPM]
    total = 0.0
    for i in range(n_dev):
        energy = 0.0
        t_local = 0.0
        t_off = 0.0
        for j in range(n_task):
            k = i * n_task + j
            size = state[k]
            bits = size * bpm
            if decision[k]:
                energy += eo * bits
                t_off += size / cu + app_fc * bits
            else:
                energy += el * bits
                t_local += tl * bits
        total += energy + p * max(t_local, t_off)
    return total


@njit(cache=True)
def mumt_gray_init(state, params, work, acc):
    """Gray-code setup: work[k] = (local E, offload E, local T, offload T); acc = (E_i, Tl_i, To_i, Q)."""
    n_dev = int(params[_N])
    n_task = int(params[_M])
    el, tl, eo = params[_EL], params[_TL], params[_ET] + params[_EA]
    app_fc, cu, p, bpm = params[_APP] / params[_FC], params[_CU], params[_P], params[_BPM]
    total = 0.0
    for i in range(n_dev):
        energy = 0.0
        t_local = 0.0
        for j in range(n_task):
            k = i * n_task + j
            bits = state[k] * bpm
            work[k, 0] = el * bits
            work[k, 1] = eo * bits
            work[k, 2] = tl * bits
            work[k, 3] = state[k] / cu + app_fc * bits
            energy += work[k, 0]
            t_local += work[k, 2]
        acc[i] = energy
        acc[n_dev + i] = t_local
        acc[2 * n_dev + i] = 0.0
        total += energy + p * t_local
    acc[3 * n_dev] = total
    return total


@njit(cache=True, inline="always")
def mumt_gray_flip(work, params, acc, j, bit):
    """Set x_j = bit and return the new Q [J] (O(1) update of device j // M)."""
    n_dev = int(params[_N])
    n_task = int(params[_M])
    p = params[_P]
    i = j // n_task
    old = acc[i] + p * max(acc[n_dev + i], acc[2 * n_dev + i])
    if bit:
        acc[i] += work[j, 1] - work[j, 0]
        acc[n_dev + i] -= work[j, 2]
        acc[2 * n_dev + i] += work[j, 3]
    else:
        acc[i] -= work[j, 1] - work[j, 0]
        acc[n_dev + i] += work[j, 2]
        acc[2 * n_dev + i] -= work[j, 3]
    new = acc[i] + p * max(acc[n_dev + i], acc[2 * n_dev + i])
    acc[3 * n_dev] += new - old
    return acc[3 * n_dev]


@njit(cache=True)
def _mumt_greedy_kernel(states, params, out):
    """Each device offloads its largest tasks, one at a time, while that lowers the device's cost."""
    n_dev = int(params[_N])
    n_task = int(params[_M])
    el, tl, eo = params[_EL], params[_TL], params[_ET] + params[_EA]
    app_fc, cu, p, bpm = params[_APP] / params[_FC], params[_CU], params[_P], params[_BPM]
    for s in range(states.shape[0]):
        state = states[s]
        for i in range(n_dev):
            sizes = state[i * n_task:(i + 1) * n_task]
            order = np.argsort(-sizes, kind="mergesort")
            energy = 0.0
            t_local = 0.0
            for j in range(n_task):
                out[s, i * n_task + j] = 0
                energy += el * sizes[j] * bpm
                t_local += tl * sizes[j] * bpm
            t_off = 0.0
            cost = energy + p * t_local
            for r in range(n_task):
                j = order[r]
                bits = sizes[j] * bpm
                e2 = energy + (eo - el) * bits
                tl2 = t_local - tl * bits
                to2 = t_off + sizes[j] / cu + app_fc * bits
                cost2 = e2 + p * max(tl2, to2)
                if cost2 < cost:
                    out[s, i * n_task + j] = 1
                    energy, t_local, t_off, cost = e2, tl2, to2, cost2
                else:
                    break


def mumt_greedy(model: OffloadModel, states: np.ndarray) -> np.ndarray:
    """Greedy rule of ``mumt``: each device offloads its largest tasks while that lowers its cost.

    Devices are independent in this model (each has its own uplink share), so lowering a device's cost
    lowers the system cost. Returns decisions [S, n] uint8.
    """
    out = np.zeros((states.shape[0], model.n_decisions), dtype=np.uint8)
    _mumt_greedy_kernel(states, model.params, out)
    return out


@njit(cache=True)
def mumt_score_batch(states, decisions, params, out):
    """out[s, c] = mumt_score(states[s], decisions[s, c]) (the model's ``score_batch_fn``)."""
    for s in range(decisions.shape[0]):
        for c in range(decisions.shape[1]):
            out[s, c] = mumt_score(states[s], decisions[s, c], params)


#: ``--param`` keys: unit and meaning (``wsnmec offload --list-params``); defaults: :data:`MUMT_DEFAULTS`.
MUMT_PARAMETERS: dict[str, tuple[str, str]] = {
    "local_energy": ("J/bit", "E_l, energy of computing one bit on the device"),
    "local_time": ("s/bit", "T_l, time of computing one bit on the device"),
    "tx_energy": ("J/bit", "e_t, energy of transmitting one bit to the edge"),
    "edge_energy": ("J/bit", "e_a, energy charged for computing one bit at the edge"),
    "cycles_per_bit": ("cycles/bit", "APP, edge CPU cycles per bit"),
    "edge_cpu": ("cycles/s", "f_c, edge CPU frequency"),
    "uplink_rate": ("MB/s", "c_u, each device's uplink rate (default (100/8)/N for N devices)"),
    "time_weight": ("J/s", "p, weight of latency against energy"),
    "bits_per_mb": ("bit/MB", "bits per task-size unit"),
    "size_min": ("MB", "smallest task size of random states (integer)"),
    "size_max": ("MB", "largest task size of random states (integer)"),
}


def _dataset_states(model: OffloadModel, path, data):
    """The frames of a DDLO data file: its task sizes [MB] (``--dataset``)."""
    from .datasets import load_ddlo

    data = load_ddlo(path, n_decisions=model.n_decisions)
    return data.samples, data.task_size


FAMILY = OffloadFamily(
    name="mumt", build=mumt_model, defaults={**MUMT_DEFAULTS, "uplink_rate": None}, parameters=MUMT_PARAMETERS,
    takes_tasks=True, default_tasks=3, summary="DDLO's devices x tasks, cost in J",
    kind=MUMT_KIND, score=mumt_score, gray_init=mumt_gray_init, gray_flip=mumt_gray_flip,
    dataset_label="DDLO", dataset_states=_dataset_states,
)
