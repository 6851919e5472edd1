"""``spread``: spatially spread cluster-head sets at ddnn's sizes, chosen by ddnn's dry-run objective.

A non-learned reference for the learned policy ``ddnn``: the same sizes around k_opt, the same empty-set
candidate, the same objective J and scorer, the same execution (and the same small-network refinement) as
``ddnn`` and ``ddnn-rule`` (:mod:`wsnmec.clustering.dryrun`); only the proposer differs. Where ``ddnn``
proposes the top-k of learned scores and ``ddnn-rule`` the top-k residual energies, ``spread`` proposes,
for each size k, k heads spread over the field as LEACH-C's sink does [1]_ (weighted k-medoids) and chosen
inside their clusters among the energy-rich nodes.

Information used: global, at the sink. Control pattern ``centralized`` (as LEACH-C): every alive node
uploads its position and residual energy to the sink each round (E_tx(B, d_sink) with ``--control-bits
B``), the sink broadcasts the head assignment (E_rx(B) per node) and the heads their schedules; the
proposals and the scoring run at the (mains-powered) sink. No other message is needed.

Notes
-----
Each round, for the n alive nodes at positions x_i [m] with residual energies e_i [J] (after the harvest)
and member weights w_i = 1 / e_i (the weight of member i's transmit energy in J), and for each size k of
:func:`wsnmec.clustering.dryrun.head_set_sizes` (``clip(round(k_opt * (0.5, 0.75, 1, 1.5, 2)), 1, n)``):

1. *Seeding* (weighted k-means++, Arthur & Vassilvitskii 2007 [3]_): the first head is alive node i with
   probability w_i / sum w; each next head with probability proportional to w_i D_i^2, D_i [m] the
   distance of i to its nearest head so far (one uniform u per head: the first alive node, in index
   order, whose cumulative probability exceeds u; when every D_i is 0, the first alive non-head).
2. *Assign*: every alive node joins its nearest head (squared distance; ties to the earlier head; a head
   always owns itself).
3. *Update* (the alternating k-medoids step of Park & Jun 2009 [2]_, with LEACH-C's energy rule [1]_ applied
   per cluster): in each cluster C, the *eligible* members are those with e_i >= min(mean_C e, max_C e);
   the new head is the eligible member nearest the weighted centroid c = sum_C w_i x_i / sum_C w_i (ties
   to the lower index). Since sum_C w_i |x_i - m|^2 = sum_C w_i |x_i - c|^2 + (sum_C w_i) |m - c|^2, this is
   the eligible member minimising the cluster's weighted squared distance to its head, the medoid of
   Kaufman & Rousseeuw's PAM [4]_ under that cost restricted to the above-mean nodes.
4. Repeat 2-3 until no head changes or :data:`MAX_PASSES` passes.

The weights pull each head towards its poorer members (whose transmit energy counts more in J); the
eligibility rule keeps the expensive head role on nodes with at least their cluster's mean energy. The
proposals are then scored with the empty set (direct transmission) and the argmin of J is executed
(refined by single toggles and swaps when at most 32 nodes are alive, as ddnn).

Random draws, per round: one uniform per head of every size (sum of the sizes), in increasing size
order, from the replica's Generator; nothing else is random (a seeded run is identical twice). Cost per
round: O(n k) per pass and size; measured 1.2 ms (far sink) to 3.5 ms (centre, larger sizes) of CPU per
decision at n = 100 and 5.3 ms at n = 400 (far sink) (``benchmarks/bench_spread_anneal.py``).

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 660-670, 2002
   (LEACH-C: heads chosen at the sink, spread by minimising the members' squared distances, among the
   nodes above the mean energy).
.. [2] H.-S. Park, C.-H. Jun, "A simple and fast algorithm for K-medoids clustering", Expert Systems with
   Applications 36(2), 3336-3341, 2009.
.. [3] D. Arthur, S. Vassilvitskii, "k-means++: the advantages of careful seeding", Proc. ACM-SIAM SODA,
   1027-1035, 2007.
.. [4] L. Kaufman, P. J. Rousseeuw, "Finding Groups in Data: An Introduction to Cluster Analysis", Wiley,
   1990 (PAM, partitioning around medoids).
"""

from __future__ import annotations

import numpy as np

from .base import ClusteringPolicy
from .dryrun import OBJECTIVE, SIZE_FACTORS, CandidateScorer, choose, distinct_rows, head_set_sizes

#: Cap on the assign/update passes of one spread set.
MAX_PASSES = 10


def spread_heads(x, y, energy, k: int, rng: np.random.Generator, max_passes: int = MAX_PASSES) -> np.ndarray:
    """Positions (into ``x``, ``y``, ``energy``: the alive nodes) of ``k`` spread heads (module Notes).

    ``x``, ``y`` [m] and ``energy`` [J] of the n alive nodes in index order, 1 <= k <= n. Draws k uniforms
    from ``rng``. Returns int64[k] in slot order.
    """
    n = x.shape[0]
    weight = 1.0 / np.maximum(energy, 1e-300)
    draws = rng.random(k)
    heads = np.empty(k, dtype=np.int64)
    is_head = np.zeros(n, dtype=bool)
    nearest = np.full(n, np.inf)
    for s in range(k):
        p = weight if s == 0 else weight * nearest
        total = float(p.sum())
        if total > 0.0 and np.isfinite(total):
            cumulative = np.cumsum(p) / total
            pick = int(np.searchsorted(cumulative, draws[s], side="right"))
            pick = min(pick, n - 1)
            while is_head[pick]:  # (a head has D = 0: only reachable through rounding at the end)
                pick = (pick - 1) % n
        else:
            pick = int(np.flatnonzero(~is_head)[0])
        heads[s] = pick
        is_head[pick] = True
        nearest = np.minimum(nearest, (x - x[pick]) ** 2 + (y - y[pick]) ** 2)
    index = np.arange(n)
    for _ in range(max_passes):
        d2 = (x[:, None] - x[heads][None, :]) ** 2 + (y[:, None] - y[heads][None, :]) ** 2
        owner = np.argmin(d2, axis=1)
        owner[heads] = np.arange(k)
        s0 = np.bincount(owner, weights=weight, minlength=k)
        cx = np.bincount(owner, weights=weight * x, minlength=k) / s0
        cy = np.bincount(owner, weights=weight * y, minlength=k) / s0
        size = np.bincount(owner, minlength=k)
        mean_e = np.bincount(owner, weights=energy, minlength=k) / size
        top_e = np.full(k, -np.inf)
        np.maximum.at(top_e, owner, energy)
        eligible = energy >= np.minimum(mean_e, top_e)[owner]
        distance = np.where(eligible, (x - cx[owner]) ** 2 + (y - cy[owner]) ** 2, np.inf)
        order = np.lexsort((index, distance, owner))
        first = np.flatnonzero(np.r_[True, owner[order][1:] != owner[order][:-1]])
        new_heads = order[first]  # one per cluster, in slot order (owner sorted ascending)
        if np.array_equal(new_heads, heads):
            break
        heads = new_heads
    return heads


class SpreadPolicy(ClusteringPolicy):
    """Spatially spread head sets at ddnn's sizes plus the empty set, the argmin of ddnn's objective executed
    (module docstring)."""

    name = "spread"
    control = "centralized"
    max_passes = MAX_PASSES

    def reset(self, state, rng):
        self.radio = state.scenario.radio_model()
        self.size_factors = np.asarray(SIZE_FACTORS, dtype=np.float64)
        self.scorer = CandidateScorer(state)
        self.last_candidates = 0

    def sizes(self, state, alive_count: int) -> np.ndarray:
        """ddnn's candidate sizes (:func:`wsnmec.clustering.dryrun.head_set_sizes`)."""
        return head_set_sizes(state, self.size_factors, self.radio, alive_count)

    def proposals(self, state, rng, alive) -> np.ndarray:
        """Candidate masks uint8 [C, N]: the empty set, then one spread set per size (distinct rows)."""
        sizes = self.sizes(state, alive.shape[0])
        masks = np.zeros((1 + sizes.shape[0], state.n), dtype=np.uint8)
        x, y, e = state.x[alive], state.y[alive], state.energy[alive]
        for row, k in enumerate(sizes, start=1):
            masks[row, alive[spread_heads(x, y, e, int(k), rng, self.max_passes)]] = 1
        return distinct_rows(masks)

    def decide(self, state, rng):
        """This round's choice: ``(mask bool[N], candidates uint8[C, N], J [C])``."""
        alive = np.flatnonzero(state.alive_u8)
        if alive.shape[0] == 0:
            return np.zeros(state.n, dtype=np.bool_), np.zeros((0, state.n), np.uint8), np.zeros(0)
        masks = self.proposals(state, rng, alive)
        mask, j = choose(self.scorer, state, masks, alive)
        return mask, masks, j

    def elect(self, state, rng):
        mask, masks, _ = self.decide(state, rng)
        self.last_candidates = masks.shape[0]
        return mask

    def describe(self):
        return {"name": self.name, "proposer": "weighted k-medoids (k-means++ seeding, above-mean heads)",
                "size_factors": [float(v) for v in SIZE_FACTORS], "max_passes": int(self.max_passes),
                "objective": OBJECTIVE, "offload_rule": self.scenario.offload}
