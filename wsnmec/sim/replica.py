"""One replica's network at round 0: :class:`Replica`, built once for the fused loop and the policy loop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from typing import Callable

from ..energy.harvest import can_ever_harvest, harvest_code, harvest_round, harvest_stepper
from .accounting import Workspace
from .deployment import Deployment, deploy
from .nearest import bounding_box, sink_distances


@dataclass
class Replica:
    """The arrays a replica's rounds read and update, at round 0.

    Attributes
    ----------
    deployment : Deployment
        Positions [m], initial energies [J], capacities [J] and sink [m] drawn for the replica.
    n : int
        Number of nodes N.
    initial, energy : float64[N]
        Initial and residual energy [J] (two copies of the deployment's).
    capacity : float64[N]
        Battery capacity [J].
    alive : uint8[N]
        1 for alive nodes (all at round 0).
    rounds_since_ch : int64[N]
        Consecutive rounds without being a cluster head.
    markov_state : int8[N]
        State of each node's harvest Markov chain (``--harvest markov``).
    harvested : float64[N]
        Energy each node stored in the round's harvest step [J].
    work : Workspace
        The round's scratch arrays.
    d_sink : float64[N]
        Distance of each node to the sink [m].
    bbox : float64[4]
        Bounding box of the positions [m].
    p_resolved : float
        The head fraction p of the run (``--p auto``: k_opt / N of this deployment).
    harvest_kind : int
        Compiled harvest model code (0: none), with ``harvest_params`` its parameters.
    revive : float
        Energy at which a dead node revives [J] (0 when it cannot).
    can_revive : bool
        Whether a dead node can ever revive (a revive threshold and a harvest that can deliver).
    harvest_step : callable
        The policy loop's harvest step, called with :func:`~wsnmec.energy.harvest.harvest_round`'s arguments:
        that compiled dispatch, or for a plug-in harvest model its :class:`~wsnmec.energy.harvest.PluginHarvest`.
    """

    deployment: Deployment
    n: int
    initial: np.ndarray
    energy: np.ndarray
    capacity: np.ndarray
    alive: np.ndarray
    rounds_since_ch: np.ndarray
    markov_state: np.ndarray
    harvested: np.ndarray
    work: Workspace
    d_sink: np.ndarray
    bbox: np.ndarray
    p_resolved: float
    harvest_kind: int
    harvest_params: np.ndarray
    revive: float
    can_revive: bool
    harvest_step: Callable = harvest_round


def build_replica(scenario, rng: np.random.Generator) -> Replica:
    """Draw the replica's deployment from ``rng`` (its only draw) and set up its round-0 arrays."""
    net = deploy(scenario, rng)
    n = net.nodes
    d_sink = sink_distances(net.x, net.y, net.sink[0], net.sink[1])
    kind, hparams = harvest_code(scenario.harvest, scenario.round_seconds)
    return Replica(
        deployment=net, n=n, initial=net.energy.copy(), energy=net.energy.copy(), capacity=net.capacity,
        alive=np.ones(n, dtype=np.uint8), rounds_since_ch=np.zeros(n, dtype=np.int64),
        markov_state=np.zeros(n, dtype=np.int8), harvested=np.zeros(n, dtype=np.float64), work=Workspace(n),
        d_sink=d_sink, bbox=bounding_box(net.x, net.y), p_resolved=scenario.head_fraction(n, d_sink),
        harvest_kind=kind, harvest_params=hparams,
        revive=scenario.revive_threshold if scenario.revive_threshold is not None else 0.0,
        can_revive=scenario.revive_threshold is not None and can_ever_harvest(scenario.harvest),
        harvest_step=harvest_stepper(scenario.harvest, scenario.round_seconds))
