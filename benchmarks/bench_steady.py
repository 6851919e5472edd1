"""Steady speed under load (issue 11): the offload experiment's wall time with a one-core CPU hog running,
against its quiet time, with the learner's BLAS limited to one thread (what wsnmec does) and, for
comparison, with the BLAS library's default thread count.

The benchmark starts the hog itself (a separate process spinning on one core; the other core stays free)
and stops it afterwards. It reports in ``extra_info``: the quiet and loaded times of both variants [s] and
their ratios (target: loaded / quiet <= 1.5 with one BLAS thread). Run:

    python3 -m pytest benchmarks/bench_steady.py --benchmark-only -s

Uses the published DDLO data set (``../shared/peers/ddlo/MUMT_data_3x3.mat`` next to the repository) when
present, else 10,000 random frames; the numbers depend on the machine and on everything else it runs.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path


from wsnmec import threads
from wsnmec.offload.online import run_experiment

DATASET = Path(__file__).resolve().parents[2] / "shared" / "peers" / "ddlo" / "MUMT_data_3x3.mat"
OPTIONS = {"memory_size": 1024, "batch_size": 128, "train_interval": 10, "learning_rate": 0.01,
           "batch_norm": False, "quantization": "threshold", "candidates": 1, "input_scale": 10.0}


@contextlib.contextmanager
def cpu_hog():
    """One process spinning on one core (pinned to core 0 where the platform allows) until the block ends."""
    code = "import os\ntry:\n    os.sched_setaffinity(0, {0})\nexcept Exception:\n    pass\nwhile True:\n    pass\n"
    hog = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.5)  # let it start spinning
        yield hog
    finally:
        hog.terminate()
        hog.wait(timeout=10)


@contextlib.contextmanager
def default_blas_threads(monkeypatch):
    """Undo wsnmec's one-thread limit (the behaviour before issue 11)."""
    monkeypatch.setattr(threads, "single_blas_thread", contextlib.nullcontext)
    yield


def experiment():
    if DATASET.is_file():
        return run_experiment(dataset=str(DATASET), networks=3, seed=1, learner_options=OPTIONS)
    return run_experiment(frames=10_000, networks=3, seed=1, learner_options=OPTIONS)


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_offload_under_a_one_core_hog(benchmark, monkeypatch):
    experiment()  # compile the kernels once
    quiet = seconds(experiment)
    with cpu_hog():
        loaded = benchmark.pedantic(experiment, rounds=1, iterations=1)
        loaded = benchmark.stats["max"]
    with default_blas_threads(monkeypatch):
        quiet_default = seconds(experiment)
        with cpu_hog():
            loaded_default = seconds(experiment)
    benchmark.extra_info.update(
        dataset=DATASET.name if DATASET.is_file() else "10000 random frames",
        quiet_s=quiet, loaded_s=loaded, ratio=loaded / quiet,
        default_threads_quiet_s=quiet_default, default_threads_loaded_s=loaded_default,
        default_threads_ratio=loaded_default / quiet_default,
    )
    print(f"\none BLAS thread: quiet {quiet:.2f} s, with a one-core hog {loaded:.2f} s ({loaded / quiet:.2f}x); "
          f"default BLAS threads: quiet {quiet_default:.2f} s, with the hog {loaded_default:.2f} s "
          f"({loaded_default / quiet_default:.2f}x)")
