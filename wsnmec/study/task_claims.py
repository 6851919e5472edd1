"""Per-task claim files: runners sharing a results directory split the work instead of doubling it.

Before a runner computes a task it creates ``<cache>/<key>.claim`` with ``O_CREAT | O_EXCL`` (atomic on a
local file system: one runner wins), holding its host name, process id and process start time. It computes
only the tasks it claimed, removes each claim once the task's result is in the cache, and removes every
claim it still holds when it stops (finished, failed or interrupted). The tasks claimed by another runner
are waited for: polled every :data:`POLL_S` seconds until their result appears in the cache (then read, not
computed) or their claim disappears or goes stale (then claimed and computed here).

A claim is stale, and taken over, when its process is gone: same host and no process with that id and start
time (a killed runner, a crash), or the file is empty or unreadable and older than :data:`EMPTY_CLAIM_S`, or its ``pid`` is
malformed (not an integer in [1, :data:`MAX_PID`]: no runner writes such a claim).
Claims of another host cannot be checked and are trusted for :data:`FOREIGN_CLAIM_S`. A takeover renames the
stale file away first, so of two runners taking over the same claim only one succeeds.

Limits: claims rely on ``O_EXCL`` and ``rename`` being atomic, true for local file systems and NFSv3+ but
not for every network file system; a runner on another host that dies leaves claims that block others for
:data:`FOREIGN_CLAIM_S`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

#: Seconds between two looks at the tasks another runner holds.
POLL_S = 0.2
#: Age after which an empty or unreadable claim (a runner killed while writing it) is stale [s].
EMPTY_CLAIM_S = 10.0
#: Largest process id a claim can hold (Linux's limit is 2**22; anything outside [1, 2**31 - 1] is malformed).
MAX_PID = 2**31 - 1
#: Age after which a claim of another host is considered stale [s].
FOREIGN_CLAIM_S = 24 * 3600.0


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state first), None when unknown (no such process, not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux: field 22 of /proc/PID/stat), None when unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def _process_alive(pid: int, start: str | None) -> bool:
    """Whether the process that wrote a claim runs: ``pid`` exists, is no zombie, and (where /proc tells)
    started at ``start`` (not a later process that reuses the id)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _proc_stat(pid)
    if fields is None:
        return not os.path.isdir("/proc/self")
    if fields[0] in ("Z", "X"):  # exited, waiting to be reaped
        return False
    return start is None or fields[19] == start


class TaskClaims:
    """The claims of one runner on the task files of one cache directory."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.held: set[str] = set()
        self.record = json.dumps({"host": self.host, "pid": self.pid, "start": _start_time(self.pid)}).encode()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.claim"

    def acquire(self, key: str) -> bool:
        """Claim task ``key``; True when this runner now holds it (a stale claim is taken over)."""
        if key in self.held:
            return True
        path = self.path(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._take_over_stale(path):
                    return False
                continue
            try:
                os.write(fd, self.record)
            finally:
                os.close(fd)
            self.held.add(key)
            return True
        return False

    def _take_over_stale(self, path: Path) -> bool:
        """Remove ``path`` if it is a stale claim (atomically: only one runner removes it); True if removed."""
        if not self.stale(path):
            return False
        aside = path.with_name(f"{path.name}.stale-{self.pid}")
        try:
            os.rename(path, aside)  # of several runners taking over, one wins
        except FileNotFoundError:
            return True  # someone else removed it first: try to create ours
        with contextlib.suppress(OSError):
            os.unlink(aside)
        return True

    def stale(self, path: Path) -> bool:
        """Whether the claim at ``path`` belongs to no running process (see the module docstring)."""
        try:
            age = time.time() - path.stat().st_mtime
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError:
            data = b""
            age = EMPTY_CLAIM_S + 1
        try:
            record = json.loads(data or b"null")
        except ValueError:
            record = None
        if not isinstance(record, dict) or "pid" not in record:
            return age > EMPTY_CLAIM_S
        pid = record["pid"]
        if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid <= MAX_PID:
            return True  # malformed (null, text, a number no process can have): no runner wrote it
        if record.get("host") != self.host:
            return age > FOREIGN_CLAIM_S
        if pid == self.pid:  # a claim this process left behind (an earlier run that was interrupted)
            return True
        return not _process_alive(pid, record.get("start"))

    def release(self, key: str):
        """Remove this runner's claim on ``key``."""
        if key in self.held:
            self.held.discard(key)
            with contextlib.suppress(OSError):
                os.unlink(self.path(key))

    def release_all(self):
        for key in list(self.held):
            self.release(key)

    def wait_for_others(self, others: list, cache, loaded: dict, report=None, on_loaded=None, check=None):
        """Wait until each task of ``others`` is in the cache (read into ``loaded``) or free to claim.

        Returns ``(mine, remaining)``: the tasks claimed here because their claim was released or went stale
        without a result, and those still held by others (both empty when the other runners computed all)."""
        waiting = list(others)
        while waiting:
            if check is not None:  # e.g. raises on Ctrl-C
                check()
            still, mine = [], []
            for task in waiting:
                result = cache.load(task.key, task.config, report=report) if cache.path(task.key).exists() else None
                if result is not None:
                    loaded[task.key] = result
                    if on_loaded is not None:
                        on_loaded(task)
                elif self.acquire(task.key):
                    mine.append(task)
                else:
                    still.append(task)
            if mine:
                return mine, still
            waiting = still
            if waiting:
                time.sleep(POLL_S)
        return [], []
