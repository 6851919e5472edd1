"""`wsnmec offload` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec.cli import main

FIXTURE = Path(__file__).parent / "data" / "ddlo_mumt_3x3_first300.mat"
SMALL = ["--memory", "64", "--batch", "16"]
POLICIES = ["ddlo", "optimal", "coordinate-descent", "greedy", "all-local", "all-offload", "random"]


def _run(args):
    return CliRunner().invoke(main, ["offload", *args])


def test_json_output_on_ddlo_fixture(tmp_path):
    res = _run(["--model", "mumt", "--devices", "3", "--tasks", "3", "--networks", "2", "--seed", "5",
                "--dataset", str(FIXTURE), "--json", "--out", str(tmp_path / "out"), *SMALL])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert list(out) == ["config", "test_frames", "policies"]
    assert list(out["policies"]) == POLICIES
    assert out["test_frames"] == 60
    for row in out["policies"].values():
        assert set(row) == {"normalized_utility", "decision_ms_median", "mean_objective"}
        assert 0.0 < row["normalized_utility"] <= 1.0 + 1e-12
        assert row["decision_ms_median"] > 0.0
    assert out["policies"]["optimal"]["normalized_utility"] == pytest.approx(1.0)
    cfg = out["config"]
    assert cfg["seed"] == 5 and cfg["frames"] == 300 and cfg["dataset"] == str(FIXTURE)
    assert cfg["learner"]["networks"] == 2 and cfg["learner"]["memory_size"] == 64
    assert cfg["uplink_rate"] == pytest.approx(100 / 8 / 3)
    table = pd.read_parquet(tmp_path / "out" / "frames.parquet")
    assert set(table["policy"]) == set(POLICIES)
    assert (table["policy"] == "ddlo").sum() == 300
    assert json.loads((tmp_path / "out" / "offload.json").read_text())["config"]["seed"] == 5
    from wsnmec.offload import load_ddlo, mumt_model

    states = load_ddlo(FIXTURE).task_size
    decided = np.array([[int(c) for c in row] for row in table["decision"]], dtype=np.uint8)
    np.testing.assert_allclose(mumt_model(3, 3).score(states[table["frame"]], decided), table["utility"], rtol=1e-12)
    test = table[(table["policy"] == "ddlo") & (table["phase"] == "test")]
    assert test["normalized_utility"].mean() == pytest.approx(out["policies"]["ddlo"]["normalized_utility"])
    for name, row in out["policies"].items():  # mean_objective: the mean test-frame utility in joules
        rows = table[(table["policy"] == name) & (table["phase"] == "test")]
        assert row["mean_objective"] == pytest.approx(rows["utility"].mean(), rel=1e-12)


def test_text_output_wsn_ch_with_param():
    res = _run(["--model", "wsn-ch", "--devices", "4", "--frames", "50", "--seed", "1",
                "--param", "energy_exponent=1", *SMALL])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("model wsn-ch  n=4  frames 50 (test 10)")
    assert [ln.split()[0] for ln in lines[2:]] == POLICIES


def test_order_preserving_option():
    res = _run(["--devices", "2", "--tasks", "2", "--frames", "40", "--seed", "1", "--json",
                "--quantization", "order-preserving", "--candidates", "3", *SMALL])
    assert res.exit_code == 0, res.output
    learner = json.loads(res.output)["config"]["learner"]
    assert learner["quantization"] == "order-preserving" and learner["candidates_per_network"] == 3


@pytest.mark.parametrize(
    "args,name",
    [
        (["--model", "mumtx"], "--model"),
        (["--devices", "0"], "--devices"),
        (["--tasks", "0"], "--tasks"),
        (["--frames", "0"], "--frames"),
        (["--frames", "1"], "--frames"),
        (["--networks", "0"], "--networks"),
        (["--devices", "x"], "--devices"),
        (["--seed", "-1"], "--seed"),
        (["--memory", "0"], "--memory"),
        (["--quantization", "round"], "--quantization"),
        (["--param", "nonsense=1"], "--param nonsense: not a mumt parameter; valid: "),
        (["--param", "uplink_rate=-1"], "--param uplink_rate: must be a finite number > 0, got -1"),
        (["--param", "uplink_rate=abc"], "--param uplink_rate: must be a number, got 'abc'"),
        (["--param", "time_weight=nan"], "--param time_weight: must be a finite number"),
        (["--param", "size_min=40"], "--param size_max: must be >= size_min (40)"),
        (["--model", "wsn-ch", "--param", "bandwidth=0"], "--param bandwidth: must be a finite number > 0"),
        (["--model", "wsn-ch", "--param", "uplink_rate=1"], "--param uplink_rate: not a wsn-ch parameter"),
        (["--frames", "100000000000"], "--frames: must be an integer in [2, 10000000]"),
        (["--devices", "100000", "--tasks", "100000"], "--devices: must be an integer in [1, 1024]"),
        (["--devices", "3", "--tasks", "100000"], "--tasks: must be an integer in [1, 1024]"),
        (["--devices", "1024", "--tasks", "1024"], "--devices x --tasks: the learner allows n <= 1024"),
        (["--model", "wsn-ch", "--devices", "2000"], "--devices: must be an integer in [1, 1024]"),
        (["--devices", "64", "--tasks", "16", "--frames", "1000000"], "--frames: must be <= 97656"),
        (["--networks", "1000"], "--networks: must be an integer in [1, 64]"),
        (["--memory", "100000000000"], "--memory: must be an integer in [1, 1000000]"),
        (["--batch", "100000"], "--batch: must be an integer in [1, 8192]"),
        (["--param", "uplink_rate"], "--param"),
        (["--model", "wsn-ch", "--tasks", "2"], "--tasks"),
        (["--dataset", "/nonexistent/file.mat"], "--dataset"),
        (["--dataset", str(FIXTURE), "--devices", "2"], "--dataset"),
        (["--dataset", str(FIXTURE), "--frames", "301"], "--frames"),
        (["--dataset", str(FIXTURE), "--model", "wsn-ch", "--devices", "9"], "--dataset"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, name):
    res = CliRunner().invoke(
        main, ["offload", *args, "--frames", "20"] if "--frames" not in args and "--dataset" not in args else
        ["offload", *args]
    )
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"Error: {name}")
    assert "Traceback" not in res.stderr


def test_unreadable_and_wrong_shape_dataset(tmp_path):
    from scipy.io import savemat

    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"\x00\x01 not matlab" * 20)
    res = _run(["--dataset", str(garbage)])
    assert res.exit_code == 2 and res.output.startswith("Error: --dataset") and "cannot read" in res.output
    wrong = tmp_path / "wrong.mat"
    savemat(wrong, {"task_size": np.ones((10, 9)), "gain_min": np.ones((1, 7)), "gain_mode": np.ones((10, 9))})
    res = _run(["--dataset", str(wrong)])
    assert res.exit_code == 2 and "gain_min" in res.output and len(res.output.strip().splitlines()) == 1


def test_out_must_not_be_a_file(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    res = _run(["--frames", "20", "--out", str(target)])
    assert res.exit_code == 2 and res.output.startswith("Error: --out")
