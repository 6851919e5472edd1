"""The lifetime study kind (``kind = "lifetime"``, the default): ``wsnmec run`` scenarios over a grid and
seeds; the figures read the per-round aggregates (:mod:`wsnmec.study.aggregates`) and the summary
(FND/HND/LND, energies); ``study show`` and the index show the lifetime per grid point.

Its study files are read by :mod:`wsnmec.study.spec`; its figure kinds are :attr:`LifetimeKind.figure_kinds`
(name -> how a ``[[figures]]`` table is read, drawn, and read out in the index).
"""

from __future__ import annotations

from pathlib import Path

from .kinds import FigureKind, Lazy, StudyKind, Task
from .spec import (FIGURE_KIND_KEYS, claims_figure_spec, map_figure_spec, parse_lifetime_study,
                   plot_figure_spec)

_READING = Lazy("wsnmec.study.report:lifetime_reading")


def map_title(figure) -> str:
    """The index's heading of a map figure without a title."""
    return "Network map"


#: Figure kinds of lifetime studies (``docs/studies.md`` documents their keys).
FIGURE_KINDS = {
    "line": FigureKind(parse=plot_figure_spec, draw=Lazy("wsnmec.study.figures:line_figure"), reading=_READING,
                       keys=FIGURE_KIND_KEYS["line"]),
    "metric": FigureKind(parse=plot_figure_spec, draw=Lazy("wsnmec.study.figures:metric_figure"), reading=_READING,
                         keys=FIGURE_KIND_KEYS["metric"]),
    "claims": FigureKind(parse=claims_figure_spec, draw=Lazy("wsnmec.study.claims:claims_figure"),
                         reading=_READING, keys=FIGURE_KIND_KEYS["claims"]),
    "map": FigureKind(parse=map_figure_spec, draw=Lazy("wsnmec.study.figures:map_figure"), reading=_READING,
                      keys=FIGURE_KIND_KEYS["map"], title=map_title),
}


class LifetimeKind(StudyKind):
    """``kind = "lifetime"`` (module docstring)."""

    name = "lifetime"
    program = "run"
    manifest_name = "aggregates.json"
    figure_kinds = FIGURE_KINDS

    def parse(self, data, path, name=None):
        return parse_lifetime_study(data, path, name)

    def expand_tasks(self, spec) -> list[Task]:
        """Grid points in file order (last parameter fastest), then seeds; a task is
        ``simulate(scenario, seed, replicas=1)``."""
        from ..seeding import replica_seeds
        from .cache import task_config, task_key, task_scenario_config

        seeds = replica_seeds(spec.seed, spec.seeds)
        tasks = []
        for point_index, point in enumerate(spec.points):
            scenario = spec.scenario(point)
            shared = task_scenario_config(scenario)  # built once per grid point (it takes a while)
            for seed_index, seed in enumerate(seeds):
                config = task_config(scenario, seed, shared)
                tasks.append(
                    Task(len(tasks), point_index, point, seed_index, seed, scenario, config, task_key(config))
                )
        return tasks

    @property
    def task_function(self):
        from .runner import compute_task

        return compute_task

    def adjust_summary(self, directory: Path, spec, tasks, summary, stored: bool, jobs: int | None = None):
        """With a ``[bound]`` table: the bound columns (:mod:`wsnmec.study.limit`), solved through the bound
        cache on ``jobs`` local processes; a stored summary that already holds them for the study's settings
        is kept."""
        if spec.bound is None or (stored and _bound_current(directory, summary, spec)):
            return summary
        from .limit import add_bound_columns

        return add_bound_columns(summary, tasks, spec.bound, report=None, jobs=jobs)

    def write_tables(self, directory, spec, tasks, cache, rounds, summary, tables):
        from . import aggregates

        computed = aggregates.compute(rounds, summary, list(spec.grid))
        aggregates.write(directory, tasks, cache, computed, tables)
        return computed

    def load_current(self, directory, spec, tasks, cache):
        from . import aggregates

        current = aggregates.load_current(directory, tasks, cache)
        return None if current is None else (current[0], None, current[1])

    def tables_current(self, directory, spec, tasks, cache):
        from . import aggregates

        return aggregates.lifetime_tables_current(directory, tasks, cache)

    def show_lines(self, spec, tasks, summary, missing, file) -> list[str]:
        """Mean and 95 % CI of FND, HND and LND per grid point."""
        from .runner import summary_table

        table = summary_table(summary, spec)
        mode = "quick variant" if spec.quick else "full study"
        lines = [f"{spec.name}: {spec.title} ({mode}; {len(tasks) - len(missing)} of {len(tasks)} tasks)",
                 "  mean [95 % CI] in rounds over seeds"]
        for index, row in table.iterrows():
            point = ", ".join(f"{name}={_shown(table.at[index, name])}" for name in spec.grid) or "base"
            seeds = int(row["seeds"])
            cells = []
            for metric in ("fnd", "hnd", "lnd"):
                mean, low, high = row[f"{metric}_mean"], row[f"{metric}_low"], row[f"{metric}_high"]
                reached = int(row[f"{metric}_reached"])
                text = "not reached" if reached == 0 else f"{mean:8.1f} [{low:8.1f}, {high:8.1f}]"
                if 0 < reached < seeds:
                    text += f" ({reached}/{seeds} seeds)"
                cells.append(f"{metric.upper()} {text}")
            lines.append(f"  {point:<32} n={seeds:<3} " + "  ".join(cells))
        if missing:
            lines.append(f"  ({len(missing)} tasks not computed yet: `wsnmec study run {file}`)")
        return lines

    def index_lines(self, run) -> list[str]:
        """The lifetime table (:func:`wsnmec.study.report.lifetime_table`)."""
        from .report import lifetime_table

        return lifetime_table(run)


def _shown(value) -> str:
    """A grid value of ``study show`` (iterrows turns an all-number row into floats: nodes=20 showed as 20.0)."""
    import numpy as np

    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return f"{float(value):g}"
    return str(value.item() if isinstance(value, np.generic) else value)


def _bound_current(directory: Path, summary, spec) -> bool:
    """Whether the stored summary already holds the bound columns made with the study's ``[bound]`` settings
    (``study.json`` records them), so that reading a finished study never solves a bound again."""
    import json

    from .limit import BOUND_COLUMNS

    try:
        record = json.loads((directory / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("bound") == spec.bound and all(c in summary.columns for c in BOUND_COLUMNS)


LIFETIME = LifetimeKind()
