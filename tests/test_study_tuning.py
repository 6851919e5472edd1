"""Cases, extra grid points, panels and reference lines in metric figures, and the best-x reading (the
machinery of studies/baseline_tuning.toml, issue 16 item 3)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from wsnmec.study.figures import bootstrap_ci, draw
from wsnmec.study.report import best_x_table, reading
from wsnmec.study.runner import expand_tasks, run_study
from wsnmec.study.spec import find_studies, load_study

TUNING = """
title = "tuning test"
seed = 2
seeds = 3
[base]
e0 = 0.02
rounds = 400
[grid]
protocol = ["leach", "leach-dchs"]
p = [0.05, 0.1, 0.3]
case = [{ name = "small", nodes = 12, field = [60, 60] }, { name = "far", nodes = 20, sink = [50, 150] }]
[[extra]]
protocol = "direct"
p = 0.1
[[figures]]
name = "tuning"
kind = "metric"
x = "p"
y = ["fnd", "hnd"]
hue = "protocol"
panel = "case"
reference = "direct"
"""


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("tuning")
    path = root / "tuning.toml"
    path.write_text(TUNING, encoding="utf-8")
    spec = load_study(path)
    return spec, run_study(spec, root / "results", jobs=1, progress=False)


def test_cases_and_extra_points_expand_as_declared(tuned):
    spec, run = tuned
    points = spec.points
    assert len(points) == 2 * 3 * 2 + 2 and spec.task_count == len(points) * 3
    extra = [p for p in points if p["protocol"] == "direct"]
    assert [(p["p"], p["case"]["name"]) for p in extra] == [(0.1, "small"), (0.1, "far")]
    tasks = {(t.point["protocol"], t.point["p"], t.point["case"]["name"]): t.scenario for t in expand_tasks(spec)}
    small, far = tasks[("leach", 0.3, "small")], tasks[("direct", 0.1, "far")]
    assert (small.nodes, small.field, small.p) == (12, (60.0, 60.0), 0.3)
    assert (far.nodes, far.sink, far.protocol) == (20, (50.0, 150.0), "direct")
    assert set(run.summary["case"]) == {"small", "far"}
    assert len(run.summary) == spec.task_count


def test_panels_and_reference_line(tuned):
    spec, run = tuned
    fig = draw(spec.figures[0], spec, run.aggregates, run.summary)
    try:
        axes = [ax for ax in fig.axes if ax.get_title()]
        assert [ax.get_title() for ax in axes] == ["FND, small", "FND, far", "HND, small", "HND, far"]
        for ax, (metric, case) in zip(axes, [("fnd", "small"), ("fnd", "far"), ("hnd", "small"), ("hnd", "far")]):
            rows = run.summary[(run.summary.protocol == "direct") & (run.summary.case == case)]
            mean = rows[metric].astype(float).mean()
            flat = [line for line in ax.get_lines() if len(set(line.get_ydata())) == 1 and len(line.get_ydata()) == 2]
            assert [line.get_ydata()[0] for line in flat] == [pytest.approx(mean)]
            curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
            assert len(curves) == 2  # leach and leach-dchs vs p; direct is not drawn as a curve
        legend = [t.get_text() for t in axes[1].get_legend().get_texts()]
        assert legend == ["leach", "leach-dchs", "direct (horizontal line)"]
    finally:
        matplotlib.pyplot.close(fig)


def test_best_x_and_paired_difference_follow_the_data(tuned):
    spec, run = tuned
    table = best_x_table(spec.figures[0], run)
    assert len(table) == 2 * 2 * 2  # cases x metrics x tuned protocols
    summary = run.summary.assign(fnd=run.summary.fnd.astype(float), hnd=run.summary.hnd.astype(float))
    for row in table.to_dict("records"):
        mine = summary[(summary.protocol == row["group"]) & (summary.case == row["panel"])]
        means = mine.groupby("p")[row["metric"]].mean()
        assert float(row["best_x"]) == means.idxmax() and row["best_mean"] == pytest.approx(means.max())
        ref = summary[(summary.protocol == "direct") & (summary.case == row["panel"])].set_index("seed_index")
        at = mine[mine.p == means.idxmax()].set_index("seed_index")
        diff = (ref[row["metric"]] - at[row["metric"]]).to_numpy()
        assert row["difference"] == pytest.approx(diff.mean())
        assert (row["low"], row["high"]) == pytest.approx(bootstrap_ci(diff))
    text = reading(spec.figures[0], run)
    assert text.startswith("Best p per protocol per case and metric") and "direct runs at p = 0.1 only" in text
    first = table.iloc[0]
    assert f"| small | FND | {first['group']} | {first['best_x']} |" in text


def test_shipped_tuning_study_sweeps_p_for_every_baseline():
    (path,) = [p for p in find_studies() if p.stem == "baseline_tuning"]
    spec = load_study(path)
    assert set(spec.grid["protocol"]) == {"leach", "leach-dchs", "deec", "leach-c"}
    assert min(spec.grid["p"]) == 0.02 and max(spec.grid["p"]) == 0.2 and spec.seeds >= 10
    sinks = {case["name"]: (case.get("nodes"), tuple(case["sink"])) for case in spec.grid["case"]}
    assert sorted(sinks.values()) == [(100, (50, 50)), (100, (50, 175)), (400, (100, 250))]
    assert [e["protocol"] for e in spec.extra] == ["ddnn"]
    (figure,) = spec.figures
    assert (figure.kind, figure.x, figure.y, figure.panel, figure.reference) == ("metric", "p", ("fnd", "hnd"), "case", "ddnn")
    quick = spec.variant(True)
    assert quick.seeds <= 3 and quick.base["rounds"] <= 1000 and quick.task_count < 150
