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
    os.close(fd)
    try:
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
