"""An example plug-in clustering policy for wsnmec: the richest alive nodes, spread over the field.

Each round the sink (which knows every node's position and residual energy, as in LEACH-C) picks
k = max(1, round(p x N_alive)) cluster heads greedily: alive nodes in order of decreasing residual energy
[J], each taken unless it lies closer than the spacing s to a head already taken, until k are taken or no
node is left. It draws no random numbers.

Notes
-----
The spacing is the radius of a disc whose area is the field's share per head,
``s = sqrt(W H / (pi k))`` [m] (W x H the field [m]), so k heads spaced by s cover the field about once;
p is the run's cluster-head fraction (``--p``, k_opt / N under ``--p auto``, Heinzelman et al. 2002).

Use it without installing (the directory of this file on ``PYTHONPATH``)::

    PYTHONPATH=examples/mypolicy wsnmec run --protocol mypolicy:SpreadRichest --seed 1

or install this directory (``pip install ./examples/mypolicy``), which declares the entry point
``spread-richest`` of the group ``wsnmec.policies``::

    wsnmec run --protocol spread-richest --seed 1
"""

from __future__ import annotations

import math

import numpy as np

from wsnmec.clustering.base import ClusteringPolicy, described_p, resolved_p


class SpreadRichest(ClusteringPolicy):
    """The richest alive nodes at least ``spacing`` [m] apart (module docstring)."""

    name = "spread-richest"
    control = "centralized"  # every node reports its energy to the sink, which broadcasts the heads

    @staticmethod
    def spacing(field, k: int) -> float:
        """Least distance between two heads [m]: sqrt(W H / (pi k)) for a W x H field [m] and k heads."""
        width, height = field
        return math.sqrt(width * height / (math.pi * k))

    def elect(self, state, rng: np.random.Generator) -> np.ndarray:
        heads = np.zeros(state.n, dtype=bool)
        alive = np.flatnonzero(state.alive)
        if alive.size == 0:
            return heads
        k = max(1, int(round(resolved_p(state) * alive.size)))
        min_distance_sq = self.spacing(state.field, k) ** 2
        order = alive[np.argsort(-state.energy[alive], kind="stable")]
        taken_x = np.empty(k)
        taken_y = np.empty(k)
        taken = 0
        for node in order:
            dx = taken_x[:taken] - state.x[node]
            dy = taken_y[:taken] - state.y[node]
            if taken and np.min(dx * dx + dy * dy) < min_distance_sq:
                continue
            heads[node] = True
            taken_x[taken], taken_y[taken] = state.x[node], state.y[node]
            taken += 1
            if taken == k:
                break
        return heads

    def describe(self) -> dict:
        return {"name": self.name, "p": described_p(self.scenario), "spacing": "sqrt(W H / (pi k))"}
