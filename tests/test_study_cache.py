"""The task cache: keys, atomic writes, corrupt and foreign files."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate
from wsnmec.study import cache as cache_module
from wsnmec.study.cache import CacheError, TaskCache, TaskResult, read_task, task_config, task_key, write_task


def small_result(seed: int = 3) -> TaskResult:
    result = simulate(Scenario.from_mapping({"nodes": 8, "rounds": 30, "e0": 0.01}), seed=seed, replicas=1, workers=1)
    return TaskResult(result.rounds, result.summary)


def key_of(seed=1, **parameters) -> str:
    return task_key(task_config(Scenario.from_mapping(parameters), seed))


def test_unchanged_configuration_keeps_its_key():
    assert key_of(nodes=50, protocol="leach") == key_of(nodes=50, protocol="leach")
    # the same scenario spelled differently (defaults, field as one number) is the same task
    assert key_of(nodes=100) == key_of(field=[100, 100], sink=[50, 50], e0=0.5)


@pytest.mark.parametrize(
    "changed",
    [
        {"nodes": 51},
        {"protocol": "ileach"},
        {"semantics": "matlab"},
        {"e0": 0.5000001},
        {"harvest": "constant:1e-4"},
        {"sink": [50, 51]},
        {"rounds": 999},
        {"radio": "heinzelman2000"},
    ],
)
def test_changed_parameter_changes_the_key(changed):
    base = {"nodes": 50, "protocol": "leach"}
    assert key_of(**base) != key_of(**{**base, **changed})


def test_seed_and_version_are_part_of_the_key(monkeypatch):
    scenario = Scenario.from_mapping({"nodes": 50})
    assert task_key(task_config(scenario, 1)) != task_key(task_config(scenario, 2))
    before = task_key(task_config(scenario, 1))
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    assert task_key(task_config(scenario, 1)) != before


def test_positions_file_content_is_part_of_the_key(tmp_path):
    csv = tmp_path / "nodes.csv"
    csv.write_text("x,y\n1,2\n3,4\n")
    first = key_of(positions=str(csv))
    csv.write_text("x,y\n1,2\n3,5\n")
    assert key_of(positions=str(csv)) != first


def test_round_trip_keeps_tables_and_dtypes(tmp_path):
    result = small_result()
    config = task_config(Scenario.from_mapping({"nodes": 8}), 3)
    key = task_key(config)
    path = write_task(tmp_path / f"{key}.parquet", key, config, result)
    back = read_task(path, key, config)
    pd.testing.assert_frame_equal(back.rounds, result.rounds)
    pd.testing.assert_frame_equal(back.summary, result.summary)
    assert str(back.summary["fnd"].dtype) == "Int64"


def test_write_is_atomic(tmp_path, monkeypatch):
    """A write that fails midway leaves neither a partial target nor a temporary file, and keeps an
    existing file intact."""
    import pyarrow.parquet as pq

    result = small_result()
    config = task_config(Scenario.from_mapping({"nodes": 8}), 3)
    key = task_key(config)
    target = tmp_path / f"{key}.parquet"
    real_write = pq.write_table

    def write_half_then_die(table, where, **kwargs):
        real_write(table, where, **kwargs)
        with open(where, "r+b") as handle:  # a half-written file ...
            handle.truncate(os.path.getsize(where) // 2)
        raise KeyboardInterrupt  # ... and the process interrupted before the rename

    monkeypatch.setattr(pq, "write_table", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_task(target, key, config, result)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setattr(pq, "write_table", real_write)
    write_task(target, key, config, result)
    before = target.read_bytes()
    monkeypatch.setattr(pq, "write_table", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_task(target, key, config, small_result(seed=4))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_truncated_file_is_reported_and_treated_as_missing(tmp_path):
    result = small_result()
    config = task_config(Scenario.from_mapping({"nodes": 8}), 3)
    key = task_key(config)
    store = TaskCache(tmp_path)
    path = store.store(key, config, result)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="corrupt"):
        read_task(path, key, config)
    messages = []
    assert store.load(key, config, report=messages.append) is None
    assert len(messages) == 1 and str(path) in messages[0] and "corrupt" in messages[0]


def test_foreign_file_is_reported_and_treated_as_missing(tmp_path):
    store = TaskCache(tmp_path)
    config_a = task_config(Scenario.from_mapping({"nodes": 8}), 3)
    config_b = task_config(Scenario.from_mapping({"nodes": 8}), 4)
    key_a, key_b = task_key(config_a), task_key(config_b)
    store.store(key_a, config_a, small_result(3))
    shutil.copy(store.path(key_a), store.path(key_b))  # another task's file under B's name
    messages = []
    assert store.load(key_b, config_b, report=messages.append) is None
    assert "foreign" in messages[0] and str(store.path(key_b)) in messages[0]
    # a Parquet file that is not a wsnmec task at all
    pd.DataFrame({"x": [1, 2]}).to_parquet(store.path(key_b))
    messages.clear()
    assert store.load(key_b, config_b, report=messages.append) is None
    assert "not a wsnmec task" in messages[0]
    # same key but a different configuration in the metadata
    config_c = dict(config_b, seed=99)
    write_task(store.path(key_b), key_b, config_c, small_result(4))
    messages.clear()
    assert store.load(key_b, config_b, report=messages.append) is None
    assert "configuration differs" in messages[0]
