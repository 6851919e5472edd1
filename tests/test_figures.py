"""Figures and their index: files, axes and labels, plotted values, reproducible bytes, `wsnmec figures`."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.study.figures import N_BOOT, bootstrap_ci, draw, draw_study, padded_rounds
from wsnmec.study.report import reading, write_index
from wsnmec.study.runner import run_study
from wsnmec.study.spec import load_study

STUDY = """
title = "figure test"
description = "A tiny study for the figure tests."
seed = 21
seeds = 4
[base]
e0 = 0.02
rounds = 500
[grid]
protocol = ["direct", "leach", "ileach"]
nodes = [10, 20]
[quick]
seeds = 2
grid = { nodes = [10] }
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
style = "nodes"
title = "Alive nodes (test)"
[[figures]]
name = "residual"
kind = "line"
y = "residual_j"
hue = "nodes"
style = "protocol"
[[figures]]
name = "lifetime"
kind = "metric"
x = "nodes"
y = ["fnd", "hnd", "lnd"]
hue = "protocol"
title = "Lifetime (test)"
"""


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    path = root / "figtest.toml"
    path.write_text(STUDY, encoding="utf-8")
    run = run_study(load_study(path), root / "results", jobs=1)
    out = root / "out"
    figures = draw_study(run, out, keep_open=True)
    yield run, out, figures
    for _, _, fig in figures:
        matplotlib.pyplot.close(fig)


def test_files_exist_and_are_png_and_pdf(drawn):
    run, out, figures = drawn
    assert [f.name for f, _, _ in figures] == ["alive", "residual", "lifetime"]
    for figure, (png, pdf), _ in figures:
        assert png == out / f"figtest-{figure.name}.png" and pdf == out / f"figtest-{figure.name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    assert not [p for p in out.iterdir() if p.suffix not in (".png", ".pdf")]


def test_line_figure_axes_labels_and_legend(drawn):
    _, _, figures = drawn
    fig = figures[0][2]
    (ax,) = fig.axes
    assert ax.get_xlabel() == "Round"
    assert ax.get_ylabel() == "Alive nodes"
    assert ax.get_title() == "Alive nodes (test)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Protocol", "direct", "leach", "ileach", "Number of nodes N", "10", "20"]
    residual = figures[1][2].axes[0]
    assert residual.get_ylabel() == "Total residual energy [J]" and residual.get_xlabel() == "Round"


def test_metric_figure_has_one_panel_per_metric(drawn):
    _, _, figures = drawn
    fig = figures[2][2]
    assert [ax.get_title() for ax in fig.axes] == ["FND", "HND", "LND"]
    assert all(ax.get_xlabel() == "Number of nodes N" for ax in fig.axes)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "FND: first node dies [round]", "HND: half of the nodes dead [round]", "LND: last node dies [round]",
    ]
    assert fig.get_suptitle() == "Lifetime (test)"
    assert [t.get_text() for t in fig.axes[-1].get_legend().get_texts()] == ["direct", "leach", "ileach"]


def test_plotted_curves_are_the_means_over_seeds(drawn):
    run, _, figures = drawn
    # metric figure: the HND line of each protocol passes through the mean HND per N
    hnd_axis = figures[2][2].axes[1]
    for protocol, line in zip(["direct", "leach", "ileach"], hnd_axis.get_lines()):
        rows = run.summary[run.summary.protocol == protocol]
        expected = rows.groupby("nodes")["hnd"].apply(lambda v: v.astype(float).mean())
        np.testing.assert_allclose(line.get_xdata(), expected.index.to_numpy(dtype=float))
        np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    # line figure: the direct / N=10 curve is the mean alive count over seeds (runs held at 0 after death)
    line = figures[0][2].axes[0].get_lines()[0]
    data = padded_rounds(run.rounds, "alive").merge(run.summary[["task", "protocol", "nodes"]], on="task")
    mine = data[(data.protocol == "direct") & (data.nodes == 10)].groupby("round")["alive"].mean()
    np.testing.assert_allclose(line.get_xdata(), mine.index.to_numpy(dtype=float))
    np.testing.assert_allclose(line.get_ydata(), mine.to_numpy())
    assert mine.iloc[0] == 10 and mine.iloc[-1] == 0


def test_padding_holds_state_and_zeroes_flows():
    rounds = pd.DataFrame({
        "task": ["a"] * 3 + ["b"] * 5,
        "round": [1, 2, 3, 1, 2, 3, 4, 5],
        "alive": [2, 1, 0, 3, 3, 2, 1, 0],
        "cluster_heads": [1, 1, 0, 1, 0, 1, 1, 0],
    })
    alive = padded_rounds(rounds, "alive").pivot(index="round", columns="task", values="alive")
    assert alive["a"].tolist() == [2, 1, 0, 0, 0]
    heads = padded_rounds(rounds, "cluster_heads").pivot(index="round", columns="task", values="cluster_heads")
    assert heads["a"].tolist() == [1, 1, 0, 0, 0]
    thinned = padded_rounds(rounds, "alive", max_points=2)
    assert sorted(thinned["round"].unique()) == [1, 4, 5]


def test_bootstrap_interval_is_fixed_and_sensible():
    rng = np.random.default_rng(0)
    values = rng.normal(10.0, 2.0, size=30)
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)  # fixed bootstrap seed
    assert low < values.mean() < high
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.2)
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    assert N_BOOT >= 1000


def test_rerun_draws_identical_bytes(drawn, tmp_path):
    run, out, figures = drawn
    again = draw_study(run, tmp_path)
    for (_, first, _), (_, second, _) in zip(figures, again):
        for a, b in zip(first, second):
            assert a.read_bytes() == b.read_bytes(), a.name


def test_index_lists_figures_parameters_seeds_and_readings(drawn):
    run, out, figures = drawn
    index = write_index([(f, run, paths) for f, paths, _ in figures], out, quick=False)
    text = index.read_text()
    for figure, (png, pdf), _ in figures:
        assert f"]({png.name})" in text and f"]({pdf.name})" in text
    assert "swept: protocol = direct, leach, ileach; nodes = 10, 20" in text
    assert "fixed: e0 = 0.02, rounds = 500" in text
    assert "replica_seeds(21, 4)" in text and "A tiny study for the figure tests." in text
    # the reading of the alive figure states the mean FND/HND/LND of this run per group
    line = reading(figures[0][0], run)
    group = run.summary[(run.summary.protocol == "leach") & (run.summary.nodes == 20)]
    means = " / ".join(f"{group[m].astype(float).mean():,.0f}" for m in ("fnd", "hnd", "lnd"))
    assert f"leach/20 {means}" in line and line in text
    lifetime = reading(figures[2][0], run)
    direct = run.summary[run.summary.protocol == "direct"].groupby("nodes")["lnd"].apply(lambda v: v.astype(float).mean())
    assert f"direct {direct[10]:,.0f} -> {direct[20]:,.0f}" in lifetime


def test_figures_command_runs_every_study(quick_figures):
    root, result = quick_figures
    assert result.exit_code == 0, result.output
    assert "figtest (quick): 6 tasks, 0 from cache, 6 computed" in result.stdout
    names = sorted(p.name for p in (root / "serial").iterdir() if not p.name.startswith("parttest-"))
    assert names == sorted(
        ["README.md", "index.html"] + [f"figtest-{n}.{s}" for n in ("alive", "residual", "lifetime") for s in ("png", "pdf")]
    )
    text = (root / "serial" / "README.md").read_text()
    assert "`wsnmec figures --quick`" in text and "`--quick` variant" in text
    assert re.search(r"replica_seeds\(21, 2\)", text)
    assert (root / "results" / "figtest" / "quick" / "summary.parquet").is_file()
    # the second run (test_figures_drawn_in_parallel_equal_the_serial_ones) reads every task from the cache


@pytest.mark.slow  # the shipped study's every protocol at both sinks, 100 nodes until the last dies: ~5 s
def test_baselines_study_draws_every_protocol_at_both_sinks(tmp_path):
    """The shipped baselines study (quick variant, 2 seeds to keep the test short) runs and draws alive nodes vs
    round: one curve per protocol and sink position, every run from N alive down to none."""
    from dataclasses import replace

    from wsnmec.study.spec import resolve_study_file

    spec = replace(load_study(resolve_study_file("baselines")).variant(True), seeds=2)
    run = run_study(spec, tmp_path / "results", jobs=1)
    protocols = list(spec.grid["protocol"])
    assert len(run.summary) == 2 * len(protocols) * 2
    assert (run.summary["lnd"].astype(float) > 0).all()  # every run ended with every node dead
    ((figure, (png, pdf), fig),) = draw_study(run, tmp_path / "out", keep_open=True)
    try:
        assert png.name == "baselines-alive.png" and pdf.is_file()
        (ax,) = fig.axes
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == ["Protocol", *protocols, "Sink position [m]", "50,50", "50,175"]
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
        assert len(curves) == 2 * len(protocols)
        # every curve starts at N; the x-axis ends at the 95th percentile of run lengths (issue 11) and the
        # mean over seeds, at the longest run's end, is none alive
        assert all(line.get_ydata()[0] == 100 for line in curves)
        assert {line.get_xdata()[-1] for line in curves} == {run.aggregates.display_end}
        means = run.aggregates.means
        assert (means[means["round"] == run.aggregates.last_round]["alive"] == 0).all()
        # the far sink shortens every protocol's mean FND (its packets pay the d^4 term)
        fnd = run.summary.assign(fnd=run.summary["fnd"].astype(float)).groupby(["protocol", "sink"])["fnd"].mean()
        assert all(fnd[(p, "50,175")] < fnd[(p, "50,50")] for p in protocols)
        assert "direct/50,175" in reading(figure, run)
    finally:
        matplotlib.pyplot.close(fig)


def test_draw_uses_no_global_style(drawn):
    """Drawing must not change matplotlib's global settings (one style, applied per figure)."""
    run, _, _ = drawn
    before = dict(matplotlib.rcParams)
    fig = draw(run.spec.figures[0], run.spec, run.rounds, run.summary)
    matplotlib.pyplot.close(fig)
    assert dict(matplotlib.rcParams) == before


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_figures_drawn_in_parallel_equal_the_serial_ones(quick_figures, monkeypatch):
    """`wsnmec figures --jobs 2` draws on two forked processes (wsnmec.study.drawing): the same PNG/PDF bytes,
    README.md and index.html as one process, and the partition study's section is in both index files; its
    tasks all come from the first run's cache."""
    from wsnmec.study import drawing

    root, serial = quick_figures
    monkeypatch.chdir(root)
    assert serial.exit_code == 0, serial.output
    assert drawing.drawing_processes(2, 7) == 2
    parallel = CliRunner().invoke(cli.main, ["figures", "--quick", "--out", "parallel", "--jobs", "2"])
    assert parallel.exit_code == 0, parallel.output
    assert "figtest (quick): 6 tasks, 6 from cache, 0 computed" in parallel.stdout
    files = sorted(p.name for p in (root / "serial").iterdir())
    assert files == sorted(p.name for p in (root / "parallel").iterdir())
    assert {"parttest-scaling.png", "figtest-alive.pdf", "README.md", "index.html"} <= set(files)
    for name in files:
        assert (root / "serial" / name).read_bytes() == (root / "parallel" / name).read_bytes(), name
    for name in ("README.md", "index.html"):
        assert "Claims table" in (root / "parallel" / name).read_text(encoding="utf-8"), name


def test_a_failing_drawing_process_is_one_line(quick_figures, monkeypatch):
    """Every drawing job fails in its forked process (the study's and the partition study's, their tasks from
    the first run's cache): exit 1, one line naming the job that failed first, no traceback."""
    from wsnmec.study import drawing, partition

    root, _ = quick_figures
    monkeypatch.chdir(root)

    def broken(spec, results_dir, out_dir, run=None):
        raise ValueError(f"cannot draw {spec.name}")

    def broken_partition(path, *args, **kwargs):
        raise ValueError(f"cannot draw {path}")

    monkeypatch.setattr(drawing, "draw_study_section", broken)
    monkeypatch.setattr(partition, "run_partition_study", broken_partition)
    result = CliRunner().invoke(cli.main, ["figures", "--quick", "--out", "broken", "--jobs", "2"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.match(r"Error: drawing (study figtest|partition study parttest) failed: ValueError: cannot draw ",
                    lines[0]), lines
