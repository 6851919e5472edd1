"""Model wpmec (DROO's wireless-powered MEC): allocation vs a readable reference, KKT, enumeration, data,
adaptive K, changing conditions, presets and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import naive_wpmec as naive
from wsnmec.cli import main
from wsnmec.errors import ParameterError
from wsnmec.offload import DDLO, load_droo, solvers, wpmec_allocation, wpmec_model, wpmec_states
from wsnmec.offload.conditions import CONDITION_PRESETS, apply_conditions, make_conditions
from wsnmec.offload.ddlo import LEARNER_DEFAULTS, learner_settings
from wsnmec.offload.online import run_experiment

FIXTURE = Path(__file__).parent / "data" / "droo_data_10_first300.mat"


def _cases(n, count, seed, off=False):
    model = wpmec_model(n)
    rng = np.random.default_rng(seed)
    states = model.random_states(rng, count)
    if off:  # some devices switched off (weight 0)
        states[:, n:] *= rng.random((count, n)) > 0.3
    decisions = rng.integers(0, 2, size=(count, n)).astype(np.uint8)
    return model, states, decisions


@pytest.mark.parametrize("n,off", [(1, False), (3, False), (6, False), (5, True)])
def test_allocation_matches_nested_search_reference(n, off):
    model, states, decisions = _cases(n, 12, n, off)
    util, a, tau = wpmec_allocation(model, states, decisions)
    np.testing.assert_allclose(model.score(states, decisions), util, rtol=0, atol=0)
    for s in range(states.shape[0]):
        h, w = states[s, :n].tolist(), states[s, n:].tolist()
        want, want_a, want_tau = naive.allocate(h, w, decisions[s].tolist(), naive.DROO)
        assert util[s] == pytest.approx(want, rel=1e-9)
        assert a[s] == pytest.approx(want_a, rel=1e-5, abs=1e-7)  # the objective is flat in a
        np.testing.assert_allclose(tau[s], want_tau, rtol=1e-4, atol=1e-7)


def test_kkt_conditions_at_returned_allocation():
    n = 8
    model, states, decisions = _cases(n, 30, 11)
    cfg = model.config
    eta1, eta2, eps, kappa = naive.constants(cfg)
    util, a, tau = wpmec_allocation(model, states, decisions)
    for s in range(states.shape[0]):
        h, w, x = states[s, :n], states[s, n:], decisions[s]
        off = np.flatnonzero(x == 1)
        if off.size == 0:
            assert a[s] == 1.0 and np.all(tau[s] == 0)
            continue
        assert a[s] + tau[s].sum() == pytest.approx(1.0, abs=1e-12)  # time constraint tight
        assert np.all(tau[s][x == 0] == 0) and np.all(tau[s][off] > 0) and 0 < a[s] < 1
        A = sum(w[i] * eta1 * (h[i] / kappa) ** (1 / 3) for i in range(n) if x[i] == 0)
        ratio = eta2 * h[off] ** 2 * a[s] / tau[s][off]
        d_tau = eps * w[off] * (np.log1p(ratio) - ratio / (1 + ratio))  # dQ/dtau_j
        d_a = A / 3 * a[s] ** (-2 / 3) + eps * np.sum(w[off] * eta2 * h[off] ** 2 / (1 + ratio))  # dQ/da
        np.testing.assert_allclose(d_tau, d_a, rtol=1e-9)  # equal marginal value of time = v
        # the reported objective is the rate at that (a, tau)
        rate = sum(w[i] * naive.local_rate(h[i], a[s], cfg) for i in range(n) if x[i] == 0)
        rate += sum(w[j] * naive.offload_rate(h[j], a[s], tau[s][j], cfg) for j in off)
        assert util[s] == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("off", [False, True])
def test_exact_equals_brute_force(off):
    model, states, _ = _cases(5, 4, 7, off)
    dec, util = solvers.exact(model, states)
    for s in range(states.shape[0]):
        want, want_x = naive.brute_force(states[s, :5].tolist(), states[s, 5:].tolist(), naive.DROO)
        assert util[s] == pytest.approx(want, rel=1e-9)
        assert model.score(states[s:s + 1], dec[s:s + 1])[0] == util[s]


def test_published_data_fixture_objective_and_optimum():
    data = load_droo(FIXTURE)
    model = wpmec_model(10)
    states = wpmec_states(data.input_h, [1, 1.5] * 5)
    util = model.score(states, data.output_mode)
    rel = util / data.output_obj - 1
    assert np.abs(rel).max() < 1e-5  # DROO's bisection stops at a tolerance (measured: < 2.2e-7)
    _, best = solvers.exact(model, states[:40])
    assert np.all(best >= data.output_obj[:40] * (1 - 1e-6))
    assert np.all(best >= util[:40])


def test_random_states_follow_droo_channel_model():
    model = wpmec_model(10)
    states = model.random_states(np.random.default_rng(0), 20000)
    data = load_droo(FIXTURE)
    mean_ratio = states[:, :10].mean(axis=0) / data.input_h.mean(axis=0)
    assert np.all(np.abs(mean_ratio - 1) < 0.25)  # 300 exponential draws per device in the fixture
    np.testing.assert_array_equal(states[0, 10:], [1, 1.5] * 5)
    feats = model.features(np.concatenate([states[:1, :10], [[0, 1.5] + [1, 1.5] * 4]], axis=1))
    assert feats[0, 0] == 0 and feats[0, 1] == pytest.approx(states[0, 1] * 1e6)


def test_adaptive_k_trajectory():
    table, res = run_experiment(model="wpmec", dataset=FIXTURE, frames=300, networks=1, seed=3,
                                learner_options=learner_settings("droo", candidates=10, adaptive_k=16), exact_limit=10)
    k = table.loc[table["policy"] == "ddlo", "candidates"].to_numpy()
    assert k[0] == 10 and np.all((k >= 1) & (k <= 10))
    changes = np.flatnonzero(np.diff(k)) + 1
    assert changes.size > 0 and np.all(changes % 16 == 0)  # K changes only every 16 frames
    winners = table.loc[table["policy"] == "ddlo"]
    assert res["policies"]["ddlo"]["normalized_utility"] > res["policies"]["random"]["normalized_utility"]
    assert res["config"]["learner"]["adaptive_k"] == 16 and len(winners) == 300


def test_adaptive_k_rule_exact():
    learner = DDLO(3, 3, networks=1, quantization="order-preserving", candidates=3, adaptive_k=2,
                   rng=np.random.default_rng(0))
    model = wpmec_model(3)
    states = model.random_states(np.random.default_rng(1), 6)
    feats = model.features(states)
    seen = []
    for f in range(6):
        k_before = learner.k
        z = learner.net.predict(feats[f] * learner.input_scale)[0, 0]
        from wsnmec.learn import order_preserving

        cands = order_preserving(z, k_before)
        utils = model.score(np.repeat(states[f:f + 1], k_before, 0), cands)
        seen.append(int(np.argmax(utils)))
        learner.decide(model, feats[f], states[f])
        if f % 2 == 1:
            assert learner.k == max(1, min(max(seen[-2:]) + 2, 3))


def test_conditions_droo_on_off_active_counts():
    model = wpmec_model(10)
    states = model.random_states(np.random.default_rng(0), 100)
    out, changes, active = apply_conditions(model, states, CONDITION_PRESETS["droo-on-off"])
    assert [c["frame"] for c in changes] == [60, 65, 70, 75, 80, 85, 90, 95]
    assert [c["active"] for c in changes] == [9, 8, 7, 6, 7, 8, 10, 8]
    assert active[59] == 10 and active[99] == 8
    np.testing.assert_array_equal(out[75:80, 16:], 0)  # devices 6..9 off
    np.testing.assert_array_equal(out[:, :10], states[:, :10])
    out, changes, _ = apply_conditions(model, states, CONDITION_PRESETS["droo-alternate"])
    np.testing.assert_array_equal(out[60, 10:], [1.5, 1] * 5)
    np.testing.assert_array_equal(out[80, 10:], [1, 1.5] * 5)
    out, _, active = apply_conditions(model, states, make_conditions(devices_at=[(0.5, 8)]))
    assert active[49] == 10 and active[50] == 8 and np.all(out[50:, 18:] == 0)


def test_switched_off_device_changes_nothing():
    model = wpmec_model(4)
    states = model.random_states(np.random.default_rng(2), 5)
    states[:, 4 + 3] = 0.0
    for bit in (0, 1):
        dec = np.tile([1, 0, 1, bit], (5, 1))
        _, _, tau = wpmec_allocation(model, states, dec)
        assert np.all(tau[:, 3] == 0)
    np.testing.assert_array_equal(model.score(states, np.tile([1, 0, 1, 0], (5, 1))),
                                  model.score(states, np.tile([1, 0, 1, 1], (5, 1))))


def test_conditions_run_reports_intervals():
    _, res = run_experiment(model="wpmec", devices=6, frames=400, networks=2, seed=1,
                            learner_options={"memory_size": 64, "batch_size": 16, "train_through_test": True},
                            conditions=make_conditions(switch_off=[0.5], switch_on=[0.75]))
    cond = res["conditions"]
    assert [c["frame"] for c in cond["changes"]] == [200, 300]
    assert [(i["start"], i["end"]) for i in cond["intervals"]] == [(0, 200), (200, 300), (300, 400)]
    assert all(0 < i["normalized_utility"] <= 1 + 1e-12 for i in cond["intervals"])


def test_learner_settings_precedence():
    assert learner_settings() == LEARNER_DEFAULTS
    droo = learner_settings("droo", train_interval=5)
    assert droo["networks"] == 1 and droo["candidates"] == "n" and droo["beta1"] == 0.09 and droo["train_interval"] == 5
    ddlo = learner_settings("ddlo")
    assert ddlo["input_scale"] == 100 and ddlo["init"] == "inverse-input" and ddlo["train_through_test"]
    with pytest.raises(ParameterError, match="ddlo, droo"):
        learner_settings("nope")


def test_inverse_input_init_scale():
    learner = DDLO(10, 10, networks=1, init="inverse-input", bias_init=0.1, rng=np.random.default_rng(0))
    assert learner.weights[1].std() == pytest.approx(0.1, rel=0.05)  # std 1/n_in in every layer
    assert np.all(learner.biases[0] == 0.1)


def _cli(args):
    return CliRunner().invoke(main, ["offload", *args])


def test_cli_wpmec_dataset_preset_json(tmp_path):
    res = _cli(["--model", "wpmec", "--dataset", str(FIXTURE), "--preset", "droo", "--seed", "2", "--frames", "200",
                "--exact-limit", "10", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["config"]["devices"] == 10 and out["config"]["preset"] == "droo"
    assert out["config"]["learner"]["networks"] == 1 and out["config"]["learner"]["candidates_per_network"] == 10
    for row in out["policies"].values():
        assert {"normalized_utility", "decision_ms_median", "mean_objective"} <= set(row)
    assert out["policies"]["optimal"]["mean_objective"] >= out["policies"]["ddlo"]["mean_objective"]


@pytest.mark.parametrize("args,option", [
    (["--model", "wpmec", "--param", "efficiency=2"], "--param efficiency"),
    (["--model", "wpmec", "--param", "ap_power=-1"], "--param ap_power"),
    (["--model", "wpmec", "--switch-off", "1.5"], "--switch-off"),
    (["--model", "wpmec", "--switch-on", "x"], "--switch-on"),
    (["--model", "wpmec", "--devices-at", "0.5"], "--devices-at"),
    (["--model", "wpmec", "--conditions", "nope"], "--conditions"),
    (["--model", "mumt", "--conditions", "droo-on-off"], "--conditions"),
    (["--preset", "nope"], "--preset"),
    (["--quantization", "threshold", "--adaptive-k", "5"], "--adaptive-k"),
    (["--model", "wpmec", "--tasks", "2"], "--tasks"),
    (["--model", "wpmec", "--dataset", str(FIXTURE), "--devices", "5"], "--dataset"),
    (["--model", "mumt", "--dataset", str(FIXTURE)], "--dataset"),
])
def test_cli_bad_input_one_line_exit_2(args, option):
    res = _cli([*args, "--frames", "50", "--seed", "1"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in res.output


def test_load_droo_rejects_bad_files(tmp_path):
    from scipy.io import savemat

    data = {k: v for k, v in load_droo(FIXTURE).__dict__.items() if k != "path"}
    good = {"input_h": data["input_h"], "output_mode": data["output_mode"], "output_a": data["output_a"][:, None],
            "output_tau": data["output_tau"], "output_obj": data["output_obj"][:, None]}
    bad = [
        ({k: v for k, v in good.items() if k != "output_obj"}, "lacks"),
        ({**good, "output_tau": good["output_tau"][:, :5]}, "output_tau"),
        ({**good, "output_mode": good["output_mode"] * 2}, "output_mode"),
        ({**good, "input_h": -good["input_h"]}, "input_h"),
        ({**good, "output_obj": good["output_obj"][:10]}, "output_obj"),
        # issue 21 item 9: strings, cells and complex values are refused, not a traceback or a dropped part
        ({**good, "input_h": good["input_h"] * (1 + 1j)}, "input_h must be a real numeric array, got complex"),
        ({**good, "output_tau": "abc"}, "output_tau must be a real numeric array, got a string"),
        ({**good, "output_a": np.array([[1.0], ["x"]], dtype=object)}, "output_a must be a real numeric array"),
    ]
    for i, (content, match) in enumerate(bad):
        path = tmp_path / f"bad{i}.mat"
        savemat(path, content)
        with pytest.raises(ParameterError, match=match):
            load_droo(path)
    (tmp_path / "junk.mat").write_text("junk")
    with pytest.raises(ParameterError, match="cannot read"):
        load_droo(tmp_path / "junk.mat")
