"""Steady speed and feedback: one BLAS thread for the learner, no oversubscribed study workers, progress
bars only where a person watches, the first-compile notice, and --list-params."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli, console, threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


def test_single_blas_thread_limits_the_block_and_restores():
    np.dot(np.ones((4, 4)), np.ones((4, 4)))  # load BLAS
    before = _blas_threads()
    with threads.single_blas_thread():
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_the_learner_loop_runs_with_one_blas_thread(monkeypatch):
    from wsnmec.offload import mumt_model
    from wsnmec.offload.ddlo import DDLO
    from wsnmec.offload.online import compare_policies

    seen = []
    original = DDLO.train_step

    def spy(self):
        seen.append(_blas_threads())
        return original(self)

    monkeypatch.setattr(DDLO, "train_step", spy)
    model = mumt_model(2, 2)
    states = model.random_states(np.random.default_rng(0), 200)
    compare_policies(model, states, learner_options={"batch_size": 8, "memory_size": 64, "train_interval": 5})
    assert seen and all(all(n == 1 for n in counts) for counts in seen)


def _worker_threads():
    import numba

    np.dot(np.ones((4, 4)), np.ones((4, 4)))
    return (os.environ.get("OPENBLAS_NUM_THREADS"), numba.get_num_threads(), _blas_threads(),
            threads.allowed_threads())


def test_study_workers_get_one_thread_each_when_jobs_exceed_one():
    """Each worker's BLAS, numba and the package's own threads (allowed_threads: spread's parallel sets) are
    limited to one."""
    from wsnmec.study.runner import ExecutorHandle

    with ExecutorHandle(jobs=2) as handle:
        env, numba_threads, blas, allowed = handle.executor.submit(_worker_threads).result()
    assert env == "1" and numba_threads == 1 and all(n == 1 for n in blas) and allowed == 1


@pytest.mark.slow  # a local Dask cluster costs seconds to start
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: no limit to observe")
def test_dask_tasks_get_one_thread_each():
    """A Dask worker runs tasks on several threads of one process; each task submitted through the study's
    executor runs with one BLAS thread, one numba thread and allowed_threads() == 1, where a bare submit
    sees the worker's defaults."""
    distributed = pytest.importorskip("distributed")
    from wsnmec.study.runner import ExecutorHandle

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        with ExecutorHandle(scheduler=cluster.scheduler_address) as handle:
            bare = handle.executor.submit(_worker_threads).result()
            limited = [future.result() for future in [handle.submit(_worker_threads) for _ in range(4)]]
    assert bare[1] > 1 and bare[3] > 1  # the worker's defaults: a thread per core
    for env, numba_threads, blas, allowed in limited:
        assert env == "1" and numba_threads == 1 and all(n == 1 for n in blas) and allowed == 1


def test_offload_progress_bar_only_on_a_terminal(monkeypatch):
    args = ["offload", "--frames", "120", "--seed", "3", "--devices", "2", "--tasks", "2"]
    monkeypatch.setattr(console, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: True)  # no compile notice: bars only
    plain = CliRunner().invoke(cli.main, args)
    assert plain.exit_code == 0 and plain.stderr == ""  # stderr is not a terminal here
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    bars = []
    real = console.progress_bar
    monkeypatch.setattr(console, "progress_bar", lambda *a, **k: bars.append(real(*a, **k)) or bars[-1])
    shown = CliRunner().invoke(cli.main, args)
    assert shown.exit_code == 0, shown.output
    assert "offload:" in shown.stderr and "decision" in shown.stderr
    # 120 learner frames + 24 test frames x 6 baselines (optimal included) = 264 decisions, all counted
    assert len(bars) == 1 and bars[0].total == 264 and bars[0].n == 264
    def utilities(text):  # the decision times differ between runs; the decisions do not
        return [line.split()[:2] for line in text.splitlines()[2:]]

    assert utilities(shown.stdout) == utilities(plain.stdout)
    quiet = CliRunner().invoke(cli.main, [*args, "--json"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_compile_notice_once_when_kernels_are_not_compiled(monkeypatch):
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: False)
    args = ["run", "--nodes", "10", "--e0", "0.01", "--seed", "1"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.count(console.COMPILE_NOTICE) == 1
    assert len([line for line in result.stderr.splitlines() if "compiling" in line]) == 1
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: True)
    assert console.COMPILE_NOTICE not in CliRunner().invoke(cli.main, args).stderr
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: False)
    assert CliRunner().invoke(cli.main, [*args, "--json"]).stderr == ""


@pytest.mark.parametrize("command", [
    ["run", "--nodes", "10", "--e0", "0.01", "--seed", "1"],
    ["offload", "--frames", "60", "--seed", "3", "--devices", "2", "--tasks", "2"],
    ["compare", "--protocols", "direct,leach", "--nodes", "10", "--rounds", "20", "--replicas", "2", "--seed", "1"],
])
def test_compile_notice_is_one_line_when_stderr_is_not_a_terminal(monkeypatch, command):
    """Under nohup or CI (stderr a file or a pipe) a cold cache still says that it compiles: the notice, once,
    as the whole of stderr (no progress bar); --json stays silent."""
    monkeypatch.setattr(console, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: False)  # the cache is cold
    assert not cli._stderr_is_terminal()  # CliRunner's stderr is a buffer
    result = CliRunner().invoke(cli.main, command)
    assert result.exit_code == 0, result.output
    assert result.stderr == console.COMPILE_NOTICE + "\n"
    assert CliRunner().invoke(cli.main, [*command, "--json"]).stderr == ""


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_compile_notice_reaches_a_redirected_stderr_of_a_real_process(tmp_path):
    """The same in a real process whose stderr is a file (as under nohup): the notice is its one line."""
    import subprocess
    import sys

    script = ("import sys; from wsnmec import cli, console; console.kernels_cached = lambda *k: False; "
              "cli.main(sys.argv[1:])")
    with open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.run([sys.executable, "-c", script, "run", "--nodes", "5", "--rounds", "1", "--seed", "1"],
                              stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.returncode == 0 and "FND" in proc.stdout
    assert (tmp_path / "err.txt").read_text() == console.COMPILE_NOTICE + "\n"


def test_kernels_cached_is_false_for_a_cold_cache(tmp_path):
    """An empty numba cache (NUMBA_CACHE_DIR) reads as cold (the index is looked up, nothing is compiled)."""
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cold")}
    probe = subprocess.run([sys.executable, "-c", "from wsnmec import console; "
                            "print(console.kernels_cached(*console.simulator_kernels()))"],
                           env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"


def test_kernels_cached_reads_numba_cache_index():
    from wsnmec.sim.simulation import simulate
    from wsnmec.sim.scenario import Scenario

    simulate(Scenario(nodes=5, rounds=2), seed=1)  # compiled (or loaded) and cached now
    assert console.kernels_cached(*console.simulator_kernels())


@pytest.mark.parametrize("model", ["mumt", "wsn-ch", "wpmec"])
def test_list_params_lists_every_accepted_key_with_a_unit(model):
    from wsnmec.offload.params import PARAMETERS, defaults

    result = CliRunner().invoke(cli.main, ["offload", "--model", model, "--list-params"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()[1:]
    listed = [line.split()[0] for line in lines]
    assert listed == list(PARAMETERS[model]) and set(listed) == set(defaults(model))
    assert all("[" in line and "]" in line for line in lines)
    # every listed key is accepted by --param (its default value passed back)
    for key, value in defaults(model).items():
        if value is None:
            continue
        run = CliRunner().invoke(cli.main, ["offload", "--model", model, "--frames", "20", "--seed", "1",
                                            "--param", f"{key}={value if isinstance(value, str) else repr(value)}",
                                            "--json"])
        assert run.exit_code == 0, (key, run.output)
