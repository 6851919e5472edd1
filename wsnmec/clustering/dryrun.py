"""Dry-run selection of cluster-head sets, shared by the sink-side policies ``ddnn``, ``ddnn-rule``,
``spread`` and ``anneal``: the candidate sizes around k_opt, the objective J, the compiled scoring of
candidate sets, and the small-network local search.

The policies differ only in how they *propose* head sets (learned scores, residual energy, spatial spread,
annealing); every proposal is scored here by the accounting the round loop executes
(:func:`wsnmec.sim.accounting.score_candidates_jit`, with the scenario's built-in offloading rule), so a
comparison between them is a comparison of proposers under one objective.

Notes
-----
**Objective** (lower is better; drawn_i [J] the candidate's per-node draw of this round, e_i [J] the
residual energy of alive node i at election time, T [s] the round latency, w_T [J/s] the time weight of
the system utility, e_bar [J] the alive nodes' mean residual energy):

    J = sum_i drawn_i / e_i + w_T T / e_bar

(the reasoning is in :mod:`wsnmec.clustering.ddnn`'s Notes: the first-order decrease of sum_i ln e_i plus
the time term).

The scorer applies the accounting's *kept clusters* rule (:mod:`wsnmec.sim.accounting` Notes) against the
live round loop's previous receivers (``state.previous_receivers``): a candidate equal to the previous
round's heads (all alive, no node revived) is scored without set-up messages, as the round would charge it.

**Sizes**: ``clip(round(k_opt * f), 1, alive)`` for f in :data:`SIZE_FACTORS` (halves up, repeats removed),
k_opt the radio model's optimal cluster count for the alive nodes (:mod:`wsnmec.clustering.optimal`,
Heinzelman et al. 2002 [1]_) with the field side sqrt(W H) and the alive nodes' mean distance to the sink.

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002.
"""

from __future__ import annotations

import math

import numpy as np

from .optimal import optimal_cluster_count

#: Candidate sizes relative to k_opt (each clipped to [1, alive nodes]); the empty set is always added.
SIZE_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)

#: Small networks (at most this many alive nodes) refine the best candidate by single-node toggles: there
#: k_opt is about 1 and the sizes around it are too coarse to contain the best set.
REFINE_MAX_ALIVE = 32
#: Toggle passes at most (each scores one candidate per alive node and keeps the best if J falls).
REFINE_PASSES = 4

OBJECTIVE = "sum_i drawn_i / e_i + w_T latency / mean_alive(e)"


def candidate_objective(drawn, latency, energy, alive, time_weight: float, prices=None) -> np.ndarray:
    """The objective J [1/1] of K candidates (module Notes; lower is better).

    ``drawn`` [J] per-node draws [K, N], ``latency`` [s] [K], ``energy`` [J] residual energies [N] at
    election time, ``alive`` bool [N], ``time_weight`` w_T [J/s]. ``prices`` [1/J] [N]: each node's price of
    a joule in place of 1 / e_i (``ddnn-price``, :mod:`wsnmec.clustering.priced`); the time term is the same.
    """
    alive = np.asarray(alive, dtype=bool)
    if prices is None:
        prices = np.zeros(energy.shape[0])
        prices[alive] = 1.0 / np.maximum(energy[alive], 1e-300)
    mean_e = float(energy[alive].mean()) if alive.any() else 1.0
    return np.asarray(drawn) @ prices + time_weight * np.asarray(latency) / mean_e


def head_set_sizes(state, size_factors, radio, alive_count: int) -> np.ndarray:
    """Candidate set sizes ``clip(round(k_opt * size_factors), 1, alive)`` without repeats (module Notes);
    ``radio`` the scenario's radio model."""
    side = math.sqrt(float(state.field[0]) * float(state.field[1]))
    k_opt = optimal_cluster_count(alive_count, side, float(state.d_sink[state.alive].mean()), radio)
    factors = np.asarray(size_factors, dtype=np.float64)
    sizes = np.clip(np.floor(k_opt * factors + 0.5), 1, alive_count).astype(np.int64)
    return np.unique(sizes)


def distinct_rows(masks: np.ndarray) -> np.ndarray:
    """``masks`` without repeated rows (first occurrence order kept)."""
    seen = set()
    keep = []
    for index in range(masks.shape[0]):
        key = masks[index].tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(index)
    return masks[keep] if len(keep) < masks.shape[0] else masks


class CandidateScorer:
    """ddnn's objective J of head sets of one replica's network, scored through the state
    (:meth:`wsnmec.sim.state.NetworkState.score`), with a count of the sets scored."""

    def __init__(self, state):
        #: candidate sets scored since the scorer was made (for budgets and diagnostics)
        self.scored = 0

    def __call__(self, state, masks):
        """``(J [C], latency [C] [s], utility [C] [J])`` of the head sets ``masks`` (uint8 [C, N]) on the
        current state, with the scenario's offloading rule (module Notes)."""
        from ..energy.layout import P_TIME_WEIGHT

        drawn, latency, utility = self.draws(state, masks)
        j = candidate_objective(drawn, latency, state.energy, state.alive, float(state.params[P_TIME_WEIGHT]))
        return j, latency, utility

    def draws(self, state, masks):
        """``(drawn [C, N] [J], latency [C] [s], utility [C] [J])``: each node's draw in the dry run of each
        head set, with the round latency and the system utility (:meth:`wsnmec.sim.state.NetworkState.score`
        with the scenario's offloading rule)."""
        scores = state.score(masks, rule=state.scenario.offload, per_node=True)
        self.scored += scores.energy_j.shape[0]
        return scores.drawn, scores.latency_s, scores.system_utility


def refine(score, state, mask, value: float, alive, passes: int = REFINE_PASSES) -> np.ndarray:
    """Best-improvement local search (used on small networks, :data:`REFINE_MAX_ALIVE`): the neighbours of
    the head set are every single toggle (one alive node in or out) and every swap (one head for one alive
    non-head); the best neighbour replaces the set while J falls (at most ``passes`` passes; deterministic,
    no random draws). ``score(state, masks)`` returns ``(J, ...)``; ``value`` is J of ``mask``."""
    rows = np.arange(alive.shape[0])
    for _ in range(passes):
        toggles = np.repeat(mask[None, :].astype(np.uint8), alive.shape[0], axis=0)
        toggles[rows, alive] ^= 1
        heads = alive[mask[alive]]
        others = alive[~mask[alive]]
        swaps = np.repeat(mask[None, :].astype(np.uint8), heads.shape[0] * others.shape[0], axis=0)
        if swaps.shape[0]:
            pairs = np.arange(swaps.shape[0])
            swaps[pairs, np.repeat(heads, others.shape[0])] = 0
            swaps[pairs, np.tile(others, heads.shape[0])] = 1
        trials = np.concatenate([toggles, swaps])
        j = score(state, trials)[0]
        k = int(np.argmin(j))
        if not j[k] < value:
            break
        value = float(j[k])
        mask = trials[k].astype(np.bool_)
    return mask


def choose(score, state, masks, alive) -> tuple[np.ndarray, np.ndarray]:
    """The executed set of a proposer's candidates: the argmin of J over ``masks`` (first on ties), refined
    by :func:`refine` when at most :data:`REFINE_MAX_ALIVE` nodes are alive. Returns ``(mask bool[N], J
    [C] of the candidates)``."""
    j = score(state, masks)[0]
    best = int(np.argmin(j))
    mask = masks[best].astype(np.bool_)
    if alive.shape[0] <= REFINE_MAX_ALIVE:
        mask = refine(score, state, mask, float(j[best]), alive)
    return mask, j
