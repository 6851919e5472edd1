"""The model dispatch table: compiled dispatch from a model id to the model family's kernels.

Generic kernels (batch scoring, exhaustive enumeration, coordinate descent, the learner's candidate
scoring) take the model family as a small integer ``kind`` and call :func:`score`, :func:`gray_init` and
:func:`gray_flip`, which branch to the family's ``@njit`` functions. Passing the family's dispatchers as
first-class function arguments would also work, but numba's on-disk cache cannot reliably store
functions specialised on dispatcher types (the cache index then fails to pickle in a second process), so
this closed dispatch keeps every kernel cacheable. A new compiled family declares its id (``kind``) and hooks
in its :class:`~wsnmec.offload.family.OffloadFamily` and adds one branch in each function here
(``tests/test_offload_conformance.py`` checks that every registered compiled family has them). This module
imports the families; the interface (:mod:`.models`) and the families import only :mod:`.constants` and
:mod:`.family`. A model whose ``kind`` is not in :data:`COMPILED_KINDS` (a plug-in family's) never reaches
these kernels (the solvers and the learner take their Python path for it); they return NaN for it.

numba invalidates a cached kernel only when *its own* source file changes; the package drops every cached
kernel on import when any of its source files changed (:mod:`wsnmec.kernel_cache`), so the callers here and
in ``solvers.py`` and ``ddlo.py`` are recompiled after an edit of a family's kernels or of
``wsnmec/energy/radio.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .mumt import FAMILY as MUMT_FAMILY
from .mumt import MUMT_KIND, mumt_gray_flip, mumt_gray_init, mumt_score
from .wpmec import FAMILY as WPMEC_FAMILY
from .wpmec import WPMEC_KIND, wpmec_gray_flip, wpmec_gray_init, wpmec_score
from .wsn_ch import FAMILY as WSN_CH_FAMILY
from .wsn_ch import WSN_CH_KIND, wsn_ch_gray_flip, wsn_ch_gray_init, wsn_ch_score

#: Compiled family -> kernel id (``OffloadModel.kind``), the families this dispatch branches to.
MODEL_KINDS = {family.name: family.kind for family in (MUMT_FAMILY, WSN_CH_FAMILY, WPMEC_FAMILY)}
#: The kernel ids with a branch here.
COMPILED_KINDS = frozenset(MODEL_KINDS.values())


@njit(cache=True)
def score(kind, state, decision, params):
    """Utility of one decision for model family ``kind``."""
    if kind == MUMT_KIND:
        return mumt_score(state, decision, params)
    if kind == WPMEC_KIND:
        return wpmec_score(state, decision, params)
    if kind == WSN_CH_KIND:
        return wsn_ch_score(state, decision, params)
    return np.nan


@njit(cache=True)
def gray_init(kind, state, params, work, acc):
    """Gray-code setup for the all-zero decision; returns its utility."""
    if kind == MUMT_KIND:
        return mumt_gray_init(state, params, work, acc)
    if kind == WPMEC_KIND:
        return wpmec_gray_init(state, params, work, acc)
    if kind == WSN_CH_KIND:
        return wsn_ch_gray_init(state, params, work, acc)
    return np.nan


@njit(cache=True, inline="always")
def gray_flip(kind, work, params, acc, j, bit):
    """Set decision j to bit; returns the new utility (O(1))."""
    if kind == MUMT_KIND:
        return mumt_gray_flip(work, params, acc, j, bit)
    if kind == WPMEC_KIND:
        return wpmec_gray_flip(work, params, acc, j, bit)
    if kind == WSN_CH_KIND:
        return wsn_ch_gray_flip(work, params, acc, j, bit)
    return np.nan
