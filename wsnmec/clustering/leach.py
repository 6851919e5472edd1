"""LEACH cluster-head election (Heinzelman, Chandrakasan, Balakrishnan 2000).

Notes
-----
Rounds are numbered r = 1, 2, ...; the epoch length is E = round(1/p) (halves rounded up, as MATLAB's
``round``). A node that has been cluster head in the current epoch (rounds ``k E + 1 .. (k + 1) E``) is not
eligible. An eligible alive node draws u uniform in [0, 1) and becomes CH when

    u < T(r) = p / (1 - p ((r - 1) mod E)).

**Control messages per round** (charged only when ``--control-bits`` B > 0, the ``distributed`` pattern
of :mod:`wsnmec.sim.accounting`, [2]_; B = 0 charges nothing, as the published LEACH curves):

- each CH broadcasts an advertisement over the network's diameter D (the diagonal of the nodes' bounding
  box), E_tx(B, D), and every alive non-CH node receives every advertisement, n_CH E_rx(B);
- each member sends a join request to its CH, E_tx(B, d), which the CH receives, E_rx(B);
- each CH broadcasts its TDMA schedule to its farthest member, E_tx(B, r_c), and each member receives it,
  E_rx(B).

The election itself needs no message (each node decides alone). Both loops (the fused kernel and the
policy loop) charge the same pattern.

Random draws, in node order: under ``clean`` only eligible alive nodes draw; under ``matlab`` every alive
node draws one uniform, eligible or not, as the MATLAB LEACH/SEP code does.

References
----------
.. [1] W. R. Heinzelman, A. Chandrakasan, H. Balakrishnan, "Energy-efficient communication protocol for
   wireless microsensor networks", Proc. HICSS, 2000.
.. [2] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002 (the set-up
   messages and their 25-byte header).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .base import ClusteringPolicy, described_p, resolved_p


def epoch_length(p: float) -> int:
    """Epoch length E = round(1/p) in rounds (halves rounded up), at least 1."""
    return max(1, int(math.floor(1.0 / p + 0.5)))


def leach_threshold(round_number: int, p: float) -> float:
    """The LEACH threshold T(r) of an eligible node in round ``round_number`` (counted from 1)."""
    return p / (1.0 - p * ((round_number - 1) % epoch_length(p)))


@njit(cache=True, nogil=True)
def elect_leach(rng, round_number, p, epoch_len, draw_all, alive, energy, initial, ch_epoch,
                rounds_since_ch, is_ch, ch_list):
    """Elect this round's cluster heads (compiled, in place); returns their number.

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator.
    round_number : int
        r, counted from 1.
    p : float
        Desired CH fraction in (0, 1].
    epoch_len : int
        E = round(1/p).
    draw_all : bool
        True under ``matlab`` semantics: every alive node draws, eligible or not.
    alive : uint8[N]
        Alive flags.
    energy, initial : float64[N]
        Stored and initial energy [J] (unused by LEACH; LEACH-DCHS's E_cur and E_max).
    ch_epoch : int64[N]
        Epoch index in which each node was last CH (-1 never); updated.
    rounds_since_ch : int64[N]
        Consecutive rounds each alive node has not been CH; updated (0 when elected).
    is_ch : uint8[N]
        Output mask of this round's cluster heads.
    ch_list : int64[N]
        Output: the CH indices in increasing order in its first ``n_ch`` entries.
    """
    return elect_by_threshold(rng, round_number, p, epoch_len, draw_all, False, alive, energy, initial,
                              ch_epoch, rounds_since_ch, is_ch, ch_list)


@njit(cache=True, nogil=True)
def elect_by_threshold(rng, round_number, p, epoch_len, draw_all, energy_scaled, alive, energy, initial,
                       ch_epoch, rounds_since_ch, is_ch, ch_list):
    """The election loop shared by LEACH and iLEACH (compiled, in place); returns the number of CHs.

    Parameters are those of :func:`elect_leach`; ``energy_scaled`` selects the LEACH-DCHS threshold of
    :mod:`wsnmec.clustering.leach_dchs` (the LEACH threshold times
    ``E_cur/E_max + (r_s div E)(1 - E_cur/E_max)``, E_max = ``initial``) instead of the plain LEACH threshold.
    """
    epoch = (round_number - 1) // epoch_len
    threshold = p / (1.0 - p * ((round_number - 1) % epoch_len))
    n_ch = 0
    for i in range(alive.shape[0]):
        is_ch[i] = 0
        if alive[i] == 0:
            continue
        eligible = ch_epoch[i] != epoch
        if eligible or draw_all:
            u = rng.random()
            if eligible:
                node_threshold = threshold
                if energy_scaled:
                    ratio = energy[i] / initial[i]
                    node_threshold = threshold * (ratio + (rounds_since_ch[i] // epoch_len) * (1.0 - ratio))
                if u < node_threshold:
                    is_ch[i] = 1
                    ch_epoch[i] = epoch
                    ch_list[n_ch] = i
                    n_ch += 1
                    rounds_since_ch[i] = 0
                    continue
        rounds_since_ch[i] += 1
    return n_ch


class LeachPolicy(ClusteringPolicy):
    """LEACH election as a policy (the same compiled loop as the fused kernel, same draws).

    Keeps its own ``ch_epoch`` (the epoch in which each node was last CH). The policy round loop updates
    ``rounds_since_ch`` after the election, so the compiled loop works on a copy of it here.
    """

    name = "leach"
    control = "distributed"
    fused_code = 1
    energy_scaled = False

    def reset(self, state, rng):
        n = state.n
        self.p = resolved_p(state)  # (--p auto: k_opt / N of the deployment)
        self.epoch_len = epoch_length(self.p)
        self.draw_all = self.scenario.semantics == "matlab"
        self.ch_epoch = np.full(n, -1, dtype=np.int64)
        self._is_ch = np.zeros(n, dtype=np.uint8)
        self._ch_list = np.zeros(n, dtype=np.int64)

    def elect(self, state, rng):
        rounds_since_ch = state.rounds_since_ch.copy()
        elect_by_threshold(rng, state.round, self.p, self.epoch_len, self.draw_all, self.energy_scaled,
                           state.alive_u8, state.energy, state.initial_energy, self.ch_epoch, rounds_since_ch,
                           self._is_ch, self._ch_list)
        return self._is_ch.view(np.bool_)

    def describe(self):
        return {"name": self.name, "p": described_p(self.scenario)}
