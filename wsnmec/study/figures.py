"""Figures of a study, drawn with matplotlib from the study's aggregates (:mod:`wsnmec.study.aggregates`).

Every curve is the mean over seeds with a 95 % bootstrap confidence band (percentile interval of the mean,
:data:`N_BOOT` resamples drawn from a generator with the fixed seed :data:`BOOTSTRAP_SEED`, so a rerun draws
the same band). Files are PNG and PDF with no time stamp or software version in their metadata, so
rerunning on the same results gives byte-identical files.

Figure kinds (:data:`FIGURE_KINDS`; a new kind is one function here and one name in
:data:`wsnmec.study.spec.FIGURE_KIND_NAMES`):

``line``
    A per-round column (``y``) vs round; ``hue`` and ``style`` name swept parameters. A task that ended
    before the others (every node dead) continues with its final state (``alive``, ``residual_j``, ...)
    or with zero (per-round flows); see :data:`wsnmec.study.columns.ROUND_COLUMNS`.
``metric``
    Summary metrics (``y``, one panel each, e.g. FND, HND, LND) vs a swept parameter ``x``. A metric not
    reached by a task (e.g. LND when nodes outlive the run) is left out of that point's mean. With ``panel``
    (a swept parameter, e.g. ``case``) one column of panels per level and one row per metric; with
    ``reference`` (a level of ``hue``, e.g. a policy that has no ``x``) that level is a horizontal line at its
    mean with its band, in each panel (:func:`panel_metric_figure`).
``map``
    The network of every grid point at one ``round`` (first seed), as ``wsnmec map`` draws it.

Legends sit right of the plot, outside the data; line figures end their x-axis at the 95th percentile of
the run lengths (a note under the plot says so). Every series is drawn in the style of
:mod:`wsnmec.study.styles`: a policy in its own colour, marker and dash pattern in every figure (colour-blind
safe), with staggered markers so that overlapping curves stay visible; axes that count things (rounds,
nodes, frames: :data:`~wsnmec.study.columns.COUNTS`) have whole-number ticks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..io import atomic_path  # noqa: E402
from ..sim.scenario import PROTOCOLS  # noqa: E402
from . import aggregates  # noqa: E402
from .aggregates import MAX_LINE_POINTS, Aggregates  # noqa: E402
from .columns import COUNTS, METRIC_SHORT, ROUND_COLUMNS, add_derived_columns, label  # noqa: E402
from .claims import claims_figure  # noqa: E402
from .spec import FigureSpec, StudySpec  # noqa: E402
from .styles import (  # noqa: E402,F401  (LINE_COLOURS, LINE_DASHES: re-exported, as before)
    LINE_COLOURS, LINE_DASHES, SeriesStyle, fitted_suptitle, integer_ticks, legend_handle, legend_right, plot_series,
    series_styles,
)

#: Seed of the bootstrap generator (fixed: reruns draw identical bands).
BOOTSTRAP_SEED = 20_240_607
#: Bootstrap resamples per plotted point.
N_BOOT = 1000
#: Confidence level of the bands.
CONFIDENCE = 0.95
#: The figures' style: seaborn's "whitegrid" axes style in its "paper" context at font scale 1.15, as
#: matplotlib settings (seaborn itself is not imported: it costs seconds per redraw).
STYLE_RC = {
    "figure.facecolor": "white", "axes.facecolor": "white", "axes.edgecolor": ".8", "axes.labelcolor": ".15",
    "axes.grid": True, "axes.axisbelow": True, "axes.linewidth": 1.0, "grid.color": ".8",
    "grid.linestyle": "-", "grid.linewidth": 0.8, "text.color": ".15", "xtick.color": ".15",
    "ytick.color": ".15", "xtick.direction": "out", "ytick.direction": "out", "xtick.bottom": False,
    "ytick.left": False, "xtick.top": False, "ytick.right": False,
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "lines.solid_capstyle": "round", "lines.linewidth": 1.2, "lines.markersize": 4.8, "patch.linewidth": 0.8,
    "font.size": 11.04, "axes.labelsize": 11.04, "axes.titlesize": 11.04, "xtick.labelsize": 10.12,
    "ytick.labelsize": 10.12, "legend.fontsize": 10.12, "legend.title_fontsize": 11.04,
}
PNG_DPI = 150
PNG_METADATA = {"Software": None}
PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}


def bootstrap_ci(values) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the mean of ``values`` (fixed seed :data:`BOOTSTRAP_SEED`).

    The same method as seaborn's ``errorbar=("ci", 95)``, vectorised: :data:`N_BOOT` resamples with
    replacement, the 2.5th and 97.5th percentiles of their means.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = values[rng.integers(0, values.size, size=(N_BOOT, values.size))].mean(axis=1)
    tail = 50.0 * (1.0 - CONFIDENCE)
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return (float(low), float(high))


def _levels(spec: StudySpec, frame: pd.DataFrame, column: str | None) -> list | None:
    """Levels of a grouping column in a stable order: the study's grid order for a swept parameter, else
    (protocols) the registry's order (each protocol keeps its style across figures: :func:`_styles`)."""
    if column is None:
        return None
    present = list(dict.fromkeys(frame[column]))
    if column in spec.grid:
        ordered = [_point_text(v) for v in spec.grid[column]]
        return [v for v in ordered if v in present] + [v for v in present if v not in ordered]
    if column == "protocol":
        return [p for p in PROTOCOLS if p in present] + [p for p in present if p not in PROTOCOLS]
    return present


def _point_text(value):
    """A grid value as the results tables hold it (lists such as a sink position become ``"X,Y"``, a
    ``case`` its name)."""
    if isinstance(value, dict):
        return value["name"]
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return value


def _styles(levels: list | None) -> dict | None:
    """Level -> :class:`~wsnmec.study.styles.SeriesStyle`: a policy's own style in every figure (its
    colour, marker and dash pattern: :data:`~wsnmec.study.styles.POLICY_STYLES`), else the palette's colours
    and markers in order (:func:`~wsnmec.study.styles.series_styles`)."""
    if levels is None:
        return None
    return series_styles(levels)


#: The style of the series of a figure without ``hue``.
PLAIN_STYLE = SeriesStyle(LINE_COLOURS[0], LINE_DASHES[0], "o")


def _series_style(styles: dict | None, hue) -> SeriesStyle:
    return styles[hue] if styles else PLAIN_STYLE


def _dashes(figure, style: SeriesStyle, j: int):
    """The dash pattern of a series: its ``style`` level's (when the figure has a ``style`` column), else
    its hue level's own (a policy's)."""
    return LINE_DASHES[j % len(LINE_DASHES)] if figure.style is not None else style.dashes


def _as_text(frame: pd.DataFrame, columns, levels: dict) -> tuple[pd.DataFrame, dict]:
    """Grouping columns as strings (categorical legends even for numbers), levels converted alike."""
    frame = frame.copy()
    out = {}
    for column in columns:
        if column is None:
            continue
        frame[column] = frame[column].map(_text)
        out[column] = [_text(v) for v in levels[column]]
    return frame, out


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def padded_rounds(rounds: pd.DataFrame, column: str, max_points: int = MAX_LINE_POINTS) -> pd.DataFrame:
    """``task, round, <column>`` for every task over the same rounds, thinned to at most ``max_points``.

    A task that ended early (every node dead) continues with its last value or with zero, as
    :data:`ROUND_COLUMNS` says for the column.
    """
    wide = rounds.pivot(index="round", columns="task", values=column)
    first, last = int(wide.index.min()), int(wide.index.max())
    wide = wide.reindex(range(first, last + 1))
    wide = wide.ffill() if ROUND_COLUMNS[column][1] == "last" else wide.fillna(0)
    stride = max(1, math.ceil((last - first + 1) / max_points))
    keep = list(range(first, last + 1, stride))
    if keep[-1] != last:
        keep.append(last)
    wide = wide.loc[keep]
    long = wide.reset_index().melt(id_vars="round", var_name="task", value_name=column)
    return long


def _bootstrap_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bootstrap_ci` of each column of ``values`` [seeds, points] at once (the same resamples)."""
    n = values.shape[0]
    if n == 1:
        return values[0].copy(), values[0].copy()
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, n, size=(N_BOOT, n))
    counts = np.zeros((N_BOOT, n))
    np.add.at(counts, (np.repeat(np.arange(N_BOOT), n), picks.ravel()), 1.0)
    means = counts @ values / n
    tail = 50.0 * (1.0 - CONFIDENCE)
    low, high = np.percentile(means, [tail, 100.0 - tail], axis=0)
    return low, high


def _aggregates_of(rounds) -> Aggregates:
    """The study's :class:`Aggregates` (given, or computed from a long-form rounds table)."""
    if isinstance(rounds, Aggregates):
        return rounds
    return aggregates.compute(rounds, rounds.drop_duplicates("task"), [])


def line_figure(figure: FigureSpec, spec: StudySpec, rounds, summary: pd.DataFrame):
    """A per-round column vs round, mean and 95 % bootstrap band over seeds per hue/style group.

    ``rounds``: the study's :class:`~wsnmec.study.aggregates.Aggregates` (or its long-form rounds table).
    The x-axis ends at the 95th percentile of the run lengths (noted under the plot when runs go on).
    """
    y = figure.y[0]
    agg = _aggregates_of(rounds)
    labels = add_derived_columns(summary)
    groups = [c for c in (figure.hue, figure.style) if c is not None]
    levels = {c: _levels(spec, labels, c) for c in groups}
    labels, levels = _as_text(labels.drop_duplicates("task"), groups, levels)
    curves = agg.curve_columns([y])
    xs = np.unique(curves["round"].to_numpy())
    wide = curves.pivot(index="task", columns="round", values=y)
    styles = _styles(levels.get(figure.hue))
    hue_levels = levels.get(figure.hue) or [None]
    style_levels = levels.get(figure.style) or [None]
    fig, ax = plt.subplots(figsize=(8.4 if groups else 7.0, 4.3))
    low_y = 0.0
    count = len(hue_levels) * len(style_levels)
    for i, hue in enumerate(hue_levels):
        for j, style in enumerate(style_levels):
            chosen = labels
            if hue is not None:
                chosen = chosen[chosen[figure.hue] == hue]
            if style is not None:
                chosen = chosen[chosen[figure.style] == style]
            keys = [k for k in chosen["task"] if k in wide.index]
            if not keys:
                continue
            values = wide.loc[keys, xs].to_numpy(dtype=float)
            mean = values.mean(axis=0)
            low, high = _bootstrap_band(values)
            series = _series_style(styles, hue)
            ax.fill_between(xs, low, high, color=series.colour, alpha=0.2, linewidth=0)
            plot_series(ax, xs, mean, series, index=i * len(style_levels) + j, count=count,
                        dashes=_dashes(figure, series, j),
                        label="/".join(str(v) for v in (hue, style) if v is not None) or y)
            low_y = min(low_y, float(np.nanmin(low)))
    ax.set_xlabel(label("round"))
    ax.set_ylabel(label(y))
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(bottom=low_y)
    integer_ticks(ax.xaxis)
    if y in COUNTS:
        integer_ticks(ax.yaxis)
    if groups:
        _line_legend(ax, figure, levels, styles)
    ax.set_title(figure.title or label(y))
    if agg.cut:
        fig.text(0.01, 0.01, axis_note(agg), fontsize="x-small", color="0.35", ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.04, 1, 1))
    else:
        fig.tight_layout()
    return fig


def axis_note(agg: Aggregates) -> str:
    """The note under a line figure whose x-axis stops before the longest run."""
    return (f"x-axis ends at round {agg.display_end:,}, the {aggregates.DISPLAY_PERCENTILE:g}th percentile of "
            f"run lengths; the longest run lasted {agg.last_round:,} rounds")


def _line_legend(ax, figure, levels: dict, styles: dict | None):
    """Legend right of the plot (outside the data): hue levels in their colour and marker (and a policy's
    dash pattern when no ``style`` column is drawn), style levels as dash patterns, each block under its
    column's label when both are used."""
    from matplotlib.lines import Line2D

    handles, texts = [], []
    blank = Line2D([], [], linestyle="none")
    both = figure.hue is not None and figure.style is not None
    if figure.hue is not None:
        if both:
            handles.append(blank)
            texts.append(label(figure.hue))
        for level in levels[figure.hue]:
            series = _series_style(styles, level)
            handles.append(legend_handle(series, dashes=LINE_DASHES[0] if both else None))
            texts.append(level)
    if figure.style is not None:
        if both:
            handles.append(blank)
            texts.append(label(figure.style))
        for j, level in enumerate(levels[figure.style]):
            handles.append(Line2D([], [], color="0.25", linewidth=1.4, linestyle=LINE_DASHES[j % len(LINE_DASHES)]))
            texts.append(level)
    title = None if both else label(figure.hue or figure.style)
    legend_right(ax, handles, texts, title=title)


def _groups_of(frame: pd.DataFrame, figure: FigureSpec, levels: dict):
    """``(j, hue level, style level, rows)`` per plotted group in legend order (``j``: the style index)."""
    for hue in levels.get(figure.hue) or [None]:
        for j, style in enumerate(levels.get(figure.style) or [None]):
            chosen = frame
            if hue is not None:
                chosen = chosen[chosen[figure.hue] == hue]
            if style is not None:
                chosen = chosen[chosen[figure.style] == style]
            if len(chosen):
                yield j, hue, style, chosen


def metric_figure(figure: FigureSpec, spec: StudySpec, rounds, summary: pd.DataFrame):
    """Summary metrics vs a swept parameter (one panel per metric), mean and 95 % bootstrap band
    (numeric ``x``) or bars (other ``x``). A metric not reached by a task is left out of that point's mean.
    With ``panel`` (or ``reference``): :func:`panel_metric_figure`."""
    if figure.panel is not None or figure.reference is not None:
        return panel_metric_figure(figure, spec, summary)
    data = add_derived_columns(summary)
    groups = [c for c in (figure.hue, figure.style) if c is not None]
    levels = {c: _levels(spec, data, c) for c in groups}
    x_order = _levels(spec, data, figure.x)
    data, levels = _as_text(data, groups, levels)
    for metric in figure.y:
        data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    numeric_x = pd.api.types.is_numeric_dtype(data[figure.x])
    styles = _styles(levels.get(figure.hue))
    panels = len(figure.y)
    fig, axes = plt.subplots(1, panels, figsize=(4.3 * panels + (2.4 if groups else 0.8), 4.1), squeeze=False)
    for i, (ax, metric) in enumerate(zip(axes[0], figure.y)):
        metric_groups(ax, data, figure, levels, styles, metric, x_order, numeric_x)
        if not numeric_x:
            ax.set_xticks(range(len(x_order)), [_text(v) for v in x_order])
        ax.set_xlabel(label(figure.x))
        ax.set_ylabel(label(metric))
        ax.set_title(METRIC_SHORT.get(metric, metric))
        ax.set_ylim(bottom=0)
        count_ticks(ax, figure.x, metric, data[figure.x] if numeric_x else None)
        if i == panels - 1 and groups:
            _line_legend(ax, figure, levels, styles)
    if figure.title:
        fitted_suptitle(fig, figure.title)
    fig.tight_layout()
    return fig


def count_ticks(ax, x: str | None, y: str | None, x_values=None) -> None:
    """Whole-number ticks on the axes that count things (:data:`~wsnmec.study.columns.COUNTS`; a numeric
    ``x`` whose values are all whole numbers too, e.g. a swept number of nodes)."""
    if x_values is not None and (x in COUNTS or _whole_numbers(x_values)):
        integer_ticks(ax.xaxis)
    if y in COUNTS:
        integer_ticks(ax.yaxis)


def _whole_numbers(values) -> bool:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return bool(numbers.size) and bool(np.all(np.isfinite(numbers) & (numbers == np.round(numbers))))


def metric_groups(ax, data: pd.DataFrame, figure, levels: dict, styles: dict | None, metric: str, x_order: list,
                  numeric_x: bool, *, joined: bool = True, dodge: float = 0.0) -> None:
    """Draw one metric panel: per hue/style group, the mean and 95 % bootstrap interval over seeds at each
    ``x`` (finite values only; an ``x`` with none is skipped). Numeric ``x``: a line with a band. Other
    ``x`` (categories at positions 0, 1, ...): points with error bars, joined by the group's line when
    ``joined``, else unjoined and larger, the hue levels spread over ``dodge`` around each position. Each
    group in its style (``styles``: hue level -> :class:`~wsnmec.study.styles.SeriesStyle`)."""
    hues = levels.get(figure.hue) or [None]
    groups = list(_groups_of(data, figure, levels))
    for index, (j, hue, style, rows) in enumerate(groups):
        offset = 0.0 if len(hues) == 1 else dodge * (hues.index(hue) / (len(hues) - 1) - 0.5)
        xs, means, lows, highs = [], [], [], []
        for position, x in enumerate(x_order):
            values = rows.loc[rows[figure.x] == x, metric].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            low, high = bootstrap_ci(values)
            xs.append(float(x) if numeric_x else position + offset)
            means.append(values.mean())
            lows.append(low)
            highs.append(high)
        series = _series_style(styles, hue)
        dashes = _dashes(figure, series, j)
        if numeric_x:
            ax.fill_between(xs, lows, highs, color=series.colour, alpha=0.2, linewidth=0)
            plot_series(ax, xs, means, series, index=index, count=len(groups), dashes=dashes)
        else:
            ax.errorbar(xs, means, yerr=[np.subtract(means, lows), np.subtract(highs, means)], color=series.colour,
                        linestyle=dashes if joined else "none", marker=series.marker, markersize=5 if joined else 6,
                        markeredgecolor="white", markeredgewidth=0.6, linewidth=1.4 if joined else 2.0, capsize=0)


#: Dash pattern of a metric figure's reference level (a horizontal line).
REFERENCE_DASHES = (0, (5, 2))


def reference_level(figure: FigureSpec, data: pd.DataFrame, metric: str) -> tuple[float, float, float, int]:
    """Mean, 95 % bootstrap interval and count over the finite values of ``metric`` in ``data``'s rows of
    the figure's reference level (its every x value pooled: the reference runs at one x, e.g. a policy
    without p)."""
    rows = data[data[figure.hue].map(_text) == figure.reference]
    values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan, math.nan, 0
    low, high = bootstrap_ci(values)
    return float(values.mean()), low, high, int(values.size)


def panel_metric_figure(figure: FigureSpec, spec: StudySpec, summary: pd.DataFrame):
    """Metric figures with ``panel`` and/or ``reference``: a grid of panels, one row per metric and one
    column per level of ``panel``; in each, one line per hue/style group vs ``x`` (mean and 95 % bootstrap
    band, as :func:`metric_figure`), and the ``reference`` level of ``hue`` as a horizontal line at its mean
    with its interval shaded (dashed, in its colour)."""
    data = add_derived_columns(summary)
    groups = [c for c in (figure.hue, figure.style) if c is not None]
    levels = {c: _levels(spec, data, c) for c in groups}
    x_order = _levels(spec, data, figure.x)
    panels = _levels(spec, data, figure.panel) if figure.panel is not None else [None]
    data, levels = _as_text(data, groups, levels)
    for metric in figure.y:
        data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    styles = _styles(levels.get(figure.hue))
    drawn_levels = dict(levels)
    if figure.reference is not None:
        drawn_levels[figure.hue] = [v for v in levels[figure.hue] if v != figure.reference]
        x_order = [x for x in x_order if (data.loc[data[figure.x] == x, figure.hue] != figure.reference).any()]
    numeric_x = pd.api.types.is_numeric_dtype(data[figure.x])
    rows, columns = len(figure.y), len(panels)
    fig, axes = plt.subplots(rows, columns, figsize=(4.3 * columns + (2.4 if groups else 0.8), 3.6 * rows + 0.4),
                             squeeze=False)
    for i, metric in enumerate(figure.y):
        for j, panel in enumerate(panels):
            ax = axes[i, j]
            chosen = data if panel is None else data[data[figure.panel] == panel]
            # categories on x (e.g. policies): unjoined points with intervals, no line between categories
            metric_groups(ax, chosen, figure, drawn_levels, styles, metric, x_order, numeric_x, joined=numeric_x)
            if metric == "fnd_over_bound":  # the limit itself (wsnmec.study.limit): no policy reaches above it
                ax.axhline(1.0, color="0.3", linestyle=REFERENCE_DASHES, linewidth=1.0)
            if figure.reference is not None:
                mean, low, high, _ = reference_level(figure, chosen, metric)
                colour = _series_style(styles, figure.reference).colour
                if np.isfinite(mean):
                    ax.axhspan(low, high, color=colour, alpha=0.15, linewidth=0)
                    ax.axhline(mean, color=colour, linestyle=REFERENCE_DASHES, linewidth=1.6)
            if not numeric_x:
                long = len(x_order) > 4
                ax.set_xticks(range(len(x_order)), [_text(v) for v in x_order], rotation=45 if long else 0,
                              ha="right" if long else "center")
            ax.set_xlabel(label(figure.x) if i == rows - 1 else "")
            ax.set_ylabel(label(metric) if j == 0 else "")
            ax.set_title(f"{METRIC_SHORT.get(metric, metric)}{', ' + _text(panel) if panel is not None else ''}",
                         fontsize="medium")
            ax.set_ylim(bottom=0)
            count_ticks(ax, figure.x, metric, chosen[figure.x] if numeric_x else None)
    if groups:
        _line_legend(axes[0, -1], figure, levels, styles)
        if figure.reference is not None:  # the reference's legend entry: dashed, no marker, as drawn
            legend = axes[0, -1].get_legend()
            for handle, text in zip(legend.legend_handles, legend.get_texts()):
                if text.get_text() == figure.reference:
                    handle.set_linestyle(REFERENCE_DASHES)
                    handle.set_marker("")
                    text.set_text(f"{figure.reference} (horizontal line)")
    if figure.title:
        fitted_suptitle(fig, figure.title)
    fig.tight_layout()
    return fig


def map_figure(figure: FigureSpec, spec: StudySpec, rounds, summary: pd.DataFrame):
    """The network of each grid point at round ``figure.round`` (first seed), one panel per point: nodes
    coloured by residual energy, dead nodes, cluster heads, links, sink (:mod:`wsnmec.network_map`). A run
    that ended earlier is shown at its last round (said in the panel's title)."""
    from ..network_map import _norm, draw_map, map_states
    from .runner import expand_tasks

    lengths = summary.drop_duplicates("task").set_index("task")["rounds"]
    tasks = [t for t in expand_tasks(spec) if t.seed_index == 0]
    states = []
    for task in tasks:
        last = int(lengths.get(task.key, figure.round))
        (state,) = map_states(task.scenario, task.seed, [max(1, min(figure.round, last))])
        states.append((task, state))
    columns = min(3, len(states))
    rows = math.ceil(len(states) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns + 1.8, 4.2 * rows), squeeze=False)
    norm = _norm([s for _, s in states])
    points = None
    for k, (ax, (task, state)) in enumerate(zip(axes.ravel(), states)):
        point = ", ".join(f"{name} {_text(value)}" for name, value in task.point.items()) or spec.name
        when = f"round {state.round}" + ("" if state.round == figure.round else " (all dead after it)")
        points = draw_map(ax, state, norm, title=f"{point}: {when}, {int(state.alive.sum())} alive",
                          legend=(k == len(states) - 1))
    for ax in axes.ravel()[len(states):]:
        ax.set_visible(False)
    fig.colorbar(points, ax=list(axes.ravel()[:len(states)]), label="Residual energy [J]", fraction=0.03, pad=0.02)
    fitted_suptitle(fig, figure.title or f"Network at round {figure.round} (first seed)")
    return fig


#: Lifetime figure kinds: name -> function(figure, spec, rounds, summary) -> matplotlib Figure. ``rounds`` is
#: the study's :class:`~wsnmec.study.aggregates.Aggregates` (or its long-form rounds table). What draws a
#: figure is its study kind's table (:attr:`wsnmec.study.kinds.StudyKind.figure_kinds`; lifetime:
#: :mod:`wsnmec.study.lifetime`, offloading: :mod:`wsnmec.study.offload`).
FIGURE_KINDS: dict[str, Callable] = {
    "line": line_figure, "metric": metric_figure, "claims": claims_figure, "map": map_figure,
}


def style_context():
    """The project's figure style (:data:`STYLE_RC`, fixed SVG hash salt, PDF compression) as a
    matplotlib rc context."""
    return matplotlib.rc_context({**STYLE_RC, "svg.hashsalt": "wsnmec", "pdf.compression": 6})


def draw(figure: FigureSpec, spec: StudySpec, rounds, summary: pd.DataFrame):
    """Draw one figure of a study (in the project's style); returns the matplotlib Figure.

    ``rounds``: the study's :class:`~wsnmec.study.aggregates.Aggregates`, or its long-form rounds table.
    """
    from .kinds import kind_of

    with style_context():
        return kind_of(spec).draw(figure, spec, rounds, summary)


def figure_stem(spec: StudySpec, figure: FigureSpec) -> str:
    return f"{spec.name}-{figure.name}"


def save(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` in ``out_dir`` (atomically, reproducibly)."""
    out_dir = Path(out_dir)
    paths = []
    for suffix, options in (
        ("png", {"dpi": PNG_DPI, "metadata": PNG_METADATA}),
        ("pdf", {"metadata": PDF_METADATA}),
    ):
        path = out_dir / f"{stem}.{suffix}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix, **options)
        paths.append(path)
    return paths


def draw_study(run, out_dir: str | os.PathLike, keep_open: bool = False) -> list[tuple[FigureSpec, list[Path], object]]:
    """Draw and save every figure of a :class:`~wsnmec.study.runner.StudyRun`.

    Returns ``(figure spec, [png, pdf], matplotlib Figure or None)`` per figure; figures are closed after
    saving unless ``keep_open``.
    """
    drawn = []
    for figure in run.spec.figures:
        fig = draw(figure, run.spec, run.aggregates if run.aggregates is not None else run.rounds, run.summary)
        paths = save(fig, out_dir, figure_stem(run.spec, figure))
        if not keep_open:
            plt.close(fig)
            fig = None
        drawn.append((figure, paths, fig))
    return drawn
