"""K small multilayer perceptrons stacked into one batched NumPy computation, with binary cross-entropy.

Weight ``l`` of all K networks is one array [K, in, out] and bias ``l`` one array [K, 1, out], so a forward
pass of every network over a batch is one ``matmul`` chain and the backward pass has no Python loop over
networks or samples. The networks output *logits* (no output activation); :func:`sigmoid` and
:func:`bce_with_logits` turn them into probabilities and a loss.

Notes
-----
Layers ``[n_in, *hidden, n_out]``, ReLU on every hidden layer, linear output. Initial weights (each
network from its own draws, in layer order, from the caller's Generator):

- ``"he-glorot"`` (default): He-normal ``N(0, 2/fan_in)`` for hidden layers [1]_, Glorot-normal
  ``N(0, 2/(fan_in + fan_out))`` for the output layer [2]_;
- ``"lecun"``: ``N(0, 1/fan_in)`` (variance) for every layer [4]_;
- ``"inverse-input"``: standard deviation ``1/n_in`` (the network's input width) for every layer, as the
  DDLO and DROO reference codes initialise (``tf.random_normal_initializer(0, 1/net[0])``);

biases ``bias_init`` (default 0; DROO's code uses 0.1). Optional batch normalization [3]_ of the first
hidden layer's pre-activations: batch statistics (biased variance) in training, which also update running averages with momentum 0.9; the
running averages when predicting; epsilon 1e-5.

Binary cross-entropy on the logits z of a network over a batch (X, Y) of B samples and n outputs is the
mean ``softplus(z) - y z`` (equal to ``-y log s(z) - (1-y) log(1-s(z))`` without overflow); its gradient
with respect to z is ``(s(z) - y) / (B n)``.

References
----------
.. [1] K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015.
.. [2] X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural networks",
   AISTATS 2010.
.. [3] S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015.
.. [4] Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller, "Efficient BackProp", in Neural Networks: Tricks of
   the Trade, Springer 1998.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, check_int

#: Weight initialisations by name.
INITIALIZATIONS = ("he-glorot", "lecun", "inverse-input")
#: Batch-norm constants: running-average momentum (old weight, new weight) and variance epsilon.
BN_MOMENTUM = 0.9
BN_NEW_WEIGHT = 0.1  # written out: 1 - 0.9 is 0.09999999999999998 in binary floating point
BN_EPSILON = 1e-5


def sigmoid(z):
    """Overflow-free logistic function."""
    return np.exp(-np.logaddexp(0.0, -z))


def bce_with_logits(z, y):
    """Binary cross-entropy of logits ``z`` [K, B, n] against targets ``y`` (broadcastable, in [0, 1]).

    Returns ``(losses [K], dz [K, B, n])``: the mean loss of each network over its batch and outputs, and
    the gradient of each network's loss with respect to its logits.
    """
    batch, n = z.shape[1], z.shape[2]
    losses = (np.logaddexp(0.0, z) - y * z).mean(axis=(1, 2))
    dz = (sigmoid(z) - y) / (batch * n)
    return losses, dz


class StackedMLP:
    """K fully connected ReLU networks of identical shape evaluated as one batched computation.

    Parameters
    ----------
    n_in : int
        Input features per row.
    hidden : sequence of int
        Hidden-layer widths (may be empty: a linear model).
    n_out : int
        Outputs per row (1 for a per-row score, e.g. one score per node).
    networks : int
        K, the number of stacked networks (>= 1).
    batch_norm : bool
        Batch-normalize the first hidden layer (needs at least one hidden layer).
    init : str
        ``"he-glorot"``, ``"lecun"`` or ``"inverse-input"`` (module Notes).
    bias_init : float
        Initial value of every bias.
    rng : numpy.random.Generator
        Source of the initial weights.
    max_units : int
        Largest accepted layer width (bad input guard).

    Input shapes: ``(F,)`` (one row), ``(B, F)`` (the same rows for every network) or ``(K, B, F)`` (each
    network its own rows). Outputs are always ``(K, B, n_out)``. A per-node model shared by all nodes is
    the case ``n_out = 1`` with one row per node: ``forward(rows)[k, i, 0]`` is network k's score of node i.
    """

    def __init__(self, n_in, hidden, n_out, *, networks=1, batch_norm=False, init="he-glorot",
                 bias_init: float = 0.0, rng: np.random.Generator, max_units: int = 4096):
        self.n_in = check_int("n_in", n_in, 1, max_units)
        self.hidden = tuple(check_int("hidden", h, 1, max_units) for h in hidden)
        self.n_out = check_int("n_out", n_out, 1, max_units)
        self.networks = check_int("networks", networks, 1)
        self.batch_norm = bool(batch_norm)
        if self.batch_norm and not self.hidden:
            raise ParameterError("batch_norm", "needs at least one hidden layer")
        if init not in INITIALIZATIONS:
            raise ParameterError("init", f"must be one of {', '.join(INITIALIZATIONS)}; got {init!r}")
        self.init = init
        self.bias_init = float(bias_init)
        sizes = self.layers
        K = self.networks
        self.weights = []
        self.biases = []
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = layer == len(sizes) - 2
            if init == "lecun":
                std = np.sqrt(1.0 / fan_in)
            elif init == "inverse-input":
                std = 1.0 / sizes[0]
            else:
                std = np.sqrt(2.0 / (fan_in + fan_out)) if last else np.sqrt(2.0 / fan_in)
            self.weights.append(rng.standard_normal((K, fan_in, fan_out)) * std)
            self.biases.append(np.full((K, 1, fan_out), self.bias_init))
        h1 = sizes[1]
        self.bn_gamma = np.ones((K, 1, h1))
        self.bn_beta = np.zeros((K, 1, h1))
        self.bn_mean = np.zeros((K, 1, h1))
        self.bn_var = np.ones((K, 1, h1))

    @property
    def layers(self) -> list[int]:
        """Layer widths ``[n_in, *hidden, n_out]``."""
        return [self.n_in, *self.hidden, self.n_out]

    def architecture(self) -> dict:
        """JSON-ready description (recorded in saved models)."""
        return {"layers": self.layers, "networks": self.networks, "batch_norm": self.batch_norm,
                "init": self.init, "bias_init": self.bias_init, "hidden_activation": "relu", "output": "logits"}

    def parameters(self) -> list[np.ndarray]:
        """The trained arrays (updated in place by an optimizer): weights, biases, then gamma, beta."""
        params = [*self.weights, *self.biases]
        if self.batch_norm:
            params += [self.bn_gamma, self.bn_beta]
        return params

    def state(self) -> dict[str, np.ndarray]:
        """Every array (trained parameters and batch-norm running statistics) by name."""
        out = {f"w{i}": w for i, w in enumerate(self.weights)}
        out.update({f"b{i}": b for i, b in enumerate(self.biases)})
        out.update(bn_gamma=self.bn_gamma, bn_beta=self.bn_beta, bn_mean=self.bn_mean, bn_var=self.bn_var)
        return out

    def load_state(self, arrays) -> None:
        """Copy arrays of :meth:`state` (same shapes) into this network in place."""
        for name, target in self.state().items():
            src = np.asarray(arrays[name], dtype=np.float64)
            if src.shape != target.shape:
                raise ParameterError("model", f"array {name} has shape {src.shape}, expected {target.shape}")
            target[...] = src

    # ------------------------------------------------------------------ forward
    def _rows(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            return x[None, None, :]
        if x.ndim == 2:
            return x[None, :, :]
        if x.ndim != 3:
            raise ParameterError("features", f"must have 1, 2 or 3 dimensions, got shape {x.shape}")
        return x

    def predict(self, x) -> np.ndarray:
        """Logits [K, B, n_out] for deciding (batch norm uses the running statistics; no cache)."""
        h = self._rows(x)
        n_layers = len(self.weights)
        for layer in range(n_layers - 1):
            h = np.matmul(h, self.weights[layer]) + self.biases[layer]
            if layer == 0 and self.batch_norm:
                h = (h - self.bn_mean) / np.sqrt(self.bn_var + BN_EPSILON) * self.bn_gamma + self.bn_beta
            np.maximum(h, 0.0, out=h)
        return np.matmul(h, self.weights[-1]) + self.biases[-1]

    def forward(self, x):
        """Training forward pass: ``(logits [K, B, n_out], cache)`` for :meth:`backward`.

        With batch norm, normalises with the batch's statistics (over the rows of each network) and
        updates the running averages.
        """
        h = self._rows(x)
        acts = [h]
        bn = None
        n_layers = len(self.weights)
        for layer in range(n_layers):
            z = np.matmul(h, self.weights[layer]) + self.biases[layer]
            if layer == n_layers - 1:
                return z, (acts, bn)
            if layer == 0 and self.batch_norm:
                mean = z.mean(axis=1, keepdims=True)
                var = z.var(axis=1, keepdims=True)
                self.bn_mean = BN_MOMENTUM * self.bn_mean + BN_NEW_WEIGHT * mean
                self.bn_var = BN_MOMENTUM * self.bn_var + BN_NEW_WEIGHT * var
                inv = 1.0 / np.sqrt(var + BN_EPSILON)
                zhat = (z - mean) * inv
                bn = (zhat, inv)
                z = zhat * self.bn_gamma + self.bn_beta
            h = np.maximum(z, 0.0)
            acts.append(h)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ backward
    def backward(self, dz, cache) -> list[np.ndarray]:
        """Gradients (in :meth:`parameters` order) from ``dz`` = d loss / d logits [K, B, n_out]."""
        acts, bn = cache
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
                zhat, inv = bn
                g_gamma = (dz * zhat).sum(axis=1, keepdims=True)
                g_beta = dz.sum(axis=1, keepdims=True)
                dzhat = dz * self.bn_gamma
                m = dz.shape[1]
                dz = inv / m * (m * dzhat - dzhat.sum(axis=1, keepdims=True)
                                - zhat * (dzhat * zhat).sum(axis=1, keepdims=True))
        grads = [*gw, *gb]
        if self.batch_norm:
            grads += [g_gamma, g_beta]
        return grads

    def bce_loss_and_gradients(self, x, y):
        """Mean BCE per network [K] and its gradients for rows ``x`` and targets ``y`` [K, B, n_out]."""
        z, cache = self.forward(x)
        losses, dz = bce_with_logits(z, y)
        return losses, self.backward(dz, cache)


class Adam:
    """Adam (Kingma & Ba, ICLR 2015) updating a list of arrays in place.

    ``step(grads)``: ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
    ``p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)`` (the paper's efficient form).
    """

    def __init__(self, params, learning_rate=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = list(params)
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads) -> None:
        beta1, beta2 = self.beta1, self.beta2
        self.t += 1
        t = self.t
        scale = self.learning_rate * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * g * g
            p -= scale * m / (np.sqrt(v) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        out = {f"adam_m{i}": m for i, m in enumerate(self.m)}
        out.update({f"adam_v{i}": v for i, v in enumerate(self.v)})
        out["adam_t"] = np.array(self.t)
        return out

    def load_state(self, arrays) -> None:
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            m[...] = arrays[f"adam_m{i}"]
            v[...] = arrays[f"adam_v{i}"]
        self.t = int(arrays["adam_t"])
