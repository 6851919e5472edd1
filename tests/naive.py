"""Slow, readable pure-Python reference of the round loop (see wsnmec/kernel.py for the rules).

Written from the rules in the module docstrings of wsnmec.sim.kernel, wsnmec.energy.harvest and
wsnmec.clustering, independently of the compiled code: plain lists and floats, brute-force nearest cluster
head. Given the same deployment and the same Generator (already advanced past the deployment draws), it must
draw the same random numbers in the same order and compute the same float64 values operation by
operation, so that tests can require exact agreement with the kernel.
"""

from __future__ import annotations

import math

import numpy as np

from wsnmec.clustering.leach import epoch_length
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
        self.radio = scenario.radio_model()
        self.bits = float(scenario.packet_bits)
        self.d_sink = [distance(self.x[i], self.y[i], self.sink[0], self.sink[1]) for i in range(self.n)]

    # --- harvest ---------------------------------------------------------------------------------------
    def harvest(self, r):
        spec = self.scenario.harvest
        if spec.kind == "none":
            return 0.0
        threshold = self.scenario.revive_threshold
        total = 0.0
        for i in range(self.n):
            if not self.alive[i] and threshold is None:
                continue
            if spec.kind == "constant":
                amount = spec.params[0]
            elif spec.kind == "bernoulli":
                amount = spec.params[0] if self.rng.random() < spec.params[1] else 0.0
            elif spec.kind == "markov":
                good, bad, p_gb, p_bg = spec.params
                if not self.markov_bad[i]:
                    amount = good
                    if self.rng.random() < p_gb:
                        self.markov_bad[i] = True
                else:
                    amount = bad
                    if self.rng.random() < p_bg:
                        self.markov_bad[i] = False
            else:  # solar
                peak, period = spec.params
                amount = peak * max(0.0, math.sin(2.0 * math.pi * r / period))
            stored = min(amount, self.capacity[i] - self.energy[i])
            if stored > 0.0:
                self.energy[i] += stored
                total += stored
            if not self.alive[i] and threshold is not None and self.energy[i] >= threshold:
                self.alive[i] = True
        return total

    # --- elect -----------------------------------------------------------------------------------------
    def elect(self, r):
        protocol = self.scenario.protocol
        if protocol == "direct":
            return []
        p = self.scenario.p
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
                    if protocol == "ileach":
                        ratio = self.energy[i] / self.capacity[i]
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
        """(CH index or -1 for the sink, distance [m]) by brute force; ties to the lower index / the sink."""
        best, best_d = -1, math.inf
        for c in heads:  # increasing index: strict < keeps the lower index on ties
            d = distance(self.x[i], self.y[i], self.x[c], self.y[c])
            if d < best_d:
                best, best_d = c, d
        if best >= 0 and best_d < self.d_sink[i]:
            return best, best_d
        return -1, self.d_sink[i]

    def account(self, heads):
        radio, bits = self.radio, self.bits
        matlab = self.scenario.semantics == "matlab"
        is_head = set(heads)
        drawn = [0.0] * self.n
        to_sink = to_ch = 0
        silent = matlab and self.scenario.protocol != "direct" and not heads
        members = [i for i in range(self.n) if self.alive[i] and i not in is_head]
        if matlab:
            for c in heads:
                cost = (radio.e_elec + radio.e_da) * bits + amplifier_energy(bits, self.d_sink[c], radio)
                self.energy[c] -= cost
                drawn[c] += cost
                to_sink += 1
            if not silent:
                for i in members:
                    target, d = self.receiver(i, heads)
                    cost = tx_energy(bits, d, radio)
                    self.energy[i] -= cost
                    drawn[i] += cost
                    if target >= 0:
                        to_ch += 1
                    else:
                        to_sink += 1
                    if heads and d > 0.0:
                        payer = target if target >= 0 else heads[0]
                        self.energy[payer] -= (radio.e_elec + radio.e_da) * bits
                        drawn[payer] += (radio.e_elec + radio.e_da) * bits
        else:
            received = {c: 0 for c in heads}
            for i in members:
                target, d = self.receiver(i, heads)
                cost = tx_energy(bits, d, radio)
                if self.energy[i] >= cost:
                    self.energy[i] -= cost
                    drawn[i] = cost
                    if target >= 0:
                        received[target] += 1
                        to_ch += 1
                    else:
                        to_sink += 1
                else:  # cannot afford the packet: spends what is left, dies, packet lost
                    drawn[i] = self.energy[i]
                    self.energy[i] = 0.0
            for c in heads:
                got = received[c]
                demand = (got * bits * radio.e_elec + (got + 1) * bits * radio.e_da
                          + tx_energy(bits, self.d_sink[c], radio))
                if self.energy[c] >= demand:
                    self.energy[c] -= demand
                    drawn[c] = demand
                    to_sink += 1
                else:
                    drawn[c] = self.energy[c]
                    self.energy[c] = 0.0
        consumed = 0.0
        for i in range(self.n):
            consumed += drawn[i]
            if self.alive[i] and self.energy[i] <= 0.0:
                self.alive[i] = False
        return consumed, to_sink, to_ch

    def can_revive(self):
        from wsnmec.energy.harvest import can_ever_harvest

        return self.scenario.revive_threshold is not None and can_ever_harvest(self.scenario.harvest)

    def run(self):
        """All rounds; returns a list of per-round dicts (same columns as the kernel's records)."""
        records = []
        for r in range(1, self.scenario.max_rounds + 1):
            harvested = self.harvest(r)
            heads = self.elect(r)
            consumed, to_sink, to_ch = self.account(heads)
            residual = 0.0
            alive = at_90 = 0
            for i in range(self.n):
                residual += self.energy[i]
                if self.alive[i]:
                    alive += 1
                    if self.energy[i] >= 0.9 * self.capacity[i]:
                        at_90 += 1
            records.append({
                "round": r, "alive": alive, "dead": self.n - alive, "cluster_heads": len(heads),
                "residual_j": residual, "consumed_j": consumed, "harvested_j": harvested,
                "packets_to_sink": to_sink, "packets_to_ch": to_ch, "nodes_ge_90pct": at_90,
            })
            if alive == 0 and not self.can_revive():
                break
        return records


def simulate_naive(scenario, seed):
    """Reference run of one replica with ``default_rng(seed)``: (per-round records, (fnd, hnd, lnd))."""
    network = NaiveNetwork(scenario, np.random.default_rng(seed))
    records = network.run()
    return records, lifetime_rounds([rec["alive"] for rec in records], network.n)
