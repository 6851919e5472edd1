"""Shared learning core: K small MLPs as one batched NumPy computation, trained from a replay memory.

Used by the offloading learner (:mod:`wsnmec.offload.ddlo`) and the learned clustering policy.

API summary
-----------
``StackedMLP(n_in, hidden, n_out, networks=K, batch_norm=False, init="he-glorot", rng=...)``
    K ReLU networks of one shape, weights [K, in, out]. Inputs (F,), (B, F) (same rows for all K) or
    (K, B, F); outputs logits (K, B, n_out). ``predict(x)`` decides (running batch-norm statistics);
    ``forward(x) -> (z, cache)`` and ``backward(dz, cache) -> grads`` train;
    ``bce_loss_and_gradients(x, y) -> (losses [K], grads)``; ``parameters()``, ``state()``,
    ``load_state()``, ``architecture()``. A per-node policy shared by all nodes is ``n_out = 1`` with one
    row per node: ``predict(rows)[k, i, 0]`` is network k's score of node i.
``bce_with_logits(z, y) -> (losses [K], dz)``, ``sigmoid(z)``
``Adam(params, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8)``: ``step(grads)`` updates in place.
``ReplayMemory(size, n_in, n_out)``: ring buffer; ``store(x, y)``, ``sample(rng, K, B) -> (x, y)``.
``threshold(scores, level=0)``, ``order_preserving(scores, C, level=0)``, ``top_k(scores, sizes)``
    Binary candidates [..., C, n] from score vectors [..., n]; compiled kernels
    ``order_preserving_into`` and ``top_k_into`` for use inside other ``@njit`` code.
``save_model(path, net, metadata, optimizer=None, memory=None, arrays=None)`` /
``load_model(path) -> SavedModel(net, metadata, arrays)``
    ``.npz`` with a JSON metadata dict (architecture, package version, plus the caller's features,
    training scenario, seed...).
"""

from .memory import ReplayMemory
from .mlp import INITIALIZATIONS, Adam, StackedMLP, bce_with_logits, sigmoid
from .persist import SavedModel, load_model, save_model
from .quantize import order_preserving, order_preserving_into, threshold, top_k, top_k_into

__all__ = [
    "Adam", "INITIALIZATIONS", "ReplayMemory", "SavedModel", "StackedMLP", "bce_with_logits", "load_model",
    "order_preserving", "order_preserving_into", "save_model", "sigmoid", "threshold", "top_k", "top_k_into",
]
