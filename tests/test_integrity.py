"""Issue 21 (items 2-5, 11): every byte read from a cache, a derived table or a model is verified against a
checksum stored with it, whatever its size and modification time say; cache keys hold the content of every
input file and the code fingerprint; interrupted or racing writers leave no temporary files and no
traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from wsnmec.study.cache import TaskCache
from wsnmec.study.runner import ExecutorHandle, run_study
from wsnmec.study.spec import load_study

STUDY = """title = "integrity"
seed = 4
seeds = 2
[base]
nodes = 20
rounds = 60
[grid]
protocol = ["direct", "leach"]
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
"""


def keep_mtime(path: Path):
    """A context restoring ``path``'s access and modification times (ns) after it was changed in place."""
    import contextlib

    @contextlib.contextmanager
    def manager():
        stat = path.stat()
        yield
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_mtime_ns == stat.st_mtime_ns

    return manager()


def flip_one_bit_in_column(path: Path, column: str):
    """Invert one bit in the middle of ``column``'s data pages; size and modification time are kept."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index(column))
    middle = chunk.data_page_offset + chunk.total_compressed_size // 2
    with keep_mtime(path):
        data = bytearray(path.read_bytes())
        data[middle] ^= 0x10
        size = len(data)
        path.write_bytes(bytes(data))
    assert path.stat().st_size == size


def rewrite_parquet(path: Path, change):
    """Replace ``path`` by a valid Parquet file of ``change(frame)``, keeping its modification time."""
    with keep_mtime(path):
        frame = pd.read_parquet(path)
        change(frame).to_parquet(path, engine="pyarrow", index=False)


@pytest.fixture(scope="module")
def executor():
    """One local worker shared by the tests of this module that compute tasks (started once)."""
    with ExecutorHandle(jobs=1) as handle:
        yield handle


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, executor):
    root = tmp_path_factory.mktemp("integrity")
    (root / "integrity.toml").write_text(STUDY, encoding="utf-8")
    spec = load_study(root / "integrity.toml")
    run = run_study(spec, root / "results", executor=executor, report=lambda m: None)
    return spec, root, run


@pytest.fixture
def copy(first_run, tmp_path):
    """A fresh copy of the first run's results directory (with modification times kept)."""
    spec, root, run = first_run
    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    assert run_study(spec, results, jobs=1).computed == 0  # the copy is current (fast path)
    return spec, results, run


# ------------------------------------------------------------------------------------------------ item 2
def test_one_flipped_bit_in_a_task_file_with_its_mtime_kept_is_recomputed(copy, executor):
    spec, results, first = copy
    victim = TaskCache(results / "integrity" / "tasks").path(first.tasks[1].key)
    flip_one_bit_in_column(victim, "residual_j")
    reports = []
    rerun = run_study(spec, results, executor=executor, report=reports.append)
    assert rerun.computed == 1 and rerun.cached == len(first.tasks) - 1
    assert len(reports) == 1 and str(victim) in reports[0] and "recomputing" in reports[0]
    pd.testing.assert_frame_equal(rerun.summary, first.summary)
    pd.testing.assert_frame_equal(rerun.rounds, first.rounds)
    again = run_study(spec, results, jobs=1, report=reports.append)  # current again: nothing to redo
    assert again.computed == 0 and again.rounds is None and len(reports) == 1


def test_study_show_names_a_damaged_task_file_in_one_line(copy):
    from click.testing import CliRunner

    from wsnmec.cli import main

    spec, results, first = copy
    victim = TaskCache(results / "integrity" / "tasks").path(first.tasks[0].key)
    flip_one_bit_in_column(victim, "residual_j")
    result = CliRunner().invoke(main, ["study", "show", str(spec.path), "--results", str(results)])
    assert result.exit_code == 0
    damaged = [line for line in result.stderr.splitlines() if str(victim) in line]
    assert len(damaged) == 1 and "leaving its task out" in damaged[0]
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------------------------ item 3
def _more_fnd(frame):
    frame = frame.copy()
    frame["fnd"] = frame["fnd"] * 0.8
    return frame


def _more_alive(frame):
    frame = frame.copy()
    frame["alive"] = frame["alive"] * 0.5
    return frame


@pytest.mark.parametrize("name, change", [
    ("summary.parquet", _more_fnd),
    ("means.parquet", _more_alive),
    ("curves.parquet", _more_alive),
])
def test_an_edited_derived_table_with_its_mtime_kept_is_derived_again(copy, name, change):
    spec, results, first = copy
    path = results / "integrity" / "full" / name
    rewrite_parquet(path, change)
    rerun = run_study(spec, results, jobs=1)
    assert rerun.computed == 0 and rerun.rounds is not None  # read from the cache, tables derived again
    pd.testing.assert_frame_equal(rerun.summary, first.summary)
    pd.testing.assert_frame_equal(rerun.aggregates.means, first.aggregates.means)
    pd.testing.assert_frame_equal(rerun.aggregates.curves, first.aggregates.curves)
    fast = run_study(spec, results, jobs=1)  # the rewritten tables are current and true
    assert fast.rounds is None
    pd.testing.assert_frame_equal(fast.summary, first.summary)
    pd.testing.assert_frame_equal(fast.aggregates.means, first.aggregates.means)


def test_a_flipped_bit_in_the_summary_changes_no_reading(copy):
    from wsnmec.study.report import reading

    spec, results, first = copy
    flip_one_bit_in_column(results / "integrity" / "full" / "summary.parquet", "fnd")
    rerun = run_study(spec, results, jobs=1)
    pd.testing.assert_frame_equal(rerun.summary, first.summary)
    for figure in spec.figures:
        assert reading(figure, rerun) == reading(figure, first)


def test_an_edited_manifest_is_not_trusted(copy):
    spec, results, first = copy
    path = results / "integrity" / "full" / "aggregates.json"
    with keep_mtime(path):
        manifest = json.loads(path.read_text())
        manifest["display_end"] = 3
        path.write_text(json.dumps(manifest, indent=2) + "\n")
    rerun = run_study(spec, results, jobs=1)
    assert rerun.rounds is not None and rerun.aggregates.display_end == first.aggregates.display_end


def test_an_edited_rounds_table_is_made_again_from_the_cache(copy):
    spec, results, first = copy
    rewrite_parquet(results / "integrity" / "full" / "rounds.parquet", _more_alive)
    fast = run_study(spec, results, jobs=1)
    assert fast.rounds is None
    reports = []
    pd.testing.assert_frame_equal(fast.load_rounds(report=reports.append), first.rounds)
    assert len(reports) == 1 and "rounds.parquet" in reports[0]
    assert run_study(spec, results, jobs=1).rounds is not None  # the next run writes the tables again


def test_sealed_records_refuse_any_change():
    from wsnmec import integrity

    record = integrity.seal({"a": 1, "b": [1.5, "x"]})
    assert integrity.unseal(record) == {"a": 1, "b": [1.5, "x"]}
    for damaged in ({**record, "a": 2}, {k: v for k, v in record.items() if k != "sha256"}, [record], "x"):
        with pytest.raises(ValueError):
            integrity.unseal(damaged)


# ------------------------------------------------------------------------------------------------ item 4
PARTITION_STUDY = """
kind = "partition"
title = "integrity"
seed = 1
seeds = 1
[scaling]
devices = [2]
servers = 1
frames = 40
[claims]
devices = 3
servers = 1
frames = 40
[events]
devices = 2
servers = 1
frames = 40
events = ["server-down:0"]
"""


@pytest.fixture
def fake_experiment(monkeypatch):
    """``run_partition_experiment`` replaced by a counting stand-in whose result depends on its parameters
    (the cache is under test, not the experiment)."""
    import wsnmec.offload.partition_online as online

    calls = []

    def experiment(**params):
        calls.append(params)
        latency = 0.01 * params["devices"] + 1e-4 * params["seed"]
        result = {"config": dict(params), "policies": {
            "ddlo": {"latency_s_mean": latency, "energy_j_mean": 0.5},
            "jsq-neurosurgeon": {"latency_s_mean": 2 * latency, "energy_j_mean": 0.7},
        }}
        table = pd.DataFrame({"policy": ["ddlo", "jsq-neurosurgeon"], "frame": [0, 0],
                              "normalized_utility": [0.9, 0.8], "event": ["", ""], "drift": [0.0, 0.0],
                              "utilization_0": [0.5, 0.6]})
        return table, result

    monkeypatch.setattr(online, "run_partition_experiment", experiment)
    return calls


class _InProcess:
    """An executor handle running tasks on a thread of this process (the patched experiment is seen)."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.executor, self.window, self.restartable, self.client = ThreadPoolExecutor(1), 2, False, None

    def abort(self):
        self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self):
        self.executor.shutdown(wait=True)


def _partition_run(tmp_path: Path, reports: list | None = None):
    """Run the small partition study's experiments (three: scaling, claims, one event) through the study runner;
    returns its tasks' results by section."""
    from wsnmec.study.partition import partition_spec

    path = tmp_path / "integrity.toml"
    path.write_text(PARTITION_STUDY, encoding="utf-8")
    handle = _InProcess()
    try:
        run = run_study(partition_spec(path), tmp_path / "res", executor=handle, progress=False,
                        report=(reports if reports is not None else []).append)
    finally:
        handle.close()
    cache = TaskCache(tmp_path / "res" / "integrity" / "tasks")
    return {task.point["section"]: cache.load(task.key, task.config) for task in run.tasks}, run


def _partition_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "res" / "integrity" / "tasks").glob("*.parquet"))


@pytest.mark.parametrize("damage", ["truncated", "another experiment's", "empty"])
def test_a_damaged_partition_task_file_is_run_again_in_one_line(tmp_path, fake_experiment, damage):
    first, run = _partition_run(tmp_path)
    assert len(fake_experiment) == 3 and len(_partition_files(tmp_path)) == 3
    path = next(p for p in _partition_files(tmp_path) if p.stem == run.tasks[0].key)  # the scaling experiment
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "another experiment's":
        shutil.copyfile(next(p for p in _partition_files(tmp_path) if p != path), path)
    else:
        path.write_bytes(b"")
    reports = []
    again, _ = _partition_run(tmp_path, reports)
    assert len(fake_experiment) == 4  # run again, not trusted
    assert again["scaling"].summary.equals(first["scaling"].summary)
    assert len(reports) == 1 and str(path) in reports[0], reports
    _partition_run(tmp_path)  # the rewritten file is used
    assert len(fake_experiment) == 4


def test_an_intact_partition_task_file_is_reused(tmp_path, fake_experiment):
    first, _ = _partition_run(tmp_path)
    reports = []
    again, _ = _partition_run(tmp_path, reports)
    assert len(fake_experiment) == 3 and reports == []
    assert json.loads(again["claims"].summary["result"].iloc[0]) == json.loads(first["claims"].summary["result"].iloc[0])
    table = again["events"].rounds
    assert list(table["normalized_utility"]) == [0.9, 0.8] and "utilization_0" in table.columns
    assert first["scaling"].rounds.empty  # only event runs keep their per-frame table


def test_an_edited_partition_table_is_run_again(tmp_path, fake_experiment):
    _, run = _partition_run(tmp_path)
    events = next(t for t in run.tasks if t.point["section"] == "events")
    rewrite_parquet(tmp_path / "res" / "integrity" / "tasks" / f"{events.key}.parquet",
                    lambda f: f.assign(normalized_utility=0.1))
    reports = []
    again, _ = _partition_run(tmp_path, reports)
    assert len(fake_experiment) == 4 and (again["events"].rounds["normalized_utility"] != 0.1).all()
    assert len(reports) == 1


def test_the_partition_cache_key_holds_the_code_fingerprint(tmp_path, fake_experiment, monkeypatch):
    from wsnmec.study import cache

    _partition_run(tmp_path)
    _partition_run(tmp_path)
    assert len(fake_experiment) == 3
    monkeypatch.setattr(cache, "simulator_fingerprint", lambda: "0123456789abcdef")  # other code
    _partition_run(tmp_path)
    assert len(fake_experiment) == 6


# ------------------------------------------------------------------------------------------------ item 5
def _shipped_model_copy(path: Path) -> Path:
    from wsnmec.clustering.ddnn import DEFAULT_MODEL

    shutil.copyfile(DEFAULT_MODEL, path)
    return path


def _model(path: Path, seed: int) -> Path:
    from wsnmec.learn import StackedMLP, save_model

    net = StackedMLP(4, (8,), 1, networks=2, rng=np.random.default_rng(seed))
    return save_model(path, net, {"seed": seed, "settings": {"learning_rate": 0.001}, "command": "test"})


def _rewrite_metadata(path: Path, change) -> Path:
    """Rewrite ``path`` with ``change(metadata)`` as its metadata and the same arrays (checksums kept)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["__metadata__"]))
    change(meta)
    arrays["__metadata__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("edit", [
    lambda m: m["settings"].update(online_interval=1),
    lambda m: m.update(command="something else"),
    lambda m: m.update(seed=99),
])
def test_a_model_whose_metadata_was_edited_is_refused(tmp_path, edit):
    from click.testing import CliRunner

    from wsnmec.cli import main
    from wsnmec.errors import ParameterError
    from wsnmec.learn import load_model

    path = _rewrite_metadata(_shipped_model_copy(tmp_path / "m.npz"), edit)
    with pytest.raises(ParameterError, match="does not match"):
        load_model(path, "--policy-model")
    result = CliRunner().invoke(main, ["run", "--protocol", "ddnn", "--nodes", "10", "--rounds", "2",
                                       "--policy-model", str(path)])
    assert result.exit_code == 2 and "--policy-model" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("deleted", [("checksum_sha256",), ("content_sha256",), ("checksum_sha256", "content_sha256")])
def test_a_model_whose_checksum_key_was_deleted_is_refused_in_one_line(tmp_path, deleted):
    from click.testing import CliRunner

    from wsnmec.cli import main

    path = _shipped_model_copy(tmp_path / "m.npz")  # a model `run` would use

    def drop(meta):
        for key in deleted:
            meta.pop(key, None)

    _rewrite_metadata(path, drop)
    result = CliRunner().invoke(main, ["run", "--protocol", "ddnn", "--nodes", "10", "--rounds", "2",
                                       "--policy-model", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--policy-model" in lines[0] and "checksum" in lines[0]
    assert "Traceback" not in result.output


def test_restamp_keeps_the_arrays_and_makes_a_pre_checksum_model_load(tmp_path):
    from wsnmec.errors import ParameterError
    from wsnmec.learn import load_model
    from wsnmec.learn.persist import restamp_model

    path = _rewrite_metadata(_model(tmp_path / "m.npz", 2), lambda m: m.pop("checksum_sha256"))
    with np.load(path, allow_pickle=False) as data:
        before = {k: data[k].copy() for k in data.files if k != "__metadata__"}
    with pytest.raises(ParameterError, match="no checksum_sha256"):
        load_model(path)
    restamp_model(path)
    saved = load_model(path)
    assert saved.metadata["seed"] == 2 and saved.metadata["checksum_sha256"]
    with np.load(path, allow_pickle=False) as data:
        for key, value in before.items():
            assert data[key].dtype == value.dtype and data[key].tobytes() == value.tobytes()


def test_the_shipped_model_carries_a_metadata_checksum():
    from wsnmec.clustering.ddnn import DEFAULT_MODEL
    from wsnmec.learn import load_model
    from wsnmec.learn.persist import model_checksum

    saved = load_model(DEFAULT_MODEL)
    assert saved.metadata["checksum_sha256"] == model_checksum(saved.arrays, saved.metadata)


def test_a_model_overwritten_in_place_gives_a_new_task_key_and_is_read_again(tmp_path):
    from wsnmec.clustering.ddnn import _load_cached
    from wsnmec.sim.scenario import Scenario
    from wsnmec.study.cache import task_config, task_key

    path = _model(tmp_path / "m.npz", 1)
    scenario = Scenario.from_mapping({"nodes": 10, "protocol": "ddnn", "policy_model": str(path)})
    before = task_key(task_config(scenario, 1))
    assert _load_cached(path).metadata["seed"] == 1
    with keep_mtime(path):
        _model(tmp_path / "other.npz", 2).replace(path)  # another model, same path and modification time
    assert task_key(task_config(scenario, 1)) != before
    assert _load_cached(path).metadata["seed"] == 2


# ------------------------------------------------------------------------------------------------ item 11
def _set_of(writer: str):
    return {name: (lambda path, w=writer, n=name: path.write_text(f"{w}:{n}")) for name in ("a.txt", "b.txt")}


def _assert_one_whole_set(directory: Path):
    contents = {p.name: p.read_text() for p in directory.iterdir()}
    assert sorted(contents) == ["a.txt", "b.txt"], contents
    assert len({text.split(":")[0] for text in contents.values()}) == 1, contents  # one writer's set, whole
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".")]  # no temporaries left


@pytest.mark.parametrize("exchange", [True, False])
def test_a_writer_whose_new_set_is_overtaken_retries_and_wins(tmp_path, monkeypatch, exchange):
    """The other writer's set lands between this writer's look at the directory and its rename: the rename
    meets a non-empty directory; the swap is tried again and the last writer's set is there, whole."""
    from wsnmec import io as wio

    if not exchange:
        monkeypatch.setattr(wio, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    real_rename = os.rename
    overtaken = []

    def rename(source, destination):
        if Path(destination) == target and not overtaken:
            overtaken.append(True)
            wio.write_set(target, _set_of("other"))  # the other writer finishes first
        return real_rename(source, destination)

    monkeypatch.setattr(wio.os, "rename", rename)
    wio.write_set(target, _set_of("me"))
    assert overtaken
    _assert_one_whole_set(target)
    assert (target / "a.txt").read_text() == "me:a.txt"  # the last writer wins


def _race_writer(root: str, writer: str, barrier, rounds: int, failures):
    from wsnmec import io as wio

    for number in range(rounds):
        barrier.wait(timeout=30)  # (a partner that died ends this one too)
        try:
            wio.write_set(Path(root) / f"set{number}", _set_of(writer))
        except BaseException as exc:  # noqa: BLE001 - counted by the test
            failures.put(f"{writer} {number}: {type(exc).__name__}: {exc}")


def test_two_processes_writing_the_same_new_sets_never_fail(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("fork")
    rounds = 200
    barrier, failures = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_race_writer, args=(str(tmp_path), w, barrier, rounds, failures))
               for w in ("one", "two")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        if worker.is_alive():  # pragma: no cover - a hung writer fails the test below
            worker.terminate()
            worker.join()
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    assert errors == [] and all(w.exitcode == 0 for w in workers)
    for number in range(rounds):
        contents = {p.name: p.read_text() for p in (tmp_path / f"set{number}").iterdir()}
        assert sorted(contents) == ["a.txt", "b.txt"]
        assert len({text.split(":")[0] for text in contents.values()}) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_interrupted_drawing_leaves_no_temporary_file(tmp_path, monkeypatch):
    """Ctrl-C while the drawing processes write figures: each removes its temporary file as it ends."""
    import signal
    import threading
    import time

    from wsnmec.io import atomic_path
    from wsnmec.study import drawing

    out = tmp_path / "figures"
    out.mkdir()

    def job(number):  # a figure being written when the interrupt comes
        with atomic_path(out / f"figure{number}.png") as tmp:
            tmp.write_bytes(b"partial")
            (out / f"ready{number}").write_text("")
            give_up = time.monotonic() + 120  # never hang the suite if the interrupt does not come
            while time.monotonic() < give_up:
                time.sleep(0.01)

    def interrupt():  # Ctrl-C once both figures are being written (never outside the test's wait)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all((out / f"ready{n}").exists() for n in range(2)):
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    monkeypatch.setattr(drawing, "_run_job", job)
    monkeypatch.setattr(drawing, "_JOBS", [("study", None), ("study", None)])
    # Ctrl-C's own handler, whatever an earlier test in this process left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            drawing._fork_each(2, 2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(p.name for p in out.iterdir()) == ["ready0", "ready1"]  # no .figure*.png.*.tmp


# ------------------------------------------------------------------------------------------------ fuzz
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: A damage: (position as a fraction of the file, byte mask to XOR there, how many bytes from there).
DAMAGE = st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255), st.integers(1, 4))


def _damaged(data: bytes, damage) -> bytes:
    where, mask, count = damage
    out = bytearray(data)
    start = int(where * len(out))
    for i in range(start, min(start + count, len(out))):
        out[i] ^= mask
    return bytes(out)


@FUZZ
@given(damage=DAMAGE)
def test_fuzz_a_damaged_task_file_is_refused_or_read_unchanged(first_run, tmp_path_factory, damage):
    from wsnmec.study.cache import CacheError, read_task

    spec, root, run = first_run
    task = run.tasks[0]
    original = TaskCache(root / "results" / "integrity" / "tasks").path(task.key)
    path = tmp_path_factory.mktemp("fuzz") / original.name
    path.write_bytes(_damaged(original.read_bytes(), damage))
    try:
        result = read_task(path, task.key, task.config)
    except CacheError:
        return
    intact = read_task(original, task.key, task.config)
    pd.testing.assert_frame_equal(result.rounds, intact.rounds)
    pd.testing.assert_frame_equal(result.summary, intact.summary)


@FUZZ
@given(name=st.sampled_from(["summary.parquet", "means.parquet", "curves.parquet", "study.json", "aggregates.json"]),
       damage=DAMAGE)
def test_fuzz_a_damaged_derived_table_is_never_read(first_run, tmp_path_factory, name, damage):
    """Any damage to a derived table or the manifest (size and modification time kept): the stored tables
    are not used (the study is read from the cache again), or what they give equals the true tables."""
    from wsnmec.study import aggregates
    from wsnmec.study.runner import expand_tasks, task_cache

    spec, root, run = first_run
    results = tmp_path_factory.mktemp("fuzz") / "results"
    shutil.copytree(root / "results", results)
    path = results / "integrity" / "full" / name
    with keep_mtime(path):
        path.write_bytes(_damaged(path.read_bytes(), damage))
    current = aggregates.load_current(path.parent, expand_tasks(spec), task_cache(results, spec))
    if current is None:
        return
    summary, stored = current
    pd.testing.assert_frame_equal(summary, run.summary)
    pd.testing.assert_frame_equal(stored.means, run.aggregates.means)
    pd.testing.assert_frame_equal(stored.curves, run.aggregates.curves)
    assert (stored.display_end, stored.last_round) == (run.aggregates.display_end, run.aggregates.last_round)


@FUZZ
@given(damage=DAMAGE)
def test_fuzz_a_damaged_model_file_is_refused_or_read_unchanged(tmp_path_factory, damage):
    from wsnmec.clustering.ddnn import DEFAULT_MODEL
    from wsnmec.errors import ParameterError
    from wsnmec.learn import load_model

    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(_damaged(DEFAULT_MODEL.read_bytes(), damage))
    try:
        saved = load_model(path, "--policy-model")
    except ParameterError:
        return
    intact = load_model(DEFAULT_MODEL)
    assert saved.metadata == intact.metadata
    assert sorted(saved.arrays) == sorted(intact.arrays)
    for key, value in intact.arrays.items():
        assert saved.arrays[key].tobytes() == value.tobytes()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None)
@given(record=st.dictionaries(st.text(max_size=6), JSON_VALUES, min_size=1, max_size=5), data=st.data())
def test_fuzz_a_sealed_record_refuses_any_edit(record, data):
    from wsnmec import integrity

    record.pop("sha256", None)
    sealed = json.loads(json.dumps(integrity.seal(record)))  # through its stored form
    assert integrity.unseal(sealed) == json.loads(json.dumps(record))
    key = data.draw(st.sampled_from(sorted(sealed)))
    new = data.draw(JSON_VALUES)
    edited = {**sealed, key: new}
    if json.dumps(edited, sort_keys=True) == json.dumps(sealed, sort_keys=True):
        return  # the same value
    with pytest.raises(ValueError):
        integrity.unseal(edited)


def test_the_figures_run_line_does_not_claim_a_damaged_task_from_the_cache(copy):
    from wsnmec.study.runner import cached_run_line

    spec, results, first = copy
    assert cached_run_line(spec, results) is not None  # intact: nothing to run
    flip_one_bit_in_column(TaskCache(results / "integrity" / "tasks").path(first.tasks[2].key), "residual_j")
    assert cached_run_line(spec, results) is None  # the study runs (and recomputes the damaged task)


OFFLOAD_STUDY = """
kind = "offload"
title = "tiny offload"
seed = 3
seeds = 1
[base]
model = "mumt"
devices = 2
tasks = 2
frames = 60
memory_size = 16
batch_size = 8
[grid]
batch_norm = [false]
[[figures]]
name = "frames"
kind = "frames"
y = "normalized_utility"
hue = "batch_norm"
window = 10
"""


def test_an_edited_frames_table_of_an_offload_study_is_not_read(tmp_path, executor):
    from wsnmec.study.aggregates import FRAMES_FILE, frames_table

    (tmp_path / "off.toml").write_text(OFFLOAD_STUDY, encoding="utf-8")
    spec = load_study(tmp_path / "off.toml")
    first = run_study(spec, tmp_path / "results", executor=executor, report=lambda m: None)
    truth = frames_table(first.rounds, spec)
    path = tmp_path / "results" / "off" / "full" / FRAMES_FILE
    rewrite_parquet(path, lambda f: f.assign(normalized_utility=0.5))
    rerun = run_study(spec, tmp_path / "results", executor=executor)
    assert rerun.computed == 0
    pd.testing.assert_frame_equal(frames_table(rerun.rounds, spec), truth)
    again = run_study(spec, tmp_path / "results", executor=executor)  # the rewritten table is current
    pd.testing.assert_frame_equal(again.rounds.reset_index(drop=True), truth)


@pytest.mark.parametrize("edit", [
    lambda m: m["settings"].__setitem__("learning_rate", "abc"),
    lambda m: m.__setitem__("settings", [1, 2]),
    lambda m: m["settings"].__setitem__("size_factors", "x"),
    lambda m: m["settings"].__setitem__("batch", None),
], ids=["learning_rate-string", "settings-list", "size_factors-string", "batch-null"])
def test_model_settings_of_the_wrong_type_are_one_line(tmp_path, edit):
    # issue 21 item 9: a model whose checksum is valid (restamped) but whose settings have the wrong types
    from click.testing import CliRunner

    from wsnmec.cli import main
    from wsnmec.learn.persist import restamp_model

    path = _shipped_model_copy(tmp_path / "m.npz")
    _rewrite_metadata(path, lambda m: (edit(m), m.pop("checksum_sha256")))
    restamp_model(path)
    result = CliRunner().invoke(main, ["run", "--protocol", "ddnn", "--nodes", "10", "--rounds", "2",
                                       "--policy-model", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--policy-model" in lines[0] and "setting" in lines[0]
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------------- the bound cache (issue 17)
def _bound_network(seed=6):
    from wsnmec.bound.costs import Network
    from wsnmec.sim.deployment import deploy
    from wsnmec.sim.scenario import Scenario

    scenario = Scenario.from_mapping({"nodes": 10, "e0": 0.05})
    return Network.from_scenario(scenario, deploy(scenario, np.random.default_rng(seed)))


def _same_result(a, b) -> bool:
    keep = lambda r: {k: v for k, v in r.to_dict().items() if k not in ("seconds", "bound_seconds")}  # noqa: E731
    return keep(a) == keep(b)


def _flip_bit(path, position: int, bit: int = 0):
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= 1 << bit
    path.write_bytes(bytes(data))


@pytest.fixture
def bound_entry(tmp_path):
    """A solved bound stored in a private cache: (network, directory, its entry, the result)."""
    from wsnmec.bound.cache import solve_cached

    net = _bound_network()
    directory = tmp_path / "bound-cache"
    result, cached = solve_cached(net, directory=directory)
    assert not cached
    (entry,) = directory.glob("*.json")
    return net, directory, entry, result


def _digits(path) -> list[int]:
    """Positions of the decimal digits of the stored result's numbers (a flip there keeps valid JSON)."""
    text = path.read_bytes()
    start = text.index(b'"result"')
    return [i for i in range(start, len(text)) if chr(text[i]).isdigit()]


@pytest.mark.parametrize("damage", ["digit", "separator", "truncated", "empty", "checksum"])
def test_a_damaged_bound_cache_entry_is_solved_again_in_one_line(bound_entry, damage):
    from wsnmec.bound.cache import solve_cached

    net, directory, entry, first = bound_entry
    if damage == "digit":  # one flipped bit in a stored number: '1' <-> '0' (still valid JSON)
        _flip_bit(entry, _digits(entry)[0])
    elif damage == "separator":  # ',' -> '-' would not parse; ':' -> ';' neither: flip a key's letter case
        _flip_bit(entry, entry.read_bytes().index(b'"stopped"') + 1, 5)
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:-20])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        text = entry.read_bytes()
        at = text.index(b'"sha256":"') + len(b'"sha256":"')
        _flip_bit(entry, at, 0)
    lines = []
    again, cached = solve_cached(net, directory=directory, report=lines.append)
    assert not cached and _same_result(again, first)
    assert len(lines) == 1 and str(entry) in lines[0] and lines[0].endswith("solving the deployment again")
    # the solve was stored again, intact: read back without a notice
    third, cached = solve_cached(net, directory=directory, report=lines.append)
    assert cached and len(lines) == 1 and _same_result(third, first)


def test_an_edited_and_resealed_bound_entry_of_another_key_is_not_trusted(bound_entry):
    from wsnmec.bound.cache import solve_cached
    from wsnmec.integrity import load_sealed_bytes, sealed_bytes

    net, directory, entry, first = bound_entry
    record = load_sealed_bytes(entry)
    record["result"]["upper"] = record["result"]["upper"] * 10  # a forged, consistently sealed entry...
    record["key"] = "0" * 64  # ... copied from another deployment's key
    entry.write_bytes(sealed_bytes(record))
    lines = []
    again, cached = solve_cached(net, directory=directory, report=lines.append)
    assert not cached and _same_result(again, first) and "another deployment" in lines[0]


def test_the_bound_cache_key_holds_the_code_fingerprint(bound_entry, monkeypatch):
    from wsnmec.bound import cache

    net, directory, entry, first = bound_entry
    before = cache.cache_key(net, 0.01)
    assert entry.name == f"{before}.json"
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "0123456789abcdef")
    assert cache.cache_key(net, 0.01) != before
    again, cached = cache.solve_cached(net, directory=directory)
    assert not cached and len(list(directory.glob("*.json"))) == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_any_flipped_bit_of_a_bound_entry_is_solved_again(bound_entry, data):
    from wsnmec.bound.cache import solve_cached

    net, directory, entry, first = bound_entry
    intact = entry.read_bytes()
    position = data.draw(st.integers(0, len(intact) - 1))
    bit = data.draw(st.integers(0, 7))
    try:
        _flip_bit(entry, position, bit)
        lines = []
        again, cached = solve_cached(net, directory=directory, report=lines.append)
        assert not cached and len(lines) == 1 and _same_result(again, first)
    finally:
        entry.write_bytes(intact)


def test_the_task_fingerprint_covers_the_bound_code_lp_schedule_runs(monkeypatch):
    # lp-schedule (a clustering policy) solves its schedule with wsnmec/bound: a change there changes its
    # tasks' results, so it must change their keys
    from wsnmec.study import cache

    target = (Path(cache.__file__).resolve().parents[1] / "bound" / "colgen.py").resolve()
    real = Path.read_bytes
    cache.simulator_fingerprint.cache_clear()
    before = cache.simulator_fingerprint()
    monkeypatch.setattr(Path, "read_bytes", lambda self: real(self) + (b"#" if self.resolve() == target else b""))
    cache.simulator_fingerprint.cache_clear()
    try:
        assert cache.simulator_fingerprint() != before
    finally:
        monkeypatch.undo()
        cache.simulator_fingerprint.cache_clear()
