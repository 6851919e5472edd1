"""Model ``wsn-ch``: per-round offloading decisions of the cluster heads of a clustered WSN.

In each round every cluster head (CH) i holds its cluster's data, ``b_i = packets_i * packet_bits`` bits
(one packet per member plus its own), and a computation task on it of ``C_i = cycles_per_bit * b_i``
cycles. It either computes locally and sends a small result to the sink (x_i = 0) or sends the raw data
to the edge server co-located with the sink (x_i = 1). The uplink bandwidth and the edge CPU are shared
equally by the k CHs that offload, which couples the decisions. Utility is a cost (``sense = -1``).

Notes
-----
With d_i the CH-to-sink distance [m], E_tx the first-order radio model of :mod:`wsnmec.energy.radio` and
k = sum_i x_i::

    local     E_i = kappa f^2 C_i + E_tx(r, d_i)                [J]    (CMOS dynamic energy [1]_)
              T_i = C_i / f + r / B                            [s]    (result sent in the CH's own slot)
    offload   E_i = E_tx(b_i, d_i)                              [J]
              T_i = b_i / (B / k) + C_i / (F / k)              [s]    (equal shares of uplink and edge CPU)
    U = sum_i  w_E,i E_i + w_T T_i                              [J]
    w_E,i = w_E (E_ref / max(R_i, 1e-12 J))^a

with r the result size [bit], f the CH's CPU frequency [cycles/s], B the uplink bandwidth [bit/s], F the
edge CPU [cycles/s] and R_i the CH's residual energy [J]. With the default a = 0 the utility is the plain
sum of w_E E + w_T T; a > 0 makes energy dearer for depleted CHs. The edge server and sink are mains
powered: their energy is not counted. Because U = sum_local L_i + sum_off w_E,i E_tx(b_i, d_i)
+ w_T k sum_off (b_i/B + C_i/F), one decision flip is an O(1) update (used by the exact solver).

**Constants: one cited set with the round's accounting.** The CH and edge constants come from the named
presets of :mod:`wsnmec.energy.workload` that the simulator's in-round offloading rules use (``hardware``,
default ``msp430f1611``; ``workload``, default ``dnn-inference``), with the sources cited there::

    f      = the hardware's MCU clock                               (msp430f1611: 8 MHz)
    kappa  = e_bit / (c f^2), so that kappa f^2 C = e_bit b         (e_bit: the workload's local energy
             per input bit, c x the hardware's energy per cycle: 100 x 1.5 nJ; kappa = 2.34e-23)
    c      = the workload's cycles per bit                          (dnn-inference: 100 cycles/bit)
    r      = the workload's result size                             (dnn-inference: 32 bit)
    B      = the hardware's radio data rate                         (250 kbit/s, IEEE 802.15.4)
    F      = edge clock x cores x c / c_edge, so that C / F is the  (4 x 2.4 GHz = 9.6 GHz)
             edge processing of b at c_edge cycles/bit on the whole server

so a CH's local energy and time and its offload's transmission energy equal the in-round accounting's
(:mod:`wsnmec.energy.workload` Notes) for the same data. The models differ in how offloads share the sink:
here the k offloads share the uplink and the whole edge server equally (a CH's offload takes
``k (b / B + C / F)``), in the simulator its members' slots, the sink's channels and one core per job
(``--medium``, :mod:`wsnmec.sim.accounting` Notes 6). The default workload is ``dnn-inference``, not the
simulator's ``fusion``: with fusion (aggregation, one packet out) computing locally always wins and the
decision problem is trivial. Every constant can still be overridden by its own name (``kappa``,
``cpu_frequency``, ``cycles_per_bit``, ``result_bits``, ``bandwidth``, ``edge_cpu``), which wins over the
preset. Other defaults: w_E = 1, w_T = 0.01 J/s, E_ref = 0.5 J, a = 0, radio preset ``heinzelman2002``,
4000-bit packets. (Before the presets: kappa = 4e-24 J s^2/cycle^3 at f = 16 MHz, 300 cycles/bit,
r = 200 bit, F = 2 GHz, without a cited source.)

State row (length 3n): ``[d_1..d_n [m], b_1..b_n [bit], R_1..R_n [J]]`` (see :func:`wsn_ch_state_from_round`).

References
----------
.. [1] T. D. Burd, R. W. Brodersen, "Processor design for portable systems", J. VLSI Signal Processing
   13, 1996 (E = C_eff V^2 per cycle with V proportional to f, i.e. kappa f^2 per cycle).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from ..energy.radio import radio_model, tx_energy_jit
from ..energy.workload import DEFAULT_HARDWARE, HARDWARE_PRESETS, WORKLOAD_PRESETS, hardware_preset, workload_preset
from ..errors import ParameterError, check_float, check_int
from .family import OffloadFamily
from .models import OffloadModel, check_constant

#: The family's kernel id in the compiled dispatch (:mod:`.dispatch`).
WSN_CH_KIND = 1

#: Default presets of the CH and edge constants (module Notes).
WSN_CH_HARDWARE = DEFAULT_HARDWARE
WSN_CH_WORKLOAD = "dnn-inference"
DEFAULT_RADIO = "heinzelman2002"
#: The constants taken from the presets (each may be overridden by name).
PRESET_CONSTANTS = ("kappa", "cpu_frequency", "cycles_per_bit", "result_bits", "bandwidth", "edge_cpu")


def preset_constants(hardware: str = WSN_CH_HARDWARE, workload: str = WSN_CH_WORKLOAD, *,
                     radio: str = DEFAULT_RADIO, packet_bits: float = 4000.0) -> dict[str, float]:
    """The CH and edge constants of ``wsn-ch`` from the in-round presets (module Notes): ``kappa``
    [J s^2/cycle^3], ``cpu_frequency`` [cycles/s], ``cycles_per_bit`` [cycles/bit], ``result_bits`` [bit],
    ``bandwidth`` [bit/s], ``edge_cpu`` [cycles/s]."""
    hw = hardware_preset(hardware, "hardware")
    wl = workload_preset(workload, "workload")
    e_bit = wl.local_energy_per_bit(radio_model(radio).e_da, hw)  # [J/bit]
    f = hw.mcu_clock_hz
    return {
        "kappa": e_bit / (wl.cycles_per_bit * f * f),
        "cpu_frequency": f,
        "cycles_per_bit": wl.cycles_per_bit,
        "result_bits": wl.result_size(packet_bits),
        "bandwidth": hw.data_rate_bps,
        "edge_cpu": hw.edge_clock_hz * hw.edge_cores * wl.cycles_per_bit / wl.edge_cycles_per_bit,
    }


#: Default constants of the wsn-ch model (SI units; the first six from the default presets).
WSN_CH_DEFAULTS: dict[str, float | str] = {
    "hardware": WSN_CH_HARDWARE,  # hardware preset of wsnmec.energy.workload
    "workload": WSN_CH_WORKLOAD,  # workload preset of wsnmec.energy.workload
    **preset_constants(),  # kappa, cpu_frequency, cycles_per_bit, result_bits, bandwidth, edge_cpu
    "energy_weight": 1.0,  # w_E [-]
    "time_weight": 0.01,  # w_T [J/s]
    "reference_energy": 0.5,  # E_ref [J]
    "energy_exponent": 0.0,  # a [-]
    "packet_bits": 4000.0,  # [bit]
    # random states for training
    "field_size": 100.0,  # side of the square field [m]
    "sink_x": 50.0,  # [m]
    "sink_y": 50.0,  # [m]
    "packets_min": 1,
    "packets_max": 20,
    "residual_min": 0.05,  # [J]
    "residual_max": 0.5,  # [J]
}

#: Largest accepted ``energy_exponent`` a (the weight (E_ref / E_res)^a must not overflow).
MAX_ENERGY_EXPONENT = 4.0

#: Largest accepted number of cluster heads n.
MAX_CLUSTER_HEADS = 1024

# packed parameter indices
(_N, _KAPPA, _F, _CPB, _R, _B, _FE, _WE, _WT, _EREF, _A, _EELEC, _EPSFS, _EPSMP, _D0) = range(15)


def wsn_ch_model(
    cluster_heads: int = 5,
    *,
    radio: str = DEFAULT_RADIO,
    **overrides,
) -> OffloadModel:
    """Build the ``wsn-ch`` model for ``cluster_heads`` CHs (n decisions).

    Parameters
    ----------
    cluster_heads : int
        Number of cluster heads n (1..MAX_CLUSTER_HEADS = 1024).
    radio : str
        Radio preset of :func:`wsnmec.energy.radio.radio_model`.
    **overrides
        Any key of :data:`WSN_CH_DEFAULTS`: ``hardware`` and ``workload`` (preset names of
        :mod:`wsnmec.energy.workload` giving the next six constants, module Notes), ``kappa`` [J s^2/cycle^3], ``cpu_frequency`` [cycles/s],
        ``cycles_per_bit`` [cycles/bit], ``result_bits`` [bit], ``bandwidth`` [bit/s], ``edge_cpu``
        [cycles/s], ``energy_weight`` w_E [-], ``time_weight`` w_T [J/s], ``reference_energy`` [J],
        ``energy_exponent`` [-], ``packet_bits`` [bit]; for random states ``field_size`` [m], ``sink_x``,
        ``sink_y`` [m], ``packets_min``, ``packets_max`` [packets], ``residual_min``, ``residual_max`` [J].
    """
    n = check_int("--devices", cluster_heads, 1, MAX_CLUSTER_HEADS)
    unknown = set(overrides) - set(WSN_CH_DEFAULTS)
    if unknown:
        raise ParameterError(
            sorted(unknown)[0], f"is not a wsn-ch parameter; valid names: {', '.join(WSN_CH_DEFAULTS)}"
        )
    cfg = dict(WSN_CH_DEFAULTS)
    for key in ("hardware", "workload"):
        value = overrides.get(key)
        if value is not None:
            presets = HARDWARE_PRESETS if key == "hardware" else WORKLOAD_PRESETS
            if not isinstance(value, str) or value not in presets:
                raise ParameterError(key, f"must be a {key} preset: one of {', '.join(presets)}; got {value!r}")
            cfg[key] = value
    packet_bits = overrides.get("packet_bits")
    packet_bits = cfg["packet_bits"] if packet_bits is None else check_constant("packet_bits", packet_bits, rate=True)
    cfg.update(preset_constants(cfg["hardware"], cfg["workload"], radio=radio, packet_bits=packet_bits))
    for key, value in overrides.items():
        if value is None or key in ("hardware", "workload"):
            continue
        if key in ("packets_min", "packets_max"):
            cfg[key] = check_int(key, value, 1, 10**6)
        elif key in ("cpu_frequency", "bandwidth", "edge_cpu", "packet_bits", "field_size",
                     "reference_energy"):
            cfg[key] = check_constant(key, value, rate=True)
        elif key in ("sink_x", "sink_y"):
            cfg[key] = check_constant(key, value, signed=True)
        elif key == "energy_exponent":  # (E_ref / E_res)^a with E_ref / E_res up to 1e24 stays < 1e96
            cfg[key] = check_float(key, value, 0.0, MAX_ENERGY_EXPONENT)
        else:
            cfg[key] = check_constant(key, value)
    if cfg["packets_max"] < cfg["packets_min"]:
        raise ParameterError("packets_max", f"must be >= packets_min, got {cfg['packets_max']}")
    if cfg["residual_max"] < cfg["residual_min"]:
        raise ParameterError("residual_max", f"must be >= residual_min, got {cfg['residual_max']}")
    rm = radio_model(radio)
    config = {"model": "wsn-ch", "cluster_heads": n, "radio": rm.name, **cfg,
              "e_elec": rm.e_elec, "eps_fs": rm.eps_fs, "eps_mp": rm.eps_mp, "d0": rm.d0}
    params = np.array(
        [n, cfg["kappa"], cfg["cpu_frequency"], cfg["cycles_per_bit"], cfg["result_bits"], cfg["bandwidth"],
         cfg["edge_cpu"], cfg["energy_weight"], cfg["time_weight"], cfg["reference_energy"],
         cfg["energy_exponent"], rm.e_elec, rm.eps_fs, rm.eps_mp, rm.d0],
        dtype=np.float64,
    )

    return OffloadModel(
        name="wsn-ch",
        n_decisions=n,
        n_state=3 * n,
        sense=-1.0,
        params=params,
        kind=WSN_CH_KIND,
        acc_size=4,
        config=config,
        random_states_fn=partial(_wsn_ch_random_states, n, cfg),
        features_fn=partial(_wsn_ch_features, n, cfg),
        score_batch_fn=wsn_ch_score_batch,
        greedy_fn=wsn_ch_greedy,
    )


def _wsn_ch_random_states(n, cfg, rng, count):
    """CHs uniform in the square field, packets uniform integers, residual energies uniform."""
    xy = rng.uniform(0.0, cfg["field_size"], size=(count, n, 2))
    dist = np.hypot(xy[..., 0] - cfg["sink_x"], xy[..., 1] - cfg["sink_y"])
    packets = rng.integers(cfg["packets_min"], cfg["packets_max"] + 1, size=(count, n))
    residual = rng.uniform(cfg["residual_min"], cfg["residual_max"], size=(count, n))
    return np.concatenate([dist, packets * cfg["packet_bits"], residual], axis=1)


def _wsn_ch_features(n, cfg, states):
    """Distances / field side, data / largest cluster's data, residual / reference energy."""
    out = np.empty_like(states)
    out[:, :n] = states[:, :n] / cfg["field_size"]
    out[:, n:2 * n] = states[:, n:2 * n] / (cfg["packets_max"] * cfg["packet_bits"])
    out[:, 2 * n:] = states[:, 2 * n:] / cfg["reference_energy"]
    return out


def wsn_ch_state_from_round(
    residual_energy,
    cluster_sizes,
    *,
    ch_positions=None,
    sink_position=(50.0, 50.0),
    distances=None,
    packet_bits: float = WSN_CH_DEFAULTS["packet_bits"],
) -> np.ndarray:
    """The ``wsn-ch`` state row of one simulator round.

    Parameters
    ----------
    residual_energy : array_like [n]
        Residual energy of each cluster head [J].
    cluster_sizes : array_like [n]
        Packets each CH holds this round: its members + 1 (itself) [packets].
    ch_positions : array_like [n, 2], optional
        CH coordinates [m]; give these or ``distances``.
    sink_position : (float, float)
        Sink / edge-server coordinates [m], used with ``ch_positions``.
    distances : array_like [n], optional
        CH-to-sink distances [m] (instead of positions).
    packet_bits : float
        Bits per data packet [bit].

    Returns
    -------
    numpy.ndarray [3n]
        ``[distances [m], data bits [bit], residual energies [J]]``.
    """
    residual = np.asarray(residual_energy, dtype=np.float64).ravel()
    sizes = np.asarray(cluster_sizes, dtype=np.float64).ravel()
    if (ch_positions is None) == (distances is None):
        raise ParameterError("ch_positions", "give exactly one of ch_positions and distances")
    if distances is None:
        pos = np.asarray(ch_positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 2:
            raise ParameterError("ch_positions", f"must have shape [n, 2], got {pos.shape}")
        sink = np.asarray(sink_position, dtype=np.float64)
        dist = np.hypot(pos[:, 0] - sink[0], pos[:, 1] - sink[1])
    else:
        dist = np.asarray(distances, dtype=np.float64).ravel()
    n = residual.size
    if sizes.size != n or dist.size != n or n < 1:
        raise ParameterError(
            "cluster_sizes", f"residual energies, cluster sizes and positions must have the same length >= 1, "
            f"got {n}, {sizes.size}, {dist.size}"
        )
    if np.any(sizes < 1) or np.any(dist < 0) or not np.all(np.isfinite(np.r_[residual, sizes, dist])):
        raise ParameterError("cluster_sizes", "cluster sizes must be >= 1 and distances >= 0 (finite)")
    packet_bits = check_float("packet_bits", packet_bits, 0.0, min_inclusive=False)
    return np.concatenate([dist, sizes * packet_bits, residual])


@njit(cache=True)
def _ch_terms(state, params, i):
    """(local cost L_i, offload energy cost O_i, shared-resource load s_i [s]) of CH i."""
    n = int(params[_N])
    dist = state[i]
    bits = state[n + i]
    residual = state[2 * n + i]
    cycles = params[_CPB] * bits
    w_e = params[_WE]
    if params[_A] != 0.0:
        w_e = w_e * (params[_EREF] / max(residual, 1e-12)) ** params[_A]
    e_local = params[_KAPPA] * params[_F] * params[_F] * cycles + tx_energy_jit(
        params[_R], dist, params[_EELEC], params[_EPSFS], params[_EPSMP], params[_D0]
    )
    t_local = cycles / params[_F] + params[_R] / params[_B]
    local_cost = w_e * e_local + params[_WT] * t_local
    off_energy = w_e * tx_energy_jit(bits, dist, params[_EELEC], params[_EPSFS], params[_EPSMP], params[_D0])
    load = bits / params[_B] + cycles / params[_FE]
    return local_cost, off_energy, load


@njit(cache=True)
def wsn_ch_score(state, decision, params):
    """System cost U [J] of one decision (module Notes)."""
    n = int(params[_N])
    k = 0
    for i in range(n):
        if decision[i]:
            k += 1
    total = 0.0
    for i in range(n):
        local_cost, off_energy, load = _ch_terms(state, params, i)
        if decision[i]:
            total += off_energy + params[_WT] * k * load
        else:
            total += local_cost
    return total


@njit(cache=True)
def wsn_ch_gray_init(state, params, work, acc):
    """work[i] = (L_i, O_i, s_i, -); acc = (k, sum_local L, sum_off O, sum_off s)."""
    n = int(params[_N])
    total = 0.0
    for i in range(n):
        local_cost, off_energy, load = _ch_terms(state, params, i)
        work[i, 0] = local_cost
        work[i, 1] = off_energy
        work[i, 2] = load
        work[i, 3] = 0.0
        total += local_cost
    acc[0] = 0.0
    acc[1] = total
    acc[2] = 0.0
    acc[3] = 0.0
    return total


@njit(cache=True, inline="always")
def wsn_ch_gray_flip(work, params, acc, j, bit):
    """Set x_j = bit and return the new U [J]."""
    if bit:
        acc[0] += 1.0
        acc[1] -= work[j, 0]
        acc[2] += work[j, 1]
        acc[3] += work[j, 2]
    else:
        acc[0] -= 1.0
        acc[1] += work[j, 0]
        acc[2] -= work[j, 1]
        acc[3] -= work[j, 2]
    return acc[1] + acc[2] + params[_WT] * acc[0] * acc[3]


@njit(cache=True)
def _wsn_ch_greedy_kernel(states, params, out):
    n = int(params[_N])
    work = np.empty((n, 4))
    acc = np.empty(4)
    gain = np.empty(n)
    for s in range(states.shape[0]):
        u = wsn_ch_gray_init(states[s], params, work, acc)
        for i in range(n):
            out[s, i] = 0
            gain[i] = work[i, 0] - (work[i, 1] + params[_WT] * work[i, 2])
        order = np.argsort(-gain, kind="mergesort")
        for r in range(n):
            j = order[r]
            v = wsn_ch_gray_flip(work, params, acc, j, 1)
            if v < u:
                out[s, j] = 1
                u = v
            else:
                break


def wsn_ch_greedy(model: OffloadModel, states: np.ndarray) -> np.ndarray:
    """Greedy rule of ``wsn-ch``: rank CHs by their saving if they alone offloaded; add them in that order
    while the system cost decreases (the shared uplink and edge CPU make later additions dearer)."""
    out = np.zeros((states.shape[0], model.n_decisions), dtype=np.uint8)
    _wsn_ch_greedy_kernel(states, model.params, out)
    return out


@njit(cache=True)
def _wsn_ch_breakdown(state, decision, params, energy, latency):
    n = int(params[_N])
    k = 0
    for i in range(n):
        if decision[i]:
            k += 1
    for i in range(n):
        dist = state[i]
        bits = state[n + i]
        cycles = params[_CPB] * bits
        if decision[i]:
            energy[i] = tx_energy_jit(bits, dist, params[_EELEC], params[_EPSFS], params[_EPSMP], params[_D0])
            latency[i] = k * (bits / params[_B] + cycles / params[_FE])
        else:
            energy[i] = params[_KAPPA] * params[_F] * params[_F] * cycles + tx_energy_jit(
                params[_R], dist, params[_EELEC], params[_EPSFS], params[_EPSMP], params[_D0]
            )
            latency[i] = cycles / params[_F] + params[_R] / params[_B]


def wsn_ch_breakdown(model: OffloadModel, state, decision):
    """Per-CH energy [J] and latency [s] of one round's decision (for the simulator's accounting).

    Parameters
    ----------
    model : OffloadModel
        A ``wsn-ch`` model.
    state : array_like [3n]
        One state row (:func:`wsn_ch_state_from_round`).
    decision : array_like [n] of 0/1

    Returns
    -------
    energy : numpy.ndarray [n]
        Energy each CH spends on its task this round [J]: computation plus result transmission when local,
        transmission of its data when offloading (unweighted).
    latency : numpy.ndarray [n]
        Each CH's task latency [s].
    """
    if model.name != "wsn-ch":
        raise ParameterError("model", f"must be a wsn-ch model, got {model.name!r}")
    states = model.check_states(state)
    dec = model.check_decisions(np.atleast_2d(decision), 1)[0, 0]
    energy = np.empty(model.n_decisions)
    latency = np.empty(model.n_decisions)
    _wsn_ch_breakdown(states[0], dec, model.params, energy, latency)
    return energy, latency


@njit(cache=True)
def wsn_ch_score_batch(states, decisions, params, out):
    """out[s, c] = wsn_ch_score(states[s], decisions[s, c]) (the model's ``score_batch_fn``)."""
    for s in range(decisions.shape[0]):
        for c in range(decisions.shape[1]):
            out[s, c] = wsn_ch_score(states[s], decisions[s, c], params)


#: ``--param`` keys: unit and meaning (``wsnmec offload --list-params``); defaults: :data:`WSN_CH_DEFAULTS`.
WSN_CH_PARAMETERS: dict[str, tuple[str, str]] = {
    "hardware": ("name", "node and edge hardware preset giving the next six constants (msp430f1611, cc2650)"),
    "workload": ("name", "workload preset giving the next six constants (fusion, dnn-inference)"),
    "kappa": ("J s^2/cycle^3", "effective switched capacitance of a cluster head's CPU (preset: e_bit / (c f^2))"),
    "cpu_frequency": ("cycles/s", "cluster head CPU frequency (preset: MCU clock)"),
    "cycles_per_bit": ("cycles/bit", "task complexity (preset: the workload's)"),
    "result_bits": ("bit", "size of the result sent back (preset: the workload's)"),
    "bandwidth": ("bit/s", "uplink bandwidth shared by the offloading cluster heads (preset: radio rate)"),
    "edge_cpu": ("cycles/s", "edge server CPU shared by the offloading cluster heads (preset: clock x cores)"),
    "energy_weight": ("-", "w_E, weight of energy in the utility"),
    "time_weight": ("J/s", "w_T, weight of latency in the utility"),
    "reference_energy": ("J", "E_ref, residual energy at which energy costs weight 1"),
    "energy_exponent": ("-", "a, exponent of (E_ref / residual) on the energy cost (0: off)"),
    "packet_bits": ("bit", "data packet length"),
    "field_size": ("m", "side of the square field of random states"),
    "sink_x": ("m", "edge server (sink) x of random states"),
    "sink_y": ("m", "edge server (sink) y of random states"),
    "packets_min": ("packets", "fewest aggregated packets per cluster head in random states"),
    "packets_max": ("packets", "most aggregated packets per cluster head in random states"),
    "residual_min": ("J", "lowest residual energy of random states"),
    "residual_max": ("J", "highest residual energy of random states"),
}

FAMILY = OffloadFamily(
    name="wsn-ch", build=wsn_ch_model, defaults=dict(WSN_CH_DEFAULTS), parameters=WSN_CH_PARAMETERS,
    summary="the simulator's cluster heads, cost in J",
    kind=WSN_CH_KIND, score=wsn_ch_score, gray_init=wsn_ch_gray_init, gray_flip=wsn_ch_gray_flip,
)
