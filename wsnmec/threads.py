"""Thread limits: one BLAS thread for small matrix products, no oversubscribed study workers.

The offloading learner multiplies small matrices (tens to hundreds of rows). A multithreaded BLAS
(OpenBLAS, MKL) splits even those across every core and spins while it waits; on a machine where another
process keeps a core busy, the spinning threads wait for that core and the learner slows down several
times (measured in issue 11: 2.25x under a one-core CPU hog with the default thread count, 0.96x with
one thread). :func:`single_blas_thread` limits BLAS to one thread for a block of code (threadpoolctl),
:func:`limit_process_threads` does so for a whole worker process, before numpy or numba start their
thread pools.
"""

from __future__ import annotations

import contextlib
import functools
import os

#: Environment variables read by BLAS/OpenMP runtimes and numba when they start their thread pools.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# NUMBA_NUM_THREADS is deliberately not set: numba re-reads its environment at every compilation and refuses a
# value that differs from the thread pool it already launched ("Cannot set NUMBA_NUM_THREADS to a different
# value once the threads have been launched"); ``numba.set_num_threads`` limits it at run time instead.


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with at most one BLAS thread (numpy's matrix products), then restore the limits.

    Uses threadpoolctl when it is installed (a dependency of wsnmec); without it the block runs unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def with_single_blas_thread(function):
    """Decorator: ``function`` runs inside :func:`single_blas_thread`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_blas_thread():
            return function(*args, **kwargs)

    return wrapper


#: The limit set by :func:`limit_process_threads` in this process (None: no limit was set).
_process_threads: int | None = None


def allowed_threads() -> int:
    """Threads this process may keep busy: the limit of :func:`limit_process_threads` when one was set (a
    study worker), else the cores the process may run on."""
    if _process_threads is not None:
        return _process_threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def limit_process_threads(threads: int = 1) -> None:
    """Limit this process's BLAS, OpenMP and numba thread pools to ``threads`` (a study worker's initializer).

    Sets the environment variables of :data:`THREAD_ENV_VARS` (read when a runtime starts: numpy and numba
    imported later in this process obey them) and, for runtimes already loaded, applies the limit through
    threadpoolctl and ``numba.set_num_threads``.
    """
    global _process_threads
    threads = max(1, int(threads))
    _process_threads = threads
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    import sys

    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def run_single_threaded(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with this process limited to one BLAS/OpenMP thread and the calling thread to
    one numba thread: a task on a Dask worker, which may run several tasks at once on threads of one process.

    The process-wide limits (:func:`limit_process_threads`) are applied by the first task in a process; numba's
    limit belongs to a thread (``numba.set_num_threads`` sets it for the calling thread only), so it is set by
    every task on the thread that runs it.
    """
    if _process_threads != 1:
        limit_process_threads(1)
    import numba

    numba.set_num_threads(1)
    return function(*args, **kwargs)

