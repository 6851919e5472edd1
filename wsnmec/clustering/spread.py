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
round: O(n k) per pass and size, in a compiled kernel (the NumPy reference in ``tests/naive.py`` gives the
same heads from the same draws); measured by ``benchmarks/bench_spread_anneal.py``. With at least
:data:`PARALLEL_MIN_ALIVE` alive nodes the sizes' sets are computed on parallel threads (at most
:func:`wsnmec.threads.allowed_threads`: one in a study worker), from the same draws, so the heads are
the same as when they are computed in turn.

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

import os

import numpy as np
from numba import njit

from ..threads import allowed_threads
from .base import ClusteringPolicy
from .dryrun import OBJECTIVE, SIZE_FACTORS, CandidateScorer, choose, distinct_rows, head_set_sizes

#: Cap on the assign/update passes of one spread set.
MAX_PASSES = 10


def spread_heads(x, y, energy, k: int, rng: np.random.Generator, max_passes: int = MAX_PASSES) -> np.ndarray:
    """Positions (into ``x``, ``y``, ``energy``: the alive nodes) of ``k`` spread heads (module Notes).

    ``x``, ``y`` [m] and ``energy`` [J] of the n alive nodes in index order, 1 <= k <= n. Draws k uniforms
    from ``rng``. Returns int64[k] in slot order.
    """
    draws = rng.random(k)
    return _spread_heads_jit(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
                             np.ascontiguousarray(energy, dtype=np.float64), int(k), draws, int(max_passes))


#: Alive nodes from which :func:`spread_head_sets` computes the sets of several sizes on parallel threads
#: (below it a set takes well under a millisecond and threads would cost more than they save).
PARALLEL_MIN_ALIVE = 2000

_EXECUTORS: dict = {}


def _executor(threads: int):
    """This process's thread pool of ``threads`` workers (a forked child makes its own: threads do not
    survive a fork)."""
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()
    pool = _EXECUTORS.get((pid, threads))
    if pool is None:
        for (owner, _), old in _EXECUTORS.items():
            if owner == pid:  # this process's pool of another size (a parent's has no threads here)
                old.shutdown(wait=False)
        _EXECUTORS.clear()
        pool = _EXECUTORS[(pid, threads)] = ThreadPoolExecutor(threads, thread_name_prefix="wsnmec-spread")
    return pool


def spread_head_sets(x, y, energy, sizes, rng: np.random.Generator, max_passes: int = MAX_PASSES) -> list:
    """:func:`spread_heads` for each k of ``sizes`` in turn, as a list of int64[k]: the same draws (k uniforms
    per size, in the order of ``sizes``) and the same heads. With at least :data:`PARALLEL_MIN_ALIVE` nodes
    the kernels run on parallel threads (they release the GIL), at most :func:`wsnmec.threads.allowed_threads`.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    energy = np.ascontiguousarray(energy, dtype=np.float64)
    jobs = [(int(k), rng.random(int(k))) for k in sizes]
    threads = min(len(jobs), allowed_threads()) if x.shape[0] >= PARALLEL_MIN_ALIVE else 1
    if threads <= 1:
        return [_spread_heads_jit(x, y, energy, k, draws, int(max_passes)) for k, draws in jobs]
    pool = _executor(threads)
    futures = {}
    for i in sorted(range(len(jobs)), key=lambda i: -jobs[i][0]):  # the largest sets first: balanced threads
        futures[i] = pool.submit(_spread_heads_jit, x, y, energy, jobs[i][0], jobs[i][1], int(max_passes))
    return [futures[i].result() for i in range(len(jobs))]


#: NumPy's pairwise summation adds blocks of at most this many values directly.
_NUMPY_SUM_BLOCK = 128


@njit(cache=True, nogil=True)
def _numpy_block_sum_jit(values, start, count):
    """One leaf of NumPy's pairwise summation (``count`` <= 128): in order below 8 values, else eight
    interleaved partial sums combined as ((0+1)+(2+3))+((4+5)+(6+7)), then the rest in order."""
    if count < 8:
        total = -0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    partial = values[start:start + 8].copy()
    i = 8
    stop = count - count % 8
    while i < stop:
        for lane in range(8):
            partial[lane] += values[start + i + lane]
        i += 8
    total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]))
    while i < count:
        total += values[start + i]
        i += 1
    return total


@njit(cache=True, nogil=True)
def _numpy_sum_jit(values):
    """``values.sum()`` of a contiguous float64 array added in the order NumPy adds it (pairwise: a range
    above 128 values is split at half its length rounded down to a multiple of 8, and the two halves'
    sums are added), so that the seeding probabilities equal, bit for bit, those of the NumPy reference
    in ``tests/naive.py``. Evaluated with an explicit stack (numba's cache does not take recursion)."""
    seg_start = np.empty(64, dtype=np.int64)
    seg_count = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)  # 0: new, 1: left half pending, 2: right half pending
    left = np.empty(64)
    depth = 0
    seg_start[0] = 0
    seg_count[0] = values.shape[0]
    while True:
        count = seg_count[depth]
        if count > _NUMPY_SUM_BLOCK:
            half = count // 2
            half -= half % 8
            stage[depth] = 1
            seg_start[depth + 1] = seg_start[depth]
            seg_count[depth + 1] = half
            stage[depth + 1] = 0
            depth += 1
            continue
        value = _numpy_block_sum_jit(values, seg_start[depth], count)
        while True:  # hand the finished range's sum to the ranges it belongs to
            depth -= 1
            if depth < 0:
                return value
            if stage[depth] == 1:
                left[depth] = value
                stage[depth] = 2
                half = seg_count[depth] // 2
                half -= half % 8
                seg_start[depth + 1] = seg_start[depth] + half
                seg_count[depth + 1] = seg_count[depth] - half
                stage[depth + 1] = 0
                depth += 1
                break
            value = left[depth] + value


@njit(cache=True, nogil=True)
def _assign_nearest_head_jit(x, y, heads, owner, closest):
    """``owner[i]``: the slot of the head nearest node i (squared distance ``dx*dx + dy*dy``; ties to the
    earlier slot), ``closest[i]`` that squared distance [m^2]. Heads in the outer loop and nodes in the inner
    one (contiguous, so the compiler vectorises it); a later slot replaces the owner only when strictly
    nearer, which keeps the earlier slot on ties, as a scan of the heads per node would."""
    n = x.shape[0]
    for i in range(n):
        closest[i] = np.inf
        owner[i] = 0
    for h in range(heads.shape[0]):
        head_x = x[heads[h]]
        head_y = y[heads[h]]
        for i in range(n):
            dx = x[i] - head_x
            dy = y[i] - head_y
            d2 = dx * dx + dy * dy
            nearer = d2 < closest[i]
            closest[i] = d2 if nearer else closest[i]
            owner[i] = h if nearer else owner[i]


@njit(cache=True, nogil=True)
def _spread_heads_jit(x, y, energy, k, draws, max_passes):
    """:func:`spread_heads` with its k uniforms ``draws`` drawn (module Notes, steps 1-4)."""
    n = x.shape[0]
    weight = np.empty(n)
    for i in range(n):
        weight[i] = 1.0 / max(energy[i], 1e-300)
    heads = np.empty(k, dtype=np.int64)
    is_head = np.zeros(n, dtype=np.bool_)
    nearest = np.full(n, np.inf)
    probability = np.empty(n)
    for i in range(n):
        probability[i] = weight[i]
    for s in range(k):  # 1. weighted k-means++ seeding (probability: w_i, then w_i D_i^2 after each head)
        total = _numpy_sum_jit(probability)
        if total > 0.0 and np.isfinite(total):
            pick = 0
            running = 0.0
            while pick < n:  # the first node whose cumulative probability exceeds the draw
                running += probability[pick]
                if running / total > draws[s]:
                    break
                pick += 1
            pick = min(pick, n - 1)
            while is_head[pick]:  # (a head has D = 0: only reachable through rounding at the end)
                pick = pick - 1 if pick > 0 else n - 1
        else:
            pick = 0
            while is_head[pick]:
                pick += 1
        heads[s] = pick
        is_head[pick] = True
        for i in range(n):
            dx = x[i] - x[pick]
            dy = y[i] - y[pick]
            d2 = dx * dx + dy * dy
            if d2 < nearest[i]:
                nearest[i] = d2
            probability[i] = weight[i] * nearest[i]
    owner = np.empty(n, dtype=np.int64)
    new_heads = np.empty(k, dtype=np.int64)
    best = np.empty(k)
    threshold = np.empty(k)
    centre_x = np.empty(k)
    centre_y = np.empty(k)
    for _ in range(max_passes):
        _assign_nearest_head_jit(x, y, heads, owner, nearest)  # 2. assign (nearest: scratch from here on)
        for h in range(k):
            owner[heads[h]] = h
        mass = np.zeros(k)  # 3. update: the eligible member nearest the weighted centroid
        sum_x = np.zeros(k)
        sum_y = np.zeros(k)
        sum_e = np.zeros(k)
        size = np.zeros(k, dtype=np.int64)
        top_e = np.full(k, -np.inf)
        for i in range(n):
            c = owner[i]
            mass[c] += weight[i]
            sum_x[c] += weight[i] * x[i]
            sum_y[c] += weight[i] * y[i]
            sum_e[c] += energy[i]
            size[c] += 1
            top_e[c] = max(top_e[c], energy[i])
        for c in range(k):  # per cluster once: the eligibility threshold and the weighted centroid
            threshold[c] = min(sum_e[c] / size[c], top_e[c])
            centre_x[c] = sum_x[c] / mass[c]
            centre_y[c] = sum_y[c] / mass[c]
        new_heads[:] = -1
        for i in range(n):
            c = owner[i]
            if energy[i] >= threshold[c]:
                dx = x[i] - centre_x[c]
                dy = y[i] - centre_y[c]
                d2 = dx * dx + dy * dy
            else:
                d2 = np.inf
            if new_heads[c] < 0 or d2 < best[c]:
                new_heads[c] = i
                best[c] = d2
        changed = False
        for h in range(k):
            if new_heads[h] != heads[h]:
                changed = True
        if not changed:
            break
        heads[:] = new_heads
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
        heads = spread_head_sets(state.x[alive], state.y[alive], state.energy[alive], sizes, rng, self.max_passes)
        for row, positions in enumerate(heads, start=1):
            masks[row, alive[positions]] = 1
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
