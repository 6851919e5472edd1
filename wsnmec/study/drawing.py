"""Drawing many studies at once: each study's figures and index section (and the partition studies')
on local processes.

Rendering dominates a redraw from a warm cache (every figure is laid out, rasterised to PNG and written
again as PDF), so ``wsnmec figures`` draws the studies in parallel once their tasks are computed. Each
drawing job is one study: the worker reads the study's stored summary and aggregates (the lean files of
:mod:`wsnmec.study.aggregates`), draws its figures, writes its index section and lets the tables go, so
no process holds every study's tables at once. On systems with ``fork`` each study gets a process forked
from this one (at most ``jobs`` at a time) after the plotting modules are imported and the font caches
filled (those pages are shared, not copied); elsewhere, and with ``jobs=1`` or a single job, the studies
are drawn one after the other here. Results come back in the order
of the studies whatever the order they finish in, and the files equal a serial draw's (the same code draws
the same data, and the PNG/PDF writers are deterministic).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from dataclasses import dataclass
from pathlib import Path

#: The jobs of the current :func:`draw_studies` call (read by the forked drawing processes; set only while
#: they run).
_JOBS: list = []


class DrawingError(RuntimeError):
    """A drawing job failed in its process (the message names the job and the error, one line)."""


@dataclass
class DrawnStudy:
    """What drawing one study produced: its name, ``[png, pdf]`` per figure in the file's order, and its
    Markdown section of the figures index (:func:`wsnmec.study.report.study_section`)."""

    name: str
    paths: list
    section: str


def _terminated(signum, frame):
    """SIGTERM in a drawing process: unwind (``SystemExit``), so that a file being written removes its
    temporary (:func:`wsnmec.io.atomic_path`) before the process ends."""
    raise SystemExit(128 + signum)


def _init_drawer():
    """A forked drawing process: Ctrl-C is the parent's business (it terminates the drawing processes), a
    SIGTERM ends it as soon as it is back in Python code, removing the temporary file of a figure being
    written (:func:`_terminated`), and it exits when the parent dies (:func:`~.interrupts.worker_init`)."""
    import os

    from .interrupts import worker_init

    signal.signal(signal.SIGTERM, _terminated)
    worker_init(os.getppid())


def _run_job(number: int):
    kind, payload = _JOBS[number]
    if kind == "study":
        spec, results_dir, out_dir = payload
        return draw_study_section(spec, results_dir, out_dir)
    path, results_dir, out_dir, quick = payload
    from .partition import run_partition_study

    return run_partition_study(path, out_dir, results_dir, quick, echo=lambda line: print(line, flush=True))


def _job_name(number: int) -> str:
    kind, payload = _JOBS[number]
    return f"study {payload[0].name}" if kind == "study" else f"partition study {Path(payload[0]).stem}"


def _run_job_here(number: int):
    """A job in this process (no forking), its memory released before the next."""
    try:
        return _run_job(number)
    finally:
        _release_memory()


def _child(number: int, connection) -> None:
    """A forked drawing process: one job, its result (or its error) sent back, then exit."""
    _init_drawer()
    try:
        connection.send(("ok", _run_job(number)))
    except SystemExit:  # terminated by the parent: its temporary files are gone, nothing to report
        pass
    except BaseException as exc:  # noqa: BLE001 - reported by the parent as one line
        try:
            connection.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, SystemExit):  # the parent stopped listening (interrupted meanwhile)
            pass
    finally:
        connection.close()


def _fork_each(count: int, processes: int) -> list:
    """Run jobs ``0..count-1`` each in a fresh process forked from this one (at most ``processes`` at a
    time; forked from the main thread, the memory of one job never stays in the process of the next) and
    return their results in order. A failed job raises :class:`DrawingError` naming it; Ctrl-C (or any
    error) terminates the running processes."""
    import multiprocessing.connection

    context = multiprocessing.get_context("fork")
    results: list = [None] * count
    running: dict = {}  # receiving end -> (job number, process)
    upcoming = iter(range(count))
    try:
        while True:
            while len(running) < processes:
                number = next(upcoming, None)
                if number is None:
                    break
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(number, send), daemon=True)
                process.start()
                send.close()
                running[receive] = (number, process)
            if not running:
                return results
            for receive in multiprocessing.connection.wait(list(running)):
                number, process = running.pop(receive)
                try:
                    status, value = receive.recv()
                except EOFError:
                    status, value = "error", f"the drawing process ended with exit code {process.exitcode}"
                receive.close()
                process.join()
                if status != "ok":
                    raise DrawingError(f"drawing {_job_name(number)} failed: {value}")
                results[number] = value
    finally:  # SIGTERM: each process removes its temporary files and ends; SIGKILL after a grace period
        from .interrupts import STOP_GRACE_S, signals_ignored

        with signals_ignored():  # a second Ctrl-C does not cut this bounded clean-up short
            for receive, (_, process) in running.items():
                process.terminate()
            for receive, (_, process) in running.items():
                process.join(STOP_GRACE_S)
                if process.is_alive():
                    process.kill()
                    process.join()
                receive.close()


def _warm_up() -> None:
    """Before forking the workers: import what drawing needs (plotting, the PNG and PDF writers, Parquet
    reading) and fill matplotlib's font caches with a small figure, once, in pages the workers share.
    Tables are read through the system allocator, whose freed memory :func:`_release_memory` can return."""
    import io

    import matplotlib.pyplot as plt
    import pyarrow as pa
    import pyarrow.parquet  # noqa: F401
    import scipy.special  # noqa: F401  (the t quantile of the lifetime tables' intervals)

    from . import report  # noqa: F401
    from .figures import style_context

    pa.set_memory_pool(pa.system_memory_pool())
    with style_context():
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, 1], label="warm-up")
        ax.set_title("warm-up 0123456789")
        ax.legend()
        fig.tight_layout()
        for fmt in ("png", "pdf"):
            fig.savefig(io.BytesIO(), format=fmt)
        plt.close(fig)


def _release_memory() -> None:
    """After a job: free the study's tables and hand the freed heap back to the system (glibc), so that a
    worker's memory is that of its current study, not the high-water mark of every study it drew."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused by the next study instead
        pass


def draw_study_section(spec, results_dir, out_dir) -> DrawnStudy:
    """Draw every figure of a study whose tasks are in the cache (read from ``results_dir``: the stored
    summary and aggregates when current) into ``out_dir``; returns the paths and the study's index section
    (the index itself is written by the caller)."""
    from .figures import draw_study
    from .report import study_section
    from .runner import run_study

    run = run_study(spec, results_dir, jobs=1, progress=False)
    drawn = draw_study(run, out_dir)
    return DrawnStudy(spec.name, [paths for _, paths, _ in drawn],
                      study_section(run, [(figure, paths) for figure, paths, _ in drawn], out_dir))


def drawing_processes(jobs: int | None, work: int) -> int:
    """Processes to draw ``work`` jobs with at most ``jobs`` (None: every available core); 1 where the
    system cannot fork."""
    from .runner import available_cores

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(jobs or available_cores(), work))


def draw_studies(specs: list, results_dir, out_dir, jobs: int | None = None,
                 partition_jobs: tuple = ()) -> tuple[list[DrawnStudy], list[str]]:
    """Draw every study of ``specs`` (tasks already in the cache under ``results_dir``) and run each
    partition study of ``partition_jobs`` on up to ``jobs`` local processes.

    Parameters
    ----------
    specs : list of StudySpec
    results_dir, out_dir : path
        The results directory (task cache, stored tables) and where the PNG and PDF files go.
    jobs : int, optional
        Processes at most (default: every available core); 1 draws in this process.
    partition_jobs : tuple of (path, quick)
        Partition studies (``kind = "partition"``) to run and draw alongside.

    Returns
    -------
    drawn : list of DrawnStudy
        In the order of ``specs``.
    sections : list of str
        The partition studies' Markdown sections, in the order given.
    """
    global _JOBS
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    jobs_list = [("partition", (str(path), str(results_dir), str(out_dir), quick)) for path, quick in partition_jobs]
    # longest first (partition studies, then the studies with most figures), so that the last jobs to
    # start are short and the processes finish together; the results are put back in the order of specs
    by_size = sorted(specs, key=lambda spec: -len(spec.figures))
    jobs_list += [("study", (spec, str(results_dir), str(out_dir))) for spec in by_size]
    processes = drawing_processes(jobs, len(jobs_list))
    _JOBS = jobs_list
    try:
        if processes == 1:
            results = [_run_job_here(k) for k in range(len(jobs_list))]
        else:
            _warm_up()

            # the objects alive now move to a generation the workers' garbage collector never scans, so
            # their pages stay shared instead of being copied into each worker
            gc.freeze()
            try:
                results = _fork_each(len(jobs_list), processes)
            finally:
                gc.unfreeze()
    finally:
        _JOBS = []
    drawn = {r.name: r for r in results if isinstance(r, DrawnStudy)}
    return [drawn[spec.name] for spec in specs], [r for r in results if isinstance(r, str)]


__all__ = ["DrawingError", "DrawnStudy", "draw_studies", "draw_study_section", "drawing_processes"]
