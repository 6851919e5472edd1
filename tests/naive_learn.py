"""Slow, readable references for the learning core (wsnmec.learn), used only by the tests."""

from __future__ import annotations

import math


def mlp_forward_bn(x, weights, biases, bn=None):
    """One network's logits for one input row; ``bn`` = (mean, var, gamma, beta) lists of the first hidden
    layer (running statistics), applied before its ReLU."""
    h = [float(v) for v in x]
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = [sum(h[i] * w[i][o] for i in range(len(h))) + b[o] for o in range(len(b))]
        if layer == len(weights) - 1:
            return z
        if layer == 0 and bn is not None:
            mean, var, gamma, beta = bn
            z = [(z[o] - mean[o]) / math.sqrt(var[o] + 1e-5) * gamma[o] + beta[o] for o in range(len(z))]
        h = [max(v, 0.0) for v in z]
    return h


def bce(logits, targets):
    """Mean binary cross-entropy -y log s - (1-y) log(1-s) over a list of rows."""
    total, count = 0.0, 0
    for zrow, yrow in zip(logits, targets):
        for z, y in zip(zrow, yrow):
            s = 1.0 / (1.0 + math.exp(-z))
            total += -(y * math.log(s) + (1 - y) * math.log(1 - s))
            count += 1
    return total / count


def top_k(scores, sizes):
    """For each size k: the k highest scores of one vector set to 1 (ties: lower index first)."""
    ranked = sorted(range(len(scores)), key=lambda j: (-scores[j], j))
    return [[1 if j in set(ranked[:k]) else 0 for j in range(len(scores))] for k in sizes]


def adam_steps(p, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """A scalar parameter after Adam steps with the given gradients: the paper's Algorithm 1 with the
    epsilon of its "efficient" form (Sec. 2), eps_hat = eps sqrt(1 - beta2^t), i.e. eps / sqrt(1 - beta2^t)
    added to sqrt(v_hat)."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (math.sqrt(v_hat) + eps / math.sqrt(1 - beta2**t))
    return p
