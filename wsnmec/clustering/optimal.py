"""The radio model's optimal number of clusters (Heinzelman, Chandrakasan, Balakrishnan 2002).

Notes
-----
For N nodes uniform in an M x M field [m] and a mean cluster-head-to-sink distance d_BS [m] under the
first-order radio model, the expected round energy is minimised at [1]_ (their Eq. 10, free-space
intra-cluster links, multipath to the sink):

    k_opt = sqrt(N / (2 pi)) * sqrt(eps_fs / eps_mp) * M / d_BS^2

When the sink is within d0 of the heads (eps_mp unused), the free-space form with d_BS^2 replaced by
d_BS^2 in both terms gives ``k_opt = sqrt(N / (2 pi)) * M / d_BS``. The result is clipped to [1, N].

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002.
"""

from __future__ import annotations

import math

import numpy as np


def optimal_cluster_count(n: int, field_side: float, mean_sink_distance: float, radio) -> float:
    """k_opt (see module Notes) for ``n`` alive nodes, field side M [m], mean distance to the sink [m]."""
    if n <= 0:
        return 0.0
    d = max(float(mean_sink_distance), 1e-9)
    if d > radio.d0 and radio.eps_mp > 0.0:
        k = math.sqrt(n / (2.0 * math.pi)) * math.sqrt(radio.eps_fs / radio.eps_mp) * field_side / (d * d)
    else:
        k = math.sqrt(n / (2.0 * math.pi)) * field_side / d
    if not k >= 1.0:  # (also NaN: inf / inf in a field of 1e300 m)
        k = 1.0
    return float(min(k, n))


def auto_head_fraction(n: int, field: tuple[float, float], d_sink, radio) -> float:
    """The cluster-head fraction of ``--p auto``: p = k_opt / N for a deployment (module Notes).

    Parameters
    ----------
    n : int
        Deployed nodes N.
    field : (float, float)
        Field width W and height H [m]; the side M of the formula is sqrt(W H).
    d_sink : array_like of float
        Each deployed node's distance to the sink [m]; d_BS is their mean.
    radio : RadioModel
        The scenario's radio.

    Returns
    -------
    float
        k_opt / N, in [1/N, 1] (k_opt is clipped to [1, N]).
    """
    n = int(n)
    if n <= 0:
        return 1.0
    side = math.sqrt(float(field[0])) * math.sqrt(float(field[1]))  # (no overflow of W H)
    mean_distance = float(np.mean(np.asarray(d_sink, dtype=np.float64)))
    return optimal_cluster_count(n, side, mean_distance, radio) / n


def optimal_cluster_count_for(state) -> float:
    """k_opt for the alive nodes of a :class:`wsnmec.sim.state.NetworkState` (field side: the square root
    of the field area; d_BS: the alive nodes' mean distance to the sink)."""
    alive = state.alive
    n = int(np.count_nonzero(alive))
    if n == 0:
        return 0.0
    side = math.sqrt(state.field[0] * state.field[1])
    return optimal_cluster_count(n, side, float(state.d_sink[alive].mean()), state.scenario.radio_model())
