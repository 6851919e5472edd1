"""Stale compiled kernels: numba's on-disk cache is dropped when any source file of the package changed.

numba keeps each ``@njit(cache=True)`` function's machine code in ``__pycache__`` (``*.nbi`` index and
``*.nbc`` data files) and reuses it while the *function's own* source file keeps its timestamp and size. It
does not look at the files of the functions it calls: a kernel that calls a function of another module keeps
running that function's old code after the other module changed (a ``git pull`` in an editable install, an
edit in a checkout). The numbers would then come from code that is no longer there.

:func:`drop_stale_kernels` closes that gap. It hashes the contents of every ``*.py`` file of the package
(about 1.4 MB, a few milliseconds) and compares the hash with the one stored beside the cache
(``wsnmec/__pycache__/kernel-sources.sha256``); when they differ, it deletes every ``*.nbi`` and ``*.nbc``
file of the package's kernels (under the package, and under ``NUMBA_CACHE_DIR`` when set) and stores the
new hash, so the next call of each kernel compiles it from the current sources. The package runs it once per
process, on import (:mod:`wsnmec`). Deleting a cache file that another process is reading is safe: numba
treats a data file that disappeared as a cache miss and compiles.

A read-only installation (nothing can be deleted or stored) is left as it is: installing writes every file
anew, so there numba's own check already sees the changed sources. ``WSNMEC_KEEP_KERNELS=1`` turns the check
off (e.g. to compare the old kernels with the new sources on purpose).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Name of the file (in the package's ``__pycache__``) holding the sources' hash of the cached kernels.
STAMP_NAME = "kernel-sources.sha256"


def hash_files(digest, package: Path, files) -> None:
    """Feed ``digest`` (a :mod:`hashlib` object) each file's path relative to ``package`` and its contents,
    each followed by a NUL byte, in the order given (shared with :mod:`wsnmec.fingerprint`)."""
    for file in files:
        digest.update(file.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(file.read_bytes() + b"\0")


def sources_hash(package: Path) -> str:
    """SHA-256 of the relative paths and contents of every ``*.py`` file under ``package``, in path order."""
    digest = hashlib.sha256()
    hash_files(digest, package, sorted(package.rglob("*.py")))
    return digest.hexdigest()


def cache_folders(package: Path) -> list[Path]:
    """Where numba keeps the cache files of the package's kernels: the package itself (each module's
    ``__pycache__``), and with ``NUMBA_CACHE_DIR`` set, that directory's folder of each package directory
    (numba's ``UserProvidedCacheLocator`` layout: the directory's name, ``_``, the SHA-1 of its absolute
    path)."""
    folders = [package]
    root = os.environ.get("NUMBA_CACHE_DIR", "")
    if root:
        for directory in sorted({file.parent for file in package.rglob("*.py")}):
            absolute = os.path.abspath(directory)
            hashed = hashlib.sha1(absolute.encode()).hexdigest()
            folders.append(Path(root) / f"{os.path.basename(absolute)}_{hashed}")
    return folders


def drop_stale_kernels(package: Path | None = None) -> int:
    """Delete numba's cache files under ``package`` (default: this package) when its sources differ from
    those the cache was built from (module docstring); returns the number of files deleted (0 when the
    sources are unchanged, the check is off, or nothing can be written)."""
    if os.environ.get("WSNMEC_KEEP_KERNELS", "") not in ("", "0"):
        return 0
    package = Path(__file__).resolve().parent if package is None else Path(package)
    stamp = package / "__pycache__" / STAMP_NAME
    try:
        current = sources_hash(package)
        if stamp.is_file() and stamp.read_text(encoding="ascii").strip() == current:
            return 0
        deleted = 0
        for folder in cache_folders(package):
            for pattern in ("*.nbi", "*.nbc"):
                for file in folder.rglob(pattern):
                    try:
                        file.unlink()
                        deleted += 1
                    except FileNotFoundError:  # another process deleted it first
                        pass
        stamp.parent.mkdir(exist_ok=True)
        partial = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}.tmp")
        partial.write_text(current + "\n", encoding="ascii")
        os.replace(partial, stamp)
        return deleted
    except OSError:  # a read-only installation: numba's own check covers it (module docstring)
        return 0
