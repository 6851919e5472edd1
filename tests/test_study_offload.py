"""Offloading studies (kind = "offload"): validation, cached and resumable runs, figures and readings."""

from __future__ import annotations

import pandas as pd
import pytest

from wsnmec.errors import ParameterError
from wsnmec.study.spec import find_studies, load_study

STUDY = """
kind = "offload"
title = "tiny"
seed = 3
seeds = 2

[base]
model = "mumt"
devices = 2
tasks = 2
frames = 120
memory_size = 32
batch_size = 8

[grid]
batch_norm = [false, true]
case = [{ name = "threshold" }, { name = "op", quantization = "order-preserving", candidates = 2 }]

[quick]
seeds = 1

[[figures]]
name = "frames"
kind = "frames"
y = "normalized_utility"
hue = "batch_norm"
style = "case"
window = 10

[[figures]]
name = "metric"
kind = "offload-metric"
x = "batch_norm"
y = ["normalized_utility", "mean_objective"]
hue = "case"
"""


def _write(tmp_path, text, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_offload_study_parses_and_expands(tmp_path):
    spec = load_study(_write(tmp_path, STUDY))
    assert spec.kind == "offload" and spec.task_count == 8 and spec.variant(True).task_count == 4
    assert spec.options(spec.points[3]) == {**spec.base, "batch_norm": True, "quantization": "order-preserving",
                                            "candidates": 2}
    from wsnmec.study.runner import expand_tasks

    tasks = expand_tasks(spec)
    assert len({t.key for t in tasks}) == 8 and tasks[2].point == {"batch_norm": False, "case": "op"}


@pytest.mark.parametrize("edit,key", [
    (("frames = 120", "frames = 1"), "grid"),
    (("memory_size = 32", "memory = 32"), "base.memory"),
    (('kind = "frames"', 'kind = "line"'), "figures[0].kind"),
    (('y = "normalized_utility"', 'y = "alive"'), "figures[0].y"),
    (('hue = "case"', 'hue = "nodes"'), "figures[1].hue"),
    (('kind = "offload"', 'kind = "nope"'), "kind"),
])
def test_offload_study_errors_name_file_and_key(tmp_path, edit, key):
    path = _write(tmp_path, STUDY.replace(*edit))
    with pytest.raises(ParameterError) as info:
        load_study(path)
    assert info.value.parameter == f"{path}: {key}"


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_offload_study_runs_caches_and_draws(tmp_path):
    from wsnmec.study.figures import draw_study
    from wsnmec.study.report import reading
    from wsnmec.study.runner import run_study

    spec = load_study(_write(tmp_path, STUDY)).variant(True)
    run = run_study(spec, tmp_path / "results", jobs=1, progress=False)
    assert run.computed == 4 and run.cached == 0
    assert set(run.summary["policy"]) >= {"ddlo", "optimal", "random"}
    assert {"batch_norm", "case", "seed", "normalized_utility", "mean_objective"} <= set(run.summary.columns)
    learner = run.rounds[run.rounds["policy"] == "ddlo"]
    assert len(learner) == 4 * 120 and learner["normalized_utility"].between(0, 1 + 1e-12).all()
    again = run_study(spec, tmp_path / "results", jobs=1, progress=False)
    assert again.computed == 0 and again.cached == 4
    assert again.summary.equals(run.summary)
    # a rerun reads the learner's per-frame rows its figures draw (frames.parquet), not every policy's
    assert set(again.rounds["policy"]) == {"ddlo"} and len(again.rounds) == 4 * 120
    full = run.rounds[run.rounds["policy"] == "ddlo"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again.rounds, full[list(again.rounds.columns)])
    assert {"normalized_utility", "frame", "batch_norm", "case", "task"} <= set(again.rounds.columns)
    drawn = draw_study(run, tmp_path / "figures")
    assert [p.name for _, paths, _ in drawn for p in paths] == [
        "tiny-frames.png", "tiny-frames.pdf", "tiny-metric.png", "tiny-metric.pdf"]
    for figure in spec.figures:
        text = reading(figure, run)
        assert "normalized utility" in text and "seeds" in text
        assert reading(figure, again) == text  # the lean rerun reads the same
    lean = draw_study(again, tmp_path / "lean")
    for (_, first, _), (_, second, _) in zip(drawn, lean):
        assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_shipped_offload_studies_are_valid():
    names = {p.stem for p in find_studies()}
    assert {"learning_batchnorm", "learning_samples", "learning_finetune", "droo_demos"} <= names
    for name in ("learning_batchnorm", "learning_samples", "learning_finetune", "droo_demos"):
        spec = load_study(next(p for p in find_studies() if p.stem == name))
        assert spec.kind == "offload" and spec.figures


@pytest.mark.slow  # a local Dask cluster (scheduler and two worker processes) costs seconds to start
def test_offload_study_on_a_dask_cluster_gives_the_local_results(tmp_path):
    """Offloading studies run on a Dask cluster like lifetime studies: the same tables as local processes."""
    distributed = pytest.importorskip("distributed")
    import pandas as pd

    from wsnmec.study.runner import run_study

    spec = load_study(_write(tmp_path, STUDY)).variant(True)
    local = run_study(spec, tmp_path / "local", jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_study(spec, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert remote.computed == 4 and remote.cached == 0
    for table in ("summary", "rounds"):  # everything but the measured decision times
        ours, theirs = getattr(remote, table), getattr(local, table)
        timed = [c for c in ours.columns if "_ms" in c]
        assert list(ours.columns) == list(theirs.columns)
        pd.testing.assert_frame_equal(ours.drop(columns=timed), theirs.drop(columns=timed))


def test_frames_figure_aligned_at_the_last_change(tmp_path):
    """`align = "last-change"` counts frames from each task's last change of conditions (Fig. 6's training
    steps after N changes): a task switched at 0.5 of 200 frames starts its curve at frame 100."""
    from wsnmec.study.offload import aligned_frames, last_change_fraction

    text = STUDY.replace('case = [{ name = "threshold" }, { name = "op", quantization = "order-preserving", candidates = 2 }]',
                         'case = [{ name = "change", model = "wpmec", devices = 4, tasks = 1, frames = 200, devices_at = [[0.0, 3], [0.5, 4]] },'
                         ' { name = "none", model = "wpmec", devices = 4, tasks = 1, frames = 100 }]')
    text = text.replace('window = 10\n', 'window = 10\nalign = "last-change"\n', 1)
    spec = load_study(_write(tmp_path, text))
    assert spec.figures[0].align == "last-change" and spec.figures[1].align == "start"
    assert last_change_fraction({"devices_at": [[0.0, 3], [0.5, 4]]}) == 0.5
    assert last_change_fraction({"conditions": "droo-on-off"}) == 0.95
    assert last_change_fraction({}) == 0.0
    rows = [{"batch_norm": False, "case": case, "task": case, "policy": "ddlo", "frame": f, "normalized_utility": 1.0}
            for case, frames in (("change", 200), ("none", 100)) for f in range(frames)]
    import pandas as pd

    aligned = aligned_frames(spec.figures[0], spec, pd.DataFrame(rows))
    assert aligned.groupby("task")["frame"].agg(["min", "max", "size"]).to_dict("index") == {
        "change": {"min": 0, "max": 99, "size": 100}, "none": {"min": 0, "max": 99, "size": 100}}
    with pytest.raises(ParameterError) as info:
        load_study(_write(tmp_path, text.replace('align = "last-change"', 'align = "end"'), "bad.toml"))
    assert info.value.parameter.endswith("figures[0].align")
