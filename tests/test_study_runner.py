"""The study runner: tasks through local processes or a Dask cluster, the cache across runs, interrupted
runs, and the `wsnmec study run|show` commands."""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.sim.metrics import mean_ci
from wsnmec.study import runner
from wsnmec.study.cache import read_task, task_key
from wsnmec.study.runner import StudyRunError, compute_task, expand_tasks, run_study, summary_table
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
    from wsnmec.sim.simulation import simulate

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
seeds = 6
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


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
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
    assert 3 <= len(kept) < 12, "the run was not killed midway"
    spec = load_study(path)
    configs = {t.key: t.config for t in expand_tasks(spec)}
    for name in kept:
        key = name.removesuffix(".parquet")
        read_task(tasks_dir / name, key, configs[key])  # whole, valid files only
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "2", "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert f"12 tasks, {len(kept)} from cache, {12 - len(kept)} computed" in result.stdout
    after = cache_files(results, "slow")
    assert all(after[name] == mtime for name, mtime in kept.items())


def task_id(scenario, seed) -> str:
    """A task's identity from its scenario and seed, the same in the runner and in a worker (unlike the cache
    key, it does not hash the package's source files, which other work may edit while a test runs)."""
    return task_key({"scenario": scenario.to_config(), "seed": int(seed)})


def dying_task(scenario, seed, *, victim: str, log: str, marker: str | None = None, cache_dir: str = ""):
    """A worker task for tests: :func:`compute_task`, except that the task whose :func:`task_id` is
    ``victim`` kills its own worker process with SIGKILL.

    With ``marker`` it does so once: the first attempt creates the marker file (exclusively), writes into
    it the cache files present at that moment (``name mtime_ns`` lines) and dies; later attempts compute.
    Without ``marker`` it dies every time. Every attempt appends the task's id to the file ``log``.
    """
    key = task_id(scenario, seed)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(key + "\n")
    if key == victim:
        if marker is None:
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            with open(marker, "x", encoding="utf-8") as handle:
                for path in sorted(Path(cache_dir).glob("*.parquet")):
                    handle.write(f"{path.name} {path.stat().st_mtime_ns}\n")
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return compute_task(scenario, seed)


def failing_task(scenario, seed, *, victim: str):
    """A worker task for tests: :func:`compute_task`, except that the task ``victim`` raises."""
    if task_id(scenario, seed) == victim:
        raise ValueError("injected failure\nwith a second line")
    return compute_task(scenario, seed)


def assert_cache_whole(results: Path, spec) -> dict[str, int]:
    """Every file in the study's cache is a whole, valid task result (no temporary or foreign files)."""
    tasks_dir = results / spec.name / "tasks"
    configs = {t.key: t.config for t in expand_tasks(spec)}
    files = sorted(tasks_dir.iterdir())
    assert all(p.suffix == ".parquet" and not p.name.startswith(".") for p in files), files
    for path in files:
        key = path.name.removesuffix(".parquet")
        read_task(path, key, configs[key])
    return cache_files(results, spec.name)


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_killed_worker_is_replaced_and_the_run_completes(tiny, tmp_path):
    """The 6th task's worker is SIGKILLed once, midway through a 2-process run: one line reports the
    re-queued tasks, a fresh pool finishes them, the tasks finished before the kill are not recomputed,
    and the tables equal those of an undisturbed run."""
    path, tiny_results, _ = tiny
    spec = load_study(path)
    results = tmp_path / "results"
    tasks = expand_tasks(spec)
    ids = {t.key: task_id(t.scenario, t.seed) for t in tasks}
    victim, log, marker = ids[tasks[5].key], tmp_path / "attempts.log", tmp_path / "killed"
    task = functools.partial(
        dying_task, victim=victim, log=str(log), marker=str(marker), cache_dir=str(results / "tiny" / "tasks")
    )
    events = []
    run = run_study(
        spec, results, jobs=2, task_function=task, report=lambda m: events.append(("report", m)),
        on_task_done=lambda t: events.append(("done", t.key)),
    )
    assert marker.exists(), "the worker was not killed"
    assert run.computed == 12 and run.cached == 0 and run.worker_failures == 1
    reports = [m for kind, m in events if kind == "report"]
    assert len(reports) == 1
    match = re.fullmatch(r"study tiny: worker died; (\d+) tasks? re-queued", reports[0])
    assert match, reports
    done_before = [ids[k] for kind, k in events[: events.index(("report", reports[0]))] if kind == "done"]
    assert int(match.group(1)) == 12 - len(done_before) and victim not in done_before
    assert len(done_before) >= 4  # a worker takes the 6th task only after finishing 4 (2 workers)
    # attempts: the victim twice; a task whose result had not reached the runner when the pool broke (it
    # was running, or its result was lost with the pool) runs again, once; a stored task never does
    attempts = log.read_text(encoding="utf-8").split()
    assert set(attempts) == set(ids.values())
    assert attempts.count(victim) == 2
    assert all(attempts.count(i) <= 2 for i in ids.values())
    for key in done_before:
        assert attempts.count(key) == 1, "a task finished before the kill was recomputed"
    # cache files present when the worker died were not rewritten
    at_kill = dict(line.split() for line in marker.read_text(encoding="utf-8").splitlines())
    after = assert_cache_whole(results, spec)
    assert len(after) == 12
    assert all(after[name] == int(mtime) for name, mtime in at_kill.items())
    for table in ("rounds", "summary"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(results / "tiny" / "full" / f"{table}.parquet"),
            pd.read_parquet(tiny_results / "tiny" / "full" / f"{table}.parquet"),
        )


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_task_that_always_kills_its_worker_stops_with_one_line(tmp_path, monkeypatch):
    """A task that kills its worker every time: two restarts, then a one-line error (exit code 1, no
    traceback) naming the study and the tasks finished, which stay cached; a rerun computes the rest."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    spec = load_study(path)
    results = tmp_path / "results"
    tasks = expand_tasks(spec)
    victim, log = task_id(tasks[4].scenario, tasks[4].seed), tmp_path / "attempts.log"
    monkeypatch.setattr(runner, "compute_task", functools.partial(dying_task, victim=victim, log=str(log)))
    result = CliRunner().invoke(
        cli.main, ["study", "run", str(path), "--jobs", "1", "--results", str(results)]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[:2] == ["warning: study tiny: worker died; 8 tasks re-queued"] * 2
    assert len(lines) == 3 and lines[2].startswith("Error: study tiny: a worker process died 3 time(s) in a row")
    assert lines[2].endswith("4 of 12 tasks finished and kept in the cache")
    assert log.read_text(encoding="utf-8").split().count(victim) == 3  # first attempt and two retries
    kept = assert_cache_whole(results, spec)
    assert set(kept) == {f"{t.key}.parquet" for t in tasks[:4]}
    monkeypatch.undo()
    rerun = run_study(spec, results, jobs=1)
    assert rerun.cached == 4 and rerun.computed == 8 and rerun.worker_failures == 0
    assert all(cache_files(results, "tiny")[name] == mtime for name, mtime in kept.items())


def test_failing_task_is_one_line_and_keeps_finished_tasks(tmp_path, monkeypatch):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    spec = load_study(path)
    results = tmp_path / "results"
    victim = expand_tasks(spec)[2]
    monkeypatch.setattr(
        runner, "compute_task", functools.partial(failing_task, victim=task_id(victim.scenario, victim.seed))
    )
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "1", "--results", str(results)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    kept = assert_cache_whole(results, spec)  # the tasks before it, and any that finished meanwhile
    assert len(kept) >= 2 and f"{victim.key}.parquet" not in kept
    assert lines == [
        f"Error: study tiny: task {victim.point} seed {victim.seed} failed: ValueError: injected failure; "
        f"{len(kept)} of 12 tasks finished and kept in the cache"
    ]


@pytest.mark.slow  # a local Dask cluster (scheduler and two worker processes) costs seconds to start
def test_dask_cluster_gives_the_local_results(tiny, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    path, local_results, _ = tiny
    dask_results = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            cli.main, ["study", "run", str(path), "--scheduler", cluster.scheduler_address, "--results", str(dask_results)]
        )
        assert result.exit_code == 0, result.output
        # a task failing on the cluster is one line too
        victim = expand_tasks(load_study(path))[3]
        monkeypatch.setattr(
            runner, "compute_task", functools.partial(failing_task, victim=task_id(victim.scenario, victim.seed))
        )
        failed = CliRunner().invoke(
            cli.main, ["study", "run", str(path), "--scheduler", cluster.scheduler_address, "--results", str(tmp_path / "f")]
        )
    assert "12 computed" in result.stdout
    for table in ("rounds", "summary"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(dask_results / "tiny" / "full" / f"{table}.parquet"),
            pd.read_parquet(local_results / "tiny" / "full" / f"{table}.parquet"),
        )
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"Error: study tiny: task {victim.point} seed {victim.seed} failed: ValueError: injected failure; "
    ), lines
    assert lines[0].endswith(" of 12 tasks finished and kept in the cache")


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
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
