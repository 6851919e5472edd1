"""Lifetime metrics and confidence intervals.

Notes
-----
FND, HND and LND (first, half and last node dies) are the numbers of the rounds (counted from 1) at the end
of which, respectively, fewer than N nodes, at most N/2 nodes (at least half dead) and no node were alive.
They are ``None`` when the run ended before that happened.
"""

from __future__ import annotations

import math

import numpy as np


def lifetime_rounds(alive, nodes: int) -> tuple[int | None, int | None, int | None]:
    """FND, HND and LND from the alive count at the end of rounds 1, 2, ... (see module Notes).

    Parameters
    ----------
    alive : array_like of int
        Alive nodes at the end of each round, in round order.
    nodes : int
        Number of nodes N in the network.
    """
    alive = np.asarray(alive)
    return _first_round(alive < nodes), _first_round(2 * alive <= nodes), _first_round(alive == 0)


def _first_round(mask) -> int | None:
    """The first round (counted from 1) whose entry of ``mask`` is true; ``None`` when none is."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if hits.size else None


def lifetime_at_threshold(alive, nodes: int, percent: float) -> int | None:
    """Lifetime at a dead-node threshold: the first round (counted from 1) at whose end at least ``percent``
    % of the N nodes are dead, i.e. ``100 (N - alive) >= percent N``; ``None`` when the run ended before.

    ``percent`` in (0, 100]: 50 gives HND and 100 gives LND (:func:`lifetime_rounds`); any percent at most
    100 / N gives FND.

    Parameters
    ----------
    alive : array_like of int
        Alive nodes at the end of each round, in round order.
    nodes : int
        Number of nodes N in the network.
    percent : float
        Dead-node threshold [%].
    """
    dead = nodes - np.asarray(alive, dtype=np.int64)
    return _first_round(100.0 * dead >= percent * nodes)


def stability_period(fnd: int | None) -> int | None:
    """The stability period [rounds]: the rounds completed before the first node died, ``FND - 1``.

    Notes
    -----
    Smaragdakis, Matta and Bestavros (SEP, 2004) define the stability period as the interval from the
    start of the network's operation until the death of the first node (the unstable period follows, until
    the last node dies). FND is the round at whose end the first node was dead, so ``FND - 1`` rounds ended
    with every node alive. ``None`` when no node died in the run (the period is then at least the rounds
    simulated).
    """
    return None if fnd is None else int(fnd) - 1


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of ``values`` (NaN/None ignored).

    Returns ``(mean, low, high)``; the interval is ``(mean, mean)`` for one value and all NaN for none.
    """
    from scipy.special import stdtrit  # the Student-t quantile (what scipy.stats.t.ppf computes), a 1 s lighter import

    data = np.asarray([v for v in values if v is not None], dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(data.mean())
    if data.size == 1:
        return (mean, mean, mean)
    sem = float(data.std(ddof=1)) / math.sqrt(data.size)
    half = float(stdtrit(data.size - 1, 0.5 + confidence / 2.0)) * sem
    return (mean, mean - half, mean + half)
