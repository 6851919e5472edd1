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
    return os.environ.get("OPENBLAS_NUM_THREADS"), numba.get_num_threads(), _blas_threads()


def test_study_workers_get_one_thread_each_when_jobs_exceed_one():
    from wsnmec.study.runner import ExecutorHandle

    with ExecutorHandle(jobs=2) as handle:
        env, numba_threads, blas = handle.executor.submit(_worker_threads).result()
    assert env == "1" and numba_threads == 1 and all(n == 1 for n in blas)


def test_offload_progress_bar_only_on_a_terminal(monkeypatch):
    args = ["offload", "--frames", "120", "--seed", "3", "--devices", "2", "--tasks", "2"]
    monkeypatch.setattr(console, "PROGRESS_DELAY_S", 0.0)
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
