"""The DDLO learner with categorical decisions (model ``partition``: one option per device).

:class:`CategoricalDDLO` keeps DDLO's K stacked NumPy networks, shared replay memory and Adam training
(:class:`wsnmec.offload.ddlo.DDLO`, on the shared learning core :mod:`wsnmec.learn`: ``StackedMLP``,
``ReplayMemory``, ``Adam``), and changes what the networks output and how outputs become candidate
decisions:

- Output: ``D x O`` logits, one group of O per device; a softmax per group gives each device's relaxed
  (categorical) decision. Training minimises the mean cross-entropy of each group against the one-hot
  option the executed decision chose (the categorical analogue of DDLO's binary cross-entropy).
- Candidates (a categorical generalisation of DROO's order-preserving quantization, documented here as
  our own choice): per network, candidate 1 takes each device's most probable option. The devices are
  ordered by their *margin* (top logit minus runner-up logit, the analogue of |p - 0.5|); candidate
  q = 2..D+1 switches the (q-1)-th least certain device to its runner-up. Then, per server j,
  candidate D+1+j moves every device that chose server j to its most probable option off server j
  (a whole server's load moved at once: what a failed or slowed server needs, and what single switches
  cannot reach in one frame). ``candidates`` (per network) takes the first C of these 1 + D + S.
- Every candidate of every network is scored by the model in one compiled call; the best is executed.

Notes
-----
Softmax cross-entropy over one group with logits z and one-hot y: ``L = -sum_o y_o log softmax(z)_o``,
``dL/dz = softmax(z) - y``; the batch loss is the mean over samples and devices, and this ``dz`` goes
through the core's backward pass (:meth:`wsnmec.learn.StackedMLP.backward`). Batch normalization and
DROO's adaptive K are not supported by this learner.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ParameterError, check_int
from .ddlo import DDLO
from .partition import (_SC_MM1, _SC_TIMEOUT, _SC_WT, PartitionModel, _device_terms, _score_one, _server_cost,
                        _server_time)


class CategoricalDDLO(DDLO):
    """K stacked MLPs proposing one option per device, trained from a shared replay memory.

    Parameters
    ----------
    n_features : int
        Input size (the model's feature count).
    devices : int
        D, decision groups.
    options : int
        O, options per device.
    candidates : int
        Candidates per network, 1 .. 1 + D + servers (module docstring); default: all.
    servers : int
        S (number of server-move candidates).
    refine : int
        Best-response sweeps applied to the winning candidate before it is executed and stored (0: the
        networks' candidates only). A sweep gives each device in turn its best option given the others
        (D x O scores); it stops early when a sweep changes nothing.
    **options_ddlo
        Other keyword arguments of :class:`~wsnmec.offload.ddlo.DDLO` (networks, hidden, learning_rate,
        memory_size, batch_size, train_interval, training_start, input_scale, rng).
    """

    def __init__(self, n_features: int, devices: int, options: int, *, servers: int, candidates: int | None = None,
                 refine: int = 0, **kwargs):
        if kwargs.pop("batch_norm", False):
            raise ParameterError("--batch-norm", "is not supported by the categorical learner")
        if kwargs.pop("adaptive_k", 0):
            raise ParameterError("--adaptive-k", "is not supported by the categorical learner (see --candidates)")
        kwargs.pop("quantization", None)
        self.devices = check_int("devices", devices, 1)
        self.options = check_int("options", options, 1)
        self.servers = check_int("servers", servers, 1)
        super().__init__(n_features, self.devices * self.options, quantization="threshold", candidates=1, **kwargs)
        max_c = 1 + self.devices + self.servers
        self.candidates = check_int("--candidates", max_c if candidates is None else candidates, 1, max_c)
        self.refine = check_int("--refine", refine, 0, 100)
        self._cand = np.zeros((self.networks * self.candidates, self.devices), dtype=np.int64)
        self._best = np.zeros(self.devices, dtype=np.int64)
        self._onehot = np.zeros(self.devices * self.options)
        self._onehot_base = np.arange(self.devices) * self.options

    def config(self) -> dict:
        cfg = super().config()
        cfg.update({"quantization": "categorical-order-preserving", "candidates_per_network": self.candidates,
                    "devices": self.devices, "options": self.options, "refine_sweeps": self.refine})
        return cfg

    def decide(self, model: PartitionModel, features_row, state_row):
        """Best candidate for one frame: ``(decision [D] int64 copy, cost, winning network)``."""
        z = self.net.predict(features_row * self.input_scale)[:, 0, :]
        u, winner = _categorical_best(
            np.ascontiguousarray(z), self.devices, self.options, self.candidates, state_row, model.devices,
            model.servers, *model.kernel_args(), self._cand, self._best, self.refine,
        )
        return self._best.copy(), u, winner // self.candidates

    def remember(self, features_row, decision):
        """Store (features, one-hot of the executed options) in the replay memory."""
        self._onehot[:] = 0.0
        self._onehot[self._onehot_base + np.asarray(decision, dtype=np.int64)] = 1.0
        self.memory.store(features_row, self._onehot)

    def loss_and_gradients(self, x, y):
        """Mean softmax cross-entropy per network [K] and gradients for x [K, B, F], y [K, B, D*O] one-hot."""
        z, cache = self.logits(x, training=True)
        K, B = z.shape[0], z.shape[1]
        zg = z.reshape(K, B, self.devices, self.options)
        zg = zg - zg.max(axis=3, keepdims=True)
        logp = zg - np.log(np.exp(zg).sum(axis=3, keepdims=True))
        yg = y.reshape(K, B, self.devices, self.options)
        losses = -(yg * logp).sum(axis=3).mean(axis=(1, 2))
        dz = ((np.exp(logp) - yg) / (B * self.devices)).reshape(K, B, -1)
        return losses, self.net.backward(dz, cache)

    @classmethod
    def load(cls, path, *, rng, name: str = "--model-file"):
        raise ParameterError(name, "loading a saved categorical learner is not supported")


@njit(cache=True)
def categorical_candidates(logits, n_dev, n_opt, per_net, opt_server, n_srv, cand):
    """Fill cand [K*per_net, D] with each network's candidates (module docstring order)."""
    K = logits.shape[0]
    top = np.empty(n_dev, dtype=np.int64)
    second = np.empty(n_dev, dtype=np.int64)
    margin = np.empty(n_dev)
    for k in range(K):
        z = logits[k]
        for i in range(n_dev):
            b1 = -1
            b2 = -1
            for o in range(n_opt):
                v = z[i * n_opt + o]
                if b1 < 0 or v > z[i * n_opt + b1]:
                    b2 = b1
                    b1 = o
                elif b2 < 0 or v > z[i * n_opt + b2]:
                    b2 = o
            top[i] = b1
            second[i] = b2 if b2 >= 0 else b1
            margin[i] = z[i * n_opt + b1] - z[i * n_opt + second[i]]
        order = np.argsort(margin, kind="mergesort")
        base = k * per_net
        for q in range(per_net):
            row = cand[base + q]
            for i in range(n_dev):
                row[i] = top[i]
            if q == 0:
                continue
            if q <= n_dev:
                i = order[q - 1]
                row[i] = second[i]
                continue
            j = q - 1 - n_dev  # move server j's devices to their best option elsewhere
            for i in range(n_dev):
                if opt_server[top[i]] != j:
                    continue
                best = -1
                for o in range(n_opt):
                    if opt_server[o] == j:
                        continue
                    if best < 0 or z[i * n_opt + o] > z[i * n_opt + best]:
                        best = o
                row[i] = best


@njit(cache=True)
def _option_tables(state, n_dev, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss, capacity,
                   sc, dev_cost, dev_work):
    """Per device and option: the device-only cost (plus the timeout charge on a server that is down)
    and the work it sends to its server (0 for local or a server that is down)."""
    for i in range(n_dev):
        for o in range(opt_cut.shape[0]):
            c, w, _, _ = _device_terms(state, i, o, n_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits,
                                       cut_loss, sc)
            j = opt_server[o]
            if j >= 0 and capacity[j] * state[n_dev * n_srv + n_srv + j] <= 0.0:
                c += sc[_SC_WT] * sc[_SC_TIMEOUT]
                w = 0.0
            dev_cost[i, o] = c
            dev_work[i, o] = w


@njit(cache=True)
def _server_term(w, j, state, n_dev, n_srv, capacity, sc):
    if w <= 0.0:
        return 0.0
    return sc[_SC_WT] * _server_cost(w, j, state, n_dev, n_srv, capacity, sc)


@njit(cache=True)
def _table_cost(dec, dev_cost, dev_work, state, n_dev, n_srv, opt_server, capacity, sc, work, jobs, n_jobs):
    """Q of a decision from the option tables (equals the model's score up to rounding); fills ``work``
    (and the scratch ``jobs`` [S, D], ``n_jobs`` [S])."""
    total = 0.0
    for j in range(n_srv):
        work[j] = 0.0
        n_jobs[j] = 0
    for i in range(n_dev):
        total += dev_cost[i, dec[i]]
        j = opt_server[dec[i]]
        if j >= 0:
            w = dev_work[i, dec[i]]
            work[j] += w
            if w > 0.0:
                jobs[j, n_jobs[j]] = w
                n_jobs[j] += 1
    for j in range(n_srv):
        if sc[_SC_MM1] != 0.0:
            total += _server_term(work[j], j, state, n_dev, n_srv, capacity, sc)
        elif n_jobs[j] > 0:
            total += sc[_SC_WT] * _server_time(work[j], jobs[j], n_jobs[j], j, state, n_dev, n_srv, capacity, sc)
    return total


@njit(cache=True)
def _categorical_best(logits, n_dev, n_opt, per_net, state, m_dev, m_srv, opt_cut, opt_server, cut_local,
                      cut_remote, cut_bits, cut_loss, capacity, sc, cand, best_out, refine):
    """Score every candidate (from per-frame option tables: O(D + S) each), refine the best by
    best-response sweeps (O(1) per trial move under ``mm1``, a full table score, O(D log D + S), under
    ``batch-ps``), return (its exact score, winning candidate index)."""
    categorical_candidates(logits, n_dev, n_opt, per_net, opt_server, m_srv, cand)
    dev_cost = np.empty((n_dev, n_opt))
    dev_work = np.empty((n_dev, n_opt))
    _option_tables(state, m_dev, m_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss, capacity,
                   sc, dev_cost, dev_work)
    work = np.empty(m_srv)
    jobs = np.empty((m_srv, m_dev))
    n_jobs = np.zeros(m_srv, dtype=np.int64)
    best = np.inf
    winner = 0
    for c in range(cand.shape[0]):
        u = _table_cost(cand[c], dev_cost, dev_work, state, m_dev, m_srv, opt_server, capacity, sc, work, jobs,
                        n_jobs)
        if u < best:
            best = u
            winner = c
    best_out[:] = cand[winner]
    if refine > 0:
        best = _table_cost(best_out, dev_cost, dev_work, state, m_dev, m_srv, opt_server, capacity, sc, work, jobs,
                           n_jobs)
    batch = sc[_SC_MM1] == 0.0
    for _sweep in range(refine):  # best-response sweeps from the winning candidate
        changed = False
        for i in range(n_dev):
            if batch:  # batch-ps: a server's time depends on each job, each trial is scored in full
                a = best_out[i]
                best_o = a
                best_v = best
                for o in range(n_opt):
                    if o == a:
                        continue
                    best_out[i] = o
                    v = _table_cost(best_out, dev_cost, dev_work, state, m_dev, m_srv, opt_server, capacity, sc,
                                    work, jobs, n_jobs)
                    if v < best_v - 1e-12 * best:
                        best_v = v
                        best_o = o
                best_out[i] = best_o
                if best_o != a:
                    best = best_v
                    changed = True
                continue
            a = best_out[i]
            ja = opt_server[a]
            best_o = a
            best_delta = 0.0
            for o in range(n_opt):
                if o == a:
                    continue
                jb = opt_server[o]
                delta = dev_cost[i, o] - dev_cost[i, a]
                if ja >= 0 and ja == jb:
                    w = work[ja]
                    delta += (_server_term(w - dev_work[i, a] + dev_work[i, o], ja, state, m_dev, m_srv, capacity, sc)
                              - _server_term(w, ja, state, m_dev, m_srv, capacity, sc))
                else:
                    if ja >= 0:
                        w = work[ja]
                        delta += (_server_term(w - dev_work[i, a], ja, state, m_dev, m_srv, capacity, sc)
                                  - _server_term(w, ja, state, m_dev, m_srv, capacity, sc))
                    if jb >= 0:
                        w = work[jb]
                        delta += (_server_term(w + dev_work[i, o], jb, state, m_dev, m_srv, capacity, sc)
                                  - _server_term(w, jb, state, m_dev, m_srv, capacity, sc))
                if delta < best_delta - 1e-12 * best:
                    best_delta = delta
                    best_o = o
            if best_o != a:
                best_out[i] = best_o
                best = _table_cost(best_out, dev_cost, dev_work, state, m_dev, m_srv, opt_server, capacity, sc, work,
                                   jobs, n_jobs)
                changed = True
        if not changed:
            break
    u = _score_one(state, best_out, m_dev, m_srv, opt_cut, opt_server, cut_local, cut_remote, cut_bits, cut_loss,
                   capacity, sc, work, jobs, n_jobs)
    return u, winner
