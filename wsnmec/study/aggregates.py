"""Aggregates of a study run that the figures read instead of the long-form rounds table (a lean redraw).

A study's rounds table holds one row per task and round (3.5 million rows for the full scaling study);
the figures need much less. Beside ``rounds.parquet`` and ``summary.parquet`` the runner writes, per mode
directory (``<results>/<study>/full`` or ``quick``):

``curves.parquet``
    Per task (``task``, its cache key) the per-round columns of :data:`~wsnmec.study.columns.ROUND_COLUMNS`
    on the plotted rounds only: rounds 1 to the display end (:func:`display_end`, the 95th percentile of
    the tasks' run lengths), thinned to at most :data:`MAX_LINE_POINTS` rounds (every k-th round plus the
    last). A task that ended earlier continues with its final state or with zero, as ``ROUND_COLUMNS``
    says for the column. The line figures bootstrap their bands from these per-task values.
``means.parquet``
    Per grid point (the swept parameters as columns) and round 1 to the longest run, the mean over seeds of
    every padded per-round column, at full resolution; the figure index's readings use it.
``aggregates.json``
    What the aggregates were made from: the task keys in order, the size and modification time of each
    task's cache file and the SHA-256 of its bytes as read (``task_sha256``), and the SHA-256 of every derived
    table of the mode directory (``tables_sha256``: ``rounds.parquet``, ``summary.parquet``, ``study.json``,
    ``curves.parquet``, ``means.parquet``; offloading studies' ``frames.json``: the same with
    ``frames.parquet``); the manifest is sealed by the SHA-256 of its own content
    (``sha256``, :func:`wsnmec.integrity.seal`). A rerun whose tasks are unchanged verifies every task file
    and every derived table against these checksums, whatever their size and modification time say, and
    then reads the summary and the aggregates and nothing else (:func:`load_current`); any difference (a new
    task, a recomputed cache file, one flipped bit in a task file, a derived table or the manifest) falls back
    to reading the cache, which reports a damaged task file in one line and recomputes that task, and derives
    every table again.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..integrity import file_sha256, load_sealed_json, read_parquet_verified, seal, write_parquet_checked
from ..io import write_json
from .columns import ROUND_COLUMNS

#: At most this many rounds are plotted per curve (every k-th round, plus the last).
MAX_LINE_POINTS = 400
#: The x-axis of line figures ends at this percentile of the tasks' run lengths.
DISPLAY_PERCENTILE = 95.0
#: Version of the aggregate files' layout (a change makes old aggregates stale).
AGGREGATES_VERSION = 1
AGGREGATE_FILES = ("curves.parquet", "means.parquet", "aggregates.json")


class Aggregates:
    """What the figures of a study read.

    Attributes
    ----------
    curves : DataFrame
        ``task, round`` and the padded per-round columns on the plotted rounds (module docstring).
    means : DataFrame
        The swept parameters, ``round`` and the per-round columns averaged over seeds, rounds 1 to
        ``last_round``.
    display_end : int
        Last plotted round: the 95th percentile of the tasks' run lengths [rounds].
    last_round : int
        The longest run [rounds].

    Aggregates loaded from a results directory read ``curves`` and ``means`` on first use (a study whose
    figures need neither never reads them), each verified against ``checksums`` (file name -> SHA-256 of
    its bytes, from the manifest): a file changed since :func:`load_current` verified it raises
    :class:`~wsnmec.integrity.ChecksumMismatch` (one line on the command line).
    """

    def __init__(self, display_end: int, last_round: int, curves: pd.DataFrame | None = None,
                 means: pd.DataFrame | None = None, directory: str | os.PathLike | None = None,
                 checksums: dict | None = None):
        self.display_end = int(display_end)
        self.last_round = int(last_round)
        self._curves = curves
        self._means = means
        self.directory = None if directory is None else Path(directory)
        self.checksums = dict(checksums or {})

    def _read(self, name: str, columns=None) -> pd.DataFrame:
        return read_parquet_verified(self.directory / name, self.checksums.get(name), columns=columns)

    @property
    def curves(self) -> pd.DataFrame:
        if self._curves is None:
            self._curves = self._read("curves.parquet")
        return self._curves

    def curve_columns(self, columns) -> pd.DataFrame:
        """``task``, ``round`` and ``columns`` of :attr:`curves`, reading only those columns from a stored
        file (a figure draws one column of many)."""
        wanted = ["task", "round", *[c for c in columns if c not in ("task", "round")]]
        if self._curves is None and self.directory is not None:
            return self._read("curves.parquet", columns=wanted)
        return self.curves[wanted]

    @property
    def means(self) -> pd.DataFrame:
        if self._means is None:
            self._means = self._read("means.parquet")
        return self._means

    @property
    def cut(self) -> bool:
        """Whether the plotted rounds stop before the longest run."""
        return self.display_end < self.last_round


def display_end(run_lengths) -> int:
    """The last plotted round: the :data:`DISPLAY_PERCENTILE` th percentile of the run lengths (a length
    that occurs, so the axis ends where a run ended)."""
    lengths = np.asarray(run_lengths, dtype=np.int64)
    if lengths.size == 0:
        return 1
    return max(1, int(np.percentile(lengths, DISPLAY_PERCENTILE, method="higher")))


def plotted_rounds(end: int, max_points: int = MAX_LINE_POINTS) -> np.ndarray:
    """Rounds 1..end thinned to at most ``max_points`` (+1): every k-th round, plus ``end``."""
    stride = max(1, math.ceil(end / max_points))
    keep = np.arange(1, end + 1, stride, dtype=np.int64)
    if keep[-1] != end:
        keep = np.append(keep, end)
    return keep


def _padded(values: np.ndarray, length: int, rule: str) -> np.ndarray:
    """``values`` (rounds 1..len) continued to ``length`` rounds: with its last value or with zero."""
    out = np.zeros(length, dtype=np.float64)
    count = min(values.size, length)
    out[:count] = values[:count]
    if rule == "last" and 0 < count < length:
        out[count:] = values[count - 1]
    return out


def _task_blocks(rounds: pd.DataFrame):
    """``(task key, row positions in round order)`` per task, in the table's task order."""
    tasks = rounds["task"].to_numpy()
    order = np.argsort(rounds["round"].to_numpy(), kind="stable")
    order = order[np.argsort(tasks[order], kind="stable")]
    keys, starts = np.unique(tasks[order], return_index=True)
    bounds = list(starts[1:]) + [len(order)]
    numbers = rounds["round"].to_numpy()
    blocks = {}
    for key, start, end in zip(keys, starts, bounds):
        rows = order[start:end]
        # a task listed at two grid points (the same configuration) has its rows twice: keep one copy
        blocks[key] = rows[np.r_[True, np.diff(numbers[rows]) != 0]]
    return [(key, blocks[key]) for key in dict.fromkeys(tasks)]


def compute(rounds: pd.DataFrame, summary: pd.DataFrame, grid: list[str]) -> Aggregates:
    """The aggregates of a study's long-form tables (``grid``: the swept parameters, columns of both)."""
    columns = [c for c in ROUND_COLUMNS if c in rounds.columns]
    blocks = _task_blocks(rounds)
    lengths = {key: len(rows) for key, rows in blocks}
    last = max(lengths.values(), default=1) or 1
    end = display_end(list(lengths.values()))
    shown = plotted_rounds(end)
    values = {c: rounds[c].to_numpy(dtype=np.float64) for c in columns}
    curve_parts = {c: [] for c in columns}
    # per grid point: the mean over its tasks (seeds) of each padded column, every round
    labels = summary.set_index("task")
    by = grid[0] if len(grid) == 1 else grid
    points = labels.groupby(by, sort=False, dropna=False).groups if grid else {(): labels.index}
    point_of: dict[str, list[int]] = {}
    point_keys = []
    for number, (point, keys) in enumerate(points.items()):
        point_keys.append(point if isinstance(point, tuple) else (point,))
        for key in keys:
            point_of.setdefault(key, []).append(number)
    sums = {c: np.zeros((len(point_keys), last)) for c in columns}
    counts = np.zeros(len(point_keys))
    for key, rows in blocks:
        for number in point_of.get(key, []):
            counts[number] += 1
        for c in columns:
            padded = _padded(values[c][rows], last, ROUND_COLUMNS[c][1])
            curve_parts[c].append(padded[shown - 1])
            for number in point_of.get(key, []):
                sums[c][number] += padded
    curves = pd.DataFrame({
        "task": np.repeat([key for key, _ in blocks], shown.size),
        "round": np.tile(shown, len(blocks)),
        **{c: np.concatenate(curve_parts[c]) if blocks else np.empty(0) for c in columns},
    })
    parts = []
    for number, point in enumerate(point_keys):
        if counts[number] == 0:
            continue
        frame = {name: [value] * last for name, value in zip(grid, point)}
        frame["round"] = np.arange(1, last + 1, dtype=np.int64)
        for c in columns:
            frame[c] = sums[c][number] / counts[number]
        parts.append(pd.DataFrame(frame))
    means = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*grid, "round", *columns])
    return Aggregates(curves=curves, means=means, display_end=end, last_round=last)


def _file_stamps(cache, keys) -> dict[str, list[int]] | None:
    """``key -> [size, mtime_ns]`` of each task's cache file, or None when one is missing."""
    stamps = {}
    for key in keys:
        try:
            stat = os.stat(cache.path(key))
        except OSError:
            return None
        stamps[key] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def _task_checksums(cache, keys) -> dict[str, str] | None:
    """``key -> SHA-256`` of each task's cache file: of the bytes this run read or wrote (the cache
    verified their content), else of the file as it is now; None when one is missing."""
    checksums = {}
    for key in keys:
        known = getattr(cache, "checksums", {}).get(key)
        if known is None:
            try:
                known = file_sha256(cache.path(key))
            except OSError:
                return None
        checksums[key] = known
    return checksums


def _unique_keys(tasks) -> list[str]:
    return list(dict.fromkeys(t.key for t in tasks))


def write(directory: str | os.PathLike, tasks, cache, aggregates: Aggregates, tables: dict | None = None) -> None:
    """Write the aggregate files of a mode directory (after its rounds and summary tables, whose checksums
    ``tables`` gives: file name -> SHA-256, :func:`wsnmec.study.runner.write_final_tables`)."""
    directory = Path(directory)
    checksums = dict(tables or {})
    checksums["curves.parquet"] = write_parquet_checked(directory / "curves.parquet", aggregates.curves)
    checksums["means.parquet"] = write_parquet_checked(directory / "means.parquet", aggregates.means)
    write_json(directory / "aggregates.json", seal({
        "version": AGGREGATES_VERSION,
        "display_end": aggregates.display_end,
        "last_round": aggregates.last_round,
        **_settings(),
        **_made_from(tasks, cache),
        "tables_sha256": checksums,
    }))


def _settings() -> dict:
    """The settings the stored aggregates depend on (a change makes them stale)."""
    return {"max_line_points": MAX_LINE_POINTS, "display_percentile": DISPLAY_PERCENTILE}


def _made_from(tasks, cache) -> dict:
    """What a stored table was made from: the task keys in order, their cache files' stamps and the
    checksums of their bytes."""
    keys = _unique_keys(tasks)
    return {"tasks": keys, "files": _file_stamps(cache, keys), "task_sha256": _task_checksums(cache, keys)}


def _tables_current(directory: Path, manifest: dict, names) -> bool:
    """Whether every derived table ``names`` of ``directory`` has the SHA-256 the manifest records."""
    recorded = manifest.get("tables_sha256")
    if not isinstance(recorded, dict):
        return False
    for name in names:
        try:
            if not isinstance(recorded.get(name), str) or file_sha256(directory / name) != recorded[name]:
                return False
        except OSError:
            return False
    return True


def _current_manifest(path: Path, tasks, cache, expected: dict, tables=()) -> dict | None:
    """The manifest at ``path`` when it is intact (its seal matches), holds ``expected``, was made from
    exactly ``tasks``' cache files as they are now (stamps, and the SHA-256 of every file's bytes) and the
    derived ``tables`` beside it are those it records; else None."""
    try:
        manifest = load_sealed_json(path)
    except (OSError, ValueError):
        return None
    if any(manifest.get(k) != v for k, v in expected.items()):
        return None
    keys = _unique_keys(tasks)
    if manifest.get("tasks") != keys or manifest.get("files") != _file_stamps(cache, keys):
        return None
    recorded = manifest.get("task_sha256")
    if not isinstance(recorded, dict):
        return None
    for key in keys:  # every byte of every task file, whatever its size and modification time say
        try:
            if file_sha256(cache.path(key)) != recorded.get(key):
                return None
        except OSError:
            return None
    if not _tables_current(path.parent, manifest, tables):
        return None
    return manifest


def _current_summary(directory: Path, tasks, manifest: dict) -> pd.DataFrame | None:
    """The stored ``summary.parquet`` when its bytes are those the manifest records and it lists exactly
    ``tasks`` in order; else None."""
    try:
        summary = read_parquet_verified(directory / "summary.parquet", manifest["tables_sha256"].get("summary.parquet"))
    except Exception:  # a damaged, changed or missing table: rebuild from the cache
        return None
    return summary if list(dict.fromkeys(summary["task"])) == _unique_keys(tasks) else None


#: The derived tables of a lifetime study's mode directory verified before a rerun reads them (the manifest
#: also records ``rounds.parquet``, verified when it is read: :meth:`wsnmec.study.runner.StudyRun.load_rounds`).
LIFETIME_TABLES = ("summary.parquet", "study.json", "curves.parquet", "means.parquet")


def load_current(directory: str | os.PathLike, tasks, cache) -> tuple[pd.DataFrame, Aggregates] | None:
    """The stored summary and aggregates of ``directory`` when they were made from exactly ``tasks``' cache
    files as they are now (same keys, sizes, modification times and SHA-256 of their bytes) and every
    derived table is the one the manifest records; else None."""
    directory = Path(directory)
    manifest = _current_manifest(directory / "aggregates.json", tasks, cache,
                                 {"version": AGGREGATES_VERSION, **_settings()}, LIFETIME_TABLES)
    if manifest is None:
        return None
    summary = _current_summary(directory, tasks, manifest)
    if summary is None:
        return None
    return summary, Aggregates(display_end=manifest["display_end"], last_round=manifest["last_round"],
                               directory=directory, checksums=manifest["tables_sha256"])


def lifetime_tables_current(directory: str | os.PathLike, tasks, cache) -> bool:
    """Whether a rerun of a lifetime study would read only the stored tables of ``directory`` (its mode
    directory): the manifest is intact and every task file and derived table has the checksum it records (the
    bytes are hashed, nothing is parsed)."""
    return _current_manifest(Path(directory) / "aggregates.json", tasks, cache,
                             {"version": AGGREGATES_VERSION, **_settings()}, LIFETIME_TABLES) is not None


def frames_current(directory: str | os.PathLike, spec, tasks, cache) -> bool:
    """:func:`lifetime_tables_current` of an offloading study (its frames manifest)."""
    return _current_manifest(Path(directory) / FRAMES_MANIFEST, tasks, cache, _frames_settings(spec),
                             ("summary.parquet", "study.json", FRAMES_FILE)) is not None


# ---------------------------------------------------------------------------- any study kind
def current_manifest(path: str | os.PathLike, tasks, cache, expected: dict, tables=()) -> dict | None:
    """The sealed manifest at ``path`` when it holds ``expected``, was made from exactly ``tasks``' cache
    files as they are now and every derived table ``tables`` beside it has the checksum it records."""
    return _current_manifest(Path(path), tasks, cache, expected, tables)


def write_manifest(path: str | os.PathLike, settings: dict, tasks, cache, tables: dict) -> None:
    """Write the sealed manifest of a mode directory: ``settings``, the task files the tables were made from
    (keys, stamps, checksums) and the tables' checksums (file name -> SHA-256)."""
    write_json(Path(path), seal({**settings, **_made_from(tasks, cache), "tables_sha256": dict(tables)}))


def load_current_tables(directory: str | os.PathLike, manifest_name: str, settings: dict, tasks, cache):
    """``(summary, None, None)`` of a mode directory whose manifest ``manifest_name`` is current
    (:func:`current_manifest`) and whose summary lists exactly ``tasks``; else None (the rounds table is read
    on demand: :meth:`wsnmec.study.runner.StudyRun.load_rounds`)."""
    directory = Path(directory)
    manifest = _current_manifest(directory / manifest_name, tasks, cache, settings, ("summary.parquet", "study.json"))
    if manifest is None:
        return None
    summary = _current_summary(directory, tasks, manifest)
    return None if summary is None else (summary, None, None)


# ---------------------------------------------------------------------------- offloading studies
#: Offloading studies (``kind = "offload"``): the per-frame rows their ``frames`` figures read, beside the
#: full per-frame table. Every policy's rows of every task are in ``rounds.parquet`` (millions of rows for
#: the full learning studies); the figures draw one policy (the learner, by default) and a few columns.
FRAMES_FILE = "frames.parquet"
FRAMES_MANIFEST = "frames.json"
FRAMES_VERSION = 1
#: Per-frame columns kept (besides the swept parameters, seed and task labels, ``policy`` and ``frame``).
FRAMES_COLUMNS = ("normalized_utility", "utility", "candidates")


def frame_policies(spec) -> list[str] | None:
    """The policies the ``frames`` figures of an offloading study draw (None: every policy)."""
    wanted = [f.policy for f in spec.figures if f.kind == "frames"]
    if any(p is None for p in wanted):
        return None
    return sorted(set(wanted))


def frames_table(rounds: pd.DataFrame, spec) -> pd.DataFrame:
    """The rows and columns of an offloading study's per-frame table that its figures and readings use."""
    policies = frame_policies(spec)
    keep = [c for c in (*spec.grid, "seed_index", "seed", "task", "policy", "frame", *FRAMES_COLUMNS)
            if c in rounds.columns]
    table = rounds if policies is None else rounds[rounds["policy"].isin(policies)]
    return table[keep].reset_index(drop=True)


def write_frames(directory: str | os.PathLike, spec, tasks, cache, table: pd.DataFrame,
                 tables: dict | None = None) -> None:
    """Write ``frames.parquet`` and its sealed manifest (the task keys, their cache files' stamps and
    checksums, and the checksums of the derived tables, as ``aggregates.json``; ``tables``: those of the
    final tables, file name -> SHA-256) into an offloading study's mode directory."""
    directory = Path(directory)
    checksums = dict(tables or {})
    checksums[FRAMES_FILE] = write_parquet_checked(directory / FRAMES_FILE, table)
    write_json(directory / FRAMES_MANIFEST, seal({**_frames_settings(spec), **_made_from(tasks, cache),
                                                  "tables_sha256": checksums}))


def _frames_settings(spec) -> dict:
    return {"version": FRAMES_VERSION, "policies": frame_policies(spec), "columns": list(FRAMES_COLUMNS)}


def load_current_frames(directory: str | os.PathLike, spec, tasks, cache) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``(summary, frames)`` of an offloading study's mode directory when they were made from exactly
    ``tasks``' cache files as they are now, for the policies its figures draw; else None."""
    directory = Path(directory)
    manifest = _current_manifest(directory / FRAMES_MANIFEST, tasks, cache, _frames_settings(spec),
                                 ("summary.parquet", "study.json"))
    if manifest is None:
        return None
    summary = _current_summary(directory, tasks, manifest)
    if summary is None:
        return None
    try:
        frames = read_parquet_verified(directory / FRAMES_FILE, manifest["tables_sha256"].get(FRAMES_FILE))
    except Exception:  # a damaged, changed or missing table: rebuild from the cache
        return None
    return summary, frames
