"""The code fingerprint of the simulator: a hash of the source files whose code decides a run's result.

Study task keys (:mod:`wsnmec.study.cache`) and bound cache keys (:mod:`wsnmec.bound.cache`) include it, so
that a change to the simulator's code in a development checkout (where the package version stays the same)
invalidates results computed with the old code. It reads the files; it imports none of them.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .kernel_cache import hash_files

#: The modules whose code decides a task's result (paths relative to the wsnmec package).
SIMULATOR_SOURCES = ("sim", "energy", "clustering", "offload", "learn", "bound", "errors.py", "seeding.py")  # (bound: lp-schedule)


@functools.lru_cache(maxsize=1)
def simulator_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the simulator's source files (and shipped models, ``*.npz``).

    Part of every task key, so that a change to the simulator's code in a development checkout (where the
    package version stays the same) invalidates the cached results computed with the old code.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in SIMULATOR_SOURCES:
        path = package / name
        if not path.exists():
            continue
        files = sorted([*path.rglob("*.py"), *path.rglob("*.npz")]) if path.is_dir() else [path]
        hash_files(digest, package, files)
    return digest.hexdigest()[:16]
