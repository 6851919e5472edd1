"""Quantization: from real-valued scores (logits or probabilities) to binary candidate vectors.

- :func:`threshold` -- one candidate: ``x_j = [s_j > level]`` (level 0 on logits = 0.5 on probabilities;
  DDLO's rule [1]_).
- :func:`order_preserving` -- C candidates per score vector (DROO's order-preserving quantization [2]_):
  candidate 1 is the threshold; candidate q >= 2 takes the (q-1)-th entry i closest to the level and sets
  ``x_j = [s_j >= s_i]`` if ``s_i <= level``, ``x_j = [s_j > s_i]`` otherwise. Candidates keep the order
  of the scores, and at most n + 1 of them exist. Ties in distance keep the lower index (stable sort).
- :func:`top_k` -- one candidate per requested size k: the k highest-scored entries (ties: lower index),
  e.g. cluster-head sets of several sizes from per-node scores.

Each takes a batch of score vectors [..., n] and returns uint8 candidates [..., C, n]. The compiled
kernels (:func:`order_preserving_into`, :func:`top_k_into`) take plain 2-D arrays and can be called from
other ``@njit`` code (e.g. to quantize and score in one compiled call).

References
----------
.. [1] L. Huang, X. Feng, A. Feng, Y. Huang, L. P. Qian, "Distributed Deep Learning-based Offloading for
   Mobile Edge Computing Networks", Mobile Networks and Applications, 2018.
.. [2] L. Huang, S. Bi, Y. J. A. Zhang, "Deep Reinforcement Learning for Online Computation Offloading in
   Wireless Powered Mobile-Edge Computing Networks", IEEE Trans. Mobile Computing 19(11), 2020.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ParameterError, check_int


@njit(cache=True)
def order_preserving_into(scores, per_vector, level, cand):
    """Fill cand [V*per_vector, n] with each of the V score vectors' candidates (scores [V, n])."""
    V, n = scores.shape
    for k in range(V):
        z = scores[k]
        base = k * per_vector
        for j in range(n):
            cand[base, j] = 1 if z[j] > level else 0
        if per_vector > 1:
            order = np.argsort(np.abs(z - level), kind="mergesort")
            for q in range(1, per_vector):
                zi = z[order[q - 1]]
                for j in range(n):
                    if zi <= level:
                        cand[base + q, j] = 1 if z[j] >= zi else 0
                    else:
                        cand[base + q, j] = 1 if z[j] > zi else 0


@njit(cache=True)
def top_k_into(scores, sizes, cand):
    """Fill cand [V*len(sizes), n]: for vector k and size q, the sizes[q] highest scores set to 1.

    Ties go to the lower index (the order of a stable sort of the negated scores). Only the largest size m is
    ordered: the m-th largest value is found by partition (O(n)), the entries at least that large are sorted
    stably, so a vector costs O(n + m' log m') with m' the entries tied with or above it.
    """
    V, n = scores.shape
    per = sizes.shape[0]
    m = 0
    for q in range(per):
        m = max(m, min(sizes[q], n))
    for k in range(V):
        base = k * per
        for q in range(per):
            for j in range(n):
                cand[base + q, j] = 0
        if m == 0:
            continue
        neg = -scores[k]
        threshold = np.partition(neg, m - 1)[m - 1]
        count = 0
        for j in range(n):
            if neg[j] <= threshold:
                count += 1
        picked = np.empty(count, dtype=np.int64)
        keys = np.empty(count, dtype=np.float64)
        c = 0
        for j in range(n):
            if neg[j] <= threshold:
                picked[c] = j
                keys[c] = neg[j]
                c += 1
        order = picked[np.argsort(keys, kind="mergesort")]
        for q in range(per):
            for r in range(min(sizes[q], n)):
                cand[base + q, order[r]] = 1


def _as_vectors(scores, name):
    z = np.asarray(scores, dtype=np.float64)
    if z.ndim < 1 or z.shape[-1] < 1:
        raise ParameterError(name, f"must have a last dimension n >= 1, got shape {z.shape}")
    if np.isnan(z).any():
        raise ParameterError(name, "must not hold NaN")
    return np.ascontiguousarray(z.reshape(-1, z.shape[-1])), z.shape[:-1]


def threshold(scores, level: float = 0.0) -> np.ndarray:
    """``[scores > level]`` as uint8, same shape (one candidate per score vector)."""
    return (np.asarray(scores, dtype=np.float64) > level).astype(np.uint8)


def order_preserving(scores, candidates: int, level: float = 0.0) -> np.ndarray:
    """DROO's order-preserving candidates [..., C, n] from score vectors [..., n] (module docstring).

    ``candidates`` C in [1, n + 1]; ``level`` is 0 for logits, 0.5 for probabilities.
    """
    z, lead = _as_vectors(scores, "scores")
    n = z.shape[1]
    C = check_int("candidates", candidates, 1, n + 1)
    cand = np.zeros((z.shape[0] * C, n), dtype=np.uint8)
    order_preserving_into(z, C, float(level), cand)
    return cand.reshape(*lead, C, n)


def top_k(scores, sizes) -> np.ndarray:
    """Candidates [..., len(sizes), n]: for each size k, the k highest-scored entries of each vector."""
    z, lead = _as_vectors(scores, "scores")
    k = np.atleast_1d(np.asarray(sizes))
    if k.ndim != 1 or k.size < 1 or not np.issubdtype(k.dtype, np.integer) or np.any(k < 0):
        raise ParameterError("sizes", f"must be one or more integers >= 0, got {sizes!r}")
    k = np.ascontiguousarray(k, dtype=np.int64)
    cand = np.zeros((z.shape[0] * k.size, z.shape[1]), dtype=np.uint8)
    top_k_into(z, k, cand)
    return cand.reshape(*lead, k.size, z.shape[1])
