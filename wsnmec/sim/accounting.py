"""The round's accounting: radio, computation and control energy, latency and system utility (compiled).

One code path serves the fused loop of the built-in protocols (:mod:`wsnmec.sim.kernel`), the policy round
loop (:mod:`wsnmec.sim.rounds`) and dry-run scoring of candidates (:func:`score_candidates_jit`).

Notes
-----
A round, after the harvest and the election, is accounted in this order (l = packet bits, E_tx/E_rx from
:mod:`wsnmec.energy.radio`, the head costs from :mod:`wsnmec.energy.workload`):

1. *receivers*: :func:`wsnmec.sim.nearest.assign_receivers_jit` (``--join nearest|cluster``).
2. *decisions*: each cluster head (CH) processes locally (0) or offloads to the edge server at the sink (1);
   the built-in rules are :data:`OFFLOAD_RULES` (:func:`decide_offload_jit`), a Python policy may supply
   its own.
3. *set-up* (clean semantics): each alive node pays its fixed per-round consumption ``--idle-j`` [J] and its
   control messages (``--control-bits B``, below), capped by what it holds (a node that cannot pay spends
   all it has).
4. *data* (clean): each alive non-CH node pays E_tx(l, d) to its receiver (if it cannot, it spends all it
   has, dies, and its packet is lost); then each CH with k received packets pays its head cost: local
   ``k l E_elec + (k + 1) l e_bit + E_tx(r, d_sink)``, edge ``k l E_elec + E_tx((k + 1) l, d_sink)``. With
   the ``fusion`` workload and ``--offload local`` this is the classic LEACH accounting (e_bit = E_DA,
   r = l) operation by operation. A CH that cannot pay spends all it has and its data does not reach the
   sink.
5. *matlab semantics* (the MATLAB LEACH/SEP code): see :mod:`wsnmec.sim.kernel`; only local processing,
   energies are not clipped.
6. *latency* [s], by ``--medium`` (energy never depends on it):

   - ``ideal`` (default): every transmission to the sink has a channel of its own; the latency is the
     completion time of the slowest transmitter (a node sending to the sink: l / R; a CH: the workload
     module's T_local or T_edge with the actual k and the number m of offloading CHs, counted whether or
     not it could pay); 0 when nobody transmits.
   - ``shared``: the MAC of LEACH [1]_: members send to their CH in TDMA slots and each cluster has its own
     CDMA code, so the clusters gather in parallel; what the sink receives shares the sink's radio,
     ``--sink-channels C`` channels at the rate R. Each transmission that reaches the sink is a *job* with
     a ready time a and a duration s: a direct sender a = 0, s = l / R; a CH processing locally
     a = k l / R + (k + 1) l c / f, s = r / R; a CH offloading a = k l / R, s = (k + 1) l / R, followed by
     the edge processing (k + 1) l c_edge / (F min(1, cores / m)) from the end of its upload (m = the
     offloads that take place; the processor-sharing approximation of :mod:`wsnmec.energy.workload`). The
     C channels serve the jobs without preemption in order of ready time (ties: the lower node index
     first), each on the channel that frees first (list scheduling [2]_, FIFO); a job completes at the end
     of its transmission, an offload at the end of its edge processing. The latency is the completion of
     the last delivery; 0 when nothing reaches the sink. Only transmissions that take place are jobs: a
     node that cannot pay for its packet or its head cost (clean semantics, step 4) sends nothing and
     occupies no slot, and k counts the packets a CH actually received; under ``matlab`` semantics every
     CH and every sending non-CH node transmits. With C at least the number of jobs a delivery completes
     at its ``ideal`` time, operation for operation (:func:`head_job`). The scheduler is
     :func:`_serve_jobs_jit` (public: :func:`serve_sink_jobs`), one code path for the charge, the built-in
     ``exact`` rule and dry-run scoring.
7. *record*: ``energy_j`` = all energy drawn [J]; ``system_utility = energy_j + w_T latency_s`` [J] with
   ``--time-weight w_T`` [J/s] (default 0.01 J/s, the weight of the ``wsn-ch`` offloading model);
   ``delivered_bits``: sensed bits whose content reached the sink ((k + 1) l per CH that delivered, l per
   node that reached the sink directly).

**Control messages** (``--control-bits B`` > 0; B = 0 charges nothing, as the published LEACH curves):

- ``distributed`` (LEACH, LEACH-DCHS, DEEC, HEED's final round, [1]_): each CH broadcasts an advertisement
  over the network's diameter (the diagonal of the nodes' bounding box), E_tx(B, D); every alive non-CH
  node hears every advertisement, n_CH E_rx(B); each member sends a join request to its CH, E_tx(B, d), which
  receives it, E_rx(B); each CH broadcasts its TDMA schedule to its farthest member, E_tx(B, r_c), and each
  member receives it, E_rx(B).
- ``centralized`` (LEACH-C, [1]_): each alive node sends its position and energy to the sink,
  E_tx(B, d_sink), and receives the sink's assignment, E_rx(B); schedules as above.
- a policy may add its own per-node control energy (:meth:`wsnmec.clustering.base.ClusteringPolicy.control_energy`:
  HEED's announcements and round-1 hellos, DEEC's reception of the sink's mean-energy broadcast, a learned
  policy's broadcast). ``direct`` has no control messages. Each protocol's module docstring lists its
  messages.

**Kept clusters** (issue 18): the pattern above is the *set-up* of new clusters, so it is charged only in a
round whose clusters differ from the previous round's. The round loops remember each round's receivers
(:func:`remember_clusters_jit`: a CH's receiver is itself, a member's its CH, -1 the sink, -2 a dead node);
a round *keeps* the previous round's clusters (:func:`clusters_kept_jit`) when

- every CH of the previous round is alive and CH again, and
- every node alive now has the receiver it had in the previous round (so no new CH, no member moved, no
  node revived since; a node that died since simply drops out of its cluster).

A kept round charges no advertisement, join request, schedule, status upload or assignment (neither
``distributed`` nor ``centralized``): the members already hold their CH and their TDMA slot. The fixed
consumption ``--idle-j`` and a policy's own extra control energy (its
:meth:`~wsnmec.clustering.base.ClusteringPolicy.control_energy`, which the policy itself knows to drop when
it keeps) are charged as in any round. Round 1 never keeps (there is no previous round). A policy asks to
keep by electing the previous round's heads again
(:meth:`wsnmec.clustering.base.ClusteringPolicy.keep_previous`); a policy that happens to elect the same
heads gets the same saving (the rule depends only on the clusters, not on how they were chosen). Dry-run
scoring (:func:`score_candidates_jit`) applies the same rule against the live loop's previous receivers,
so a candidate equal to the previous clusters is scored without set-up; the lifetime bound
(:mod:`wsnmec.bound`) costs every configuration as a kept round, without set-up (a lower bound on any round
with it), and its schedules pay each configuration's set-up once. With ``--control-bits 0`` nothing changes.

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002.
.. [2] R. L. Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math. 17(2), 1969 (list
   scheduling: each job, in list order, on the machine that frees first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..energy.layout import (  # noqa: F401  (the round-parameter layout; re-exported)
    R_E_ELEC,
    R_EPS_FS,
    R_EPS_MP,
    R_D0,
    R_E_DA,
    P_BITS,
    P_RESULT_BITS,
    P_PROC_J_PER_BIT,
    P_CYCLES_PER_BIT,
    P_MCU_HZ,
    P_RATE,
    P_EDGE_HZ,
    P_EDGE_CORES,
    P_EDGE_CYCLES_PER_BIT,
    P_TIME_WEIGHT,
    P_CONTROL_BITS,
    P_IDLE_J,
    P_SEMANTICS,
    P_IDLE_WITHOUT_CH,
    P_JOIN_CLUSTER,
    P_CONTROL_KIND,
    P_DIAMETER,
    P_MEDIUM,
    P_SINK_CHANNELS,
    N_PARAMS,
    CLEAN,
    MATLAB,
    CONTROL_NONE,
    CONTROL_DISTRIBUTED,
    CONTROL_CENTRALIZED,
    CONTROL_KINDS,
    MEDIUM_IDEAL,
    MEDIUM_SHARED,
    MEDIUMS,
    MAX_SINK_CHANNELS,
    LOCAL,
    EDGE,
)
from ..energy.radio import amplifier_energy_jit, tx_energy_jit
from ..errors import ParameterError
from .nearest import (
    NO_TARGET,
    TO_SINK,
    _alive_view,
    _as_float_array,
    _ch_arrays,
    _finite_positions,
    assign_receivers_jit,
    bounding_box,
    sink_distances,
)


#: Built-in offloading rules of the cluster heads (see :func:`decide_offload_jit`).
OFFLOAD_RULES: dict[str, int] = {"local": 0, "edge": 1, "greedy": 2, "exact": 3}
RULE_LOCAL, RULE_EDGE, RULE_GREEDY, RULE_EXACT = 0, 1, 2, 3

#: Largest number of cluster heads the ``exact`` rule optimises jointly (O(n^3) per round); above it the
#: round falls back to ``greedy`` (:func:`decide_offload_jit` returns 1; the round is counted in the
#: ``offload_fallback`` column).
EXACT_MAX_HEADS = 256

#: Largest number of cluster heads the ``exact`` rule optimises jointly under the shared medium, by branch
#: and bound over the 2^n combinations with the real schedule (:func:`_exact_heads_shared`; measured on
#: 100 nodes with p = 0.2, the dnn-inference workload and w_T = 0.03 J/s: 2.6 ms per round on average
#: at 16 heads, 16 ms at 20, 80 ms at 24); above it the round falls back to ``greedy``
#: (:func:`decide_offload_jit` returns 1; the round is counted in the ``offload_fallback`` column).
EXACT_SHARED_MAX_HEADS = 16


def exact_max_heads(medium: str) -> int:
    """Largest number of cluster heads the ``exact`` rule optimises jointly under ``medium`` ("shared":
    :data:`EXACT_SHARED_MAX_HEADS`, otherwise :data:`EXACT_MAX_HEADS`), as :func:`decide_offload_jit` chooses
    from its medium code."""
    return EXACT_SHARED_MAX_HEADS if medium == "shared" else EXACT_MAX_HEADS


#: Relative slack of the branch-and-bound cut of :func:`_exact_heads_shared` (a bound is a different
#: floating-point sum than a leaf's value).
BOUND_SLACK = 1e-9


def round_parameters(radio, packet_bits, workload, hardware, *, time_weight, control_bits=0.0, idle_j=0.0,
                     semantics=CLEAN, idle_without_ch=False, join_cluster=False, control_kind=CONTROL_NONE,
                     diameter=0.0, medium=MEDIUM_IDEAL, sink_channels=1) -> np.ndarray:
    """Pack the constants of a round into the float64 vector the compiled functions take (indices above).

    Parameters
    ----------
    radio : RadioModel
    packet_bits : float
        l [bit].
    workload : Workload
    hardware : Hardware
    time_weight : float
        w_T [J/s].
    control_bits : float
        B [bit] per control message (0: no control overhead).
    idle_j : float
        Fixed consumption per alive node and round [J].
    semantics : int
        0 clean, 1 matlab.
    idle_without_ch, join_cluster : bool
    control_kind : int
        :data:`CONTROL_KINDS` value of the clustering policy.
    diameter : float
        Advertisement range [m] (the diagonal of the nodes' bounding box).
    medium : int
        :data:`MEDIUMS` value (module Notes, 6).
    sink_channels : int
        Channels at the radio rate at the sink (>= 1; used by the shared medium).
    """
    params = np.zeros(N_PARAMS, dtype=np.float64)
    params[R_E_ELEC] = radio.e_elec
    params[R_EPS_FS] = radio.eps_fs
    params[R_EPS_MP] = radio.eps_mp
    params[R_D0] = radio.d0
    params[R_E_DA] = radio.e_da
    params[P_BITS] = float(packet_bits)
    params[P_RESULT_BITS] = workload.result_size(packet_bits)
    params[P_PROC_J_PER_BIT] = workload.local_energy_per_bit(radio.e_da, hardware)
    params[P_CYCLES_PER_BIT] = workload.cycles_per_bit
    params[P_MCU_HZ] = hardware.mcu_clock_hz
    params[P_RATE] = hardware.data_rate_bps
    params[P_EDGE_HZ] = hardware.edge_clock_hz
    params[P_EDGE_CORES] = hardware.edge_cores
    params[P_EDGE_CYCLES_PER_BIT] = workload.edge_cycles_per_bit
    params[P_TIME_WEIGHT] = float(time_weight)
    params[P_CONTROL_BITS] = float(control_bits)
    params[P_IDLE_J] = float(idle_j)
    params[P_SEMANTICS] = float(semantics)
    params[P_IDLE_WITHOUT_CH] = 1.0 if idle_without_ch else 0.0
    params[P_JOIN_CLUSTER] = 1.0 if join_cluster else 0.0
    params[P_CONTROL_KIND] = float(control_kind)
    params[P_DIAMETER] = float(diameter)
    params[P_MEDIUM] = float(medium)
    params[P_SINK_CHANNELS] = float(sink_channels)
    return params


class Workspace:
    """Scratch arrays of the accounting for a network of ``n`` nodes (reused across rounds)."""

    def __init__(self, n: int):
        self.is_ch = np.zeros(n, dtype=np.uint8)
        self.ch_list = np.zeros(n, dtype=np.int64)
        self.target = np.full(n, -2, dtype=np.int64)
        self.distance = np.zeros(n, dtype=np.float64)
        self.drawn = np.zeros(n, dtype=np.float64)
        self.received = np.zeros(n, dtype=np.int64)
        self.decision = np.zeros(n, dtype=np.uint8)
        self.members = np.zeros(n, dtype=np.int64)
        # float rows: cell_x, cell_y, node_x, node_y, cand_x, cand_y, scratch (head costs / sort keys) x 4
        self.fgrid = np.zeros((10, n), dtype=np.float64)
        # int rows: cell_start, cell_node, ch_cell, node_start, node_order, cand_node, scratch x 2
        self.igrid = np.zeros((8, n + 2), dtype=np.int64)
        #: per-round results of the last :func:`charge_round_jit` call
        self.result = np.zeros(N_RESULTS, dtype=np.float64)
        #: receivers of the previous round (Notes, *Kept clusters*; -2 everywhere before round 1)
        self.previous = np.full(n, NO_TARGET, dtype=np.int64)


# --- head costs ------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _tx(bits, d, params):
    return tx_energy_jit(bits, d, params[R_E_ELEC], params[R_EPS_FS], params[R_EPS_MP], params[R_D0])


@njit(cache=True, nogil=True)
def head_energy(decision, got, d_sink, params):
    """Energy [J] of a CH that received ``got`` packets and sends to the sink at ``d_sink`` [m] (Notes, 4)."""
    bits = params[P_BITS]
    if decision == LOCAL:
        return (got * bits * params[R_E_ELEC] + (got + 1) * bits * params[P_PROC_J_PER_BIT]
                + _tx(params[P_RESULT_BITS], d_sink, params))
    return got * bits * params[R_E_ELEC] + _tx((got + 1) * bits, d_sink, params)


@njit(cache=True, nogil=True)
def head_latency(decision, got, offloading, params):
    """Completion time [s] of a CH with ``got`` received packets; ``offloading`` = CHs offloading (m)."""
    bits = params[P_BITS]
    rate = params[P_RATE]
    gathered = (got + 1) * bits
    if decision == LOCAL:
        return got * bits / rate + gathered * params[P_CYCLES_PER_BIT] / params[P_MCU_HZ] + params[P_RESULT_BITS] / rate
    share = 1.0
    if offloading > params[P_EDGE_CORES]:
        share = params[P_EDGE_CORES] / offloading
    return got * bits / rate + gathered / rate + gathered * params[P_EDGE_CYCLES_PER_BIT] / (params[P_EDGE_HZ] * share)


# --- the sink's medium (Notes, 6) -------------------------------------------------------------------------

#: Kinds of a cluster head's sink job: no delivery, a job that ends with its upload (local processing: the
#: result), an edge offload (the edge server processes the upload after it arrives).
JOB_NONE, JOB_UPLOAD, JOB_OFFLOAD = 0, 1, 2


@njit(cache=True, nogil=True)
def head_job(decision, got, params):
    """The sink job of a CH with ``got`` received packets (Notes, 6): ``(ready [s], upload [s], gathered
    [bit])``. Local: ready after the members' TDMA slots and the processing, ``k l / R + (k + 1) l c / f``,
    upload ``r / R``; edge: ready after the slots, ``k l / R``, upload ``(k + 1) l / R``. With a free channel
    the completion is :func:`head_latency` operation for operation."""
    bits = params[P_BITS]
    rate = params[P_RATE]
    gathered = (got + 1) * bits
    if decision == LOCAL:
        return (got * bits / rate + gathered * params[P_CYCLES_PER_BIT] / params[P_MCU_HZ],
                params[P_RESULT_BITS] / rate, gathered)
    return got * bits / rate, gathered / rate, gathered


@njit(cache=True, nogil=True)
def _replace_earliest(free, size, value):
    """Replace the smallest entry of the binary min-heap ``free[:size]`` by ``value`` (sift down)."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and free[child + 1] < free[child]:
            child += 1
        if free[child] < value:
            free[i] = free[child]
            i = child
        else:
            break
    free[i] = value


@njit(cache=True, nogil=True)
def _serve_jobs_jit(ready, service, tail, n_jobs, channels, completion):
    """Serve the first ``n_jobs`` jobs on ``channels`` identical channels (Notes, 6); returns the latest
    completion [s] (0 without jobs).

    Jobs in nondecreasing order of ``ready`` [s] (ties: the lower position first), each, without
    preemption, on the channel that frees first: start ``max(ready, free)``, end ``start + service``, the
    channel is free again at the end; the job completes at ``end + tail`` (``tail`` [s]: the edge processing
    that follows an offload's upload, 0 otherwise). Writes each job's completion into ``completion`` when it
    has at least ``n_jobs`` entries.
    """
    if n_jobs == 0:
        return 0.0
    in_order = True
    for j in range(1, n_jobs):
        if ready[j] < ready[j - 1]:
            in_order = False
            break
    order = np.empty(0, dtype=np.int64)
    if not in_order:
        order = np.argsort(ready[:n_jobs], kind="mergesort")  # stable: ties keep their positions
    size = channels if channels < n_jobs else n_jobs
    free = np.zeros(size, dtype=np.float64)
    keep = completion.shape[0] >= n_jobs
    latest = 0.0
    for q in range(n_jobs):
        j = q if in_order else order[q]
        start = free[0]
        if ready[j] > start:
            start = ready[j]
        end = start + service[j]
        _replace_earliest(free, size, end)
        done = end + tail[j]
        if keep:
            completion[j] = done
        if done > latest:
            latest = done
    return latest


@njit(cache=True, nogil=True)
def _shared_latency_jit(direct_nodes, n_direct, ch_list, n_ch, ch_kind, ch_ready, ch_upload, ch_gathered, params,
                        ready, service, tail):
    """The round's latency [s] under the shared medium (Notes, 6): the packets of the direct senders
    ``direct_nodes[:n_direct]`` (increasing node index) and the CHs' jobs (``ch_kind``, ``ch_ready`` [s],
    ``ch_upload`` [s], ``ch_gathered`` [bit] per entry of ``ch_list``) are listed in node order into
    ``ready``/``service``/``tail`` (scratch, >= n_direct + n_ch entries) and served by
    :func:`_serve_jobs_jit` on ``params[P_SINK_CHANNELS]`` channels. The m offloads that take place share
    the edge server: each one's processing takes ``gathered c_edge / (F min(1, cores / m))``."""
    offloads = 0
    for b in range(n_ch):
        if ch_kind[b] == JOB_OFFLOAD:
            offloads += 1
    share = 1.0
    if offloads > params[P_EDGE_CORES]:
        share = params[P_EDGE_CORES] / offloads
    packet = params[P_BITS] / params[P_RATE]
    a = 0
    b = 0
    j = 0
    while a < n_direct or b < n_ch:
        if b >= n_ch or (a < n_direct and direct_nodes[a] < ch_list[b]):
            ready[j] = 0.0
            service[j] = packet
            tail[j] = 0.0
            j += 1
            a += 1
            continue
        kind = ch_kind[b]
        if kind != JOB_NONE:
            ready[j] = ch_ready[b]
            service[j] = ch_upload[b]
            tail[j] = 0.0
            if kind == JOB_OFFLOAD:
                tail[j] = ch_gathered[b] * params[P_EDGE_CYCLES_PER_BIT] / (params[P_EDGE_HZ] * share)
            j += 1
        b += 1
    return _serve_jobs_jit(ready, service, tail, j, int(params[P_SINK_CHANNELS]), np.empty(0, dtype=np.float64))


def serve_sink_jobs(ready, service, tail=None, channels: int = 1):
    """Completion times of jobs on the sink's shared channels (the shared medium's scheduler, Notes 6).

    Parameters
    ----------
    ready : array_like of float
        Time each job is ready to transmit [s] (finite, >= 0).
    service : array_like of float
        Its transmission time on one channel [s] (finite, >= 0).
    tail : array_like of float, optional
        Time after its transmission until it completes [s] (an offload's edge processing; default 0).
    channels : int
        Channels at the sink, >= 1.

    Returns
    -------
    latency : float
        The latest completion [s] (0 without jobs).
    completion : float64 ndarray
        Each job's completion [s]. Jobs are served in order of ready time, ties in array order (the
        accounting lists them by node index), each on the channel that frees first, without preemption.
    """
    from ..errors import check_int

    arrays = []
    for name, values in (("ready", ready), ("service", service), ("tail", tail)):
        if values is None:
            values = np.zeros(arrays[0].shape[0])
        array = np.array(values, dtype=np.float64, copy=True)
        if array.ndim != 1 or (arrays and array.shape != arrays[0].shape):
            raise ParameterError(name, f"must be a 1-D array of one entry per job; got shape {array.shape}"
                                       + (f" for {arrays[0].shape[0]} jobs" if arrays else ""))
        if not (np.all(np.isfinite(array)) and np.all(array >= 0.0)):
            raise ParameterError(name, "must hold finite numbers >= 0 [s]")
        arrays.append(array)
    channels = check_int("channels", channels, 1, MAX_SINK_CHANNELS)
    completion = np.zeros(arrays[0].shape[0], dtype=np.float64)
    latency = _serve_jobs_jit(arrays[0], arrays[1], arrays[2], arrays[0].shape[0], channels, completion)
    return float(latency), completion


@njit(cache=True, nogil=True)
def count_members(alive, is_ch, target, members):
    """Members assigned to each CH this round (alive non-CH nodes whose receiver is that CH)."""
    n = alive.shape[0]
    for i in range(n):
        members[i] = 0
    sink_senders = 0
    for i in range(n):
        if alive[i] == 0 or is_ch[i] != 0:
            continue
        t = target[i]
        if t >= 0:
            members[t] += 1
        elif t == TO_SINK:
            sink_senders += 1
    return sink_senders


# --- offloading rules ------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _exact_heads(ch_list, n_ch, members, d_sink, floor, params, decision, fs, order):
    """Jointly optimal local/edge decisions of ``n_ch`` CHs (see :func:`decide_offload_jit`)."""
    w = params[P_TIME_WEIGHT]
    e_local = fs[0]
    t_local = fs[1]
    delta = fs[2]
    t_edge = fs[3]
    base = 0.0
    for j in range(n_ch):
        c = ch_list[j]
        e_local[j] = head_energy(LOCAL, members[c], d_sink[c], params)
        t_local[j] = head_latency(LOCAL, members[c], 0, params)
        delta[j] = head_energy(EDGE, members[c], d_sink[c], params) - e_local[j]
        base += e_local[j]
    # heads in increasing order of delta (ties by position): the cheapest edge choices first
    sorted_idx = np.argsort(delta[:n_ch], kind="mergesort")
    for j in range(n_ch):
        order[j] = sorted_idx[j]
    best = np.inf
    best_m = 0
    best_level = 0.0
    for m in range(n_ch + 1):
        for j in range(n_ch):
            t_edge[j] = head_latency(EDGE, members[ch_list[j]], m, params) if m > 0 else np.inf
        # candidate latency levels: the floor, every T_local, every T_edge(m)
        for cand in range(2 * n_ch + 1):
            if cand == 0:
                level = floor
            elif cand <= n_ch:
                level = t_local[cand - 1]
            else:
                level = t_edge[cand - 1 - n_ch]
            if level < floor or not level < np.inf:
                continue
            forced = 0
            cost = base + w * level
            feasible = True
            for j in range(n_ch):
                ok_local = t_local[j] <= level
                ok_edge = t_edge[j] <= level
                if not ok_local and not ok_edge:
                    feasible = False
                    break
                if not ok_local:
                    forced += 1
                    cost += delta[j]
            if not feasible or forced > m:
                continue
            need = m - forced
            for jj in range(n_ch):
                if need == 0:
                    break
                j = order[jj]
                if t_local[j] <= level and t_edge[j] <= level:
                    cost += delta[j]
                    need -= 1
            if need > 0:
                continue
            if cost < best:
                best = cost
                best_m = m
                best_level = level
    # rebuild the decisions of the best (m, level)
    m = best_m
    level = best_level
    for j in range(n_ch):
        t_edge[j] = head_latency(EDGE, members[ch_list[j]], m, params) if m > 0 else np.inf
    forced = 0
    for j in range(n_ch):
        decision[ch_list[j]] = LOCAL
        if not t_local[j] <= level:
            decision[ch_list[j]] = EDGE
            forced += 1
    need = m - forced
    for jj in range(n_ch):
        if need == 0:
            break
        j = order[jj]
        if t_local[j] <= level and t_edge[j] <= level and decision[ch_list[j]] == LOCAL:
            decision[ch_list[j]] = EDGE
            need -= 1
    return best


@njit(cache=True, nogil=True)
def _exact_heads_shared(alive, is_ch, target, ch_list, n_ch, members, d_sink, params, decision):
    """Jointly optimal local/edge decisions of ``n_ch`` CHs under the shared medium (branch and bound).

    A combination is scored as ``sum E + w_T latency`` (energies summed in head order) with the latency of
    the shared medium's schedule (:func:`_shared_latency_jit`) of the planned round: every direct sender's
    packet and every CH's job with its planned cluster size ``members[c]`` (all nodes able to pay). The
    result is that of scoring all 2^n_ch combinations and keeping the first best in the order of
    ``itertools.product((local, edge), repeat=n_ch)`` over the heads in ``ch_list`` order (head j offloads
    in combination q when bit ``n_ch - 1 - j`` of q is set; ties go to the smaller q).

    The search is depth-first over the heads (those whose options differ most in energy first, the cheaper
    option first), with the greedy decisions as the first incumbent. A partial decision is cut off when
    ``E(decided) + sum of min(E_local, E_edge) over the undecided + w_T L`` exceeds the incumbent by more
    than a relative :data:`BOUND_SLACK` (covering rounding), L being the largest of: the latency of the
    schedule without the undecided heads (in the FIFO list schedule an added job makes no channel free
    earlier, so no job starts earlier, and more offloads only slow the edge), the channel time of all jobs
    (each undecided head's shorter upload) over C, and each undecided head's completion alone (its faster
    option on an idle medium and a whole edge core). Each part is a lower bound, so no cut loses a
    combination that could win. At worst 2^(n_ch + 1) schedules. Returns the best value [J].
    """
    n = alive.shape[0]
    n_direct = 0
    for i in range(n):
        if alive[i] != 0 and is_ch[i] == 0 and target[i] == TO_SINK:
            n_direct += 1
    direct_nodes = np.empty(n_direct, dtype=np.int64)
    a = 0
    for i in range(n):
        if alive[i] != 0 and is_ch[i] == 0 and target[i] == TO_SINK:
            direct_nodes[a] = i
            a += 1
    option_energy = np.empty((2, n_ch), dtype=np.float64)
    option_ready = np.empty((2, n_ch), dtype=np.float64)
    option_upload = np.empty((2, n_ch), dtype=np.float64)
    gathered = np.empty(n_ch, dtype=np.float64)
    for j in range(n_ch):
        c = ch_list[j]
        for dec in range(2):
            option_energy[dec, j] = head_energy(dec, members[c], d_sink[c], params)
            ready, upload, bits = head_job(dec, members[c], params)
            option_ready[dec, j] = ready
            option_upload[dec, j] = upload
            gathered[j] = bits
    ch_kind = np.empty(n_ch, dtype=np.uint8)
    ch_ready = np.empty(n_ch, dtype=np.float64)
    ch_upload = np.empty(n_ch, dtype=np.float64)
    jobs = np.empty((3, n_direct + n_ch), dtype=np.float64)
    w = params[P_TIME_WEIGHT]
    if n_ch == 0:
        return w * _shared_latency_jit(direct_nodes, n_direct, ch_list, 0, ch_kind, ch_ready, ch_upload, gathered,
                                       params, jobs[0], jobs[1], jobs[2])
    # incumbent: the greedy decisions (each head its own best, alone on the medium), scored as a leaf
    best_combo = 0
    energy = 0.0
    for j in range(n_ch):
        k = members[ch_list[j]]
        edge = option_energy[EDGE, j] + w * head_latency(EDGE, k, 1, params)
        dec = EDGE if edge < option_energy[LOCAL, j] + w * head_latency(LOCAL, k, 0, params) else LOCAL
        best_combo |= dec << (n_ch - 1 - j)
        energy += option_energy[dec, j]
        ch_kind[j] = JOB_OFFLOAD if dec == EDGE else JOB_UPLOAD
        ch_ready[j] = option_ready[dec, j]
        ch_upload[j] = option_upload[dec, j]
    best = energy + w * _shared_latency_jit(direct_nodes, n_direct, ch_list, n_ch, ch_kind, ch_ready, ch_upload,
                                            gathered, params, jobs[0], jobs[1], jobs[2])
    # branching order: the heads whose two options differ most in energy first, each cheaper option first
    gap = np.empty(n_ch, dtype=np.float64)
    for j in range(n_ch):
        gap[j] = -abs(option_energy[EDGE, j] - option_energy[LOCAL, j])
    seq = np.argsort(gap, kind="mergesort")
    first = np.empty(n_ch, dtype=np.int64)
    # suffix bounds over the depths t.. of what the undecided heads add at least: energy, channel time, and
    # the completion of their own job on an idle medium and edge
    rest_energy = np.zeros(n_ch + 1, dtype=np.float64)
    rest_upload = np.zeros(n_ch + 1, dtype=np.float64)
    rest_alone = np.zeros(n_ch + 1, dtype=np.float64)
    for t in range(n_ch - 1, -1, -1):
        j = seq[t]
        first[t] = EDGE if option_energy[EDGE, j] < option_energy[LOCAL, j] else LOCAL
        rest_energy[t] = rest_energy[t + 1] + min(option_energy[LOCAL, j], option_energy[EDGE, j])
        rest_upload[t] = rest_upload[t + 1] + min(option_upload[LOCAL, j], option_upload[EDGE, j])
        alone = min(option_ready[LOCAL, j] + option_upload[LOCAL, j],
                    option_ready[EDGE, j] + option_upload[EDGE, j]
                    + gathered[j] * params[P_EDGE_CYCLES_PER_BIT] / params[P_EDGE_HZ])
        rest_alone[t] = max(rest_alone[t + 1], alone)
    channels = params[P_SINK_CHANNELS]
    direct_upload = n_direct * (params[P_BITS] / params[P_RATE])
    # depth-first; undecided heads send nothing
    for j in range(n_ch):
        ch_kind[j] = JOB_NONE
    choice = np.full(n_ch, -1, dtype=np.int64)  # per depth: -1 untried, 0 the first option, 1 the other
    spent = np.zeros(n_ch + 1, dtype=np.float64)  # energy of the decided heads
    uploads = np.zeros(n_ch + 1, dtype=np.float64)  # channel time of the decided heads [s]
    option_of = np.zeros(n_ch, dtype=np.int64)  # each head's option in the current branch
    t = 0
    while t >= 0:
        choice[t] += 1
        j = seq[t]
        if choice[t] > 1:
            choice[t] = -1
            ch_kind[j] = JOB_NONE
            t -= 1
            continue
        dec = first[t] if choice[t] == 0 else 1 - first[t]
        option_of[j] = dec
        ch_kind[j] = JOB_OFFLOAD if dec == EDGE else JOB_UPLOAD
        ch_ready[j] = option_ready[dec, j]
        ch_upload[j] = option_upload[dec, j]
        spent[t + 1] = spent[t] + option_energy[dec, j]
        uploads[t + 1] = uploads[t] + option_upload[dec, j]
        latency = _shared_latency_jit(direct_nodes, n_direct, ch_list, n_ch, ch_kind, ch_ready, ch_upload, gathered,
                                      params, jobs[0], jobs[1], jobs[2])
        if t + 1 == n_ch:  # a leaf: the value of a whole combination, energy summed in head order
            energy = 0.0
            combo = 0
            for h in range(n_ch):
                energy += option_energy[option_of[h], h]
                combo |= option_of[h] << (n_ch - 1 - h)
            value = energy + w * latency
            if value < best or (value == best and combo < best_combo):
                best = value
                best_combo = combo
            continue
        # the undecided heads only add jobs (no job of the schedule ends earlier), channel time and energy
        bound = max(latency, rest_alone[t + 1], (direct_upload + uploads[t + 1] + rest_upload[t + 1]) / channels)
        if spent[t + 1] + rest_energy[t + 1] + w * bound > best * (1.0 + BOUND_SLACK):
            continue
        t += 1
    for j in range(n_ch):
        decision[ch_list[j]] = EDGE if (best_combo >> (n_ch - 1 - j)) & 1 else LOCAL
    return best


@njit(cache=True, nogil=True)
def decide_offload_jit(rule, alive, is_ch, ch_list, n_ch, target, d_sink, params, members, decision, fs, order):
    """Built-in offloading decisions of this round's CHs (compiled); writes ``decision[c]`` for each CH.

    Rules (``members`` = planned cluster sizes from the receivers):

    - ``local`` (0) / ``edge`` (1): every CH processes locally / offloads.
    - ``greedy`` (2): each CH alone picks the option with the smaller ``E + w_T T`` assuming the edge
      server to itself (m = 1).
    - ``exact`` (3): the decisions minimising the round's system utility ``sum E + w_T max T`` (with the
      direct senders' l / R as a floor of the latency) over all 2^n combinations, found exactly in
      O(n^3): for each number m of offloading CHs and each candidate latency level L (the floor, a T_local
      or a T_edge(m)), CHs whose only option within L is the edge offload, CHs with both options take the
      edge in increasing order of their energy difference until m offload; the best (m, L) wins. Above
      :data:`EXACT_MAX_HEADS` CHs it falls back to ``greedy``. Under the shared medium (Notes, 6) the
      latency couples every CH through the sink's channels, and the rule finds the best of the 2^n
      combinations by branch and bound over their schedules (:func:`_exact_heads_shared`, with the
      direct senders' packets); above
      :data:`EXACT_SHARED_MAX_HEADS` CHs it falls back to ``greedy``.

    ``greedy`` under the shared medium keeps its per-CH rule: a CH's ``T`` is its completion with the sink
    and the edge server to itself (:func:`head_latency` with m = 1), not its place in the round's schedule.

    Returns 1 when ``exact`` fell back to ``greedy``, else 0.
    """
    sink_senders = count_members(alive, is_ch, target, members)
    if rule == RULE_LOCAL or rule == RULE_EDGE:
        for j in range(n_ch):
            decision[ch_list[j]] = LOCAL if rule == RULE_LOCAL else EDGE
        return 0
    fell_back = 0
    if rule == RULE_EXACT and params[P_MEDIUM] == MEDIUM_SHARED:
        if n_ch <= EXACT_SHARED_MAX_HEADS:
            _exact_heads_shared(alive, is_ch, target, ch_list, n_ch, members, d_sink, params, decision)
            return 0
    elif rule == RULE_EXACT and n_ch <= EXACT_MAX_HEADS:
        floor = params[P_BITS] / params[P_RATE] if sink_senders > 0 else 0.0
        _exact_heads(ch_list, n_ch, members, d_sink, floor, params, decision, fs, order)
        return 0
    if rule == RULE_EXACT:
        fell_back = 1
    w = params[P_TIME_WEIGHT]
    for j in range(n_ch):
        c = ch_list[j]
        k = members[c]
        local = head_energy(LOCAL, k, d_sink[c], params) + w * head_latency(LOCAL, k, 0, params)
        edge = head_energy(EDGE, k, d_sink[c], params) + w * head_latency(EDGE, k, 1, params)
        decision[c] = EDGE if edge < local else LOCAL
    return fell_back


# --- charging ----------------------------------------------------------------------------------------------

#: Entries of the result vector of :func:`charge_round_jit` (``RES_KEPT``: 1 when the round kept the previous
#: round's clusters and paid no set-up messages, Notes *Kept clusters*) and of the round steps that decide
#: the offloading (``RES_FALLBACK``: 1 when ``--offload exact`` decided the round as ``greedy``, above its
#: head limit, :func:`decide_offload_jit`).
(RES_CONSUMED, RES_TO_SINK, RES_TO_CH, RES_LATENCY, RES_DELIVERED, RES_OFFLOADED, RES_CONTROL, RES_KEPT,
 RES_FALLBACK) = range(9)
N_RESULTS = 9


@njit(cache=True, nogil=True)
def clusters_kept_jit(alive, target, previous):
    """Whether this round keeps the previous round's clusters (Notes, *Kept clusters*): every previous CH
    (``previous[c] == c``) is CH again (``target[c] == c``) and every alive node has its previous receiver.
    ``target``: this round's receivers; ``previous``: the previous round's (an array of another length,
    e.g. empty: no previous round, never kept)."""
    n = target.shape[0]
    if previous.shape[0] != n:
        return False
    for i in range(n):
        if previous[i] == i and target[i] != i:
            return False
        if alive[i] != 0 and target[i] != previous[i]:
            return False
    return True


@njit(cache=True, nogil=True)
def remember_clusters_jit(target, previous):
    """Store this round's receivers as the previous round's of the next one (``previous`` of another length
    than ``target``: nothing to remember)."""
    if previous.shape[0] == target.shape[0]:
        for i in range(target.shape[0]):
            previous[i] = target[i]


@njit(cache=True, nogil=True)
def _charge(energy, drawn, i, cost, clean):
    """Charge ``cost`` [J] to node i: clean caps at what it holds; returns whether it could pay in full."""
    if not clean:
        energy[i] -= cost
        drawn[i] += cost
        return True
    if energy[i] >= cost:
        energy[i] -= cost
        drawn[i] += cost
        return True
    drawn[i] += energy[i]
    energy[i] = 0.0
    return False


@njit(cache=True, nogil=True)
def charge_round_jit(d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision, extra_control,
                     params, drawn, received, result, kept=False):
    """Charge one round's energy for given receivers and decisions (compiled, in place); Notes 3-6.

    ``extra_control`` (float64[N], or an empty array) is added to each alive node's control energy [J].
    ``kept``: the round keeps the previous round's clusters (:func:`clusters_kept_jit`), so the set-up
    messages of the control pattern are not charged (Notes, *Kept clusters*).
    Writes ``result`` (:data:`N_RESULTS` entries: consumed [J], packets to the sink, packets to CHs, latency
    [s], delivered bits, offloading CHs, control energy [J], kept) and marks nodes with energy <= 0 dead.
    """
    n = d_sink.shape[0]
    bits = params[P_BITS]
    e_elec = params[R_E_ELEC]
    eps_fs = params[R_EPS_FS]
    eps_mp = params[R_EPS_MP]
    d0 = params[R_D0]
    e_da = params[R_E_DA]
    rate = params[P_RATE]
    clean = params[P_SEMANTICS] == CLEAN
    for i in range(n):
        drawn[i] = 0.0
        received[i] = 0
    to_sink = 0
    to_ch = 0
    delivered = 0.0
    latency = 0.0
    control_total = 0.0
    idle = params[P_IDLE_WITHOUT_CH] != 0.0 and n_ch == 0
    # --- set-up: fixed consumption and control messages
    idle_j = params[P_IDLE_J]
    control_bits = params[P_CONTROL_BITS]
    kind = int(params[P_CONTROL_KIND])
    has_extra = extra_control.shape[0] == n
    if idle_j > 0.0 or control_bits > 0.0 or has_extra:
        controlled = control_bits > 0.0 and kind != CONTROL_NONE and not kept
        far = np.zeros(n if controlled else 0, dtype=np.float64)
        if controlled:
            # each CH's join requests (in ``received``, reset below) and farthest member [m]
            for i in range(n):
                t = target[i]
                if alive[i] != 0 and is_ch[i] == 0 and t >= 0:
                    received[t] += 1
                    if distance[i] > far[t]:
                        far[t] = distance[i]
        rx = control_bits * e_elec
        for i in range(n):
            if alive[i] == 0:
                continue
            ctrl = 0.0
            if controlled:
                t = target[i]
                if kind == CONTROL_DISTRIBUTED:
                    if is_ch[i] != 0:
                        ctrl += tx_energy_jit(control_bits, params[P_DIAMETER], e_elec, eps_fs, eps_mp, d0)
                        ctrl += received[i] * rx
                        ctrl += tx_energy_jit(control_bits, far[i], e_elec, eps_fs, eps_mp, d0)
                    else:
                        ctrl += n_ch * rx
                        if t >= 0:
                            ctrl += tx_energy_jit(control_bits, distance[i], e_elec, eps_fs, eps_mp, d0) + rx
                else:
                    ctrl += tx_energy_jit(control_bits, d_sink[i], e_elec, eps_fs, eps_mp, d0) + rx
                    if is_ch[i] != 0:
                        ctrl += tx_energy_jit(control_bits, far[i], e_elec, eps_fs, eps_mp, d0)
                    elif t >= 0:
                        ctrl += rx
            if has_extra:
                ctrl += extra_control[i]
            cost = idle_j + ctrl
            if cost > 0.0:
                before = drawn[i]
                _charge(energy, drawn, i, cost, clean)
                paid = drawn[i] - before
                control_total += ctrl if paid >= cost else max(0.0, paid - idle_j)
        for i in range(n):
            received[i] = 0
    # --- data
    offloading = 0
    for k in range(n_ch):
        if decision[ch_list[k]] == EDGE:
            offloading += 1
    # shared medium: the sink jobs of the transmissions that take place (Notes, 6)
    shared = params[P_MEDIUM] == MEDIUM_SHARED
    n_senders = 0
    if shared:
        for i in range(n):
            if alive[i] != 0 and is_ch[i] == 0 and target[i] == TO_SINK:
                n_senders += 1
    direct_nodes = np.empty(n_senders, dtype=np.int64)
    n_direct = 0
    n_jobs = n_ch if shared else 0
    ch_kind = np.zeros(n_jobs, dtype=np.uint8)
    ch_ready = np.empty(n_jobs, dtype=np.float64)
    ch_upload = np.empty(n_jobs, dtype=np.float64)
    ch_gathered = np.empty(n_jobs, dtype=np.float64)
    if not clean:
        for k in range(n_ch):
            c = ch_list[k]
            cost = (e_elec + e_da) * bits + amplifier_energy_jit(bits, d_sink[c], eps_fs, eps_mp, d0)
            energy[c] -= cost
            drawn[c] += cost
            to_sink += 1
        if not idle:
            receive_cost = (e_elec + e_da) * bits
            for i in range(n):
                if alive[i] == 0 or is_ch[i] != 0:
                    continue
                d = distance[i]
                cost = tx_energy_jit(bits, d, e_elec, eps_fs, eps_mp, d0)
                energy[i] -= cost
                drawn[i] += cost
                t = target[i]
                if t >= 0:
                    to_ch += 1
                    received[t] += 1
                else:
                    to_sink += 1
                    delivered += bits
                    latency = max(latency, bits / rate)
                    if shared:
                        direct_nodes[n_direct] = i
                        n_direct += 1
                if n_ch > 0 and d > 0.0:
                    payer = t if t >= 0 else ch_list[0]
                    energy[payer] -= receive_cost
                    drawn[payer] += receive_cost
        for k in range(n_ch):
            c = ch_list[k]
            delivered += (received[c] + 1) * bits
            latency = max(latency, head_latency(LOCAL, received[c], offloading, params))
            if shared:
                ch_kind[k] = JOB_UPLOAD
                ch_ready[k], ch_upload[k], ch_gathered[k] = head_job(LOCAL, received[c], params)
    else:
        if not idle:
            for i in range(n):
                if alive[i] == 0 or is_ch[i] != 0:
                    continue
                cost = tx_energy_jit(bits, distance[i], e_elec, eps_fs, eps_mp, d0)
                t = target[i]
                if t < 0:
                    latency = max(latency, bits / rate)
                if energy[i] >= cost:
                    energy[i] -= cost
                    drawn[i] += cost
                    if t >= 0:
                        received[t] += 1
                        to_ch += 1
                    else:
                        to_sink += 1
                        delivered += bits
                        if shared:
                            direct_nodes[n_direct] = i
                            n_direct += 1
                else:
                    drawn[i] += energy[i]
                    energy[i] = 0.0
        for k in range(n_ch):
            c = ch_list[k]
            got = received[c]
            dec = decision[c]
            demand = head_energy(dec, got, d_sink[c], params)
            latency = max(latency, head_latency(dec, got, offloading, params))
            if energy[c] >= demand:
                energy[c] -= demand
                drawn[c] += demand
                to_sink += 1
                delivered += (got + 1) * bits
                if shared:
                    ch_kind[k] = JOB_OFFLOAD if dec == EDGE else JOB_UPLOAD
                    ch_ready[k], ch_upload[k], ch_gathered[k] = head_job(dec, got, params)
            else:
                drawn[c] += energy[c]
                energy[c] = 0.0
    if shared:
        jobs = np.empty((3, n_direct + n_ch), dtype=np.float64)
        latency = _shared_latency_jit(direct_nodes, n_direct, ch_list, n_ch, ch_kind, ch_ready, ch_upload,
                                      ch_gathered, params, jobs[0], jobs[1], jobs[2])
    consumed = 0.0
    for i in range(n):
        consumed += drawn[i]
        if alive[i] != 0 and energy[i] <= 0.0:
            alive[i] = 0
    result[RES_CONSUMED] = consumed
    result[RES_TO_SINK] = to_sink
    result[RES_TO_CH] = to_ch
    result[RES_LATENCY] = latency
    result[RES_DELIVERED] = delivered
    result[RES_OFFLOADED] = offloading
    result[RES_CONTROL] = control_total
    result[RES_KEPT] = 1.0 if kept else 0.0
    return consumed


@njit(cache=True, nogil=True)
def heads_from_mask(mask, alive, is_ch, ch_list):
    """``is_ch`` and ``ch_list`` (increasing indices) of the alive nodes marked in ``mask``; returns their
    number (dead nodes in the mask are ignored)."""
    n_ch = 0
    for i in range(mask.shape[0]):
        if mask[i] != 0 and alive[i] != 0:
            is_ch[i] = 1
            ch_list[n_ch] = i
            n_ch += 1
        else:
            is_ch[i] = 0
    return n_ch


@njit(cache=True, nogil=True)
def decide_and_charge_jit(rule, d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision,
                          extra_control, params, drawn, received, members, fgrid, igrid, result, previous):
    """A round's step after its receivers (``target``, ``distance``) are set, shared by the round loops:
    the built-in offloading decisions (``rule`` >= 0; ``rule`` < 0 keeps ``decision`` as given), with
    ``result[RES_FALLBACK]`` = 1 when ``exact`` decided the round as ``greedy`` (:func:`decide_offload_jit`),
    then the charges (set-up only when the clusters differ from ``previous``, :func:`clusters_kept_jit`).
    Returns the energy consumed [J]."""
    fell_back = 0
    if rule >= 0:
        fell_back = decide_offload_jit(rule, alive, is_ch, ch_list, n_ch, target, d_sink, params, members,
                                       decision, fgrid[6:10], igrid[6])
    kept = clusters_kept_jit(alive, target, previous)
    consumed = charge_round_jit(d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision,
                                extra_control, params, drawn, received, result, kept)
    result[RES_FALLBACK] = float(fell_back)
    return consumed


@njit(cache=True, nogil=True)
def account_round_jit(x, y, d_sink, energy, alive, is_ch, ch_list, n_ch, decision, rule, extra_control, params,
                      bbox, target, distance, drawn, received, members, fgrid, igrid, result, previous):
    """Receivers, built-in decisions (``rule`` >= 0; ``rule`` < 0 keeps ``decision`` as given) and charges
    of one round (compiled, in place). ``previous``: the previous round's receivers (int64[N]; empty: no
    previous round), which decide whether the round keeps its clusters (Notes, *Kept clusters*); not
    updated here (the round loops call :func:`remember_clusters_jit`). Returns the energy consumed [J]."""
    assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance, fgrid, igrid,
                         params[P_JOIN_CLUSTER] != 0.0)
    return decide_and_charge_jit(rule, d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision,
                                 extra_control, params, drawn, received, members, fgrid, igrid, result, previous)


@njit(cache=True, nogil=True)
def score_candidates_jit(masks, decisions, rule, x, y, d_sink, energy, alive, extra_control, params, bbox,
                         is_ch, ch_list, target, distance, drawn, received, members, fgrid, igrid, result,
                         scratch_energy, scratch_alive, out_energy, out_latency, out_utility, out_delivered,
                         out_drawn, previous):
    """Dry-run K candidates (compiled): each row of ``masks`` (uint8[K, N], CHs) with the decisions of the
    same row of ``decisions`` (uint8[K, N]; used when ``rule`` < 0, else the built-in rule decides) is
    accounted on copies of ``energy`` and ``alive``; the state is not changed. ``previous``: the live loop's
    previous-round receivers (a candidate that keeps those clusters pays no set-up, Notes *Kept clusters*),
    or an empty int64 array (every candidate pays its set-up).

    Writes per candidate the energy drawn [J], the latency [s], the system utility [J], the delivered bits
    and the per-node draw [J] (``out_drawn``, float64[K, N], or an empty (0, 0) array to skip it).
    """
    n_cand = masks.shape[0]
    n = x.shape[0]
    keep_drawn = out_drawn.shape[0] == n_cand and n_cand > 0
    w = params[P_TIME_WEIGHT]
    for k in range(n_cand):
        for i in range(n):
            scratch_energy[i] = energy[i]
            scratch_alive[i] = alive[i]
        n_ch = heads_from_mask(masks[k], alive, is_ch, ch_list)
        dec = decisions[k]
        consumed = account_round_jit(x, y, d_sink, scratch_energy, scratch_alive, is_ch, ch_list, n_ch, dec,
                                     rule, extra_control, params, bbox, target, distance, drawn, received,
                                     members, fgrid, igrid, result, previous)
        out_energy[k] = consumed
        out_latency[k] = result[RES_LATENCY]
        out_utility[k] = consumed + w * result[RES_LATENCY]
        out_delivered[k] = result[RES_DELIVERED]
        if keep_drawn:
            for i in range(n):
                out_drawn[k, i] = drawn[i]


# --- public wrapper -----------------------------------------------------------------------------------


@dataclass
class RoundAccount:
    """Result of :func:`account_round`.

    Attributes
    ----------
    drawn : float64[N]
        Energy drawn from each node this round [J].
    target : int64[N]
        Receiver of each node: a CH index (a CH's own index for itself), -1 the sink, -2 not sending.
    distance : float64[N]
        Distance to the receiver [m] (a CH: to the sink).
    consumed : float
        Total energy drawn [J].
    packets_to_sink, packets_to_ch : int
        Packets delivered to the sink (direct and fused) and to CHs.
    latency_s : float
        The round's latency [s].
    delivered_bits : float
        Sensed bits that reached the sink [bit].
    decision : uint8[N]
        Each CH's offloading decision (1 edge).
    system_utility : float
        ``consumed + w_T latency_s`` [J].
    clusters_kept : bool
        Whether the round kept the previous round's clusters and paid no set-up messages (module Notes,
        *Kept clusters*; only with ``previous_receivers``).
    """

    drawn: np.ndarray
    target: np.ndarray
    distance: np.ndarray
    consumed: float
    packets_to_sink: int
    packets_to_ch: int
    latency_s: float = 0.0
    delivered_bits: float = 0.0
    decision: np.ndarray | None = None
    system_utility: float = 0.0
    clusters_kept: bool = False

    def cluster_sizes(self) -> np.ndarray:
        """Nodes per CH including the CH itself (index = node; 0 for non-CH nodes)."""
        sending = self.target[self.target >= 0]
        return np.bincount(sending, minlength=self.target.shape[0])


def account_round(x, y, energy, alive, ch_mask, sink, radio, packet_bits: int, semantics: str = "clean", *,
                  idle_without_ch: bool | None = None, offload="local", workload: str = "fusion",
                  hardware: str = "msp430f1611", time_weight: float = 0.01, join: str = "nearest",
                  control_bits: float = 0.0, control: str = "none", idle_j: float = 0.0, medium: str = "ideal",
                  sink_channels: int = 1, previous_receivers=None) -> RoundAccount:
    """Account the radio energy of one round for a cluster-head mask chosen outside (e.g. by a policy).

    The same compiled function as the built-in protocols' loop (:func:`account_round_jit`).

    Parameters
    ----------
    x, y : array_like of float
        Node positions [m].
    energy : float64 ndarray
        Stored energy [J]; charged in place.
    alive : bool or uint8 ndarray
        Alive flags at the start of the round; updated in place (nodes with energy <= 0 die).
    ch_mask : array_like of bool
        This round's cluster heads (alive nodes only).
    sink : (float, float)
        Sink position [m].
    radio : RadioModel
        Radio constants.
    packet_bits : int
        Packet length l [bit].
    semantics : {"clean", "matlab"}
        Accounting rules (module Notes).
    idle_without_ch : bool, optional
        Whether non-CH nodes stay silent when there is no CH; default True under ``matlab`` (the rule of
        the MATLAB code), False under ``clean``.
    offload : str or array_like of int
        A built-in rule (:data:`OFFLOAD_RULES`) or each node's decision as CH (1 edge).
    workload, hardware : str
        Presets of :mod:`wsnmec.energy.workload`.
    time_weight : float
        w_T [J/s].
    join : {"nearest", "cluster"}
    control_bits : float
        B [bit]; ``control`` is the pattern (:data:`CONTROL_KINDS`).
    idle_j : float
        Fixed consumption per alive node [J].
    medium : {"ideal", "shared"}
        How sink-bound transmissions share the sink's radio (module Notes, 6).
    sink_channels : int
        Channels at the sink under the shared medium, >= 1.
    previous_receivers : array_like of int, optional
        The previous round's receivers (:attr:`RoundAccount.target` of that round): when this round keeps
        those clusters, no set-up message is charged (module Notes, *Kept clusters*). Default: no previous
        round (set-up charged).
    """
    from ..energy.workload import hardware_preset, workload_preset
    from ..errors import check_choice, check_int

    semantics_codes = {"clean": CLEAN, "matlab": MATLAB}
    if semantics not in semantics_codes:
        raise ParameterError("semantics", f"must be one of {', '.join(semantics_codes)}; got {semantics!r}")
    x = _as_float_array("x", x)
    n = x.shape[0]
    y = _as_float_array("y", y, n)
    _finite_positions(x, y)
    energy = _as_float_array("energy", energy, n, writable=True)
    alive_u8 = _alive_view(alive, n)
    is_ch, ch_list, n_ch = _ch_arrays(ch_mask, alive_u8, n)
    if idle_without_ch is None:
        idle_without_ch = semantics == "matlab"
    medium = check_choice("medium", medium, tuple(MEDIUMS))
    sink_channels = check_int("sink_channels", sink_channels, 1, MAX_SINK_CHANNELS)
    work = Workspace(n)
    d_sink = sink_distances(x, y, float(sink[0]), float(sink[1]))
    bbox = bounding_box(x, y)
    params = round_parameters(radio, packet_bits, workload_preset(workload), hardware_preset(hardware),
                              time_weight=time_weight, control_bits=control_bits, idle_j=idle_j,
                              semantics=semantics_codes[semantics], idle_without_ch=bool(idle_without_ch),
                              join_cluster=join == "cluster", control_kind=CONTROL_KINDS[control],
                              diameter=math.hypot(bbox[2], bbox[3]), medium=MEDIUMS[medium],
                              sink_channels=sink_channels)
    if isinstance(offload, str):
        if offload not in OFFLOAD_RULES:
            raise ParameterError("offload", f"must be one of {', '.join(OFFLOAD_RULES)}; got {offload!r}")
        rule = OFFLOAD_RULES[offload]
    else:
        rule = -1
        work.decision[:] = np.asarray(offload, dtype=np.uint8)
    previous = np.zeros(0, dtype=np.int64)
    if previous_receivers is not None:
        previous = np.array(previous_receivers, dtype=np.int64, copy=True)
        if previous.shape != (n,):
            raise ParameterError("previous_receivers", f"must hold one receiver per node ({n}), got shape "
                                                       f"{previous.shape}")
    consumed = account_round_jit(x, y, d_sink, energy, alive_u8, is_ch, ch_list, n_ch, work.decision, rule,
                                 np.zeros(0), params, bbox, work.target, work.distance, work.drawn,
                                 work.received, work.members, work.fgrid, work.igrid, work.result, previous)
    res = work.result
    return RoundAccount(drawn=work.drawn, target=work.target, distance=work.distance, consumed=float(consumed),
                        packets_to_sink=int(res[RES_TO_SINK]), packets_to_ch=int(res[RES_TO_CH]),
                        latency_s=float(res[RES_LATENCY]), delivered_bits=float(res[RES_DELIVERED]),
                        decision=work.decision.copy(), system_utility=float(consumed + time_weight * res[RES_LATENCY]),
                        clusters_kept=bool(res[RES_KEPT]))
