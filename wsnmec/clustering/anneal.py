"""``anneal``: simulated annealing over cluster-head sets under ddnn's dry-run objective, each round.

The search reference for ``ddnn``: every round the sink anneals over head sets, each set scored by the
same objective J and compiled scorer as ``ddnn``, ``ddnn-rule`` and ``spread``
(:mod:`wsnmec.clustering.dryrun`), within a fixed budget of scored sets, and executes the best set it
scored. Information used: global, at the sink. Control pattern ``centralized`` (as LEACH-C and ``spread``:
every alive node uploads its position and residual energy, the sink broadcasts the assignment); the
search runs at the (mains-powered) sink.

Notes
-----
**Start.** The start pool is ``spread``'s candidates of this round (the empty set and one weighted
k-medoids set per size around k_opt, :mod:`wsnmec.clustering.spread`), ``ddnn-rule``'s candidates (the
top-k residual energies at the same sizes) and the previous round's executed set restricted to the alive
nodes; the pool is scored in one call and its best set (first on ties) is the start. The executed set is
the best set scored in the round (the start included), so its J is never above any set of the pool: never
worse, in this round's objective, than any candidate of ``spread`` or ``ddnn-rule``.

**Moves** (from the current set H over the n alive nodes): with no head, a *toggle in* (a uniform alive
node becomes head); with every alive node a head, a *toggle out*; otherwise, with probabilities 0.2 / 0.3
/ 0.5, a *toggle* (a uniform alive node changes role), a *swap* (a uniform head for a uniform non-head) or
a *move to a neighbour* (a uniform head for one of its :data:`NEIGHBOURS` nearest alive non-heads,
uniform). Toggles change the cluster count, swaps jump across the field, neighbour moves fine-tune the
positions: the three scales of the search.

**Batched Metropolis acceptance** (Kirkpatrick, Gelatt, Vecchi 1983 [1]_; Metropolis et al. 1953 [2]_):
each step proposes :data:`BATCH` moves from the current set, scores them in one call of the compiled
scorer, and takes the best of the batch, H', with Delta = J(H') - J(H): accepted when Delta <= 0, or with
probability exp(-Delta / T) (one uniform per step). Scoring a batch at once amortises the call (about
12 us per set in batches of 16 against 29 us alone at n = 100).

**Schedule**: S = :data:`STEPS` steps, geometric cooling T_s = T_0 alpha^s with alpha = 10^(-3 / (S - 1))
(the last step at T_0 / 1000: a plain descent). T_0 is set from the first batch: the median uphill Delta
of its moves over ln 2, so that a typical uphill move is accepted with probability 1/2 at the start
(the initial-acceptance rule of White 1984 [3]_); when the first batch has no uphill move, T_0 = 1e-3
J(start).

**Budget**: B = BATCH x STEPS = 16 x 32 = 512 scored sets per round plus the start pool (about 12), i.e.
about 5 x n scored sets at n = 100. Why this size: a scored set costs about 7-15 us at n = 100 and 30 us at
n = 400 (compiled accounting, O(n)), so a round's decision takes about 13-16 ms of CPU at n = 100 and
46 ms at n = 400 (200 m x 200 m, sink at (100, 250)) on one core (measured; ``benchmarks/bench_spread_anneal.py``; the targets: <= 50 ms and
< 1 s), short enough for 10-seed lifetime runs of 1,000+ rounds. More budget buys little: on 10 far-sink
states (rounds 80, 160, ..., 800 of a seed-1 LEACH-C run), J over the start's J is 0.960 on average with this
budget, 0.957 with 4x and 0.954 with 16x the steps at n = 100 (0.946, 0.936, 0.931 at n = 400 on
200 m x 200 m, sink at (100, 250)). On small networks (at most 32 alive)
the result is then refined by ddnn's single-toggle/swap local search.

Random draws, per round: ``spread``'s draws for its sets, then per step 3 x BATCH uniforms (move type, two
picks) and one uniform for the acceptance, from the replica's Generator (a seeded run is identical twice).
The number of steps is fixed; with fewer than 2 alive nodes no step is taken.

References
----------
.. [1] S. Kirkpatrick, C. D. Gelatt, M. P. Vecchi, "Optimization by simulated annealing", Science
   220(4598), 671-680, 1983.
.. [2] N. Metropolis, A. W. Rosenbluth, M. N. Rosenbluth, A. H. Teller, E. Teller, "Equation of state
   calculations by fast computing machines", J. Chem. Phys. 21(6), 1087-1092, 1953.
.. [3] S. R. White, "Concepts of scale in simulated annealing", Proc. IEEE Int. Conf. Computer Design,
   646-651, 1984.
.. [4] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002 (LEACH-C's
   sink-side annealing over head sets, under a squared-distance objective).
"""

from __future__ import annotations

import math

import numpy as np

from ..learn import top_k
from .dryrun import OBJECTIVE, REFINE_MAX_ALIVE, SIZE_FACTORS, distinct_rows, refine
from .spread import SpreadPolicy

#: Moves scored per step (one scorer call).
BATCH = 16
#: Annealing steps per round.
STEPS = 32
#: Candidates of a move to a neighbour: the nearest alive non-heads of the moved head.
NEIGHBOURS = 6
#: Move probabilities (toggle, swap, neighbour) when the set has heads and non-heads.
MOVE_PROBABILITIES = (0.2, 0.3, 0.5)
#: T_0 = median uphill Delta of the first batch / ln(1 / INITIAL_ACCEPTANCE).
INITIAL_ACCEPTANCE = 0.5
#: T at the last step over T_0.
FINAL_TEMPERATURE_RATIO = 1e-3


def propose(current, alive, x, y, draws, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """The batch of moves (module Notes) from the head set ``current`` (bool[N]) over the ``alive`` node
    indices: uint8 [b, N], one row per column of ``draws`` (float [3, b] uniforms: move type, first and
    second pick). ``x``, ``y`` [m] are the positions of every node."""
    b = draws.shape[1]
    n_alive = alive.shape[0]
    trials = np.repeat(current[None, :].astype(np.uint8), b, axis=0)
    heads = alive[current[alive]]
    others = alive[~current[alive]]
    rows = np.arange(b)
    if heads.shape[0] == 0 or others.shape[0] == 0:
        kind = np.zeros(b, dtype=np.int64)
    else:
        edges = np.cumsum(MOVE_PROBABILITIES)[:-1]
        kind = np.searchsorted(edges, draws[0], side="right")
    pick = np.minimum((draws[1] * n_alive).astype(np.int64), n_alive - 1)
    toggle = kind == 0
    trials[rows[toggle], alive[pick[toggle]]] ^= 1
    if heads.shape[0] and others.shape[0]:
        which = np.minimum((draws[1] * heads.shape[0]).astype(np.int64), heads.shape[0] - 1)
        swap = kind == 1
        other = np.minimum((draws[2] * others.shape[0]).astype(np.int64), others.shape[0] - 1)
        trials[rows[swap], heads[which[swap]]] = 0
        trials[rows[swap], others[other[swap]]] = 1
        move = kind == 2
        if move.any():
            q = min(neighbours, others.shape[0])
            moved = heads[which[move]]
            d2 = (x[moved][:, None] - x[others][None, :]) ** 2 + (y[moved][:, None] - y[others][None, :]) ** 2
            # the q nearest non-heads of each moved head (ties to the lower index: stable sort)
            nearest = np.argsort(d2, axis=1, kind="stable")[:, :q]
            slot = np.minimum((draws[2][move] * q).astype(np.int64), q - 1)
            target = others[nearest[np.arange(moved.shape[0]), slot]]
            trials[rows[move], moved] = 0
            trials[rows[move], target] = 1
    return trials


class AnnealPolicy(SpreadPolicy):
    """Simulated annealing over head sets under ddnn's objective, started from the best of spread's and
    ddnn-rule's candidates and the previous set (module docstring)."""

    name = "anneal"
    control = "centralized"
    batch = BATCH
    steps = STEPS

    def reset(self, state, rng):
        super().reset(state, rng)
        self.previous = np.zeros(state.n, dtype=np.bool_)
        self.last_start_j = math.nan
        self.last_j = math.nan

    def start_pool(self, state, rng, alive) -> np.ndarray:
        """spread's candidates, ddnn-rule's top-k residual-energy sets at the same sizes and the previous
        set on the alive nodes (distinct rows, in that order)."""
        spread = self.proposals(state, rng, alive)
        scores = np.full((1, state.n), -np.inf)
        scores[0, alive] = state.energy[alive]
        rule = top_k(scores, self.sizes(state, alive.shape[0])).reshape(-1, state.n)
        previous = (self.previous & state.alive)[None, :].astype(np.uint8)
        return distinct_rows(np.concatenate([spread, rule, previous]))

    def anneal(self, state, rng, start, value: float, alive) -> tuple[np.ndarray, float]:
        """The best set scored by :attr:`steps` batched Metropolis steps from ``start`` (J = ``value``) and
        its J (module Notes)."""
        current, current_j = start.copy(), value
        best, best_j = start.copy(), value
        if alive.shape[0] < 2 or self.steps <= 0:
            return best, best_j
        alpha = FINAL_TEMPERATURE_RATIO ** (1.0 / max(self.steps - 1, 1))
        temperature = math.nan
        for step in range(self.steps):
            draws = rng.random((3, self.batch))
            accept_u = rng.random()
            trials = propose(current, alive, state.x, state.y, draws)
            j = self.scorer(state, trials)[0]
            if step == 0:
                uphill = j[j > current_j] - current_j
                temperature = (float(np.median(uphill)) / math.log(1.0 / INITIAL_ACCEPTANCE) if uphill.size
                               else 1e-3 * abs(current_j))
            k = int(np.argmin(j))
            delta = float(j[k]) - current_j
            if delta <= 0.0 or (temperature > 0.0 and accept_u < math.exp(-delta / temperature)):
                current, current_j = trials[k].astype(np.bool_), float(j[k])
                if current_j < best_j:
                    best, best_j = current.copy(), current_j
            temperature *= alpha
        return best, best_j

    def decide(self, state, rng):
        """This round's choice: ``(mask bool[N], start pool uint8[C, N], J [C] of the pool)``."""
        alive = np.flatnonzero(state.alive_u8)
        if alive.shape[0] == 0:
            return np.zeros(state.n, dtype=np.bool_), np.zeros((0, state.n), np.uint8), np.zeros(0)
        pool = self.start_pool(state, rng, alive)
        j = self.scorer(state, pool)[0]
        first = int(np.argmin(j))
        self.last_start_j = float(j[first])
        mask, value = self.anneal(state, rng, pool[first].astype(np.bool_), float(j[first]), alive)
        if alive.shape[0] <= REFINE_MAX_ALIVE:
            mask = refine(self.scorer, state, mask, value, alive)
            value = float(self.scorer(state, mask[None, :].astype(np.uint8))[0][0])
        self.last_j = value
        return mask, pool, j

    def elect(self, state, rng):
        mask = super().elect(state, rng)
        self.previous = mask.copy()
        return mask

    def describe(self):
        return {"name": self.name, "search": "batched simulated annealing (toggle / swap / neighbour moves)",
                "start": "best of spread's and ddnn-rule's candidates and the previous set",
                "batch": int(self.batch), "steps": int(self.steps), "neighbours": NEIGHBOURS,
                "move_probabilities": list(MOVE_PROBABILITIES), "initial_acceptance": INITIAL_ACCEPTANCE,
                "final_temperature_ratio": FINAL_TEMPERATURE_RATIO,
                "size_factors": [float(v) for v in SIZE_FACTORS], "max_passes": int(self.max_passes),
                "objective": OBJECTIVE, "offload_rule": self.scenario.offload}
