"""One figure style (issue 19): every policy in its own colour and dash pattern or marker, the same in every
figure; overlapping curves stay visible; whole-number ticks on axes that count things; the claims figure on a
symmetric-log axis with its outliers labelled and its legend outside the data; change markers in frames
figures. Figures are drawn from small constructed tables (no simulation), so these tests are fast."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from wsnmec.study import aggregates
from wsnmec.study.figures import draw
from wsnmec.study.spec import FigureSpec, load_study, resolve_study_file
from wsnmec.study.styles import (
    FREE_MARKERS, LINE_COLOURS, POLICY_STYLES, SOLID, marker_positions, series_styles,
)


class Spec:
    """The attributes of a study spec the line and metric figures read."""

    def __init__(self, grid):
        self.grid = grid
        self.quick = True
        self.seeds = 3


def _whole_tick_labels(ax, axis="x") -> list[float]:
    """The values of the tick labels shown inside the axis' limits (the figure drawn first)."""
    ax.figure.canvas.draw()
    which = ax.xaxis if axis == "x" else ax.yaxis
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    return [float(t) for t in which.get_majorticklocs() if low - 1e-9 <= t <= high + 1e-9]


def _different(a, b) -> bool:
    """Two Line2D differ in colour, and in dash pattern or marker."""
    colour = matplotlib.colors.to_rgb(a.get_color()) != matplotlib.colors.to_rgb(b.get_color())
    return colour and (a.get_linestyle() != b.get_linestyle() or a.get_marker() != b.get_marker())


# ------------------------------------------------------------------ the style table
def test_every_policy_has_its_own_colour_and_marker_within_its_family():
    from wsnmec.clustering.registry import ALIASES, CLUSTERING_POLICIES
    from wsnmec.offload.partition_online import POLICY_ORDER

    clustering = list(CLUSTERING_POLICIES)
    offloading = list(dict.fromkeys([*POLICY_ORDER, "greedy", "all-offload"]))
    for family in (clustering, offloading):
        styles = series_styles(family)
        assert set(family) <= set(POLICY_STYLES)
        assert len({s.colour for s in styles.values()}) == len(family)  # a colour each
        assert len({s.marker for s in styles.values()}) == len(family)  # a marker each
        assert {s.colour for s in styles.values()} <= set(LINE_COLOURS)  # the colour-blind-safe palette
    for alias, name in ALIASES.items():
        assert series_styles([alias])[alias] == POLICY_STYLES[name]  # ileach is drawn as leach-dchs


def test_a_policy_keeps_its_style_in_every_figure():
    everything = series_styles(["ddnn", "ddnn-rule", "direct", "leach", "leach-c", "heed"])
    for subset in (["leach", "ddnn"], ["direct"], ["heed", "leach-c", "ddnn-rule"]):
        mine = series_styles(subset)
        assert all(mine[name] == everything[name] for name in subset), subset
    # the three the issue found in near-identical oranges now differ in colour, dashes and marker
    ddnn, leach, rule = (everything[n] for n in ("ddnn", "leach", "ddnn-rule"))
    assert len({ddnn.colour, leach.colour, rule.colour}) == 3
    assert len({ddnn.marker, leach.marker, rule.marker}) == 3


def test_plugin_policies_get_the_next_free_styles_deterministically():
    first = series_styles(["leach", "zz.mod:B", "ddnn", "aa.mod:A"])
    again = series_styles(["aa.mod:A", "ddnn", "zz.mod:B", "leach"])
    assert first == {name: again[name] for name in first}  # the order of the levels does not matter
    known_markers = {s.marker for s in POLICY_STYLES.values()}
    for name in ("aa.mod:A", "zz.mod:B"):
        assert first[name].marker in FREE_MARKERS and first[name].marker not in known_markers
        assert first[name].colour not in {first["leach"].colour, first["ddnn"].colour}  # a free colour
    assert first["aa.mod:A"] != first["zz.mod:B"]
    # sorted by name: aa takes the first free style
    assert first["aa.mod:A"].marker == FREE_MARKERS[0] and first["zz.mod:B"].marker == FREE_MARKERS[1]


def test_other_levels_take_palette_colours_and_markers_in_order():
    styles = series_styles([10, 20, 50])
    assert [s.colour for s in styles.values()] == list(LINE_COLOURS[:3])
    assert len({s.marker for s in styles.values()}) == 3 and all(s.dashes == SOLID for s in styles.values())


def test_markers_of_overlapping_series_are_staggered():
    assert marker_positions(10, 0, 2) is None  # a short series: a marker at every point
    positions = [marker_positions(400, k, 3) for k in range(3)]
    steps = {step for _, step in positions}
    starts = [start for start, _ in positions]
    assert len(steps) == 1 and len(set(starts)) == 3 and all(0 <= s < next(iter(steps)) for s in starts)


# ------------------------------------------------------------------ line and metric figures
def _two_identical_protocols(rounds_count=60, nodes=10):
    """ddnn and direct with identical curves (ddnn was invisible under direct, issue 19), 3 seeds each, at
    2 and 3 nodes (a swept count whose default ticks would be 2.0, 2.2, ...)."""
    rows, summary = [], []
    for protocol in ("ddnn", "direct"):
        for seed in range(3):
            task = f"{protocol}-{seed}"
            summary.append({"task": task, "protocol": protocol, "seed_index": seed, "rounds": rounds_count,
                            "fnd": 10.0 + seed, "hnd": 20.0 + seed, "lnd": 30.0 + seed, "nodes": 2 + seed % 2})
            rows += [(task, r, max(0, nodes - (nodes * r) // rounds_count)) for r in range(1, rounds_count + 1)]
    rounds = pd.DataFrame(rows, columns=["task", "round", "alive"])
    return rounds, pd.DataFrame(summary)


def test_line_figure_policies_differ_and_stay_visible_when_they_overlap():
    rounds, summary = _two_identical_protocols()
    agg = aggregates.compute(rounds, summary, [])
    figure = FigureSpec(name="alive", kind="line", x="round", y=("alive",), hue="protocol", style=None, title=None)
    fig = draw(figure, Spec({"protocol": ["ddnn", "direct"]}), agg, summary)
    try:
        (ax,) = fig.axes
        ddnn, direct = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
        np.testing.assert_array_equal(ddnn.get_ydata(), direct.get_ydata())  # the same curve...
        assert _different(ddnn, direct)  # ...in two styles
        assert ddnn.get_marker() not in ("", "None", None) and direct.get_marker() not in ("", "None", None)
        assert ddnn.get_markevery() != direct.get_markevery()  # markers at other points: both visible
        assert direct.get_zorder() > ddnn.get_zorder()  # the dotted line above the solid one
        handles = ax.get_legend().legend_handles
        assert [h.get_marker() for h in handles] == [ddnn.get_marker(), direct.get_marker()]
        assert [h.get_linestyle() for h in handles] == [ddnn.get_linestyle(), direct.get_linestyle()]
    finally:
        matplotlib.pyplot.close(fig)


def test_line_figure_of_a_short_run_has_whole_number_ticks():
    """Three rounds of two nodes: matplotlib's default ticks would be 1.0, 1.25, ... rounds and 0.25 nodes."""
    rounds, summary = _two_identical_protocols(rounds_count=3, nodes=2)
    agg = aggregates.compute(rounds, summary, [])
    figure = FigureSpec(name="alive", kind="line", x="round", y=("alive",), hue="protocol", style=None, title=None)
    fig = draw(figure, Spec({"protocol": ["ddnn", "direct"]}), agg, summary)
    try:
        (ax,) = fig.axes
        xs, ys = _whole_tick_labels(ax, "x"), _whole_tick_labels(ax, "y")
        assert len(xs) >= 2 and all(float(t).is_integer() for t in xs)  # rounds
        assert len(ys) >= 2 and all(float(t).is_integer() for t in ys)  # alive nodes
    finally:
        matplotlib.pyplot.close(fig)


def test_metric_figure_draws_policies_in_their_styles_with_whole_number_ticks():
    _, summary = _two_identical_protocols()
    figure = FigureSpec(name="lifetime", kind="metric", x="nodes", y=("fnd", "hnd"), hue="protocol", style=None,
                        title=None)
    fig = draw(figure, Spec({"protocol": ["ddnn", "direct"], "nodes": [10, 20]}), None, summary)
    try:
        for ax in fig.axes:
            ddnn, direct = ax.get_lines()
            assert _different(ddnn, direct)
            xs = _whole_tick_labels(ax, "x")
            assert xs == [2.0, 3.0]  # nodes, not 2.2 and 2.4
            assert all(float(t).is_integer() for t in _whole_tick_labels(ax, "y"))  # rounds
        styles = series_styles(["ddnn", "direct"])
        assert [line.get_marker() for line in fig.axes[0].get_lines()] == [styles["ddnn"].marker, styles["direct"].marker]
    finally:
        matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------ the claims figure
def test_claims_figure_is_symlog_with_labelled_outliers_and_its_legend_outside():
    from wsnmec.study.claims import LINEAR_WITHIN_PCT, claims_figure, claims_table, symlog_ticks

    rng = np.random.default_rng(1)
    rows = []
    for seed in range(4):
        for name, latency, efficiency in (("ddnn", 1.0, 140.6), ("leach-c", 1.2, 0.9), ("direct", 2.0, 1.2)):
            rows.append({"protocol": name, "seed_index": seed,
                         "latency_s_mean": latency * (1 + 0.05 * rng.standard_normal()),
                         "delivered_bits_total": efficiency * (1 + 0.05 * rng.standard_normal()),
                         "energy_consumed_j": 1.0})
    summary = pd.DataFrame(rows)
    figure = FigureSpec(name="claims", kind="claims", x="protocol", y=(), hue="protocol", style=None, title="t",
                        reference="ddnn", primary=(("against", "leach-c"),))
    fig = claims_figure(figure, Spec({"protocol": ["ddnn", "leach-c", "direct"]}), None, summary)
    try:
        table = claims_table(summary, "protocol", "ddnn", [], {"against": "leach-c"}, seeds=4)
        latency_ax, efficiency_ax = fig.axes
        assert latency_ax.get_xscale() == "symlog" and efficiency_ax.get_xscale() == "symlog"
        outliers = table[(table["metric"] == "efficiency")]["change"].to_numpy() * 100
        assert (outliers > 1000).all()  # about +15,000 %: the bars the linear axis flattened the others for
        labels = [t.get_text() for t in efficiency_ax.texts]
        for value in outliers:
            assert f"{value:+,.0f} %" in labels
        assert not any(t.get_text().endswith(" %") and "claim" not in t.get_text() for t in latency_ax.texts)
        ticks = symlog_ticks(*efficiency_ax.get_xlim())
        assert 0 in ticks and 1000 in ticks and 10_000 in ticks and LINEAR_WITHIN_PCT in ticks
        # the legend: one, under the panels, overlapping no axes
        assert latency_ax.get_legend() is None and efficiency_ax.get_legend() is None
        (legend,) = fig.legends
        fig.canvas.draw()
        box = legend.get_window_extent()
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent())
        assert [t.get_text() for t in legend.get_texts()][-1] == "thesis claim"
    finally:
        matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------ change markers in frames figures
def test_change_marks_are_where_the_engine_changes_conditions():
    from wsnmec.offload import make_model
    from wsnmec.offload.conditions import apply_conditions
    from wsnmec.study.offload import change_marks, task_conditions

    frames = 600
    model = make_model("wpmec", 10)
    states = np.ones((frames, 20))
    for options in ({"conditions": "droo-on-off"}, {"conditions": "droo-alternate"},
                    {"devices_at": [[0.0, 3], [0.5, 4]]}):
        _, changes, _ = apply_conditions(model, states, task_conditions(options))
        marks = change_marks(options, frames)
        assert [frame for frame, _ in marks] == [c["frame"] for c in changes], options
    on_off = dict(change_marks({"conditions": "droo-on-off"}, frames))
    assert on_off == {360: "1 off", 390: "1 off", 420: "1 off", 450: "1 off", 480: "1 on", 510: "1 on",
                      540: "2 on", 570: "2 off"}
    assert dict(change_marks({"devices_at": [[0.0, 3], [0.5, 4]]}, 200)) == {0: "N=3", 100: "N=4"}


def test_droo_frames_figure_marks_every_change_of_conditions():
    """The shipped droo_demos study's frames figure (its quick variant: 600 frames, drawn from constructed
    per-frame values): a dotted vertical line in each case's colour at each change, labelled above the plot."""
    from wsnmec.study.offload import change_marks, frames_figure

    spec = load_study(resolve_study_file("droo_demos")).variant(True)
    figure = next(f for f in spec.figures if f.name == "frames")
    frames = spec.base["frames"]
    rows = [{"task": f"{case['name']}-0", "case": case["name"], "policy": "ddlo", "frame": f,
             "normalized_utility": 0.9 + 0.1 * math.sin(f / 50)}
            for case in spec.grid["case"] for f in range(frames)]
    fig = frames_figure(figure, spec, pd.DataFrame(rows), None)
    try:
        (ax,) = fig.axes
        curves = [line for line in ax.get_lines() if len(set(line.get_xdata())) > 1]
        marks = [line for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
        assert len(curves) == 2 and _different(*curves)
        for case, curve in zip(spec.grid["case"], curves):
            expected = change_marks(spec.options({"case": case}), frames)
            mine = [m for m in marks if m.get_color() == curve.get_color()]
            assert sorted(m.get_xdata()[0] for m in mine) == [frame for frame, _ in expected], case["name"]
            assert all(m.get_linestyle() == ":" for m in mine)
            texts = [t.get_text() for t in ax.texts if t.get_color() == curve.get_color()]
            assert texts == [text for _, text in expected]
        assert all(float(t).is_integer() for t in _whole_tick_labels(ax, "x"))  # frames
        fig.canvas.draw()
        top = ax.get_window_extent().y1
        assert all(t.get_window_extent().y0 >= top - 1 for t in ax.texts)  # labels above the data
    finally:
        matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("kind", ["line", "metric"])
def test_every_drawn_series_is_in_the_legend(kind):
    rounds, summary = _two_identical_protocols()
    if kind == "line":
        figure = FigureSpec(name="a", kind="line", x="round", y=("alive",), hue="protocol", style=None, title=None)
        fig = draw(figure, Spec({"protocol": ["ddnn", "direct"]}), aggregates.compute(rounds, summary, []), summary)
    else:
        figure = FigureSpec(name="m", kind="metric", x="nodes", y=("fnd",), hue="protocol", style=None, title=None)
        fig = draw(figure, Spec({"protocol": ["ddnn", "direct"], "nodes": [10, 20]}), None, summary)
    try:
        ax = fig.axes[-1]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ddnn", "direct"]
    finally:
        matplotlib.pyplot.close(fig)


def test_a_title_wider_than_the_figure_is_wrapped_and_one_that_fits_is_not():
    """fitted_suptitle: a long title of a narrow one-panel figure is wrapped onto lines that fit inside the
    figure (a saved image cut it at both sides before); a short title is drawn as given."""
    import matplotlib.pyplot as plt

    from wsnmec.study.styles import fitted_suptitle

    long = "FND / lifetime bound of the same deployment (mean, 95 % interval over 5 seeds)"
    fig = plt.figure(figsize=(5.0, 4.0))
    try:
        text = fitted_suptitle(fig, long)
        renderer = fig.canvas.get_renderer()
        assert "\n" in text.get_text() and text.get_text().split() == long.split()
        assert text.get_window_extent(renderer).width <= fig.bbox.width
        assert fitted_suptitle(fig, "Alive nodes").get_text() == "Alive nodes"
    finally:
        plt.close(fig)
