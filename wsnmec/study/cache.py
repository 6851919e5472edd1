"""The task cache: one Parquet file per finished task, keyed by a hash of its full effective configuration.

A task is one scenario and one seed. Its key is the SHA-256 (first 32 hex digits) of the canonical JSON of
``{"scenario": scenario.to_config(), "seed": seed, "version": wsnmec.__version__, "code": fingerprint}``
(plus the SHA-256 of every input file the scenario names: the positions CSV, the policy model), so a changed parameter, seed or package version gives a new key and an
unchanged one finds the old result.

The file ``<dir>/<key>.parquet`` holds the task's per-round table; its Parquet key-value metadata holds
the key, the configuration, the per-task summary row and a SHA-256 over all of them and every value of the
table (:func:`content_digest`). On read, the checksum, key and configuration are checked: a file that cannot
be read (truncated, corrupt), whose content no longer matches its checksum (damaged data pages), or that
belongs to another configuration is reported in one line and treated as missing (the task is recomputed),
never used. Files are written to a temporary name and renamed (:mod:`wsnmec.io`), so
an interrupted run leaves either a whole file or none.

A file is read into memory once and parsed from those bytes; the SHA-256 of the bytes written or read is kept
(:attr:`TaskCache.checksums`), so that the study's aggregate manifest records the exact bytes its tables
were made from (:mod:`wsnmec.study.aggregates`) and a later run verifies every task file against it, whatever
its size and modification time say.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import __version__
from ..fingerprint import SIMULATOR_SOURCES, simulator_fingerprint  # noqa: F401  (re-exported)
from ..integrity import file_sha256, sha256_bytes
from ..io import atomic_path

META_KEY = b"wsnmec.key"
META_CONFIG = b"wsnmec.config"
META_SUMMARY = b"wsnmec.summary"
META_DTYPES = b"wsnmec.summary_dtypes"
META_DIGEST = b"wsnmec.sha256"


def canonical_json(obj) -> str:
    """JSON with sorted keys and no whitespace (the hashed form of a configuration)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def task_config(scenario, seed: int, scenario_config: dict | None = None) -> dict:
    """The full effective configuration of a task (what its cache key hashes).

    ``scenario_config``: :func:`task_scenario_config` of ``scenario``, when the caller already has it (the seeds
    of one grid point share it; it is read, never modified).
    """
    if scenario_config is None:
        scenario_config = task_scenario_config(scenario)
    return {"scenario": scenario_config, "seed": int(seed), "version": __version__, "code": simulator_fingerprint()}


def task_scenario_config(scenario) -> dict:
    """The scenario part of a task's configuration: every effective parameter, plus the SHA-256 of every
    input file it names (a positions file, a policy model), so that a file overwritten in place (same path)
    gives a new key, and, for a plug-in policy or harvest model, its ``module:object`` and the SHA-256 of its
    module file (:func:`wsnmec.clustering.registry.protocol_record`,
    :func:`wsnmec.energy.harvesters.registry.harvest_record`: a changed plug-in is run again)."""
    from ..clustering.registry import protocol_record
    from ..energy.harvesters.registry import harvest_record

    scenario_config = scenario.to_config()
    if scenario_config.get("positions"):
        scenario_config["positions_sha256"] = _file_digest(scenario_config["positions"])
    if scenario_config.get("policy_model"):
        scenario_config["policy_model_sha256"] = _file_digest(scenario_config["policy_model"])
    scenario_config.update(protocol_record(scenario.protocol))
    scenario_config.update(harvest_record(scenario.harvest.kind))
    return scenario_config


def task_key(config: dict) -> str:
    """Cache key of a task configuration: the first 32 hex digits of SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()[:32]


def content_digest(frame: pd.DataFrame, *extra: bytes) -> str:
    """SHA-256 (hex) of a table's content: column names, dtypes and every value (row hashes of
    :func:`pandas.util.hash_pandas_object`), followed by ``extra`` byte strings.

    It depends on the values only, not on how Parquet lays them out, so it is computed before writing and
    again after reading: a file whose data pages were damaged (even with an intact footer) does not match.
    """
    digest = hashlib.sha256()
    for column, dtype in frame.dtypes.items():
        digest.update(f"{column}\0{dtype}\0".encode("utf-8"))
    if len(frame):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(f"rows={len(frame)}\0".encode())
    for part in extra:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


class CacheError(Exception):
    """A cache file that cannot be used (corrupt, or not the expected task's)."""


@dataclass
class TaskResult:
    """A task's per-round table and its one-row summary."""

    rounds: pd.DataFrame
    summary: pd.DataFrame


def _plain(value):
    """A JSON-able Python value of a summary cell (NA -> None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_task(path: str | os.PathLike, key: str, config: dict, result: TaskResult,
               checksums: dict | None = None) -> Path:
    """Write a task result to ``path`` atomically, with key, configuration and summary as metadata;
    ``checksums[key]`` receives the SHA-256 of the file's bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(result.rounds, preserve_index=False)
    summary_rows = [{c: _plain(v) for c, v in row.items()} for row in result.summary.to_dict("records")]
    metadata = dict(table.schema.metadata or {})
    metadata[META_KEY] = key.encode()
    metadata[META_CONFIG] = canonical_json(config).encode()
    metadata[META_SUMMARY] = json.dumps(summary_rows, allow_nan=False).encode()
    metadata[META_DTYPES] = json.dumps({c: str(t) for c, t in result.summary.dtypes.items()}).encode()
    metadata[META_DIGEST] = content_digest(
        result.rounds.reset_index(drop=True), metadata[META_KEY], metadata[META_CONFIG], metadata[META_SUMMARY],
        metadata[META_DTYPES],
    ).encode()
    table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
        if checksums is not None:
            checksums[key] = file_sha256(tmp)
    return Path(path)


def read_task(path: str | os.PathLike, key: str, config: dict, checksums: dict | None = None) -> TaskResult:
    """Read a cached task result, checking that it is the task ``key`` with configuration ``config``;
    ``checksums[key]`` receives the SHA-256 of the bytes read (when the file is valid).

    Raises
    ------
    FileNotFoundError
        No file.
    CacheError
        The file cannot be read, or its key or configuration differ (a foreign file).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CacheError(f"unreadable ({exc.strerror or exc.__class__.__name__})") from None
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise CacheError(f"corrupt, unreadable ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    try:
        result = _checked_result(table, key, config)
    except CacheError:
        raise
    except Exception as exc:  # damaged metadata that decodes (pandas' own, a key that is not UTF-8, ...)
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise CacheError(f"corrupt, damaged metadata ({exc.__class__.__name__}: {text[:120]})") from None
    if checksums is not None:
        checksums[key] = sha256_bytes(data)
    return result


def _checked_result(table, key: str, config: dict) -> TaskResult:
    """The task result held by a Parquet ``table`` read from the cache, after checking its key,
    configuration and content checksum (:func:`read_task`); raises :class:`CacheError` or, for damaged
    metadata, whatever decoding it raises."""
    metadata = table.schema.metadata or {}
    if META_KEY not in metadata or META_CONFIG not in metadata or META_SUMMARY not in metadata:
        raise CacheError("not a wsnmec task result (no key/configuration metadata)")
    found_key = metadata[META_KEY].decode()
    if found_key != key:
        raise CacheError(f"foreign file: holds task {found_key}, expected {key}")
    try:
        found_config = json.loads(metadata[META_CONFIG])
        summary_rows = json.loads(metadata[META_SUMMARY])
        dtypes = json.loads(metadata.get(META_DTYPES, b"{}"))
    except ValueError as exc:
        raise CacheError(f"damaged metadata ({exc})") from None
    if found_config != json.loads(canonical_json(config)):
        raise CacheError("foreign file: its configuration differs from the task's")
    rounds = table.to_pandas()
    if META_DIGEST not in metadata:
        raise CacheError("no content checksum (written by an older wsnmec)")
    digest = content_digest(
        rounds, metadata[META_KEY], metadata[META_CONFIG], metadata[META_SUMMARY], metadata.get(META_DTYPES, b"{}")
    )
    if digest != metadata[META_DIGEST].decode(errors="replace"):
        raise CacheError("checksum mismatch: its content was damaged")
    summary = pd.DataFrame(summary_rows)
    for column, dtype in dtypes.items():
        if column in summary.columns:
            summary[column] = summary[column].astype(dtype)
    return TaskResult(rounds=rounds, summary=summary)


#: Age after which a temporary file or directory of an atomic write is certainly orphaned (its writer was
#: killed: writes take milliseconds) and is removed by the next run [s].
STALE_TEMPORARY_S = 600.0


def remove_stale_temporaries(directory: str | os.PathLike, max_age: float = STALE_TEMPORARY_S) -> int:
    """Delete ``.*.tmp`` files and directories in ``directory`` older than ``max_age`` seconds (left by a
    process killed while writing); returns how many were removed."""
    import shutil
    import time

    removed = 0
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    now = time.time()
    for entry in directory.iterdir():
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        try:
            if now - entry.lstat().st_mtime < max_age:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError:
            pass
    return removed


class TaskCache:
    """Task results under one directory, one ``<key>.parquet`` file each."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        #: key -> SHA-256 of the bytes of its file as last read or written by this object
        self.checksums: dict[str, str] = {}

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.parquet"

    def load(self, key: str, config: dict, report=None,
             action: str = "ignoring it and recomputing the task") -> TaskResult | None:
        """The cached result, or None when missing; a bad file is reported through ``report`` (a callable
        taking one message, which ends with ``action``) and treated as missing."""
        path = self.path(key)
        try:
            return read_task(path, key, config, self.checksums)
        except FileNotFoundError:
            self.checksums.pop(key, None)
            return None
        except CacheError as exc:
            self.checksums.pop(key, None)
            if report is not None:
                report(f"cache file {path}: {exc}; {action}")
            return None

    def store(self, key: str, config: dict, result: TaskResult) -> Path:
        return write_task(self.path(key), key, config, result, self.checksums)
