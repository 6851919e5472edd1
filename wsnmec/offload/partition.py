"""Model ``partition``: DNN inference split between D devices and S edge servers (categorical decisions).

Each frame, each of D devices runs one inference of a network (AlexNet, VGG-16 or MobileNetV2, profiles
in :mod:`wsnmec.offload.profiles`). Device i's decision is one *option*: option 0 runs the whole network
locally (split s = L); option ``1 + k * S + j`` runs layers 1..s_k on the device, sends the output of
layer s_k (the k-th candidate cut, s_k < L; s_0 = 0 sends the input) to edge server j and runs the rest
there. A decision is a vector of D option indices. The system utility is a cost (``sense = -1``).

Notes
-----
Per device i with option (k, j), cut s = s_k, local MACs ``m_l = sum_{l <= s} macs_l``, remote MACs
``m_r = M - m_l``, transmitted tensor of ``e_s`` elements at ``b_p`` bits each::

    T_i = m_l / f_dev + e_s b_p / r_ij + S_i                            latency [s]
    E_i = m_l e_mac + P_tx e_s b_p / r_ij                               device energy [J]
    rho_j = beta_j + W_j / (C_j T_f),   W_j = sum over devices on j of m_r   (utilization of server j)
    Q = sum_i ( w_t T_i + w_e E_i + w_a a_i )                           [J]

with f_dev [MAC/s] and e_mac [J/MAC] the device preset, r_ij [bit/s] the uplink rate of device i to
server j this frame, C_j [MAC/s] server j's capacity this frame (nominal x capacity factor), beta_j its
background utilization, T_f [s] the frame period (one inference per device per frame), a_i the
accuracy loss [percentage points] of the precision used and w_t [J/s], w_e, w_a [J/pp] weights (DDLO's
"energy + p x time" form), S_i [s] device i's time on its server (*Server model* below:
``sum_k min(m_r,k, m_r,i) / (C_j (1 - beta_j))`` over the jobs k on server j under ``batch-ps``,
``m_r / (C_j (1 - rho_j))`` under ``mm1``). All-local: ``T_i = M / f_dev``, ``E_i = M e_mac``.

*Server model* (``queueing``). ``batch-ps`` (the default): the remote parts offloaded in the same frame
arrive together and share their server as processor sharing from a common start. The background load
takes a steady fraction beta_j of the server (a fluid approximation of the other users), so the frame's
batch is served at ``C'_j = C_j (1 - beta_j)``. With the n jobs' works sorted,
w_(1) <= ... <= w_(n) [MAC] (w_(0) = 0), all n share C'_j until the smallest is done, then n - 1 share it,
and so on: the completion times are exactly::

    t_(k) = t_(k-1) + (n - k + 1) (w_(k) - w_(k-1)) / C'_j,   t_(0) = 0,

equivalently ``t_i = sum_k min(w_k, w_i) / C'_j`` for job i (4 equal jobs of x MACs all finish at
4 x / C'_j), and the server's total ``sum_k t_(k) = sum_k (2 (n - k) + 1) w_(k) / C'_j`` (what the cost
charges; Kleinrock, *Queueing Systems* vol. 2, 1976, ch. 4, for processor sharing). Assumptions: the jobs
start together (the offsets between the devices' arrivals, their local compute and upload times, are
ignored), and each frame's batch finds its server free of earlier batches: a batch needing longer than the
frame period would delay the next one, which this model does not carry over (the utilization ``rho_j``
above 1 shows it). ``mm1`` (the model before issue 16, kept as a named option): each job stays
``x / (C (1 - rho))``, the steady-state mean of an M/M/1 processor-sharing queue (Kleinrock 1976, sec.
4.4) at the utilization rho including the frame's own work; the factor ``1/(1 - rho)`` is used up to
``rho_cap`` (0.95) and continued by its tangent beyond, so that a decision overloading a server is scored
as very slow but finite. It treats the simultaneous jobs as a Poisson stream and is too optimistic for a
batch (4 equal jobs: about 1.39 x / C instead of 4 x / C at the default loads). In both, a server that is
down (capacity factor 0) answers after ``timeout_s`` (default 1 s) and does nothing.

*Transmission.* ``r_ij = B log2(1 + SNR_ij |h|^2)`` with ``|h|^2 ~ Exp(1)`` (Rayleigh fading, drawn per
frame), ``SNR_ij = P_tx G(d_ij) / (N_0 B F)``, 3GPP path loss ``128.1 + 37.6 log10(d / 1 km)`` dB
(3GPP TR 36.814, Table A.2.1.1-3), N_0 = -174 dBm/Hz, noise figure F = 9 dB, B = 10 MHz per device
(orthogonal channels). Transmission energy is power x time (P_tx = 0.5 W, a Wi-Fi-class uplink;
Huang et al., MobiSys 2012, measured 0.13 W + 0.28 W/(Mbit/s) for Wi-Fi and 1.29 W + 0.44 W/(Mbit/s) for
LTE). The input (cut 0) is an 8-bit image: it is sent at min(b_p, 8) bits per element and loses no
accuracy. Downloading the result (1000 scores) is neglected.

*Precision.* Features cross the link as fp32 (32 bit), fp16 (16) or int8 (8). :data:`ACCURACY_LOSS`
gives the assumed top-1 loss per network [percentage points] (their source or status per network and
precision: :data:`ACCURACY_LOSS_SOURCE`, copied into the model's config as ``accuracy_loss_source``); a cut and precision whose loss exceeds
``accuracy_floor`` (default 1 pp) is not an option. With ``precision="learned"`` the precision is part
of the decision: it changes only the device's own transmission time, energy and accuracy term, so its
best value given (cut, server) is ``argmin_p (w_t + w_e P_tx) e_s b_p / r_ij + w_a a_p`` and every
policy applies that rule (the exact optimum over (cut, server, precision) is therefore the exact
optimum over (cut, server) with this rule).

*Device presets* (:data:`DEVICE_PRESETS`): ``phone`` 1e10 MAC/s and 0.1 nJ/MAC (a phone SoC's sustained
CNN throughput at about 1 W; cf. Kang et al., Neurosurgeon, ASPLOS 2017, Jetson TK1 measurements, and
Horowitz, ISSCC 2014, for the energy per operation with memory access); ``mcu`` 1e8 MAC/s and 1 nJ/MAC
(a Cortex-M7-class microcontroller with CMSIS-NN kernels; Lai et al., arXiv:1801.06601, 2018). Edge
servers: ``edge_capacity`` 1e11 MAC/s for server 0 (an edge GPU's sustained convolution throughput,
order 1e11..1e12), server j gets ``edge_capacity / (1 + j)`` (heterogeneous servers).

State row: ``rates [D*S]`` (device-major, [bit/s]), ``background [S]`` (utilization in [0, 1)),
``capacity_factor [S]`` (1 nominal, 0 down). Random states are a time series: Rayleigh fading drawn
independently per frame around fixed device-server distances (a seeded layout), background loads a
reflected random walk with step ``background_step`` in [0, ``background_max``].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from ..errors import ParameterError, check_float, check_int

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
#: Networks with a profile (``--network``).
NETWORK_NAMES = ("alexnet", "vgg16", "mobilenetv2")
#: Bits per element of a transmitted tensor.
PRECISION_BITS = {"fp32": 32.0, "fp16": 16.0, "int8": 8.0}
#: ``--precision`` values: a fixed precision, or ``learned`` (part of the decision).
PRECISIONS = (*PRECISION_BITS, "learned")

#: Assumed top-1 accuracy loss [percentage points] when one intermediate feature tensor is sent at the
#: given precision. fp16: no measurable loss (Micikevicius et al., "Mixed Precision Training", ICLR 2018,
#: report fp16 networks matching fp32). int8: post-training 8-bit quantization of *all* activations and
#: weights costs well under 1 pp for AlexNet/VGG-class networks and about 2 pp for MobileNetV2
#: (Krishnamoorthi, arXiv:1806.08342, 2018, Table 2; Jacob et al., CVPR 2018); a single transmitted
#: tensor loses at most that, so these values are conservative planning values, not measurements.
ACCURACY_LOSS = {
    "alexnet": {"fp32": 0.0, "fp16": 0.0, "int8": 0.3},
    "vgg16": {"fp32": 0.0, "fp16": 0.0, "int8": 0.2},
    "mobilenetv2": {"fp32": 0.0, "fp16": 0.0, "int8": 2.1},
}
_FP16_SOURCE = ("assumption: 0 pp, not measured for one transmitted tensor (fp16 networks match fp32: "
                "Micikevicius et al., ICLR 2018)")
#: Where each value of :data:`ACCURACY_LOSS` comes from (written to every output's config): none of them is a
#: measurement of quantizing the one transmitted tensor of that network; they are declared assumptions.
ACCURACY_LOSS_SOURCE = {
    "alexnet": {"fp32": "exact: no quantization", "fp16": _FP16_SOURCE,
                "int8": "assumption: 0.3 pp planning value (no published per-tensor figure for AlexNet; 8-bit "
                        "post-training quantization of whole AlexNet/VGG-class networks costs under 1 pp, "
                        "Jacob et al., CVPR 2018)"},
    "vgg16": {"fp32": "exact: no quantization", "fp16": _FP16_SOURCE,
              "int8": "assumption: 0.2 pp planning value (no published per-tensor figure for VGG-16; as for "
                      "AlexNet, after Jacob et al., CVPR 2018)"},
    "mobilenetv2": {"fp32": "exact: no quantization", "fp16": _FP16_SOURCE,
                    "int8": "assumption: 2.1 pp, the order of whole-network 8-bit post-training quantization of "
                            "MobileNetV2 (Krishnamoorthi, arXiv:1806.08342, 2018), an upper bound for one tensor"},
}

#: Server queueing models (``queueing``, module Notes): the frame's batch under processor sharing, or the
#: steady-state M/M/1 processor-sharing mean.
QUEUEING_MODELS = ("batch-ps", "mm1")
DEFAULT_QUEUEING = "batch-ps"

#: Device presets: throughput [MAC/s] and energy [J/MAC] (module Notes).
DEVICE_PRESETS = {
    "phone": {"device_rate": 1e10, "device_energy": 1e-10},
    "mcu": {"device_rate": 1e8, "device_energy": 1e-9},
}

#: Default constants of the partition model (SI units).
PARTITION_DEFAULTS: dict[str, float] = {
    "edge_capacity": 1e11,  # C_0 [MAC/s]; server j: C_0 / (1 + j)
    "frame_period": 0.1,  # T_f [s]
    "tx_power": 0.5,  # P_tx [W]
    "bandwidth": 10e6,  # B [Hz] per device
    "noise_figure_db": 9.0,  # F [dB]
    "distance_min": 20.0,  # [m] device-server distances drawn uniformly in [min, max]
    "distance_max": 300.0,  # [m]
    "time_weight": 1.0,  # w_t [J/s]
    "energy_weight": 1.0,  # w_e [-]
    "accuracy_weight": 0.01,  # w_a [J/pp]
    "accuracy_floor": 1.0,  # largest accepted accuracy loss [pp]
    "rho_cap": 0.95,  # M/M/1 factor 1/(1-rho) used up to rho_cap, tangent beyond
    "timeout_s": 1.0,  # latency of a remote part sent to a server that is down [s]
    "background_max": 0.6,  # largest background utilization
    "background_step": 0.02,  # std of the background random walk per frame
}

MAX_DEVICES = 256
MAX_SERVERS = 64
#: Largest number of subset-cut evaluations per state accepted by :func:`exact` (S (K+1)^D + S 3^D).
MAX_EXACT_EVALUATIONS = 20_000_000


# ----------------------------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class NetworkProfile:
    """A network's layers (from its CSV) and its candidate cuts.

    Attributes
    ----------
    name : str
    layers : pandas.DataFrame
        Columns ``layer, name, type, output_elements, output_shape, macs, cut``; row 0 is the input.
    cuts : numpy.ndarray [K]
        Layer indices s < L after which a split may send the output (0 = send the input).
    total_macs : float
        MACs of the whole network.
    """

    name: str
    layers: pd.DataFrame = field(repr=False)
    cuts: np.ndarray
    total_macs: float

    @property
    def n_layers(self) -> int:
        """L, the number of layers (the input row excluded)."""
        return len(self.layers) - 1

    def local_macs(self, s: int) -> float:
        """MACs of layers 1..s."""
        return float(self.layers["macs"].to_numpy()[: s + 1].sum())

    def elements(self, s: int) -> float:
        """Elements of the output of layer s (s = 0: the input)."""
        return float(self.layers["output_elements"].to_numpy()[s])


@lru_cache(maxsize=None)
def load_profile(name: str) -> NetworkProfile:
    """The profile of network ``name`` (one of :data:`NETWORK_NAMES`)."""
    if name not in NETWORK_NAMES:
        raise ParameterError("--network", f"unknown network {name!r}; valid networks: {', '.join(NETWORK_NAMES)}")
    layers = pd.read_csv(PROFILE_DIR / f"{name}.csv", comment="#")
    L = len(layers) - 1
    cuts = layers.loc[(layers["cut"] == 1) & (layers["layer"] < L), "layer"].to_numpy(np.int64)
    return NetworkProfile(name, layers, cuts, float(layers["macs"].sum()))


# ----------------------------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class PartitionModel:
    """A configured partition model (immutable); build it with :func:`partition_model`.

    The arrays are what the compiled kernels take: ``opt_cut[O]`` (cut index k, -1 for local),
    ``opt_server[O]`` (server j, -1 for local), per cut k ``cut_local_macs[K]``, ``cut_remote_macs[K]``,
    ``cut_bits[K, P]`` and ``cut_loss[K, P]`` (bits and accuracy loss of each allowed precision; +inf
    bits where a precision is not allowed), ``capacity[S]`` nominal [MAC/s], ``distances[D, S]`` [m]
    and ``scalars`` (see ``_SC_*``).
    """

    devices: int
    servers: int
    network: str
    precision: str
    opt_cut: np.ndarray
    opt_server: np.ndarray
    cut_layers: np.ndarray
    cut_local_macs: np.ndarray
    cut_remote_macs: np.ndarray
    cut_bits: np.ndarray
    cut_loss: np.ndarray
    capacity: np.ndarray
    distances: np.ndarray
    scalars: np.ndarray
    config: dict
    name: str = "partition"
    sense: float = -1.0

    @property
    def n_options(self) -> int:
        """O, the options per device (1 local + remote cuts x servers)."""
        return len(self.opt_cut)

    @property
    def n_state(self) -> int:
        return self.devices * self.servers + 2 * self.servers

    def option_label(self, o: int) -> str:
        """``local`` or ``cut@LAYER->sJ``."""
        if self.opt_cut[o] < 0:
            return "local"
        return f"{int(self.cut_layers[self.opt_cut[o]])}->s{int(self.opt_server[o])}"

    def check_states(self, states, name: str = "states") -> np.ndarray:
        arr = np.asarray(states, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_state:
            raise ParameterError(name, f"must have shape [S, {self.n_state}], got {np.shape(states)}")
        if not np.all(np.isfinite(arr)):
            raise ParameterError(name, "must be finite")
        D, S = self.devices, self.servers
        if np.any(arr[:, : D * S] <= 0) or np.any(arr[:, D * S:] < 0) or np.any(arr[:, D * S:D * S + S] >= 1):
            raise ParameterError(name, "rates must be > 0, background in [0, 1), capacity factors >= 0")
        return np.ascontiguousarray(arr)

    def check_decisions(self, decisions, count: int, name: str = "decisions") -> np.ndarray:
        """Option indices as int64 [S, C, D] (a [S, D] input becomes C = 1)."""
        arr = np.asarray(decisions)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.ndim != 3 or arr.shape[0] != count or arr.shape[2] != self.devices:
            raise ParameterError(name, f"must have shape [S={count}, C, D={self.devices}], got {np.shape(decisions)}")
        if np.any(arr < 0) or np.any(arr >= self.n_options):
            raise ParameterError(name, f"option indices must be in [0, {self.n_options - 1}]")
        return np.ascontiguousarray(arr.astype(np.int64))

    def kernel_args(self):
        """The model arrays in the order the kernels take them."""
        return (self.opt_cut, self.opt_server, self.cut_local_macs, self.cut_remote_macs, self.cut_bits,
                self.cut_loss, self.capacity, self.scalars)

    def score(self, states, decisions) -> np.ndarray:
        """Costs Q [J] [S, C] of decisions [S, C, D] (or [S] for decisions [S, D])."""
        states = self.check_states(states)
        two_d = np.ndim(decisions) == 2
        dec = self.check_decisions(decisions, states.shape[0])
        out = np.empty(dec.shape[:2])
        _score_batch(states, dec, self.devices, self.servers, *self.kernel_args(), out)
        return out[:, 0] if two_d else out

    def breakdown(self, states, decisions) -> dict:
        """Per frame: ``latency_s`` (mean over devices [s]), ``energy_j`` (mean device energy per
        inference [J]), ``utilization`` [S, servers] (rho_j clipped to [0, 1]; 0 for a server that is
        down) and ``cost`` (Q [J]), for decisions [S, D]."""
        states = self.check_states(states)
        dec = self.check_decisions(decisions, states.shape[0])[:, 0, :]
        n = states.shape[0]
        lat = np.empty(n)
        en = np.empty(n)
        util = np.empty((n, self.servers))
        cost = np.empty(n)
        _breakdown_batch(states, dec, self.devices, self.servers, *self.kernel_args(), lat, en, util, cost)
        return {"latency_s": lat, "energy_j": en, "utilization": util, "cost": cost}

    def random_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` consecutive frames (module Notes): Rayleigh-faded rates, random-walk background."""
        count = int(count)
        D, S = self.devices, self.servers
        cfg = self.config
        mean_snr = _mean_snr(self.distances, cfg)  # [D, S]
        fading = rng.exponential(1.0, size=(count, D, S))
        rates = cfg["bandwidth"] * np.log2(1.0 + mean_snr[None] * fading)
        rates = np.maximum(rates, 1.0)  # a deep fade still carries 1 bit/s (keeps the state valid)
        bmax, step = cfg["background_max"], cfg["background_step"]
        back = np.empty((count, S))
        b = rng.uniform(0.0, bmax, size=S)
        steps = rng.normal(0.0, step, size=(count, S))
        for f in range(count):
            b = b + steps[f]
            b = np.where(b < 0, -b, b)
            b = np.where(b > bmax, 2 * bmax - b, b)
            b = np.clip(b, 0.0, bmax)
            back[f] = b
        out = np.empty((count, self.n_state))
        out[:, : D * S] = rates.reshape(count, D * S)
        out[:, D * S:D * S + S] = back
        out[:, D * S + S:] = 1.0
        return out

    def features(self, states) -> np.ndarray:
        """Learner input: log2 of rates over 10 Mbit/s, background utilizations, capacity factors."""
        states = self.check_states(states)
        D, S = self.devices, self.servers
        feat = states.copy()
        feat[:, : D * S] = np.log2(states[:, : D * S] / 1e7) / 4.0
        return feat

    def nearest_server(self) -> np.ndarray:
        """Each device's nearest server [D]."""
        return np.argmin(self.distances, axis=1)


def _mean_snr(distances, cfg):
    """Mean SNR (linear) of each device-server link [D, S] (3GPP path loss, module Notes)."""
    loss_db = 128.1 + 37.6 * np.log10(np.maximum(distances, 1.0) / 1000.0)
    p_dbm = 10 * np.log10(cfg["tx_power"] * 1e3)
    noise_dbm = -174.0 + 10 * np.log10(cfg["bandwidth"]) + cfg["noise_figure_db"]
    return 10 ** ((p_dbm - loss_db - noise_dbm) / 10.0)


# packed scalars
_SC_FDEV, _SC_EMAC, _SC_PTX, _SC_TF, _SC_WT, _SC_WE, _SC_WA, _SC_RHOCAP, _SC_TIMEOUT, _SC_TOTAL, _SC_MM1 = range(11)


def partition_model(
    devices: int = 4,
    servers: int = 3,
    network: str = "alexnet",
    precision: str = "int8",
    *,
    device: str = "phone",
    queueing: str = DEFAULT_QUEUEING,
    layout_seed: int = 0,
    distances=None,
    capacities=None,
    **overrides,
) -> PartitionModel:
    """Build the partition model (see the module Notes).

    Parameters
    ----------
    devices : int
        D, devices (1..256).
    servers : int
        S, edge servers (1..64).
    network : str
        One of :data:`NETWORK_NAMES`.
    precision : str
        One of :data:`PRECISIONS`.
    device : str
        Device preset (:data:`DEVICE_PRESETS`).
    queueing : str
        Server model (:data:`QUEUEING_MODELS`, module Notes): ``batch-ps`` (default) or ``mm1``.
    layout_seed : int
        Seeds the device-server distances (uniform in [distance_min, distance_max] [m]).
    distances : array_like [D, S], optional
        Explicit distances [m] instead of the seeded layout.
    capacities : array_like [S], optional
        Nominal server capacities [MAC/s]; default ``edge_capacity / (1 + j)``.
    **overrides
        Keys of :data:`PARTITION_DEFAULTS` and ``device_rate`` [MAC/s], ``device_energy`` [J/MAC].
    """
    devices = check_int("--devices", devices, 1, MAX_DEVICES)
    servers = check_int("--servers", servers, 1, MAX_SERVERS)
    if precision not in PRECISIONS:
        raise ParameterError("--precision", f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if queueing not in QUEUEING_MODELS:
        raise ParameterError("--queueing", f"unknown queueing model {queueing!r}; valid: {', '.join(QUEUEING_MODELS)}")
    if device not in DEVICE_PRESETS:
        raise ParameterError("device", f"unknown device preset {device!r}; valid: {', '.join(DEVICE_PRESETS)}")
    profile = load_profile(network)
    cfg = _partition_constants(device, overrides)
    if distances is None:
        rng = np.random.default_rng(layout_seed)
        distances = rng.uniform(cfg["distance_min"], cfg["distance_max"], size=(devices, servers))
    distances = np.asarray(distances, dtype=np.float64)
    if distances.shape != (devices, servers) or np.any(~np.isfinite(distances)) or np.any(distances <= 0):
        raise ParameterError("distances", f"must be positive, shape [{devices}, {servers}]")
    if capacities is None:
        capacities = cfg["edge_capacity"] / (1.0 + np.arange(servers))
    capacities = np.asarray(capacities, dtype=np.float64)
    if capacities.shape != (servers,) or np.any(~(capacities > 0)) or np.any(~np.isfinite(capacities)):
        raise ParameterError("capacities", f"must be {servers} positive finite numbers [MAC/s]")

    # candidate cuts and the precisions allowed at each under the accuracy floor
    names = [precision] if precision != "learned" else list(PRECISION_BITS)
    loss_table = ACCURACY_LOSS[network]
    cut_layers, local, remote, bits, loss = _candidate_cuts(profile, names, loss_table, cfg["accuracy_floor"])
    K = len(cut_layers)
    opt_cut = [-1] + [k for k in range(K) for _ in range(servers)]
    opt_server = [-1] + [j for _ in range(K) for j in range(servers)]
    scalars = _kernel_scalars(cfg, profile.total_macs, queueing)
    config = {
        "model": "partition", "devices": devices, "servers": servers, "network": network,
        "precision": precision, "device": device, "queueing": queueing, "layout_seed": int(layout_seed), **cfg,
        "accuracy_loss": {p: float(loss_table[p]) for p in names},
        "accuracy_loss_source": {p: ACCURACY_LOSS_SOURCE[network][p] for p in names},
        "capacities": [float(c) for c in capacities], "cut_layers": cut_layers,
        "n_options": len(opt_cut), "total_macs": profile.total_macs,
    }
    return PartitionModel(
        devices=devices, servers=servers, network=network, precision=precision,
        opt_cut=np.array(opt_cut, dtype=np.int64), opt_server=np.array(opt_server, dtype=np.int64),
        cut_layers=np.array(cut_layers, dtype=np.int64),
        cut_local_macs=np.array(local, dtype=np.float64).reshape(K),
        cut_remote_macs=np.array(remote, dtype=np.float64).reshape(K),
        cut_bits=np.array(bits, dtype=np.float64).reshape(K, len(names)),
        cut_loss=np.array(loss, dtype=np.float64).reshape(K, len(names)),
        capacity=capacities, distances=distances, scalars=scalars, config=config,
    )


def _partition_constants(device: str, overrides: dict) -> dict:
    """:data:`PARTITION_DEFAULTS` with the ``device`` preset and the ``--param`` overrides, each checked."""
    allowed = {*PARTITION_DEFAULTS, "device_rate", "device_energy"}
    for key in overrides:
        if key not in allowed:
            raise ParameterError(f"--param {key}", f"not a partition parameter; valid: {', '.join(sorted(allowed))}")
    cfg = {**PARTITION_DEFAULTS, **DEVICE_PRESETS[device]}
    for key, value in overrides.items():
        cfg[key] = check_float(f"--param {key}", value, 0.0)
    for key in ("edge_capacity", "frame_period", "bandwidth", "distance_min", "device_rate", "distance_max"):
        cfg[key] = check_float(f"--param {key}", cfg[key], 0.0, min_inclusive=False)
    cfg["rho_cap"] = check_float("--param rho_cap", cfg["rho_cap"], 0.0, 1.0, min_inclusive=False, max_inclusive=False)
    cfg["background_max"] = check_float("--param background_max", cfg["background_max"], 0.0, 1.0, max_inclusive=False)
    if cfg["distance_max"] < cfg["distance_min"]:
        raise ParameterError("--param distance_max", f"must be >= distance_min ({cfg['distance_min']:g})")
    return cfg


def _candidate_cuts(profile, names: list[str], loss_table: dict, accuracy_floor: float):
    """The cuts with at least one precision of ``names`` within the accuracy floor: their layers, local and
    remote MACs, and per precision the transmitted bits [bit] (inf where the accuracy loss is over the floor)
    and the accuracy loss [pp]."""
    cut_layers, local, remote, bits, loss = [], [], [], [], []
    for s in profile.cuts:
        b_row, l_row = [], []
        for p in names:
            a = 0.0 if s == 0 else loss_table[p]
            per_elem = min(PRECISION_BITS[p], 8.0) if s == 0 else PRECISION_BITS[p]
            ok = a <= accuracy_floor
            b_row.append(profile.elements(int(s)) * per_elem if ok else np.inf)
            l_row.append(a)
        if not np.all(np.isinf(b_row)):
            cut_layers.append(int(s))
            m_l = profile.local_macs(int(s))
            local.append(m_l)
            remote.append(profile.total_macs - m_l)
            bits.append(b_row)
            loss.append(l_row)
    return cut_layers, local, remote, bits, loss


def _kernel_scalars(cfg: dict, total_macs: float, queueing: str) -> np.ndarray:
    """The scalar constants the compiled kernels read, at the ``_SC_*`` indices."""
    scalars = np.zeros(11)
    scalars[_SC_FDEV] = cfg["device_rate"]
    scalars[_SC_EMAC] = cfg["device_energy"]
    scalars[_SC_PTX] = cfg["tx_power"]
    scalars[_SC_TF] = cfg["frame_period"]
    scalars[_SC_WT] = cfg["time_weight"]
    scalars[_SC_WE] = cfg["energy_weight"]
    scalars[_SC_WA] = cfg["accuracy_weight"]
    scalars[_SC_RHOCAP] = cfg["rho_cap"]
    scalars[_SC_TIMEOUT] = cfg["timeout_s"]
    scalars[_SC_TOTAL] = total_macs
    scalars[_SC_MM1] = 1.0 if queueing == "mm1" else 0.0
    return scalars


# ----------------------------------------------------------------------------------------------- kernels
@njit(cache=True)
def server_factor(rho, rho_cap):
    """M/M/1-PS slowdown 1/(1 - rho) up to rho_cap, its tangent beyond."""
    if rho <= rho_cap:
        return 1.0 / (1.0 - rho)
    g = 1.0 - rho_cap
    return 1.0 / g + (rho - rho_cap) / (g * g)


@njit(cache=True)
def _device_terms(state, i, o, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss, sc):
    """(device-only cost w_t (T_local + T_tx) + w_e E + w_a a, remote MACs, T_local + T_tx, E) of option o."""
    fdev, emac, ptx = sc[_SC_FDEV], sc[_SC_EMAC], sc[_SC_PTX]
    wt, we, wa = sc[_SC_WT], sc[_SC_WE], sc[_SC_WA]
    k = opt_cut[o]
    if k < 0:
        t = sc[_SC_TOTAL] / fdev
        e = sc[_SC_TOTAL] * emac
        return wt * t + we * e, 0.0, t, e
    rate = state[i * n_srv + opt_server[o]]
    best = np.inf
    best_t = 0.0
    best_e = 0.0
    for p in range(cut_bits.shape[1]):
        b = cut_bits[k, p]
        if b == np.inf:
            continue
        t_tx = b / rate
        c = (wt + we * ptx) * t_tx + wa * cut_loss[k, p]
        if c < best:
            best = c
            best_t = t_tx
            best_e = ptx * t_tx
    t_l = cut_local[k] / fdev
    e_l = cut_local[k] * emac
    return best + wt * t_l + we * e_l, cut_remote[k], t_l + best_t, e_l + best_e


@njit(cache=True)
def _server_cost(work, j, state, n_dev, n_srv, capacity, sc):
    """Total remote latency [s] of work [MAC] on server j this frame (sum over its devices' parts)."""
    cap = capacity[j] * state[n_dev * n_srv + n_srv + j]
    if cap <= 0.0:
        return np.inf  # caller charges the timeout per device instead
    rho = state[n_dev * n_srv + j] + work / (cap * sc[_SC_TF])
    return work / cap * server_factor(rho, sc[_SC_RHOCAP])


@njit(cache=True)
def batch_ps_total(works, n, cap):
    """Sum of the completion times [s] of n jobs (``works[:n]`` [MAC], sorted in place) started together on a
    processor-sharing server of capacity ``cap`` [MAC/s]: ``sum_k (2 (n - k) + 1) w_(k) / cap`` (module Notes)."""
    for a in range(1, n):  # insertion sort: n is a handful of devices
        v = works[a]
        b = a - 1
        while b >= 0 and works[b] > v:
            works[b + 1] = works[b]
            b -= 1
        works[b + 1] = v
    total = 0.0
    for k in range(n):
        total += (2 * (n - k - 1) + 1) * works[k]
    return total / cap


@njit(cache=True)
def batch_ps_completion(works, n, i, cap):
    """Completion time [s] of job i among n jobs (``works[:n]`` [MAC]) started together on a
    processor-sharing server of capacity ``cap`` [MAC/s]: ``sum_k min(w_k, w_i) / cap`` (module Notes)."""
    wi = works[i]
    total = 0.0
    for k in range(n):
        total += min(works[k], wi)
    return total / cap


def batch_ps_completion_times(works, capacity: float) -> np.ndarray:
    """Completion times [s] of jobs of ``works`` [MAC] started together on a processor-sharing server of
    ``capacity`` [MAC/s], in input order (module Notes; compiled, see tests/naive_partition.py)."""
    w = np.ascontiguousarray(np.asarray(works, dtype=np.float64).ravel())
    cap = check_float("capacity", capacity, 0.0, min_inclusive=False)
    return np.array([batch_ps_completion(w, w.size, i, cap) for i in range(w.size)])


@njit(cache=True)
def _server_time(total_work, jobs, n, j, state, n_dev, n_srv, capacity, sc):
    """Total remote latency [s] (sum over its jobs) of the n jobs ``jobs[:n]`` [MAC] (summing to
    ``total_work``) on live server j this frame, under the model's queueing (``jobs`` is sorted in place)."""
    if sc[_SC_MM1] != 0.0:
        return _server_cost(total_work, j, state, n_dev, n_srv, capacity, sc)
    cap = capacity[j] * state[n_dev * n_srv + n_srv + j] * (1.0 - state[n_dev * n_srv + j])
    return batch_ps_total(jobs, n, cap)


@njit(cache=True)
def _score_one(state, dec, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss,
               capacity, sc, work, jobs, n_jobs):
    """Q [J] of one decision (scratch: ``work`` [S], ``jobs`` [S, D], ``n_jobs`` [S] int64)."""
    total = 0.0
    for j in range(n_srv):
        work[j] = 0.0
        n_jobs[j] = 0
    n_down = 0
    for i in range(n_dev):
        o = dec[i]
        c, w, _, _ = _device_terms(state, i, o, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                                   cut_loss, sc)
        total += c
        if opt_server[o] >= 0:
            j = opt_server[o]
            if capacity[j] * state[n_dev * n_srv + n_srv + j] <= 0.0:
                n_down += 1
            else:
                work[j] += w
                jobs[j, n_jobs[j]] = w
                n_jobs[j] += 1
    for j in range(n_srv):
        if work[j] > 0.0:
            total += sc[_SC_WT] * _server_time(work[j], jobs[j], n_jobs[j], j, state, n_dev, n_srv, capacity, sc)
    return total + sc[_SC_WT] * sc[_SC_TIMEOUT] * n_down


def score_scratch(n_dev: int, n_srv: int):
    """Scratch arrays of :func:`_score_one`: ``work`` [S], ``jobs`` [S, D], ``n_jobs`` [S]."""
    return np.empty(n_srv), np.empty((n_srv, max(n_dev, 1))), np.zeros(n_srv, dtype=np.int64)


@njit(cache=True)
def _score_batch(states, decisions, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                 cut_loss, capacity, sc, out):
    work = np.empty(n_srv)
    jobs = np.empty((n_srv, n_dev))
    n_jobs = np.zeros(n_srv, dtype=np.int64)
    for s in range(decisions.shape[0]):
        for c in range(decisions.shape[1]):
            out[s, c] = _score_one(states[s], decisions[s, c], n_dev, n_srv, opt_cut, opt_server, cut_local,
                                   cut_remote, cut_bits, cut_loss, capacity, sc, work, jobs, n_jobs)


@njit(cache=True)
def _breakdown_batch(states, decisions, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                     cut_loss, capacity, sc, lat, en, util, cost):
    work = np.empty(n_srv)
    jobs = np.empty((n_srv, n_dev))
    n_jobs = np.zeros(n_srv, dtype=np.int64)
    slot = np.zeros(n_dev, dtype=np.int64)  # device i's job index on its server
    for s in range(states.shape[0]):
        state = states[s]
        for j in range(n_srv):
            work[j] = 0.0
            n_jobs[j] = 0
        t_sum = 0.0
        e_sum = 0.0
        for i in range(n_dev):
            o = decisions[s, i]
            _, w, t, e = _device_terms(state, i, o, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                                       cut_loss, sc)
            t_sum += t
            e_sum += e
            if opt_server[o] >= 0:
                j = opt_server[o]
                work[j] += w
                slot[i] = n_jobs[j]
                jobs[j, n_jobs[j]] = w
                n_jobs[j] += 1
        for i in range(n_dev):
            o = decisions[s, i]
            j = opt_server[o]
            if j < 0:
                continue
            cap = capacity[j] * state[n_dev * n_srv + n_srv + j]
            if cap <= 0.0:
                t_sum += sc[_SC_TIMEOUT]
            elif sc[_SC_MM1] != 0.0:
                rho = state[n_dev * n_srv + j] + work[j] / (cap * sc[_SC_TF])
                t_sum += cut_remote[opt_cut[o]] / cap * server_factor(rho, sc[_SC_RHOCAP])
            else:
                t_sum += batch_ps_completion(jobs[j], n_jobs[j], slot[i], cap * (1.0 - state[n_dev * n_srv + j]))
        for j in range(n_srv):
            cap = capacity[j] * state[n_dev * n_srv + n_srv + j]
            if cap <= 0.0:
                util[s, j] = 0.0
            else:
                util[s, j] = min(1.0, state[n_dev * n_srv + j] + work[j] / (cap * sc[_SC_TF]))
        lat[s] = t_sum / n_dev
        en[s] = e_sum / n_dev
        cost[s] = _score_one(state, decisions[s], n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote,
                             cut_bits, cut_loss, capacity, sc, work, jobs, n_jobs)


# ----------------------------------------------------------------------------------------------- exact
def exact_evaluations(model: PartitionModel) -> int:
    """Evaluations per state of :func:`exact`: S (K+1)^D (subset-cut tables) + S 3^D (subset DP)."""
    K = len(model.cut_layers)
    return model.servers * ((K + 1) ** model.devices + 3 ** model.devices)


def exact(model: PartitionModel, states):
    """Optimal decisions [S, D] and costs [S] by exhaustive enumeration (split into subsets).

    Notes
    -----
    The cost separates into device-only terms and one term per server that depends only on the jobs sent
    to it (their total work under ``mm1``, the works themselves under ``batch-ps``). For every server j and every subset A of devices, ``G_j(A)`` is the least cost of
    A's devices all on server j, found by enumerating all K^|A| cut assignments (sum over subsets:
    (K+1)^D per server). A dynamic program over subsets then assigns devices to "local" or a server:
    ``F_j(A) = min_{B subset A} F_{j-1}(A minus B) + G_j(B)`` (3^D per server). Every decision is
    covered, so this is the exact optimum of the O^D decisions (O = 1 + K S), at S ((K+1)^D + 3^D)
    evaluations instead of O^D. Limit: :data:`MAX_EXACT_EVALUATIONS` (2e7) per state, e.g. AlexNet
    (K = 6) with 3 servers allows D <= 8; 20 devices x 4 servers is far beyond (7^20 ~ 8e16).
    """
    states = model.check_states(states)
    need = exact_evaluations(model)
    if need > MAX_EXACT_EVALUATIONS or model.devices > 20:
        raise ParameterError(
            "--devices", f"exact enumeration needs {need:.3g} evaluations per frame, above the limit "
            f"{MAX_EXACT_EVALUATIONS:.0e} (use fewer devices/servers or a heuristic)")
    dec = np.zeros((states.shape[0], model.devices), dtype=np.int64)
    util = np.empty(states.shape[0])
    _exact_batch(states, model.devices, model.servers, *model.kernel_args(), dec, util)
    return dec, util


@njit(cache=True)
def _exact_batch(states, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss,
                 capacity, sc, out_dec, out_util):
    K = cut_local.shape[0]
    n_sub = 1 << n_dev
    dev_cost = np.empty((n_dev, 1 + K * n_srv))
    dev_work = np.empty((n_dev, 1 + K * n_srv))
    G = np.empty((n_srv, n_sub))
    G_choice = np.zeros((n_srv, n_sub, n_dev), dtype=np.int64)  # cut index per member
    F = np.empty((n_srv + 1, n_sub))
    F_pick = np.zeros((n_srv + 1, n_sub), dtype=np.int64)  # subset B given to server j-1
    members = np.empty(n_dev, dtype=np.int64)
    member_jobs = np.empty(n_dev)
    digits = np.zeros(n_dev, dtype=np.int64)
    wt = sc[_SC_WT]
    for s in range(states.shape[0]):
        state = states[s]
        for i in range(n_dev):
            for o in range(1 + K * n_srv):
                c, w, _, _ = _device_terms(state, i, o, n_srv, opt_cut, opt_server, cut_local, cut_remote,
                                           cut_bits, cut_loss, sc)
                dev_cost[i, o] = c
                dev_work[i, o] = w
        for j in range(n_srv):
            down = capacity[j] * state[n_dev * n_srv + n_srv + j] <= 0.0
            G[j, 0] = 0.0
            for A in range(1, n_sub):
                m = 0
                for i in range(n_dev):
                    if (A >> i) & 1:
                        members[m] = i
                        m += 1
                for q in range(m):
                    digits[q] = 0
                best = np.inf
                while True:
                    c = 0.0
                    w = 0.0
                    for q in range(m):
                        o = 1 + digits[q] * n_srv + j
                        c += dev_cost[members[q], o]
                        w += dev_work[members[q], o]
                        member_jobs[q] = dev_work[members[q], o]
                    if down:
                        c += wt * sc[_SC_TIMEOUT] * m
                    else:
                        c += wt * _server_time(w, member_jobs, m, j, state, n_dev, n_srv, capacity, sc)
                    if c < best:
                        best = c
                        for q in range(m):
                            G_choice[j, A, members[q]] = digits[q]
                    q = 0
                    while q < m:
                        digits[q] += 1
                        if digits[q] < K:
                            break
                        digits[q] = 0
                        q += 1
                    if q == m:
                        break
                G[j, A] = best
        # F_0: everyone in A local
        for A in range(n_sub):
            c = 0.0
            for i in range(n_dev):
                if (A >> i) & 1:
                    c += dev_cost[i, 0]
            F[0, A] = c
        for j in range(n_srv):
            for A in range(n_sub):
                best = F[j, A]
                pick = 0
                B = A
                while B > 0:
                    v = F[j, A ^ B] + G[j, B]
                    if v < best:
                        best = v
                        pick = B
                    B = (B - 1) & A
                F[j + 1, A] = best
                F_pick[j + 1, A] = pick
        A = n_sub - 1
        for i in range(n_dev):
            out_dec[s, i] = 0
        for j in range(n_srv, 0, -1):
            B = F_pick[j, A]
            for i in range(n_dev):
                if (B >> i) & 1:
                    out_dec[s, i] = 1 + G_choice[j - 1, B, i] * n_srv + (j - 1)
            A ^= B
        work = np.empty(n_srv)
        jobs = np.empty((n_srv, n_dev))
        n_jobs = np.zeros(n_srv, dtype=np.int64)
        out_util[s] = _score_one(state, out_dec[s], n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote,
                                 cut_bits, cut_loss, capacity, sc, work, jobs, n_jobs)


# ----------------------------------------------------------------------------------------------- heuristics
def coordinate_descent(model: PartitionModel, states, start=None):
    """Cyclic best-response: each device in turn takes its best option given the others, until a full
    sweep changes nothing (from all-local unless ``start`` [S, D]). Returns (decisions, costs)."""
    states = model.check_states(states)
    if start is None:
        dec = np.zeros((states.shape[0], model.devices), dtype=np.int64)
    else:
        dec = model.check_decisions(start, states.shape[0], "start")[:, 0, :].copy()
    util = np.empty(states.shape[0])
    _coordinate_descent(states, model.devices, model.servers, *model.kernel_args(), dec, util)
    return dec, util


@njit(cache=True)
def _coordinate_descent(states, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss,
                        capacity, sc, dec, util):
    n_opt = opt_cut.shape[0]
    work = np.empty(n_srv)
    jobs = np.empty((n_srv, n_dev))
    n_jobs = np.zeros(n_srv, dtype=np.int64)
    for s in range(states.shape[0]):
        x = dec[s]
        u = _score_one(states[s], x, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                       cut_loss, capacity, sc, work, jobs, n_jobs)
        for _sweep in range(1000):
            changed = False
            for i in range(n_dev):
                keep = x[i]
                best_o = keep
                best = u
                for o in range(n_opt):
                    if o == keep:
                        continue
                    x[i] = o
                    v = _score_one(states[s], x, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote,
                                   cut_bits, cut_loss, capacity, sc, work, jobs, n_jobs)
                    if v < best * (1.0 - 1e-12):
                        best = v
                        best_o = o
                x[i] = best_o
                if best_o != keep:
                    u = best
                    changed = True
            if not changed:
                break
        util[s] = u


def _option(model: PartitionModel, k: int, j: int) -> int:
    """Option index of cut k on server j (k = -1: local)."""
    return 0 if k < 0 else 1 + k * model.servers + j


def all_local(model: PartitionModel, states):
    """Every device runs the whole network."""
    states = model.check_states(states)
    dec = np.zeros((states.shape[0], model.devices), dtype=np.int64)
    return dec, model.score(states, dec)


def all_to_nearest(model: PartitionModel, states):
    """Every device sends its input (cut 0, no split) to its nearest server.

    If cut 0 is not an option (never with the shipped profiles) the first cut is used."""
    states = model.check_states(states)
    near = model.nearest_server()
    dec = np.array([[_option(model, 0, near[i]) for i in range(model.devices)]] * states.shape[0],
                   dtype=np.int64).reshape(states.shape[0], model.devices)
    return dec, model.score(states, dec)


def _idle_best_split(model: PartitionModel, state, i: int, j: int) -> int:
    """Neurosurgeon's choice for device i on server j assumed idle (no background, no other devices):
    the option (local or a cut on j) of least cost. Returns the option index."""
    D, S = model.devices, model.servers
    idle = state.copy()
    idle[D * S:D * S + S] = 0.0
    dec = np.zeros((len(model.cut_layers) + 1, D), dtype=np.int64)
    for k in range(len(model.cut_layers)):
        dec[k + 1, i] = _option(model, k, j)
    # other devices local: they add nothing to server j
    costs = model.score(idle[None], dec[None])[0]
    best = int(np.argmin(costs))  # row 0 is all-local
    return 0 if best == 0 else _option(model, best - 1, j)


def neurosurgeon(model: PartitionModel, states):
    """Neurosurgeon (Kang et al., ASPLOS 2017): each device its own best split on its nearest server,
    assuming the server idle (no background load, no other devices)."""
    states = model.check_states(states)
    near = model.nearest_server()
    dec = np.zeros((states.shape[0], model.devices), dtype=np.int64)
    for f in range(states.shape[0]):
        for i in range(model.devices):
            dec[f, i] = _idle_best_split(model, states[f], i, int(near[i]))
    return dec, model.score(states, dec)


def _load_aware(model: PartitionModel, states, pick_server):
    """Devices in order choose a server by ``pick_server(rho, counts, caps)`` and the Neurosurgeon split."""
    states = model.check_states(states)
    D, S = model.devices, model.servers
    dec = np.zeros((states.shape[0], D), dtype=np.int64)
    for f in range(states.shape[0]):
        state = states[f]
        caps = model.capacity * state[D * S + S:]
        rho = state[D * S:D * S + S].copy()
        counts = np.zeros(S)
        for i in range(D):
            alive = caps > 0
            if not alive.any():
                break
            j = pick_server(rho, counts, caps)
            o = _idle_best_split(model, state, i, j)
            dec[f, i] = o
            if o > 0:
                rho[j] += model.cut_remote_macs[model.opt_cut[o]] / (caps[j] * model.config["frame_period"])
                counts[j] += 1
    return dec, model.score(states, dec)


def jsq_neurosurgeon(model: PartitionModel, states):
    """Join-the-shortest-queue: devices in order pick the live server of lowest utilization (background
    plus what earlier devices sent), with the Neurosurgeon split for that server."""
    def pick(rho, counts, caps):
        r = np.where(caps > 0, rho, np.inf)
        return int(np.argmin(r))
    return _load_aware(model, states, pick)


def capacity_proportional(model: PartitionModel, states):
    """Devices are spread over the live servers in proportion to their capacity (the server with the
    largest capacity / (1 + devices already assigned)), each with the Neurosurgeon split."""
    def pick(rho, counts, caps):
        return int(np.argmax(np.where(caps > 0, caps / (1.0 + counts), -np.inf)))
    return _load_aware(model, states, pick)


def random_policy(model: PartitionModel, states, rng: np.random.Generator):
    """Uniform random option per device."""
    states = model.check_states(states)
    dec = rng.integers(0, model.n_options, size=(states.shape[0], model.devices)).astype(np.int64)
    return dec, model.score(states, dec)


#: Baselines by name (``random`` takes rng; ``optimal`` only where :func:`exact` is feasible).
PARTITION_BASELINES = {
    "optimal": exact,
    "coordinate-descent": coordinate_descent,
    "all-local": all_local,
    "all-to-nearest": all_to_nearest,
    "neurosurgeon": neurosurgeon,
    "jsq-neurosurgeon": jsq_neurosurgeon,
    "capacity-proportional": capacity_proportional,
    "random": random_policy,
}


# ----------------------------------------------------------------------------------------------- load balance
def static_split(capacities, total_rate, *, tol: float = 1e-13):
    """Optimal static split of a divisible load over parallel M/M/1 servers, solved numerically.

    Minimises the mean number in system ``sum_j lambda_j / (mu_j - lambda_j)`` (by Little's law, the
    total delay the partition model charges its servers: with ``lambda_j = W_j / T_f`` and
    ``mu_j = C_j (1 - beta_j)``, ``W_j / (C_j (1 - rho_j)) = T_f lambda_j / (mu_j - lambda_j)``) subject to
    ``sum_j lambda_j = total_rate``, ``0 <= lambda_j < mu_j``.

    Notes
    -----
    The objective is convex; the KKT conditions say that every used server has the same marginal delay
    ``d/dlambda [lambda / (mu - lambda)] = mu / (mu - lambda)^2 = nu`` and unused servers have
    ``1/mu >= nu``. This function finds nu by bisection (each server's lambda_j(nu) solved by an inner
    bisection on its marginal delay), without using the closed form. Solving the KKT system by hand gives
    the closed form (Lagrange multipliers; e.g. Bell & Stidham 1983, Tantawi & Towsley 1985)::

        lambda_j = mu_j - sqrt(mu_j) (sum_A mu - Lambda) / sum_A sqrt(mu)   for j in the active set A,

    where A holds the fastest servers for which this is positive; the tests check that the two agree.
    Units: any rate unit, the same for ``capacities`` (mu) and ``total_rate`` (Lambda).
    """
    mu = np.asarray(capacities, dtype=np.float64)
    lam_total = check_float("total_rate", total_rate, 0.0)
    if mu.ndim != 1 or mu.size < 1 or np.any(~(mu > 0)):
        raise ParameterError("capacities", "must be a non-empty list of positive rates")
    if lam_total >= mu.sum():
        raise ParameterError("total_rate", f"must be below the total capacity {mu.sum():g}, got {lam_total:g}")

    def marginal(lam, m):
        return m / (m - lam) ** 2

    def lam_of(nu):
        out = np.zeros_like(mu)
        for j, m in enumerate(mu):
            if marginal(0.0, m) >= nu:
                continue
            lo, hi = 0.0, m
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if marginal(mid, m) < nu:
                    lo = mid
                else:
                    hi = mid
                if hi - lo <= tol * m:
                    break
            out[j] = 0.5 * (lo + hi)
        return out

    lo, hi = 0.0, 1.0 / mu.min()
    while lam_of(hi).sum() < lam_total:
        hi *= 2.0
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if lam_of(mid).sum() < lam_total:
            lo = mid
        else:
            hi = mid
        if hi - lo <= tol * hi:
            break
    lam = lam_of(0.5 * (lo + hi))
    return lam * (lam_total / lam.sum()) if lam.sum() > 0 else lam


def mm1_total_delay(capacities, rates) -> float:
    """``sum_j lambda_j / (mu_j - lambda_j)`` (mean number in system of parallel M/M/1 queues)."""
    mu = np.asarray(capacities, dtype=np.float64)
    lam = np.asarray(rates, dtype=np.float64)
    return float(np.sum(lam / (mu - lam)))
