"""Dry-run scoring of candidate head sets on a network's current state: :class:`HeadSetScorer`.

The one entry point policies and tools score through (:meth:`wsnmec.sim.state.NetworkState.score`,
:meth:`wsnmec.sim.rounds.RoundLoop.score`): it runs the compiled scorer
(:func:`wsnmec.sim.accounting.score_candidates_jit`, the round's accounting on scratch copies) with its own
scratch workspace, so no policy calls the compiled kernel or builds its workspace itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .accounting import OFFLOAD_RULES, Workspace, score_candidates_jit
from .nearest import bounding_box
from .state import kernel_input

EMPTY = np.zeros(0, dtype=np.float64)
EMPTY_2D = np.zeros((0, 0), dtype=np.float64)


@dataclass
class CandidateScores:
    """Dry-run results of K candidates (:meth:`HeadSetScorer.score`).

    Attributes
    ----------
    energy_j : float64[K]
        Energy the round would draw [J].
    latency_s : float64[K]
        The round's latency [s].
    system_utility : float64[K]
        ``energy_j + w_T latency_s`` [J].
    delivered_bits : float64[K]
        Sensed bits that would reach the sink [bit].
    drawn : float64[K, N] or None
        Per-node draw [J] (when requested).
    """

    energy_j: np.ndarray
    latency_s: np.ndarray
    system_utility: np.ndarray
    delivered_bits: np.ndarray
    drawn: np.ndarray | None


class HeadSetScorer:
    """Scores head sets on one network's live arrays, which it reads and never writes.

    Parameters
    ----------
    x, y : float64[N]
        Node positions [m].
    d_sink : float64[N]
        Distances to the sink [m].
    energy : float64[N]
        Residual energies [J] (read at each call: the current state).
    alive : uint8[N]
        1 for alive nodes.
    params : float64[:]
        The packed round constants (:func:`wsnmec.sim.accounting.round_parameters`).
    bbox : float64[4]
        Bounding box of the positions (:func:`wsnmec.sim.nearest.bounding_box`).
    previous : int64[N] or int64[0]
        The previous round's receivers (a candidate equal to them pays no set-up messages), or empty.
    """

    def __init__(self, x, y, d_sink, energy, alive, params, bbox, previous):
        self.x, self.y, self.d_sink, self.energy, self.alive = x, y, d_sink, energy, alive
        self.params, self.bbox, self.previous = params, bbox, previous
        self.n = int(x.shape[0])
        self.work = Workspace(self.n)
        self._scratch_energy = np.zeros(self.n, dtype=np.float64)
        self._scratch_alive = np.zeros(self.n, dtype=np.uint8)

    @staticmethod
    def _state_inputs(state) -> tuple:
        """The kernel inputs of a :class:`~wsnmec.sim.state.NetworkState` (their live arrays when the state's
        arrays are read-only views: :func:`~wsnmec.sim.state.kernel_input`): x, y, d_sink, energy, alive,
        params, previous."""
        return tuple(kernel_input(a) for a in (state.x, state.y, state.d_sink, state.energy, state.alive_u8,
                                                state.params, state.previous_receivers))

    @classmethod
    def for_state(cls, state) -> "HeadSetScorer":
        """A scorer on the arrays of a :class:`~wsnmec.sim.state.NetworkState`."""
        x, y, d_sink, energy, alive, params, previous = cls._state_inputs(state)
        return cls(x, y, d_sink, energy, alive, params, bounding_box(x, y), previous)

    def _inputs(self) -> tuple:
        return self.x, self.y, self.d_sink, self.energy, self.alive, self.params, self.previous

    def reads(self, state) -> bool:
        """Whether this scorer reads exactly ``state``'s arrays (the same objects)."""
        return all(a is b for a, b in zip(self._state_inputs(state), self._inputs()))

    def bind(self, state) -> None:
        """Read ``state``'s arrays from now on (same N; the bounding box follows new positions)."""
        x, y, d_sink, energy, alive, params, previous = self._state_inputs(state)
        if x is not self.x or y is not self.y:
            self.bbox = bounding_box(x, y)
        self.x, self.y, self.d_sink, self.energy, self.alive = x, y, d_sink, energy, alive
        self.params, self.previous = params, previous

    def score(self, masks, decisions=None, *, rule: str | None = None, per_node: bool = False) -> CandidateScores:
        """Dry-run K candidates against the current state (after this round's harvest, e.g. from a policy's
        ``elect``) without changing it.

        Parameters
        ----------
        masks : bool or uint8 array (K, N)
            Cluster heads of each candidate (dead nodes are ignored).
        decisions : uint8 array (K, N), optional
            Offloading decision of each node as CH (1 edge); required unless ``rule`` is given.
        rule : str, optional
            A built-in rule (``local``, ``edge``, ``greedy``, ``exact``) deciding each candidate's heads.
        per_node : bool
            Also return each candidate's per-node draw [J].

        Notes
        -----
        The scores include the scenario's idle energy and the control pattern of the clustering policy
        (``--control-bits``; none for a candidate that keeps the previous round's clusters, accounting Notes
        *Kept clusters*), but not a policy's own extra control energy
        (:meth:`wsnmec.clustering.base.ClusteringPolicy.control_energy`), which the policy knows itself.
        """
        masks = np.ascontiguousarray(np.asarray(masks), dtype=np.uint8)
        if masks.ndim == 1:
            masks = masks[None, :]
        if masks.ndim != 2 or masks.shape[1] != self.n:
            raise ParameterError("masks", f"must have shape (K, {self.n}), got {masks.shape}")
        k = masks.shape[0]
        if rule is not None:
            if rule not in OFFLOAD_RULES:
                raise ParameterError("rule", f"must be one of {', '.join(OFFLOAD_RULES)}; got {rule!r}")
            code = OFFLOAD_RULES[rule]
            decisions = np.zeros((k, self.n), dtype=np.uint8)
        else:
            if decisions is None:
                raise ParameterError("decisions", "are required unless a built-in rule is given")
            decisions = np.array(decisions, dtype=np.uint8, copy=True, order="C")
            code = -1
            if decisions.shape != masks.shape:
                raise ParameterError("decisions", f"must have shape {masks.shape}, got {decisions.shape}")
        energy = np.empty(k)
        latency = np.empty(k)
        utility = np.empty(k)
        delivered = np.empty(k)
        drawn = np.empty((k, self.n)) if per_node else EMPTY_2D
        w = self.work
        score_candidates_jit(masks, decisions, code, self.x, self.y, self.d_sink, self.energy, self.alive, EMPTY,
                             self.params, self.bbox, w.is_ch, w.ch_list, w.target, w.distance, w.drawn,
                             w.received, w.members, w.fgrid, w.igrid, w.result, self._scratch_energy,
                             self._scratch_alive, energy, latency, utility, delivered, drawn, self.previous)
        return CandidateScores(energy, latency, utility, delivered, drawn if per_node else None)
