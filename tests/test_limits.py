"""Issue 12: limits checked before work, non-finite values, and every input of the adversarial pass exits 2 with
one line (``wsnmec.limits``, the offload model bounds, the .mat field checks)."""

from __future__ import annotations

import json
import math
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.limits import (
    AVAILABLE_MEMORY_ENV,
    check_finite,
    probe_output_dir,
    rounds_bound,
    run_memory_estimate,
)
from wsnmec.sim.scenario import Scenario
from wsnmec.study.spec import MAX_TASKS, load_study

TINY_RUN = ["--nodes", "10", "--rounds", "5", "--seed", "1"]
TINY_OFFLOAD = ["--frames", "20", "--networks", "1", "--memory", "16", "--batch", "4", "--seed", "1"]


def invoke(args, **kwargs):
    return CliRunner().invoke(cli.main, args, **kwargs)


def assert_one_line_error(result, parameter: str):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {parameter}"), lines[0]
    assert "Traceback" not in result.stderr and result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def strict_json(text: str):
    """Parse JSON refusing the NaN / Infinity tokens Python would accept."""

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def all_finite(obj) -> bool:
    if isinstance(obj, dict):
        return all(all_finite(v) for v in obj.values())
    if isinstance(obj, list):
        return all(all_finite(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def write_mat(path: Path, task_size) -> str:
    from scipy.io import savemat

    savemat(path, {"task_size": task_size, "gain_min": np.ones((1, 10)), "gain_mode": np.zeros((10, 9))})
    return str(path)


# --- every input of the issue's list: exit 2, one line, the new message ----------------------------------------


def issue_inputs(tmp_path: Path) -> dict:
    """The inputs of issue 12's list -> (arguments, the parameter its one-line error names)."""
    long_name = str(tmp_path / ("x" * 300))
    return {
        "--e0 1e308": (["run", *TINY_RUN, "--e0", "1e308", "--json"], "--e0"),
        "--advanced-factor 1e308": (["run", *TINY_RUN, "--advanced-fraction", "0.5", "--advanced-factor", "1e308",
                                     "--json"], "--advanced-factor"),
        "--harvest constant:1e308": (["run", *TINY_RUN, "--harvest", "constant:1e308", "--json"],
                                     "--harvest constant energy"),
        "offload size_min=0 size_max=0": (["offload", *TINY_OFFLOAD, "--param", "size_min=0", "--param",
                                           "size_max=0"], "--param size_max"),
        "offload all-zero task_size": (["offload", "--frames", "5", "--dataset",
                                        write_mat(tmp_path / "zeros.mat", np.zeros((10, 9)))], "--dataset"),
        "offload time_weight=1e308": (["offload", *TINY_OFFLOAD, "--param", "time_weight=1e308", "--json"],
                                      "--param time_weight"),
        "offload utility made infinite (uplink_rate=1e-300)": (
            ["offload", *TINY_OFFLOAD, "--param", "uplink_rate=1e-300", "--json"], "--param uplink_rate"),
        "offload wsn-ch energy_exponent=1000": (
            ["offload", *TINY_OFFLOAD, "--model", "wsn-ch", "--param", "energy_exponent=1000"],
            "--param energy_exponent"),
        "--input-scale 1e308": (["offload", *TINY_OFFLOAD, "--input-scale", "1e308"], "--input-scale"),
        # an infinite integer parameter (found by the CLI fuzz test: int(inf) raised OverflowError)
        "--param size_min=inf": (["offload", *TINY_OFFLOAD, "--param", "size_min=inf"], "--param size_min"),
        # an integer beyond the float range (also found by the fuzz test: float() raised OverflowError)
        "--param local_energy=10^400": (["offload", *TINY_OFFLOAD, "--param", "local_energy=1" + "0" * 400],
                                        "--param local_energy"),
        "--learning-rate 1e308": (["offload", *TINY_OFFLOAD, "--learning-rate", "1e308"], "--learning-rate"),
        "--packet-bits 10^400": (["run", *TINY_RUN, "--packet-bits", "1" + "0" * 400], "--packet-bits"),
        "--out 300-character name": (["run", *TINY_RUN, "--out", long_name], "--out"),
        ".mat task_size string": (["offload", "--frames", "5", "--dataset", write_mat(tmp_path / "s.mat", "abc")],
                                  "--dataset"),
        ".mat task_size cell": (["offload", "--frames", "5", "--dataset", write_mat(
            tmp_path / "c.mat", np.array([[np.ones(3)], [np.ones(2)]], dtype=object))], "--dataset"),
        ".mat task_size struct": (["offload", "--frames", "5", "--dataset", write_mat(
            tmp_path / "st.mat", {"a": 1.0, "b": np.ones(3)})], "--dataset"),
        ".mat task_size complex": (["offload", "--frames", "5", "--dataset", write_mat(
            tmp_path / "cx.mat", np.ones((10, 9)) * (1 + 1j))], "--dataset"),
        "--jobs 99999999999999999999": (["study", "run", "classic", "--jobs", "99999999999999999999",
                                         "--results", str(tmp_path / "r")], "--jobs"),
        "figures --out /proc/figs": (["figures", "--quick", "--out", "/proc/figs", "--results",
                                      str(tmp_path / "r")], "--out"),
        "study run --results /proc/x": (["study", "run", "classic", "--results", "/proc/x"], "--results"),
        "run --out /proc/x": (["run", *TINY_RUN, "--out", "/proc/x"], "--out"),
        "run --out ''": (["run", *TINY_RUN, "--out", ""], "--out"),
        "offload --out ''": (["offload", *TINY_OFFLOAD, "--out", ""], "--out"),
        "study run --results ''": (["study", "run", "classic", "--results", ""], "--results"),
    }


def test_every_input_of_the_issue_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    messages = {}
    for name, (args, parameter) in issue_inputs(tmp_path).items():
        started = time.perf_counter()
        result = invoke(args)
        messages[name] = assert_one_line_error(result, parameter)
        assert time.perf_counter() - started < 20, f"{name}: refused only after the work"
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in tmp_path.glob("*.mat")), "output left behind"
    # the messages say what is allowed
    assert "at most 1e+12 J" in messages["--e0 1e308"]
    assert "[1, 1000000000000]" in messages["--packet-bits 10^400"] and "401 digits" in messages["--packet-bits 10^400"]
    assert "File name too long" in messages["--out 300-character name"]
    assert "empty" in messages["run --out ''"]
    for kind in ("string", "cell", "struct", "complex"):
        assert "must be a real numeric array" in messages[f".mat task_size {kind}"]


def test_huge_grid_is_refused_arithmetically(tmp_path):
    """A 10^13-task grid (three ranges of 10^4 values, 10 seeds) is refused from the value counts alone."""
    path = tmp_path / "huge.toml"
    path.write_text(
        "seeds = 10\n[grid]\nnodes = {start = 1, stop = 10000, step = 1}\n"
        "e0 = {start = 0.1, stop = 1000, step = 0.1}\np = {start = 0.0001, stop = 1, step = 0.0001}\n",
        encoding="utf-8",
    )
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ParameterError) as info:
        load_study(path)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 200e6, (seconds, peak)
    assert f"gives 10000000000000 tasks" in info.value.message and str(MAX_TASKS) in info.value.message
    result = invoke(["study", "run", str(path), "--results", str(tmp_path / "r")])
    assert "nodes[10000] x e0[10000] x p[10000] x 10 seeds" in assert_one_line_error(result, f"{path}: grid")
    assert not (tmp_path / "r").exists()


def test_quick_variant_task_count_is_checked_too(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text(
        "seeds = 1\n[grid]\nnodes = [10, 20]\n[quick]\nseeds = 1000\n"
        "grid = {nodes = {start = 1, stop = 5000, step = 1}}\n", encoding="utf-8",
    )
    with pytest.raises(ParameterError, match="5000000 tasks"):
        load_study(path)


def test_run_memory_estimate_refuses_before_allocating(monkeypatch):
    monkeypatch.setenv(AVAILABLE_MEMORY_ENV, str(16e9))
    tracemalloc.start()
    started = time.perf_counter()
    result = invoke(["run", "--nodes", "100000000", "--replicas", "4", "--workers", "4"])
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    line = assert_one_line_error(result, "--nodes x --replicas")
    assert "--force" in line and "16 GB is available" in line
    assert seconds < 5 and peak < 50e6, (seconds, peak)


def test_force_overrides_the_memory_check(monkeypatch):
    monkeypatch.setenv(AVAILABLE_MEMORY_ENV, "1000")
    assert_one_line_error(invoke(["run", *TINY_RUN, "--json"]), "--nodes x --replicas")
    result = invoke(["run", *TINY_RUN, "--json", "--force"])
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["config"]["nodes"] == 10


def test_study_memory_estimate_and_force(tmp_path, monkeypatch):
    path = tmp_path / "tiny.toml"
    path.write_text("seeds = 2\n[base]\nnodes = 10\nrounds = 5\n", encoding="utf-8")
    monkeypatch.setenv(AVAILABLE_MEMORY_ENV, "1000")
    line = assert_one_line_error(invoke(["study", "run", str(path), "--jobs", "1", "--results", str(tmp_path / "r")]),
                                 "FILE")
    assert "study tiny (2 tasks" in line and "--force" in line
    assert not (tmp_path / "r").exists()
    result = invoke(["study", "run", str(path), "--jobs", "1", "--results", str(tmp_path / "r"), "--force"])
    assert result.exit_code == 0, result.output


def test_rounds_bound_is_an_upper_bound():
    """Without --rounds and harvesting, every alive node spends >= L e_elec per round: the estimate bounds LND."""
    from wsnmec.sim.simulation import simulate

    for protocol in ("direct", "leach", "ileach"):
        scenario = Scenario.from_mapping({"protocol": protocol, "nodes": 30, "e0": 0.02})
        result = simulate(scenario, seed=3, replicas=2, workers=1)
        assert int(result.summary["rounds"].max()) <= rounds_bound(scenario)
    assert rounds_bound(Scenario.from_mapping({"rounds": 7})) == 7
    assert rounds_bound(Scenario.from_mapping({"harvest": "constant:0.001"})) == Scenario().max_rounds
    estimate = run_memory_estimate(Scenario.from_mapping({"nodes": 100_000_000}), replicas=4, workers=2)
    assert estimate["at_once"] == 2 and estimate["total"] > 40e9


def test_probe_output_dir(tmp_path):
    target = tmp_path / "a" / "b"
    assert probe_output_dir(target, "--out") == target
    assert not (tmp_path / "a").exists(), "the probe removes the directories it created"
    (tmp_path / "file").write_text("x")
    for bad, words in (("", "empty"), ("  ", "empty"), (tmp_path / "file", "is a file"), ("/proc/x", "writable")):
        with pytest.raises(ParameterError) as info:
            probe_output_dir(bad, "--out")
        assert info.value.parameter == "--out" and words in info.value.message
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]


def test_directory_removed_during_the_probe_is_made_again(tmp_path, monkeypatch):
    """Two runners starting on one new results directory: the other's probe may remove the directory (its
    clean-up) between our look and our probe file; a directory gone meanwhile is made again, once, and
    what this probe made is removed as before. A path that is a file still fails."""
    import tempfile

    from wsnmec import limits

    target = tmp_path / "results"
    target.mkdir()  # made by the other runner, seen by us as existing
    calls = []
    real = tempfile.mkstemp

    def racing(*args, **kwargs):
        calls.append(kwargs.get("dir"))
        if len(calls) == 1:
            target.rmdir()  # the other runner's clean-up, just before our probe file
        return real(*args, **kwargs)

    monkeypatch.setattr(limits.tempfile, "mkstemp", racing)
    assert probe_output_dir(target, "--results") == target
    assert len(calls) == 2 and not target.exists(), "made again for the probe, then removed as its own"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is a file"):
        probe_output_dir(tmp_path / "file", "--results")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_probe_refuses_a_read_only_directory(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ParameterError, match="writable"):
            probe_output_dir(folder / "out", "--out")
    finally:
        folder.chmod(0o755)


# --- non-finite results -----------------------------------------------------------------------------------


def _overflowing_simulate(monkeypatch):
    """Make every simulation report an infinite consumed energy (the field, sink and energy limits leave no
    input that overflows any more; the check behind them stays the last line of defence)."""
    from wsnmec.sim import simulation

    real = simulation.simulate

    def simulate(*args, **kwargs):
        result = real(*args, **kwargs)
        result.summary["energy_consumed_j"] = np.inf
        return result

    monkeypatch.setattr(simulation, "simulate", simulate)


def test_non_finite_run_result_is_an_error_naming_the_quantity(monkeypatch):
    """A result that overflowed (once: a 1e300 m field under the MATLAB accounting): exit 2, never inf."""
    _overflowing_simulate(monkeypatch)
    result = invoke(["run", "--nodes", "10", "--rounds", "3", "--semantics", "matlab", "--seed", "1", "--json"])
    line = assert_one_line_error(result, "energy_")
    assert "is not finite" in line and result.stdout == ""


def test_check_finite():
    check_finite("x", [1.0, 2.0])
    with pytest.raises(ParameterError, match=r"^y: is not finite \(nan\) in 2 value"):
        check_finite("y", [np.nan, 1.0, np.inf])


def test_offload_non_finite_results_are_refused():
    from wsnmec.offload.online import check_finite_results

    table = pd.DataFrame({"policy": ["ddlo", "ddlo"], "phase": ["train", "test"], "utility": [1.0, 2.0],
                          "reference_utility": [np.nan, 2.0], "normalized_utility": [np.nan, 1.0]})
    check_finite_results(table, {"policies": {"ddlo": {"normalized_utility": 1.0, "decision_ms_median": 0.1}}})
    with pytest.raises(ParameterError, match="normalized_utility of policy ddlo"):
        check_finite_results(table, {"policies": {"ddlo": {"normalized_utility": math.nan}}})
    table.loc[1, "utility"] = np.inf
    with pytest.raises(ParameterError, match="^utility: is not finite"):
        check_finite_results(table, {"policies": {}})


def test_non_finite_learner_weights_are_refused():
    from wsnmec.offload.ddlo import DDLO, check_finite_weights

    learner = DDLO(4, 3, networks=1, rng=np.random.default_rng(0))
    check_finite_weights(learner)
    learner.weights[0][0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match="^learner weights"):
        check_finite_weights(learner)


def test_zero_cost_frames_normalize_to_one_and_json_is_valid(tmp_path):
    """size 0..1 with 9 tasks: some frames cost 0 for every policy (0/0): normalized utility 1.0, not NaN."""
    from wsnmec.offload.models import normalized_utility

    assert normalized_utility([0.0, 2.0], [0.0, 1.0], -1.0).tolist() == [1.0, 0.5]
    out = tmp_path / "out"
    result = invoke(["offload", "--frames", "600", "--networks", "1", "--memory", "16", "--batch", "4", "--seed", "2",
                     "--param", "size_min=0", "--param", "size_max=1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = strict_json(result.stdout)
    assert all_finite(data)
    assert strict_json((out / "offload.json").read_text()) == data
    frames = pd.read_parquet(out / "frames.parquet")
    test = frames[frames["phase"] == "test"]
    assert np.isfinite(test["normalized_utility"]).all()


def test_study_values_that_could_overflow_are_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("[base]\nnodes = 10\n[grid]\ne0 = [0.5, 1e300]\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"grid\.e0\[1\].*at most 1e\+12 J"):
        load_study(path)


def test_parameter_error_survives_pickling():
    """Raised in a worker process, it must reach the parent intact (else the process pool breaks)."""
    import pickle

    error = pickle.loads(pickle.dumps(ParameterError("--e0", "must be > 0")))
    assert (error.parameter, error.message, str(error)) == ("--e0", "must be > 0", "--e0: must be > 0")


def test_study_task_with_non_finite_energies_fails_in_one_line(monkeypatch):
    """A worker's task whose result overflowed fails with the one-line error naming the quantity (the runner
    reports a task's ParameterError in one line, exit 1) and is never cached."""
    from wsnmec.sim.scenario import Scenario
    from wsnmec.study.runner import compute_task

    _overflowing_simulate(monkeypatch)
    scenario = Scenario.from_mapping({"nodes": 10, "rounds": 3, "semantics": "matlab"})
    with pytest.raises(ParameterError, match=r"^energy_consumed_j: is not finite \(inf\)"):
        compute_task(scenario, 1)

@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_the_study_estimate_covers_the_parents_memory_per_task(tmp_path):
    """issue 21 (lesser): the parent reached 1.0 GB against an estimate of 0.34 GB: it holds every task's
    labelled frames (tens of kB each) beside the rows the estimate counted. Measured here: the memory
    Python and numpy allocate while the parent collects 400 tiny tasks stays within the estimate."""
    from wsnmec.limits import PROCESS_BASE_BYTES, study_memory_estimate
    from wsnmec.study.runner import collect, compute_task, expand_tasks, task_cache
    from wsnmec.study.spec import load_study

    path = tmp_path / "many.toml"
    path.write_text("seeds = 400\n[base]\nnodes = 10\nrounds = 5\n", encoding="utf-8")
    spec = load_study(path)
    tasks = expand_tasks(spec)
    result, _seconds = compute_task(tasks[0].scenario, tasks[0].seed)
    loaded = {task.key: result for task in tasks}  # (the same small result for every task: no simulation)
    tracemalloc.start()
    try:
        rounds, summary, missing = collect(spec, tasks, task_cache(tmp_path / "r", spec), loaded=loaded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not missing and len(summary) == 400
    estimate = study_memory_estimate(spec, 1)["parent_bytes"] - PROCESS_BASE_BYTES
    assert peak <= estimate, (peak, estimate)


def test_a_study_task_failing_in_one_line_drops_its_warnings(monkeypatch, recwarn):
    # issue 21 (lesser): a worker's warnings reached the terminal beside the parent's one-line error
    import warnings

    from wsnmec.sim import simulation
    from wsnmec.sim.scenario import Scenario
    from wsnmec.study.runner import compute_task

    real = simulation.simulate

    def warn_then(*args, **kwargs):
        warnings.warn("overflow encountered in square", RuntimeWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(simulation, "simulate", warn_then)
    scenario = Scenario.from_mapping({"nodes": 10, "rounds": 3})
    compute_task(scenario, 1)  # a success shows its warning
    assert [str(w.message) for w in recwarn] == ["overflow encountered in square"]
    recwarn.clear()
    monkeypatch.setattr("wsnmec.limits.check_run_result",
                        lambda result: (_ for _ in ()).throw(ParameterError("energy_consumed_j", "is not finite")))
    with pytest.raises(ParameterError):
        compute_task(scenario, 1)
    assert [str(w.message) for w in recwarn] == []


def test_former_module_paths_are_the_same_modules():
    """``wsnmec.sim.limits`` and ``wsnmec.sim.seeding`` (their former places) are aliases of the modules."""
    import wsnmec.limits
    import wsnmec.seeding
    import wsnmec.sim.limits
    import wsnmec.sim.seeding

    assert wsnmec.sim.limits is wsnmec.limits
    assert wsnmec.sim.seeding is wsnmec.seeding
    from wsnmec.sim.seeding import replica_seeds

    assert replica_seeds is wsnmec.seeding.replica_seeds
