"""Probes of richer candidate pools for ``ddnn-price``, on training data only.

Two changes to what the sink chooses from, each measured against ``ddnn-price-rule`` (prices 1 / e_i) and
``ddnn-price`` (the shipped learned prices) on the 12 validation deployments of the price training scenarios
(as ``benchmarks/ddnn_price_probes.py``; no held-out scenario of ``studies/suite.toml`` is touched), with
``anneal`` run beside them as the reference the probes try to approach:

- ``wide sizes``: the pool's head-set sizes k_opt x f for f in (0.5, 0.75, 1, 1.5, 2) widened to
  (..., 3, 4, 6) and (..., 3, 4, 6, 8, 12). The lifetime limit's schedules at these sizes elect 17 to 27 heads
  per round on average where k_opt is about 4 (``benchmarks/ddnn_lp_probes.py``), outside the default sizes.
- ``imitation`` (amortised search, learned): a sequential head picker imitates ``anneal``'s executed sets.
  Node i is picked next with probability softmax_i(w . f_i) over the alive nodes not yet picked. Its features
  f_i are the remaining fraction e_i / e0_i, min(e_i / e_bar, 3), min(d_i / d0, 5), min(D_i / r_k, 3) and its
  square (D_i: the distance to the nearest head already picked, r_k = sqrt(W H / (pi k)) the radius of one of
  k equal clusters), the local density - 1 and min(d_i / d0, 5) e_i / e0_i. w is fitted by maximum likelihood
  with teacher forcing (Adam, 400 full-batch steps, standardised features). The picker is trained on anneal's
  re-clustering rounds (every second one) in the training scenarios' own run seeds and those + 30,000, never
  on a validation deployment. At run time the greedy picks at each pool size join the pool. Its non-learned
  counterpart is the pool without them (ddnn-price-rule).
- ``time weight`` (not a pool change, measured beside them): ddnn-price-rule with the objective's time
  weight w_T (``--time-weight``) scaled by 1/3, 1/10 and 0, the non-learned way to spend latency for
  lifetime, since the learned prices lengthen the rounds (the last column: mean round latency up to FND
  against the baseline's, per deployment).
- ``handover`` (not a pool change, measured beside them): the learned prices until the first death, the
  prices 1 / e_i after it, so that the learned prices' FND could come without their HND.

Rule (fixed before each run, in the session's notes): a variant is worth a held-out screen only if, against
ddnn-price-rule and against ddnn-price both, its mean FND ratio, mean HND ratio and mean per-deployment
min(FND ratio, HND ratio) are all above 1.

Run ``python3 benchmarks/ddnn_pool_probes.py [--jobs 2] [--out FILE.md]`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ddnn_lp_probes as lp  # noqa: E402
from ddnn_price_probes import ROUNDS, finish, probe_arguments, probe_deployments  # noqa: E402

from wsnmec.clustering.anneal import AnnealPolicy  # noqa: E402
from wsnmec.clustering.ddnn import local_density  # noqa: E402
from wsnmec.clustering.dryrun import SIZE_FACTORS, distinct_rows  # noqa: E402
from wsnmec.clustering.priced import PricedPolicy, PricedRulePolicy, PricedScorer  # noqa: E402
from wsnmec.sim.rounds import RoundLoop  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402
from wsnmec.training.prices import TRAINING_SCENARIOS  # noqa: E402

WIDE = SIZE_FACTORS + (3.0, 4.0, 6.0)
WIDER = WIDE + (8.0, 12.0)
N_PICK_FEATURES = 7
#: Training deployments of the picker: the training scenarios' run seeds plus these offsets.
PICKER_SEED_OFFSETS = (0, 30_000)


def _wide(base, factors):
    class Wide(base):
        def reset(self, state, rng):
            super().reset(state, rng)
            self.size_factors = np.asarray(factors, dtype=np.float64)

    return Wide


def pick_features(energy, initial, d_sink, field, alive, nearest_head, k: int, density, d0: float) -> np.ndarray:
    """The picker's rows [len(alive), N_PICK_FEATURES] (module docstring)."""
    e = energy[alive]
    mean_e = float(e.mean()) if e.size else 1.0
    radius = math.sqrt(float(field[0]) * float(field[1]) / (math.pi * max(k, 1)))
    near = np.minimum(nearest_head[alive] / radius, 3.0)
    reach = np.minimum(d_sink[alive] / d0, 5.0)
    fraction = e / initial[alive]
    return np.column_stack([fraction, np.minimum(e / mean_e, 3.0), reach, near, near * near, density[alive] - 1.0,
                            reach * fraction])


def greedy_pick(state, weights, k: int, density, d0: float, alive) -> np.ndarray:
    """uint8[N]: k heads picked one at a time, each the argmax of weights . f over the alive nodes not yet
    picked."""
    nearest_head = np.full(state.n, np.inf)
    mask = np.zeros(state.n, dtype=np.uint8)
    free = np.ones(alive.size, dtype=bool)
    for _ in range(min(k, alive.size)):
        score = pick_features(state.energy, state.initial_energy, state.d_sink, state.field, alive, nearest_head, k,
                              density, d0) @ weights
        score[~free] = -np.inf
        j = int(np.argmax(score))
        free[j] = False
        mask[alive[j]] = 1
        nearest_head = np.minimum(nearest_head, np.hypot(state.x - state.x[alive[j]], state.y - state.y[alive[j]]))
    return mask


def record_anneal(task) -> list:
    """(feature rows, 1 where the node is one of anneal's heads not yet picked) of every pick of anneal's
    re-clustering rounds (every second) on one training deployment, the heads in a random order."""
    values, seed = task
    scenario = Scenario.from_mapping({**values, "protocol": "anneal"})
    policy = AnnealPolicy(scenario)
    loop = RoundLoop(scenario, seed, clustering=policy)
    state = loop.state
    density = local_density(state.x, state.y, state.field)
    order_rng = np.random.default_rng(seed)
    elect, seen, out = policy.elect, {}, []

    def spy(state, rng):
        before = (state.energy.copy(), np.flatnonzero(state.alive_u8), policy.previous_heads(state).copy())
        mask = np.asarray(elect(state, rng), dtype=bool)
        seen["round"] = before + (mask.copy(),)
        return mask

    policy.elect = spy
    for r in range(1, ROUNDS + 1):
        alive_count = loop.step()
        energy, alive, previous, mask = seen["round"]
        heads = np.flatnonzero(mask)
        if heads.size and r % 2 == 0 and not np.array_equal(mask, previous):
            nearest_head = np.full(state.n, np.inf)
            picked = np.zeros(state.n, dtype=bool)
            for head in order_rng.permutation(heads):
                free = alive[~picked[alive]]
                out.append((pick_features(energy, state.initial_energy, state.d_sink, state.field, free, nearest_head,
                                          heads.size, density, policy.radio.d0), mask[free]))
                picked[head] = True
                nearest_head = np.minimum(nearest_head, np.hypot(state.x - state.x[head], state.y - state.y[head]))
        if alive_count <= scenario.nodes // 2:
            break
    return out


def fit_picker(blocks, steps: int = 400, rate: float = 0.1) -> tuple[np.ndarray, float]:
    """Maximum-likelihood weights of the picker (any not-yet-picked head of the teacher's set is a correct
    pick) and the mean log-likelihood per pick."""
    stacked = np.concatenate([f for f, _ in blocks])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    w, m, v = np.zeros(N_PICK_FEATURES), np.zeros(N_PICK_FEATURES), np.zeros(N_PICK_FEATURES)
    loglik = 0.0
    for step in range(1, steps + 1):
        grad, loglik = np.zeros(N_PICK_FEATURES), 0.0
        for rows, target in blocks:
            z = (rows - mean) / scale
            p = np.exp(z @ w - (z @ w).max())
            hit = p * target
            loglik += math.log(hit.sum() / p.sum())
            grad += (p / p.sum()) @ z - (hit / hit.sum()) @ z
        grad /= len(blocks)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= rate * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return w / scale, loglik / len(blocks)  # a constant shift of the scores does not change a softmax


PICKER = np.zeros(N_PICK_FEATURES)


def _set_picker(weights):
    global PICKER
    PICKER = np.asarray(weights, dtype=np.float64)


class Imitation(PricedRulePolicy):
    def reset(self, state, rng):
        super().reset(state, rng)
        self.picker_density = local_density(state.x, state.y, state.field)

    def start_pool(self, state, rng, alive):
        pool = super().start_pool(state, rng, alive)
        picks = [greedy_pick(state, PICKER, int(k), self.picker_density, self.radio.d0, alive)
                 for k in self.sizes(state, alive.shape[0])]
        return distinct_rows(np.concatenate([pool, np.array(picks)]))


class ImitationLearnedPrices(Imitation, PricedPolicy):
    learned = True


def _time_weight(base, scale: float):
    class TimeWeight(base):
        def reset(self, state, rng):
            super().reset(state, rng)
            self.scorer = PricedScorer(state, time_scale=scale)

    return TimeWeight


class Handover(PricedPolicy):
    def prices(self, state):
        if state.alive_count == state.n:
            return super().prices(state)
        out = np.zeros(state.n)
        out[state.alive] = 1.0 / np.maximum(state.energy[state.alive], 1e-300)
        return out


VARIANTS = {"wide sizes (to 6 k_opt), prices 1 / e_i": _wide(PricedRulePolicy, WIDE),
            "wide sizes (to 6 k_opt), learned prices": _wide(PricedPolicy, WIDE),
            "wider sizes (to 12 k_opt), prices 1 / e_i": _wide(PricedRulePolicy, WIDER),
            "wider sizes (to 12 k_opt), learned prices": _wide(PricedPolicy, WIDER),
            "imitation picks, prices 1 / e_i": Imitation,
            "imitation picks, learned prices": ImitationLearnedPrices,
            "time weight w_T / 3, prices 1 / e_i": _time_weight(PricedRulePolicy, 1.0 / 3.0),
            "time weight w_T / 10, prices 1 / e_i": _time_weight(PricedRulePolicy, 0.1),
            "time weight 0, prices 1 / e_i": _time_weight(PricedRulePolicy, 0.0),
            "handover: learned prices, then 1 / e_i after the first death": Handover,
            "anneal (reference)": AnnealPolicy}


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv)
    start = time.perf_counter()
    lp.POLICIES.update(VARIANTS)
    training = [(dict(v), int(s) + offset) for offset in PICKER_SEED_OFFSETS for v, s in TRAINING_SCENARIOS]
    with ProcessPoolExecutor(args.jobs) as pool:
        blocks = [block for found in pool.map(record_anneal, training) for block in found]
    weights, loglik = fit_picker(blocks)
    deployments = probe_deployments()
    with ProcessPoolExecutor(args.jobs, initializer=_set_picker, initargs=(weights,)) as pool:
        runs = {name: list(pool.map(lp._run, [(v, s, name) for v, s in deployments]))
                for name in ("ddnn-price-rule", "ddnn-price", *VARIANTS)}
    lines = [f"Picker: {len(blocks)} picks from anneal's sets on {len(training)} training deployments, mean "
             f"log-likelihood per pick {loglik:.3f}; weights (features in the docstring's order) "
             + ", ".join(f"{v:.3f}" for v in weights) + ".", ""]
    return finish(lines + lp.comparison_lines(runs, VARIANTS), len(deployments), start, args.jobs, args.out)

if __name__ == "__main__":
    raise SystemExit(main())
