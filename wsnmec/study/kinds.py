"""Study kinds: the plug-in interface of the study pipeline and the registry of kinds.

A study file's top-level ``kind`` names its study kind (``lifetime`` when it names none). The pipeline (the
study-file mechanics, the runner with its executors, the task cache with its checksums and claims,
interrupts, drawing and the figures index) is the same for every kind; what differs is a
:class:`StudyKind` object:

- ``parse(data, path, name)``: the validated study (an object with ``name``, ``path``, ``title``,
  ``description``, ``seed``, ``seeds``, ``base``, ``grid``, ``figures``, ``quick``, ``kind``, ``points``,
  ``task_count``, ``variant(quick)``; :class:`wsnmec.study.options.OptionsStudySpec` gives all of it);
- ``expand_tasks(spec)``: the tasks (one per grid point and seed, each with its cache key);
- ``task_function``: what a worker runs, ``task_function(arguments, seed) -> (TaskResult, seconds)``
  (picklable);
- ``write_tables`` / ``load_current`` / ``tables_current``: the derived tables of a run beside
  ``rounds.parquet``, ``summary.parquet`` and ``study.json``, and reading them back when current;
- ``figure_kinds``: figure kind name -> :class:`FigureKind` (how a ``[[figures]]`` table is read, drawn and
  read out in the index);
- ``show_lines``: the text of ``wsnmec study show``; ``index_lines``: the index's lines before the figures.

The registry :data:`STUDY_KINDS` maps a name to ``"module:object"`` (imported on first use, as the
clustering policies' registry). A study file may also name a plug-in kind as ``package.module:object``
(imported from ``sys.path``) or as the name of an entry point of the group ``wsnmec.study_kinds``
(:data:`ENTRY_POINT_GROUP`). The object is a :class:`StudyKind` instance or subclass. A new study kind is
one file (its :class:`StudyKind` subclass, its figure kinds table) plus one line in :data:`STUDY_KINDS` (or
one entry point); a new figure kind is one entry in its kind's ``figure_kinds`` table (or a call of
:func:`register_figure_kind`).

This module imports no study kind (the registry holds names, not modules), so every kind may import it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParameterError, import_object

#: Study kinds: name -> ``"module:object"``. ``lifetime`` (``wsnmec run`` scenarios, the default),
#: ``offload`` (``wsnmec offload`` experiments) and ``partition`` (partitioned inference, issue 10).
STUDY_KINDS: dict[str, str] = {
    "lifetime": "wsnmec.study.lifetime:LIFETIME",
    "offload": "wsnmec.study.offload:OFFLOAD",
    "partition": "wsnmec.study.partition:PARTITION",
}

#: The kind of a study file that declares none.
DEFAULT_KIND = "lifetime"

#: Entry-point group of installed plug-in study kinds (name -> ``"module:object"``).
ENTRY_POINT_GROUP = "wsnmec.study_kinds"


@dataclass(frozen=True)
class Task:
    """One grid point and one seed of a study.

    ``scenario`` holds the task's arguments as its kind's ``task_function`` takes them (a
    :class:`~wsnmec.sim.scenario.Scenario` for lifetime studies, an options dict for offloading studies);
    ``config`` is what the cache key ``key`` hashes."""

    index: int
    point_index: int
    point: dict
    seed_index: int
    seed: int
    scenario: object
    config: dict
    key: str


class Lazy:
    """A function named ``"module:function"``, imported on its first call (so that a kind's table of
    figure kinds costs no plotting import until a figure is drawn); picklable."""

    def __init__(self, reference: str):
        self.reference = reference

    @functools.cached_property
    def function(self) -> Callable:
        module, _, name = self.reference.partition(":")
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __getstate__(self):
        return {"reference": self.reference}

    def __repr__(self):
        return f"Lazy({self.reference!r})"


@dataclass(frozen=True)
class FigureKind:
    """One figure kind of a study kind.

    Attributes
    ----------
    parse : callable
        Reads one ``[[figures]]`` table into the kind's figure spec; its arguments are the study kind's own
        (see the kind's module: lifetime ``parse(check, key, name, table, grid, extra, base)``, options
        kinds ``parse(path, index, table, grid)``).
    draw : callable
        ``draw(figure, spec, rounds, summary) -> matplotlib Figure``; ``rounds`` is the run's aggregates
        when its kind stores them, else its rounds table.
    reading : callable
        ``reading(figure, run) -> str``: the index's one-sentence reading of the figure.
    keys : tuple of str
        The keys its ``[[figures]]`` table takes (the parser refuses the others).
    title : callable, optional
        ``title(figure) -> str``: the index's heading of a figure without a title (default: the label of
        its first ``y`` column).
    """

    parse: Callable
    draw: Callable
    reading: Callable
    keys: tuple = ()
    title: Callable | None = None


class StudyKind:
    """The interface of a study kind (module docstring), with the defaults of a kind whose tasks are
    ``compute(options, seed)`` calls over a grid of options (:mod:`wsnmec.study.options`).

    A subclass sets :attr:`name`, :attr:`parameters` (option name -> TOML type of
    :data:`wsnmec.study.options.VALUE_TYPES`), :attr:`figure_kinds` and :meth:`compute`; the rest has
    defaults. The task cache key hashes the options, the seed, the package version and :meth:`fingerprint`
    (by default the SHA-256 of the module file defining the kind's class, so that a changed plug-in is run
    again).
    """

    #: The kind's registry name (a plug-in: set by the registry to its ``module:object`` value when empty).
    name: str = ""
    #: What ``wsnmec study list`` and the index call the command whose defaults fill unset parameters.
    program: str = ""
    #: Options a study's ``[base]``, ``[grid]`` and ``case`` tables may set: name -> TOML type.
    parameters: dict = {}
    #: Figure kinds: name -> :class:`FigureKind`.
    figure_kinds: dict = {}
    #: The sealed manifest of a mode directory that records the checksums of its tables.
    manifest_name: str = "tables.json"
    #: True for a kind whose studies are listed apart (``find_studies(kind=...)``) and drawn as one Markdown
    #: section of their own after the other studies' (``partition``: :func:`wsnmec.study.partition.run_partition_study`;
    #: its tasks run on this pipeline).
    separate: bool = False
    #: The ``module:object`` the registry imported it from (set by the registry).
    reference: str = ""

    # ------------------------------------------------------------------ study files
    def parse(self, data: dict, path: Path, name: str | None = None):
        """The validated study of a parsed study file (:func:`wsnmec.study.options.parse_options_study`)."""
        from .options import parse_options_study

        return parse_options_study(self, data, path, name)

    def parse_figure(self, path: Path, index: int, table, grid: dict):
        """One ``[[figures]]`` table (:func:`wsnmec.study.options.parse_figure`)."""
        from .options import parse_figure

        return parse_figure(self, path, index, table, grid)

    def check_options(self, options: dict) -> None:
        """Raise :class:`ParameterError` for a grid point's options that cannot run (default: none)."""

    def figure_kind(self, figure) -> FigureKind:
        return self.figure_kinds[figure.kind]

    # ------------------------------------------------------------------ tasks
    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the code that decides a task's result (default: the module file of
        the kind's class)."""
        return _module_sha256(type(self))

    def task_config(self, options: dict, seed: int) -> dict:
        from .. import __version__

        return {"kind": self.name, "options": options, "seed": int(seed), "version": __version__,
                "code": self.fingerprint()}

    def expand_tasks(self, spec) -> list[Task]:
        """One task per grid point (file order, last parameter fastest) and seed."""
        from ..seeding import replica_seeds
        from .cache import task_key

        seeds = replica_seeds(spec.seed, spec.seeds)
        tasks = []
        for point_index, point in enumerate(spec.points):
            options = spec.options(point)
            labelled = {k: (v["name"] if isinstance(v, dict) else v) for k, v in point.items()}
            for seed_index, seed in enumerate(seeds):
                config = self.task_config(options, seed)
                tasks.append(Task(len(tasks), point_index, labelled, seed_index, seed, options, config,
                                  task_key(config)))
        return tasks

    @property
    def task_function(self) -> Callable:
        """What a worker runs: ``task_function(arguments, seed) -> (TaskResult, seconds)``."""
        return self.compute_task

    def compute_task(self, options: dict, seed: int):
        """:meth:`compute` timed, as a :class:`~wsnmec.study.cache.TaskResult`."""
        from .cache import TaskResult

        start = time.perf_counter()
        rounds, summary = self.compute(dict(options), seed)
        return TaskResult(rounds=rounds.reset_index(drop=True), summary=summary), time.perf_counter() - start

    def compute(self, options: dict, seed: int):
        """One task: ``(rounds, summary)`` tables (the summary one row or a few)."""
        raise NotImplementedError(f"study kind {self.name!r} does not define compute(options, seed)")

    # ------------------------------------------------------------------ tables
    def adjust_summary(self, directory: Path, spec, tasks, summary, stored: bool, jobs: int | None = None):
        """The summary as the run returns it (lifetime studies add their bound columns); ``stored``: read
        from a current mode directory rather than made from the cache; ``jobs``: the local worker processes
        the run may use for it (None: the run's default, all cores)."""
        return summary

    def write_tables(self, directory: Path, spec, tasks, cache, rounds, summary, tables: dict):
        """Write the kind's derived tables and the sealed manifest into the mode directory ``directory``
        (``tables``: the SHA-256 of the files written before). Returns the run's aggregates (None: the
        figures read the rounds table)."""
        from .aggregates import write_manifest

        write_manifest(directory / self.manifest_name, self.table_settings(spec), tasks, cache, tables)
        return None

    def table_settings(self, spec) -> dict:
        """What the stored tables depend on besides the task files (a change makes them stale)."""
        return {"kind": self.name}

    def load_current(self, directory: Path, spec, tasks, cache):
        """``(summary, rounds, aggregates)`` read from ``directory`` when made from exactly ``tasks``'
        cache files as they are now (``rounds`` may be None: read on demand); else None."""
        from .aggregates import load_current_tables

        return load_current_tables(directory, self.manifest_name, self.table_settings(spec), tasks, cache)

    def tables_current(self, directory: Path, spec, tasks, cache) -> bool:
        """Whether a rerun would read only the stored tables (checksums only, nothing parsed)."""
        from .aggregates import current_manifest

        return current_manifest(directory / self.manifest_name, tasks, cache, self.table_settings(spec),
                                ("summary.parquet", "study.json", "rounds.parquet")) is not None

    # ------------------------------------------------------------------ texts and figures
    def show_lines(self, spec, tasks, summary, missing, file) -> list[str]:
        """``wsnmec study show``: the mean of each numeric summary column per grid point."""
        import pandas as pd

        mode = "quick variant" if spec.quick else "full study"
        lines = [f"{spec.name}: {spec.title} ({mode}; {len(tasks) - len(missing)} of {len(tasks)} tasks)"]
        keys = list(spec.grid)
        numeric = [c for c in summary.columns if c not in (*keys, "seed_index", "seed", "task")
                   and pd.api.types.is_numeric_dtype(summary[c])]
        groups = summary.groupby(keys, sort=False) if keys else [((), summary)]
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            point = ", ".join(f"{k}={v}" for k, v in zip(keys, key)) or "base"
            means = "  ".join(f"{c} {group[c].astype(float).mean():.6g}" for c in numeric)
            lines.append(f"  {point:<32} n={len(group):<3} {means}")
        if missing:
            lines.append(f"  ({len(missing)} tasks not computed yet: `wsnmec study run {file}`)")
        return lines

    def index_lines(self, run) -> list[str]:
        """The index's lines of a study before its figures (default: none)."""
        return []

    def draw(self, figure, spec, rounds, summary):
        return self.figure_kind(figure).draw(figure, spec, rounds, summary)

    def reading(self, figure, run) -> str:
        return self.figure_kind(figure).reading(figure, run)

    def figure_title(self, figure) -> str:
        """The heading of a figure (its title, else its figure kind's default)."""
        if figure.title:
            return figure.title
        title = self.figure_kind(figure).title
        if title is not None:
            return title(figure)
        from .columns import label

        return label(figure.y[0])

    def __repr__(self):
        return f"<study kind {self.name!r}>"

    def __reduce__(self):
        """Pickled by reference (a worker imports the kind again: its module is on the parent's sys.path)."""
        return (study_kind_object, (self.reference or self.name,))


def _module_sha256(cls) -> str:
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    digest = hashlib.sha256()
    try:
        digest.update(Path(path).read_bytes())
    except (OSError, TypeError):
        digest.update(inspect.getsource(cls).encode("utf-8"))
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------- the registry
_RESOLVED: dict[str, StudyKind] = {}


def _entry_points():
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def kind_names() -> tuple[str, ...]:
    """The registered kinds, then the installed entry points' names."""
    return tuple(STUDY_KINDS) + tuple(sorted({ep.name for ep in _entry_points()} - set(STUDY_KINDS)))


def _load_kind(reference: str, parameter: str, origin: str):
    obj = import_object(reference, parameter, origin, form="a plug-in study kind is written MODULE:OBJECT")
    if isinstance(obj, type) and issubclass(obj, StudyKind):
        obj = obj()
    if not isinstance(obj, StudyKind):
        raise ParameterError(parameter, f"{origin} {reference!r} is a {type(obj).__name__}, not a study kind "
                                        "(a wsnmec.study.kinds.StudyKind instance or subclass)")
    return obj


def study_kind_object(name, parameter: str = "kind") -> StudyKind:
    """The study kind of a ``kind`` value: a registered name, ``module:object`` or an entry point's name
    (imported once per process); :class:`ParameterError` naming ``parameter`` otherwise."""
    if isinstance(name, str) and name in _RESOLVED:
        return _RESOLVED[name]
    if not isinstance(name, str):
        raise ParameterError(parameter, f"must be one of {', '.join(kind_names())}; got {name!r}")
    if name in STUDY_KINDS:
        reference = STUDY_KINDS[name]
        kind = _load_kind(reference, parameter, "the study kind")
    elif ":" in name:
        reference = name
        kind = _load_kind(name, parameter, "the plug-in study kind")
    else:
        matches = [ep for ep in _entry_points() if ep.name == name]
        if not matches:
            raise ParameterError(parameter, f"must be one of {', '.join(kind_names())}, or MODULE:OBJECT "
                                            f"(a plug-in study kind); got {name!r}")
        reference = matches[0].value
        kind = _load_kind(reference, parameter, f"the entry point {name!r} ({ENTRY_POINT_GROUP}) =")
    if not kind.name:
        kind.name = name
    if not kind.reference:
        kind.reference = reference
    _RESOLVED[name] = kind
    if kind.name not in STUDY_KINDS:  # a plug-in that names itself: its studies' kind is that name
        _RESOLVED.setdefault(kind.name, kind)
    return kind


def kind_of(spec) -> StudyKind:
    """The study kind of a validated study."""
    return study_kind_object(getattr(spec, "kind", DEFAULT_KIND))


def register_figure_kind(study_kind: str, name: str, figure_kind: FigureKind) -> None:
    """Add (or replace) the figure kind ``name`` of the study kind ``study_kind`` (for plug-ins that add a
    figure kind to an existing study kind without editing its file)."""
    kind = study_kind_object(study_kind)
    kind.figure_kinds = {**kind.figure_kinds, name: figure_kind}


def unregister_figure_kind(study_kind: str, name: str) -> None:
    """Remove a figure kind added by :func:`register_figure_kind`."""
    kind = study_kind_object(study_kind)
    kind.figure_kinds = {k: v for k, v in kind.figure_kinds.items() if k != name}


def study_kind(path) -> str:
    """The ``kind`` a study file declares (:data:`DEFAULT_KIND` when it declares none or cannot be read)."""
    import tomllib

    try:
        return str(tomllib.loads(Path(path).read_text(encoding="utf-8")).get("kind", DEFAULT_KIND))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return DEFAULT_KIND


__all__ = ["DEFAULT_KIND", "ENTRY_POINT_GROUP", "STUDY_KINDS", "FigureKind", "Lazy", "StudyKind", "Task",
           "kind_of", "register_figure_kind", "study_kind", "study_kind_object", "unregister_figure_kind"]
