"""Interrupts of a study run: Ctrl-C, SIGTERM and the death of the parent process.

What happens (Linux; other systems get the same parent-side behaviour, without the parent-death signal):

- Local workers ignore SIGINT (:func:`worker_init`): Ctrl-C in a terminal sends SIGINT to the whole process
  group, and only the parent must react. While the runner waits for tasks, SIGINT and SIGTERM only set a
  flag (:func:`deferred_interrupts`) that it checks at least every :data:`CHECK_INTERVAL_S`: an exception
  raised inside :mod:`concurrent.futures` code could leave a lock held and hang the pool. The run then stops:
  the workers are terminated (:func:`stop_workers`: SIGTERM, then SIGKILL after :data:`STOP_GRACE_S`; a
  worker killed while writing a large result into its pipe is not waited for), the finished results are
  stored, further signals are ignored during that clean-up (:func:`signals_ignored`), and the command line
  prints one line (``interrupted: N tasks kept, M not run; rerun to continue``) and exits with 128 + the
  signal number (130 for SIGINT, 143 for SIGTERM). Outside the task loop, :func:`terminate_raises` turns
  SIGTERM into :class:`Terminated` (a ``KeyboardInterrupt``).
- When the parent dies without cleaning up (SIGKILL, a crash), every worker notices within
  :data:`WATCH_INTERVAL_S` (a watchdog thread checks that the parent process still exists and that the
  worker was not re-parented) and exits; on Linux the kernel also kills a worker when the process that
  forked it (the forkserver, which exits with the parent) dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

#: Longest wait of the runner between two looks at the interrupt flag [s].
CHECK_INTERVAL_S = 0.2
#: How often a worker checks that its parent is alive [s].
WATCH_INTERVAL_S = 0.5
#: How long terminated workers get to exit before they are killed [s].
STOP_GRACE_S = 2.0

_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM received (raised in the main thread by the handler of :func:`terminate_raises`)."""

    signum = signal.SIGTERM


class StudyInterrupted(KeyboardInterrupt):
    """A study run stopped by a signal after storing every finished task.

    Attributes
    ----------
    kept : int
        Tasks of the study whose results are in the cache.
    not_run : int
        Tasks still missing (a rerun computes them).
    signum : int
        The signal (SIGINT or SIGTERM); the command line exits with ``128 + signum``.
    """

    def __init__(self, study: str, kept: int, not_run: int, signum: int):
        super().__init__(f"study {study} interrupted: {kept} tasks kept, {not_run} not run")
        self.study = study
        self.kept = kept
        self.not_run = not_run
        self.signum = int(signum)

    @property
    def line(self) -> str:
        return f"interrupted: {self.kept} tasks kept, {self.not_run} not run; rerun to continue"


def signal_number(exc: BaseException) -> int:
    """The signal a ``KeyboardInterrupt`` stands for (SIGTERM for :class:`Terminated`, else SIGINT)."""
    return int(getattr(exc, "signum", signal.SIGINT))


@contextlib.contextmanager
def terminate_raises():
    """While active (main thread only), SIGTERM raises :class:`Terminated` instead of killing the process at
    once, so that the run stops its workers and keeps its finished tasks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class InterruptFlag:
    """Records the first SIGINT/SIGTERM (see :func:`deferred_interrupts`); :meth:`check` raises it."""

    def __init__(self):
        self.signum: int | None = None

    def handler(self, signum, frame):
        if self.signum is None:
            self.signum = signum

    def check(self):
        """Raise ``KeyboardInterrupt`` (:class:`Terminated` for SIGTERM) if a signal arrived."""
        if self.signum == signal.SIGTERM:
            raise Terminated()
        if self.signum is not None:
            raise KeyboardInterrupt()


@contextlib.contextmanager
def deferred_interrupts():
    """While active (main thread only), SIGINT and SIGTERM only set a flag, which the caller checks at safe
    points (:meth:`InterruptFlag.check`, between waits of at most :data:`CHECK_INTERVAL_S`). An exception
    raised by a signal handler in the middle of :mod:`concurrent.futures` code could leave one of its locks
    held and the pool's manager thread blocked forever; a flag cannot."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {signum: signal.signal(signum, flag.handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ignore_interrupts():
    """Ignore SIGINT and SIGTERM from now on (main thread only): the process is on its way out."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def signals_ignored():
    """While active (main thread only), SIGINT and SIGTERM are ignored: the bounded clean-up after a first
    interrupt (stopping the workers, storing the results that arrived) is not cut short by a second Ctrl-C,
    which would leave the pool's threads writing into closed pipes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _parent_alive(parent_pid: int, ppid: int) -> bool:
    if os.getppid() != ppid:  # re-parented: whoever forked us is gone
        return False
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by someone else (pid reuse)
        return True
    return True


def _watch_parent(parent_pid: int, ppid: int):
    while True:
        time.sleep(WATCH_INTERVAL_S)
        if not _parent_alive(parent_pid, ppid):
            os._exit(1)


def worker_init(parent_pid: int):
    """Initializer of a local worker process: ignore SIGINT, and exit when the parent process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):  # Linux only: killed when the process that forked us dies
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    ppid = os.getppid()
    if not _parent_alive(parent_pid, ppid):  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, ppid), daemon=True, name="wsnmec-parent-watch").start()


def stop_workers(executor, grace: float = STOP_GRACE_S):
    """Stop a :class:`~concurrent.futures.ProcessPoolExecutor` now: cancel what is queued, terminate the
    workers (SIGTERM, then SIGKILL after ``grace`` seconds) and shut the pool down without waiting for the
    tasks that were running."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)
    # Let the pool's manager thread see the dead workers and fail the pending futures before any is
    # cancelled (Python < 3.12 sets an exception on cancelled futures too: InvalidStateError in that thread).
    manager = getattr(executor, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(min(grace, 0.5))
    if manager is not None and manager.is_alive():
        # A worker killed while writing its result into the pipe leaves a partial message, and the manager
        # thread waits for the rest forever (CPython): the parent holds the pipe's write end too, so no EOF
        # comes. The workers are dead: closing the parent's write end ends that read, and the thread.
        with contextlib.suppress(Exception):
            executor._result_queue._writer.close()
        manager.join(grace)
    if manager is not None and manager.is_alive():  # still stuck: do not wait; the CLI ends with os._exit
        POOL_STUCK.set()
        executor.shutdown(wait=False, cancel_futures=True)
        return
    executor.shutdown(wait=True, cancel_futures=True)


#: Set when a process pool's manager thread could not be stopped (see :func:`stop_workers`): the process
#: must then end with ``os._exit`` (:func:`exit_process`), as Python's exit would wait for that thread.
POOL_STUCK = threading.Event()


def exit_process(code: int):
    """End the process with ``code``: ``sys.exit``, or ``os._exit`` after flushing when a pool's manager
    thread is stuck (Python's own exit would join it forever)."""
    import sys

    if POOL_STUCK.is_set():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
