"""``ddnn``: cluster heads chosen at the sink each round, from learned proposals scored by a one-round model
of the network (the DDLO scheme applied to clustering).

What it is: a centralised policy. The sink decides: K small neural networks propose candidate head sets,
and the sink picks the one whose dry run of the round (the compiled accounting, :meth:`score`: a one-round
model of the network's energy and latency) has the lowest objective. "Distributed" (the D of DDLO) means
two things only: the K networks propose in parallel, and each is one per-node network (shared by all
nodes, on local features and broadcast values) that every node could evaluate itself; the decision is not
distributed, and nothing beyond the next round is predicted.

Registered as ``ddnn`` (learned proposals) and ``ddnn-rule`` (the same candidates, objective and
execution, but proposed by a non-learned rule: top-k by residual energy), so the two can be compared.

Each round (inside :meth:`DDNNPolicy.elect`, after the harvest):

1. *Features*: one row of :data:`FEATURES` per alive node (:func:`node_features`; size-agnostic, every
   value a ratio, so one model serves every N, field, sink and initial energy).
2. *Proposals*: K per-node networks (one :class:`wsnmec.learn.StackedMLP` with ``n_out = 1``, shared by all
   nodes) score every alive node; for each network and each size k in
   ``clip(round(k_opt * SIZE_FACTORS), 1, alive)`` (k_opt of :mod:`wsnmec.clustering.optimal`), the k
   highest-scored nodes form a candidate cluster-head set (:func:`wsnmec.learn.top_k`); one more
   candidate is the empty set (every alive node sends straight to the sink, i.e. direct transmission).
   On small networks (at most :data:`REFINE_MAX_ALIVE` alive nodes, where k_opt is about 1 and the sizes
   around it are coarse) the best candidate is then refined by a deterministic local search over single
   toggles and head/non-head swaps (:meth:`DDNNPolicy.refine`).
3. *Scoring*: every candidate is dry-run with the compiled scorer
   (:func:`wsnmec.sim.accounting.score_candidates_jit`, the accounting the round loop executes) with the
   scenario's built-in offloading rule (``--offload``) deciding its heads, so ``--offload`` keeps its meaning
   and the executed round is exactly the scored one. The candidate with the lowest objective J (below)
   is executed.
4. *Learning* (DDLO [1]_, in pretraining: :func:`wsnmec.training.ddnn.pretrain`, ``wsnmec train``): the executed set's per-node
   labels (1 head, 0 not) with the nodes' feature rows go into a replay memory shared by the K networks
   (all heads plus a random sample of non-heads; rounds whose best set is empty store nothing); every
   ``train_interval`` rounds each network takes one Adam step of binary cross-entropy on its own batch
   drawn from that memory. Pretraining also scores, for exploration, the residual-energy rule's sets and
   the top-k sets of each network's scores plus standard-normal noise; only the best candidate is executed
   and learned from. At run time the candidates are the networks' own (plus the empty set), and the
   networks are frozen by default (the model's ``online_interval`` = 0): continuing the DDLO updates at
   run time without exploration made the far-sink FND worse (4 seeds, a 20-episode model: 711 online vs
   928 frozen), so online training is available (``online_interval`` > 0 in the model's settings) but off.

Notes
-----
**Objective** (lower is better; drawn_i [J] the candidate's per-node draw of this round, e_i [J] the
residual energy of alive node i at election time, T [s] the round latency, w_T [J/s] the time weight of
the system utility, e_bar [J] the alive nodes' mean residual energy):

    J = sum_i drawn_i / e_i + w_T T / e_bar

It is the system utility U = sum_i drawn_i + w_T T with every joule weighted by the inverse residual
energy of the node that pays it (when all residuals are equal, J = U / e_bar: the plain system utility).
Why: sum_i drawn_i / e_i is the first-order decrease of sum_i ln e_i in the round, so minimising it each
round greedily keeps the log-energy sum (a proportional-fairness / log-barrier measure) as high as
possible. It (a) still minimises total energy when energies are balanced, which extends HND and the
delivered data, and (b) moves the expensive cluster-head role to nodes with much residual energy and
never lets a nearly empty node relay, which extends FND (a pure max-min term max_i drawn_i / e_i would
ignore every node but one and a pure energy term ignores who pays). With the sink at the field centre,
where every node is within d0, the empty set (direct transmission) often wins, which is why it is a
candidate; with a far sink, clustering wins.

**Features** (in order, :data:`FEATURES`; clipped to the ranges given):

0. e_i / e_i(0) in [0, 2] (residual over initial energy);
1. e_i / e_bar in [0, 5] (over the alive mean);
2. d_i / D in [0, 3], D the field diagonal (distance to the sink);
3. d_i / d0 in [0, 5], d0 the radio's crossover distance (free space vs multipath to the sink);
4. local density in [0, 5]: nodes (deployed) in the 3 x 3 block of grid cells around the node's cell over
   the number expected there, on a G x G grid over the field with G = max(1, round(sqrt(N / 4)))
   (about 4 nodes per cell; O(N); static: learnt once at deployment from neighbours' hello messages);
5. r_s p in [0, 5]: rounds since the node was last head, in epochs of 1/p rounds;
6. h_i / c_bar in [0, 5]: the node's exponentially smoothed harvest (weight 0.1 per round) over the
   smoothed mean per-node consumption of the alive nodes (0 without harvesting);
7. alive fraction;
8. log10(N) / 4 (N the deployed nodes; 0.5 at N = 100, 1 at N = 10,000).

**What the nodes exchange each round** (control overhead, charged with ``--control-bits B`` > 0; B = 0
charges nothing, as for every protocol): the policy's control pattern is ``centralized`` (the accounting
charges each alive node's upload of B bits to the sink, E_tx(B, d_sink): its K scores and residual
energy; its reception of the sink's head assignment, E_rx(B); and the heads' schedules, as LEACH-C).
Before computing its features, every alive node also receives the sink's context broadcast (B bits:
e_bar, c_bar, the alive fraction, N, p), charged here as one more E_rx(B) per alive node
(:meth:`DDNNPolicy.control_energy`); in round 1 every node additionally sends one hello of B bits over the
grid's 3-cell range and receives its neighbours' hellos (the density feature). The sink is mains powered:
its transmissions cost the nodes nothing; the K networks and the scoring run at the sink (each node could
evaluate the shared per-node network itself from its local features and the broadcast values; the sink
needs the scores anyway to build and dry-run the candidates).

**Reproducibility**: every random draw (initial weights when no model is given, the memory's row sample,
the training batches) comes from the Generator passed to :meth:`~DDNNPolicy.reset` and
:meth:`~DDNNPolicy.elect` (the replica's generator); everything else is deterministic, so a seeded run is
identical twice.

References
----------
.. [1] L. Huang, X. Feng, A. Feng, Y. Huang, L. P. Qian, "Distributed Deep Learning-based Offloading for
   Mobile Edge Computing Networks", Mobile Networks and Applications, 2018 (K parallel networks,
   candidates scored by the objective, shared replay memory).
.. [2] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002 (k_opt, the
   centralized control pattern).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..learn import Adam, ReplayMemory, StackedMLP, load_model, save_model, top_k
from .base import ClusteringPolicy, described_p, resolved_p
from .dryrun import (  # noqa: F401  (re-exported: the shared objective, sizes and refinement)
    OBJECTIVE,
    REFINE_MAX_ALIVE,
    REFINE_PASSES,
    SIZE_FACTORS,
    CandidateScorer,
    candidate_objective,
    choose,
    distinct_rows,
    head_set_sizes,
    refine,
)

#: Per-node input features, in column order (module Notes).
FEATURES = (
    "residual_over_initial", "residual_over_alive_mean", "sink_distance_over_diagonal",
    "sink_distance_over_d0", "local_density", "epochs_since_head", "harvest_over_consumption",
    "alive_fraction", "log10_nodes_over_4",
)
N_FEATURES = len(FEATURES)

#: Standard deviation of the exploration noise added to the logits in pretraining.
EXPLORATION_NOISE = 1.0

#: Smoothing weight of the harvest and consumption averages (feature 6).
SMOOTHING = 0.1

#: Learner settings of a new model (``wsnmec train`` options override them).
DEFAULT_SETTINGS = {
    "networks": 3, "hidden": [32, 16], "learning_rate": 1e-3, "memory_size": 4096, "batch": 128,
    "train_interval": 5, "online_interval": 0, "rows_per_round": 32, "size_factors": list(SIZE_FACTORS),
}


def saved_settings(metadata: dict) -> dict:
    """The learner settings of a loaded model's metadata over :data:`DEFAULT_SETTINGS`, checked: a
    ``settings`` that is not a table, or a setting of the wrong type, is a one-line ``--policy-model`` error."""
    settings = metadata.get("settings", {}) if isinstance(metadata, dict) else None
    if not isinstance(settings, dict):
        raise ParameterError("--policy-model", "has metadata 'settings' that is not a table of learner settings")
    merged = {**DEFAULT_SETTINGS, **settings}
    for key, default in DEFAULT_SETTINGS.items():
        value = merged[key]
        if isinstance(default, list):
            good = isinstance(value, list) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in value)
            allowed = "a list of positive numbers"
        else:
            good = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
            allowed = "a finite number >= 0"
        if not good:
            raise ParameterError("--policy-model", f"has setting {key!r} = {str(value)[:40]!r}; it must be {allowed}")
    return merged

#: The model shipped with the package (``wsnmec run --protocol ddnn`` without ``--policy-model``).
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "ddnn_default.npz"

# --- features --------------------------------------------------------------------------------------------


def local_density(x, y, field) -> np.ndarray:
    """Feature 4 (module Notes): nodes in the 3 x 3 cells around each node's cell over the expected count.

    ``x``, ``y`` [m] positions, ``field`` (W, H) [m]; O(N + G^2) with G = max(1, round(sqrt(N / 4))).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    g = max(1, int(round(math.sqrt(n / 4.0))))
    w, h = float(field[0]), float(field[1])
    cx = np.clip((x / w * g).astype(np.int64), 0, g - 1)
    cy = np.clip((y / h * g).astype(np.int64), 0, g - 1)
    counts = np.bincount(cx * g + cy, minlength=g * g).reshape(g, g).astype(np.float64)
    padded = np.pad(counts, 1)
    block = sum(padded[1 + dx: 1 + dx + g, 1 + dy: 1 + dy + g] for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    ones = np.pad(np.ones((g, g)), 1)
    cells = sum(ones[1 + dx: 1 + dx + g, 1 + dy: 1 + dy + g] for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    expected = cells * (n / (g * g))
    return np.clip(block[cx, cy] / expected[cx, cy], 0.0, 5.0)


def node_features(state, density, harvest_avg, consumption_avg, d0: float) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of the alive nodes: ``(rows [n_alive, N_FEATURES], alive indices)`` (module Notes).

    ``density`` is :func:`local_density` of the deployment; ``harvest_avg`` [J] the nodes' smoothed
    harvest, ``consumption_avg`` [J] the smoothed mean per-node consumption; ``d0`` [m] the crossover
    distance.
    """
    alive = np.flatnonzero(state.alive_u8)
    n = state.n
    rows = np.empty((alive.shape[0], N_FEATURES), dtype=np.float64)
    if alive.shape[0] == 0:
        return rows, alive
    e = state.energy[alive]
    mean_e = float(e.mean())
    diagonal = math.hypot(float(state.field[0]), float(state.field[1]))
    d = state.d_sink[alive]
    p = resolved_p(state)
    rows[:, 0] = np.clip(e / state.initial_energy[alive], 0.0, 2.0)
    rows[:, 1] = np.clip(e / mean_e, 0.0, 5.0) if mean_e > 0.0 else 0.0
    rows[:, 2] = np.clip(d / diagonal, 0.0, 3.0)
    rows[:, 3] = np.clip(d / d0, 0.0, 5.0) if d0 > 0.0 else 5.0
    rows[:, 4] = density[alive]
    rows[:, 5] = np.clip(state.rounds_since_ch[alive] * p, 0.0, 5.0)
    rows[:, 6] = np.clip(harvest_avg[alive] / consumption_avg, 0.0, 5.0) if consumption_avg > 0.0 else 0.0
    rows[:, 7] = alive.shape[0] / n
    rows[:, 8] = math.log10(n) / 4.0
    return rows, alive


def shared_row_logits(net: StackedMLP, rows: np.ndarray) -> np.ndarray:
    """``net.predict(rows)[:, :, 0]`` (logits [K, B] of every network for the same rows [B, F]), as K
    two-dimensional matrix products (numpy's broadcast batched ``matmul`` takes a slow non-BLAS path:
    about 5x slower at B = 10,000). Equal to ``predict`` up to floating-point summation order."""
    if net.batch_norm or net.n_out != 1:
        return net.predict(rows)[:, :, 0]
    out = np.empty((net.networks, rows.shape[0]))
    last = len(net.weights) - 1
    for k in range(net.networks):
        h = rows
        for layer in range(last):
            h = h @ net.weights[layer][k]
            h += net.biases[layer][k]
            np.maximum(h, 0.0, out=h)
        out[k] = (h @ net.weights[last][k])[:, 0] + net.biases[last][k, 0, 0]
    return out


# --- the learner (networks, optimizer, memory) -------------------------------------------------------------


@dataclass
class Learner:
    """K per-node networks with their Adam optimizer, replay memory and settings (one per policy object,
    or shared across the episodes of :func:`wsnmec.training.ddnn.pretrain`)."""

    net: StackedMLP
    optimizer: Adam
    memory: ReplayMemory
    settings: dict

    @classmethod
    def new(cls, rng: np.random.Generator, **settings) -> "Learner":
        s = {**DEFAULT_SETTINGS, **settings}
        net = StackedMLP(N_FEATURES, tuple(s["hidden"]), 1, networks=int(s["networks"]), rng=rng)
        return cls(net, Adam(net.parameters(), float(s["learning_rate"])),
                   ReplayMemory(int(s["memory_size"]), N_FEATURES, 1), s)

    @classmethod
    def from_saved(cls, saved) -> "Learner":
        """A fresh copy (own arrays) of a loaded model, with an empty memory and a new optimizer."""
        s = saved_settings(saved.metadata)
        arch = saved.net.architecture()
        net = StackedMLP(arch["layers"][0], arch["layers"][1:-1], 1, networks=arch["networks"],
                         batch_norm=arch["batch_norm"], rng=np.random.default_rng(0))
        net.load_state(saved.net.state())
        if net.n_in != N_FEATURES:
            raise ParameterError("--policy-model", f"has {net.n_in} inputs; ddnn uses {N_FEATURES} features")
        s["networks"] = net.networks
        s["hidden"] = list(net.hidden)
        return cls(net, Adam(net.parameters(), float(s["learning_rate"])),
                   ReplayMemory(int(s["memory_size"]), N_FEATURES, 1), s)

    def store(self, rows: np.ndarray, labels: np.ndarray) -> None:
        """Append feature rows and their 0/1 labels to the memory (ring buffer, oldest overwritten)."""
        m = self.memory
        if rows.shape[0] > m.size:
            rows, labels = rows[-m.size:], labels[-m.size:]
        slots = (m.stored + np.arange(rows.shape[0])) % m.size
        m.inputs[slots] = rows
        m.targets[slots, 0] = labels
        m.stored += rows.shape[0]

    def train_step(self, rng: np.random.Generator) -> np.ndarray | None:
        """One Adam step of every network on its own batch from the memory; the losses [K] (None when the
        memory holds less than one batch)."""
        batch = int(self.settings["batch"])
        if self.memory.filled < batch:
            return None
        x, y = self.memory.sample(rng, self.net.networks, batch)
        losses, grads = self.net.bce_loss_and_gradients(x, y)
        self.optimizer.step(grads)
        return losses


_MODEL_CACHE: dict[tuple[str, str], object] = {}
_MODEL_LOCK = threading.Lock()


def _load_cached(path: Path):
    """:func:`wsnmec.learn.load_model` of ``path``, read once per process and content (replicas copy its
    arrays): keyed by the SHA-256 of the file's bytes, so a file overwritten in place (whatever its
    modification time) is read again."""
    try:
        key = (str(path), _sha256(path))
    except OSError:
        key = (str(path), "")  # load_model reports the unreadable file in one line
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = load_model(path, "--policy-model")
        return _MODEL_CACHE[key]


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def smooth_harvest_and_consumption(state, harvest_avg, consumption_avg: float, alive) -> float:
    """One round's update of feature 6's averages (module Notes, weight :data:`SMOOTHING`): ``harvest_avg``
    [J] per node in place, and the new mean per-node consumption [J] of the ``alive`` nodes (indices),
    returned (unchanged in round 1, before any consumption)."""
    a = SMOOTHING
    harvest_avg *= 1.0 - a
    harvest_avg += a * state.harvested
    if state.round > 1 and alive.shape[0] > 0:
        consumption_avg = (1.0 - a) * consumption_avg + a * float(state.consumed_last[alive].mean())
    return consumption_avg


def hello_energy(state, density) -> np.ndarray:
    """Per-node energy [J] of round 1's hello exchange behind the density feature (module Notes): each alive
    node sends one B-bit hello over the grid's 3-cell range, E_tx(B, 1.5 D / G), and receives its expected
    neighbours' hellos, E_rx(B) each (D the field diagonal, G the density grid's side)."""
    from ..energy.radio import tx_energy_jit
    from ..energy.layout import P_CONTROL_BITS, R_D0, R_E_ELEC, R_EPS_FS, R_EPS_MP

    params = state.params
    bits = float(params[P_CONTROL_BITS])
    rx = bits * params[R_E_ELEC]
    g = max(1, int(round(math.sqrt(state.n / 4.0))))
    reach = 1.5 * math.hypot(state.field[0], state.field[1]) / g
    tx = tx_energy_jit(bits, reach, params[R_E_ELEC], params[R_EPS_FS], params[R_EPS_MP], params[R_D0])
    expected = density * 9.0 * state.n / (g * g)  # neighbours heard (3 x 3 cells)
    return np.where(state.alive, tx + expected * rx, 0.0)


# --- the policy --------------------------------------------------------------------------------------------


class DDNNPolicy(ClusteringPolicy):
    """The learned cluster-head policy (module docstring).

    Parameters
    ----------
    scenario : Scenario
        The run's parameters; ``scenario.policy_model`` names the model (default :data:`DEFAULT_MODEL`).
    learner : Learner, optional
        Use these networks (shared, trained in place; :func:`wsnmec.training.ddnn.pretrain`) instead of loading a model.
    train : bool, optional
        Train online (every ``train_interval`` rounds); default: the model's ``train_interval`` > 0.
    """

    name = "ddnn"
    control = "centralized"
    proposer = "networks"

    def __init__(self, scenario, learner: Learner | None = None, train: bool | None = None,
                 explore: bool = False):
        super().__init__(scenario)
        self._given_learner = learner
        self._train = train
        self.explore = bool(explore)
        self.model_path = None
        self.model_metadata = {}

    # ------------------------------------------------------------------ set-up
    def _learner_for_run(self, rng) -> Learner:
        if self._given_learner is not None:
            return self._given_learner
        path = getattr(self.scenario, "policy_model", None)
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise ParameterError("--policy-model", f"model file {str(path)!r} not found (train one with "
                                                   "'wsnmec train --protocol ddnn --out MODEL.npz')")
        saved = _load_cached(path)
        self.model_path = str(path)
        self.model_metadata = saved.metadata
        return Learner.from_saved(saved)

    def reset(self, state, rng):
        self.learner = self._learner_for_run(rng) if self.proposer == "networks" else None
        settings = self.learner.settings if self.learner is not None else DEFAULT_SETTINGS
        self.size_factors = np.asarray(settings.get("size_factors", SIZE_FACTORS), dtype=np.float64)
        # pretraining (a given learner) trains every ``train_interval`` rounds; a run loaded from a model every
        # ``online_interval`` rounds (0, the default: frozen; see the module Notes)
        key = "train_interval" if self._given_learner is not None else "online_interval"
        self.train_interval = int(settings.get(key, 0))
        if self._train is not None:
            self.train_interval = int(settings["train_interval"]) if self._train else 0
        self.rows_per_round = int(settings["rows_per_round"])
        n = state.n
        self.radio = state.scenario.radio_model()
        self.density = local_density(state.x, state.y, state.field)
        self.harvest_avg = np.zeros(n)
        self.consumption_avg = 0.0
        self.scorer = CandidateScorer(state)
        self.last_losses = None
        self.last_candidates = 0
        # running sums read by pretraining's metrics (:func:`wsnmec.training.ddnn.pretrain`, :func:`~wsnmec.training.ddnn.validate`)
        self.loss_sum, self.loss_steps = 0.0, 0
        self.objective_sum, self.objective_rounds = 0.0, 0

    # ------------------------------------------------------------------ one round
    def features(self, state):
        """``(rows, alive indices)`` of this round (:func:`node_features`)."""
        return node_features(state, self.density, self.harvest_avg, self.consumption_avg, self.radio.d0)

    def sizes(self, state, alive_count: int) -> np.ndarray:
        """Candidate set sizes: ``clip(round(k_opt * size_factors), 1, alive)`` without repeats
        (:func:`wsnmec.clustering.dryrun.head_set_sizes`)."""
        return head_set_sizes(state, self.size_factors, self.radio, alive_count)

    def node_scores(self, state, rows, alive) -> np.ndarray:
        """Scores [V, N] of the proposers (dead nodes -inf): the K networks' logits, or the residual energy
        for the rule."""
        n = state.n
        if self.proposer == "networks":
            logits = shared_row_logits(self.learner.net, rows)
            scores = np.full((logits.shape[0], n), -np.inf)
            scores[:, alive] = logits
        else:
            scores = np.full((1, n), -np.inf)
            scores[0, alive] = state.energy[alive]
        return scores

    def candidates(self, state, rows, alive, rng=None) -> np.ndarray:
        """Candidate head masks uint8 [C, N]: the empty set, then each proposer's top-k sets.

        With ``explore`` (pretraining only) and a Generator ``rng``, also the top-k sets of the residual
        energy rule and of each network's scores plus standard-normal noise (exploration of sets the
        networks would not propose yet)."""
        scores = self.node_scores(state, rows, alive)
        if self.explore and rng is not None and self.proposer == "networks":
            rule = np.full((1, state.n), -np.inf)
            rule[0, alive] = state.energy[alive]
            noisy = scores.copy()
            noisy[:, alive] += rng.standard_normal((scores.shape[0], alive.shape[0])) * EXPLORATION_NOISE
            scores = np.concatenate([scores, rule, noisy])
        sets = top_k(scores, self.sizes(state, alive.shape[0])).reshape(-1, state.n)
        masks = np.concatenate([np.zeros((1, state.n), dtype=np.uint8), sets])
        # networks that agree propose the same set: score each distinct set once (first occurrence order)
        return distinct_rows(masks)

    def objective(self, state, masks):
        """``(J [C], latency [C], utility [C])`` of the candidates (module Notes), from the dry-run scorer
        with the scenario's offloading rule (:class:`wsnmec.clustering.dryrun.CandidateScorer`)."""
        return self.scorer(state, masks)

    def decide(self, state, rng=None):
        """This round's choice without side effects (``rng`` only for pretraining's exploration):
        ``(mask bool[N], rows, alive indices, candidates, J)``; the argmin of J, refined on small networks
        (:func:`wsnmec.clustering.dryrun.choose`)."""
        rows, alive = self.features(state)
        if alive.shape[0] == 0:
            return np.zeros(state.n, dtype=np.bool_), rows, alive, np.zeros((0, state.n), np.uint8), np.zeros(0)
        masks = self.candidates(state, rows, alive, rng)
        mask, j = choose(self.scorer, state, masks, alive)
        return mask, rows, alive, masks, j

    def refine(self, state, mask, value: float, alive) -> np.ndarray:
        """:func:`wsnmec.clustering.dryrun.refine` with this policy's scorer."""
        return refine(self.scorer, state, mask, value, alive)

    def elect(self, state, rng):
        mask, rows, alive, masks, j = self.decide(state, rng if self.explore else None)
        self.last_candidates = masks.shape[0]
        if j.shape[0] > 0:  # the best proposed candidate's J (before refinement), for the metrics
            self.objective_sum += float(np.min(j))
            self.objective_rounds += 1
        if self.learner is not None and self.train_interval > 0 and alive.shape[0] > 0:
            labels = mask[alive].astype(np.float64)
            heads = np.flatnonzero(labels)
            if heads.shape[0] > 0:  # an empty best set says nothing about the ranking
                others = np.flatnonzero(labels == 0.0)
                take = min(others.shape[0], max(self.rows_per_round - heads.shape[0], heads.shape[0]))
                picked = rng.choice(others, size=take, replace=False) if take > 0 else others[:0]
                keep = np.concatenate([heads, np.sort(picked)])
                self.learner.store(rows[keep], labels[keep])
            if state.round % self.train_interval == 0:
                self.last_losses = self.learner.train_step(rng)
                if self.last_losses is not None:
                    self.loss_sum += float(np.mean(self.last_losses))
                    self.loss_steps += 1
        # smoothed harvest and consumption (feature 6), for the next round
        self.consumption_avg = smooth_harvest_and_consumption(state, self.harvest_avg, self.consumption_avg, alive)
        return mask

    def control_energy(self, state, heads):
        """Per-node extra control energy [J]: the sink's context broadcast (E_rx(B) per alive node) and, in
        round 1, the hello exchange of the density feature (module Notes; :func:`hello_energy`)."""
        from ..energy.layout import P_CONTROL_BITS, R_E_ELEC

        bits = float(state.params[P_CONTROL_BITS])
        if bits <= 0.0:
            return None
        extra = np.where(state.alive, bits * state.params[R_E_ELEC], 0.0)
        if state.round == 1:
            extra += hello_energy(state, self.density)
        return extra

    def describe(self):
        out = {"name": self.name, "p": described_p(self.scenario), "proposer": self.proposer,
               "size_factors": [float(v) for v in getattr(self, "size_factors", SIZE_FACTORS)],
               "objective": OBJECTIVE, "offload_rule": self.scenario.offload}
        if self.proposer == "networks" and self._given_learner is None:
            path = Path(getattr(self.scenario, "policy_model", None) or DEFAULT_MODEL)
            out["model"] = str(path)
            if path.is_file():
                out["model_sha256"] = _sha256(path)
                meta = _load_cached(path).metadata
                out["model_command"] = meta.get("command")
                out["online_interval"] = int(saved_settings(meta)["online_interval"])
        return out

    def save(self, path, metadata: dict | None = None) -> Path:
        """Write this policy's networks (and settings) to ``path`` (``.npz``, :func:`wsnmec.learn.save_model`)."""
        learner = getattr(self, "learner", None) or self._given_learner
        if learner is None:
            raise ParameterError("save", f"{self.name} has no networks to save (before reset)")
        meta = {"policy": "ddnn", "features": list(FEATURES), "objective": OBJECTIVE,
                "settings": learner.settings, **(metadata or {})}
        return save_model(path, learner.net, meta)


class DDNNRulePolicy(DDNNPolicy):
    """``ddnn-rule``: the ddnn candidates, objective and execution, proposed by top-k residual energy
    (no learning; the baseline that shows what the networks add)."""

    name = "ddnn-rule"
    proposer = "residual-energy"
