"""Issue 12: interrupts and concurrent runners, with real processes (no mocks).

A `wsnmec study run` is started in its own session (process group) with two local workers; once it has
stored a task, it gets SIGINT to the whole group (what a terminal's Ctrl-C sends), SIGTERM, or SIGKILL. The
process tree is read from /proc before the signal; afterwards every one of those processes must be gone
(zombies, waiting for a reaper that is not theirs, count as gone) within 5 s.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from processes import descendants, running
from wsnmec.study.cache import read_task
from wsnmec.study.task_claims import TaskClaims
from wsnmec.study.runner import expand_tasks, run_study
from wsnmec.study.spec import load_study

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")

# Many short tasks: a run is always midway when the signal comes.
LONG_STUDY = """
title = "long"
seed = 5
seeds = 400
[base]
nodes = 600
rounds = 200
"""


def start_study(tmp_path: Path, text: str, jobs: int = 2, name: str = "long"):
    study = tmp_path / f"{name}.toml"
    if not study.exists():
        study.write_text(text, encoding="utf-8")
    results = tmp_path / "results"
    log = open(tmp_path / f"stderr-{time.monotonic_ns()}.txt", "w+", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "wsnmec", "study", "run", str(study), "--jobs", str(jobs), "--results", str(results)],
        stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True, text=True,
    )
    return process, results / name / "tasks", log


def wait_for_tasks(process, tasks_dir: Path, count: int, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(tasks_dir.glob("*.parquet"))) >= count:
            return
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"the run did not store {count} task(s) in {timeout} s")


def leftovers(directory: Path) -> list[str]:
    """Temporary files and claims under ``directory``."""
    return sorted(p.name for p in directory.rglob("*") if ".tmp" in p.name or p.name.endswith(".claim"))


@pytest.mark.slow
@pytest.mark.parametrize("how, code", [("SIGINT to the group", 130), ("SIGINT twice to the group", 130),
                                       ("SIGTERM", 143)])
def test_interrupt_ends_workers_keeps_tasks_and_exits(tmp_path, how, code):
    process, tasks_dir, log = start_study(tmp_path, LONG_STUDY)
    try:
        wait_for_tasks(process, tasks_dir, 1)
        tree = descendants(process.pid)
        assert len(tree) >= 2, "expected the worker processes below the runner"
        sent = time.monotonic()
        if how == "SIGTERM":
            os.kill(process.pid, signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)
            if how.startswith("SIGINT twice"):  # an impatient second Ctrl-C during the clean-up
                time.sleep(0.05)
                os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        exited = time.monotonic() - sent
        while running(tree) and time.monotonic() - sent < 5:
            time.sleep(0.05)
        alone = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == code
    assert exited < 5, f"exit took {exited:.1f} s"
    assert running(tree) == [], f"processes left {alone:.1f} s after the signal"
    log.seek(0)
    lines = log.read().strip().splitlines()
    assert len(lines) == 1, lines
    match = re.fullmatch(r"interrupted: (\d+) tasks kept, (\d+) not run; rerun to continue", lines[0])
    assert match, lines[0]
    kept = sorted(tasks_dir.glob("*.parquet"))
    assert int(match.group(1)) == len(kept) >= 1 and int(match.group(1)) + int(match.group(2)) == 400
    assert leftovers(tmp_path / "results") == []
    configs = {t.key: t.config for t in expand_tasks(load_study(tmp_path / "long.toml"))}
    for path in kept:
        read_task(path, path.stem, configs[path.stem])  # whole, checksummed files


@pytest.mark.slow
def test_workers_exit_by_themselves_when_the_runner_is_killed(tmp_path):
    process, tasks_dir, _ = start_study(tmp_path, LONG_STUDY)
    try:
        wait_for_tasks(process, tasks_dir, 1)
        tree = descendants(process.pid)
        assert len(tree) >= 2
        sent = time.monotonic()
        os.kill(process.pid, signal.SIGKILL)  # the runner only: nobody tells the workers
        process.wait(timeout=30)
        while running(tree) and time.monotonic() - sent < 5:
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
    assert running(tree) == [], "workers outlived their killed parent by 5 s"


@pytest.mark.slow
def test_two_concurrent_runners_compute_each_task_once(tmp_path):
    """Two `wsnmec study run`s on one results directory split the tasks: the computations of both add up to
    the task count, and their tables equal those of a single runner."""
    text = LONG_STUDY.replace("seeds = 400", "seeds = 24").replace("nodes = 600", "nodes = 300")
    first, tasks_dir, first_log = start_study(tmp_path, text, jobs=1)
    second, _, second_log = start_study(tmp_path, text, jobs=1)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    for log in (first_log, second_log):
        log.seek(0)
    assert first.returncode == second.returncode == 0, (outputs, first_log.read(), second_log.read())
    computed = [int(re.search(r"(\d+) computed", out).group(1)) for out in outputs]
    assert sum(computed) == 24, outputs  # no task computed twice
    assert len(list(tasks_dir.glob("*.parquet"))) == 24
    assert leftovers(tmp_path / "results") == []
    shared = pd.read_parquet(tmp_path / "results" / "long" / "full" / "rounds.parquet")
    single = run_study(load_study(tmp_path / "long.toml"), tmp_path / "single", jobs=1)
    pd.testing.assert_frame_equal(shared, single.rounds)


def test_stale_claim_of_a_dead_process_is_taken_over(tmp_path):
    study = tmp_path / "tiny.toml"
    study.write_text("seed = 1\nseeds = 3\n[base]\nnodes = 10\nrounds = 5\n", encoding="utf-8")
    spec = load_study(study)
    tasks = expand_tasks(spec)
    cache_dir = tmp_path / "results" / "tiny" / "tasks"
    cache_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE, text=True)
    pid = int(dead.communicate()[0])
    for task in tasks[:2]:  # claimed by a runner that died
        (cache_dir / f"{task.key}.claim").write_text(f'{{"host": "{os.uname().nodename}", "pid": {pid}}}')
    (cache_dir / f"{tasks[2].key}.claim").write_text("")  # a runner killed while writing its claim ...
    old = time.time() - 60
    os.utime(cache_dir / f"{tasks[2].key}.claim", (old, old))  # ... a minute ago
    run = run_study(spec, tmp_path / "results", jobs=1)
    assert run.computed == 3
    assert leftovers(tmp_path / "results") == []


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_live_claim_is_waited_for_then_taken_over_when_its_process_dies(tmp_path):
    study = tmp_path / "tiny.toml"
    study.write_text("seed = 1\nseeds = 2\n[base]\nnodes = 10\nrounds = 5\n", encoding="utf-8")
    spec = load_study(study)
    tasks = expand_tasks(spec)
    cache_dir = tmp_path / "results" / "tiny" / "tasks"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from wsnmec.study.task_claims import TaskClaims; "
         f"c = TaskClaims({str(cache_dir)!r}); assert c.acquire({tasks[0].key!r}); print('held', flush=True); "
         "time.sleep(1.5)"],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    assert holder.stdout.readline().strip() == "held"
    claims = TaskClaims(cache_dir)
    assert not claims.acquire(tasks[0].key), "a live runner's claim must not be taken"
    started = time.monotonic()
    run = run_study(spec, tmp_path / "results", jobs=1)
    holder.wait()
    assert run.computed == 2  # the holder computed nothing; its claim was taken over once it exited
    assert time.monotonic() - started >= 1.0 - 0.2
    assert leftovers(tmp_path / "results") == []
