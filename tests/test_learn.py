"""The shared learning core: stacked MLPs, BCE, Adam, replay memory, quantizers, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

import naive_learn
import naive_offload
from wsnmec.errors import ParameterError
from wsnmec.learn import (
    Adam, ReplayMemory, StackedMLP, bce_with_logits, load_model, order_preserving, save_model, sigmoid,
    threshold, top_k,
)
from wsnmec.offload import DDLO, mumt_model


def _net(batch_norm=False, n_in=4, hidden=(6, 5), n_out=3, networks=3, seed=0, init="he-glorot"):
    net = StackedMLP(n_in, hidden, n_out, networks=networks, batch_norm=batch_norm, init=init,
                     rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 100)
    for b in net.biases:  # non-zero biases and batch-norm parameters so every term is exercised
        b += rng.normal(size=b.shape)
    if batch_norm:
        net.bn_gamma += 0.3 * rng.normal(size=net.bn_gamma.shape)
        net.bn_beta += 0.3 * rng.normal(size=net.bn_beta.shape)
        net.bn_mean = rng.normal(size=net.bn_mean.shape)
        net.bn_var = rng.uniform(0.5, 2.0, size=net.bn_var.shape)
    return net


@pytest.mark.parametrize("batch_norm", [False, True])
def test_predict_matches_reference_per_network(batch_norm):
    net = _net(batch_norm)
    x = np.random.default_rng(2).normal(size=(5, 4))
    z = net.predict(x)
    assert z.shape == (3, 5, 3)
    for k in range(3):
        bn = None
        if batch_norm:
            bn = tuple(a[k, 0].tolist() for a in (net.bn_mean, net.bn_var, net.bn_gamma, net.bn_beta))
        for s in range(5):
            want = naive_learn.mlp_forward_bn(x[s], [w[k].tolist() for w in net.weights],
                                              [b[k, 0].tolist() for b in net.biases], bn)
            np.testing.assert_allclose(z[k, s], want, rtol=1e-10, atol=1e-12)
    # one row, shared rows and per-network rows agree (to BLAS rounding)
    np.testing.assert_allclose(net.predict(x[0])[:, 0], z[:, 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.predict(np.broadcast_to(x, (3, 5, 4)).copy()), z, rtol=1e-13)


def test_per_node_scores_shape_and_independence():
    """One per-node network shared by all nodes: row i's score depends only on row i."""
    net = _net(n_in=7, hidden=(8,), n_out=1, networks=2)
    rows = np.random.default_rng(3).normal(size=(2, 10, 7))  # K x nodes x features
    scores = net.predict(rows)
    assert scores.shape == (2, 10, 1)
    changed = rows.copy()
    changed[:, 4] += 1.0
    again = net.predict(changed)
    np.testing.assert_array_equal(np.delete(again, 4, axis=1), np.delete(scores, 4, axis=1))
    assert np.all(again[:, 4] != scores[:, 4])


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("shared_rows", [False, True])
def test_gradients_match_finite_differences(batch_norm, shared_rows):
    net = _net(batch_norm)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 4)) if shared_rows else rng.normal(size=(3, 8, 4))
    y = rng.integers(0, 2, size=(3, 8, 3)).astype(float)
    state = {k: v.copy() for k, v in net.state().items()}

    def loss():
        net.load_state(state)  # running statistics do not feed the training forward, but keep them fixed
        return net.bce_loss_and_gradients(x, y)[0].sum()

    losses, grads = net.bce_loss_and_gradients(x, y)
    assert losses.shape == (3,)
    params = net.parameters()
    assert len(grads) == len(params) == 2 * 3 + (2 if batch_norm else 0)
    eps = 1e-6
    for p, g in zip(params, grads):
        assert g.shape == p.shape
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for idx in rng.choice(flat.size, size=min(8, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + eps
            state = {k: v.copy() for k, v in net.state().items()}
            up = loss()
            flat[idx] = old - eps
            state = {k: v.copy() for k, v in net.state().items()}
            down = loss()
            flat[idx] = old
            assert gflat[idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)


def test_bce_matches_reference():
    rng = np.random.default_rng(7)
    z = rng.normal(scale=3, size=(2, 5, 3))
    y = rng.integers(0, 2, size=z.shape).astype(float)
    losses, dz = bce_with_logits(z, y)
    for k in range(2):
        assert losses[k] == pytest.approx(naive_learn.bce(z[k].tolist(), y[k].tolist()), rel=1e-12)
    np.testing.assert_allclose(dz, (1 / (1 + np.exp(-z)) - y) / 15, rtol=1e-12)
    assert np.all(np.isfinite(bce_with_logits(np.array([[[800.0, -800.0]]]), np.array([[[0.0, 1.0]]]))[0]))
    assert sigmoid(np.array(-1000.0)) == 0.0 and sigmoid(np.array(1000.0)) == 1.0


def test_adam_matches_reference():
    p = np.array([[0.5, -1.0]])
    grads = [np.array([[0.3, -2.0]]), np.array([[0.1, 0.5]]), np.array([[-0.7, 0.0]])]
    opt = Adam([p], learning_rate=0.05, beta1=0.09)
    for g in grads:
        opt.step([g])
    for j in range(2):
        want = naive_learn.adam_steps(float([0.5, -1.0][j]), [float(g[0, j]) for g in grads], 0.05, beta1=0.09)
        assert p[0, j] == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_training_fits_a_rule_per_node():
    """A per-node scorer (n_out = 1) learns 'score high iff feature 0 > 0' from a replay memory."""
    rng = np.random.default_rng(6)
    net = StackedMLP(3, (16,), 1, networks=2, rng=rng)
    opt = Adam(net.parameters(), 0.02)
    memory = ReplayMemory(200, 3, 1)
    rows = rng.normal(size=(200, 3))
    for r in rows:
        memory.store(r, [float(r[0] > 0)])
    for _ in range(300):
        x, y = memory.sample(rng, 2, 32)
        _, grads = net.bce_loss_and_gradients(x, y)
        opt.step(grads)
    assert ((net.predict(rows)[..., 0] > 0) == (rows[:, 0] > 0)).mean() > 0.95


def test_replay_memory_ring_buffer():
    memory = ReplayMemory(3, 2, 1)
    for i in range(5):
        memory.store([i, -i], [i % 2])
    assert memory.stored == 5 and memory.filled == 3
    np.testing.assert_array_equal(memory.inputs[:, 0], [3, 4, 2])  # slots 0, 1 overwritten by entries 3, 4
    x, y = memory.sample(np.random.default_rng(0), 4, 6)
    assert x.shape == (4, 6, 2) and y.shape == (4, 6, 1)
    assert set(x[..., 0].ravel()) <= {2.0, 3.0, 4.0}
    np.testing.assert_array_equal(y[..., 0], x[..., 0] % 2)
    with pytest.raises(ParameterError):
        ReplayMemory(3, 2, 1).sample(np.random.default_rng(0), 1, 1)


@pytest.mark.parametrize("count", [1, 3, 6])
def test_order_preserving_matches_reference_on_probabilities_and_logits(count):
    rng = np.random.default_rng(count)
    probs = rng.uniform(0.01, 0.99, size=(2, 4, 5))  # a batch of score vectors
    got = order_preserving(probs, count, level=0.5)
    assert got.shape == (2, 4, count, 5)
    got_logits = order_preserving(np.log(probs / (1 - probs)), count)
    for a in range(2):
        for b in range(4):
            want = naive_offload.order_preserving(probs[a, b].tolist(), count)
            np.testing.assert_array_equal(got[a, b], want)
            np.testing.assert_array_equal(got_logits[a, b], want)
    np.testing.assert_array_equal(got[..., 0, :], threshold(probs, 0.5))
    with pytest.raises(ParameterError, match="candidates"):
        order_preserving(probs, 7)


def test_top_k_matches_reference():
    rng = np.random.default_rng(9)
    scores = rng.normal(size=(3, 8)).round(1)  # rounding makes ties
    got = top_k(scores, [0, 2, 5, 8])
    assert got.shape == (3, 4, 8)
    for v in range(3):
        np.testing.assert_array_equal(got[v], naive_learn.top_k(scores[v].tolist(), [0, 2, 5, 8]))
    with pytest.raises(ParameterError, match="sizes"):
        top_k(scores, [-1])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_save_load_round_trip_identical_outputs(tmp_path, batch_norm):
    net = _net(batch_norm, init="lecun")
    opt = Adam(net.parameters(), 0.01)
    x = np.random.default_rng(1).normal(size=(6, 4))
    _, grads = net.bce_loss_and_gradients(x, np.ones((3, 6, 3)))
    opt.step(grads)
    meta = {"features": ["a", "b", "c", "d"], "training_scenario": {"N": 100}, "seed": 7}
    path = save_model(tmp_path / "m.npz", net, meta, optimizer=opt, arrays={"note": np.arange(3)})
    saved = load_model(path)
    np.testing.assert_array_equal(saved.net.predict(x), net.predict(x))
    assert saved.net.architecture() == net.architecture()
    assert saved.metadata["features"] == meta["features"] and saved.metadata["seed"] == 7
    assert saved.metadata["training_scenario"] == {"N": 100}
    assert saved.metadata["architecture"]["layers"] == [4, 6, 5, 3] and "package_version" in saved.metadata
    np.testing.assert_array_equal(saved.arrays["note"], np.arange(3))
    opt2 = Adam(saved.net.parameters(), 0.01)
    opt2.load_state(saved.arrays)
    assert opt2.t == 1
    with np.load(path, allow_pickle=False) as data:  # metadata is plain JSON text
        json.loads(str(data["__metadata__"]))


def test_save_load_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(ParameterError, match="model"):
        load_model(bad)
    np.savez(tmp_path / "plain.npz", w0=np.zeros(3))
    with pytest.raises(ParameterError, match="__metadata__"):
        load_model(tmp_path / "plain.npz")
    with pytest.raises(ParameterError, match="metadata"):
        save_model(tmp_path / "x.npz", _net(), {"bad": object()})


@pytest.mark.parametrize("batch_norm", [False, True])
def test_ddlo_save_load_identical_decisions(tmp_path, batch_norm):
    model = mumt_model(2, 2)
    states = model.random_states(np.random.default_rng(3), 80)
    feats = model.features(states)
    learner = DDLO(feats.shape[1], model.n_decisions, networks=2, hidden=(16, 8), memory_size=32,
                   batch_size=8, train_interval=2, batch_norm=batch_norm, quantization="order-preserving",
                   candidates=2, rng=np.random.default_rng(4))
    for f in range(40):
        dec, _, _ = learner.decide(model, feats[f], states[f])
        learner.remember(feats[f], dec)
        if learner.ready() and f % 2:
            learner.train_step()
    learner.save(tmp_path / "ddlo.npz", {"seed": 4}, with_memory=True)
    clone = DDLO.load(tmp_path / "ddlo.npz", rng=np.random.default_rng(9))
    assert clone.config() == learner.config()
    for f in range(40, 80):
        a, b = learner.decide(model, feats[f], states[f]), clone.decide(model, feats[f], states[f])
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    # training continues identically from the restored optimizer and memory with the same rng
    learner.rng = np.random.default_rng(9)
    np.testing.assert_array_equal(learner.train_step(), clone.train_step())
    np.testing.assert_array_equal(learner.net.predict(feats), clone.net.predict(feats))


def test_damaged_model_file_is_refused_in_one_line(tmp_path):
    """A model whose arrays no longer match the checksum in its metadata is refused (issue 12: cached
    artefacts are verified before use); an intact file loads."""
    import json

    import numpy as np
    import pytest

    from wsnmec.errors import ParameterError
    from wsnmec.learn import StackedMLP, load_model, save_model

    net = StackedMLP(4, (8,), 2, networks=2, rng=np.random.default_rng(1))
    path = save_model(tmp_path / "model.npz", net, {"seed": 1})
    assert load_model(path).metadata["content_sha256"]
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k].copy() for k in data.files}
    arrays["w0"][0, 0, 0] += 1e-12  # one weight changed, metadata (and checksum) kept
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, **arrays)
    with pytest.raises(ParameterError, match="does not match its content checksum"):
        load_model(damaged)
    legacy = dict(arrays)  # a file without checksums (or with the key deleted) is refused (issue 21, item 5)
    meta = json.loads(str(legacy["__metadata__"]))
    meta.pop("content_sha256")
    legacy["__metadata__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "legacy.npz", **legacy)
    with pytest.raises(ParameterError, match="no content checksum"):
        load_model(tmp_path / "legacy.npz")
