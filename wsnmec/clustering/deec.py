"""DEEC: distributed energy-efficient clustering (Qing, Zhu, Wang 2006), residual-energy-weighted election.

Notes
-----
Rounds are numbered r = 1, 2, ... (the paper's r = 0, 1, ... is our r - 1). At the start of round r, after
the harvest, the mean residual energy of the alive nodes is

    E_mean(r) = (E_1 + E_2 + ... + E_n) / n        (alive nodes, summed in node order) [J]

and each alive node i gets its own CH probability and epoch ([1]_, Eqs. 6-8):

    p_i = min(1, p * E_i / E_mean(r))              (computed as ``(p * E_i) / E_mean``)
    n_i = round(1 / p_i)                           (halves rounded up; capped at 2^62 for tiny p_i)

Node i is *eligible* (in the paper's set G, "not CH in the most recent n_i rounds") when it has not
been CH in its current epoch: with r_last the last round it was CH, it was never CH or
``(r_last - 1) div n_i != (r - 1) div n_i``, n_i being this round's epoch. This is the epoch reading that
:mod:`wsnmec.clustering.leach` gives LEACH's identical phrase, per node: with a constant n_i a node is CH
at most once per epoch of n_i rounds (exactly once when n_i >= 1/p_i: T then reaches 1 in the epoch's
last round), and with equal energies
(p_i = p) DEEC elects exactly the heads LEACH elects from the same draws (tested). A rolling window
(eligible when ``r - r_last >= n_i``) was tried and rejected: a node elected in the round where T = 1 is
eligible again exactly in the next such round and is elected with certainty, so about a third of the
nodes lock into CH turns in the same rounds (classic scenario: CH count per round with sd 21 instead of
3, and 31 % of rounds without any CH). n_i is recomputed every round from the current p_i. An eligible
alive node draws one uniform u in [0, 1) and becomes CH when ([1]_, Eq. 9)

    u < T(s_i) = p_i / (1 - p_i ((r - 1) mod n_i)).

Since n_i <= 1/p_i + 1/2, the denominator is at least p_i / 2 > 0. An alive node with p_i <= 0 (no stored
energy) is not eligible.

**Variant.** The paper estimates the mean energy as E(r) = E_total (1 - r/R) / N, R being the expected
network lifetime in rounds, because its nodes do not know the others' energies. Here E_mean(r) is the exact
mean of the alive nodes' residual energies, which a sink can compute from the nodes' reports and broadcast.
The reasons: the estimate needs a lifetime R, which has no meaning with energy harvesting (the total energy
does not fall linearly, nodes revive); the exact mean stays right with heterogeneous initial energies
(SEP's advanced nodes, ``--e0 LOW..HIGH``); and averaging over the *alive* nodes (not all N) keeps the
mean p_i at p, so the expected number of CHs per round stays about p times the alive nodes, as in LEACH.

**Control messages per round** (charged only when ``--control-bits`` B > 0; B = 0 charges nothing):

- the sink's broadcast of E_mean: every alive node receives B bits, E_rx(B) = B E_elec [J]
  (:meth:`DEECPolicy.control_energy`); the sink is mains powered, its transmission costs the nodes nothing.
  The residual energies the sink averages are assumed to travel in a few bits appended to the data packets
  (members to heads, heads to the sink), whose length is not increased: they are not charged;
- the ``distributed`` pattern of LEACH (:mod:`wsnmec.sim.accounting`): each CH's advertisement over the
  network's diameter, heard by every alive non-CH node; each member's join request to its CH; each CH's
  TDMA schedule to its members. The election itself needs no message (each node decides from its own
  energy and E_mean).

Random draws, in node order: one uniform per eligible alive node (the same under both semantics); no
other draws.

References
----------
.. [1] L. Qing, Q. Zhu, M. Wang, "Design of a distributed energy-efficient clustering algorithm for
   heterogeneous wireless sensor networks", Computer Communications 29(12), 2230-2237, 2006.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .base import ClusteringPolicy, described_p, resolved_p

#: Cap on a node's epoch n_i [rounds] (a node with a tiny p_i; far beyond any simulated round).
EPOCH_CAP = 2**62


@njit(cache=True, nogil=True)
def mean_alive_energy(alive, energy):
    """E_mean: the alive nodes' energies [J] summed in node order, divided by their number (0.0 if none)."""
    total = 0.0
    n_alive = 0
    for i in range(alive.shape[0]):
        if alive[i] != 0:
            total += energy[i]
            n_alive += 1
    if n_alive == 0:
        return 0.0
    return total / n_alive


@njit(cache=True, nogil=True)
def node_epoch(p_i):
    """n_i = round(1 / p_i) [rounds] (halves up), at least 1 and at most :data:`EPOCH_CAP`."""
    e = math.floor(1.0 / p_i + 0.5)
    if not e < 4.611686018427388e18:  # also inf
        return EPOCH_CAP
    if e < 1.0:
        return 1
    return int(e)


@njit(cache=True, nogil=True)
def elect_deec(rng, round_number, p, alive, energy, last_ch, is_ch):
    """Elect this round's DEEC cluster heads (compiled, in place); returns their number.

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator.
    round_number : int
        r, counted from 1.
    p : float
        Desired CH fraction in (0, 1].
    alive : uint8[N]
        Alive flags.
    energy : float64[N]
        Residual energy after this round's harvest [J].
    last_ch : int64[N]
        Last round each node was CH (0: never); updated.
    is_ch : uint8[N]
        Output mask of this round's cluster heads.
    """
    mean = mean_alive_energy(alive, energy)
    n_ch = 0
    for i in range(alive.shape[0]):
        is_ch[i] = 0
        if alive[i] == 0 or not mean > 0.0:
            continue
        p_i = p * energy[i] / mean
        if p_i > 1.0:
            p_i = 1.0
        if not p_i > 0.0:
            continue
        epoch = node_epoch(p_i)
        if last_ch[i] > 0 and (last_ch[i] - 1) // epoch == (round_number - 1) // epoch:
            continue  # already CH in its current epoch
        threshold = p_i / (1.0 - p_i * ((round_number - 1) % epoch))
        if rng.random() < threshold:
            is_ch[i] = 1
            last_ch[i] = round_number
            n_ch += 1
    return n_ch


class DEECPolicy(ClusteringPolicy):
    """DEEC election (see the module Notes) as a policy; keeps ``last_ch``, the last round each node was CH."""

    name = "deec"
    control = "distributed"

    def reset(self, state, rng):
        self.p = resolved_p(state)  # (--p auto: k_opt / N of the deployment)
        self.last_ch = np.zeros(state.n, dtype=np.int64)
        self._is_ch = np.zeros(state.n, dtype=np.uint8)

    def elect(self, state, rng):
        elect_deec(rng, int(state.round), self.p, state.alive_u8, state.energy, self.last_ch, self._is_ch)
        return self._is_ch.view(np.bool_)

    def control_energy(self, state, heads):
        """The sink's E_mean broadcast received by every alive node, E_rx(B) = B E_elec [J] (module Notes);
        None when B = 0."""
        from ..energy.layout import P_CONTROL_BITS, R_E_ELEC

        bits = float(state.params[P_CONTROL_BITS])
        if bits <= 0.0:
            return None
        return np.where(state.alive, bits * float(state.params[R_E_ELEC]), 0.0)

    def describe(self):
        return {"name": self.name, "p": described_p(self.scenario), "mean_energy": "exact mean of the alive nodes",
                "control": "distributed pattern + the sink's E_mean broadcast (E_rx(B) per alive node)"}
