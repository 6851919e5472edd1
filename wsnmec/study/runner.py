"""Running a study: grid x seeds -> tasks -> an executor -> the task cache -> long-form tables.

A task is one grid point and one seed: ``simulate(scenario, seed=task_seed, replicas=1)``. The task seeds
are ``replica_seeds(study.seed, study.seeds)``, the same at every grid point (common random numbers), and
are recorded in every table (``seed`` and ``seed_index`` columns).

Tasks run through a :class:`concurrent.futures.Executor`: local worker processes by default
(:class:`~concurrent.futures.ProcessPoolExecutor`, one per core), or a Dask distributed cluster
(``Client(address).get_executor()``; each task there runs with one BLAS and numba thread,
:func:`~wsnmec.threads.run_single_threaded`, as the local workers do when there are several). The parent
process writes each finished task to the cache as soon as it arrives (workers need no shared file system),
so an interrupted run keeps every finished task and a rerun computes only what is missing.

A local worker process that dies (killed by the system, e.g. out of memory, or by a signal) breaks the
whole process pool. The runner then keeps every result that arrived, reports one line on stderr
(``worker died; N tasks re-queued``), starts a fresh pool and re-runs the unfinished tasks; after
``worker_retries`` pool failures in a row with no task finishing in between (a task that kills its worker
every time) it stops with :class:`StudyRunError`. A Dask cluster reschedules the tasks of a lost worker
itself; its errors (``KilledWorker``, a lost scheduler) surface as :class:`StudyRunError` too, which the
command line prints as one line.

Results are written under ``<results>/<study>/``: ``tasks/<key>.parquet`` (the cache) and, per mode
(``full`` or ``quick``), ``rounds.parquet`` (one row per task and round, the swept parameters as columns),
``summary.parquet`` (one row per task: FND, HND, LND, energies), ``study.json`` (parameters and seeds) and
the aggregates the figures read (:mod:`wsnmec.study.aggregates`); a rerun with nothing new to compute
reads only the summary and the aggregates.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import ParameterError
from ..io import write_set
from ..seeding import replica_seeds
from ..sim.scenario import Scenario
from ..threads import limit_process_threads, run_single_threaded
from . import aggregates
from .aggregates import Aggregates
from .cache import TaskCache, TaskResult, remove_stale_temporaries
from .interrupts import (
    CHECK_INTERVAL_S,
    StudyInterrupted,
    deferred_interrupts,
    signal_number,
    signals_ignored,
    stop_workers,
    worker_init,
)
from .kinds import Task, kind_of
from .task_claims import TaskClaims
from .spec import StudySpec


class StudyRunError(RuntimeError):
    """A study run that cannot finish (a failing task, workers that keep dying, a lost cluster).

    The message is one line naming the study and how many of its tasks finished (those are kept in the
    cache; a rerun computes only the rest).
    """


class _Stop(Exception):
    """Why a run stops (becomes a :class:`StudyRunError` once the finished results are stored)."""


#: Pool failures in a row (no task finishing in between) after which a run gives up.
WORKER_RETRIES = 2


@dataclass
class StudyRun:
    """What a run of a study produced.

    Attributes
    ----------
    rounds : DataFrame or None
        One row per task and round: the swept parameters, ``seed_index``, ``seed``, ``task`` (cache key)
        and the simulator's per-round columns. None when nothing changed since the last run (the run read
        only the summary and the aggregates); :meth:`load_rounds` then reads it from ``rounds.parquet``.
        Offloading studies: the per-frame table, or, when nothing changed, only the rows and columns their
        figures draw (``frames.parquet``, :func:`wsnmec.study.aggregates.frames_table`).
    summary : DataFrame
        One row per task: the swept parameters, ``seed_index``, ``seed``, ``task`` and the simulator's
        summary columns (``fnd``, ``hnd``, ``lnd``, ``rounds``, energies [J]).
    computed, cached : int
        Tasks computed by this run and tasks found in the cache.
    seconds : float
        Wall-clock time of the run [s].
    task_seconds : list of float
        Wall-clock time of each computed task in its worker [s].
    worker_failures : int
        Times the local process pool broke (a worker died) and was restarted during this run.
    aggregates : Aggregates
        What the figures read (:mod:`wsnmec.study.aggregates`).
    """

    spec: StudySpec
    tasks: list[Task]
    rounds: pd.DataFrame
    summary: pd.DataFrame
    computed: int
    cached: int
    seconds: float
    directory: Path
    task_seconds: list[float] = field(default_factory=list)
    worker_failures: int = 0
    aggregates: Aggregates | None = None

    def load_rounds(self, report: Callable[[str], None] | None = None) -> pd.DataFrame:
        """The long-form rounds table (``rounds`` is None when the run read only the stored aggregates).

        ``rounds.parquet`` is read only when its bytes have the SHA-256 the mode directory's manifest
        records; otherwise (damaged, edited, no manifest) one line goes to ``report`` (default: stderr),
        the table is made again from the task cache and the manifest is removed, so that the next run
        writes every derived table again."""
        if self.rounds is None:
            from ..integrity import load_sealed_json, read_parquet_verified

            path = self.directory / "rounds.parquet"
            manifest = self.directory / kind_of(self.spec).manifest_name
            try:
                expected = load_sealed_json(manifest).get("tables_sha256", {}).get("rounds.parquet")
                self.rounds = read_parquet_verified(path, expected)
            except Exception as exc:  # damaged, changed or missing: make it again from the (verified) cache
                (report or _stderr_report)(f"{path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                           "; making it again from the task cache")
                cache = TaskCache(self.directory.parent / "tasks")
                rounds, _summary, missing = collect(self.spec, self.tasks, cache, report=report or _stderr_report)
                if missing:
                    raise StudyRunError(f"study {self.spec.name}: {len(missing)} task result(s) missing from "
                                        f"{cache.directory}; rerun to recompute them") from None
                with contextlib.suppress(OSError):
                    manifest.unlink()
                self.rounds = rounds
        return self.rounds


#: id(spec) -> (spec, its tasks): a study's tasks are expanded once per process (and forked drawing
#: processes inherit them), as every task's configuration and key take a while to build for large grids.
_EXPANDED: dict[int, tuple[object, list]] = {}


def expand_tasks(spec: StudySpec) -> list[Task]:
    """The study's tasks: grid points in file order (last parameter fastest), then seeds."""
    known = _EXPANDED.get(id(spec))
    if known is not None and known[0] is spec:
        return list(known[1])
    tasks = _expand_tasks(spec)
    _EXPANDED[id(spec)] = (spec, tasks)
    return list(tasks)


def _expand_tasks(spec: StudySpec) -> list[Task]:
    return kind_of(spec).expand_tasks(spec)


def compute_task(scenario: Scenario, seed: int) -> tuple[TaskResult, float]:
    """Run one task in a worker: ``simulate(scenario, seed, replicas=1)`` on one core.

    Returns the result and the wall-clock time it took [s].
    """
    from ..sim.simulation import simulate

    from ..limits import check_run_result

    import warnings

    start = time.perf_counter()
    # A worker's warnings are held until the task ends: dropped when it fails with the one-line error the
    # parent reports (as the command line does), shown when it succeeds.
    one_line_error = False
    try:
        with warnings.catch_warnings(record=True) as held:
            try:
                result = simulate(scenario, seed=seed, replicas=1, workers=1)
                check_run_result(result)  # a non-finite energy fails the task (one line), never enters the cache
            except ParameterError:
                one_line_error = True
                raise
    finally:
        if not one_line_error:
            for message in held:
                warnings.showwarning(message.message, message.category, message.filename, message.lineno,
                                     message.file, message.line)
    return TaskResult(rounds=result.rounds, summary=result.summary), time.perf_counter() - start


def available_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Modules the forkserver of the local worker processes imports once (``__main__`` is the default).
WORKER_PRELOAD = ["__main__", "wsnmec.study.runner", "wsnmec.sim.simulation", "wsnmec.study.worker_start"]

#: Tasks submitted ahead to a Dask cluster at most (claimed as they are submitted).
DASK_WINDOW = 256

#: How long to wait for a Dask scheduler to answer.
SCHEDULER_TIMEOUT = "20s"


class ExecutorHandle:
    """An executor and how to close it: local processes (``jobs``) or a Dask cluster (``scheduler``)."""

    def __init__(self, jobs: int | None = None, scheduler: str | None = None):
        self.client = None
        if scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ParameterError(
                    "--scheduler", "needs dask distributed: pip install 'wsnmec[dask]'"
                ) from None
            try:
                self.client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ParameterError(
                    "--scheduler", f"must be the address of a running Dask scheduler (tcp://HOST:PORT); "
                    f"cannot connect to {scheduler!r}: {exc}"
                ) from None
            self.executor: Executor = self.client.get_executor(pure=False)
            self.description = f"Dask cluster {scheduler}"
        else:
            if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
                raise ParameterError("--jobs", f"must be an integer >= 1, got {jobs!r}")
            self.jobs = jobs or available_cores()
            self.executor = self._process_pool()
            self.description = f"{self.jobs} local process{'es' if self.jobs > 1 else ''}"

    def _process_pool(self) -> ProcessPoolExecutor:
        methods = multiprocessing.get_all_start_methods()
        # forkserver: workers start from a clean single-threaded process, not a fork of this one
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        if "forkserver" in methods:
            # the server imports what a worker needs once (before it starts; later calls change nothing), so
            # that each worker of each pool is forked with it loaded instead of importing it again (about
            # 0.5 s of CPU per worker; the study tests' CPU time fell by a third)
            context.set_forkserver_preload(WORKER_PRELOAD)
        # several workers: one BLAS/numba thread each, so that they never oversubscribe the cores
        return ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=context, initializer=_init_worker,
            initargs=(os.getpid(), 1 if self.jobs > 1 else 0),
        )

    def submit(self, function, *args):
        """Submit ``function(*args)``; on a Dask cluster it runs under :func:`~wsnmec.threads.run_single_threaded`
        (a Dask worker runs tasks on several threads of one process, and each task's numba and BLAS would
        otherwise start a thread per core), as the local workers are limited by their initializer."""
        if self.client is not None:
            return self.executor.submit(run_single_threaded, function, *args)
        return self.executor.submit(function, *args)

    @property
    def window(self) -> int:
        """Tasks submitted ahead at most (claimed as they are submitted): two per local worker; a Dask
        cluster gets :data:`DASK_WINDOW`."""
        return DASK_WINDOW if self.client is not None else 2 * self.jobs

    @property
    def restartable(self) -> bool:
        """Whether a broken executor can be replaced (local processes; Dask reschedules by itself)."""
        return self.client is None

    def restart(self):
        """Replace a broken local process pool by a fresh one (the old one's workers are gone)."""
        if not self.restartable:
            raise RuntimeError("only a local process pool can be restarted")
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._process_pool()

    def abort(self):
        """Stop now (after Ctrl-C, SIGTERM or a failed task): cancel pending work and terminate the local
        workers (:func:`~wsnmec.study.interrupts.stop_workers`); a Dask client is closed."""
        if isinstance(self.executor, ProcessPoolExecutor):
            stop_workers(self.executor)
        else:
            self.executor.shutdown(wait=False)
        self.close()

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None
        elif isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _stderr_report(message: str):
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def _point_value(value):
    """A swept value as a table cell (lists such as a field become ``"W,H"``, a ``case`` its name)."""
    if isinstance(value, dict):
        return value["name"]
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return value


def _label_frame(frame: pd.DataFrame, spec: StudySpec, task: Task) -> pd.DataFrame:
    labels = {name: _point_value(task.point[name]) for name in spec.grid}
    labels.update(seed_index=task.seed_index, seed=task.seed, task=task.key)
    body = frame.drop(columns=[c for c in ("replica", "seed") if c in frame.columns])
    head = pd.DataFrame({name: [value] * len(body) for name, value in labels.items()}, index=body.index)
    return pd.concat([head, body], axis=1)


def study_directory(results_dir: str | os.PathLike, spec: StudySpec) -> Path:
    return Path(results_dir) / spec.name


def task_cache(results_dir: str | os.PathLike, spec: StudySpec) -> TaskCache:
    return TaskCache(study_directory(results_dir, spec) / "tasks")


def cached_run_line(spec: StudySpec, results_dir: str | os.PathLike) -> str | None:
    """The run line of ``wsnmec figures`` (``NAME (MODE): T tasks, C from cache, 0 computed in 0.0 s ->
    DIR``) when a cache file exists for every task of ``spec`` and the stored tables are current (every
    task file and derived table has the checksum the manifest records:
    :meth:`~wsnmec.study.kinds.StudyKind.tables_current`; files are hashed, not parsed); None otherwise
    (the study must run: a damaged task file is reported and its task recomputed)."""
    tasks = expand_tasks(spec)
    cache = task_cache(results_dir, spec)
    keys = {t.key for t in tasks}
    if not all(cache.path(key).is_file() for key in keys):
        return None
    directory = study_directory(results_dir, spec) / ("quick" if spec.quick else "full")
    if not kind_of(spec).tables_current(directory, spec, tasks, cache):
        return None
    return (f"{spec.name} ({'quick' if spec.quick else 'full'}): {len(tasks)} tasks, {len(keys)} from cache, "
            f"0 computed in 0.0 s -> {directory}")


def collect(
    spec: StudySpec, tasks: list[Task], cache: TaskCache, report=None, loaded: dict | None = None,
    action: str = "ignoring it and recomputing the task",
) -> tuple[pd.DataFrame, pd.DataFrame, list[Task]]:
    """Long-form rounds and summary tables of the cached tasks, and the tasks not (validly) cached.

    ``loaded`` maps keys to results already read from the cache (not read again); a damaged cache file is
    reported through ``report`` with ``action`` (:meth:`TaskCache.load`)."""
    rounds, summaries, missing = [], [], []
    loaded = loaded or {}
    for task in tasks:
        result = loaded.get(task.key) or cache.load(task.key, task.config, report=report, action=action)
        if result is None:
            missing.append(task)
            continue
        rounds.append(_label_frame(result.rounds, spec, task))
        summaries.append(_label_frame(result.summary, spec, task))
    if not rounds:
        return pd.DataFrame(), pd.DataFrame(), missing
    return (
        pd.concat(rounds, ignore_index=True),
        pd.concat(summaries, ignore_index=True),
        missing,
    )


def _advance(bar):
    """Callback moving the progress bar on by one task (a task another runner computed)."""
    return lambda task: bar.update(1)


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run_study(
    spec: StudySpec,
    results_dir: str | os.PathLike = "results",
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    executor: ExecutorHandle | None = None,
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
    on_task_done: Callable[[Task], None] | None = None,
    worker_retries: int = WORKER_RETRIES,
    task_function: Callable | None = None,
) -> StudyRun:
    """Run the tasks of ``spec`` missing from the cache and return the study's long-form tables.

    Parameters
    ----------
    spec : StudySpec
        The study (or its quick variant).
    results_dir : path
        Results directory; the cache is ``<results_dir>/<study>/tasks``.
    jobs, scheduler :
        Local worker processes (default: all cores), or a Dask scheduler address ``tcp://HOST:PORT``.
        Ignored when ``executor`` is given. A lifetime study's bound solves (``[bound]``) run after the tasks
        on local processes: the executor's, else ``jobs``, else all cores (also with a Dask scheduler).
    executor : ExecutorHandle, optional
        An executor shared by several runs (left open; a broken local pool is replaced in it).
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    report : callable, optional
        Receives warnings (a corrupt or foreign cache file, a dead worker); default: printed on stderr.
    on_task_done : callable, optional
        Called with each task once its result is in the cache.
    worker_retries : int
        When a local worker dies, the pool is restarted and the unfinished tasks re-queued; the run stops
        after ``worker_retries + 1`` pool failures in a row with no task finishing in between.
    task_function : callable, optional
        What a worker runs, ``task_function(scenario, seed) -> (TaskResult, seconds)``; default
        :func:`compute_task`. Must be picklable (a module-level function or a ``functools.partial`` of
        one). Tests use it to inject a worker that dies.

    Raises
    ------
    StudyRunError
        A task raised, workers kept dying, or the Dask cluster was lost. Every task finished before is kept
        in the cache.
    """
    started = time.perf_counter()
    report = report or _stderr_report
    kind = kind_of(spec)
    if task_function is None:
        task_function = kind.task_function
    tasks = expand_tasks(spec)
    cache = task_cache(results_dir, spec)
    for folder in (cache.directory, study_directory(results_dir, spec)):  # left by a killed run
        remove_stale_temporaries(folder)
    directory = study_directory(results_dir, spec) / ("quick" if spec.quick else "full")
    # the parent's own work after the tasks (a lifetime study's bound solves): as many local processes
    local_jobs = getattr(executor, "jobs", None) or jobs or available_cores()
    unchanged = _unchanged_run(spec, tasks, cache, directory, started, local_jobs)
    if unchanged is not None:
        return unchanged
    pending, loaded = _split_by_cache(tasks, cache, report)
    computation = _PendingComputation(spec, cache, loaded, len(loaded) + len(pending), report, on_task_done)
    if pending:
        computation.run(
            list(pending.values()), executor=executor, jobs=jobs, scheduler=scheduler, progress=progress,
            task_function=task_function, worker_retries=worker_retries,
        )
    return _written_run(spec, tasks, cache, directory, computation, started, report, local_jobs)


def _adjusted_summary(kind, directory, spec, tasks, summary, stored: bool, jobs):
    """``kind.adjust_summary`` with ``jobs`` when it takes them (a study kind written before they were passed
    is called as it was)."""
    import inspect

    parameters = inspect.signature(kind.adjust_summary).parameters
    if "jobs" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return kind.adjust_summary(directory, spec, tasks, summary, stored=stored, jobs=jobs)
    return kind.adjust_summary(directory, spec, tasks, summary, stored=stored)


def _unchanged_run(
    spec: StudySpec, tasks: list[Task], cache: TaskCache, directory: Path, started: float, jobs: int | None = None,
) -> StudyRun | None:
    """The run read from the stored summary and derived tables (the study kind's: aggregates, frames) when
    the cache files are those of the last run (nothing to compute or write); None otherwise."""
    kind = kind_of(spec)
    current = kind.load_current(directory, spec, tasks, cache)
    if current is None:
        return None
    summary, rounds, stored = current
    summary = _adjusted_summary(kind, directory, spec, tasks, summary, stored=True, jobs=jobs)
    return StudyRun(
        spec=spec, tasks=tasks, rounds=rounds, summary=summary, computed=0,
        cached=len({t.key for t in tasks}), seconds=time.perf_counter() - started, directory=directory,
        aggregates=stored,
    )


def _split_by_cache(tasks: list[Task], cache: TaskCache, report) -> tuple[dict[str, Task], dict[str, TaskResult]]:
    """The distinct tasks missing from the cache (``pending``) and the results found in it (``loaded``),
    both by task key."""
    pending: dict[str, Task] = {}
    loaded: dict[str, TaskResult] = {}
    for task in tasks:
        if task.key in pending or task.key in loaded:
            continue
        result = cache.load(task.key, task.config, report=report)
        if result is None:
            pending[task.key] = task
        else:
            loaded[task.key] = result
    return pending, loaded


class _PendingComputation:
    """The computation of the tasks missing from the cache, in a window of claimed tasks.

    Each result is stored in the cache as it arrives; after a dead worker the unfinished tasks are
    re-queued in a fresh pool; an interruption or a failure keeps every result that arrived before it.
    ``loaded`` (results found in the cache at the start or computed by another runner) and ``stored``
    (results this runner computed) are the finished tasks.
    """

    def __init__(self, spec: StudySpec, cache: TaskCache, loaded: dict, unique: int, report, on_task_done):
        self.spec = spec
        self.cache = cache
        self.loaded = loaded
        self.unique = unique
        self.report = report
        self.on_task_done = on_task_done
        self.claims = TaskClaims(cache.directory)  # runners sharing the results directory split the tasks
        self.stored: set[str] = set()
        self.task_seconds: list[float] = []
        self.worker_failures = 0
        self.futures: dict = {}  # the futures of the current window
        self.bar = None

    def finished(self) -> str:
        return f"{len(self.loaded) + len(self.stored)} of {self.unique} tasks finished and kept in the cache"

    def _keep(self, task: Task, result: TaskResult):
        """Store a computed result in the cache and free its claim."""
        self.cache.store(task.key, task.config, result)
        self.claims.release(task.key)
        self.stored.add(task.key)

    def store(self, task: Task, result: TaskResult, seconds: float):
        self._keep(task, result)
        self.task_seconds.append(seconds)
        self.bar.update(1)
        if self.on_task_done is not None:
            self.on_task_done(task)

    def store_finished(self):
        """Keep the results that arrived before an interruption (best effort: never masks the cause)."""
        for future, task in self.futures.items():
            if task.key in self.stored or not future.done() or future.cancelled() or future.exception() is not None:
                continue
            self._keep(task, future.result()[0])

    def run(self, queue: list[Task], *, executor, jobs, scheduler, progress, task_function, worker_retries):
        """Compute the tasks of ``queue`` (and those other runners held and freed); raise
        :class:`StudyRunError` or :class:`StudyInterrupted` once the finished results are stored."""
        from tqdm import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        self.bar = tqdm(
            total=self.unique, initial=len(self.loaded), desc=self.spec.name, unit="task", file=sys.stderr,
            disable=not show, dynamic_ncols=True,
        )
        own = executor is None
        handle = executor or ExecutorHandle(jobs=jobs, scheduler=scheduler)
        scope = contextlib.ExitStack()
        interrupt = scope.enter_context(deferred_interrupts())  # Ctrl-C / SIGTERM set a flag, checked here
        try:
            try:
                self._run_queue(queue, handle, task_function, worker_retries, interrupt)
            except BaseException as exc:
                self._abandon(handle, own)
                if isinstance(exc, _Stop):
                    raise StudyRunError(f"study {self.spec.name}: {exc}; {self.finished()}") from exc.__cause__
                if isinstance(exc, Exception):  # the executor itself failed (lost connection, ...)
                    raise StudyRunError(f"study {self.spec.name}: {_one_line(exc)}; {self.finished()}") from exc
                if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, StudyInterrupted):  # SIGINT, SIGTERM
                    kept = len(self.loaded) + len(self.stored)
                    raise StudyInterrupted(self.spec.name, kept, self.unique - kept, signal_number(exc)) from None
                raise
            if own:
                handle.close()
        finally:
            self.claims.release_all()
            self.bar.close()
            scope.close()

    def _run_queue(self, queue: list[Task], handle: ExecutorHandle, task_function, worker_retries: int, interrupt):
        """Submit the queue window by window; after a broken pool, restart it and re-queue the unfinished
        tasks (raise :class:`_Stop` after too many failures in a row)."""
        others: list[Task] = []
        window = handle.window
        failures_in_a_row = 0
        while queue or others:
            interrupt.check()
            if not queue:  # the tasks other runners hold: read them, or compute those freed
                queue, others = self.claims.wait_for_others(
                    others, self.cache, self.loaded, self.report, _advance(self.bar), check=interrupt.check
                )
                continue
            requeue, progressed = self._run_window(queue, others, handle, window, task_function, interrupt)
            queue = []
            if not requeue:
                continue
            # the pool broke: every result that arrived is stored; re-run the rest in a fresh pool
            self.worker_failures += 1
            failures_in_a_row = 1 if progressed else failures_in_a_row + 1
            if failures_in_a_row > worker_retries or not handle.restartable:
                raise _Stop(
                    f"a worker process died {failures_in_a_row} time(s) in a row with no task finishing "
                    f"(a task that kills its worker, e.g. out of memory?)"
                )
            requeue.sort(key=lambda t: t.index)
            self.report(
                f"study {self.spec.name}: worker died; {len(requeue)} task{'s' * (len(requeue) != 1)} re-queued"
            )
            handle.restart()
            queue = requeue

    def _run_window(
        self, queue: list[Task], others: list[Task], handle: ExecutorHandle, window: int, task_function, interrupt,
    ) -> tuple[list[Task], bool]:
        """Run ``queue`` with at most ``window`` tasks running or queued; return the tasks to re-queue after a
        broken pool and whether any task finished.

        Tasks are claimed as they are submitted, so that runners sharing the results directory split the work
        (wsnmec.study.task_claims); a task another runner holds goes to ``others``."""
        self.futures, requeue, progressed, active, backlog = {}, [], False, set(), deque(queue)
        futures = self.futures
        submit = getattr(handle, "submit", None) or handle.executor.submit  # (a caller's own handle may have none)

        def top_up():
            while backlog and len(active) < window and not requeue:
                task = backlog.popleft()
                if not self.claims.acquire(task.key):
                    others.append(task)
                    continue
                if self.cache.path(task.key).exists():  # finished by another runner meanwhile?
                    result = self.cache.load(task.key, task.config)  # (a bad file was reported before)
                    if result is not None:
                        self.claims.release(task.key)
                        self.loaded[task.key] = result
                        self.bar.update(1)
                        continue
                try:
                    future = submit(task_function, task.scenario, task.seed)
                except BrokenProcessPool:  # a worker died while tasks were being submitted
                    requeue.append(task)
                    break
                futures[future] = task
                active.add(future)
            if requeue:
                requeue.extend(backlog)
                backlog.clear()

        top_up()
        while active:
            done, _ = wait(active, timeout=CHECK_INTERVAL_S, return_when=FIRST_COMPLETED)
            interrupt.check()
            for future in sorted(done, key=lambda f: futures[f].index):
                active.discard(future)
                task = futures[future]
                try:
                    error = future.exception()
                except CancelledError:
                    raise _Stop(
                        f"the executor cancelled task {task.point} seed {task.seed} (lost the Dask cluster?)"
                    ) from None
                if isinstance(error, BrokenProcessPool):
                    requeue.append(task)
                elif error is not None:
                    raise _Stop(f"task {task.point} seed {task.seed} failed: {_one_line(error)}") from error
                else:
                    self.store(task, *future.result())
                    progressed = True
            top_up()
        return requeue, progressed

    def _abandon(self, handle: ExecutorHandle, own: bool):
        """Stop the workers of an interrupted or failed run and keep the results that arrived."""
        with signals_ignored():  # a second Ctrl-C does not cut the clean-up short (bounded: seconds)
            if own:
                handle.abort()  # terminates the local workers now
            if own or not isinstance(handle.executor, ProcessPoolExecutor):
                for future in self.futures:  # (a shared local pool is stopped by its owner)
                    future.cancel()
            try:
                self.store_finished()
            except Exception:  # pragma: no cover - e.g. a full disk while interrupted
                pass


def _written_run(
    spec: StudySpec, tasks: list[Task], cache: TaskCache, directory: Path,
    computation: _PendingComputation, started: float, report, jobs: int | None = None,
) -> StudyRun:
    """Collect every task's result into the study's tables, write them with the study kind's derived tables
    (aggregates, frames) into ``directory`` and return the run."""
    kind = kind_of(spec)
    rounds, summary, missing = collect(spec, tasks, cache, report=report, loaded=computation.loaded)
    if missing:
        raise StudyRunError(
            f"study {spec.name}: {len(missing)} task result(s) vanished from {cache.directory}; rerun to recompute them"
        )
    summary = _adjusted_summary(kind, directory, spec, tasks, summary, stored=False, jobs=jobs)
    tables = write_final_tables(directory, rounds, summary, study_record(spec, tasks))
    computed_aggregates = kind.write_tables(directory, spec, tasks, cache, rounds, summary, tables)
    stored = computation.stored
    return StudyRun(
        spec=spec, tasks=tasks, rounds=rounds, summary=summary, computed=len(stored),
        cached=computation.unique - len(stored), seconds=time.perf_counter() - started, directory=directory,
        task_seconds=computation.task_seconds, worker_failures=computation.worker_failures,
        aggregates=computed_aggregates,
    )


def _init_worker(parent_pid: int, threads: int) -> None:
    """Worker start-up: exit with the parent, ignore Ctrl-C (:func:`worker_init`), and with ``threads`` > 0
    limit BLAS and numba to that many threads."""
    worker_init(parent_pid)
    if threads > 0:
        limit_process_threads(threads)


def write_final_tables(directory: Path, rounds: pd.DataFrame, summary: pd.DataFrame, record: dict) -> dict:
    """``rounds.parquet``, ``summary.parquet`` and ``study.json`` written as one set
    (:func:`wsnmec.io.write_set`: a reader sees the previous set or the new one); returns the SHA-256 of
    each file's bytes as written (file name -> hex), which the study's manifest records."""
    import json

    from ..integrity import file_sha256

    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    checksums = {}

    def hashed(write):
        def write_and_hash(path):
            write(path)
            checksums[Path(path).name] = file_sha256(path)
        return write_and_hash

    write_set(directory, {
        "rounds.parquet": hashed(lambda path: rounds.to_parquet(path, engine="pyarrow", index=False)),
        "summary.parquet": hashed(lambda path: summary.to_parquet(path, engine="pyarrow", index=False)),
        "study.json": hashed(lambda path: path.write_text(text, encoding="utf-8")),
    })
    return checksums


def _plugin_records(tasks: list[Task]) -> dict:
    """Protocol value -> its plug-in record (``module:Class``, module SHA-256; from the tasks' cache-key
    configurations) for the plug-in policies of a study (:func:`wsnmec.clustering.registry.protocol_record`)."""
    plugins = {}
    for task in tasks:
        scenario = task.config.get("scenario") if isinstance(task.config, dict) else None
        if isinstance(scenario, dict) and "protocol_spec" in scenario:
            plugins[scenario["protocol"]] = {key: value for key, value in scenario.items()
                                             if key in ("protocol_spec", "protocol_sha256", "protocol_distribution")}
    return plugins


def study_record(spec: StudySpec, tasks: list[Task]) -> dict:
    """Parameters and seeds of a study run (``study.json``); ``plugins``: the plug-in policies' records."""
    record = {
        "study": spec.name,
        "file": str(spec.path),
        "title": spec.title,
        "mode": "quick" if spec.quick else "full",
        "version": __version__,
        "seed": spec.seed,
        "seeds": spec.seeds,
        "task_seeds": replica_seeds(spec.seed, spec.seeds),
        "scale_field": spec.scale_field,
        "base": spec.base,
        "grid": {name: list(values) for name, values in spec.grid.items()},
        "extra": [dict(fixed) for fixed in getattr(spec, "extra", ())],
        "bound": getattr(spec, "bound", None),
        "tasks": [{"key": t.key, "point": t.point, "seed": t.seed} for t in tasks],
    }
    plugins = _plugin_records(tasks)
    if plugins:
        record["plugins"] = plugins
    return record


def summary_table(summary: pd.DataFrame, spec: StudySpec, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t confidence interval of FND, HND and LND over seeds, per grid point.

    Columns: the swept parameters, ``seeds``, and for each metric ``<m>_mean``, ``<m>_low``, ``<m>_high``
    and ``<m>_reached`` (seeds in which it was reached; the mean is over those).
    """
    from ..sim.metrics import mean_ci

    names = list(spec.grid)
    rows = []
    groups = summary.groupby(names, sort=False, dropna=False) if names else [((), summary)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(names, key))
        row["seeds"] = len(group)
        for metric in ("fnd", "hnd", "lnd"):
            values = [None if pd.isna(v) else float(v) for v in group[metric]]
            mean, low, high = mean_ci(values, confidence)
            row[f"{metric}_mean"], row[f"{metric}_low"], row[f"{metric}_high"] = mean, low, high
            row[f"{metric}_reached"] = sum(v is not None for v in values)
        rows.append(row)
    return pd.DataFrame(rows)
