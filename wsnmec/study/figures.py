"""Figures of a study, drawn with seaborn from its long-form tables.

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
    reached by a task (e.g. LND when nodes outlive the run) is left out of that point's mean.
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
import seaborn as sns  # noqa: E402

from ..io import atomic_path  # noqa: E402
from ..scenario import PROTOCOLS  # noqa: E402
from .columns import METRIC_SHORT, ROUND_COLUMNS, add_derived_columns, label  # noqa: E402
from .spec import FigureSpec, StudySpec  # noqa: E402

#: Seed of the bootstrap generator (fixed: reruns draw identical bands).
BOOTSTRAP_SEED = 20_240_607
#: Bootstrap resamples per plotted point.
N_BOOT = 1000
#: Confidence level of the bands.
CONFIDENCE = 0.95
#: At most this many rounds are plotted per curve (every k-th round, plus the last).
MAX_LINE_POINTS = 400
PALETTE = "colorblind"
STYLE = {"style": "whitegrid", "context": "paper", "font_scale": 1.15}
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
    """Levels of a grouping column in a stable order (protocols always in the same order)."""
    if column is None:
        return None
    present = list(dict.fromkeys(frame[column]))
    if column == "protocol":
        return [p for p in PROTOCOLS if p in present] + [p for p in present if p not in PROTOCOLS]
    if column in spec.grid:
        ordered = [str(v) if isinstance(v, (list, tuple)) else v for v in spec.grid[column]]
        return [v for v in ordered if v in present] + [v for v in present if v not in ordered]
    return present


def _palette(levels: list | None) -> dict | None:
    if levels is None:
        return None
    colours = sns.color_palette(PALETTE, max(len(levels), len(PROTOCOLS)))
    if all(level in PROTOCOLS for level in levels):  # one colour per protocol across every figure
        return {level: colours[PROTOCOLS.index(level)] for level in levels}
    return {level: colours[i % len(colours)] for i, level in enumerate(levels)}


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


def line_figure(figure: FigureSpec, spec: StudySpec, rounds: pd.DataFrame, summary: pd.DataFrame):
    """A per-round column vs round, mean and 95 % bootstrap band over seeds per hue/style group."""
    y = figure.y[0]
    labels = add_derived_columns(summary)
    groups = [c for c in (figure.hue, figure.style) if c is not None]
    data = padded_rounds(rounds, y).merge(labels[["task", *groups]].drop_duplicates("task"), on="task")
    levels = {c: _levels(spec, labels, c) for c in groups}
    data, levels = _as_text(data, groups, levels)
    fig, ax = plt.subplots(figsize=(7.0, 4.3))
    sns.lineplot(
        data=data, x="round", y=y, hue=figure.hue, style=figure.style, ax=ax,
        hue_order=levels.get(figure.hue), style_order=levels.get(figure.style),
        palette=_palette(levels.get(figure.hue)), errorbar=bootstrap_ci, linewidth=1.4,
    )
    ax.set_xlabel(label("round"))
    ax.set_ylabel(label(y))
    ax.set_xlim(left=data["round"].min())
    ax.set_ylim(bottom=min(0.0, float(data[y].min())))
    _legend(ax, figure)
    ax.set_title(figure.title or label(y))
    fig.tight_layout()
    return fig


def metric_figure(figure: FigureSpec, spec: StudySpec, rounds: pd.DataFrame, summary: pd.DataFrame):
    """Summary metrics vs a swept parameter (one panel per metric), mean and 95 % bootstrap band."""
    data = add_derived_columns(summary)
    groups = [c for c in (figure.hue, figure.style) if c is not None]
    levels = {c: _levels(spec, data, c) for c in groups}
    data, levels = _as_text(data, groups, levels)
    for metric in figure.y:
        data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    numeric_x = pd.api.types.is_numeric_dtype(data[figure.x])
    panels = len(figure.y)
    fig, axes = plt.subplots(1, panels, figsize=(4.3 * panels + 0.8, 4.1), squeeze=False)
    for i, (ax, metric) in enumerate(zip(axes[0], figure.y)):
        common = dict(
            data=data, x=figure.x, y=metric, hue=figure.hue, ax=ax, hue_order=levels.get(figure.hue),
            palette=_palette(levels.get(figure.hue)), errorbar=bootstrap_ci,
            legend=(i == panels - 1) and bool(groups),
        )
        if numeric_x:
            sns.lineplot(**common, style=figure.style, style_order=levels.get(figure.style), marker="o",
                         markersize=5, linewidth=1.4)
        else:
            sns.pointplot(**common, order=_levels(spec, data, figure.x))
        ax.set_xlabel(label(figure.x))
        ax.set_ylabel(label(metric))
        ax.set_title(METRIC_SHORT.get(metric, metric))
        ax.set_ylim(bottom=0)
        if i == panels - 1 and groups:
            _legend(ax, figure)
    if figure.title:
        fig.suptitle(figure.title)
    fig.tight_layout()
    return fig


def _legend(ax, figure: FigureSpec):
    legend = ax.get_legend()
    if legend is None:
        return
    sns.move_legend(ax, "best", frameon=True, fontsize="small")
    legend = ax.get_legend()
    if figure.style is None:
        legend.set_title(label(figure.hue) if figure.hue else None)
    else:  # hue and style: seaborn writes the column names as sub-headings
        legend.set_title(None)
        for text in legend.get_texts():
            if text.get_text() in (figure.hue, figure.style):
                text.set_text(label(text.get_text()))


#: Figure kinds: name -> function(figure, spec, rounds, summary) -> matplotlib Figure (offloading studies'
#: kinds ``frames`` and ``offload-metric`` live in :mod:`.offload`).
FIGURE_KINDS: dict[str, Callable] = {"line": line_figure, "metric": metric_figure}


def _offload_kinds():
    from .offload import OFFLOAD_FIGURE_KINDS

    FIGURE_KINDS.update(OFFLOAD_FIGURE_KINDS)


_offload_kinds()


def draw(figure: FigureSpec, spec: StudySpec, rounds: pd.DataFrame, summary: pd.DataFrame):
    """Draw one figure of a study (in the project's style); returns the matplotlib Figure."""
    with sns.axes_style(STYLE["style"]), sns.plotting_context(STYLE["context"], font_scale=STYLE["font_scale"]):
        with matplotlib.rc_context({"svg.hashsalt": "wsnmec", "pdf.compression": 6}):
            return FIGURE_KINDS[figure.kind](figure, spec, rounds, summary)


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
        fig = draw(figure, run.spec, run.rounds, run.summary)
        paths = save(fig, out_dir, figure_stem(run.spec, figure))
        if not keep_open:
            plt.close(fig)
            fig = None
        drawn.append((figure, paths, fig))
    return drawn
