"""The offloading-model interface shared by solvers, baselines, learners and the simulator.

An offloading model maps a *state* (one row of floats: task sizes, distances, residual energies...) and a
binary *decision* vector of length ``n`` (1 = offload) to a scalar *system utility*. Models score many
candidate decisions for many states in one compiled call.

Convention for "better"
-----------------------
Every model returns its utility in its natural unit (a cost in joules for ``mumt``, for example) and
carries a ``sense``: ``-1.0`` when lower is better (costs), ``+1.0`` when higher is better (rates). All
solvers and learners maximise ``sense * utility``, so a rate-maximising model only needs ``sense = +1``.
The *normalized utility* of a decision is 1.0 at the optimum and lower elsewhere for both kinds:

    cost model (sense = -1):  U* / U        rate model (sense = +1):  U / U*

(:func:`normalized_utility`). For costs this is the ratio DDLO reports (Q*/Q).

Kernel protocol
---------------
A model family supplies three ``@njit`` functions taking plain arrays; generic kernels (exhaustive
enumeration, coordinate descent, the learner's candidate scoring) reach them through the compiled
dispatch table :mod:`wsnmec.offload.dispatch` by the family's integer ``kind``:

``score(state[F], decision[n] uint8, params[P]) -> float``
    The utility of one decision.
``gray_init(state, params, work[n, 4], acc[A]) -> float``
    Precompute per-decision constants into ``work``, set the accumulators ``acc`` for the all-zero
    decision and return its utility.
``gray_flip(work, params, acc, j, bit) -> float``
    Set decision ``j`` to ``bit`` (0/1), update ``acc`` in O(1) and return the new utility. Used by the
    Gray-code enumeration, which visits all 2^n decisions with one flip each.
``score_batch(states[S, F], decisions[S, C, n], params, out[S, C])``
    ``out[s, c] = score(states[s], decisions[s, c])``; carried by the model as ``score_batch_fn`` so
    that this interface never imports an implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ParameterError
from .constants import WORK_COLUMNS  # noqa: F401  (re-exported: part of the kernel protocol)


@dataclass(frozen=True)
class OffloadModel:
    """A configured offloading model (immutable).

    Parameters
    ----------
    name : str
        Model family (``"mumt"``, ``"wsn-ch"``).
    n_decisions : int
        Length ``n`` of a decision vector.
    n_state : int
        Length ``F`` of a state row.
    sense : float
        ``-1.0`` if lower utility is better (cost), ``+1.0`` if higher is better (rate).
    params : numpy.ndarray
        The model's packed float64 parameter vector passed to its kernels.
    kind : int
        The family's kernel id (:data:`wsnmec.offload.dispatch.MODEL_KINDS`; a plug-in family's models:
        :data:`wsnmec.offload.constants.PLUGIN_KIND`).
    acc_size : int
        Length of the accumulator array used by the Gray-code kernels.
    config : dict
        Every effective parameter with its name (recorded in outputs).
    random_states_fn : callable
        ``(rng, count) -> states [count, F]``: states drawn for training.
    features_fn : callable
        ``(states) -> features [S, F_in]``: the learner's (scaled) input.
    greedy_fn : callable
        ``(model, states) -> decisions [S, n] uint8``: the model's greedy rule.
    score_batch_fn : callable
        The family's compiled ``score_batch(states, decisions, params, out)`` (module docstring).
    """

    name: str
    n_decisions: int
    n_state: int
    sense: float
    params: np.ndarray
    kind: int
    acc_size: int
    config: dict
    random_states_fn: Callable = field(repr=False)
    features_fn: Callable = field(repr=False)
    greedy_fn: Callable = field(repr=False)
    score_batch_fn: Callable = field(repr=False, default=None)

    # ------------------------------------------------------------------ public helpers
    def check_states(self, states, name: str = "states") -> np.ndarray:
        """Return ``states`` as a C-contiguous float64 array [S, F]; raise ParameterError otherwise."""
        arr = np.asarray(states, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_state:
            raise ParameterError(
                name, f"must have shape [S, {self.n_state}] for model {self.name}, got {np.shape(states)}"
            )
        if not np.all(np.isfinite(arr)):
            raise ParameterError(name, "must be finite")
        return np.ascontiguousarray(arr)

    def check_decisions(self, decisions, states_count: int, name: str = "decisions") -> np.ndarray:
        """Return ``decisions`` as uint8 [S, C, n] (a [S, n] input becomes C = 1)."""
        arr = np.asarray(decisions)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.ndim != 3 or arr.shape[0] != states_count or arr.shape[2] != self.n_decisions:
            raise ParameterError(
                name,
                f"must have shape [S={states_count}, C, n={self.n_decisions}] or [S, n], got {np.shape(decisions)}",
            )
        if arr.dtype != np.bool_ and not np.all((arr == 0) | (arr == 1)):
            raise ParameterError(name, "must hold only 0 and 1")
        return np.ascontiguousarray(arr.astype(np.uint8))

    def score(self, states, decisions) -> np.ndarray:
        """Utilities [S, C] of candidate decisions [S, C, n] (or [S] for decisions [S, n]).

        Parameters
        ----------
        states : array_like [S, F]
        decisions : array_like of 0/1, [S, C, n] or [S, n]
        """
        states = self.check_states(states)
        two_d = np.ndim(decisions) == 2
        dec = self.check_decisions(decisions, states.shape[0])
        if self.score_batch_fn is None:
            raise NotImplementedError(f"model family {self.name!r} supplies no score_batch_fn")
        out = np.empty(dec.shape[:2], dtype=np.float64)
        self.score_batch_fn(states, dec, self.params, out)
        return out[:, 0] if two_d else out

    def random_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` states drawn with ``rng`` from the model's training distribution."""
        return self.random_states_fn(rng, int(count))

    def features(self, states) -> np.ndarray:
        """The learner's input features [S, F_in] (scaled to order one)."""
        return np.ascontiguousarray(self.features_fn(self.check_states(states)), dtype=np.float64)

    def better(self, a, b):
        """Elementwise: is utility ``a`` strictly better than ``b``?"""
        return self.sense * np.asarray(a) > self.sense * np.asarray(b)


#: Largest magnitude of a model constant (``--param``): with every constant within [MIN_RATE, MAX_CONSTANT]
#: and task sizes within their bounds, no cost, time or energy of a frame can overflow a float64.
MAX_CONSTANT = 1e12
#: Smallest value of a constant that divides (rates, frequencies, bandwidths, reference energies).
MIN_RATE = 1e-12


def check_constant(name: str, value, *, rate: bool = False, signed: bool = False) -> float:
    """A model constant as a float in [0, MAX_CONSTANT] ([MIN_RATE, MAX_CONSTANT] for a ``rate``,
    [-MAX_CONSTANT, MAX_CONSTANT] when ``signed``), else :class:`ParameterError` with the allowed range."""
    from ..errors import check_float

    low = -MAX_CONSTANT if signed else (MIN_RATE if rate else 0.0)
    return check_float(name, value, low, MAX_CONSTANT)


def normalized_utility(utility, optimum, sense: float) -> np.ndarray:
    """1.0 at the optimum and lower elsewhere: ``U*/U`` for costs (sense -1), ``U/U*`` for rates (+1).

    A utility equal to the reference is 1.0, also when both are 0 (a frame whose every cost is 0)."""
    utility = np.asarray(utility, dtype=np.float64)
    optimum = np.asarray(optimum, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = optimum / utility if sense < 0 else utility / optimum
    return np.where(utility == optimum, 1.0, ratio)
