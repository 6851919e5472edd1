"""Drawing many figures at once: the studies' figures (and the partition studies' sections) spread over
local processes.

Rendering dominates a redraw from a warm cache (every figure is laid out, then rasterised to PNG and
written again as PDF), so ``wsnmec figures`` draws its figures in parallel once every study's tables are
loaded. On systems with ``fork`` the worker processes are forked from the loaded parent: the study runs
(summaries, per-round aggregates, per-frame tables) are shared copy-on-write, never pickled; elsewhere
(and with ``jobs=1`` or a single figure) the figures are drawn one after the other in this process.
Figures come back in the order of the studies and of their ``[[figures]]`` tables whatever the order they
finish in, and the files are the same as a serial draw (each figure is drawn from the same data by the
same code, and the PNG/PDF writers are deterministic).
"""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path

#: The runs of the current :func:`draw_all` call (read by forked workers; set only around the pool).
_RUNS: list = []
_PR_SET_PDEATHSIG = 1


def _init_drawer():
    """A forked drawing worker: Ctrl-C is the parent's business (it terminates the pool); die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still ends the workers
        pass


def _draw_one(job):
    """Draw one job in a worker: ("figure", run index, figure index, out_dir) -> [png, pdf] paths, or
    ("partition", path, out_dir, results_dir, quick) -> the study's Markdown section."""
    kind = job[0]
    if kind == "figure":
        _, run_index, figure_index, out_dir = job
        return draw_figure(_RUNS[run_index], figure_index, out_dir)
    _, path, out_dir, results_dir, quick = job
    from .partition import run_partition_study

    return run_partition_study(path, out_dir, results_dir, quick, echo=lambda line: print(line, flush=True))


def draw_figure(run, figure_index: int, out_dir) -> list[Path]:
    """Draw figure ``figure_index`` of a :class:`~wsnmec.study.runner.StudyRun`, save it as PNG and PDF in
    ``out_dir`` and close it; returns the two paths."""
    import matplotlib.pyplot as plt

    from .figures import draw, figure_stem, save

    figure = run.spec.figures[figure_index]
    fig = draw(figure, run.spec, run.aggregates if run.aggregates is not None else run.rounds, run.summary)
    try:
        return save(fig, out_dir, figure_stem(run.spec, figure))
    finally:
        plt.close(fig)


def drawing_processes(jobs: int | None, work: int) -> int:
    """Processes to draw ``work`` jobs with at most ``jobs`` (None: every available core); 1 where the
    system cannot fork."""
    from .runner import available_cores

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(jobs or available_cores(), work))


def draw_all(runs: list, out_dir, jobs: int | None = None, partition_jobs: tuple = ()) -> tuple[list, list]:
    """Draw every figure of ``runs`` (and run each partition study of ``partition_jobs``) on up to ``jobs``
    local processes.

    Parameters
    ----------
    runs : list of StudyRun
        Loaded study runs (their tasks computed).
    out_dir : path
        Where the PNG and PDF files go (created if missing).
    jobs : int, optional
        Processes at most (default: every available core); 1 draws in this process.
    partition_jobs : tuple of (path, results_dir, quick)
        Partition studies (``kind = "partition"``) to run and draw alongside.

    Returns
    -------
    entries : list of (FigureSpec, StudyRun, [png, pdf])
        In the order of ``runs`` and of each study's figures.
    sections : list of str
        The partition studies' Markdown sections, in the order given.
    """
    global _RUNS
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    jobs_list = [("figure", i, j, str(out_dir)) for i, run in enumerate(runs) for j in range(len(run.spec.figures))]
    jobs_list += [("partition", str(path), str(out_dir), str(results_dir), quick)
                  for path, results_dir, quick in partition_jobs]
    processes = drawing_processes(jobs, len(jobs_list))
    _RUNS = list(runs)
    try:
        if processes == 1:
            results = [_draw_one(job) for job in jobs_list]
        else:
            # heaviest first (partition studies, then larger figures): the last job to start is a short one
            order = sorted(range(len(jobs_list)), key=lambda k: jobs_list[k][0] != "partition")
            context = multiprocessing.get_context("fork")
            results = [None] * len(jobs_list)
            with context.Pool(processes, initializer=_init_drawer) as pool:
                for k, result in zip(order, pool.imap(_draw_one, [jobs_list[k] for k in order], chunksize=1)):
                    results[k] = result
    finally:
        _RUNS = []
    entries, sections = [], []
    for job, result in zip(jobs_list, results):
        if job[0] == "figure":
            run = runs[job[1]]
            entries.append((run.spec.figures[job[2]], run, result))
        else:
            sections.append(result)
    return entries, sections


__all__ = ["draw_all", "draw_figure", "drawing_processes"]
