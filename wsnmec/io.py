"""Atomic file output: every file wsnmec writes goes to a temporary name in the same directory first and is
then renamed over the target, so an interrupted run never leaves a half-written file and never damages
what was already there."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permission bits of new files: what ``open()`` would give under the process umask (mkstemp gives 0600).
_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:  # from the first instruction after the file exists: an interrupt anywhere removes it
        os.close(fd)
        os.chmod(tmp, _FILE_MODE)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, obj, **kwargs) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (indent 2, keys in insertion order)."""
    kwargs.setdefault("indent", 2)
    return write_text(path, json.dumps(obj, **kwargs) + "\n")


def write_parquet(path, frame, **kwargs) -> Path:
    """Write a pandas DataFrame to Parquet at ``path`` atomically (pyarrow engine, no index)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", **kwargs)
    return Path(path)


# --- a set of files replaced together ---------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the paths ``a`` and ``b`` (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system or file system cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95, 1):  # EINVAL, ENOSYS, EOPNOTSUPP, EPERM: not supported here
        return False
    raise OSError(error, os.strerror(error), os.fspath(b))


def write_set(directory: str | os.PathLike, files: dict) -> list[Path]:
    """Write a set of files into ``directory`` so that a reader sees the old set or the new one, not a mix.

    Parameters
    ----------
    directory : path
        The target directory (created if needed).
    files : dict of str -> callable
        File name -> function writing that file at the path it is given.

    Notes
    -----
    Every file is written into a temporary directory beside the target (``.<name>.<random>.tmp`` in the
    same parent, hence the same file system), then the set is swapped in:

    - ``directory`` does not exist: the temporary directory is renamed to it (atomic).
    - ``directory`` holds nothing but files of the set (a previous run's output): the two directories are
      exchanged atomically (Linux ``renameat2(RENAME_EXCHANGE)``) and the old one is deleted. Where the
      exchange is not available, the old directory is renamed aside first: for that instant a reader finds
      no directory, still never a mix.
    - ``directory`` also holds other files, or is the current directory (e.g. ``--out .``): those are never
      touched, and each file of the
      set is renamed into place in turn once all were written. Each file is whole, but a crash between two
      of these renames (a window of microseconds) can leave files from two runs.

    - ``directory`` is a symbolic link: the files are written through it into the directory it points to
      (staged inside that directory, then renamed into place one by one, as in the case above); the link
      and the rest of its target are never replaced nor deleted.

    - Several processes writing the same set at once: a swap that meets another writer's (the directory
      appeared, vanished or was replaced between two steps: ENOENT, EEXIST, ENOTEMPTY) is tried again from
      a fresh look, up to :data:`_SWAP_ATTEMPTS` times; the last writer's set is there, whole, and no
      writer fails.

    An error or an interrupt while writing deletes the temporary directory and leaves the target as it was;
    a process killed outright (SIGKILL, power loss) can leave the ``.<name>.*.tmp`` directory behind, never
    a damaged target.

    What "a reader sees one set" means: a reader that opens the directory once and its files relative to it
    (``os.open(directory)`` then ``dir_fd=``) reads files of one set, or finds a file gone if the set was
    replaced meanwhile (then it retries). A reader that opens ``directory/a`` and later ``directory/b`` by
    path can straddle a swap, as with any replacement of several files. Durability against power loss
    (``fsync``) is not attempted.
    """
    directory = Path(directory)
    names = list(files)
    if directory.is_symlink():  # write through the link, never replace it nor swap away its target
        return _write_into(Path(os.path.realpath(directory)), files, link=directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = _stage(files, directory.parent, f".{directory.name}.")
    try:
        for attempt in range(_SWAP_ATTEMPTS):
            try:
                _swap_in(staging, directory, names)
                break
            except OSError as exc:  # another writer swapped its set in meanwhile: look again
                if exc.errno not in _RACE_ERRNOS or attempt == _SWAP_ATTEMPTS - 1:
                    raise
                import random
                import time

                time.sleep(random.uniform(0.0, 0.002 * (attempt + 1)))
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [directory / name for name in names]


#: ``errno`` values of a swap that met another writer's swap of the same directory (it appeared, vanished
#: or was replaced between two steps): ENOENT, EEXIST, ENOTEMPTY. The swap is retried.
_RACE_ERRNOS = (2, 17, 39)
#: Swaps tried before a writer that keeps meeting others gives up (an OSError, one line on the command line).
_SWAP_ATTEMPTS = 50


def _swap_in(staging: Path, directory: Path, names: list) -> None:
    """One attempt to put the staged set in place (the cases of :func:`write_set`). Raises an OSError with
    an errno of :data:`_RACE_ERRNOS` when another writer changed ``directory`` between two steps; the
    staged set is then still in ``staging`` and the attempt can be repeated. Two writers of the same set:
    the last one wins, whole."""
    try:  # one look (a writer's set may arrive or leave at any time): None when there is no directory
        present = set(os.listdir(directory))
    except FileNotFoundError:
        present = None
    except NotADirectoryError:  # a file (or a link to one) of that name
        raise NotADirectoryError(20, "Not a directory", os.fspath(directory)) from None
    if present is not None and _holds_cwd(directory):  # never swap away a working directory
        present.add(".")
    if present is None:
        os.rename(staging, directory)  # EEXIST/ENOTEMPTY: another writer's set arrived first
    elif present <= set(names):
        if _exchange(staging, directory):  # ENOENT: another writer moved it aside meanwhile
            _discard_old(staging, directory)
            return
        aside = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
        os.rmdir(aside)
        os.rename(directory, aside)
        try:
            os.rename(staging, directory)
        except OSError:  # another writer's set took the place: the old set is superseded either way
            _discard_old(aside, directory)
            raise
        _discard_old(aside, directory)
    else:
        for name in names:
            os.replace(staging / name, directory / name)
        os.rmdir(staging)


def _stage(files: dict, parent: Path, prefix: str) -> Path:
    """A new temporary directory ``<prefix><random>.tmp`` in ``parent`` (the umask's mode) holding every file
    of the set, each written by its function and given :data:`_FILE_MODE`; deleted again on any error."""
    staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    try:
        os.chmod(staging, 0o777 & ~_current_umask())
        for name, write in files.items():
            write(staging / name)
            os.chmod(staging / name, _FILE_MODE)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _write_into(target: Path, files: dict, link: Path) -> list[Path]:
    """Write the set ``files`` into the existing directory ``target`` (what the symbolic link ``link``
    points to): every file is written into a temporary directory inside ``target`` (same file system, and
    nothing outside the named directory is touched), then renamed into place in turn. Each file is whole;
    the set is not swapped atomically (a crash between two renames can leave files from two runs)."""
    if not target.is_dir():
        raise NotADirectoryError(20, "Not a directory (a symbolic link to a missing directory or a file)", os.fspath(link))
    staging = _stage(files, target, ".wsnmec-set.")
    try:
        for name in files:
            os.replace(staging / name, target / name)
        os.rmdir(staging)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [link / name for name in files]


def _holds_cwd(directory: Path) -> bool:
    """Whether ``directory`` is the current directory or one of its ancestors."""
    try:
        target, cwd = directory.resolve(), Path.cwd().resolve()
    except OSError:
        return True
    return cwd == target or target in cwd.parents


def _discard_old(old: Path, directory: Path):
    """Delete the swapped-out directory ``old``; a file someone created in it meanwhile moves to ``directory``."""
    for entry in os.listdir(old):
        source = old / entry
        if (directory / entry).exists() or source.is_dir():
            with contextlib.suppress(OSError):
                source.unlink()
        else:
            with contextlib.suppress(OSError):
                os.rename(source, directory / entry)
    with contextlib.suppress(OSError):
        os.rmdir(old)
