"""Start-up time of the command line: a new process for ``wsnmec --help`` and for ``wsnmec run --rounds 1
--nodes 100`` (the default scenario otherwise), from the interpreter's start to its exit.

Run with ``python -m pytest benchmarks/bench_startup.py --benchmark-only`` from the repository root (the
source tree is imported through ``python -m wsnmec``). The numba kernels are loaded once before the timing
(a warm cache, as after ``wsnmec warmup``), so the run case measures imports, numba's start-up and one
round, not compilation. Targets (issue 19): ``--help`` under 0.5 s, the one-round run under 1.5 s on a quiet
machine. ``extra_info`` holds the best time [s] and the machine's 1-minute load average at the start.

What a process pays before the first round (measured with ``python -X importtime`` and a trivial cached
``@njit`` function): the interpreter, numpy, numba and numba's first call of any cached kernel (which
imports numba's own implementation modules, and through ``numba.np.linalg`` scipy.linalg for BLAS). The
benchmark ``python_numba_floor`` times that floor alone, so the two can be compared on any machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "help": ["--help"],
    "run_rounds_1_nodes_100": ["run", "--rounds", "1", "--nodes", "100", "--seed", "1"],
}

#: A trivial cached kernel called once in a new process: what any numba command pays at least.
FLOOR = textwrap.dedent("""
    import numpy as np
    from wsnmec.sim.nearest import sink_distances
    sink_distances(np.zeros(3), np.zeros(3), 0.0, 0.0)
""")


def _spawn(args):
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module", autouse=True)
def warm_kernels():
    """Load (or compile, once) the kernels of the timed run before any timing."""
    _spawn([sys.executable, "-m", "wsnmec", *COMMANDS["run_rounds_1_nodes_100"]])


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_startup(benchmark, name):
    benchmark.extra_info["load_1min"] = os.getloadavg()[0]
    benchmark.pedantic(_spawn, args=([sys.executable, "-m", "wsnmec", *COMMANDS[name]],), rounds=5, iterations=1)
    benchmark.extra_info["best_s"] = benchmark.stats.stats.min


def test_python_numba_floor(benchmark):
    benchmark.extra_info["load_1min"] = os.getloadavg()[0]
    benchmark.pedantic(_spawn, args=([sys.executable, "-c", FLOOR],), rounds=5, iterations=1)
    benchmark.extra_info["best_s"] = benchmark.stats.stats.min
