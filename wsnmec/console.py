"""What the command line shows while it works: progress bars on stderr and the first-compile notice.

Neither appears with ``--json`` (machine-read output stays clean). Progress bars appear only where a person
watches (stderr a terminal); the compile notice, one line, is printed also when stderr is a log file or a
pipe (``nohup``, CI), so that minutes of compilation are never silent.
"""

from __future__ import annotations

import sys

#: Seconds a command must run before its progress bar appears (short runs show none).
PROGRESS_DELAY_S = 1.0
#: The notice printed before the numba kernels compile for the first time.
COMPILE_NOTICE = ("compiling kernels, once: up to a few minutes (later runs load them from the cache; "
                  "`wsnmec warmup` compiles every kernel ahead)")


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def progress_bar(enabled: bool, total: int | None = None, unit: str = "it", desc: str | None = None):
    """A tqdm bar on stderr, or None when not ``enabled``."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, delay=PROGRESS_DELAY_S,
                dynamic_ncols=True, leave=False)


def kernels_cached(*dispatchers) -> bool:
    """Whether every numba ``dispatcher`` (an ``@njit(cache=True)`` function) has compiled code in its
    on-disk cache for its current source. Unknown (another numba version's layout) counts as cached."""
    for dispatcher in dispatchers:
        try:
            cache_file = dispatcher._cache._cache_file
            if not cache_file._load_index():  # {} when absent or made from other source
                return False
        except Exception:  # pragma: no cover - numba internals changed: say nothing
            continue
    return True


def simulator_kernels() -> tuple:
    from .sim.kernel import run_rounds_jit

    return (run_rounds_jit,)


def offload_kernels() -> tuple:
    """Kernels every ``wsnmec offload`` run compiles (the learner's scoring and coordinate descent)."""
    from .offload import solvers
    from .offload.ddlo import _quantize_and_score

    return (_quantize_and_score, solvers._coordinate_descent)


def compile_notice(enabled: bool, kernels) -> bool:
    """Print :data:`COMPILE_NOTICE` on stderr (one line, flushed, whether or not stderr is a terminal) when
    ``enabled`` and a kernel is not compiled yet. A command calls it once, before its first kernel runs.

    ``kernels``: a callable returning the dispatchers to check (imported only when needed). Returns
    whether the notice was printed."""
    if not enabled or kernels_cached(*kernels()):
        return False
    print(COMPILE_NOTICE, file=sys.stderr, flush=True)
    return True
