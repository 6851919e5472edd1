"""The model dispatch table: compiled dispatch from a model id to the model family's kernels.

Generic kernels (batch scoring, exhaustive enumeration, coordinate descent, the learner's candidate
scoring) take the model family as a small integer ``kind`` and call :func:`score`, :func:`gray_init` and
:func:`gray_flip`, which branch to the family's ``@njit`` functions. Passing the family's dispatchers as
first-class function arguments would also work, but numba's on-disk cache cannot reliably store
functions specialised on dispatcher types (the cache index then fails to pickle in a second process), so
this closed dispatch keeps every kernel cacheable. A new model family adds one id in
:data:`wsnmec.offload.constants.MODEL_KINDS` and one branch in each function here. This module imports the
families; the interface (:mod:`.models`) and the families import only :mod:`.constants`.

Caveat (numba): a cached kernel is invalidated only when *its own* source file changes. After editing a
family's kernels (``mumt.py``, ``wsn_ch.py``) or ``wsnmec/energy/radio.py`` during development, delete
``wsnmec/offload/__pycache__/*.nbi`` and ``*.nbc`` so that the callers here and in ``solvers.py`` and
``ddlo.py`` are recompiled.
"""

from __future__ import annotations

from numba import njit

from .constants import MODEL_KINDS
from .mumt import mumt_gray_flip, mumt_gray_init, mumt_score
from .wpmec import wpmec_gray_flip, wpmec_gray_init, wpmec_score
from .wsn_ch import wsn_ch_gray_flip, wsn_ch_gray_init, wsn_ch_score

_MUMT = MODEL_KINDS["mumt"]
_WPMEC = MODEL_KINDS["wpmec"]


@njit(cache=True)
def score(kind, state, decision, params):
    """Utility of one decision for model family ``kind``."""
    if kind == _MUMT:
        return mumt_score(state, decision, params)
    if kind == _WPMEC:
        return wpmec_score(state, decision, params)
    return wsn_ch_score(state, decision, params)


@njit(cache=True)
def gray_init(kind, state, params, work, acc):
    """Gray-code setup for the all-zero decision; returns its utility."""
    if kind == _MUMT:
        return mumt_gray_init(state, params, work, acc)
    if kind == _WPMEC:
        return wpmec_gray_init(state, params, work, acc)
    return wsn_ch_gray_init(state, params, work, acc)


@njit(cache=True, inline="always")
def gray_flip(kind, work, params, acc, j, bit):
    """Set decision j to bit; returns the new utility (O(1))."""
    if kind == _MUMT:
        return mumt_gray_flip(work, params, acc, j, bit)
    if kind == _WPMEC:
        return wpmec_gray_flip(work, params, acc, j, bit)
    return wsn_ch_gray_flip(work, params, acc, j, bit)
