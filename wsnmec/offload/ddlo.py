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
from .kernels import score

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


def _sigmoid(z):
    """Overflow-free logistic function."""
    return np.exp(-np.logaddexp(0.0, -z))


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
        Frames between training steps; default 10.
    training_start : int, optional
        Stored entries needed before training starts; default ``memory_size // 2``.
    batch_norm : bool
        Batch-normalize the first hidden layer.
    quantization : str
        ``"threshold"`` or ``"order-preserving"``.
    candidates : int
        Candidates per network with order-preserving quantization (1..n+1); 1 with ``threshold``.
    input_scale : float
        Factor applied to the model's features (which are of order one) before the first layer; default
        10. It acts as a larger step size for the first layer: on the DDLO data set (K = 3, threshold
        quantization) it raised the test-frame normalized utility from about 0.984 (scale 1) to about
        0.99 (scale 10); 100 (DDLO's own ``10 D - 200`` pretreatment) was worse with this initialisation.
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
        train_interval: int = 10,
        training_start: int | None = None,
        batch_norm: bool = False,
        quantization: str = "threshold",
        candidates: int = 1,
        input_scale: float = 10.0,
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
        self.candidates = check_int("--candidates", candidates, 1, max_c)
        self.input_scale = check_float("--input-scale", input_scale, 0.0, MAX_INPUT_SCALE, min_inclusive=False)
        self.rng = rng
        sizes = (self.n_features, *self.hidden, self.n_decisions)
        K = self.networks
        self.weights = []
        self.biases = []
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = layer == len(sizes) - 2
            std = np.sqrt(2.0 / (fan_in + fan_out)) if last else np.sqrt(2.0 / fan_in)
            self.weights.append(rng.standard_normal((K, fan_in, fan_out)) * std)
            self.biases.append(np.zeros((K, 1, fan_out)))
        h1 = sizes[1]
        self.bn_gamma = np.ones((K, 1, h1))
        self.bn_beta = np.zeros((K, 1, h1))
        self.bn_mean = np.zeros((K, 1, h1))
        self.bn_var = np.ones((K, 1, h1))
        self._adam_m = [np.zeros_like(p) for p in self._parameters()]
        self._adam_v = [np.zeros_like(p) for p in self._parameters()]
        self._adam_t = 0
        self.memory_features = np.zeros((self.memory_size, self.n_features))
        self.memory_decisions = np.zeros((self.memory_size, self.n_decisions))
        self.stored = 0
        self.steps = 0
        self._cand = np.zeros((K * self.candidates, self.n_decisions), dtype=np.uint8)
        self._best = np.zeros(self.n_decisions, dtype=np.uint8)

    # ------------------------------------------------------------------ parameters
    def _parameters(self):
        params = [*self.weights, *self.biases]
        if self.batch_norm:
            params += [self.bn_gamma, self.bn_beta]
        return params

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
        }

    # ------------------------------------------------------------------ forward
    def logits(self, features, training: bool = False):
        """Output logits [K, B, n] of all networks for features [B, F] (or [K, B, F]).

        Returns ``(logits, cache)``; ``cache`` holds what :meth:`_backward` needs when ``training``.
        """
        x = np.asarray(features, dtype=np.float64) * self.input_scale
        if x.ndim == 2:
            x = x[None, :, :]
        acts = [x]
        cache = {}
        h = x
        n_layers = len(self.weights)
        for layer in range(n_layers):
            z = np.matmul(h, self.weights[layer]) + self.biases[layer]
            if layer == n_layers - 1:
                return z, (acts, cache)
            if layer == 0 and self.batch_norm:
                if training:
                    mean = z.mean(axis=1, keepdims=True)
                    var = z.var(axis=1, keepdims=True)
                    self.bn_mean = 0.9 * self.bn_mean + 0.1 * mean
                    self.bn_var = 0.9 * self.bn_var + 0.1 * var
                else:
                    mean, var = self.bn_mean, self.bn_var
                inv = 1.0 / np.sqrt(var + 1e-5)
                zhat = (z - mean) * inv
                cache["bn"] = (zhat, inv)
                z = zhat * self.bn_gamma + self.bn_beta
            h = np.maximum(z, 0.0)
            acts.append(h)
        raise AssertionError("unreachable")  # pragma: no cover

    def relaxed(self, features):
        """Relaxed decisions sigmoid(logits) [K, B, n] of all networks for features [B, F]."""
        z, _ = self.logits(features)
        return _sigmoid(z)

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
        h = (features_row * self.input_scale)[None, None, :]
        n_layers = len(self.weights)
        for layer in range(n_layers - 1):
            h = np.matmul(h, self.weights[layer]) + self.biases[layer]
            if layer == 0 and self.batch_norm:
                h = (h - self.bn_mean) / np.sqrt(self.bn_var + 1e-5) * self.bn_gamma + self.bn_beta
            np.maximum(h, 0.0, out=h)
        z = (np.matmul(h, self.weights[-1]) + self.biases[-1])[:, 0, :]
        u, winner = _quantize_and_score(
            model.kind, z, state_row, model.params, model.sense, self.candidates, self._cand, self._best
        )
        return self._best.copy(), u, winner // self.candidates

    # ------------------------------------------------------------------ memory and training
    def remember(self, features_row, decision):
        """Store (features, executed decision) in the replay memory (oldest entry overwritten)."""
        slot = self.stored % self.memory_size
        self.memory_features[slot] = features_row
        self.memory_decisions[slot] = decision
        self.stored += 1

    def ready(self) -> bool:
        """Has the memory reached ``training_start`` entries?"""
        return self.stored >= self.training_start

    def train_step(self) -> np.ndarray:
        """One Adam step per network on its own random batch from the memory; returns losses [K]."""
        filled = min(self.stored, self.memory_size)
        if filled == 0:
            raise ParameterError("memory", "is empty; store decisions before training")
        idx = self.rng.integers(0, filled, size=(self.networks, self.batch_size))
        x = self.memory_features[idx]
        y = self.memory_decisions[idx]
        losses, grads = self.loss_and_gradients(x, y)
        self._adam(grads)
        self.steps += 1
        return losses

    def loss_and_gradients(self, x, y):
        """Mean BCE per network [K] and the gradients (same order as the parameters) for batches
        x [K, B, F], y [K, B, n]."""
        z, (acts, cache) = self.logits(x, training=True)
        batch, n = z.shape[1], z.shape[2]
        losses = (np.logaddexp(0.0, z) - y * z).mean(axis=(1, 2))
        dz = (_sigmoid(z) - y) / (batch * n)
        n_layers = len(self.weights)
        gw = [None] * n_layers
        gb = [None] * n_layers
        g_gamma = g_beta = None
        for layer in range(n_layers - 1, -1, -1):
            h_in = acts[layer]
            gw[layer] = np.matmul(np.swapaxes(h_in, 1, 2), dz)
            gb[layer] = dz.sum(axis=1, keepdims=True)
            if layer == 0:
                break
            dh = np.matmul(dz, np.swapaxes(self.weights[layer], 1, 2))
            dz = dh * (h_in > 0.0)
            if layer == 1 and self.batch_norm:
                zhat, inv = cache["bn"]
                g_gamma = (dz * zhat).sum(axis=1, keepdims=True)
                g_beta = dz.sum(axis=1, keepdims=True)
                dzhat = dz * self.bn_gamma
                m = dz.shape[1]
                dz = inv / m * (m * dzhat - dzhat.sum(axis=1, keepdims=True)
                                - zhat * (dzhat * zhat).sum(axis=1, keepdims=True))
        grads = [*gw, *gb]
        if self.batch_norm:
            grads += [g_gamma, g_beta]
        return losses, grads

    def _adam(self, grads, beta1=0.9, beta2=0.999, eps=1e-8):
        self._adam_t += 1
        t = self._adam_t
        scale = self.learning_rate * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
        for p, g, m, v in zip(self._parameters(), grads, self._adam_m, self._adam_v):
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * g * g
            p -= scale * m / (np.sqrt(v) + eps)


@njit(cache=True)
def _quantize_into(logits, per_net, cand):
    """Fill cand [K*per_net, n] with each network's candidates (threshold, then order-preserving)."""
    K, n = logits.shape
    for k in range(K):
        z = logits[k]
        base = k * per_net
        for j in range(n):
            cand[base, j] = 1 if z[j] > 0.0 else 0
        if per_net > 1:
            order = np.argsort(np.abs(z), kind="mergesort")
            for q in range(1, per_net):
                zi = z[order[q - 1]]
                for j in range(n):
                    if zi <= 0.0:
                        cand[base + q, j] = 1 if z[j] >= zi else 0
                    else:
                        cand[base + q, j] = 1 if z[j] > zi else 0


@njit(cache=True)
def _quantize_and_score(kind, logits, state, params, sense, per_net, cand, best_out):
    """Quantize all networks' logits, score every candidate, copy the best into best_out.

    Returns (best utility, index of the winning candidate); ties keep the lower index.
    """
    _quantize_into(logits, per_net, cand)
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


def quantize(logits, candidates: int = 1) -> np.ndarray:
    """Candidates [K*candidates, n] uint8 from logits [K, n] (threshold + order-preserving)."""
    z = np.ascontiguousarray(np.atleast_2d(logits), dtype=np.float64)
    cand = np.zeros((z.shape[0] * candidates, z.shape[1]), dtype=np.uint8)
    _quantize_into(z, int(candidates), cand)
    return cand
