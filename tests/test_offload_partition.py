"""Partition model (issue 10): profiles, kernels against the pure-Python reference, exact vs brute force,
baselines, and the load-balancing optimum against the Lagrange closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

import naive_partition as naive
from wsnmec.errors import ParameterError
from wsnmec.offload import partition as P


# ------------------------------------------------------------------ profiles
@pytest.mark.parametrize("name, published, rel", [("alexnet", 0.71e9, 0.02), ("vgg16", 15.5e9, 0.01),
                                                   ("mobilenetv2", 0.30e9, 0.02)])
def test_profile_totals_match_published(name, published, rel):
    prof = P.load_profile(name)
    assert prof.total_macs == pytest.approx(published, rel=rel)
    assert sum(r["macs"] for r in naive.read_profile(name)) == prof.total_macs


def test_profile_layers_by_hand():
    alex = {r["name"]: r for r in naive.read_profile("alexnet")}
    # conv1: 64 filters 11x11x3, stride 4, pad 2 on 224 -> (224 + 4 - 11) // 4 + 1 = 55
    assert alex["conv1"]["output_elements"] == 64 * 55 * 55
    assert alex["conv1"]["macs"] == 55 * 55 * 64 * 11 * 11 * 3
    assert alex["pool5"]["output_elements"] == 256 * 6 * 6 == 9216
    assert alex["fc6"]["macs"] == 9216 * 4096
    vgg = {r["name"]: r for r in naive.read_profile("vgg16")}
    assert vgg["conv1_2"]["macs"] == 224 * 224 * 64 * 3 * 3 * 64  # 1.85 G, the largest layer
    assert vgg["pool5"]["output_elements"] == 512 * 7 * 7
    mob = {r["name"]: r for r in naive.read_profile("mobilenetv2")}
    assert mob["conv0"]["macs"] == 112 * 112 * 32 * 27
    # block2_1: 16 -> expand x6 (96) 1x1 at 112^2, depthwise 3x3 stride 2 -> 56^2, project to 24
    assert mob["block2_1"]["macs"] == 112 * 112 * 16 * 96 + 56 * 56 * 96 * 9 + 56 * 56 * 96 * 24
    assert mob["fc"]["macs"] == 1280 * 1000
    assert mob["input"]["output_elements"] == 3 * 224 * 224


def test_profile_script_reproduces_the_csv(tmp_path):
    from wsnmec.offload.profiles import build

    for name in build.NETWORKS:
        path = build.write_csv(name, tmp_path)
        assert path.read_text() == (P.PROFILE_DIR / f"{name}.csv").read_text()


def test_unknown_network():
    with pytest.raises(ParameterError, match="valid networks: alexnet, vgg16, mobilenetv2"):
        P.load_profile("resnet")


# ------------------------------------------------------------------ kernels vs reference
MODELS = [
    pytest.param(lambda: P.partition_model(3, 2, "alexnet", "int8"), id="alexnet-3x2-int8"),
    pytest.param(lambda: P.partition_model(2, 3, "vgg16", "fp32"), id="vgg16-2x3-fp32"),
    pytest.param(lambda: P.partition_model(3, 2, "mobilenetv2", "learned", accuracy_weight=0.002), id="mnv2-learned"),
    pytest.param(lambda: P.partition_model(2, 2, "alexnet", "learned", device="mcu", frame_period=0.02), id="mcu-tight"),
    pytest.param(lambda: P.partition_model(3, 2, "alexnet", "int8", queueing="mm1"), id="alexnet-3x2-mm1"),
    pytest.param(lambda: P.partition_model(4, 2, "vgg16", "fp16", queueing="mm1", frame_period=0.5), id="vgg16-mm1"),
]


def _states_with_events(model, rng, count):
    states = model.random_states(rng, count)
    D, S = model.devices, model.servers
    states[::3, D * S + S] = 0.0  # server 0 down every third frame
    states[1::3, D * S + S + S - 1] = 0.3  # last server slowed
    states[2::3, : D * S] *= 0.05  # bandwidth drop
    return states


@pytest.mark.parametrize("make", MODELS)
def test_score_and_breakdown_match_reference(make):
    model = make()
    rng = np.random.default_rng(3)
    states = _states_with_events(model, rng, 9)
    dec = rng.integers(0, model.n_options, size=(9, 4, model.devices))
    got = model.score(states, dec)
    loss = P.ACCURACY_LOSS[model.network]
    want = [[naive.evaluate(model, states[s], dec[s, c], loss)[0] for c in range(4)] for s in range(9)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    br = model.breakdown(states, dec[:, 0])
    for s in range(9):
        q, lat, en, util = naive.evaluate(model, states[s], dec[s, 0], loss)
        assert br["latency_s"][s] == pytest.approx(np.mean(lat), rel=1e-12)
        assert br["energy_j"][s] == pytest.approx(np.mean(en), rel=1e-12)
        np.testing.assert_allclose(br["utilization"][s], util, rtol=1e-12)
        assert br["cost"][s] == pytest.approx(q, rel=1e-12)


@settings(max_examples=examples(25), deadline=None)
@given(devices=st.integers(1, 3), servers=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       network=st.sampled_from(P.NETWORK_NAMES), precision=st.sampled_from(P.PRECISIONS),
       frame_period=st.floats(0.005, 1.0), time_weight=st.floats(0.0, 10.0), energy_weight=st.floats(0.0, 10.0),
       queueing=st.sampled_from(P.QUEUEING_MODELS))
def test_score_matches_reference_hypothesis(devices, servers, seed, network, precision, frame_period, time_weight,
                                            energy_weight, queueing):
    model = P.partition_model(devices, servers, network, precision, layout_seed=seed, frame_period=frame_period,
                              time_weight=time_weight, energy_weight=energy_weight, queueing=queueing)
    rng = np.random.default_rng(seed)
    states = _states_with_events(model, rng, 3)
    dec = rng.integers(0, model.n_options, size=(3, 3, devices))
    got = model.score(states, dec)
    want = [[naive.evaluate(model, states[s], dec[s, c], P.ACCURACY_LOSS[network])[0] for c in range(3)]
            for s in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)


def test_accuracy_floor_removes_options():
    strict = P.partition_model(2, 2, "mobilenetv2", "int8")  # int8 loses 2.1 pp > 1 pp: only the input cut
    assert list(strict.cut_layers) == [0]
    loose = P.partition_model(2, 2, "mobilenetv2", "int8", accuracy_floor=5.0)
    assert len(loose.cut_layers) > 1


# ------------------------------------------------------------------ exact vs brute force
@pytest.mark.parametrize("make", [
    pytest.param(lambda: P.partition_model(2, 2, "alexnet", "int8"), id="alexnet-2x2"),
    pytest.param(lambda: P.partition_model(3, 2, "alexnet", "fp16", frame_period=0.03), id="alexnet-3x2-loaded"),
    pytest.param(lambda: P.partition_model(2, 3, "mobilenetv2", "learned", accuracy_floor=3.0), id="mnv2-2x3"),
    pytest.param(lambda: P.partition_model(3, 1, "vgg16", "int8", device="mcu"), id="vgg-3x1-mcu"),
    pytest.param(lambda: P.partition_model(3, 2, "alexnet", "fp16", frame_period=0.03, queueing="mm1"),
                 id="alexnet-3x2-mm1"),
])
def test_exact_equals_brute_force(make):
    model = make()
    rng = np.random.default_rng(11)
    states = _states_with_events(model, rng, 4)
    dec, util = P.exact(model, states)
    np.testing.assert_allclose(model.score(states, dec), util, rtol=0, atol=0)
    for s in range(states.shape[0]):
        best, arg = naive.brute_force(model, states[s], P.ACCURACY_LOSS[model.network])
        assert util[s] == pytest.approx(best, rel=1e-12)
        assert tuple(dec[s]) in arg or util[s] <= best


def test_exact_limit_is_a_parameter_error():
    with pytest.raises(ParameterError, match="exact enumeration"):
        P.exact(P.partition_model(20, 4), P.partition_model(20, 4).random_states(np.random.default_rng(0), 1))


def test_heuristics_never_beat_exact_and_cd_is_a_fixed_point():
    model = P.partition_model(4, 3, "alexnet", "int8")
    rng = np.random.default_rng(5)
    states = _states_with_events(model, rng, 30)
    _, best = P.exact(model, states)
    for name, fn in P.PARTITION_BASELINES.items():
        dec, util = fn(model, states, rng) if name == "random" else fn(model, states)
        np.testing.assert_allclose(util, model.score(states, dec), rtol=0)
        assert np.all(util >= best * (1 - 1e-12)), name
    dec, util = P.coordinate_descent(model, states)
    for s in range(states.shape[0]):  # no single device can improve
        for i in range(model.devices):
            trial = np.repeat(dec[s][None], model.n_options, axis=0)
            trial[:, i] = np.arange(model.n_options)
            assert model.score(states[s:s + 1], trial[None]).min() >= util[s] * (1 - 1e-12)


def test_baseline_rules():
    model = P.partition_model(4, 3, "alexnet", "int8")
    states = model.random_states(np.random.default_rng(2), 5)
    dec, _ = P.all_to_nearest(model, states)
    near = model.nearest_server()
    assert all(model.option_label(o) == f"0->s{near[i]}" for row in dec for i, o in enumerate(row))
    assert np.all(P.all_local(model, states)[0] == 0)
    # a server that is down gets no device from JSQ / capacity-proportional
    D, S = model.devices, model.servers
    states[:, D * S + S] = 0.0
    for fn in (P.jsq_neurosurgeon, P.capacity_proportional):
        dec, _ = fn(model, states)
        assert not np.any(model.opt_server[dec] == 0)


# ------------------------------------------------------------------ load balancing: Lagrange closed form
def _closed_form(mu, lam):
    """lambda_j = mu_j - sqrt(mu_j) (sum_A mu - Lambda) / sum_A sqrt(mu) over the active set A."""
    mu = np.asarray(mu, dtype=float)
    active = np.argsort(-mu)
    for size in range(len(mu), 0, -1):
        A = active[:size]
        out = np.zeros_like(mu)
        out[A] = mu[A] - np.sqrt(mu[A]) * (mu[A].sum() - lam) / np.sqrt(mu[A]).sum()
        if np.all(out[A] > 0):
            return out
    raise AssertionError


@pytest.mark.parametrize("mu, lam", [([10.0, 5.0, 2.0], 6.0), ([10.0, 5.0, 2.0], 1.0), ([3.0, 3.0], 5.5),
                                     ([100.0, 1.0, 50.0, 7.0], 120.0)])
def test_static_split_equals_lagrange_closed_form(mu, lam):
    got = P.static_split(mu, lam)
    want = _closed_form(mu, lam)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * sum(mu))
    assert got.sum() == pytest.approx(lam, rel=1e-12)
    # and no feasible perturbation improves it
    rng = np.random.default_rng(0)
    base = P.mm1_total_delay(mu, got)
    for _ in range(200):
        d = rng.normal(size=len(mu)) * 1e-3 * lam
        d -= d.mean()
        trial = got + d
        if np.all(trial >= 0) and np.all(trial < mu):
            assert P.mm1_total_delay(mu, trial) >= base - 1e-12


def test_model_server_delay_is_mm1_number_in_system():
    """W_j / (C_j (1 - rho_j)) equals T_f lambda / (mu - lambda), the quantity static_split minimises."""
    model = P.partition_model(1, 1, "alexnet", "fp32", frame_period=0.1, queueing="mm1")
    state = model.random_states(np.random.default_rng(0), 1)
    state[0, 1] = 0.2  # background
    dec = np.array([[1]])  # input cut on server 0: remote work = all MACs
    q = model.score(state, dec)[0]
    cfg = model.config
    t_tx = 150528 * 8 / state[0, 0]
    W = cfg["total_macs"]
    mu, lam = cfg["capacities"][0] * (1 - 0.2), W / 0.1
    want = t_tx + 0.1 * lam / (mu - lam) + cfg["tx_power"] * t_tx
    assert q == pytest.approx(want, rel=1e-12)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="--servers"):
        P.partition_model(2, 0)
    with pytest.raises(ParameterError, match="--precision"):
        P.partition_model(2, 2, precision="bf16")
    with pytest.raises(ParameterError, match="--param nope"):
        P.partition_model(2, 2, nope=1)


# ------------------------------------------------------------------ batch processor sharing (issue 16 item 7)
def test_four_equal_simultaneous_jobs_finish_at_4x_over_c():
    x, cap = 3.0e8, 5.0e10
    np.testing.assert_allclose(P.batch_ps_completion_times([x] * 4, cap), [4 * x / cap] * 4, rtol=1e-15)
    np.testing.assert_allclose(naive.batch_ps_completions([x] * 4, cap), [4 * x / cap] * 4, rtol=1e-15)
    # one job alone runs at the full capacity; two unequal: the small one at 2 w1 / C, the big one at (w1 + w2) / C
    np.testing.assert_allclose(P.batch_ps_completion_times([1.0, 3.0], 2.0), [1.0, 2.0])


def test_four_equal_devices_on_one_server_in_the_model():
    """Through the model: 4 devices, the same cut on one server, equal rates, background beta: each device's
    server time is 4 x / (C (1 - beta)) under batch-ps; the M/M/1 mean is far below it."""
    model = P.partition_model(4, 1, "alexnet", "int8")
    mm1 = P.partition_model(4, 1, "alexnet", "int8", queueing="mm1")
    state = model.random_states(np.random.default_rng(0), 1)
    state[0, :4] = 5e7  # equal rates
    state[0, 4] = 0.25  # background
    k = 2
    dec = np.full((1, 4), 1 + k)  # cut k on server 0 (S = 1)
    x = model.cut_remote_macs[k]
    cap = model.config["capacities"][0]
    device_part = model.cut_local_macs[k] / model.config["device_rate"] + model.cut_bits[k, 0] / 5e7
    got = model.breakdown(state, dec)["latency_s"][0] - device_part
    assert got == pytest.approx(4 * x / (cap * 0.75), rel=1e-12)
    steady = mm1.breakdown(state, dec)["latency_s"][0] - device_part
    rho = 0.25 + 4 * x / (cap * mm1.config["frame_period"])
    assert steady == pytest.approx(x / (cap * (1 - rho)), rel=1e-12) and steady < got


@settings(max_examples=examples(50), deadline=None)
@given(works=st.lists(st.floats(1.0, 1e10), min_size=1, max_size=12), cap=st.floats(1e6, 1e12))
def test_batch_ps_kernels_match_the_recursion(works, cap):
    want = naive.batch_ps_completions(works, cap)
    np.testing.assert_allclose(P.batch_ps_completion_times(works, cap), want, rtol=1e-12)
    buf = np.array(works, dtype=float)
    assert P.batch_ps_total(buf, len(works), cap) == pytest.approx(sum(want), rel=1e-12)
    assert list(buf) == sorted(works)  # sorted in place
    assert max(want) == pytest.approx(sum(works) / cap, rel=1e-12)  # the last finishes when all work is done


def test_queueing_option_and_accuracy_loss_source():
    with pytest.raises(ParameterError, match="--queueing"):
        P.partition_model(2, 2, queueing="mm2")
    assert P.partition_model(2, 2).config["queueing"] == P.DEFAULT_QUEUEING == "batch-ps"
    for network in P.NETWORK_NAMES:
        for precision in P.PRECISIONS:
            cfg = P.partition_model(2, 2, network, precision, accuracy_floor=5.0).config
            names = list(P.PRECISION_BITS) if precision == "learned" else [precision]
            assert set(cfg["accuracy_loss_source"]) == set(names) == set(cfg["accuracy_loss"])
            for p in names:
                source = cfg["accuracy_loss_source"][p]
                assert source.startswith("exact") if p == "fp32" else source.startswith("assumption")
                assert cfg["accuracy_loss"][p] == P.ACCURACY_LOSS[network][p]
