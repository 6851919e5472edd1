"""``ddnn-price``: head sets chosen each round at the sink under learned per-node energy prices, the prices
learned from whole lifetimes (not from one round); ``ddnn-price-rule`` is the same pipeline with the
non-learned prices 1 / e_i.

What it is: a centralised policy (information: global, at the sink; control pattern ``centralized``, as
LEACH-C, ``spread`` and ``anneal``: every alive node uploads its residual energy, the sink broadcasts the
assignment, the charge of :mod:`wsnmec.sim.accounting`). Each round:

1. *Candidates* (interacting set construction, no learning): ``anneal``'s start pool, i.e. ``spread``'s
   weighted k-medoids sets (each head chosen given the others, so spatial spread is expressed), the top-k
   residual-energy sets of ``ddnn-rule`` at the same sizes around k_opt, the previous round's set on the
   alive nodes (keeping the clusters) and the empty set (every node sends straight to the sink). On small
   networks (at most 32 alive) the best is refined by single toggles and swaps, as every dry-run policy.
2. *Prices*: one per-node network (shared by all nodes, a linear layer on :data:`PRICE_FEATURES`, each
   feature local to the node or broadcast by the sink) gives g_i; node i's energy price is
   pi_i = exp(g_i) / e_i [1/J].
3. *Choice*: the candidate with the lowest priced objective (the compiled dry-run scorer's per-node draws
   of the round, :mod:`wsnmec.clustering.dryrun`) is executed:

       J_pi = sum_i drawn_i pi_i + w_T T / e_bar

   With g = 0 this is exactly the objective of ``ddnn``, ``ddnn-rule``, ``spread`` and ``anneal``
   (first-order decrease of sum_i ln e_i plus the time term), which is what ``ddnn-price-rule`` runs.

Notes
-----
**Why prices, and why learn them over lifetimes.** The lifetime limit (:mod:`wsnmec.bound`) is a packing
linear program over time-shared configurations; its dual weights are per-node energy prices, and a
configuration enters the optimal schedule only if its priced cost is minimal. A one-round objective with
the fixed prices 1 / e_i cannot know which nodes will be the bottleneck later (the far nodes with a far
sink; the nodes that must relay near the sink with a central one). Measured on 3 seeds of 100 nodes (before
kept clusters paid no set-up), the price exp(3 x consumed fraction) / e_i moved the mean FND from 749 to 763
with the sink at (50, 175) and from 1,373 to 1,274 with the sink at the centre: the best prices depend on
the geometry. The
weights of g are therefore learned from whole simulated lifetimes, by the cross-entropy method (Rubinstein
1999 [1]_; a policy search of the evolution-strategies family for reinforcement learning, Salimans et al.
2017 [2]_): a Gaussian over the weights, sampled, each sample scored by the mean of FND / FND_0 and
HND / HND_0 over the training scenarios (the subscript 0: the same scenario and seed with g = 0, so every
scenario weighs the same), the mean and spread refitted to the best samples (:func:`wsnmec.training.prices.train_prices`). The
same run seeds serve every sample of the search (common random numbers), so samples are compared on the
same deployments.

**What the learned prices cost.** The search scores lifetimes only (FND and HND). On the held-out
scenarios of the scenario suite the shipped prices trade HND for FND against the prices 1 / e_i. They
also lengthen the rounds: the mean round latency is 56 to 395 ms above ``ddnn-price-rule``'s in every
scenario, and 1.4 to 1.55 times it up to FND on the training scenarios' validation deployments.
``wsnmec train`` reports the latter as ``validation_latency_ratio`` (``docs/ddnn_price/README.md``).

**Features** (:data:`PRICE_FEATURES`; e_i [J] the residual, e0_i the initial energy, e_bar the alive mean,
d_i [m] the distance to the sink, d0 [m] the radio's crossover distance):

0. 1 - e_i / e0_i clipped to [-1, 1] (consumed fraction; an exponential price on it is the multiplicative
   weights rule of packing LPs);
1. 1 - min(e_i / e_bar, 3) (below the alive mean);
2. min(d_i / d0, 5);
3. feature 0 times min(d_i / d0, 3);
4. feature 1 times min(d_i / d0, 3);
5. local density - 1 (``ddnn``'s feature 4: neighbours over the expected count, from round 1's hellos);
6. harvest over consumption (``ddnn``'s feature 6; 0 without harvesting);
7. alive fraction.

The output is clipped to [-20, 20] before the exponential.

**Control**: the ``centralized`` pattern's charge (upload B bits, receive the assignment; nothing in a round
that keeps the clusters, :mod:`wsnmec.sim.accounting`) covers what the sink needs: the features and prices
are computed at the sink from the uploaded energies and the positions. The density feature needs round 1's
hello exchange, charged as ``ddnn``'s (:meth:`PricedPolicy.control_energy`). In a kept round no energy is
uploaded; the sink then uses the energies its own dry run of the executed round predicts (exact without
harvesting; with harvesting it misses the round's harvest until the next set-up).

References
----------
.. [1] R. Rubinstein, "The cross-entropy method for combinatorial and continuous optimization",
   Methodology and Computing in Applied Probability 1(2), 127-190, 1999.
.. [2] T. Salimans, J. Ho, X. Chen, S. Sidor, I. Sutskever, "Evolution strategies as a scalable alternative
   to reinforcement learning", arXiv:1703.03864, 2017.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .anneal import AnnealPolicy
from .dryrun import CandidateScorer, candidate_objective

#: Per-node inputs of the price network, in column order (module Notes).
PRICE_FEATURES = (
    "consumed_fraction", "below_alive_mean", "sink_distance_over_d0", "consumed_times_distance",
    "below_mean_times_distance", "local_density_minus_one", "harvest_over_consumption", "alive_fraction",
)
N_PRICE_FEATURES = len(PRICE_FEATURES)

#: The price model shipped with the package (``--protocol ddnn-price`` without ``--policy-model``).
DEFAULT_PRICE_MODEL = Path(__file__).resolve().parent / "models" / "ddnn_price_default.npz"

OBJECTIVE = "sum_i drawn_i exp(g_i) / e_i + w_T latency / mean_alive(e)"


def price_features(state, density, harvest_avg, consumption_avg, d0: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows [n_alive, N_PRICE_FEATURES] of the alive nodes and their indices (module Notes)."""
    alive = np.flatnonzero(state.alive_u8)
    rows = np.zeros((alive.shape[0], N_PRICE_FEATURES))
    if alive.shape[0] == 0:
        return rows, alive
    e = state.energy[alive]
    mean_e = float(e.mean())
    consumed = np.clip(1.0 - e / state.initial_energy[alive], -1.0, 1.0)
    below = 1.0 - np.minimum(e / mean_e, 3.0) if mean_e > 0.0 else np.zeros(alive.shape[0])
    reach = state.d_sink[alive] / d0 if d0 > 0.0 else np.full(alive.shape[0], 5.0)
    rows[:, 0] = consumed
    rows[:, 1] = below
    rows[:, 2] = np.minimum(reach, 5.0)
    rows[:, 3] = consumed * np.minimum(reach, 3.0)
    rows[:, 4] = below * np.minimum(reach, 3.0)
    rows[:, 5] = density[alive] - 1.0
    rows[:, 6] = np.clip(harvest_avg[alive] / consumption_avg, 0.0, 5.0) if consumption_avg > 0.0 else 0.0
    rows[:, 7] = alive.shape[0] / state.n
    return rows, alive


class PricedScorer(CandidateScorer):
    """The dry-run scorer with the objective J_pi of the module Notes (prices given per round);
    ``time_scale`` multiplies the scenario's time weight w_T (1: the objective as documented)."""

    def __init__(self, state, time_scale: float = 1.0):
        super().__init__(state)
        self.prices = np.zeros(state.n)
        self.time_scale = float(time_scale)

    def __call__(self, state, masks):
        from ..energy.layout import P_TIME_WEIGHT

        drawn, latency, utility = self.draws(state, masks)
        j = candidate_objective(drawn, latency, state.energy, state.alive,
                                self.time_scale * float(state.params[P_TIME_WEIGHT]), prices=self.prices)
        return j, latency, utility


class PricedPolicy(AnnealPolicy):
    """Learned per-node energy prices over ``anneal``'s start pool (module docstring). ``weights`` (the
    price network's input weights [N_PRICE_FEATURES] and bias) override the model file (training)."""

    name = "ddnn-price"
    control = "centralized"
    learned = True
    steps = 0  # no annealing: the pool's argmin (refined on small networks)
    #: Inputs of the price network, in column order (a subclass with other inputs overrides
    #: :meth:`price_inputs` and this).
    features = PRICE_FEATURES

    def __init__(self, scenario, weights=None):
        super().__init__(scenario)
        self._given_weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.model_path = None

    def _weights(self) -> np.ndarray:
        if self._given_weights is not None:
            return self._given_weights
        if not self.learned:
            return np.zeros(len(self.features) + 1)
        path = getattr(self.scenario, "policy_model", None)
        path = Path(path) if path is not None else DEFAULT_PRICE_MODEL
        if not path.is_file():
            raise ParameterError("--policy-model", f"model file {str(path)!r} not found (train one with "
                                                   "'wsnmec train --protocol ddnn-price --out MODEL.npz')")
        self.model_path = str(path)
        return load_price_weights(path)

    def reset(self, state, rng):
        from .ddnn import local_density

        super().reset(state, rng)
        self.weights = self._weights()
        self.scorer = PricedScorer(state)
        self.density = local_density(state.x, state.y, state.field)
        self.harvest_avg = np.zeros(state.n)
        self.consumption_avg = 0.0

    def price_inputs(self, state) -> tuple[np.ndarray, np.ndarray]:
        """The network's input rows [n_alive, len(:attr:`features`)] and the alive indices
        (:func:`price_features`)."""
        return price_features(state, self.density, self.harvest_avg, self.consumption_avg, self.radio.d0)

    def prices(self, state) -> np.ndarray:
        """pi_i [1/J] of every node (0 for the dead; module Notes)."""
        rows, alive = self.price_inputs(state)
        out = np.zeros(state.n)
        if alive.shape[0]:
            g = np.clip(rows @ self.weights[:-1] + self.weights[-1], -20.0, 20.0)
            out[alive] = np.exp(g) / np.maximum(state.energy[alive], 1e-300)
        return out

    def elect(self, state, rng):
        from .ddnn import smooth_harvest_and_consumption

        self.scorer.prices = self.prices(state)
        mask = super().elect(state, rng)
        self.consumption_avg = smooth_harvest_and_consumption(state, self.harvest_avg, self.consumption_avg,
                                                              np.flatnonzero(state.alive_u8))
        return mask

    def control_energy(self, state, heads):
        """Round 1's hello exchange (the density feature, as ``ddnn``'s round 1) [J]; nothing after: the prices
        are computed at the sink from the values the ``centralized`` pattern already uploads (module Notes)."""
        from ..energy.layout import P_CONTROL_BITS
        from .ddnn import hello_energy

        if state.round != 1 or float(state.params[P_CONTROL_BITS]) <= 0.0:
            return None
        return hello_energy(state, self.density)

    def describe(self):
        out = super().describe()
        out.update({"name": self.name, "search": "none (argmin of the start pool)",
                    "prices": "learned" if self.learned else "1 / e_i",
                    "price_features": list(self.features), "objective": OBJECTIVE,
                    "price_weights": [float(v) for v in getattr(self, "weights", self._weights())]})
        if self.model_path:
            out["model"] = self.model_path
        return out


class PricedRulePolicy(PricedPolicy):
    """``ddnn-price-rule``: the same pool, execution and charge with the prices 1 / e_i (no learning)."""

    name = "ddnn-price-rule"
    learned = False


# --- model files -------------------------------------------------------------------------------------------


def save_price_weights(path, weights, metadata: dict) -> Path:
    """Write the price network (a linear layer: ``weights[:-1]`` on the features, ``weights[-1]`` the
    bias) as a model file with its metadata (:func:`wsnmec.learn.save_model`, checksummed)."""
    from ..learn import StackedMLP, save_model

    net = StackedMLP(N_PRICE_FEATURES, (), 1, networks=1, rng=np.random.default_rng(0))
    w = np.asarray(weights, dtype=np.float64)
    net.weights[0][0, :, 0] = w[:-1]
    net.biases[0][0, 0, 0] = w[-1]
    return save_model(path, net, {"policy": "ddnn-price", "features": list(PRICE_FEATURES), **metadata})


def load_price_weights(path) -> np.ndarray:
    """The weights [N_PRICE_FEATURES + 1] of a price model file, checked (one-line errors)."""
    from ..learn import load_model

    saved = load_model(path, "--policy-model")
    arch = saved.net.architecture()
    if arch["layers"] != [N_PRICE_FEATURES, 1] or arch["networks"] != 1:
        raise ParameterError("--policy-model", f"is not a ddnn-price model (layers {arch['layers']}; expected "
                                               f"[{N_PRICE_FEATURES}, 1])")
    w = np.concatenate([saved.net.weights[0][0, :, 0], saved.net.biases[0][0, 0]])
    if not np.all(np.isfinite(w)):
        raise ParameterError("--policy-model", "has weights that are not finite")
    return w
