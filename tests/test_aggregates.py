"""Study aggregates (what the figures read): equal to the long-form tables' values, reused only while the
cache files are unchanged, and a rerun from them draws the same figures."""

from __future__ import annotations

import itertools
import os

import matplotlib
import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from wsnmec.study import aggregates
from wsnmec.study.figures import LINE_COLOURS, axis_note, draw, draw_study, padded_rounds
from wsnmec.study.report import reading
from wsnmec.study.runner import run_study
from wsnmec.study.spec import load_study

STUDY = """
title = "aggregate test"
seed = 5
seeds = 3
[base]
e0 = 0.02
nodes = 12
rounds = 400
[grid]
protocol = ["direct", "leach"]
harvest = ["none", "constant:2e-5"]
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
style = "harvest"
[[figures]]
name = "residual"
kind = "line"
y = "residual_j"
hue = "protocol"
style = "harvest"
[[figures]]
name = "heads"
kind = "line"
y = "cluster_heads"
hue = "harvest"
style = "protocol"
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("aggregates")
    path = root / "agg.toml"
    path.write_text(STUDY, encoding="utf-8")
    spec = load_study(path)
    first = run_study(spec, root / "results", jobs=1)
    return spec, root, first


def test_curves_are_the_padded_rounds_on_the_plotted_rounds(study):
    _, _, run = study
    agg = run.aggregates
    lengths = run.summary.set_index("task")["rounds"]
    assert agg.last_round == lengths.max()
    assert agg.display_end == int(np.percentile(lengths, 95, method="higher"))
    shown = aggregates.plotted_rounds(agg.display_end)
    for column in ("alive", "residual_j", "cluster_heads"):
        reference = padded_rounds(run.rounds, column, max_points=10**9)
        reference = reference[reference["round"].isin(shown)].sort_values(["task", "round"]).reset_index(drop=True)
        mine = agg.curves[["task", "round", column]].sort_values(["task", "round"]).reset_index(drop=True)
        assert mine["round"].tolist() == reference["round"].tolist()
        assert mine["task"].tolist() == reference["task"].tolist()
        np.testing.assert_array_equal(mine[column].to_numpy(float), reference[column].to_numpy(float))


def test_means_are_the_mean_over_seeds_per_grid_point(study):
    _, _, run = study
    padded = padded_rounds(run.rounds, "residual_j", max_points=10**9).merge(
        run.summary[["task", "protocol", "harvest"]], on="task"
    )
    reference = padded.groupby(["protocol", "harvest", "round"])["residual_j"].mean()
    mine = run.aggregates.means.set_index(["protocol", "harvest", "round"])["residual_j"]
    pd.testing.assert_series_equal(mine.sort_index(), reference.sort_index(), check_names=False, rtol=1e-12)


def test_plotted_rounds_thin_to_the_limit_and_keep_the_end():
    assert aggregates.plotted_rounds(5).tolist() == [1, 2, 3, 4, 5]
    many = aggregates.plotted_rounds(1001, max_points=400)
    assert many[0] == 1 and many[-1] == 1001 and len(many) <= 401
    assert aggregates.display_end(list(range(1, 41))) == 39  # 95th percentile: most runs still going


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_rerun_reads_only_the_aggregates_and_draws_the_same_figures(study, tmp_path):
    spec, root, first = study
    first_files = draw_study(first, tmp_path / "first")
    again = run_study(spec, root / "results", jobs=1)
    assert again.rounds is None and again.computed == 0 and again.cached == len(first.summary)
    pd.testing.assert_frame_equal(again.summary, first.summary)
    second_files = draw_study(again, tmp_path / "second")
    for (_, a, _), (_, b, _) in zip(first_files, second_files):
        for x, y in zip(a, b):
            assert x.read_bytes() == y.read_bytes(), x.name
    for figure in spec.figures:
        assert reading(figure, again) == reading(figure, first)
    pd.testing.assert_frame_equal(again.load_rounds(), first.rounds)


def test_a_changed_cache_file_makes_the_aggregates_stale(study, tmp_path):
    spec, root, first = study
    import shutil

    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    victim = sorted((results / "agg" / "tasks").glob("*.parquet"))[3]
    stat = victim.stat()
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rerun = run_study(spec, results, jobs=1)
    assert rerun.rounds is not None  # read the cache again, not the stored aggregates
    assert rerun.computed == 0
    assert run_study(spec, results, jobs=1).rounds is None  # the rewritten aggregates are current again


def test_line_figure_stops_at_the_95th_percentile_with_a_note():
    # 40 tasks lasting 1..40 rounds: the x-axis ends at 39, a note says so
    rows = [(f"t{k:02d}", r, k - r + 1) for k in range(1, 41) for r in range(1, k + 1)]
    rounds = pd.DataFrame(rows, columns=["task", "round", "alive"])
    summary = pd.DataFrame({"task": [f"t{k:02d}" for k in range(1, 41)], "rounds": range(1, 41)})
    agg = aggregates.compute(rounds, summary, [])
    assert (agg.display_end, agg.last_round, agg.cut) == (39, 40, True)
    from wsnmec.study.spec import FigureSpec

    class Spec:
        grid = {}

    fig = draw(FigureSpec(name="a", kind="line", x="round", y=("alive",), hue=None, style=None, title=None),
               Spec(), agg, summary)
    (ax,) = fig.axes
    assert ax.get_xlim() == (1.0, 39.0)
    assert ax.get_lines()[0].get_xdata()[-1] == 39
    assert axis_note(agg) in [t.get_text() for t in fig.texts]
    assert "round 39" in axis_note(agg) and "40 rounds" in axis_note(agg)
    matplotlib.pyplot.close(fig)


def test_legends_sit_outside_the_data_area(study, tmp_path):
    spec, _, run = study
    for figure, _, fig in draw_study(run, tmp_path, keep_open=True):
        fig.canvas.draw()
        ax = fig.axes[-1]
        legend = ax.get_legend().get_window_extent()
        area = ax.get_window_extent()
        assert legend.x0 >= area.x1, figure.name  # right of the axes, never on the curves
        matplotlib.pyplot.close(fig)


def _lab(rgb_linear):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(rgb_linear, 0, 1)
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


#: Machado, Oliveira & Fernandes (2009), IEEE TVCG 15(6): dichromat simulation matrices (severity 1.0) on
#: linear RGB.
CVD = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]),
}


@pytest.mark.parametrize("vision", list(CVD))
def test_line_colours_stay_apart_for_colour_blind_readers(vision):
    """Every pair of the palette's colours differs by CIE76 Delta E >= 15 (the former seaborn "colorblind"
    palette's orange and vermillion, constant and markov in the harvest figure, differed by 13 under
    protanopia and 26 in normal vision; the first five here by 54)."""
    def linear(colour):
        c = np.array(matplotlib.colors.to_rgb(colour))
        return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)

    labs = [_lab(CVD[vision] @ linear(c)) for c in LINE_COLOURS]
    distance = min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))
    assert distance >= 15, distance
    if vision == "normal":
        assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs[:5], 2)) >= 40
