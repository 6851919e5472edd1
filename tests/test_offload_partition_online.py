"""Partition learner, monitoring, events and drift (issue 10), and the CLI's partition options."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import naive_partition as naive
from wsnmec.errors import ParameterError
from wsnmec.offload import partition as P
from wsnmec.offload.categorical import CategoricalDDLO, categorical_candidates
from wsnmec.offload.partition_online import DriftDetector, apply_events, parse_event, run_partition_experiment

SMALL_LEARNER = {"memory_size": 64, "batch_size": 16, "training_start": 32}


@pytest.mark.parametrize("devices, servers, per_net", [(3, 2, 1), (3, 2, 6), (4, 3, 8), (1, 1, 3)])
def test_candidates_match_reference(devices, servers, per_net):
    model = P.partition_model(devices, servers, "alexnet", "int8")
    rng = np.random.default_rng(devices * 10 + per_net)
    logits = rng.normal(size=(2, devices * model.n_options))
    cand = np.zeros((2 * per_net, devices), dtype=np.int64)
    categorical_candidates(logits, devices, model.n_options, per_net, model.opt_server, servers, cand)
    want = naive.categorical_candidates(logits.tolist(), devices, model.n_options, per_net, list(model.opt_server))
    assert cand.tolist() == want


def test_learner_decides_best_candidate_and_gradient_is_exact():
    model = P.partition_model(3, 2, "alexnet", "int8")
    rng = np.random.default_rng(0)
    states = model.random_states(rng, 5)
    feats = model.features(states)
    learner = CategoricalDDLO(feats.shape[1], 3, model.n_options, servers=2, networks=2, hidden=(8,),
                              rng=np.random.default_rng(1))
    for f in range(5):
        dec, u, _ = learner.decide(model, feats[f], states[f])
        z, _ = learner.logits(feats[f:f + 1])
        cands = naive.categorical_candidates(z[:, 0, :].tolist(), 3, model.n_options, learner.candidates,
                                             list(model.opt_server))
        costs = [naive.evaluate(model, states[f], c, P.ACCURACY_LOSS["alexnet"])[0] for c in cands]
        assert u == pytest.approx(min(costs), rel=1e-12)
        assert model.score(states[f:f + 1], dec[None])[0] == pytest.approx(u, rel=1e-12)
    # softmax cross-entropy gradient against central finite differences
    x = rng.normal(size=(2, 4, feats.shape[1]))
    y = np.zeros((2, 4, 3 * model.n_options))
    for k in range(2):
        for b in range(4):
            for i in range(3):
                y[k, b, i * model.n_options + rng.integers(model.n_options)] = 1.0
    _, grads = learner.loss_and_gradients(x, y)
    w = learner.weights[0]
    for idx in [(0, 0, 0), (1, 3, 5), (0, 9, 7)]:
        old = w[idx]
        w[idx] = old + 1e-6
        up = learner.loss_and_gradients(x, y)[0][idx[0]]
        w[idx] = old - 1e-6
        down = learner.loss_and_gradients(x, y)[0][idx[0]]
        w[idx] = old
        assert grads[0][idx] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("queueing", P.QUEUEING_MODELS)
def test_refinement_is_a_best_response_fixed_point(queueing):
    model = P.partition_model(4, 3, "alexnet", "int8", queueing=queueing)
    states = model.random_states(np.random.default_rng(4), 20)
    feats = model.features(states)
    learner = CategoricalDDLO(feats.shape[1], 4, model.n_options, servers=3, refine=100, rng=np.random.default_rng(2))
    for f in range(20):
        dec, u, _ = learner.decide(model, feats[f], states[f])
        for i in range(4):
            trial = np.repeat(dec[None], model.n_options, axis=0)
            trial[:, i] = np.arange(model.n_options)
            assert model.score(states[f:f + 1], trial[None]).min() >= u * (1 - 1e-12)


def test_drift_detector():
    det = DriftDetector(recent=10, reference=50, threshold=0.02)
    assert not any(det.update(1.0) for _ in range(500))
    fired = [det.update(0.9) for _ in range(20)]
    assert any(fired) and fired.index(True) < 10
    det2 = DriftDetector(recent=10, reference=50, threshold=0.02)
    noise = np.random.default_rng(0).normal(0.99, 0.005, 2000)
    assert sum(det2.update(v) for v in noise) == 0
    # a noisy signal (sd 0.1) does not fire on its noise, but does on a drop of 0.3
    det3 = DriftDetector()
    rng = np.random.default_rng(1)
    assert sum(det3.update(v) for v in rng.normal(0.9, 0.1, 5000)) == 0
    fired = [det3.update(v) for v in rng.normal(0.6, 0.1, 20)]
    assert any(fired)


@pytest.mark.parametrize("text, expect", [
    ("5:server-down:1", {"frame": 5, "kind": "server-down", "server": 1, "factor": None}),
    ("0:server-slow:0,0.25", {"frame": 0, "kind": "server-slow", "server": 0, "factor": 0.25}),
    ("9:bandwidth:0.5", {"frame": 9, "kind": "bandwidth", "server": None, "factor": 0.5}),
])
def test_parse_event(text, expect):
    ev = parse_event(text, 10, 2)
    assert {k: ev[k] for k in expect} == expect


@pytest.mark.parametrize("text", ["10:server-down:0", "x:bandwidth:1", "3:server-down:2", "3:server-slow:0",
                                  "3:bandwidth:0", "3:bandwidth:nan", "3:reboot:1", "3:server-down:0:1"])
def test_parse_event_rejects(text):
    with pytest.raises(ParameterError, match="--event"):
        parse_event(text, 10, 2)


def _frames(table, policy):
    return table[table["policy"] == policy].sort_values("frame").reset_index(drop=True)


def test_events_show_in_the_table_at_their_frame():
    kw = dict(devices=3, servers=2, frames=300, seed=5, learner_options=SMALL_LEARNER)
    base, _ = run_partition_experiment(**kw)
    events = ["100:server-down:1", "150:server-slow:0,0.5", "200:bandwidth:0.25"]
    table, result = run_partition_experiment(events=events, **kw)
    led = _frames(table, "ddlo")
    assert led.loc[100, "event"] == "server-down:1"
    assert led.loc[150, "event"] == "server-slow:0,0.5"
    assert led.loc[200, "event"] == "bandwidth:0.25"
    assert (led["event"] != "").sum() == 3
    for policy in table["policy"].unique():
        now, before = _frames(table, policy), _frames(base, policy)
        assert np.all(now.loc[100:, "utilization_1"] == 0.0)  # server 1 is down
        if policy not in ("ddlo", "random"):  # deterministic policies: identical before the first event
            np.testing.assert_array_equal(now.loc[:99, "utility"], before.loc[:99, "utility"])
    # the optimum can only get worse when a server slows down or fails, and does at some frames
    opt, opt0 = _frames(table, "optimal"), _frames(base, "optimal")
    assert np.all(opt.loc[100:, "utility"] >= opt0.loc[100:, "utility"] * (1 - 1e-12))
    assert np.any(opt.loc[100:149, "utility"] > opt0.loc[100:149, "utility"])
    # bandwidth / 4: all-to-nearest sends the input only, so its device energy is 4x from frame 200 on
    near, near0 = _frames(table, "all-to-nearest"), _frames(base, "all-to-nearest")
    np.testing.assert_allclose(near.loc[200:, "energy_j"], 4 * near0.loc[200:, "energy_j"], rtol=1e-12)
    np.testing.assert_allclose(near.loc[:199, "energy_j"], near0.loc[:199, "energy_j"], rtol=1e-12)
    assert [e["frame"] for e in result["events"]] == [100, 150, 200]
    # the monitoring columns agree with the model
    model_cost = table["utility"] * table["normalized_utility"]
    np.testing.assert_allclose(model_cost, table["reference_utility"], rtol=1e-12)


def test_apply_events_leaves_earlier_frames():
    model = P.partition_model(2, 2)
    states = model.random_states(np.random.default_rng(0), 10)
    out = apply_events(model, states, [parse_event("4:bandwidth:0.5", 10, 2), parse_event("6:server-down:0", 10, 2)])
    np.testing.assert_array_equal(out[:4], states[:4])
    np.testing.assert_allclose(out[4:, :4], 0.5 * states[4:, :4])
    assert np.all(out[6:, 6] == 0) and np.all(out[:6, 6] == 1)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "wsnmec", "offload", "--model", "partition", *args],
                          capture_output=True, text=True, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("args, parameter", [
    (["--network", "resnet"], "--network"),
    (["--servers", "0"], "--servers"),
    (["--event", "500:server-down:0"], "--event"),
    (["--event", "5:server-down"], "--event"),
    (["--event", "5:server-slow:0;0.5"], "--event"),
    (["--precision", "int4"], "--precision"),
    (["--tasks", "2"], "--tasks"),
    (["--preset", "droo"], "--preset"),
    (["--quantization", "order-preserving"], "--quantization"),
    (["--adaptive-k", "32"], "--adaptive-k"),
    (["--switch-off", "0.5"], "--switch-off"),
    (["--candidates", "n"], "--candidates"),
    (["--learning-rate", "1e9"], "--learning-rate"),
    (["--batch-norm"], "--batch-norm"),
])
def test_cli_bad_input_one_line_exit_2(args, parameter):
    """Through the same click entry point in this process (a Python process per case cost about 1 s each); the
    real process is checked once below."""
    from click.testing import CliRunner

    from wsnmec import cli

    result = CliRunner().invoke(cli.main, ["offload", "--model", "partition", "--frames", "100", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {parameter}:"), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_cli_bad_input_one_line_exit_2_in_a_real_process():
    proc = _cli("--frames", "100", "--network", "resnet")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --network:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_json_keys(tmp_path):
    proc = _cli("--devices", "2", "--servers", "2", "--frames", "120", "--seed", "1", "--memory", "32",
                "--batch", "8", "--event", "60:server-down:0", "--json", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["config"]["seed"] == 1 and result["config"]["events"] == ["60:server-down:0"]
    for name, row in result["policies"].items():
        assert {"normalized_utility", "decision_ms_median", "latency_s_mean", "energy_j_mean",
                "utilization_mean"} <= set(row), name
    assert result["policies"]["optimal"]["normalized_utility"] == 1.0
    assert (tmp_path / "frames.parquet").exists() and (tmp_path / "offload.json").exists()
