"""Offloading studies: a study file with ``kind = "offload"`` sweeps ``wsnmec offload`` parameters over
seeds, with per-frame and metric figures. Cached and resumable like lifetime studies (same runner, cache
and executors, Dask included)::

    kind = "offload"
    title = "Batch normalization"
    seed = 1
    seeds = 10

    [base]                     # any wsnmec offload parameter (the keys of OFFLOAD_TYPES)
    model = "wpmec"
    devices = 10
    frames = 10000
    params = { weight_odd = 1.5 }

    [grid]                     # swept parameters (lists); `case` values are tables of parameters with a name
    batch_norm = [false, true]
    case = [{ name = "mumt 3x3", model = "mumt" }, { name = "wpmec N=10", model = "wpmec", devices = 10 }]

    [quick]
    seeds = 2
    base = { frames = 1000 }

    [[figures]]
    name = "utility"
    kind = "frames"            # frames: a per-frame column vs frame (rolling mean per seed, 95 % band)
    y = "normalized_utility"   # frames: normalized_utility, utility, candidates; offload-metric: a summary metric
    policy = "ddlo"            # frames: the policy drawn; offload-metric: optional filter (else hue = "policy")
    hue = "batch_norm"
    style = "case"
    window = 100               # frames: rolling window [frames]
    align = "start"            # frames: x = frame, or "last-change": frames since the last change of conditions

    [[figures]]
    name = "samples"
    kind = "offload-metric"    # summary metrics vs a swept parameter x
    x = "train_frames"
    y = "normalized_utility"
    logx = true

A task is one grid point and one seed: :func:`wsnmec.offload.online.run_experiment` with the point's
options and the task seed. Its cached ``rounds`` table is the per-frame table (without the decision
strings), its ``summary`` one row per policy (``normalized_utility``, ``mean_objective``,
``decision_ms_median``) plus, with changing conditions, the learner's ``min_interval_utility`` and
``last_recovery_frames`` (frames after the last change until the rolling mean of 100 frames is back at
0.99; NaN if never). ``train_frames`` + ``test_frames`` give the frames and the split explicitly (Fig. 5).
"""

from __future__ import annotations

import functools
import hashlib
import math
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..offload.params import learner_keys, offload_study_types
from .kinds import FigureKind, StudyKind
from .options import OptionsStudySpec, check_table, fail, parse_options_study

#: Parameters of an offloading task and their TOML types (generated from the parameter table
#: :data:`wsnmec.offload.params.OFFLOAD_OPTIONS`), and ``case``: a table of them with a name.
OFFLOAD_TYPES = {**offload_study_types(), "case": "case"}
LEARNER_KEYS = learner_keys()
FIGURE_KEYS = ("name", "kind", "x", "y", "hue", "style", "title", "policy", "window", "logx", "align")
#: The keys each offload figure kind takes (the parser refuses the others; docs/studies.md documents them).
FIGURE_KIND_KEYS = {
    "frames": ("name", "kind", "y", "hue", "style", "title", "policy", "window", "align"),
    "offload-metric": ("name", "kind", "x", "y", "hue", "style", "title", "policy", "logx"),
}
#: Top-level keys of an offload study file.
TOP_KEYS = ("kind", "title", "description", "seed", "seeds", "base", "grid", "quick", "figures")
#: Keys of its ``[quick]`` table.
QUICK_KEYS = ("seeds", "base", "grid")
#: ``align`` of a frames figure: x = frame ("start"), or frames since the task's last change of conditions
#: ("last-change": e.g. training steps after N changed; frames before it are left out).
FRAME_ALIGNMENTS = ("start", "last-change")
FRAME_COLUMNS = ("normalized_utility", "utility", "candidates")
SUMMARY_METRICS = ("normalized_utility", "mean_objective", "decision_ms_median", "min_interval_utility",
                   "last_recovery_frames")
OFFLOAD_FIGURE_KIND_NAMES = ("frames", "offload-metric")


@dataclass(frozen=True)
class OffloadFigureSpec:
    """One figure of an offloading study (see the module docstring)."""

    name: str
    kind: str
    x: str
    y: tuple
    hue: str | None = None
    style: str | None = None
    title: str = ""
    policy: str | None = "ddlo"
    window: int = 100
    logx: bool = False
    align: str = "start"


@dataclass(frozen=True)
class OffloadStudySpec(OptionsStudySpec):
    """A validated offloading study (:class:`wsnmec.study.options.OptionsStudySpec` of kind ``offload``)."""

    kind: str = "offload"


def _fail(path, key, message):
    fail(path, key, message)


def _table(path, key, value, allowed):
    return check_table(path, key, value, allowed)


def _figure(path, index, table, grid):
    key = f"figures[{index}]"
    _table(path, key, table, FIGURE_KEYS)
    for required in ("name", "kind", "y"):
        if required not in table:
            _fail(path, f"{key}.{required}", "is missing")
    kind = table["kind"]
    if kind not in OFFLOAD_FIGURE_KIND_NAMES:
        _fail(path, f"{key}.kind", f"must be one of {', '.join(OFFLOAD_FIGURE_KIND_NAMES)} in an offload study; got {kind!r}")
    y = table["y"]
    ys = (y,) if isinstance(y, str) else tuple(y) if isinstance(y, list) else ()
    allowed = FRAME_COLUMNS if kind == "frames" else SUMMARY_METRICS
    if not ys or any(v not in allowed for v in ys):
        _fail(path, f"{key}.y", f"must be one or more of {', '.join(allowed)} for a {kind} figure; got {y!r}")
    if kind == "frames":
        x = "frame"
        if len(ys) != 1:
            _fail(path, f"{key}.y", "a frames figure draws one column")
    else:
        x = table.get("x")
        if x not in grid:
            _fail(path, f"{key}.x", f"must be a swept parameter ({', '.join(grid) or 'none'}); got {x!r}")
    groupable = [*grid, "policy"] if kind == "offload-metric" else list(grid)
    for role in ("hue", "style"):
        value = table.get(role)
        if value is not None and (value not in groupable or value == x):
            _fail(path, f"{key}.{role}", f"must be one of {', '.join(g for g in groupable if g != x) or 'none'}; got {value!r}")
    shown = {x, table.get("hue"), table.get("style")}
    for parameter, values in grid.items():
        if len(values) > 1 and parameter not in shown:
            _fail(path, key, f"swept parameter {parameter!r} must be the figure's x, hue or style")
    policy = table.get("policy", "ddlo" if kind == "frames" or "policy" not in shown else None)
    window = table.get("window", 100)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        _fail(path, f"{key}.window", f"must be an integer >= 1, got {window!r}")
    logx = table.get("logx", False)
    if not isinstance(logx, bool):
        _fail(path, f"{key}.logx", f"must be true or false, got {logx!r}")
    align = table.get("align", "start")
    if align not in FRAME_ALIGNMENTS or (align != "start" and kind != "frames"):
        _fail(path, f"{key}.align", f"must be one of {', '.join(FRAME_ALIGNMENTS)} (frames figures only); got {align!r}")
    for name in table:
        if name not in FIGURE_KIND_KEYS[kind]:
            _fail(path, f"{key}.{name}", f"is not used by a {kind} figure; its keys: {', '.join(FIGURE_KIND_KEYS[kind])}")
    return OffloadFigureSpec(name=str(table["name"]), kind=kind, x=x, y=ys, hue=table.get("hue"),
                             style=table.get("style"), title=str(table.get("title", "")), policy=policy,
                             window=window, logx=logx, align=align)


def parse_offload_study(data: dict, path: Path, name: str | None = None) -> OffloadStudySpec:
    """Validate a parsed ``kind = "offload"`` study table (module docstring)."""
    return parse_options_study(OFFLOAD, data, path, name, spec_class=OffloadStudySpec)


# ---------------------------------------------------------------------------- tasks
def task_arguments(options: dict, seed: int, validate_only: bool = False) -> dict:
    """``run_experiment`` keyword arguments of a task's options (raises ParameterError on bad values)."""
    from ..offload import make_model
    from ..offload.ddlo import learner_settings

    opts = dict(options)
    learner = learner_settings(opts.pop("preset", None), **{k: opts.pop(k) for k in LEARNER_KEYS if k in opts})
    if "hidden" in learner:
        learner["hidden"] = tuple(learner["hidden"])
    networks = learner.pop("networks")
    conditions = task_conditions(opts, take=dict.pop)
    train_frames, test_frames = opts.pop("train_frames", None), opts.pop("test_frames", None)
    if train_frames is not None:
        test_frames = 1000 if test_frames is None else test_frames
        opts["frames"] = train_frames + test_frames
        opts["train_fraction"] = train_frames / (train_frames + test_frames)
    args = {"model": opts.pop("model", "mumt"), "devices": opts.pop("devices", None), "tasks": opts.pop("tasks", None),
            "frames": opts.pop("frames", None), "networks": networks, "seed": seed, "dataset": opts.pop("dataset", None),
            "model_params": opts.pop("params", None), "learner_options": learner,
            "train_fraction": opts.pop("train_fraction", 0.8), "exact_limit": opts.pop("exact_limit", 22),
            "conditions": conditions}
    if opts:
        raise ParameterError(sorted(opts)[0], "is not an offload parameter")
    if validate_only:
        from ..errors import check_float, check_int

        if args["frames"] is not None:
            check_int("frames", args["frames"], 2)
        check_float("train_fraction", args["train_fraction"], 0.0, 1.0, min_inclusive=False, max_inclusive=False)
        if args["dataset"] is not None and not Path(args["dataset"]).is_file():
            raise ParameterError("dataset", f"no such file {args['dataset']!r}")
        from ..offload.registry import offload_family

        devices = args["devices"] if args["devices"] is not None else 3
        tasks = args["tasks"] or offload_family(args["model"]).default_tasks
        make_model(args["model"], devices, tasks, **(args["model_params"] or {}))
    return args


@functools.lru_cache(maxsize=1)
def offload_fingerprint() -> str:
    """SHA-256 (16 hex digits) of the offloading engine's and learning core's sources (part of task keys)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for directory in ("offload", "learn", "energy"):
        for file in sorted((package / directory).rglob("*.py")):
            digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def offload_task_config(options: dict, seed: int) -> dict:
    from .. import __version__
    from .cache import _file_digest

    config = {"offload": options, "seed": int(seed), "version": __version__, "code": offload_fingerprint()}
    if options.get("dataset"):
        config["dataset_sha256"] = _file_digest(options["dataset"])
    return config


def expand_offload_tasks(spec: OffloadStudySpec) -> list:
    from ..seeding import replica_seeds
    from .cache import task_key
    from .runner import Task

    seeds = replica_seeds(spec.seed, spec.seeds)
    tasks = []
    for point_index, point in enumerate(spec.points):
        options = spec.options(point)
        labelled = {k: (v["name"] if k == "case" else v) for k, v in point.items()}
        for seed_index, seed in enumerate(seeds):
            config = offload_task_config(options, seed)
            tasks.append(Task(len(tasks), point_index, labelled, seed_index, seed, options, config, task_key(config)))
    return tasks


def compute_offload_task(options: dict, seed: int):
    """Run one offloading task in a worker; returns (TaskResult, seconds)."""
    from ..offload.online import run_experiment
    from .cache import TaskResult

    start = time.perf_counter()
    table, result = run_experiment(**task_arguments(options, seed))
    frames = table.drop(columns=[c for c in ("decision", "reference") if c in table.columns])
    rows = [{"policy": name, **values} for name, values in result["policies"].items()]
    summary = pd.DataFrame(rows)
    summary["min_interval_utility"] = np.nan
    summary["last_recovery_frames"] = np.nan
    intervals = (result.get("conditions") or {}).get("intervals")
    if intervals:
        learner = summary["policy"] == "ddlo"
        summary.loc[learner, "min_interval_utility"] = min(i["normalized_utility"] for i in intervals)
        last = intervals[-1]["recovery_frames"]
        summary.loc[learner, "last_recovery_frames"] = np.nan if last is None else float(last)
    return TaskResult(rounds=frames.reset_index(drop=True), summary=summary), time.perf_counter() - start


# ---------------------------------------------------------------------------- figures
def _groups(figure):
    return [c for c in (figure.hue, figure.style) if c is not None]


def task_conditions(options: dict, take=dict.get):
    """The changing conditions of a task's options (:func:`wsnmec.offload.conditions.make_conditions`);
    ``take`` reads each option (``dict.pop`` also removes it)."""
    from ..offload.conditions import make_conditions

    return make_conditions(take(options, "switch_off", ()), take(options, "switch_on", ()),
                           take(options, "alternate_weights", ()),
                           [tuple(p) for p in take(options, "devices_at", ())], take(options, "conditions", None))


def last_change_fraction(options: dict) -> float:
    """The fraction of the frames at which a task's last change of conditions happens (0: none)."""
    conditions = task_conditions(options)
    fractions = [*conditions.switch_off, *conditions.switch_on, *conditions.alternate_weights,
                 *(f for f, _ in conditions.devices_at)]
    return max([f for f in fractions if f > 0], default=0.0)


def _point_of(spec, row) -> dict:
    """The grid point (``case`` as its table) of a row labelled with the swept parameters."""
    point = {}
    for name, values in spec.grid.items():
        value = row[name]
        if name == "case":
            value = next(v for v in values if v["name"] == value)
        point[name] = value
    return point


def aligned_frames(figure, spec, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with ``frame`` counted as the figure's ``align`` says: unchanged ("start"), or frames since
    each task's last change of conditions ("last-change"; the frames before it dropped). The change is at
    floor(fraction x the task's frame count), where :func:`wsnmec.offload.conditions.apply_conditions`
    puts it."""
    if figure.align == "start" or data.empty:
        return data
    parts = []
    for _, frame in data.groupby("task", sort=False):
        options = spec.options(_point_of(spec, frame.iloc[0]))
        start = int(np.floor(last_change_fraction(options) * (int(frame["frame"].max()) + 1)))
        part = frame[frame["frame"] >= start].copy()
        part["frame"] -= start
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _levels_text(figure, data: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The hue/style columns as text, with their levels in order of appearance (the grid's order)."""
    from .figures import _as_text

    groups = _groups(figure)
    levels = {c: list(dict.fromkeys(data[c])) for c in groups}
    return _as_text(data, groups, levels)


def change_marks(options: dict, frames: int) -> list[tuple[int, str]]:
    """The changes of conditions of a task as ``(frame, label)``, one per frame at which something changes,
    in frame order: the frame is floor(fraction x ``frames``), where
    :func:`wsnmec.offload.conditions.apply_conditions` puts the change; the label counts the events there
    (``1 off``, ``2 on``, ``weights``: an alternation of the weights, ``N=5``: the active devices set)."""
    conditions = task_conditions(options)
    events: dict[int, dict[str, int]] = {}

    def add(fraction, kind):
        frame = min(int(np.floor(fraction * frames)), frames)
        kinds = events.setdefault(frame, {})
        kinds[kind] = kinds.get(kind, 0) + 1

    for fraction, active in conditions.devices_at:
        add(fraction, f"N={int(active)}")
    for fraction in conditions.switch_off:
        add(fraction, "off")
    for fraction in conditions.switch_on:
        add(fraction, "on")
    for fraction in conditions.alternate_weights:
        add(fraction, "weights")
    marks = []
    for frame in sorted(events):
        parts = [kind if kind.startswith("N=") or kind == "weights" else f"{count} {kind}"
                 for kind, count in events[frame].items()]
        marks.append((frame, ", ".join(parts)))
    return marks


def _task_marks(spec, data: pd.DataFrame) -> dict:
    """Task key -> :func:`change_marks` of the task (its frames: the largest frame + 1)."""
    marks = {}
    for task, frame in data.groupby("task", sort=False):
        options = spec.options(_point_of(spec, frame.iloc[0]))
        marks[task] = change_marks(options, int(frame["frame"].max()) + 1)
    return marks


#: Height [points] of one row of change labels above a frames figure.
MARK_ROW_PT = 9.0


def draw_change_marks(ax, marks: list, colour, row: int = 0) -> None:
    """Vertical dotted lines at the frames where conditions change, each labelled above the plot (outside
    the data) in row ``row`` (one row per group, so that groups changing at the same frame stay readable)."""
    import matplotlib.transforms as transforms

    shift = transforms.ScaledTranslation(0.0, (2.0 + MARK_ROW_PT * row) / 72.0, ax.figure.dpi_scale_trans)
    for frame, text in marks:
        ax.axvline(frame, color=colour, linestyle=":", linewidth=1.0, alpha=0.8, zorder=1.5)
        ax.text(frame, 1.0, text, transform=ax.get_xaxis_transform() + shift, ha="center", va="bottom",
                fontsize=6.5, color=colour, clip_on=False)


def frames_figure(figure, spec, rounds, summary):
    """A per-frame column vs frame: rolling mean per task, then mean and 95 % bootstrap band over seeds
    (the tasks of a hue/style group) at up to :data:`~wsnmec.study.figures.MAX_LINE_POINTS` frames. Where
    conditions change (``align = "start"``), a dotted vertical line in the group's colour, labelled with
    what changed (:func:`change_marks`)."""
    import matplotlib.pyplot as plt

    from .columns import COUNTS
    from .figures import (MAX_LINE_POINTS, _bootstrap_band, _dashes, _groups_of, _line_legend, _series_style,
                          _styles)
    from .styles import integer_ticks, plot_series

    y = figure.y[0]
    data = rounds[rounds["policy"] == figure.policy] if figure.policy else rounds
    data = aligned_frames(figure, spec, data)
    task_marks = _task_marks(spec, data) if figure.align == "start" and not data.empty else {}
    data, levels = _levels_text(figure, data)
    styles = _styles(levels.get(figure.hue))
    fig, ax = plt.subplots(figsize=(8.4 if levels else 7.0, 4.3))
    groups = list(_groups_of(data, figure, levels))
    drawn_marks: dict = {}
    for index, (j, hue, style, rows) in enumerate(groups):
        series = []
        for _, task in rows.groupby("task", sort=False):
            task = task.sort_values("frame")
            series.append(task[y].astype(float).rolling(figure.window, min_periods=1).mean().to_numpy())
        length = min(len(v) for v in series)  # the frames every task of the group has
        stride = max(1, math.ceil(length / MAX_LINE_POINTS))
        shown = np.unique(np.r_[np.arange(0, length, stride), length - 1])
        values = np.vstack([v[shown] for v in series])
        low, high = _bootstrap_band(values)
        xs = np.sort(rows["frame"].unique())[shown]
        look = _series_style(styles, hue)
        ax.fill_between(xs, low, high, color=look.colour, alpha=0.2, linewidth=0)
        plot_series(ax, xs, values.mean(axis=0), look, index=index, count=len(groups),
                    dashes=_dashes(figure, look, j), linewidth=1.2)
        marks = sorted({mark for task in rows["task"].unique() for mark in task_marks.get(task, ())})
        if marks:
            drawn_marks.setdefault(look.colour if styles else "0.3", set()).update(marks)
    for row, (colour, marks) in enumerate(drawn_marks.items()):
        draw_change_marks(ax, sorted(marks), colour, row=row)
    ax.set_xlabel("frame" if figure.align == "start" else "frames (training steps) since the last change")
    ax.set_ylabel(f"{y.replace('_', ' ')} (rolling mean, {figure.window} frames)")
    integer_ticks(ax.xaxis)
    if y in COUNTS:
        integer_ticks(ax.yaxis)
    if levels:
        _line_legend(ax, figure, levels, styles)
    ax.set_title(textwrap.fill(figure.title or y, 62), pad=6.0 + MARK_ROW_PT * len(drawn_marks))
    fig.tight_layout()
    return fig


def offload_metric_figure(figure, spec, rounds, summary):
    """Summary metrics vs a swept parameter (one panel each): mean and 95 % bootstrap interval over seeds,
    a line with a band for a numeric parameter, points with error bars (not joined) for cases."""
    import matplotlib.pyplot as plt

    from .figures import _line_legend, _styles, _text, count_ticks, metric_groups

    data = summary[summary["policy"] == figure.policy] if figure.policy else summary
    x_order = list(dict.fromkeys(data[figure.x]))
    data, levels = _levels_text(figure, data)
    for metric in figure.y:
        data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    numeric_x = pd.api.types.is_numeric_dtype(data[figure.x])
    styles = _styles(levels.get(figure.hue))
    panels = len(figure.y)
    fig, axes = plt.subplots(1, panels, figsize=(4.3 * panels + (2.4 if levels else 0.8), 4.1), squeeze=False)
    for i, (ax, metric) in enumerate(zip(axes[0], figure.y)):
        # cases: unjoined points (their order means nothing), the hue levels side by side
        metric_groups(ax, data, figure, levels, styles, metric, x_order, numeric_x, joined=False, dodge=0.25)
        if numeric_x and figure.logx:
            ax.set_xscale("log")
        if not numeric_x:
            ax.set_xticks(range(len(x_order)), [textwrap.fill(_text(v), 12) for v in x_order])
            ax.set_xlim(-0.5, len(x_order) - 0.5)
        ax.set_xlabel(figure.x.replace("_", " "))
        ax.set_ylabel(metric.replace("_", " "))
        count_ticks(ax, figure.x, metric, data[figure.x] if numeric_x else None)
        if i == panels - 1 and levels:
            _line_legend(ax, figure, levels, styles)
    if figure.title:
        fig.suptitle(textwrap.fill(figure.title, 40 * panels + 10))
    fig.tight_layout()
    return fig


#: Figure kind -> drawing function (the drawing entries of :attr:`OffloadKind.figure_kinds`).
OFFLOAD_FIGURE_KINDS = {"frames": frames_figure, "offload-metric": offload_metric_figure}


# ---------------------------------------------------------------------------- readings
def _describe_groups(frame, figure, describe):
    groups = _groups(figure)
    if not groups:
        return describe(frame)
    return "; ".join(f"{'/'.join(map(str, k if isinstance(k, tuple) else (k,)))} {describe(g)}"
                     for k, g in frame.groupby(groups, sort=False))


#: Frames at the start and at the end of a run compared by a frames figure's reading (at most half the run).
READING_WINDOW = 1000


def frames_reading(figure, run) -> str:
    y = figure.y[0]
    data = run.rounds[run.rounds["policy"] == figure.policy] if figure.policy else run.rounds
    data = aligned_frames(figure, run.spec, data)
    last = int(data["frame"].max())
    window = min(READING_WINDOW, max(1, (last + 1) // 2))  # short runs: two halves that do not overlap

    def describe(group):
        head = group[group["frame"] < window][y].astype(float).mean()
        tail = group[group["frame"] > last - window][y].astype(float).mean()
        return f"{head:.4f} -> {tail:.4f}"

    since = "" if figure.align == "start" else " after the last change"
    return (f"{figure.policy or 'all policies'}: mean {y.replace('_', ' ')} over the first and the last {window:,} "
            f"frames{since} (of {last + 1:,}), mean over {run.spec.seeds} seeds: " + _describe_groups(data, figure, describe) + ".")


def _mean_ci_text(values: pd.Series) -> str:
    """``mean [low, high]`` (Student-t 95 % interval) of the finite values, with ``(k/n seeds)`` when some
    are missing (e.g. a recovery that never happened); ``n/a`` when none is finite."""
    from ..sim.metrics import mean_ci

    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    mean, low, high = mean_ci(finite.tolist())
    if not np.isfinite(mean):
        return f"n/a (0/{len(values)} seeds)"
    text = f"{mean:.4g}" if len(finite) < 2 else f"{mean:.4g} [{low:.4g}, {high:.4g}]"
    return text + (f" ({len(finite)}/{len(values)} seeds)" if len(finite) < len(values) else "")


def offload_metric_reading(figure, run) -> str:
    data = run.summary[run.summary["policy"] == figure.policy] if figure.policy else run.summary
    sentences = []
    for metric in figure.y:
        def describe(group, metric=metric):
            values = group.assign(v=pd.to_numeric(group[metric], errors="coerce")).groupby(figure.x, sort=False)["v"]
            return ", ".join(f"{figure.x} {k}: {_mean_ci_text(v)}" for k, v in values)

        sentences.append(f"mean [95 % CI] of {metric.replace('_', ' ')} over {run.spec.seeds} seeds: "
                         + _describe_groups(data, figure, describe))
    text = "; ".join(sentences)
    return text[:1].upper() + text[1:] + "."


OFFLOAD_READINGS = {("frames", None): frames_reading, ("offload-metric", None): offload_metric_reading}


# ---------------------------------------------------------------------------- the study kind
class OffloadKind(StudyKind):
    """``kind = "offload"``: ``wsnmec offload`` experiments over a grid of options and seeds; the figures
    read the per-frame rows their ``frames`` figures draw (``frames.parquet``) and the summary."""

    name = "offload"
    program = "offload"
    parameters = OFFLOAD_TYPES
    manifest_name = "frames.json"  # (wsnmec.study.aggregates.FRAMES_MANIFEST)
    figure_kinds = {
        "frames": FigureKind(parse=_figure, draw=frames_figure, reading=frames_reading,
                             keys=FIGURE_KIND_KEYS["frames"]),
        "offload-metric": FigureKind(parse=_figure, draw=offload_metric_figure, reading=offload_metric_reading,
                                     keys=FIGURE_KIND_KEYS["offload-metric"]),
    }

    def parse(self, data, path, name=None):
        return parse_offload_study(data, path, name)

    def parse_figure(self, path, index, table, grid):
        return _figure(path, index, table, grid)

    def check_options(self, options):
        task_arguments(options, 0, validate_only=True)

    def expand_tasks(self, spec):
        return expand_offload_tasks(spec)

    @property
    def task_function(self):
        return compute_offload_task

    def write_tables(self, directory, spec, tasks, cache, rounds, summary, tables):
        from . import aggregates

        aggregates.write_frames(directory, spec, tasks, cache, aggregates.frames_table(rounds, spec), tables)
        return None

    def load_current(self, directory, spec, tasks, cache):
        from . import aggregates

        current = aggregates.load_current_frames(directory, spec, tasks, cache)
        return None if current is None else (current[0], current[1], None)

    def tables_current(self, directory, spec, tasks, cache):
        from . import aggregates

        return aggregates.frames_current(directory, spec, tasks, cache)

    def show_lines(self, spec, tasks, summary, missing, file):
        """Mean normalized utility per grid point and policy."""
        mode = "quick variant" if spec.quick else "full study"
        lines = [f"{spec.name}: {spec.title} ({mode}; {len(tasks) - len(missing)} of {len(tasks)} tasks)"]
        keys = [*spec.grid, "policy"]
        means = summary.groupby(keys, sort=False)["normalized_utility"].agg(["mean", "count"])
        for key, row in means.iterrows():
            key = key if isinstance(key, tuple) else (key,)
            lines.append(f"  {', '.join(f'{k}={v}' for k, v in zip(keys, key)):<60} normalized utility "
                         f"{row['mean']:.5f} (n={int(row['count'])})")
        return lines


OFFLOAD = OffloadKind()
