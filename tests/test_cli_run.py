"""Tests of the ``wsnmec run`` command (click's CliRunner) and of :mod:`wsnmec.sim.report`.

Scenarios are tiny (20 nodes, tens of rounds) except one run of the default classic scenario.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli, console
from wsnmec.sim.metrics import lifetime_rounds

TINY = ["--nodes", "20", "--rounds", "50"]
# Small enough that nodes die within a few hundred rounds, so alive lists and FND/HND/LND carry information.
DYING = ["--nodes", "20", "--e0", "0.02", "--rounds", "400"]


def invoke(args, **kwargs):
    return CliRunner().invoke(cli.main, ["run", *args], **kwargs)


def run_json(args) -> dict:
    result = invoke([*args, "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


# --- bad input -----------------------------------------------------------------------------------


def write_csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_OPTIONS = {
    # N < 1 (and not an integer)
    "nodes zero": (["--nodes", "0"], "--nodes"),
    "nodes negative": (["--nodes", "-5"], "--nodes"),
    "nodes fraction": (["--nodes", "2.5"], "--nodes"),
    "nodes text": (["--nodes", "many"], "--nodes"),
    # p outside (0, 1]
    "p zero": (["--p", "0"], "--p"),
    "p above one": (["--p", "1.5"], "--p"),
    "p negative": (["--p", "-0.1"], "--p"),
    "p nan": (["--p", "nan"], "--p"),
    # negative or non-finite energies
    "e0 negative": (["--e0", "-0.5"], "--e0"),
    "e0 zero": (["--e0", "0"], "--e0"),
    "e0 nan": (["--e0", "nan"], "--e0"),
    "e0 inf": (["--e0", "inf"], "--e0"),
    "battery negative": (["--battery", "-1"], "--battery"),
    # radio constant overrides: negative or non-finite energies, a crossover distance <= 0
    "e-elec negative": (["--e-elec", "-5e-8"], "--e-elec"),
    "eps-fs inf": (["--eps-fs", "inf"], "--eps-fs"),
    "eps-mp text": (["--eps-mp", "small"], "--eps-mp"),
    "e-da nan": (["--e-da", "nan"], "--e-da"),
    "d0 zero": (["--d0", "0"], "--d0"),
    "battery inf": (["--battery", "inf"], "--battery"),
    "harvest negative energy": (["--harvest", "constant:-0.001"], "--harvest"),
    "revive threshold negative": (["--revive-threshold", "-1"], "--revive-threshold"),
    "advanced fraction above one": (["--advanced-fraction", "1.5"], "--advanced-fraction"),
    "advanced factor negative": (["--advanced-factor", "-1"], "--advanced-factor"),
    # p below 1e-9 (the LEACH epoch round(1/p) would overflow the kernel's integers)
    "p tiny": (["--p", "1e-300"], "--p"),
    "p below 1e-9": (["--p", "9.99e-10"], "--p"),
    "p inf": (["--p", "inf"], "--p"),
    # too large: nodes above 1e8, replicas above 1e5
    "nodes above cap": (["--nodes", "100000000001"], "--nodes"),
    "nodes just above cap": (["--nodes", "100000001"], "--nodes"),
    "replicas above cap": (["--replicas", "100001"], "--replicas"),
    # the battery must hold every node's initial energy; the revive threshold must be reachable
    "battery below e0": (["--battery", "0.4"], "--battery"),
    "battery below advanced energy": (["--battery", "0.6", "--advanced-fraction", "0.1", "--advanced-factor", "1"],
                                      "--battery"),
    "revive above battery": (["--battery", "1", "--revive-threshold", "1.5", "--harvest", "constant:0.1"],
                             "--revive-threshold"),
    "revive above e0": (["--revive-threshold", "0.6", "--harvest", "constant:0.1"], "--revive-threshold"),
    # negative coordinates, non-finite coordinates, malformed sink
    "sink negative x": (["--sink", "-30,40"], "--sink"),
    "sink negative y": (["--sink", "50,-1e-9"], "--sink"),
    "sink nan": (["--sink", "nan,50"], "--sink"),
    "sink inf": (["--sink", "50,inf"], "--sink"),
    "sink one value": (["--sink", "50"], "--sink"),
    "sink three values": (["--sink", "1,2,3"], "--sink"),
    "sink text": (["--sink", "north,east"], "--sink"),
    "sink empty": (["--sink", ""], "--sink"),
    # field <= 0 or non-finite
    "field zero": (["--field", "0"], "--field"),
    "field negative height": (["--field", "100,-10"], "--field"),
    "field nan": (["--field", "100,nan"], "--field"),
    "field inf": (["--field", "inf"], "--field"),
    "field text": (["--field", "big"], "--field"),
    # malformed harvest spec
    "harvest unknown kind": (["--harvest", "wind:1"], "--harvest"),
    "harvest missing value": (["--harvest", "constant"], "--harvest"),
    "harvest too few values": (["--harvest", "bernoulli:0.001"], "--harvest"),
    "harvest too many values": (["--harvest", "solar:0.001,100,3"], "--harvest"),
    "harvest probability above one": (["--harvest", "bernoulli:0.001,1.5"], "--harvest"),
    "harvest markov malformed": (["--harvest", "markov:0.001,0,0.1"], "--harvest"),
    "harvest non-numeric": (["--harvest", "constant:lots"], "--harvest"),
    "harvest zero period": (["--harvest", "solar:0.001,0"], "--harvest"),
    # unknown protocol, semantics, radio preset
    "protocol unknown": (["--protocol", "pegasis"], "--protocol"),
    # options of computation and offloading in the round
    "offload unknown": (["--offload", "cloud"], "--offload"),
    "offload edge under matlab": (["--offload", "edge", "--semantics", "matlab"], "--offload"),
    "workload unknown": (["--workload", "mining"], "--workload"),
    "hardware unknown": (["--hardware", "raspberry"], "--hardware"),
    "time weight negative": (["--time-weight", "-1"], "--time-weight"),
    "time weight text": (["--time-weight", "fast"], "--time-weight"),
    "join unknown": (["--join", "random"], "--join"),
    "control bits negative": (["--control-bits", "-8"], "--control-bits"),
    "control bits fraction": (["--control-bits", "1.5"], "--control-bits"),
    "idle negative": (["--idle-j", "-1e-6"], "--idle-j"),
    "idle nan": (["--idle-j", "nan"], "--idle-j"),
    "e0 range reversed": (["--e0", "0.5..0.1"], "--e0"),
    "e0 range zero": (["--e0", "0..0.1"], "--e0"),
    "e0 range text": (["--e0", "a..b"], "--e0"),
    "round seconds zero": (["--round-seconds", "0", "--harvest", "constant-w:0.001"], "--round-seconds"),
    "round seconds missing": (["--harvest", "solar-w:0.001,86400"], "--round-seconds"),
    "harvest power negative": (["--harvest", "constant-w:-1", "--round-seconds", "10"], "--harvest"),
    "semantics unknown": (["--semantics", "octave"], "--semantics"),
    "radio unknown": (["--radio", "heinzelman1999"], "--radio"),
    # rounds or replicas < 1
    "rounds zero": (["--rounds", "0"], "--rounds"),
    "rounds negative": (["--rounds", "-3"], "--rounds"),
    "rounds text": (["--rounds", "forever"], "--rounds"),
    "replicas zero": (["--replicas", "0"], "--replicas"),
    "replicas fraction": (["--replicas", "1.5"], "--replicas"),
    "packet bits zero": (["--packet-bits", "0"], "--packet-bits"),
    "workers zero": (["--workers", "0"], "--workers"),
    # seeds: non-negative integers below 2**63
    "seed negative": (["--seed", "-1"], "--seed"),
    "seed fraction": (["--seed", "1.5"], "--seed"),
    "seed text": (["--seed", "lucky"], "--seed"),
    "seed too large": (["--seed", str(2**63)], "--seed"),
}


def assert_one_line_error(result, option: str):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert option in lines[0]
    assert lines[0].startswith("Error:")
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("args, option", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_option_is_one_line_exit_2(args, option):
    result = invoke([*TINY, *args])
    assert_one_line_error(result, option)


@pytest.mark.parametrize("as_json", [False, True])
def test_bad_option_with_json_still_prints_no_json(as_json):
    result = invoke([*TINY, "--nodes", "0", *(["--json"] if as_json else [])])
    assert_one_line_error(result, "--nodes")


def test_error_message_says_what_is_allowed():
    result = invoke(["--protocol", "pegasis"])
    assert_one_line_error(result, "--protocol")
    for name in ("direct", "leach", "ileach"):
        assert name in result.stderr
    result = invoke(["--radio", "nope"])
    assert "heinzelman2002" in result.stderr and "heinzelman2000" in result.stderr
    result = invoke(["--p", "2"])
    assert "[1e-09, 1]" in result.stderr


BAD_CSVS = {
    "wrong columns": "a,b\n1,2\n3,4\n",
    "only x": "x\n1\n2\n",
    "non-numeric": "x,y\n1,2\nthree,4\n",
    "negative energy": "x,y,energy\n1,2,0.5\n3,4,-0.1\n",
    "non-finite coordinate": "x,y\n1,2\ninf,4\n",
    "missing value": "x,y\n1,2\n3,\n",
    "header only": "x,y\n",
    "empty file": "",
    "binary garbage": "\x00\x01\x02\x03",
    "negative x": "x,y\n1,2\n-3,4\n",
    "negative y": "x,y,energy\n1,-2,0.5\n",
    "ragged row": "x,y\n1,2,3\n4,5\n",
    "short row": "x,y\n1,2\n4\n",
    "nan": "x,y\n1,nan\n",
    "negative infinity energy": "x,y,energy\n1,2,-inf\n",
}


@pytest.mark.parametrize("text", BAD_CSVS.values(), ids=BAD_CSVS.keys())
def test_malformed_positions_csv(tmp_path, text):
    path = write_csv(tmp_path / "nodes.csv", text)
    result = invoke([*TINY, "--seed", "1", "--positions", path])
    assert_one_line_error(result, "--positions")


CSV_MESSAGES = {
    # raw values as written in the file, not numpy reprs such as np.float64(nan)
    "x,y\n1,nan\n": "column y must hold finite numbers; got nan in data row 1",
    "x,y\n1,2\n3,inf\n": "column y must hold finite numbers; got inf in data row 2",
    "x,y\n1,2\nthree,4\n": "column x must hold finite numbers; got three in data row 2",
    "x,y,energy\n1,2,0.5\n3,4,-0.1\n": "column energy must be > 0 [J]; got -0.1 in data row 2",
    "x,y\n1,2\n-3,4\n": "column x must be >= 0 [m]",
    # a ragged row is named as such (not reported as a NaN in column y)
    "x,y\n1,2,3\n4,5\n": "data row 1 has 3 fields, expected 2",
    "x,y\n1,2\n4\n": "data row 2 has 1 fields, expected 2",
    "x,y\n": "at least one node row",
    "": "is empty",
}


@pytest.mark.parametrize("text, message", CSV_MESSAGES.items(), ids=range(len(CSV_MESSAGES)))
def test_positions_csv_error_texts(tmp_path, text, message):
    path = write_csv(tmp_path / "nodes.csv", text)
    result = invoke([*TINY, "--seed", "1", "--positions", path])
    assert_one_line_error(result, "--positions")
    assert message in result.stderr
    assert "np.float64" not in result.stderr and "NaN" not in result.stderr


def test_battery_below_a_csv_energy(tmp_path):
    path = write_csv(tmp_path / "nodes.csv", "x,y,energy\n1,2,0.5\n3,4,2.5\n")
    result = invoke(["--rounds", "5", "--seed", "1", "--positions", path, "--battery", "2"])
    assert_one_line_error(result, "--battery")
    assert ">= 2.5 J" in result.stderr
    assert run_json(["--rounds", "5", "--seed", "1", "--positions", path, "--battery", "2.5"])["config"][
        "battery_j"] == 2.5
    result = invoke(["--rounds", "5", "--seed", "1", "--positions", path, "--revive-threshold", "0.6",
                     "--harvest", "constant:0.01"])
    assert_one_line_error(result, "--revive-threshold")
    assert "<= 0.5 J" in result.stderr


def test_battery_message_names_the_smallest_allowed_value():
    result = invoke([*TINY, "--e0", "0.3", "--advanced-fraction", "0.2", "--advanced-factor", "1",
                     "--battery", "0.5"])
    assert_one_line_error(result, "--battery")
    assert ">= 0.6 J" in result.stderr
    result = invoke([*TINY, "--battery", "0.8", "--revive-threshold", "0.9", "--harvest", "constant:0.1"])
    assert_one_line_error(result, "--revive-threshold")
    assert "<= 0.8 J" in result.stderr
    # equal values are allowed: a battery of exactly E0, a threshold of exactly the capacity
    run_json([*TINY, "--battery", "0.5", "--revive-threshold", "0.5", "--harvest", "constant:0.001", "--seed", "1"])


def test_tiny_p_is_rejected_not_a_numba_crash():
    result = invoke(["--p", "1e-300", "--rounds", "2"])
    assert_one_line_error(result, "--p")
    assert "[1e-09, 1]" in result.stderr
    data = run_json(["--p", "1e-9", "--rounds", "2", "--nodes", "10", "--seed", "1"])
    assert data["config"]["p"] == 1e-9 and data["replicas"][0]["rounds"] == 2


def test_huge_nodes_and_replicas_are_rejected_before_allocating():
    result = invoke(["--nodes", "100000000000"])
    assert_one_line_error(result, "--nodes")
    assert "100000000" in result.stderr
    result = invoke([*TINY, "--replicas", "1000000"])
    assert_one_line_error(result, "--replicas")
    assert "100000" in result.stderr


@pytest.mark.parametrize("field, survives", [("1e-300", True), ("5e-324", True), ("1e-300,1e9", False),
                                             ("1e9", False)])
def test_extreme_fields_run(field, survives):
    """Degenerate fields run (no ZeroDivisionError in the grid); in a 1e9 m field (the largest) every packet costs
    more than a node holds, so all die in round 1 (clean accounting: energy drawn is clipped at zero)."""
    data = run_json(["--field", field, "--nodes", "50", "--rounds", "20", "--seed", "3"])
    record = data["replicas"][0]
    assert record["rounds"] == (20 if survives else 1)
    assert len(record["alive"]) == record["rounds"]
    assert record["energy"]["residual"] == pytest.approx(
        record["energy"]["initial"] - record["energy"]["consumed"], rel=1e-9, abs=1e-12)


def test_config_records_effective_values(tmp_path):
    import hashlib

    config = run_json([*TINY, "--seed", "1"])["config"]
    assert config["battery_j"] == 0.5 and config["battery_rule"] == "initial energy of each node"
    assert config["rounds_cap"] == 50
    assert "positions_sha256" not in config
    config = run_json(["--nodes", "10", "--e0", "100", "--seed", "1", "--rounds", "3"])["config"]
    assert config["rounds"] == 3 and config["rounds_cap"] == 3
    # heterogeneous capacities: no single battery value
    config = run_json([*TINY, "--seed", "1", "--advanced-fraction", "0.5", "--advanced-factor", "1"])["config"]
    assert config["battery_j"] is None and config["battery_rule"] == "initial energy of each node"
    text = "x,y,energy\n1,2,0.5\n3,4,0.5\n"
    path = write_csv(tmp_path / "nodes.csv", text)
    config = run_json(["--positions", path, "--rounds", "4", "--seed", "1"])["config"]
    assert config["positions_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert config["battery_j"] == 0.5 and config["rounds_cap"] == 4


def test_rounds_cap_without_rounds_is_the_default_cap():
    from wsnmec.sim.scenario import MAX_ROUNDS

    config = run_json(["--nodes", "5", "--e0", "0.001", "--seed", "1"])["config"]
    assert config["rounds"] is None and config["rounds_cap"] == MAX_ROUNDS


def test_missing_positions_csv(tmp_path):
    result = invoke([*TINY, "--positions", str(tmp_path / "no-such-file.csv")])
    assert_one_line_error(result, "--positions")


def test_positions_directory_is_not_a_csv(tmp_path):
    result = invoke([*TINY, "--positions", str(tmp_path)])
    assert_one_line_error(result, "--positions")


def test_out_that_is_a_file(tmp_path):
    path = tmp_path / "taken"
    path.write_text("keep me", encoding="utf-8")
    result = invoke([*TINY, "--seed", "1", "--out", str(path)])
    assert_one_line_error(result, "--out")
    assert path.read_text(encoding="utf-8") == "keep me"


def test_unknown_option_is_one_line_exit_2():
    result = invoke(["--nodez", "10"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--nodez" in result.stderr


# --- the JSON object -------------------------------------------------------------------------------


def test_json_object_shape():
    data = run_json([*DYING, "--seed", "7", "--replicas", "2"])
    assert list(data) == ["config", "replicas", "utility", "delivered"]  # existing keys first, means added
    config = data["config"]
    assert config["seed"] == 7
    assert config["replicas"] == 2
    assert config["nodes"] == 20
    assert config["rounds"] == 400
    assert config["e0"] == 0.02
    assert config["protocol"] == "leach"
    assert config["semantics"] == "clean"
    assert config["radio"] == "heinzelman2002"
    assert config["harvest"] == "none"
    assert config["field"] == [100.0, 100.0]
    assert config["sink"] == [50.0, 50.0]
    assert len(data["replicas"]) == 2
    assert [r["seed"] for r in data["replicas"]] == config["replica_seeds"]
    assert data["replicas"][0]["seed"] == 7
    for record in data["replicas"]:
        assert list(record) == ["seed", "fnd", "hnd", "lnd", "rounds", "energy", "alive", "utility",
                                "stability_period", "delivered", "offload_fallback_rounds"]  # the old keys first
        assert list(record["energy"]) == ["initial", "harvested", "consumed", "residual", "stored"]
        assert isinstance(record["seed"], int)
        assert len(record["alive"]) == record["rounds"]
        assert all(isinstance(a, int) and 0 <= a <= 20 for a in record["alive"])
        # FND/HND/LND agree with the alive curve
        assert (record["fnd"], record["hnd"], record["lnd"]) == lifetime_rounds(record["alive"], 20)
        assert record["energy"]["initial"] == pytest.approx(20 * 0.02, rel=1e-12)
        assert record["energy"]["harvested"] == 0.0
        energy = record["energy"]
        assert energy["initial"] + energy["harvested"] - energy["consumed"] == pytest.approx(
            energy["residual"], rel=1e-9, abs=1e-12
        )


def test_json_nulls_when_nodes_survive():
    data = run_json([*TINY, "--seed", "3", "--e0", "100"])
    record = data["replicas"][0]
    assert record["fnd"] is None and record["hnd"] is None and record["lnd"] is None
    assert record["rounds"] == 50
    assert record["alive"] == [20] * 50


def test_json_records_every_option():
    data = run_json(
        [
            "--protocol", "ileach", "--nodes", "15", "--field", "80,60", "--sink", "40,150", "--e0", "0.3",
            "--p", "0.2", "--packet-bits", "2000", "--rounds", "30", "--seed", "11", "--replicas", "1",
            "--semantics", "matlab", "--radio", "heinzelman2000", "--harvest", "bernoulli:0.001,0.5",
            "--battery", "0.7", "--advanced-fraction", "0.2", "--advanced-factor", "1",
        ]
    )
    config = data["config"]
    expected = {
        "protocol": "ileach", "nodes": 15, "field": [80.0, 60.0], "sink": [40.0, 150.0], "e0": 0.3, "p": 0.2,
        "packet_bits": 2000, "rounds": 30, "seed": 11, "replicas": 1, "semantics": "matlab",
        "radio": "heinzelman2000", "battery": 0.7, "advanced_fraction": 0.2, "advanced_factor": 1.0,
        "battery_j": 0.7, "battery_rule": "--battery", "rounds_cap": 30,
    }
    for key, value in expected.items():
        assert config[key] == value, key
    assert config["harvest"].startswith("bernoulli:")
    assert "version" in config and "radio_constants" in config


def test_replica_seed_reproduces_that_replica():
    args = [*DYING, "--harvest", "bernoulli:0.0005,0.3"]
    three = run_json([*args, "--seed", "2024", "--replicas", "3"])
    second = three["replicas"][1]
    assert second["seed"] != 2024
    alone = run_json([*args, "--seed", str(second["seed"]), "--replicas", "1"])
    again = alone["replicas"][0]
    assert again["seed"] == second["seed"]
    assert again["alive"] == second["alive"]
    assert again["energy"] == second["energy"]  # exactly, not approximately
    assert (again["fnd"], again["hnd"], again["lnd"], again["rounds"]) == (
        second["fnd"], second["hnd"], second["lnd"], second["rounds"]
    )


def test_same_seed_same_output_different_seeds_differ():
    first = run_json([*DYING, "--seed", "5", "--replicas", "2"])
    second = run_json([*DYING, "--seed", "5", "--replicas", "2"])
    assert first == second
    other = run_json([*DYING, "--seed", "6", "--replicas", "2"])
    assert other["replicas"] != first["replicas"]


def test_fresh_seed_is_recorded_and_reproduces():
    data = run_json(DYING)
    seed = data["config"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**63
    assert data["replicas"][0]["seed"] == seed
    again = run_json([*DYING, "--seed", str(seed)])
    assert again["replicas"] == data["replicas"]


def test_parallel_workers_give_the_same_replicas():
    args = [*DYING, "--seed", "12", "--replicas", "3", "--harvest", "markov:0.0004,0,0.2,0.3"]
    serial = run_json([*args, "--workers", "1"])
    parallel = run_json([*args, "--workers", "2"])
    assert serial["replicas"] == parallel["replicas"]


def test_single_value_field_is_square_and_sink_defaults_to_its_centre():
    config = run_json([*TINY, "--field", "200", "--seed", "1"])["config"]
    assert config["field"] == [200.0, 200.0]
    assert config["sink"] == [100.0, 100.0]


def test_sink_outside_the_field_is_allowed():
    data = run_json([*TINY, "--sink", "250,175", "--seed", "1"])
    assert data["config"]["sink"] == [250.0, 175.0]
    data = run_json([*TINY, "--sink", "50,175", "--seed", "1"])
    assert data["config"]["sink"] == [50.0, 175.0]


def test_positions_csv_sets_the_nodes(tmp_path):
    rows = ["x,y,energy"] + [f"{10 * i},{5 * i},0.05" for i in range(1, 8)]
    path = write_csv(tmp_path / "nodes.csv", "\n".join(rows) + "\n")
    data = run_json(["--positions", path, "--rounds", "20", "--seed", "1"])
    assert data["config"]["nodes"] == 7
    assert data["config"]["positions"] == path
    assert data["replicas"][0]["energy"]["initial"] == pytest.approx(7 * 0.05)


@pytest.mark.parametrize("protocol", ["direct", "leach", "ileach", "leach-dchs"])
@pytest.mark.parametrize("semantics", ["clean", "matlab"])
def test_every_protocol_and_semantics_runs(protocol, semantics):
    data = run_json([*DYING, "--protocol", protocol, "--semantics", semantics, "--seed", "9"])
    record = data["replicas"][0]
    assert data["config"]["protocol"] == protocol and data["config"]["semantics"] == semantics
    assert record["alive"][0] <= 20 and record["alive"] == sorted(record["alive"], reverse=True)


def test_classic_scenario_defaults_smoke():
    """The default scenario (100 nodes, 0.5 J, LEACH, until all nodes are dead) runs to the last death."""
    data = run_json(["--seed", "1"])
    config = data["config"]
    assert (config["protocol"], config["nodes"], config["e0"], config["p"], config["packet_bits"]) == (
        "leach", 100, 0.5, "auto", 4000
    )
    assert config["control_bits"] == 200 and config["preset"] is None
    assert len(config["p_resolved"]) == 1 and 0.05 < config["p_resolved"][0] < 0.2  # k_opt ~ 10 of 100 nodes
    assert config["field"] == [100.0, 100.0] and config["sink"] == [50.0, 50.0]
    assert config["rounds"] is None and config["replicas"] == 1
    record = data["replicas"][0]
    assert record["lnd"] is not None
    assert record["fnd"] <= record["hnd"] <= record["lnd"] == record["rounds"] == len(record["alive"])
    assert record["alive"][-1] == 0 and record["alive"][-2] > 0
    # Classic LEACH lifetimes are hundreds to a few thousand rounds.
    assert 100 < record["fnd"] < 5000
    assert record["energy"]["residual"] == pytest.approx(0.0, abs=1e-9)
    assert record["energy"]["consumed"] == pytest.approx(50.0, rel=1e-9)


def test_classic_preset_restores_the_v01_defaults():
    config = run_json(["--seed", "1", "--preset", "classic", "--rounds", "2"])["config"]
    assert (config["p"], config["control_bits"], config["preset"], config["p_resolved"]) == (0.1, 0, "classic", [0.1])


# --- the readable summary ------------------------------------------------------------------------


def test_summary_text_lists_replicas_and_confidence_interval(monkeypatch):
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: True)  # no compile notice on a cold cache
    result = invoke([*DYING, "--seed", "7", "--replicas", "3"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    text = result.stdout
    data = run_json([*DYING, "--seed", "7", "--replicas", "3"])
    for record in data["replicas"]:
        assert str(record["seed"]) in text
    for name in ("FND", "HND", "LND"):
        assert name in text
    assert "95% CI" in text
    # each replica row shows its FND, HND, LND and rounds; replicas numbered from 0 as in the Parquet tables
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["0"], ["1"], ["2"])]
    assert len(rows) == 3 and [row[0] for row in rows] == ["0", "1", "2"]
    for row, record in zip(rows, data["replicas"]):
        expected = [str(record[k]) if record[k] is not None else "-" for k in ("seed", "fnd", "hnd", "lnd", "rounds")]
        assert row[1:6] == expected
    fnds = [r["fnd"] for r in data["replicas"]]
    assert f"mean {sum(fnds) / 3:.1f}" in text


def test_progress_bar_on_terminal_only_without_json(monkeypatch):
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    shown = invoke([*TINY, "--seed", "1"])
    assert shown.exit_code == 0, shown.output
    assert "round" in shown.stderr  # the tqdm bar went to stderr
    assert "FND" in shown.stdout and "round/s" not in shown.stdout
    quiet = invoke([*TINY, "--seed", "1", "--json"])
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    json.loads(quiet.stdout)


# --- --out DIR -----------------------------------------------------------------------------------


def test_out_writes_the_three_files_and_leaves_others(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = invoke([*DYING, "--seed", "4", "--replicas", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(os.listdir(out)) == ["config.json", "nodes.parquet", "notes.txt", "rounds.parquet", "summary.parquet"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config == data["config"]
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["seed"]) == [r["seed"] for r in data["replicas"]]
    rounds = pd.read_parquet(out / "rounds.parquet")
    for column in ("replica", "seed", "round", "alive", "dead", "cluster_heads", "residual_j", "consumed_j",
                   "harvested_j", "packets_to_sink", "packets_to_ch"):
        assert column in rounds.columns
    for (replica, group), record in zip(rounds.groupby("replica", sort=True), data["replicas"]):
        assert list(group.sort_values("round")["alive"]) == record["alive"]


def test_out_creates_nested_directory(tmp_path):
    out = tmp_path / "a" / "b"
    result = invoke([*TINY, "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == ["config.json", "nodes.parquet", "rounds.parquet", "summary.parquet"]


def test_failed_write_leaves_previous_files_intact(tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = invoke([*TINY, "--seed", "1", "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert sorted(before) == ["config.json", "nodes.parquet", "rounds.parquet", "summary.parquet"]

    real_to_parquet = pd.DataFrame.to_parquet

    def failing_to_parquet(self, path, *args, **kwargs):
        if "fnd" in self.columns:  # the summary: write half a file, then fail like a full disk
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError(28, "No space left on device")
        return real_to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing_to_parquet)
    second = invoke([*TINY, "--seed", "2", "--out", str(out)])
    assert_one_line_error(second, "--out")
    assert "No space left on device" in second.stderr
    after = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert after == before  # nothing replaced, no temporary file left behind


def test_failed_json_write_leaves_previous_files_intact(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert invoke([*TINY, "--seed", "1", "--out", str(out)]).exit_code == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}

    real_write_text = Path.write_text

    def failing_write_text(self, text, *args, **kwargs):
        if self.name == "config.json" and self.parent.name.endswith(".tmp"):  # written in the staging directory
            real_write_text(self, text[: len(text) // 2], *args, **kwargs)
            raise OSError(5, "Input/output error")
        return real_write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write_text)
    result = invoke([*TINY, "--seed", "2", "--out", str(out)])
    assert_one_line_error(result, "--out")
    after = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert after == before


def test_second_run_replaces_the_files(tmp_path):
    out = tmp_path / "run"
    assert invoke([*TINY, "--seed", "1", "--out", str(out)]).exit_code == 0
    assert invoke([*DYING, "--seed", "2", "--out", str(out)]).exit_code == 0
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["seed"] == 2 and config["rounds"] == 400
    assert [p for p in os.listdir(out) if p.endswith(".tmp")] == []


# --- wsnmec.sim.report helpers -----------------------------------------------------------------------


def test_jsonable_converts_numpy_and_missing_values():
    import numpy as np

    from wsnmec.sim.report import jsonable

    value = jsonable(
        {"a": np.int64(3), "b": np.float32(0.5), "c": (1, 2), "d": pd.NA, "e": float("nan"), "f": np.arange(2),
         "g": np.bool_(True), "h": math.inf}
    )
    assert value == {"a": 3, "b": 0.5, "c": [1, 2], "d": None, "e": None, "f": [0, 1], "g": True, "h": "inf"}
    json.dumps(value, allow_nan=False)


def test_radio_constant_overrides_are_used_and_recorded():
    args = ["run", "--nodes", "30", "--rounds", "40", "--seed", "4", "--json"]
    default = json.loads(CliRunner().invoke(cli.main, args).stdout)
    changed_result = CliRunner().invoke(cli.main, args + ["--e-elec", "1e-7", "--eps-fs", "2e-11"])
    assert changed_result.exit_code == 0, changed_result.stderr
    changed = json.loads(changed_result.stdout)
    constants = changed["config"]["radio_constants"]
    assert constants["e_elec"] == 1e-7 and constants["eps_fs"] == 2e-11
    assert changed["config"]["e_elec"] == 1e-7 and default["config"]["e_elec"] is None
    assert changed["replicas"][0]["energy"]["consumed"] > default["replicas"][0]["energy"]["consumed"]


@pytest.mark.parametrize("offload", ["local", "edge", "greedy", "exact"])
@pytest.mark.parametrize("join", ["nearest", "cluster"])
def test_every_registered_protocol_runs_with_each_offload_rule_and_join(offload, join):
    """Every registered policy (and alias) with every built-in offloading rule and both join rules; the JSON keeps
    its keys and adds per-replica and overall ``utility`` means. 20 nodes for 20 rounds: the cost is lp-schedule's
    bound solve (about 4x cheaper than at 30 nodes) and anneal's per-round search."""
    from wsnmec.clustering.registry import protocol_names

    for protocol in protocol_names():
        data = run_json(["--nodes", "20", "--e0", "0.02", "--rounds", "20", "--seed", "3", "--protocol", protocol,
                         "--offload", offload, "--join", join, "--workload", "dnn-inference"])
        record = data["replicas"][0]
        assert set(record) >= {"seed", "fnd", "hnd", "lnd", "rounds", "energy", "alive", "utility"}
        assert set(record["energy"]) >= {"initial", "harvested", "consumed", "residual", "stored"}
        utility = record["utility"]
        assert utility["system_utility"] >= utility["energy_j"] > 0 and utility["latency_s"] > 0
        assert data["utility"]["system_utility"] == pytest.approx(utility["system_utility"])
        config = data["config"]
        assert (config["offload"], config["join"], config["workload"]) == (offload, join, "dnn-inference")
