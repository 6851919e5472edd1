"""ddnn-price and ddnn-price-rule: the priced objective, zero prices as the shared objective, reproducibility,
model files and the cross-entropy training loop."""

import numpy as np
import pytest

from wsnmec.clustering.dryrun import CandidateScorer
from wsnmec.clustering.priced import (
    N_PRICE_FEATURES,
    PricedPolicy,
    PricedRulePolicy,
    PricedScorer,
    load_price_weights,
    price_features,
    save_price_weights,
)
from wsnmec.errors import ParameterError
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario
from wsnmec.training.prices import lifetime, relative_lifetime, train_prices, validation_deployments

SMALL = {"nodes": 40, "field": (100, 100), "sink": (50, 150), "e0": 0.05}


def _loop(protocol, seed=3, weights=None, **more):
    scenario = Scenario.from_mapping({**SMALL, "protocol": protocol, **more})
    cls = PricedRulePolicy if protocol == "ddnn-price-rule" else PricedPolicy
    policy = cls(scenario, weights=weights) if weights is not None else cls(scenario)
    return RoundLoop(scenario, seed, clustering=policy), policy


def test_priced_objective_with_inverse_energy_prices_is_the_shared_objective():
    loop, policy = _loop("ddnn-price-rule")
    for _ in range(5):
        loop.step()
    state = loop.state
    rng = np.random.default_rng(0)
    masks = (rng.random((6, state.n)) < 0.1).astype(np.uint8)
    masks[:, ~state.alive] = 0
    plain = CandidateScorer(state)(state, masks)[0]
    priced = PricedScorer(state)
    priced.prices = np.where(state.alive, 1.0 / np.maximum(state.energy, 1e-300), 0.0)
    assert np.allclose(priced(state, masks)[0], plain, rtol=1e-12, atol=0.0)


def test_zero_weights_give_inverse_energy_prices_and_the_rule_twin():
    loop, policy = _loop("ddnn-price", weights=np.zeros(N_PRICE_FEATURES + 1))
    loop.step()
    state = loop.state
    expected = np.where(state.alive, 1.0 / state.energy, 0.0)
    assert np.allclose(policy.prices(state), expected)
    fresh, _ = _loop("ddnn-price", weights=np.zeros(N_PRICE_FEATURES + 1))
    twin, _ = _loop("ddnn-price-rule")
    assert [fresh.step() for _ in range(30)] == [twin.step() for _ in range(30)]
    assert np.array_equal(fresh.state.energy, twin.state.energy)


def test_prices_follow_the_weights():
    weights = np.zeros(N_PRICE_FEATURES + 1)
    weights[2] = 1.0  # price rises with the distance to the sink over d0
    loop, policy = _loop("ddnn-price", weights=weights)
    loop.step()
    state = loop.state
    rows, alive = price_features(state, policy.density, policy.harvest_avg, policy.consumption_avg,
                                 policy.radio.d0)
    p = policy.prices(state)
    assert np.allclose(p[alive], np.exp(rows[:, 2]) / state.energy[alive])
    assert np.all(p[~state.alive] == 0.0)


def test_seeded_run_identical_twice():
    """(energy balance: every registered policy in tests/test_control_messages.py)"""
    weights = np.linspace(-0.5, 0.5, N_PRICE_FEATURES + 1)
    runs = []
    for _ in range(2):
        loop, _ = _loop("ddnn-price", seed=9, weights=weights)
        alive = [loop.step() for _ in range(60)]
        runs.append((alive, loop.state.energy.copy()))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])


def test_saved_model_gives_identical_decisions(tmp_path):
    weights = np.array([0.3, -0.2, 0.5, 0.1, 0.0, -0.1, 0.0, 0.2, -0.4])
    path = save_price_weights(tmp_path / "m.npz", weights, {"note": "test"})
    assert np.array_equal(load_price_weights(path), weights)
    given, _ = _loop("ddnn-price", seed=4, weights=weights)
    loaded, policy = _loop("ddnn-price", seed=4, policy_model=str(path))
    assert [given.step() for _ in range(40)] == [loaded.step() for _ in range(40)]
    assert np.array_equal(given.state.energy, loaded.state.energy)
    assert policy.describe()["model"] == str(path)


def test_a_model_of_another_shape_is_refused_in_one_line(tmp_path):
    with pytest.raises(ParameterError, match="--policy-model"):
        save_path = save_price_weights(tmp_path / "m.npz", np.zeros(N_PRICE_FEATURES + 1), {})
        from wsnmec.learn import StackedMLP, save_model

        save_model(save_path, StackedMLP(3, (), 1, rng=np.random.default_rng(0)), {})
        load_price_weights(save_path)


def test_cross_entropy_training_scores_the_mean_and_never_returns_worse_than_zero_weights():
    scenarios = [({**SMALL, "e0": 0.02}, 5)]
    out = train_prices(scenarios, seed=1, generations=2, population=3, elite=2, rounds=400,
                       validation=validation_deployments(scenarios))
    assert len(out["weights"]) == N_PRICE_FEATURES + 1
    assert out["fitness"] >= 1.0  # the zero weights score exactly 1 and are the first sample
    assert out["history"][0]["mean_fitness"] == 1.0
    assert out["history"][0]["validation_fitness"] == 1.0  # generation 1's mean is the zero weights
    f0, h0 = out["reference"][0]
    assert (f0, h0) == lifetime(scenarios[0][0], 5, np.zeros(N_PRICE_FEATURES + 1), 400)
    assert [r["generation"] for r in out["history"]] == [1, 2]
    again = relative_lifetime(scenarios, np.asarray(out["weights"]), out["reference"], 400)
    assert again == out["fitness"]



def test_min_fitness_counts_a_scenario_by_its_smaller_ratio():
    from wsnmec.training.prices import _relative

    runs, reference = [(120, 90), (100, 100)], [(100, 100), (100, 80)]
    assert _relative(runs, reference, "min") == pytest.approx((0.9 + 1.0) / 2)
    assert _relative(runs, reference) == pytest.approx(((1.2 + 0.9) / 2 + (1.0 + 1.25) / 2) / 2)
    with pytest.raises(ParameterError, match="fitness"):
        train_prices([({**SMALL, "e0": 0.02}, 5)], seed=1, generations=1, population=2, fitness="median")


class _GatedPolicy(PricedPolicy):
    """A price network with one more input: 1 once a node has died (module level: worker processes import it)."""

    features = (*PricedPolicy.features, "after_first_death")

    def price_inputs(self, state):
        rows, alive = super().price_inputs(state)
        return np.column_stack([rows, np.full(rows.shape[0], float(alive.shape[0] < state.n))]), alive


def test_training_another_price_network_sizes_its_weights_by_its_features():
    scenarios = [({**SMALL, "e0": 0.02}, 5)]
    out = train_prices(scenarios, seed=1, generations=1, population=3, elite=2, rounds=300, fitness="min",
                       policy=_GatedPolicy)
    assert len(out["weights"]) == len(_GatedPolicy.features) + 1 == N_PRICE_FEATURES + 2
    assert out["history"][0]["mean_fitness"] == 1.0  # zero weights: the same run as the reference
    w = np.asarray(out["weights"])
    assert out["fitness"] == relative_lifetime(scenarios, w, out["reference"], 300, fitness="min",
                                               policy=_GatedPolicy)
    # zero weights give the prices 1 / e_i whatever the inputs: the same lifetimes as ddnn-price's
    zero = np.zeros(N_PRICE_FEATURES + 2)
    assert lifetime(SMALL, 4, zero, 300, _GatedPolicy) == lifetime(SMALL, 4, zero[:-1], 300)


def test_train_command_writes_a_loadable_model_and_its_curves(tmp_path):
    from click.testing import CliRunner

    from wsnmec.cli import main
    from wsnmec.learn import load_model

    out = tmp_path / "price.npz"
    result = CliRunner().invoke(main, ["train", "--protocol", "ddnn-price", "--seed", "3", "--generations", "1",
                                       "--population", "2", "--rounds", "30", "--out", str(out),
                                       "--no-validation-bound"])
    assert result.exit_code == 0, result.output
    assert "generation 1:" in result.output
    weights = load_price_weights(out)
    assert weights.shape == (N_PRICE_FEATURES + 1,)
    meta = load_model(out).metadata
    assert meta["command"].startswith("wsnmec train --protocol ddnn-price --seed 3 --generations 1 --population 2")
    assert "--rounds 30" in meta["command"]
    curves = (tmp_path / "price.npz.training.csv").read_text().splitlines()
    assert curves[0].startswith("generation,") and len(curves) == 2
    assert "validation_fitness" in curves[0]



def test_training_reports_the_fraction_of_the_limit_on_the_validation_deployments():
    from wsnmec.training.prices import validation_bounds

    scenarios = [({**SMALL, "e0": 0.02}, 5)]
    validation = validation_deployments(scenarios)
    bounds = validation_bounds(validation, time_limit=60.0)
    out = train_prices(scenarios, seed=1, generations=2, population=3, elite=2, rounds=400,
                       validation=validation, bounds=bounds)
    (fnd0, _), = out["validation_reference"]
    assert fnd0 <= bounds[0]  # the bound's theorem: no policy's FND passes it
    assert out["validation_fnd_over_bound_reference"] == fnd0 / bounds[0]
    first = out["history"][0]  # generation 1's mean is the zero weights: the reference's fraction
    assert first["validation_fnd_over_bound"] == out["validation_fnd_over_bound_reference"]
    (fnd, _), = [lifetime(validation[0][0], validation[0][1], np.asarray(out["weights"]), 400)]
    assert out["validation_fnd_over_bound"] == fnd / bounds[0] <= 1.0
    assert out["validation_bounds"] == bounds


def test_train_command_writes_the_fraction_of_the_limit_beside_the_model(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import wsnmec.training.prices as prices
    from wsnmec.cli import main

    monkeypatch.setattr(prices, "validation_bounds", lambda validation: [10_000] * len(validation))
    out = tmp_path / "price.npz"
    result = CliRunner().invoke(main, ["train", "--protocol", "ddnn-price", "--seed", "3", "--generations", "1",
                                       "--population", "2", "--rounds", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fraction of the limit" in result.output
    import pandas as pd

    curves = pd.read_csv(tmp_path / "price.npz.training.csv")
    assert list(curves.columns) == ["generation", "mean_fitness", "best_fitness", "median_fitness",
                                    "validation_fitness", "validation_fnd_over_bound", "validation_latency_ratio"]
    assert 0.0 < curves["validation_fnd_over_bound"].iloc[0] <= 30 / 10_000  # FND <= 30 rounds here
    assert curves["validation_latency_ratio"].iloc[0] == 1.0  # generation 1's mean is the zero weights
    assert "round latency up to FND" in result.output


def test_training_reports_what_the_lifetimes_cost_in_latency():
    """The validation curve's latency ratio: the mean round latency up to FND of the weights over that of the
    prices 1 / e_i, each the mean of the simulator's per-round latency column over rounds 1..FND."""
    from wsnmec.sim.simulation import simulate

    scenarios = [({**SMALL, "e0": 0.02}, 5)]
    validation = validation_deployments(scenarios)
    out = train_prices(scenarios, seed=1, generations=2, population=3, elite=2, rounds=400, validation=validation)
    (values, seed), = validation
    weights, zero = np.asarray(out["weights"]), np.zeros(len(out["weights"]))
    fnd, hnd, latency = lifetime(values, seed, weights, 400, latency=True)
    fnd0, hnd0, latency0 = lifetime(values, seed, zero, 400, latency=True)
    assert (fnd, hnd) == lifetime(values, seed, weights, 400)
    assert out["history"][0]["validation_latency_ratio"] == 1.0
    assert out["validation_latency_ratio"] == latency / latency0
    rounds = simulate(Scenario.from_mapping({**values, "protocol": "ddnn-price-rule", "rounds": fnd0}), seed=seed).rounds
    assert latency0 == pytest.approx(rounds["latency_s"].to_numpy()[:fnd0].mean(), rel=1e-12)

@pytest.mark.parametrize("option,value", [("--population", "1"), ("--generations", "0")])
def test_train_bad_search_sizes_are_one_line_errors(tmp_path, option, value):
    from click.testing import CliRunner

    from wsnmec.cli import main

    result = CliRunner().invoke(main, ["train", "--protocol", "ddnn-price", option, value, "--out",
                                       str(tmp_path / "m.npz")])
    assert result.exit_code == 2
    assert option in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "m.npz").exists()


def test_training_in_worker_processes_gives_the_same_result():
    scenarios = [({**SMALL, "e0": 0.02}, 5), ({**SMALL, "e0": 0.02, "sink": (50, 50)}, 6)]
    kwargs = dict(seed=2, generations=1, population=3, elite=2, rounds=300)
    assert train_prices(scenarios, jobs=2, **kwargs) == train_prices(scenarios, **kwargs)


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_training_workers_exit_when_the_training_process_is_killed(tmp_path):
    """``wsnmec train --protocol ddnn-price --jobs 2`` killed with SIGTERM leaves no worker behind (the workers
    watch their parent, as the study runner's do)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from processes import descendants, running

    script = tmp_path / "train.py"
    script.write_text(
        "from wsnmec.training.prices import train_prices\n"
        "def report(_):\n"
        "    print('sample', flush=True)\n"
        "if __name__ == '__main__':\n"
        f"    train_prices([({SMALL!r}, 5)] * 4, seed=1, generations=50, population=4, elite=2, rounds=100000, "
        "jobs=2, progress=report)\n")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                               cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert process.stdout.readline().strip() == "sample"  # the workers are running
        workers = descendants(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert len(workers) >= 2  # the forkserver and its workers
    deadline = time.monotonic() + 10
    while running(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running(workers) == []
