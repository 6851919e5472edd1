"""Slow, readable pure-Python reference of the round loop (see wsnmec/kernel.py for the rules).

Written from the rules in the module docstrings of wsnmec.sim.kernel, wsnmec.energy.harvest and
wsnmec.clustering, independently of the compiled code: plain lists and floats, brute-force nearest cluster
head. Given the same deployment and the same Generator (already advanced past the deployment draws), it must
draw the same random numbers in the same order and compute the same float64 values operation by
operation, so that tests can require exact agreement with the kernel.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from naive_medium import shared_latency
from wsnmec.clustering.leach import epoch_length
from wsnmec.sim.accounting import EXACT_MAX_HEADS, EXACT_SHARED_MAX_HEADS
from wsnmec.sim.deployment import deploy
from wsnmec.sim.metrics import lifetime_rounds


def tx_energy(bits, d, radio):
    """E_tx(l, d) [J], same operation order as the compiled version."""
    if d <= radio.d0:
        return bits * radio.e_elec + bits * radio.eps_fs * d * d
    d2 = d * d
    return bits * radio.e_elec + bits * radio.eps_mp * d2 * d2


def amplifier_energy(bits, d, radio):
    if d <= radio.d0:
        return bits * radio.eps_fs * d * d
    d2 = d * d
    return bits * radio.eps_mp * d2 * d2


def distance(x1, y1, x2, y2):
    dx = x1 - x2
    dy = y1 - y2
    return math.sqrt(dx * dx + dy * dy)


def naive_head_fraction(scenario, d_sink):
    """``--p``: the number itself, or under ``auto`` k_opt / N of this deployment (Heinzelman et al. 2002,
    Eq. 10; N nodes, side sqrt(W H), d_BS the nodes' mean distance to the sink), spelled out again here."""
    if scenario.p != "auto":
        return scenario.p
    n = len(d_sink)
    radio = scenario.radio_model()
    side = math.sqrt(scenario.field[0] * scenario.field[1])
    d = sum(d_sink) / n
    if d > radio.d0 and radio.eps_mp > 0.0:
        k = math.sqrt(n / (2.0 * math.pi)) * math.sqrt(radio.eps_fs / radio.eps_mp) * side / (d * d)
    else:
        k = math.sqrt(n / (2.0 * math.pi)) * side / d
    return min(max(k, 1.0), n) / n


class NaiveNetwork:
    """State of one replica in plain Python lists."""

    def __init__(self, scenario, rng):
        net = deploy(scenario, rng)
        self.scenario = scenario
        self.rng = rng
        self.n = net.nodes
        self.x = [float(v) for v in net.x]
        self.y = [float(v) for v in net.y]
        self.sink = net.sink
        self.energy = [float(v) for v in net.energy]
        self.initial = list(self.energy)
        self.capacity = [float(v) for v in net.capacity]
        self.alive = [True] * self.n
        self.ch_epoch = [-1] * self.n
        self.rounds_since_ch = [0] * self.n
        self.markov_bad = [False] * self.n
        self.shared_bad = False
        self.harvested_node = [0.0] * self.n
        self.radio = scenario.radio_model()
        self.bits = float(scenario.packet_bits)
        self.d_sink = [distance(self.x[i], self.y[i], self.sink[0], self.sink[1]) for i in range(self.n)]
        self.p = naive_head_fraction(scenario, self.d_sink)
        # the previous round's clusters: {node alive then: its receiver (a head itself, -1 the sink)}; None
        # before round 1 (wsnmec.sim.accounting Notes, "Kept clusters")
        self.previous = None
        self.last_kept = False

    # --- harvest ---------------------------------------------------------------------------------------
    def harvest(self, r):
        spec = self.scenario.harvest
        self.harvested_node = [0.0] * self.n
        if spec.kind == "none":
            return 0.0
        threshold = self.scenario.revive_threshold
        kind, params = spec.kind, list(spec.params)
        t = self.scenario.round_seconds
        if kind == "constant-w":  # power [W] times the round duration [s]
            kind, params = "constant", [params[0] * t]
        elif kind == "solar-w":
            kind, params = "solar", [params[0] * t, params[1] / t]
        if kind == "markov-shared":
            good, bad, p_gb, p_bg = params
            if r == 1:  # stationary start
                u = self.rng.random()
                self.shared_bad = (p_gb + p_bg) > 0 and u < p_gb / (p_gb + p_bg)
            amount_shared = bad if self.shared_bad else good
        total = 0.0
        for i in range(self.n):
            if not self.alive[i] and threshold is None:
                continue
            if kind == "constant":
                amount = params[0]
            elif kind == "markov-shared":
                amount = amount_shared
            elif kind == "bernoulli":
                amount = params[0] if self.rng.random() < params[1] else 0.0
            elif kind == "markov":
                good, bad, p_gb, p_bg = params
                if not self.markov_bad[i]:
                    amount = good
                    if self.rng.random() < p_gb:
                        self.markov_bad[i] = True
                else:
                    amount = bad
                    if self.rng.random() < p_bg:
                        self.markov_bad[i] = False
            else:  # solar
                peak, period = params
                amount = peak * max(0.0, math.sin(2.0 * math.pi * r / period))
            stored = min(amount, self.capacity[i] - self.energy[i])
            if stored > 0.0:
                self.energy[i] += stored
                total += stored
                self.harvested_node[i] = stored
            if not self.alive[i] and threshold is not None and self.energy[i] >= threshold:
                self.alive[i] = True
        if kind == "markov-shared":
            good, bad, p_gb, p_bg = params
            if not self.shared_bad:
                if self.rng.random() < p_gb:
                    self.shared_bad = True
            elif self.rng.random() < p_bg:
                self.shared_bad = False
        return total

    # --- elect -----------------------------------------------------------------------------------------
    def elect(self, r):
        protocol = self.scenario.protocol
        if protocol == "direct":
            for i in range(self.n):
                if self.alive[i]:
                    self.rounds_since_ch[i] += 1
            return []
        p = self.p
        epoch_len = epoch_length(p)
        epoch = (r - 1) // epoch_len
        leach_threshold = p / (1.0 - p * ((r - 1) % epoch_len))
        draw_all = self.scenario.semantics == "matlab"
        heads = []
        for i in range(self.n):
            if not self.alive[i]:
                continue
            eligible = self.ch_epoch[i] != epoch
            elected = False
            if eligible or draw_all:
                u = self.rng.random()
                if eligible:
                    threshold = leach_threshold
                    if protocol in ("ileach", "leach-dchs"):
                        ratio = self.energy[i] / self.initial[i]
                        threshold = leach_threshold * (
                            ratio + (self.rounds_since_ch[i] // epoch_len) * (1.0 - ratio))
                    elected = u < threshold
            if elected:
                heads.append(i)
                self.ch_epoch[i] = epoch
                self.rounds_since_ch[i] = 0
            else:
                self.rounds_since_ch[i] += 1
        return heads

    # --- account ---------------------------------------------------------------------------------------
    def receiver(self, i, heads):
        """(CH index or -1 for the sink, distance [m]) by brute force; ties to the lower index / the sink;
        with ``--join cluster`` the nearest CH whenever there is one."""
        best, best_d = -1, math.inf
        for c in heads:  # increasing index: strict < keeps the lower index on ties
            d = distance(self.x[i], self.y[i], self.x[c], self.y[c])
            if d < best_d:
                best, best_d = c, d
        if best >= 0 and (best_d < self.d_sink[i] or self.scenario.join == "cluster"):
            return best, best_d
        return -1, self.d_sink[i]

    def workload_constants(self):
        """(e_proc [J/bit], result bits, cycles/bit, mcu Hz, rate, edge Hz, edge cores, edge cycles/bit)."""
        from wsnmec.energy.workload import HARDWARE_PRESETS, WORKLOAD_PRESETS

        wl = WORKLOAD_PRESETS[self.scenario.workload]
        hw = HARDWARE_PRESETS[self.scenario.hardware]
        if wl["energy_per_bit_j"] is None:
            e_proc = self.radio.e_da
        elif wl["energy_per_bit_j"] > 0:
            e_proc = wl["energy_per_bit_j"]
        else:
            e_proc = wl["cycles_per_bit"] * hw["energy_per_cycle_j"]
        result = self.bits if wl["result_bits"] is None else float(wl["result_bits"])
        return (e_proc, result, wl["cycles_per_bit"], hw["mcu_clock_hz"], hw["data_rate_bps"],
                hw["edge_clock_hz"], hw["edge_cores"], wl["edge_cycles_per_bit"])

    def head_energy(self, offload, got, d):
        e_proc, result, *_ = self.workload_constants()
        bits, radio = self.bits, self.radio
        if not offload:  # process locally, send the result
            return got * bits * radio.e_elec + (got + 1) * bits * e_proc + tx_energy(result, d, radio)
        return got * bits * radio.e_elec + tx_energy((got + 1) * bits, d, radio)

    def head_latency(self, offload, got, offloading):
        _e, result, cycles, mcu, rate, edge_hz, cores, edge_cycles = self.workload_constants()
        bits = self.bits
        gathered = (got + 1) * bits
        if not offload:
            return got * bits / rate + gathered * cycles / mcu + result / rate
        share = cores / offloading if offloading > cores else 1.0
        return got * bits / rate + gathered / rate + gathered * edge_cycles / (edge_hz * share)

    def decide(self, heads, receivers):
        """The offloading rule's decision per head (brute force for ``exact``)."""
        rule = self.scenario.offload
        planned = {c: 0 for c in heads}
        sink_senders = 0
        for i, (t, _d) in receivers.items():
            if t >= 0:
                planned[t] += 1
            else:
                sink_senders += 1
        self.fell_back = 0
        if rule in ("local", "edge"):
            return {c: rule == "edge" for c in heads}
        w = self.scenario.time_weight
        shared = self.scenario.medium == "shared"
        # the kernel's exact rule decides as greedy above its head limit, and counts the round
        limit = EXACT_SHARED_MAX_HEADS if shared else EXACT_MAX_HEADS
        self.fell_back = int(rule == "exact" and len(heads) > limit)
        if rule == "greedy" or len(heads) > (EXACT_SHARED_MAX_HEADS if shared else 12):
            out = {}
            for c in heads:
                local = self.head_energy(False, planned[c], self.d_sink[c]) + w * self.head_latency(False, planned[c], 0)
                edge = self.head_energy(True, planned[c], self.d_sink[c]) + w * self.head_latency(True, planned[c], 1)
                out[c] = edge < local
            return out
        floor = self.bits / self.workload_constants()[4] if sink_senders else 0.0
        direct = sorted(i for i, (t, _d) in receivers.items() if t < 0)
        best, best_choice = math.inf, None
        for combo in itertools.product((False, True), repeat=len(heads)):
            m = sum(combo)
            energy = sum(self.head_energy(o, planned[c], self.d_sink[c]) for c, o in zip(heads, combo))
            if shared:  # every planned transmission through the sink's channels (all nodes able to pay)
                latency = shared_latency(direct, heads, dict(zip(heads, combo)), planned, self.workload_constants(),
                                         self.bits, self.scenario.sink_channels)
            else:
                latency = max([floor] + [self.head_latency(o, planned[c], m) for c, o in zip(heads, combo)])
            value = energy + w * latency
            if value < best:
                best, best_choice = value, combo
        self.exact_objective = best
        return dict(zip(heads, best_choice))

    def keeps_clusters(self, heads, receivers):
        """Whether this round keeps the previous round's clusters: every previous head is a head again and
        every node alive now has the receiver it had (a node not alive in the previous round had none)."""
        if self.previous is None:
            return False
        now = {c: c for c in heads}
        now.update({i: t for i, (t, _d) in receivers.items()})
        for node, receiver in self.previous.items():
            if receiver == node and now.get(node) != node:
                return False
        return all(self.previous.get(i) == receiver for i, receiver in now.items())

    def account(self, heads, extra_control=None):
        radio, bits = self.radio, self.bits
        sc = self.scenario
        matlab = sc.semantics == "matlab"
        rate = self.workload_constants()[4]
        is_head = set(heads)
        drawn = [0.0] * self.n
        to_sink = to_ch = 0
        delivered = 0.0
        latency = 0.0
        control_total = 0.0
        silent = matlab and sc.protocol != "direct" and not heads
        members = [i for i in range(self.n) if self.alive[i] and i not in is_head]
        receivers = {i: self.receiver(i, heads) for i in members}
        decision = self.decide(heads, receivers)
        offloading = sum(1 for c in heads if decision[c])

        def charge(i, cost):
            if matlab:
                self.energy[i] -= cost
                drawn[i] += cost
                return True
            if self.energy[i] >= cost:
                self.energy[i] -= cost
                drawn[i] += cost
                return True
            drawn[i] += self.energy[i]
            self.energy[i] = 0.0
            return False

        # set-up phase: idle consumption and control messages
        B = float(sc.control_bits)
        from wsnmec.clustering.registry import policy_class

        kind = policy_class(sc.protocol).control if B > 0 else "none"
        kept = self.keeps_clusters(heads, receivers)
        if kept:  # the members hold their head and slot: no set-up message
            kind = "none"
        self.last_kept = kept
        self.previous = {c: c for c in heads}
        self.previous.update({i: t for i, (t, _d) in receivers.items()})
        joins = {c: 0 for c in heads}
        farthest = {c: 0.0 for c in heads}
        for i in members:
            t, d = receivers[i]
            if t >= 0:
                joins[t] += 1
                farthest[t] = max(farthest[t], d)
        xs = [self.x[i] for i in range(self.n)]
        ys = [self.y[i] for i in range(self.n)]
        diameter = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        rx = B * radio.e_elec
        if sc.idle_j > 0 or B > 0 or extra_control is not None:
            for i in range(self.n):
                if not self.alive[i]:
                    continue
                ctrl = 0.0
                if kind == "distributed":
                    if i in is_head:
                        ctrl += tx_energy(B, diameter, radio)   # advertisement over the network
                        ctrl += joins[i] * rx                   # join requests received
                        ctrl += tx_energy(B, farthest[i], radio)  # TDMA schedule
                    else:
                        ctrl += len(heads) * rx                 # every advertisement heard
                        t, d = receivers[i]
                        if t >= 0:
                            ctrl += tx_energy(B, d, radio) + rx  # join request, schedule received
                elif kind == "centralized":
                    ctrl += tx_energy(B, self.d_sink[i], radio) + rx  # upload to the sink, its assignment
                    if i in is_head:
                        ctrl += tx_energy(B, farthest[i], radio)
                    elif receivers[i][0] >= 0:
                        ctrl += rx
                if extra_control is not None:
                    ctrl += extra_control[i]
                cost = sc.idle_j + ctrl
                if cost > 0.0:
                    before = drawn[i]
                    charge(i, cost)
                    paid = drawn[i] - before
                    control_total += ctrl if paid >= cost else max(0.0, paid - sc.idle_j)
        received = {c: 0 for c in heads}
        direct_sent = []  # direct senders whose packet reached the sink, in node order
        heads_sent = []  # cluster heads whose data reached the sink
        if matlab:
            for c in heads:
                cost = (radio.e_elec + radio.e_da) * bits + amplifier_energy(bits, self.d_sink[c], radio)
                self.energy[c] -= cost
                drawn[c] += cost
                to_sink += 1
            if not silent:
                for i in members:
                    target, d = receivers[i]
                    cost = tx_energy(bits, d, radio)
                    self.energy[i] -= cost
                    drawn[i] += cost
                    if target >= 0:
                        to_ch += 1
                        received[target] += 1
                    else:
                        to_sink += 1
                        delivered += bits
                        latency = max(latency, bits / rate)
                        direct_sent.append(i)
                    if heads and d > 0.0:
                        payer = target if target >= 0 else heads[0]
                        self.energy[payer] -= (radio.e_elec + radio.e_da) * bits
                        drawn[payer] += (radio.e_elec + radio.e_da) * bits
            for c in heads:
                delivered += (received[c] + 1) * bits
                latency = max(latency, self.head_latency(False, received[c], offloading))
            heads_sent = list(heads)
            decision = {c: False for c in heads}
        else:
            if not silent:
                for i in members:
                    target, d = receivers[i]
                    cost = tx_energy(bits, d, radio)
                    if target < 0:
                        latency = max(latency, bits / rate)
                    if self.energy[i] >= cost:
                        self.energy[i] -= cost
                        drawn[i] += cost
                        if target >= 0:
                            received[target] += 1
                            to_ch += 1
                        else:
                            to_sink += 1
                            delivered += bits
                            direct_sent.append(i)
                    else:  # cannot afford the packet: spends what is left, dies, packet lost
                        drawn[i] += self.energy[i]
                        self.energy[i] = 0.0
            for c in heads:
                got = received[c]
                demand = self.head_energy(decision[c], got, self.d_sink[c])
                latency = max(latency, self.head_latency(decision[c], got, offloading))
                if self.energy[c] >= demand:
                    self.energy[c] -= demand
                    drawn[c] += demand
                    to_sink += 1
                    delivered += (got + 1) * bits
                    heads_sent.append(c)
                else:
                    drawn[c] += self.energy[c]
                    self.energy[c] = 0.0
        if sc.medium == "shared":  # only the transmissions that took place use the sink's channels
            latency = shared_latency(direct_sent, heads_sent, decision, received, self.workload_constants(),
                                     bits, sc.sink_channels)
        consumed = 0.0
        for i in range(self.n):
            consumed += drawn[i]
            if self.alive[i] and self.energy[i] <= 0.0:
                self.alive[i] = False
        self.last_drawn = drawn
        return {"consumed": consumed, "to_sink": to_sink, "to_ch": to_ch, "latency": latency,
                "delivered": delivered, "offloaded": offloading, "control": control_total}

    def can_revive(self):
        from wsnmec.energy.harvest import can_ever_harvest

        return self.scenario.revive_threshold is not None and can_ever_harvest(self.scenario.harvest)

    def run(self, elect=None):
        """All rounds; returns a list of per-round dicts (same columns as the kernel's records).

        ``elect(network, r) -> heads`` replaces the built-in LEACH-family election (for other policies)."""
        records = []
        for r in range(1, self.scenario.max_rounds + 1):
            harvested = self.harvest(r)
            heads = self.elect(r) if elect is None else elect(self, r)
            acc = self.account(heads)
            residual = stored = 0.0
            alive = at_90 = 0
            for i in range(self.n):
                stored += self.energy[i]
                if self.energy[i] > 0.0:
                    residual += self.energy[i]
                if self.alive[i]:
                    alive += 1
                    if self.energy[i] >= 0.9 * self.capacity[i]:
                        at_90 += 1
            records.append({
                "round": r, "alive": alive, "dead": self.n - alive, "cluster_heads": len(heads),
                "residual_j": residual, "consumed_j": acc["consumed"], "harvested_j": harvested,
                "packets_to_sink": acc["to_sink"], "packets_to_ch": acc["to_ch"], "nodes_ge_90pct": at_90,
                "energy_j": acc["consumed"], "latency_s": acc["latency"],
                "system_utility": acc["consumed"] + self.scenario.time_weight * acc["latency"],
                "delivered_bits": acc["delivered"], "offloaded": acc["offloaded"], "control_j": acc["control"],
                "stored_j": stored, "offload_fallback": self.fell_back,
            })
            if alive == 0 and not self.can_revive():
                break
        return records


def simulate_naive(scenario, seed):
    """Reference run of one replica with ``default_rng(seed)``: (per-round records, (fnd, hnd, lnd))."""
    network = NaiveNetwork(scenario, np.random.default_rng(seed))
    records = network.run()
    return records, lifetime_rounds([rec["alive"] for rec in records], network.n)


def spread_heads_naive(x, y, energy, k, rng, max_passes=10):
    """Reference of :func:`wsnmec.clustering.spread.spread_heads` in NumPy (its module Notes, steps 1-4): the
    weighted k-means++ seeding by cumulative sums, then assign / update passes with ``bincount`` and a
    ``lexsort`` per cluster (nearest eligible member to the weighted centroid, ties to the lower index)."""
    n = x.shape[0]
    weight = 1.0 / np.maximum(energy, 1e-300)
    draws = rng.random(k)
    heads = np.empty(k, dtype=np.int64)
    is_head = np.zeros(n, dtype=bool)
    nearest = np.full(n, np.inf)
    for s in range(k):
        p = weight if s == 0 else weight * nearest
        total = float(p.sum())
        if total > 0.0 and np.isfinite(total):
            cumulative = np.cumsum(p) / total
            pick = int(np.searchsorted(cumulative, draws[s], side="right"))
            pick = min(pick, n - 1)
            while is_head[pick]:  # (a head has D = 0: only reachable through rounding at the end)
                pick = (pick - 1) % n
        else:
            pick = int(np.flatnonzero(~is_head)[0])
        heads[s] = pick
        is_head[pick] = True
        nearest = np.minimum(nearest, (x - x[pick]) ** 2 + (y - y[pick]) ** 2)
    index = np.arange(n)
    for _ in range(max_passes):
        d2 = (x[:, None] - x[heads][None, :]) ** 2 + (y[:, None] - y[heads][None, :]) ** 2
        owner = np.argmin(d2, axis=1)
        owner[heads] = np.arange(k)
        s0 = np.bincount(owner, weights=weight, minlength=k)
        cx = np.bincount(owner, weights=weight * x, minlength=k) / s0
        cy = np.bincount(owner, weights=weight * y, minlength=k) / s0
        size = np.bincount(owner, minlength=k)
        mean_e = np.bincount(owner, weights=energy, minlength=k) / size
        top_e = np.full(k, -np.inf)
        np.maximum.at(top_e, owner, energy)
        eligible = energy >= np.minimum(mean_e, top_e)[owner]
        distance = np.where(eligible, (x - cx[owner]) ** 2 + (y - cy[owner]) ** 2, np.inf)
        order = np.lexsort((index, distance, owner))
        first = np.flatnonzero(np.r_[True, owner[order][1:] != owner[order][:-1]])
        new_heads = order[first]  # one per cluster, in slot order (owner sorted ascending)
        if np.array_equal(new_heads, heads):
            break
        heads = new_heads
    return heads
