"""Solvers and baseline policies for any :class:`~wsnmec.offload.models.OffloadModel`.

Every solver takes a model and a batch of states [S, F] and returns ``(decisions [S, n] uint8,
utilities [S])``. Utilities are in the model's natural unit; "best" means maximal ``sense * utility``.

- :func:`exact` -- the optimum by exhaustive enumeration of all 2^n decisions in Gray-code order, one
  O(1) incremental update per candidate (compiled); practical up to n ~ 24.
- :func:`coordinate_descent` -- from all-local, repeatedly apply the single flip that improves most,
  until no flip improves (a local optimum of the 1-flip neighbourhood).
- :func:`all_local`, :func:`all_offload`, :func:`random_policy` (uniform bits from a seeded Generator).
- :func:`greedy` -- the model's own greedy rule (``mumt``: each device offloads its largest tasks while
  that lowers its cost; ``wsn-ch``: see :mod:`wsnmec.offload.wsn_ch`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ParameterError
from .dispatch import COMPILED_KINDS, gray_flip, gray_init, score
from .constants import WORK_COLUMNS
from .models import OffloadModel

#: Largest n accepted by :func:`exact` (2^30 candidates per state).
MAX_EXACT_DECISIONS = 30


#: Relative tolerance of the Gray-code search: every candidate whose incrementally accumulated utility
#: is within this fraction of the best exactly scored utility so far is re-scored exactly.
EXACT_RELATIVE_TOLERANCE = 1e-9
#: The accumulators are rebuilt from scratch every 2**RESYNC_BITS candidates (bounds rounding drift).
RESYNC_BITS = 12


def exact(model: OffloadModel, states, max_decisions: int = MAX_EXACT_DECISIONS):
    """Optimal decisions by enumerating all 2^n candidates per state (Gray code, O(1) per candidate).

    Returns ``(decisions [S, n] uint8, utilities [S])``. The result is exactly optimal with respect to
    the model's own ``score`` kernel: the returned utility is ``score(state, decision)`` and no decision
    scores strictly better. Ties (equal ``score``) keep the first decision in Gray-code order.

    Notes
    -----
    The Gray-code walk updates the utility incrementally (``acc += new - old``), which accumulates
    rounding error. Two measures make the answer exact anyway: the accumulators are rebuilt from the
    all-zero decision every ``2**RESYNC_BITS`` candidates (drift stays below about ``2**12 * n`` ulps),
    and every candidate whose accumulated utility is within ``EXACT_RELATIVE_TOLERANCE`` (1e-9, far
    above that drift) of the best *exactly scored* utility so far is re-scored with ``score`` and
    compared exactly. The optimum can therefore never be skipped, and only the rare near-best candidates
    pay the O(n) re-score.
    """
    states = model.check_states(states)
    n = model.n_decisions
    if n > max_decisions:
        raise ParameterError("n", f"exact enumeration allows n <= {max_decisions} decisions, got {n}")
    if model.kind not in COMPILED_KINDS:  # a plug-in family: its score_batch_fn, in chunks of candidates
        return _exact_scored(model, states)
    dec = np.zeros((states.shape[0], n), dtype=np.uint8)
    util = np.empty(states.shape[0], dtype=np.float64)
    _enumerate(model.kind, states, model.params, model.sense, model.acc_size, EXACT_RELATIVE_TOLERANCE,
               RESYNC_BITS, dec, util)
    return dec, util


@njit(cache=True)
def _rescore(kind, state, params, code, scratch):
    """Exact utility of the decision whose bit q is bit q of ``code`` (decoded into ``scratch``)."""
    for q in range(scratch.shape[0]):
        scratch[q] = (code >> q) & 1
    return score(kind, state, scratch, params)


@njit(cache=True)
def _resync(kind, state, params, work, acc, code, n):
    """Rebuild the accumulators for decision ``code`` from the all-zero decision (at most n flips)."""
    u = gray_init(kind, state, params, work, acc)
    for q in range(n):
        if (code >> q) & 1:
            u = gray_flip(kind, work, params, acc, q, 1)
    return u


@njit(cache=True)
def _gray_run(kind, params, sense, work, acc, code, start, stop, threshold):
    """Gray-code steps ``start .. stop-1`` (O(1) flips) until one reaches ``threshold``.

    Returns ``(i, code)``: the step whose candidate ``code`` reached the threshold, or ``(stop, code)``.
    (The tight loop is kept free of other calls so that LLVM keeps it fast.)
    """
    for i in range(start, stop):
        j = 0
        t = i
        while (t & 1) == 0:
            t >>= 1
            j += 1
        code ^= np.int64(1) << j
        u = gray_flip(kind, work, params, acc, j, (code >> j) & 1)
        if sense * u >= threshold:
            return i, code
    return stop, code


@njit(cache=True)
def _best_gray_code(kind, state, params, sense, rel_tol, resync_bits, work, acc, scratch, total):
    """Visit all ``total`` decisions of one state in Gray-code order; return the best code and utility.

    Candidates whose accumulated utility is within ``rel_tol`` of the best exactly scored one are
    re-scored exactly (``_rescore``); the accumulators are rebuilt every ``2**resync_bits`` steps.
    """
    n = scratch.shape[0]
    u0 = gray_init(kind, state, params, work, acc)
    best_code = np.int64(0)
    best = sense * _rescore(kind, state, params, best_code, scratch)
    scale = abs(u0)
    threshold = best - rel_tol * (abs(best) + scale)
    code = np.int64(0)
    i = np.int64(1)
    while i < total:
        block_end = min(((i >> resync_bits) + 1) << resync_bits, total)
        hit, code = _gray_run(kind, params, sense, work, acc, code, i, block_end, threshold)
        if hit < block_end:
            v = sense * _rescore(kind, state, params, code, scratch)
            if v > best:
                best = v
                best_code = code
                threshold = best - rel_tol * (abs(best) + scale)
            i = hit + 1
        else:
            i = block_end
        if i == block_end and i < total:
            _resync(kind, state, params, work, acc, code, n)
    return best_code, sense * best


@njit(cache=True)
def _enumerate(kind, states, params, sense, acc_size, rel_tol, resync_bits, out_dec, out_util):
    n = out_dec.shape[1]
    work = np.empty((n, 4), dtype=np.float64)
    acc = np.empty(acc_size, dtype=np.float64)
    scratch = np.zeros(n, dtype=np.uint8)
    total = np.int64(1) << n
    for s in range(states.shape[0]):
        best_code, best_u = _best_gray_code(kind, states[s], params, sense, rel_tol, resync_bits, work, acc,
                                            scratch, total)
        for q in range(n):
            out_dec[s, q] = (best_code >> q) & 1
        out_util[s] = best_u


assert WORK_COLUMNS == 4  # the kernel above allocates work[n, 4]

#: Candidates scored per call by the Python paths of the solvers (plug-in families).
SCORED_CHUNK = 4096


def _exact_scored(model: OffloadModel, states: np.ndarray):
    """:func:`exact` through ``model.score`` (a family without compiled hooks): the same candidates in the same
    Gray-code order, ties keeping the first."""
    n = model.n_decisions
    bits = np.arange(n, dtype=np.int64)
    total = 1 << n
    dec = np.zeros((states.shape[0], n), dtype=np.uint8)
    util = np.empty(states.shape[0], dtype=np.float64)
    for s in range(states.shape[0]):
        best, best_u = -np.inf, np.nan
        for start in range(0, total, SCORED_CHUNK):
            steps = np.arange(start, min(start + SCORED_CHUNK, total), dtype=np.int64)
            candidates = (((steps ^ (steps >> 1))[:, None] >> bits) & 1).astype(np.uint8)
            u = model.score(states[s : s + 1], candidates[None])[0]
            winner = int(np.argmax(model.sense * u))
            if model.sense * u[winner] > best or start == 0:
                best, best_u = model.sense * u[winner], u[winner]
                dec[s] = candidates[winner]
        util[s] = best_u
    return dec, util


def coordinate_descent(model: OffloadModel, states, start=None):
    """Steepest 1-flip descent from ``start`` (default all-local) until no single flip improves.

    Returns ``(decisions [S, n] uint8, utilities [S])``.
    """
    states = model.check_states(states)
    if start is None:
        dec = np.zeros((states.shape[0], model.n_decisions), dtype=np.uint8)
    else:
        dec = model.check_decisions(start, states.shape[0], "start")[:, 0, :].copy()
    util = np.empty(states.shape[0], dtype=np.float64)
    if model.kind not in COMPILED_KINDS:  # a plug-in family
        _coordinate_descent_scored(model, states, dec, util)
    else:
        _coordinate_descent(model.kind, states, model.params, model.sense, dec, util)
    return dec, util


def _coordinate_descent_scored(model: OffloadModel, states: np.ndarray, dec: np.ndarray, util: np.ndarray) -> None:
    """:func:`coordinate_descent` through ``model.score`` (a family without compiled hooks): the same steps
    (the single flip that improves most, the lowest index among equals)."""
    n = dec.shape[1]
    flips = np.eye(n, dtype=np.uint8)
    for s in range(states.shape[0]):
        state = states[s : s + 1]
        x = dec[s]
        u = model.score(state, x[None, None, :])[0, 0]
        while True:
            v = model.score(state, (x[None, :] ^ flips)[None])[0]
            j = int(np.argmax(model.sense * v))
            if not model.sense * v[j] > model.sense * u:
                break
            x[j] ^= 1
            u = v[j]
        util[s] = u


@njit(cache=True)
def _coordinate_descent(kind, states, params, sense, dec, util):
    n = dec.shape[1]
    for s in range(states.shape[0]):
        x = dec[s]
        u = score(kind, states[s], x, params)
        while True:
            best_j = -1
            best = sense * u
            best_u = u
            for j in range(n):
                x[j] ^= 1
                v = score(kind, states[s], x, params)
                x[j] ^= 1
                if sense * v > best:
                    best = sense * v
                    best_u = v
                    best_j = j
            if best_j < 0:
                break
            x[best_j] ^= 1
            u = best_u
        util[s] = u


def all_local(model: OffloadModel, states):
    """Every decision 0 (compute locally)."""
    states = model.check_states(states)
    dec = np.zeros((states.shape[0], model.n_decisions), dtype=np.uint8)
    return dec, model.score(states, dec)


def all_offload(model: OffloadModel, states):
    """Every decision 1 (offload)."""
    states = model.check_states(states)
    dec = np.ones((states.shape[0], model.n_decisions), dtype=np.uint8)
    return dec, model.score(states, dec)


def random_policy(model: OffloadModel, states, rng: np.random.Generator):
    """Independent fair-coin decisions drawn from ``rng``."""
    states = model.check_states(states)
    dec = rng.integers(0, 2, size=(states.shape[0], model.n_decisions)).astype(np.uint8)
    return dec, model.score(states, dec)


def greedy(model: OffloadModel, states):
    """The model's greedy rule (see the model module)."""
    states = model.check_states(states)
    dec = np.ascontiguousarray(model.greedy_fn(model, states), dtype=np.uint8)
    return dec, model.score(states, dec)


#: Baseline policies by name, as reported by the online comparison and the CLI (``random`` takes rng).
BASELINES = {
    "optimal": exact,
    "coordinate-descent": coordinate_descent,
    "greedy": greedy,
    "all-local": all_local,
    "all-offload": all_offload,
    "random": random_policy,
}
