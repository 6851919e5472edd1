"""Direct transmission: no cluster heads; every alive node sends its packet straight to the sink.

Under both semantics every alive node pays E_tx(l, d_sink) each round (the MATLAB LEACH/SEP code has no
direct protocol, so its "no cluster head, nobody transmits" rule applies to the clustered protocols only).

**Control messages per round**: none. Direct transmission needs no set-up (no heads to elect or
advertise, no clusters to join, no schedules), so ``--control-bits`` charges nothing for ``direct`` in
either loop (``control = "none"``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .base import ClusteringPolicy


@njit(cache=True, nogil=True)
def elect_direct(rng, round_number, p, epoch_len, draw_all, alive, energy, initial, ch_epoch,
                 rounds_since_ch, is_ch, ch_list):
    """Elect nobody (compiled; same signature as :func:`wsnmec.clustering.leach.elect_leach`). Returns 0.

    Every alive node's ``rounds_since_ch`` grows by one (nobody is ever CH).
    """
    for i in range(alive.shape[0]):
        is_ch[i] = 0
        if alive[i] != 0:
            rounds_since_ch[i] += 1
    return 0


class DirectPolicy(ClusteringPolicy):
    """No clustering: an empty cluster-head mask every round."""

    name = "direct"
    control = "none"
    fused_code = 0

    def elect(self, state, rng):
        return np.zeros(state.n, dtype=np.bool_)
