"""Issue 12: a damaged task file is never trusted (content checksum in its metadata; recomputed on mismatch),
and sets of output files are replaced as a set (:func:`wsnmec.io.write_set`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from wsnmec import io
from wsnmec.study.cache import META_DIGEST, CacheError, TaskCache, read_task
from wsnmec.study.runner import ExecutorHandle, compute_task, expand_tasks, run_study
from wsnmec.study.spec import load_study

STUDY = "title = 't'\nseed = 4\nseeds = 2\n[base]\nnodes = 30\nrounds = 40\n"


def flip_bytes_in_column(path: Path, column: str, count: int = 8):
    """Invert ``count`` bytes in the middle of ``column``'s data in the file; the footer stays intact."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index(column))
    start = chunk.data_page_offset
    middle = start + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    assert pq.ParquetFile(path).metadata.num_rows == meta.num_rows  # the footer still reads


def test_flipped_data_bytes_are_detected_and_the_task_recomputed(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(STUDY, encoding="utf-8")
    spec = load_study(path)
    reports = []
    with ExecutorHandle(jobs=1) as executor:
        first = run_study(spec, tmp_path / "r", executor=executor, report=reports.append)
        victim = TaskCache(tmp_path / "r" / "t" / "tasks").path(first.tasks[0].key)
        flip_bytes_in_column(victim, "residual_j")
        second = run_study(spec, tmp_path / "r", executor=executor, report=reports.append)
    assert first.computed == 2
    assert len(reports) == 1 and str(victim) in reports[0]
    assert "recomputing" in reports[0] and ("checksum mismatch" in reports[0] or "corrupt" in reports[0])
    assert second.computed == 1 and second.cached == 1
    pd.testing.assert_frame_equal(second.rounds, first.rounds)  # the residual energies are the true ones
    read_task(victim, first.tasks[0].key, first.tasks[0].config)  # rewritten whole


def test_values_changed_behind_an_intact_file_fail_the_checksum(tmp_path):
    """A file that decodes fine but holds other values (silent damage) is refused: checksum mismatch."""
    path = tmp_path / "t.toml"
    path.write_text(STUDY, encoding="utf-8")
    task = expand_tasks(load_study(path))[0]
    cache = TaskCache(tmp_path / "tasks")
    result, _ = compute_task(task.scenario, task.seed)
    cache.store(task.key, task.config, result)
    table = pq.read_table(cache.path(task.key))
    assert META_DIGEST in table.schema.metadata
    frame = table.to_pandas()
    frame.loc[3, "residual_j"] = -0.106
    damaged = table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata)
    pq.write_table(damaged, cache.path(task.key), compression="none", use_dictionary=False)
    with pytest.raises(CacheError, match="checksum mismatch"):
        read_task(cache.path(task.key), task.key, task.config)
    reports = []
    assert cache.load(task.key, task.config, report=reports.append) is None
    assert len(reports) == 1 and "checksum mismatch" in reports[0]


def test_write_set_swaps_whole_sets(tmp_path):
    target = tmp_path / "out"
    for generation in range(3):
        io.write_set(target, {name: (lambda p, g=generation: p.write_text(str(g))) for name in ("a", "b", "c")})
        assert {p.name: p.read_text() for p in target.iterdir()} == {n: str(generation) for n in "abc"}
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging or old directory left


def test_write_set_failure_leaves_the_old_set(tmp_path):
    target = tmp_path / "out"
    io.write_set(target, {"a": lambda p: p.write_text("old"), "b": lambda p: p.write_text("old")})

    def broken(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        io.write_set(target, {"a": lambda p: p.write_text("new"), "b": broken})
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a": "old", "b": "old"}
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_write_set_leaves_other_files_alone(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    io.write_set(target, {"a": lambda p: p.write_text("1")})
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a": "1", "notes.txt": "mine"}
    assert sorted(os.listdir(tmp_path)) == ["out"]


@pytest.mark.parametrize("exchange", [True, False])
def test_reader_never_sees_a_mix(tmp_path, monkeypatch, exchange):
    """A reader opening the directory once and its files relative to it sees one generation or, when the set
    was swapped meanwhile, no file (then it retries): never files of two generations."""
    if not exchange:  # the fallback where renameat2 is unavailable: rename aside, then in
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    names = ("a", "b", "c")
    io.write_set(target, {n: (lambda p: p.write_text("0")) for n in names})
    stop = threading.Event()
    seen, mixes = set(), []

    def reader():
        while not stop.is_set():
            try:
                fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue
            try:
                values = []
                for name in names:
                    with open(os.open(name, os.O_RDONLY, dir_fd=fd), encoding="utf-8") as handle:
                        values.append(handle.read())
            except FileNotFoundError:
                continue
            finally:
                os.close(fd)
            if len(set(values)) != 1:
                mixes.append(values)
            seen.add(values[0])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for generation in range(1, 60):
            io.write_set(target, {n: (lambda p, g=generation: p.write_text(str(g))) for n in names})
    finally:
        stop.set()
        thread.join()
    assert mixes == []
    assert len(seen) > 1  # the reader did overlap the writer


def test_write_set_never_swaps_away_the_working_directory(tmp_path, monkeypatch):
    target = tmp_path / "here"
    io.write_set(target, {"a": lambda p: p.write_text("1")})
    monkeypatch.chdir(target)
    inode = os.stat(".").st_ino
    io.write_set(".", {"a": lambda p: p.write_text("2")})
    assert os.stat(".").st_ino == inode and Path("a").read_text() == "2"
    assert sorted(os.listdir(".")) == ["a"] and sorted(os.listdir(tmp_path)) == ["here"]


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    from wsnmec.study.cache import remove_stale_temporaries

    old_file = tmp_path / ".abc.parquet.x1.tmp"
    old_dir = tmp_path / ".full.x2.tmp"
    fresh = tmp_path / ".def.parquet.x3.tmp"
    keep = tmp_path / "abc.parquet"
    old_file.write_text("half")
    old_dir.mkdir()
    (old_dir / "rounds.parquet").write_text("half")
    fresh.write_text("being written")
    keep.write_text("whole")
    past = time.time() - 3600
    for path in (old_file, old_dir):
        os.utime(path, (past, past))
    assert remove_stale_temporaries(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, keep.name])
