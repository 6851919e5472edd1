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
6. *latency* [s]: the completion time of the slowest transmitter (a node sending to the sink: l / R; a CH:
   the workload module's T_local or T_edge with the actual k and the number m of offloading CHs); 0 when
   nobody transmits.
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

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..energy.radio import amplifier_energy_jit, tx_energy_jit
from ..errors import ParameterError
from .nearest import (
    TO_SINK,
    _alive_view,
    _as_float_array,
    _ch_arrays,
    _finite_positions,
    assign_receivers_jit,
    bounding_box,
    sink_distances,
)

# --- packed round parameters (float64 vector; built by :func:`round_parameters`) -------------------------
R_E_ELEC, R_EPS_FS, R_EPS_MP, R_D0, R_E_DA = 0, 1, 2, 3, 4
P_BITS = 5  # packet length l [bit]
P_RESULT_BITS = 6  # local result size r [bit]
P_PROC_J_PER_BIT = 7  # local processing energy per input bit [J/bit]
P_CYCLES_PER_BIT = 8  # [cycles/bit] on the node
P_MCU_HZ = 9  # [Hz]
P_RATE = 10  # radio data rate [bit/s]
P_EDGE_HZ = 11  # edge clock per core [Hz]
P_EDGE_CORES = 12
P_EDGE_CYCLES_PER_BIT = 13  # [cycles/bit] at the edge
P_TIME_WEIGHT = 14  # w_T [J/s]
P_CONTROL_BITS = 15  # B [bit]
P_IDLE_J = 16  # [J] per alive node and round
P_SEMANTICS = 17  # 0 clean, 1 matlab
P_IDLE_WITHOUT_CH = 18  # matlab rule: non-CH nodes silent in a round without CH
P_JOIN_CLUSTER = 19  # 1: members join their nearest CH even when the sink is nearer
P_CONTROL_KIND = 20  # CONTROL_* code
P_DIAMETER = 21  # network diameter [m] (advertisement range)
N_PARAMS = 22

CLEAN = 0
MATLAB = 1

CONTROL_NONE = 0
CONTROL_DISTRIBUTED = 1
CONTROL_CENTRALIZED = 2
CONTROL_KINDS = {"none": CONTROL_NONE, "distributed": CONTROL_DISTRIBUTED, "centralized": CONTROL_CENTRALIZED}

LOCAL = 0
EDGE = 1

#: Built-in offloading rules of the cluster heads (see :func:`decide_offload_jit`).
OFFLOAD_RULES: dict[str, int] = {"local": 0, "edge": 1, "greedy": 2, "exact": 3}
RULE_LOCAL, RULE_EDGE, RULE_GREEDY, RULE_EXACT = 0, 1, 2, 3

#: Largest number of cluster heads the ``exact`` rule optimises jointly (O(n^3) per round); above it the
#: round falls back to ``greedy`` and the number of such rounds is reported.
EXACT_MAX_HEADS = 256


def round_parameters(radio, packet_bits, workload, hardware, *, time_weight, control_bits=0.0, idle_j=0.0,
                     semantics=CLEAN, idle_without_ch=False, join_cluster=False, control_kind=CONTROL_NONE,
                     diameter=0.0) -> np.ndarray:
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
      :data:`EXACT_MAX_HEADS` CHs it falls back to ``greedy``.

    Returns 1 when ``exact`` fell back to ``greedy``, else 0.
    """
    sink_senders = count_members(alive, is_ch, target, members)
    if rule == RULE_LOCAL or rule == RULE_EDGE:
        for j in range(n_ch):
            decision[ch_list[j]] = LOCAL if rule == RULE_LOCAL else EDGE
        return 0
    fell_back = 0
    if rule == RULE_EXACT and n_ch <= EXACT_MAX_HEADS:
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

#: Entries of the result vector of :func:`charge_round_jit`.
RES_CONSUMED, RES_TO_SINK, RES_TO_CH, RES_LATENCY, RES_DELIVERED, RES_OFFLOADED, RES_CONTROL = range(7)
N_RESULTS = 7


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
                     params, drawn, received, result):
    """Charge one round's energy for given receivers and decisions (compiled, in place); Notes 3-6.

    ``extra_control`` (float64[N], or an empty array) is added to each alive node's control energy [J].
    Writes ``result`` (:data:`N_RESULTS` entries: consumed [J], packets to the sink, packets to CHs, latency
    [s], delivered bits, offloading CHs, control energy [J]) and marks nodes with energy <= 0 dead.
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
        controlled = control_bits > 0.0 and kind != CONTROL_NONE
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
                if n_ch > 0 and d > 0.0:
                    payer = t if t >= 0 else ch_list[0]
                    energy[payer] -= receive_cost
                    drawn[payer] += receive_cost
        for k in range(n_ch):
            c = ch_list[k]
            delivered += (received[c] + 1) * bits
            latency = max(latency, head_latency(LOCAL, received[c], offloading, params))
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
            else:
                drawn[c] += energy[c]
                energy[c] = 0.0
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
def account_round_jit(x, y, d_sink, energy, alive, is_ch, ch_list, n_ch, decision, rule, extra_control, params,
                      bbox, target, distance, drawn, received, members, fgrid, igrid, result):
    """Receivers, built-in decisions (``rule`` >= 0; ``rule`` < 0 keeps ``decision`` as given) and charges
    of one round (compiled, in place). Returns the energy consumed [J]."""
    assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance, fgrid, igrid,
                         params[P_JOIN_CLUSTER] != 0.0)
    if rule >= 0:
        decide_offload_jit(rule, alive, is_ch, ch_list, n_ch, target, d_sink, params, members, decision,
                           fgrid[6:10], igrid[6])
    return charge_round_jit(d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision,
                            extra_control, params, drawn, received, result)


@njit(cache=True, nogil=True)
def score_candidates_jit(masks, decisions, rule, x, y, d_sink, energy, alive, extra_control, params, bbox,
                         is_ch, ch_list, target, distance, drawn, received, members, fgrid, igrid, result,
                         scratch_energy, scratch_alive, out_energy, out_latency, out_utility, out_delivered,
                         out_drawn):
    """Dry-run K candidates (compiled): each row of ``masks`` (uint8[K, N], CHs) with the decisions of the
    same row of ``decisions`` (uint8[K, N]; used when ``rule`` < 0, else the built-in rule decides) is
    accounted on copies of ``energy`` and ``alive``; the state is not changed.

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
                                     members, fgrid, igrid, result)
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

    def cluster_sizes(self) -> np.ndarray:
        """Nodes per CH including the CH itself (index = node; 0 for non-CH nodes)."""
        sending = self.target[self.target >= 0]
        return np.bincount(sending, minlength=self.target.shape[0])


def account_round(x, y, energy, alive, ch_mask, sink, radio, packet_bits: int, semantics: str = "clean", *,
                  idle_without_ch: bool | None = None, offload="local", workload: str = "fusion",
                  hardware: str = "msp430f1611", time_weight: float = 0.01, join: str = "nearest",
                  control_bits: float = 0.0, control: str = "none", idle_j: float = 0.0) -> RoundAccount:
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
    """
    from ..energy.workload import hardware_preset, workload_preset

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
    work = Workspace(n)
    d_sink = sink_distances(x, y, float(sink[0]), float(sink[1]))
    bbox = bounding_box(x, y)
    params = round_parameters(radio, packet_bits, workload_preset(workload), hardware_preset(hardware),
                              time_weight=time_weight, control_bits=control_bits, idle_j=idle_j,
                              semantics=semantics_codes[semantics], idle_without_ch=bool(idle_without_ch),
                              join_cluster=join == "cluster", control_kind=CONTROL_KINDS[control],
                              diameter=math.hypot(bbox[2], bbox[3]))
    if isinstance(offload, str):
        if offload not in OFFLOAD_RULES:
            raise ParameterError("offload", f"must be one of {', '.join(OFFLOAD_RULES)}; got {offload!r}")
        rule = OFFLOAD_RULES[offload]
    else:
        rule = -1
        work.decision[:] = np.asarray(offload, dtype=np.uint8)
    consumed = account_round_jit(x, y, d_sink, energy, alive_u8, is_ch, ch_list, n_ch, work.decision, rule,
                                 np.zeros(0), params, bbox, work.target, work.distance, work.drawn,
                                 work.received, work.members, work.fgrid, work.igrid, work.result)
    res = work.result
    return RoundAccount(drawn=work.drawn, target=work.target, distance=work.distance, consumed=float(consumed),
                        packets_to_sink=int(res[RES_TO_SINK]), packets_to_ch=int(res[RES_TO_CH]),
                        latency_s=float(res[RES_LATENCY]), delivered_bits=float(res[RES_DELIVERED]),
                        decision=work.decision.copy(), system_utility=float(consumed + time_weight * res[RES_LATENCY]))
