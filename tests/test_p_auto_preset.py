"""``--p auto`` (p = k_opt / N of each replica's deployment) and ``--preset`` (named scenario presets)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.clustering.optimal import auto_head_fraction, optimal_cluster_count
from wsnmec.errors import ParameterError
from wsnmec.sim.deployment import deploy
from wsnmec.sim.nearest import sink_distances
from wsnmec.sim.presets import PRESETS
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

SMALL = {"nodes": 40, "rounds": 30, "e0": 0.05}


def deployment_p(scenario: Scenario, replica_seed: int) -> float:
    """k_opt / N recomputed from the replica's deployment (the same first draws as the simulator)."""
    net = deploy(scenario, np.random.default_rng(replica_seed))
    d = sink_distances(net.x, net.y, net.sink[0], net.sink[1])
    side = np.sqrt(scenario.field[0] * scenario.field[1])
    return optimal_cluster_count(net.nodes, side, float(d.mean()), scenario.radio_model()) / net.nodes


@pytest.mark.parametrize("sink", [None, (50.0, 175.0)])
def test_auto_resolves_k_opt_over_n_of_each_deployment(sink):
    scenario = Scenario.from_mapping(SMALL, p="auto", sink=sink, protocol="leach")
    result = simulate(scenario, seed=3, replicas=3)
    resolved = result.config["p_resolved"]
    assert result.config["p"] == "auto" and len(resolved) == 3
    for replica_seed, p in zip(result.config["replica_seeds"], resolved):
        assert p == pytest.approx(deployment_p(scenario, replica_seed), rel=1e-12)
    # the deployments differ, so do their p (not one number for every replica)
    assert len(set(resolved)) == 3


def test_far_sink_resolves_a_smaller_fraction_than_the_centre():
    centre = simulate(Scenario.from_mapping(SMALL, p="auto"), seed=1).config["p_resolved"][0]
    far = simulate(Scenario.from_mapping(SMALL, p="auto", sink=(50, 175)), seed=1).config["p_resolved"][0]
    assert far < centre


@pytest.mark.parametrize("protocol", ["leach", "leach-dchs", "deec", "leach-c", "heed", "ddnn"])
def test_auto_runs_exactly_as_the_resolved_number(protocol):
    """Every policy that reads p uses the resolved value: ``--p auto`` = ``--p <p_resolved>`` bit for bit."""
    auto = simulate(Scenario.from_mapping(SMALL, p="auto", protocol=protocol, sink=(50, 120)), seed=5)
    p = auto.config["p_resolved"][0]
    fixed = simulate(Scenario.from_mapping(SMALL, p=p, protocol=protocol, sink=(50, 120)), seed=5)
    assert fixed.config["p_resolved"] == [p]
    np.testing.assert_array_equal(auto.rounds["alive"], fixed.rounds["alive"])
    np.testing.assert_array_equal(auto.rounds["energy_j"], fixed.rounds["energy_j"])
    assert auto.config["clustering_parameters"].get("p", auto.config["clustering_parameters"].get("c_prob")) \
        == "auto"


def test_auto_fused_and_policy_loops_agree():
    scenario = Scenario.from_mapping(SMALL, p="auto", protocol="leach-dchs", sink=(50, 175))
    fused = simulate(scenario, seed=2, replicas=2, loop="fused")
    policy = simulate(scenario, seed=2, replicas=2, loop="policy")
    assert fused.config["p_resolved"] == policy.config["p_resolved"]
    np.testing.assert_array_equal(fused.rounds["energy_j"], policy.rounds["energy_j"])


def test_auto_head_fraction_is_clipped_to_one_head_at_least_and_every_node_at_most():
    radio = Scenario().radio_model()
    assert auto_head_fraction(10, (100.0, 100.0), [500.0] * 10, radio) == pytest.approx(1 / 10)
    assert auto_head_fraction(10, (100.0, 100.0), [1e-3] * 10, radio) == 1.0


def test_a_number_keeps_its_meaning():
    result = simulate(Scenario.from_mapping(SMALL, p=0.07), seed=1, replicas=2)
    assert result.config["p"] == 0.07 and result.config["p_resolved"] == [0.07, 0.07]


# --- presets -----------------------------------------------------------------------------------------


def test_classic_preset_is_the_v01_defaults_and_explicit_values_override_it():
    classic = Scenario.from_mapping(preset="classic")
    assert classic.p == 0.1 and classic.control_bits == 0 and classic.preset == "classic"
    assert classic.to_config()["preset"] == "classic"
    explicit = Scenario.from_mapping(preset="classic", p="auto", control_bits=64)
    assert explicit.p == "auto" and explicit.control_bits == 64
    for key, value in PRESETS["classic"].items():
        if key in Scenario.keys():
            assert getattr(classic, key) == value


def test_classic_preset_runs_as_its_explicit_values():
    a = simulate(Scenario.from_mapping(SMALL, preset="classic", protocol="deec"), seed=4)
    b = simulate(Scenario.from_mapping(SMALL, p=0.1, control_bits=0, protocol="deec"), seed=4)
    np.testing.assert_array_equal(a.rounds["energy_j"], b.rounds["energy_j"])
    assert a.config["preset"] == "classic" and b.config["preset"] is None


# --- bad input ---------------------------------------------------------------------------------------


def invoke(args):
    return CliRunner().invoke(cli.main, ["run", "--nodes", "10", "--rounds", "2", *args])


@pytest.mark.parametrize("args, option", [
    (["--p", "automatic"], "--p"),
    (["--p", "AUTO!"], "--p"),
    (["--p", ""], "--p"),
    (["--preset", "modern"], "--preset"),
    (["--preset", ""], "--preset"),
])
def test_bad_values_exit_2_with_one_line(args, option):
    result = invoke(args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], result.output
    assert "Traceback" not in result.output
    if option == "--preset":
        assert "classic" in lines[0]


def test_bad_values_in_mappings():
    with pytest.raises(ParameterError, match="--p"):
        Scenario.from_mapping(p=[0.1])
    with pytest.raises(ParameterError, match="--preset"):
        Scenario.from_mapping(preset=3)


def test_cli_records_preset_and_p_resolved():
    result = CliRunner().invoke(cli.main, ["run", "--nodes", "20", "--rounds", "3", "--seed", "1", "--p", "auto",
                                           "--preset", "classic", "--json"])
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)["config"]
    assert config["preset"] == "classic" and config["p"] == "auto" and len(config["p_resolved"]) == 1
