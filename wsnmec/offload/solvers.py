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
from .kernels import gray_flip, gray_init, score
from .models import WORK_COLUMNS, OffloadModel

#: Largest n accepted by :func:`exact` (2^30 candidates per state).
MAX_EXACT_DECISIONS = 30


def exact(model: OffloadModel, states, max_decisions: int = MAX_EXACT_DECISIONS):
    """Optimal decisions by enumerating all 2^n candidates per state (Gray code, O(1) per candidate).

    Returns ``(decisions [S, n] uint8, utilities [S])``; the utility of each returned decision is
    re-scored exactly with the model's ``score`` kernel (no accumulated rounding). Ties keep the first
    decision in Gray-code order.
    """
    states = model.check_states(states)
    n = model.n_decisions
    if n > max_decisions:
        raise ParameterError("n", f"exact enumeration allows n <= {max_decisions} decisions, got {n}")
    dec = np.zeros((states.shape[0], n), dtype=np.uint8)
    util = np.empty(states.shape[0], dtype=np.float64)
    _enumerate(model.kind, states, model.params, model.sense, model.acc_size, dec, util)
    return dec, util


@njit(cache=True)
def _best_gray_code(kind, state, params, sense, work, acc, total):
    """Visit all ``total`` decisions of one state in Gray-code order; return the best one's code.

    (Kept separate from the loop over states: with the output writes in the same function LLVM
    compiled the inner loop about 10x slower.)
    """
    u = gray_init(kind, state, params, work, acc)
    best = sense * u
    best_code = np.int64(0)
    code = np.int64(0)
    for i in range(1, total):
        j = 0
        t = i
        while (t & 1) == 0:
            t >>= 1
            j += 1
        code ^= np.int64(1) << j
        u = gray_flip(kind, work, params, acc, j, (code >> j) & 1)
        if sense * u > best:
            best = sense * u
            best_code = code
    return best_code


@njit(cache=True)
def _enumerate(kind, states, params, sense, acc_size, out_dec, out_util):
    n = out_dec.shape[1]
    work = np.empty((n, 4), dtype=np.float64)
    acc = np.empty(acc_size, dtype=np.float64)
    total = np.int64(1) << n
    for s in range(states.shape[0]):
        best_code = _best_gray_code(kind, states[s], params, sense, work, acc, total)
        for q in range(n):
            out_dec[s, q] = (best_code >> q) & 1
        out_util[s] = score(kind, states[s], out_dec[s], params)


assert WORK_COLUMNS == 4  # the kernel above allocates work[n, 4]


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
    _coordinate_descent(model.kind, states, model.params, model.sense, dec, util)
    return dec, util


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
