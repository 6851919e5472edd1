"""The clustering-policy interface.

A clustering policy decides who is cluster head (CH) each round. It sees a read-only
:class:`wsnmec.sim.state.NetworkState` and the replica's Generator and returns a boolean mask of the CHs
(alive nodes only); it never touches energies: only the accounting changes state. A policy may keep its
own per-node state (set up in :meth:`ClusteringPolicy.reset`). The policy round loop
(:mod:`wsnmec.sim.rounds`) calls, each round, in this order: the harvest, :meth:`ClusteringPolicy.elect`,
the receivers, the offloading decisions, :meth:`ClusteringPolicy.control_energy`, the accounting and the
record.

**Keeping clusters.** A round whose clusters equal the previous round's pays no set-up messages (no
advertisement, join request or schedule: :mod:`wsnmec.sim.accounting` Notes, *Kept clusters*). A policy keeps
them by returning :meth:`ClusteringPolicy.keep_previous` from ``elect``; :meth:`ClusteringPolicy.can_keep` says
whether that is still possible (every previous head alive, no node revived since).

A policy of one's own is a subclass defining :meth:`ClusteringPolicy.elect`, in any importable module:
``--protocol module:Class``, or an installed package's entry point of the group ``wsnmec.policies`` (see
:mod:`wsnmec.clustering.registry` and ``examples/mypolicy``). A built-in policy is one file in
:mod:`wsnmec.clustering` plus one line in :data:`wsnmec.clustering.registry.CLUSTERING_POLICIES`.
"""

from __future__ import annotations

import numpy as np


def described_p(scenario):
    """The scenario's ``p`` as a policy's :meth:`ClusteringPolicy.describe` records it: a float, or
    ``"auto"`` (each replica's resolved value is the run config's ``p_resolved``)."""
    p = scenario.p
    return p if isinstance(p, str) else float(p)


def resolved_p(state) -> float:
    """The cluster-head fraction p a policy uses in the run of ``state``: the round loops hand the policies
    a scenario whose ``p`` is already resolved (``--p auto`` -> k_opt / N of the deployment); a state built
    by hand may still say ``"auto"``, which is then resolved from the state's own nodes the same way
    (:meth:`wsnmec.sim.scenario.Scenario.head_fraction`)."""
    scenario = state.scenario
    if isinstance(scenario.p, str):
        return scenario.head_fraction(state.n, state.d_sink)
    return float(scenario.p)


class ClusteringPolicy:
    """Base class of clustering policies.

    Attributes
    ----------
    name : str
        The registry name (a plug-in's own label; runs record the ``--protocol`` value as given).
    control : str
        The control-message pattern the accounting charges with ``--control-bits`` (see
        :mod:`wsnmec.sim.accounting`): ``"none"``, ``"distributed"`` or ``"centralized"``.
    fused_code : int or None
        Built-in protocols that the compiled fused loop runs (:mod:`wsnmec.sim.kernel`) set their code;
        ``None`` runs the policy through the policy round loop.
    draws_in_fused_loop : bool
        Whether the fused loop's election draws random numbers for this protocol.
    """

    name: str = ""
    control: str = "none"
    fused_code: int | None = None

    def __init__(self, scenario):
        self.scenario = scenario

    def reset(self, state, rng: np.random.Generator) -> None:
        """Set up the policy's own per-node state before round 1 (default: nothing)."""

    def elect(self, state, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - interface
        """The cluster-head mask of this round (bool[N], alive nodes only)."""
        raise NotImplementedError

    @staticmethod
    def previous_heads(state) -> np.ndarray:
        """The previous round's cluster heads that are alive now (bool[N]; none before round 2)."""
        previous = state.previous_receivers
        if previous.shape[0] != state.n:
            return np.zeros(state.n, dtype=np.bool_)
        return (previous == np.arange(state.n)) & state.alive

    @staticmethod
    def can_keep(state) -> bool:
        """Whether electing :meth:`keep_previous` keeps the previous round's clusters, so that the round pays
        no set-up messages: there was a previous round, each of its heads is alive and every alive node took
        part in it (a node revived since must join a cluster). The receivers then repeat: they depend only on
        the positions and the heads."""
        previous = state.previous_receivers
        if state.round <= 1 or previous.shape[0] != state.n:
            return False
        heads = previous == np.arange(state.n)
        alive = state.alive
        return bool(np.all(alive[heads]) and np.all(previous[alive] >= -1))

    def keep_previous(self, state) -> np.ndarray:
        """The head mask that keeps the previous round's clusters (the previous heads still alive). Returned
        from :meth:`elect` when :meth:`can_keep` holds, the round pays no set-up messages; otherwise (a head
        died, a node revived) it is an ordinary election of those heads, set-up charged."""
        return self.previous_heads(state)

    def control_energy(self, state, heads: np.ndarray) -> np.ndarray | None:
        """Extra per-node control energy of this round [J] beyond the pattern in :attr:`control`
        (e.g. HEED's tentative announcements), or None. Only charged when ``--control-bits`` > 0."""
        return None

    def describe(self) -> dict:
        """Parameters of the policy recorded in the run's config (JSON-able)."""
        return {"name": self.name}

    def run_record(self) -> dict | None:
        """What the policy found during a replica that the run's config should record for that replica
        (JSON-able; the config's ``clustering_runs``, one entry per replica), or None (the default: nothing)."""
        return None
