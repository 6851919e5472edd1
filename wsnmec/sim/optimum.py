"""The exact per-round optimum over cluster-head sets, by enumeration (small networks).

For the alive nodes of the current round (at most :data:`MAX_ENUMERATED_NODES`), every subset is a candidate
cluster-head set; each candidate's heads decide their offloading with a built-in rule (``exact`` by default:
the decisions minimising the round's system utility, :func:`wsnmec.sim.accounting.decide_offload_jit`), and
all candidates are scored with the compiled dry-run scorer in chunks. With the ``exact`` rule this is the
optimum over all 3^n (cluster head, offloading) combinations for the system utility, found with 2^n scorings.

>>> loop = RoundLoop(Scenario.from_mapping(nodes=16, rounds=5), seed=1)          # doctest: +SKIP
>>> best = enumerate_head_sets(loop)                                                # doctest: +SKIP
>>> best.value, np.flatnonzero(best.mask)                                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .rounds import RoundLoop
from .scoring import CandidateScores

#: Largest number of alive nodes enumerated (2^20 candidates).
MAX_ENUMERATED_NODES = 20


@dataclass
class EnumeratedOptimum:
    """Result of :func:`enumerate_head_sets`.

    Attributes
    ----------
    mask : bool[N]
        The best cluster-head set.
    value : float
        Its objective value (lower is better).
    candidates : int
        Number of sets scored (2^alive).
    """

    mask: np.ndarray
    value: float
    candidates: int


def system_utility_objective(scores: CandidateScores, loop: RoundLoop) -> np.ndarray:
    """The default objective: the round's system utility [J]."""
    return scores.system_utility


def enumerate_head_sets(loop: RoundLoop, objective: Callable[[CandidateScores, RoundLoop], np.ndarray] | None = None,
                        *, rule: str = "exact", chunk: int = 8192, per_node: bool = False) -> EnumeratedOptimum:
    """The best cluster-head set of the current round among all subsets of the alive nodes.

    Parameters
    ----------
    loop : RoundLoop
        The replica, between rounds (its state after the last :meth:`RoundLoop.step`); call it from a policy's
        ``elect`` to include this round's harvest.
    objective : callable, optional
        ``objective(scores, loop) -> float64[K]`` (lower is better); default the system utility.
    rule : str
        The heads' offloading rule for every candidate.
    chunk : int
        Candidates scored per call.
    per_node : bool
        Pass the per-node draws to the objective (``scores.drawn``).
    """
    alive = np.flatnonzero(loop.alive)
    n_alive = alive.size
    if n_alive > MAX_ENUMERATED_NODES:
        raise ParameterError("nodes", f"enumeration needs at most {MAX_ENUMERATED_NODES} alive nodes; got {n_alive}")
    objective = objective or system_utility_objective
    total = 1 << n_alive
    bits = np.arange(n_alive, dtype=np.int64)
    best_value = np.inf
    best_mask = np.zeros(loop.n, dtype=bool)
    for start in range(0, total, chunk):
        codes = np.arange(start, min(start + chunk, total), dtype=np.int64)
        masks = np.zeros((codes.size, loop.n), dtype=np.uint8)
        masks[:, alive] = (codes[:, None] >> bits[None, :]) & 1
        scores = loop.score(masks, rule=rule, per_node=per_node)
        values = np.asarray(objective(scores, loop), dtype=np.float64)
        j = int(np.argmin(values))
        if values[j] < best_value:
            best_value = float(values[j])
            best_mask = masks[j].astype(bool)
    return EnumeratedOptimum(mask=best_mask, value=best_value, candidates=total)
