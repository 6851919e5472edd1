"""Imported once by the forkserver of the study workers (:data:`wsnmec.study.runner.WORKER_PRELOAD`).

numba's first call of any compiled kernel in a process loads numba's own implementation modules (about a
second of CPU); doing it here, once, before the workers are forked from this process, spares every worker
of every pool that cost. The call loads (or, on a cold cache, compiles) one small kernel of the simulator.
"""

from __future__ import annotations

import numpy as np

from ..sim.nearest import sink_distances

sink_distances(np.zeros(1), np.zeros(1), 0.0, 0.0)
