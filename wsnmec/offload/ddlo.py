"""The distributed deep-learning offloader (DDLO) in NumPy: K networks trained from one replay memory.

Every frame each of the K fully connected networks maps the state's features to ``n`` relaxed decisions
in (0, 1); each relaxed vector is quantized into one candidate (threshold at 0.5, as in DDLO [1]_) or into
several (DROO's order-preserving quantization [2]_); the model scores every candidate, the best is
executed and stored with the state in a shared replay memory, and every ``train_interval`` frames each
network takes one Adam step on binary cross-entropy over its own random batch from that memory.

The K networks are stacked: weight ``l`` is one array [K, in, out], so a forward pass of all networks is
one batched ``matmul`` chain and training has no Python loop over networks or samples. Quantization and
scoring of all candidates run in one compiled call.

Notes
-----
Network: ``[F_in, 120, 80, n]`` by default, ReLU hidden layers, sigmoid output; He-normal initial weights
(Glorot-normal for the output layer), zero biases, each network from its own draws. The loss of a network
on a batch (X, Y) is the mean over samples and outputs of ``softplus(z) - y z`` (binary cross-entropy on
the logits z). Sigmoid(z) > 0.5 iff z > 0 and the order of |sigmoid(z) - 1/2| equals the order of |z|, so
quantization works on the logits. Optional batch normalization normalises the first hidden layer's
pre-activations (batch statistics in training, running averages with momentum 0.9 when deciding).

Order-preserving quantization of one relaxed vector p (DROO [2]_): candidate 1 is ``p > 0.5``; candidate
q >= 2 takes the (q-1)-th entry i closest to 0.5 and sets ``x_j = [p_j >= p_i]`` if ``p_i <= 0.5``,
``x_j = [p_j > p_i]`` otherwise.

References
----------
.. [1] L. Huang, X. Feng, A. Feng, Y. Huang, L. P. Qian, "Distributed Deep Learning-based Offloading for
   Mobile Edge Computing Networks", Mobile Networks and Applications, 2018.
.. [2] L. Huang, S. Bi, Y. J. A. Zhang, "Deep Reinforcement Learning for Online Computation Offloading in
   Wireless Powered Mobile-Edge Computing Networks", IEEE Trans. Mobile Computing 19(11), 2020.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ParameterError, check_float, check_int
from ..learn import Adam, ReplayMemory, StackedMLP, order_preserving_into, sigmoid
from ..learn import order_preserving as _order_preserving
from .dispatch import COMPILED_KINDS, score

#: Largest Adam step size (an Adam step moves each weight by at most about the step size).
MAX_LEARNING_RATE = 10.0
#: Largest factor on the input features (features lie in [-1, 1]; larger factors overflow the activations).
MAX_INPUT_SCALE = 1e6


def check_finite_weights(learner) -> None:
    """Raise :class:`ParameterError` when training left a non-finite weight (NaN or infinite networks)."""
    for values in learner._parameters():
        if not np.all(np.isfinite(values)):
            raise ParameterError(
                "learner weights", "became non-finite (NaN or infinite) during training; reduce --input-scale or "
                f"--learning-rate (now {learner.input_scale:g} and {learner.learning_rate:g})"
            )


#: Quantization modes: one thresholded candidate per network, or DROO's order-preserving candidates.
QUANTIZATIONS = ("threshold", "order-preserving")


#: Size limits of the learner (bad input, not tuning advice): networks K, units per layer (inputs,
#: hidden, outputs), replay-memory entries and stored values (entries x (features + decisions)), batch
#: per network and one training activation array.
MAX_NETWORKS = 64
MAX_UNITS = 4096
MAX_MEMORY = 1_000_000
MAX_MEMORY_VALUES = 50_000_000
MAX_BATCH = 8192
MAX_ACTIVATION_VALUES = 50_000_000  # networks x batch x widest layer (one training activation array)


#: The learner's defaults (``networks`` is K; ``candidates`` may be ``"n"``: one per decision).
LEARNER_DEFAULTS = {
    "networks": 3,
    "learning_rate": 0.01,
    "memory_size": 1024,
    "batch_size": 128,
    "train_interval": 2,
    "training_start": None,
    "batch_norm": False,
    "quantization": "order-preserving",
    "candidates": None,  # 4 with order-preserving quantization (capped at n + 1), 1 with threshold (see DDLO)
    "input_scale": 10.0,
    "init": "he-glorot",
    "bias_init": 0.0,
    "beta1": 0.9,
    "adaptive_k": 0,
    "train_through_test": False,
}

#: The published codes' own settings, to compare with their numbers (``--preset``).
#:
#: ``ddlo`` -- Huang et al.'s DDLO code (github.com/revenol/DDLO, ``memory.py``/``main.py``): K = 3
#: networks [n, 120, 80, n], one thresholded candidate each, Adam(0.01, beta1 = 0.09), weights with
#: standard deviation 1/n_in in every layer, zero biases, memory 1024, batch 128, training every 10
#: frames once 512 entries are stored, training continuing through the test frames, input ``10 D - 200``
#: (= input scale 100 on mumt's features ``(D - 20)/10``).
#: ``droo`` -- DROO's code (github.com/revenol/DROO, ``memory.py``/``main.py``): one network [N, 120, 80,
#: N], order-preserving quantization with K = N candidates and adaptive K every 32 frames, Adam(0.01,
#: beta1 = 0.09), standard deviation 1/N, biases 0.1, memory 1024, batch 128, training every 10 frames
#: from the start, through the test frames; input 1e6 h (wpmec's features, input scale 1).
LEARNER_PRESETS = {
    "ddlo": {
        "networks": 3, "learning_rate": 0.01, "memory_size": 1024, "batch_size": 128, "train_interval": 10,
        "training_start": 512, "batch_norm": False, "quantization": "threshold", "candidates": 1,
        "input_scale": 100.0, "init": "inverse-input", "bias_init": 0.0, "beta1": 0.09, "adaptive_k": 0,
        "train_through_test": True,
    },
    "droo": {
        "networks": 1, "learning_rate": 0.01, "memory_size": 1024, "batch_size": 128, "train_interval": 10,
        "training_start": 1, "batch_norm": False, "quantization": "order-preserving", "candidates": "n",
        "input_scale": 1.0, "init": "inverse-input", "bias_init": 0.1, "beta1": 0.09, "adaptive_k": 32,
        "train_through_test": True,
    },
}


def learner_settings(preset: str | None = None, **explicit) -> dict:
    """The learner's settings: ``explicit`` values (None = not given) over the preset over the defaults.

    Unknown preset names raise :class:`ParameterError` listing the valid ones.
    """
    if preset is not None and preset not in LEARNER_PRESETS:
        raise ParameterError("--preset", f"unknown preset {preset!r}; valid presets: {', '.join(LEARNER_PRESETS)}")
    out = dict(LEARNER_DEFAULTS)
    if preset is not None:
        out.update(LEARNER_PRESETS[preset])
    for key, value in explicit.items():
        if key not in LEARNER_DEFAULTS and key != "hidden":
            raise ParameterError(key, f"is not a learner setting; valid: {', '.join(LEARNER_DEFAULTS)}")
        if value is not None:
            out[key] = value
    return out


class DDLO:
    """K stacked NumPy MLPs proposing binary offloading decisions, trained from a shared replay memory.

    Parameters
    ----------
    n_features : int
        Input size F_in (the model's feature count).
    n_decisions : int
        Output size n.
    networks : int
        K, number of networks (>= 1).
    hidden : tuple of int
        Hidden-layer widths; default (120, 80).
    learning_rate : float
        Adam step size; default 0.01.
    memory_size : int
        Replay-memory entries; default 1024.
    batch_size : int
        Samples per network per training step; default 128.
    train_interval : int
        Frames between training steps; default 2 (was 10 before issue 9; see ``quantization``).
    training_start : int, optional
        Stored entries needed before training starts; default ``memory_size // 2``.
    batch_norm : bool
        Batch-normalize the first hidden layer.
    quantization : str
        ``"threshold"`` or ``"order-preserving"`` (default; was ``"threshold"`` before issue 9).
    candidates : int
        Candidates per network with order-preserving quantization (1..n+1); 1 with ``threshold``.
        Default (None): 4 with order-preserving quantization (capped at n + 1), 1 with threshold (1
        before issue 9, then 2). Chosen on generated states, never on the data files' held-out frames
        (``benchmarks/tune_learner_defaults.py``, seed 101, K = 3, 80:20 split, test-frame normalized
        utility; threshold every 10 frames / op-2 every 2 / op-4 every 2 / op-4 every 10):
        mumt 3 x 3 (10,000 frames) 0.9796 / 0.9938 / **0.9941** / 0.9926; wpmec N = 10 (4,000 frames)
        0.9488 / 0.9831 / **0.9994** / 0.9944; mumt 4 x 4 (20,000 frames, seeds 101 and 102,
        ``benchmarks/tune_learner_mumt44.py``) op-2 0.9897, op-4 **0.9902**, op-8 0.9897, training every
        frame 0.9884 (op-2) and 0.9888 (op-4).
    input_scale : float
        Factor applied to the model's features (which are of order one) before the first layer; default
        10. It acts as a larger step size for the first layer: on the DDLO data set (K = 3, threshold
        quantization) it raised the test-frame normalized utility from about 0.984 (scale 1) to about
        0.99 (scale 10); 100 (DDLO's own ``10 D - 200`` pretreatment) was worse with this initialisation.
    init : str
        Initial weights: ``"he-glorot"`` (default), ``"lecun"`` or ``"inverse-input"`` (standard
        deviation 1/F_in in every layer, the DDLO/DROO codes'); see :mod:`wsnmec.learn.mlp`.
    bias_init : float
        Initial biases (default 0; DROO's code 0.1).
    beta1 : float
        Adam's first-moment decay (default 0.9; the DDLO/DROO codes pass 0.09).
    adaptive_k : int
        0 (off) or DROO's adaptive K interval: every ``adaptive_k`` decisions the candidates per network
        become ``min(i_max + 2, n)``, i_max the largest 0-based position of a winning candidate in its
        network's list during the interval (one spare candidate, as DROO's code), at least 1.
        Needs order-preserving quantization.
    train_through_test : bool
        Keep storing and training during the test frames (the DDLO/DROO codes do); default False.
    rng : numpy.random.Generator
        The source of every random draw (initial weights, training batches).
    """

    def __init__(
        self,
        n_features: int,
        n_decisions: int,
        *,
        networks: int = 3,
        hidden=(120, 80),
        learning_rate: float = 0.01,
        memory_size: int = 1024,
        batch_size: int = 128,
        train_interval: int = 2,
        training_start: int | None = None,
        batch_norm: bool = False,
        quantization: str = "order-preserving",
        candidates: int | None = None,
        input_scale: float = 10.0,
        init: str = "he-glorot",
        bias_init: float = 0.0,
        beta1: float = 0.9,
        adaptive_k: int = 0,
        train_through_test: bool = False,
        rng: np.random.Generator,
    ):
        self.n_features = check_int("n_features", n_features, 1, MAX_UNITS)
        self.n_decisions = check_int("n_decisions", n_decisions, 1, MAX_UNITS)
        self.networks = check_int("--networks", networks, 1, MAX_NETWORKS)
        self.hidden = tuple(check_int("--hidden", h, 1, MAX_UNITS) for h in hidden)
        self.learning_rate = check_float("--learning-rate", learning_rate, 0.0, MAX_LEARNING_RATE, min_inclusive=False)
        memory_limit = max(1, min(MAX_MEMORY, MAX_MEMORY_VALUES // (self.n_features + self.n_decisions)))
        self.memory_size = check_int("--memory", memory_size, 1, memory_limit)
        widest = max(self.n_features, *self.hidden, self.n_decisions)
        batch_limit = max(1, min(MAX_BATCH, MAX_ACTIVATION_VALUES // (self.networks * widest)))
        self.batch_size = check_int("--batch", batch_size, 1, batch_limit)
        self.train_interval = check_int("--train-interval", train_interval, 1)
        if training_start is None:
            training_start = max(self.memory_size // 2, 1)
        self.training_start = check_int("--training-start", training_start, 1)
        self.batch_norm = bool(batch_norm)
        if quantization not in QUANTIZATIONS:
            raise ParameterError("--quantization", f"must be one of {', '.join(QUANTIZATIONS)}; got {quantization!r}")
        self.quantization = quantization
        max_c = self.n_decisions + 1 if quantization == "order-preserving" else 1
        if candidates is None:  # 4 with order-preserving quantization (capped at n + 1), 1 with threshold
            candidates = min(4, max_c)
        self.candidates = check_int("--candidates", candidates, 1, max_c)
        self.input_scale = check_float("--input-scale", input_scale, 0.0, MAX_INPUT_SCALE, min_inclusive=False)
        self.beta1 = check_float("--beta1", beta1, 0.0, 1.0, max_inclusive=False)
        self.bias_init = check_float("bias_init", bias_init)
        self.init = init
        self.adaptive_k = check_int("--adaptive-k", adaptive_k, 0)
        if self.adaptive_k and quantization != "order-preserving":
            raise ParameterError("--adaptive-k", "needs --quantization order-preserving (it adapts the candidates per network)")
        self.train_through_test = bool(train_through_test)
        self.rng = rng
        self.net = StackedMLP(self.n_features, self.hidden, self.n_decisions, networks=self.networks,
                              batch_norm=self.batch_norm, init=init, bias_init=self.bias_init, rng=rng,
                              max_units=MAX_UNITS)
        self.optimizer = Adam(self.net.parameters(), self.learning_rate, beta1=self.beta1)
        self.memory = ReplayMemory(self.memory_size, self.n_features, self.n_decisions)
        self.steps = 0
        #: Candidates per network in effect (changes with adaptive K).
        self.k = self.candidates
        self._k_decisions = 0
        self._k_max_index = 0
        buffer = max_c if self.adaptive_k else self.candidates
        self._cand = np.zeros((self.networks * buffer, self.n_decisions), dtype=np.uint8)
        self._best = np.zeros(self.n_decisions, dtype=np.uint8)

    # ------------------------------------------------------------------ parameters
    @property
    def weights(self):
        """Weights [K, in, out] per layer (the networks' arrays, updated in place by training)."""
        return self.net.weights

    @property
    def biases(self):
        """Biases [K, 1, out] per layer."""
        return self.net.biases

    @property
    def stored(self) -> int:
        """Decisions stored so far (including overwritten ones)."""
        return self.memory.stored

    def _parameters(self):
        return self.net.parameters()

    def config(self) -> dict:
        """The learner's effective hyper-parameters."""
        return {
            "networks": self.networks,
            "layers": [self.n_features, *self.hidden, self.n_decisions],
            "learning_rate": self.learning_rate,
            "memory_size": self.memory_size,
            "batch_size": self.batch_size,
            "train_interval": self.train_interval,
            "training_start": self.training_start,
            "batch_norm": self.batch_norm,
            "quantization": self.quantization,
            "candidates_per_network": self.candidates,
            "input_scale": self.input_scale,
            "init": self.init,
            "bias_init": self.bias_init,
            "beta1": self.beta1,
            "adaptive_k": self.adaptive_k,
            "train_through_test": self.train_through_test,
        }

    # ------------------------------------------------------------------ save / load
    def save(self, path, metadata: dict | None = None, *, with_memory: bool = False):
        """Write the networks (and Adam state; the replay memory if ``with_memory``) to ``path`` (.npz).

        The metadata records the learner's :meth:`config` under ``"learner"`` beside ``metadata``
        (free-form JSON: features, training scenario, seed...).
        """
        from ..learn import save_model

        meta = {"learner": self.config(), "steps": self.steps, "k": self.k, **(metadata or {})}
        return save_model(path, self.net, meta, optimizer=self.optimizer,
                          memory=self.memory if with_memory else None)

    @classmethod
    def load(cls, path, *, rng: np.random.Generator, name: str = "--model-file"):
        """A learner restored from :meth:`save` (networks, batch-norm statistics, Adam state, memory if
        saved); ``rng`` drives its future training batches."""
        from ..learn import load_model

        saved = load_model(path, name)
        cfg = saved.metadata.get("learner")
        if not isinstance(cfg, dict):
            raise ParameterError(name, f"{str(path)!r} holds no DDLO learner configuration")
        layers = cfg["layers"]
        learner = cls(layers[0], layers[-1], networks=cfg["networks"], hidden=tuple(layers[1:-1]),
                      learning_rate=cfg["learning_rate"], memory_size=cfg["memory_size"],
                      batch_size=cfg["batch_size"], train_interval=cfg["train_interval"],
                      training_start=cfg["training_start"], batch_norm=cfg["batch_norm"],
                      quantization=cfg["quantization"], candidates=cfg["candidates_per_network"],
                      input_scale=cfg["input_scale"], init=cfg.get("init", "he-glorot"),
                      bias_init=cfg.get("bias_init", 0.0), beta1=cfg.get("beta1", 0.9),
                      adaptive_k=cfg.get("adaptive_k", 0), train_through_test=cfg.get("train_through_test", False),
                      rng=np.random.default_rng(0))
        learner.rng = rng  # the initial draws above are overwritten; rng only drives future batches
        try:
            learner.net.load_state(saved.arrays)
            if "adam_t" in saved.arrays:
                learner.optimizer.load_state(saved.arrays)
            if "memory_stored" in saved.arrays:
                learner.memory.load_state(saved.arrays)
        except ParameterError as exc:  # (an internal name such as `model` or `memory`: name the option)
            if exc.parameter == name:
                raise
            raise ParameterError(name, f"{str(path)!r} does not fit its learner configuration ({exc.parameter}: "
                                       f"{exc.message})") from None
        learner.steps = int(saved.metadata.get("steps", 0))
        learner.k = int(saved.metadata.get("k", learner.candidates))
        return learner

    # ------------------------------------------------------------------ forward
    def logits(self, features, training: bool = False):
        """Output logits [K, B, n] of all networks for features [B, F] (or [K, B, F]).

        Returns ``(logits, cache)``; ``cache`` is what the core's backward pass needs when ``training``
        (batch statistics, running averages updated), else None.
        """
        x = np.asarray(features, dtype=np.float64) * self.input_scale
        if training:
            return self.net.forward(x)
        return self.net.predict(x), None

    def relaxed(self, features):
        """Relaxed decisions sigmoid(logits) [K, B, n] of all networks for features [B, F]."""
        z, _ = self.logits(features)
        return sigmoid(z)

    # ------------------------------------------------------------------ deciding
    def decide(self, model, features_row, state_row):
        """Best candidate for one frame.

        Parameters
        ----------
        model : OffloadModel
        features_row : numpy.ndarray [F_in]
        state_row : numpy.ndarray [F] (C-contiguous float64)

        Returns
        -------
        decision : numpy.ndarray [n] uint8 (a fresh copy)
        utility : float
        winner : int
            Index of the network whose candidate won.
        """
        z = self.net.predict(features_row * self.input_scale)[:, 0, :]
        k = self.k
        cand = self._cand if not self.adaptive_k else self._cand[:self.networks * k]
        if model.kind in COMPILED_KINDS:
            u, winner = _quantize_and_score(model.kind, z, state_row, model.params, model.sense, k, cand, self._best)
        else:  # a plug-in family: the same candidates scored through its score_batch_fn
            u, winner = _quantize_and_score_model(model, z, state_row, k, cand, self._best)
        if self.adaptive_k:
            self._k_max_index = max(self._k_max_index, winner % k)
            self._k_decisions += 1
            if self._k_decisions == self.adaptive_k:
                self.k = max(1, min(self._k_max_index + 2, self.n_decisions))
                self._k_decisions = 0
                self._k_max_index = 0
        return self._best.copy(), u, winner // k

    # ------------------------------------------------------------------ memory and training
    def remember(self, features_row, decision):
        """Store (features, executed decision) in the replay memory (oldest entry overwritten)."""
        self.memory.store(features_row, decision)

    def ready(self) -> bool:
        """Has the memory reached ``training_start`` entries?"""
        return self.memory.stored >= self.training_start

    def train_step(self) -> np.ndarray:
        """One Adam step per network on its own random batch from the memory; returns losses [K]."""
        x, y = self.memory.sample(self.rng, self.networks, self.batch_size)
        losses, grads = self.loss_and_gradients(x, y)
        self.optimizer.step(grads)
        self.steps += 1
        return losses

    def loss_and_gradients(self, x, y):
        """Mean BCE per network [K] and the gradients (same order as the parameters) for batches
        x [K, B, F], y [K, B, n]."""
        return self.net.bce_loss_and_gradients(np.asarray(x, dtype=np.float64) * self.input_scale, y)


@njit(cache=True)
def _quantize_and_score(kind, logits, state, params, sense, per_net, cand, best_out):
    """Quantize all networks' logits, score every candidate, copy the best into best_out.

    Returns (best utility, index of the winning candidate); ties keep the lower index.
    """
    order_preserving_into(logits, per_net, 0.0, cand)
    best = -np.inf
    best_u = 0.0
    winner = 0
    for c in range(cand.shape[0]):
        u = score(kind, state, cand[c], params)
        if sense * u > best:
            best = sense * u
            best_u = u
            winner = c
    best_out[:] = cand[winner]
    return best_u, winner


def _quantize_and_score_model(model, logits, state, per_net, cand, best_out):
    """:func:`_quantize_and_score` through ``model.score`` (a family without compiled hooks)."""
    order_preserving_into(logits, per_net, 0.0, cand)
    utilities = model.score(state[None, :], cand[None])[0]
    winner = int(np.argmax(model.sense * utilities))
    best_out[:] = cand[winner]
    return float(utilities[winner]), winner


def quantize(logits, candidates: int = 1) -> np.ndarray:
    """Candidates [K*candidates, n] uint8 from logits [K, n] (threshold + order-preserving)."""
    z = np.atleast_2d(logits)
    return _order_preserving(z, candidates).reshape(z.shape[0] * int(candidates), z.shape[-1])
