"""Direct transmission: no cluster heads; every alive node sends its packet straight to the sink.

Under both semantics every alive node pays E_tx(l, d_sink) each round (the MATLAB LEACH/SEP code has no
direct protocol, so its "no cluster head, nobody transmits" rule applies to the clustered protocols only).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def elect_direct(rng, round_number, p, epoch_len, draw_all, alive, energy, capacity, ch_epoch,
                 rounds_since_ch, is_ch, ch_list):
    """Elect nobody (compiled; same signature as :func:`wsnmec.clustering.leach.elect_leach`). Returns 0."""
    for i in range(alive.shape[0]):
        is_ch[i] = 0
    return 0
