"""The learned clustering policy ``ddnn`` (wsnmec.clustering.ddnn): features, save/load, reproducibility,
and that it beats random head selection with the same number of heads."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.clustering.ddnn import (
    DEFAULT_MODEL,
    FEATURES,
    N_FEATURES,
    DDNNPolicy,
    Learner,
    local_density,
    node_features,
    shared_row_logits,
)
from wsnmec.learn import load_model
from wsnmec.sim import Scenario
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.simulation import simulate


def _loop(policy_cls=DDNNPolicy, seed=1, **values):
    scenario = Scenario.from_mapping({"protocol": "ddnn", **values})
    policy = policy_cls(scenario)
    return RoundLoop(scenario, seed, clustering=policy), policy


def test_default_model_is_shipped_with_its_command():
    saved = load_model(DEFAULT_MODEL)
    assert saved.metadata["features"] == list(FEATURES)
    assert saved.metadata["command"].startswith("wsnmec train --protocol ddnn ")
    assert saved.net.n_in == N_FEATURES and saved.net.n_out == 1


@pytest.mark.parametrize("values", [
    {"nodes": 20, "field": (50.0, 50.0)},
    {"nodes": 300, "field": (250.0, 250.0), "sink": (125.0, 400.0), "e0": 2.0},
])
def test_features_are_finite_size_agnostic_and_in_range(values):
    loop, policy = _loop(rounds=30, **values)
    for _ in range(30):
        loop.step()
        rows, alive = policy.features(loop.state)
        assert rows.shape == (alive.shape[0], N_FEATURES)
        assert np.isfinite(rows).all()
        assert (rows >= 0.0).all() and (rows <= 5.0).all()
    assert np.allclose(rows[:, 7], alive.shape[0] / loop.n)
    assert np.allclose(rows[:, 8], math.log10(loop.n) / 4.0)


def test_features_do_not_depend_on_the_energy_scale():
    """Initial energies x 10 (same draws, nothing else changed): the same feature rows at election time
    (before any energy is drawn), so no absolute energy enters the model."""
    a, pa = _loop(nodes=60, rounds=1, e0="0.5..1.0")
    b, pb = _loop(nodes=60, rounds=1, e0="5.0..10.0")
    assert not np.allclose(a.energy, b.energy)
    np.testing.assert_allclose(pa.features(a.state)[0], pb.features(b.state)[0], rtol=1e-12)


def test_shared_row_logits_equal_predict():
    net = load_model(DEFAULT_MODEL).net
    rows = np.random.default_rng(2).random((257, N_FEATURES)) * 3.0
    np.testing.assert_allclose(shared_row_logits(net, rows), net.predict(rows)[:, :, 0], rtol=1e-12, atol=1e-12)


def test_local_density_is_about_one_on_a_regular_grid():
    g = np.arange(20) * 5.0 + 2.5
    x, y = np.meshgrid(g, g)
    density = local_density(x.ravel(), y.ravel(), (100.0, 100.0))
    assert density.shape == (400,)
    np.testing.assert_allclose(density, 1.0)


def test_node_features_of_a_dead_network_are_empty():
    loop, policy = _loop(nodes=10, rounds=1)
    loop.alive[:] = 0
    rows, alive = node_features(loop.state, policy.density, policy.harvest_avg, 0.0, 87.7)
    assert rows.shape == (0, N_FEATURES) and alive.shape == (0,)


def test_candidates_hold_the_empty_set_and_top_k_sets():
    loop, policy = _loop(nodes=100, rounds=5, sink=(50.0, 175.0))
    loop.step()
    rows, alive = policy.features(loop.state)
    masks = policy.candidates(loop.state, rows, alive)
    assert masks[0].sum() == 0
    sizes = set(policy.sizes(loop.state, alive.shape[0]).tolist())
    assert {int(m.sum()) for m in masks[1:]} == sizes
    mask, _, _, masks2, j = policy.decide(loop.state)
    assert mask.sum() == masks2[int(np.argmin(j))].sum()


def test_objective_is_the_residual_weighted_system_utility():
    """J = sum_i drawn_i / e_i + w_T T / e_bar (a per-node loop here); with equal residual energies it is
    the system utility over that energy."""
    loop, policy = _loop(nodes=30, rounds=5, sink=(50.0, 175.0), offload="greedy", workload="dnn-inference")
    rng = np.random.default_rng(0)
    masks = (rng.random((6, 30)) < 0.15).astype(np.uint8)
    j, latency, utility = policy.objective(loop.state, masks)
    np.testing.assert_allclose(j, utility / 0.5, rtol=1e-12)  # round 1: every node holds e0 = 0.5 J
    for _ in range(3):
        loop.step()
    j, latency, utility = policy.objective(loop.state, masks)
    scores = loop.score(masks, rule="greedy", per_node=True)
    e, alive, w = loop.energy, loop.alive, loop.scenario.time_weight
    mean_e = e[alive == 1].mean()
    for k in range(masks.shape[0]):
        expected = sum(scores.drawn[k, i] / e[i] for i in range(30) if alive[i]) + w * scores.latency_s[k] / mean_e
        assert j[k] == pytest.approx(expected, rel=1e-12)


def test_save_load_round_trip_gives_identical_decisions(tmp_path):
    scenario = Scenario.from_mapping(protocol="ddnn", nodes=40, rounds=40, sink=(50.0, 175.0))
    learner = Learner.new(np.random.default_rng(5), batch=16, train_interval=2)
    trained = DDNNPolicy(scenario, learner=learner, train=True, explore=True)
    loop = RoundLoop(scenario, 2, clustering=trained)
    loop.run(40)
    assert learner.memory.stored > 0 and trained.last_losses is not None
    path = trained.save(tmp_path / "m.npz", {"command": "test"})
    loaded = DDNNPolicy(scenario.replace(policy_model=str(path)))
    loaded.reset(loop.state, np.random.default_rng(0))
    trained.explore = False
    trained.train_interval = 0  # the loop keeps calling trained.elect: freeze it at the saved weights
    for _ in range(5):
        loop.step()
        a = trained.decide(loop.state)
        b = loaded.decide(loop.state)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[3], b[3])
        np.testing.assert_array_equal(a[4], b[4])


def test_seeded_run_is_identical_twice():
    scenario = Scenario.from_mapping(protocol="ddnn", nodes=40, rounds=80, sink=(50.0, 175.0),
                                     harvest="bernoulli:0.001,0.5")
    first = simulate(scenario, seed=11, replicas=2, workers=1)
    second = simulate(scenario, seed=11, replicas=2, workers=1)
    assert first.rounds.equals(second.rounds)
    assert first.summary.equals(second.summary)
    assert first.config["clustering_parameters"]["model_sha256"] == second.config["clustering_parameters"]["model_sha256"]


def test_online_training_run_is_reproducible(tmp_path):
    """With online training on (a model whose online_interval > 0) the run still repeats exactly."""
    saved = load_model(DEFAULT_MODEL)
    learner = Learner.from_saved(saved)
    learner.settings.update(online_interval=2, batch=16)
    path = tmp_path / "online.npz"
    DDNNPolicy(Scenario(), learner=learner).save(path, {"command": "test"})
    scenario = Scenario.from_mapping(protocol="ddnn", nodes=30, rounds=40, policy_model=str(path))
    a = simulate(scenario, seed=4, workers=1)
    b = simulate(scenario, seed=4, workers=1)
    assert a.rounds.equals(b.rounds)
    assert a.config["clustering_parameters"]["online_interval"] == 2


class RandomHeads(DDNNPolicy):
    """As many heads as ddnn would choose in the same state, drawn uniformly among the alive nodes."""

    name = "random-heads"

    def elect(self, state, rng):
        k = int(self.decide(state)[0].sum())
        mask = np.zeros(state.n, dtype=np.bool_)
        alive = np.flatnonzero(state.alive)
        if k > 0:
            mask[rng.choice(alive, size=k, replace=False)] = True
        return mask


def test_ddnn_beats_random_heads_with_the_same_number_of_heads():
    """Far sink, 50 nodes, E0 = 0.1 J, 3 seeds, the classic preset (measured: FND 176 vs 105, HND 187 vs
    179, delivered bits +3.6 %; random heads keep ddnn's choice of the empty set, so they are not a weak
    baseline). Under the default shared medium and 200-bit control the delivered bits are not higher (83.9 vs
    86.1 Mbit on these seeds): the shipped model was trained without control messages."""
    fnd, hnd, bits = {}, {}, {}
    for cls in (DDNNPolicy, RandomHeads):
        scenario = Scenario.from_mapping(protocol="ddnn", nodes=50, e0=0.1, sink=(50.0, 175.0), rounds=2000,
                                         preset="classic")
        result = simulate(scenario, seed=3, replicas=3, workers=1, clustering=cls)
        fnd[cls.name] = float(result.summary["fnd"].astype(float).mean())
        hnd[cls.name] = float(result.summary["hnd"].astype(float).mean())
        bits[cls.name] = float(result.rounds["delivered_bits"].sum())
    assert fnd["ddnn"] > 1.5 * fnd["random-heads"]
    assert hnd["ddnn"] > hnd["random-heads"]
    assert bits["ddnn"] > 1.02 * bits["random-heads"]


def test_control_energy_charges_the_broadcast_and_the_hello():
    # the ideal medium (classic preset): the same heads with and without control, round by round
    base, _ = _loop(nodes=30, rounds=3, control_bits=0, preset="classic")
    charged, policy = _loop(nodes=30, rounds=3, control_bits=200, preset="classic")
    consumed = 0.0
    for r in range(3):
        base.step()
        charged.step()
        extra = policy.control_energy(charged.state, charged.last_heads)
        assert (extra > 0).all() and (r > 0 or extra.min() > 200 * 50e-9)
        assert charged.last_record["consumed_j"] > base.last_record["consumed_j"]
        consumed += charged.last_record["consumed_j"]
    assert math.isclose(charged.initial.sum() - consumed, charged.energy.sum(), rel_tol=0, abs_tol=1e-12)


def test_cli_train_writes_a_loadable_model_and_run_uses_it(tmp_path):
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(cli.main, ["train", "--seed", "3", "--scenarios", "1", "--rounds", "3",
                                           "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = load_model(out)
    assert saved.metadata["command"] == ("wsnmec train --protocol ddnn --seed 3 --scenarios 1 --rounds 3 "
                                         "--networks 3 --out m.npz")
    assert saved.metadata["seed"] == 3
    run = CliRunner().invoke(cli.main, ["run", "--protocol", "ddnn", "--nodes", "20", "--rounds", "5", "--seed", "1",
                                        "--policy-model", str(out), "--json"])
    assert run.exit_code == 0, run.output
    config = json.loads(run.output)["config"]
    assert config["policy_model"] == str(out)
    assert config["clustering_parameters"]["model"] == str(out)


@pytest.mark.parametrize("args, option", [
    (["run", "--protocol", "ddnn", "--policy-model", "/nonexistent/m.npz"], "--policy-model"),
    (["train", "--scenarios", "0", "--out", "x.npz"], "--scenarios"),
    (["train", "--protocol", "leach", "--out", "x.npz"], "--protocol"),
])
def test_bad_input_exits_2_naming_the_option(args, option):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2
    assert option in result.output and "Traceback" not in result.output


def test_unreadable_model_content_is_a_parameter_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    result = CliRunner().invoke(cli.main, ["run", "--protocol", "ddnn", "--nodes", "10", "--rounds", "2",
                                           "--policy-model", str(bad)])
    assert result.exit_code == 2
    assert "--policy-model" in result.output
