"""The study runner: tasks through local processes or a Dask cluster, the cache across runs, interrupted
runs, and the `wsnmec study run|show` commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.metrics import mean_ci
from wsnmec.study.cache import read_task
from wsnmec.study.runner import expand_tasks, run_study, summary_table
from wsnmec.study.spec import load_study

REPO = Path(__file__).resolve().parents[1]

TINY = """
title = "tiny study"
seed = 11
seeds = 3
[base]
nodes = 12
e0 = 0.02
rounds = 400
[grid]
protocol = ["direct", "leach"]
semantics = ["clean", "matlab"]
[quick]
seeds = 2
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
style = "semantics"
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny study, run once through the CLI on 2 local processes."""
    root = tmp_path_factory.mktemp("tiny")
    path = root / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    results = root / "results"
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "2", "--results", str(results)])
    assert result.exit_code == 0, result.output
    return path, results, result


def cache_files(results: Path, name: str) -> dict[str, int]:
    """Cache file name -> modification time [ns]."""
    return {p.name: p.stat().st_mtime_ns for p in sorted((results / name / "tasks").glob("*.parquet"))}


def test_run_writes_long_form_tables_and_every_task(tiny):
    path, results, result = tiny
    assert "12 tasks, 0 from cache, 12 computed" in result.stdout
    rounds = pd.read_parquet(results / "tiny" / "full" / "rounds.parquet")
    summary = pd.read_parquet(results / "tiny" / "full" / "summary.parquet")
    assert len(summary) == 12 and len(cache_files(results, "tiny")) == 12
    for column in ("protocol", "semantics", "seed_index", "seed", "task", "round", "alive", "residual_j"):
        assert column in rounds.columns
    # common random numbers: every grid point sees the same three seeds
    seeds = summary.groupby(["protocol", "semantics"])["seed"].apply(tuple)
    assert seeds.nunique() == 1 and len(seeds.iloc[0]) == 3
    # the rows of a task are the simulator's rows for that scenario and seed
    spec = load_study(path)
    task = expand_tasks(spec)[4]
    from wsnmec.simulation import simulate

    direct = simulate(task.scenario, seed=task.seed, replicas=1, workers=1)
    mine = rounds[rounds["task"] == task.key].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[direct.rounds.columns[2:]], direct.rounds[direct.rounds.columns[2:]])


def test_second_run_completes_from_the_cache(tiny):
    path, results, _ = tiny
    before = cache_files(results, "tiny")
    first = pd.read_parquet(results / "tiny" / "full" / "rounds.parquet")
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert "12 tasks, 12 from cache, 0 computed" in result.stdout
    assert cache_files(results, "tiny") == before  # nothing rewritten
    pd.testing.assert_frame_equal(pd.read_parquet(results / "tiny" / "full" / "rounds.parquet"), first)


def test_corrupt_cache_file_is_reported_and_recomputed(tiny, tmp_path):
    path, results, _ = tiny
    copy = tmp_path / "results"
    import shutil

    shutil.copytree(results, copy)
    victim = sorted((copy / "tiny" / "tasks").glob("*.parquet"))[5]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 3])
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "1", "--results", str(copy)])
    assert result.exit_code == 0, result.output
    assert str(victim) in result.stderr and "corrupt" in result.stderr
    assert "11 from cache, 1 computed" in result.stdout
    assert victim.read_bytes() == data  # recomputed: the same task gives the same file
    pd.testing.assert_frame_equal(
        pd.read_parquet(copy / "tiny" / "full" / "summary.parquet"),
        pd.read_parquet(results / "tiny" / "full" / "summary.parquet"),
    )


def test_interrupted_run_keeps_finished_tasks(tmp_path):
    """Ctrl-C after three tasks: those three are cached whole and a rerun computes only the rest."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    spec = load_study(path)
    results = tmp_path / "results"
    done = []

    def interrupt_after_three(task):
        done.append(task.key)
        if len(done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(spec, results, jobs=1, on_task_done=interrupt_after_three)
    kept = cache_files(results, "tiny")
    assert {f"{k}.parquet" for k in done} <= set(kept)
    assert 3 <= len(kept) < 12
    tasks = {t.key: t for t in expand_tasks(spec)}
    for name in kept:  # every file left behind is whole
        key = name.removesuffix(".parquet")
        read_task(results / "tiny" / "tasks" / name, key, tasks[key].config)
    assert not [p for p in (results / "tiny" / "tasks").iterdir() if p.suffix != ".parquet"]
    rerun = run_study(spec, results, jobs=1)
    assert rerun.cached == len(kept) and rerun.computed == 12 - len(kept)
    after = cache_files(results, "tiny")
    assert all(after[name] == mtime for name, mtime in kept.items())  # finished tasks not recomputed


KILLABLE = """
title = "slow enough to kill"
seed = 3
seeds = 20
[base]
nodes = 1000
field = [316, 316]
[grid]
protocol = ["leach", "ileach"]
[[figures]]
name = "life"
kind = "line"
y = "alive"
hue = "protocol"
"""


def test_killed_run_restarts_without_recomputing(tmp_path):
    """`wsnmec study run` killed (SIGKILL) midway leaves only whole cache files; the restart computes only
    the missing tasks."""
    path = tmp_path / "slow.toml"
    path.write_text(KILLABLE, encoding="utf-8")
    results = tmp_path / "results"
    tasks_dir = results / "slow" / "tasks"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "wsnmec.cli", "study", "run", str(path), "--jobs", "1", "--results", str(results)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(list(tasks_dir.glob("*.parquet"))) >= 3:
                break
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)  # the runner and its worker
    finally:
        process.wait()
    kept = cache_files(results, "slow")
    assert 3 <= len(kept) < 40, "the run was not killed midway"
    spec = load_study(path)
    configs = {t.key: t.config for t in expand_tasks(spec)}
    for name in kept:
        key = name.removesuffix(".parquet")
        read_task(tasks_dir / name, key, configs[key])  # whole, valid files only
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "2", "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert f"40 tasks, {len(kept)} from cache, {40 - len(kept)} computed" in result.stdout
    after = cache_files(results, "slow")
    assert all(after[name] == mtime for name, mtime in kept.items())


def test_dask_cluster_gives_the_local_results(tiny, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, local_results, _ = tiny
    dask_results = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            cli.main, ["study", "run", str(path), "--scheduler", cluster.scheduler_address, "--results", str(dask_results)]
        )
    assert result.exit_code == 0, result.output
    assert "12 computed" in result.stdout
    for table in ("rounds", "summary"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(dask_results / "tiny" / "full" / f"{table}.parquet"),
            pd.read_parquet(local_results / "tiny" / "full" / f"{table}.parquet"),
        )


def test_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    from wsnmec.study import runner

    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT", "2s")
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    result = CliRunner().invoke(
        cli.main, ["study", "run", str(path), "--scheduler", "tcp://127.0.0.1:9", "--results", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "--scheduler" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_show_prints_mean_and_ci_per_grid_point(tiny):
    path, results, _ = tiny
    result = CliRunner().invoke(cli.main, ["study", "show", str(path), "--results", str(results)])
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(results / "tiny" / "full" / "summary.parquet")
    table = summary_table(summary, load_study(path))
    assert len(table) == 4 and "full study; 12 of 12 tasks" in result.stdout
    lines = result.stdout.splitlines()
    for _, row in table.iterrows():
        line = next(l for l in lines if f"protocol={row['protocol']}, semantics={row['semantics']}" in l)
        group = summary[(summary.protocol == row["protocol"]) & (summary.semantics == row["semantics"])]
        mean, low, high = mean_ci([float(v) for v in group["hnd"]])
        assert f"HND {mean:8.1f} [{low:8.1f}, {high:8.1f}]" in line


def test_show_without_results_is_bad_input(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["study", "show", str(path), "--results", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no results" in result.stderr
