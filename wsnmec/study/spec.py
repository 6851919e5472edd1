"""Study files: loading and validation.

A study is a TOML file::

    kind = "lifetime"     # optional (the default); kind = "partition" files are wsnmec.study.partition's
    title = "Alive nodes vs round in the classic scenario"
    description = "Optional longer text."
    seed = 1              # study seed; the task seeds are wsnmec.seeding.replica_seeds(seed, seeds)
    seeds = 30            # seeds per grid point (the same seeds at every grid point)
    scale_field = false   # true: scale the field with the node count to keep nodes / area of [base]

    [base]                # any `wsnmec run` parameter (keys with underscores: packet_bits, ...)
    nodes = 100
    field = [100, 100]

    [grid]                # swept parameters: a list, or a range {start, stop, step} (stop included)
    protocol = ["direct", "leach", "ileach"]
    nodes = { start = 50, stop = 1000, step = 50 }
    case = [{ name = "far", sink = [50, 175] }, { name = "N=400", nodes = 400, field = [200, 200] }]
                          # case: tables of scenario parameters swept together, each with a name (and, in
                          # a scenario suite, split = "train" or "heldout": wsnmec.study.suite)

    [[extra]]             # optional: more grid points beyond the product: these values with every
    protocol = "ddnn"     # combination of the other swept parameters (e.g. a policy without p, run once
    p = 0.1               # per case instead of at every p)

    [bound]               # optional: solve the lifetime bound of every task's deployment (wsnmec.study.limit) and
    gap = 0.01            # add bound_upper, bound_fnd, bound_stopped and fnd_over_bound (FND / bound_fnd) to the
    time_limit = 60       # summary; gap: relative gap target, time_limit: [s] per deployment (a cut-short bound
                          # is valid but looser)

    [quick]               # what `--quick` changes: fewer seeds, other base values, other grid lists, the bound
    seeds = 3
    base = { rounds = 500 }
    grid = { nodes = [50, 200] }
    bound = { time_limit = 5 }
    extra = []            # the quick variant's own [[extra]] points (here none), replacing the full study's

    [[figures]]
    name = "alive"        # file name of the figure (letters, digits, - and _)
    kind = "line"         # line: a per-round column vs round; metric: summary metrics vs a parameter
    y = "alive"           # line: one per-round column; metric: one metric or a list (one panel each)
    hue = "protocol"      # optional: a swept parameter (or derived column) coloured
    style = "semantics"   # optional: another one, dashed
    x = "nodes"           # metric figures: the swept parameter on the x axis
    panel = "case"        # metric figures, optional: one column of panels per value of a swept parameter
    reference = "ddnn"    # metric figures, optional: this hue level drawn as a horizontal line (its mean over
                          # seeds, with its band) in each panel; the reading names each other level's best x
                          # and the reference's paired difference to it there
    title = "Alive nodes" # optional

Texts (``title``, ``description`` and figure titles) may hold placeholders in braces, filled from the
configuration of the variant that runs (full or ``--quick``), so that no number in them contradicts the run:
``{seeds}`` (seeds per grid point), ``{tasks}``, ``{run_length}`` ("until the last node dies", or "until the
last node dies or round R, whichever comes first" when ``rounds`` is set), ``{field_text}`` ("100 m x 100 m"),
every scenario parameter
(``{e0}``, ``{rounds}``, ``{nodes}``, ...: the base value, else the ``wsnmec run`` default) and, for a swept
parameter ``NAME``, ``{NAME}`` (its values, comma-separated), ``{NAME_count}``, ``{NAME_min}`` and
``{NAME_max}``; with a ``[bound]`` table, ``{bound_gap}`` and ``{bound_time_limit}`` [s]. Python format specifications apply (``{rounds:,}``); ``{{`` and ``}}`` are literal braces.

Every key of every study and figure kind, with its type, unit, default and an example: ``docs/studies.md``
(checked against :data:`TOP_KEYS`, :data:`FIGURE_KIND_KEYS` and the other tables here by
``tests/test_studies_doc.py``).

Every problem is a :class:`~wsnmec.errors.ParameterError` whose parameter is ``FILE: KEY`` (for example
``studies/classic.toml: grid.nodes[2]``) and whose message says what is allowed.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ParameterError
from ..seeding import MAX_SEED
from ..sim.parameters import TYPE_WORDS, scenario_types
from ..sim.scenario import Scenario
from .columns import DERIVED_COLUMNS, ROUND_COLUMNS, SUMMARY_METRICS
from .kinds import DEFAULT_KIND, STUDY_KINDS
from .texts import (  # noqa: F401  (the texts' mechanics, shared by every study kind; their old place)
    _is_number,
    _text_of,
    _TextValue,
    common_text_values,
    grid_text_values,
    render_text,
    render_texts,
)

#: Figure kinds a study may declare (drawn by :data:`wsnmec.study.figures.FIGURE_KINDS`).
FIGURE_KIND_NAMES = ("line", "metric", "claims", "map")
MAX_SEEDS = 10_000
MAX_GRID_VALUES = 10_000
MAX_TASKS = 1_000_000

TOP_KEYS = ("kind", "title", "description", "seed", "seeds", "scale_field", "base", "grid", "extra", "quick",
            "figures", "bound")
#: Study kinds: ``lifetime`` (wsnmec run scenarios, this module, the default), ``offload`` (:mod:`.offload`) and
#: ``partition`` (:mod:`wsnmec.study.partition`, drawn by ``wsnmec figures``): the registry of
#: :mod:`wsnmec.study.kinds` (name -> ``"module:object"``), imported above.
QUICK_KEYS = ("seeds", "base", "grid", "bound", "extra")
#: Keys of a ``[bound]`` table (:mod:`wsnmec.study.limit`).
BOUND_KEYS = ("gap", "time_limit")
#: Defaults of a study's ``[bound]`` table: relative gap target, time limit per deployment [s].
DEFAULT_GAP = 0.01
DEFAULT_TIME_LIMIT = 60.0
#: Summary metrics that exist only in studies with a ``[bound]`` table.
BOUND_METRICS = ("fnd_over_bound", "bound_fnd", "bound_upper")
#: The keys each figure kind takes (one source for the parser, which refuses a key its kind does not use, and
#: for the study-file reference docs/studies.md, checked against it by tests/test_studies_doc.py).
FIGURE_KIND_KEYS = {
    "line": ("name", "kind", "y", "x", "hue", "style", "title"),
    "metric": ("name", "kind", "y", "x", "hue", "style", "panel", "reference", "title"),
    "claims": ("name", "kind", "hue", "reference", "primary", "title"),
    "map": ("name", "kind", "round", "title"),
}
#: Every key of a ``[[figures]]`` table (of any kind).
FIGURE_KEYS = ("name", "kind", "x", "y", "hue", "style", "title", "reference", "round", "panel", "primary")
#: Keys of a claims figure's ``primary`` table besides the scenario parameters (:func:`_primary_comparison`).
PRIMARY_KEYS = ("against",)
#: The swept parameter whose values are tables of scenario parameters swept together (each with a ``name``).
CASE = "case"
#: Keys of a ``case`` table that are not scenario parameters: its ``name`` and, optionally, the ``split`` a
#: scenario suite declares (``train`` or ``heldout``: :mod:`wsnmec.study.suite`).
CASE_LABELS = ("name", "split")
#: Values of a case's ``split``.
SPLITS = ("train", "heldout")
RANGE_KEYS = ("start", "stop", "step")

#: The TOML type each scenario parameter takes (the words of :data:`TYPE_WORDS`), generated from the parameter
#: table :data:`wsnmec.sim.parameters.SCENARIO_PARAMETERS`.
SCENARIO_TYPES = scenario_types()
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a study.

    Parameters
    ----------
    name : str
        File name stem (the files are ``<study>-<name>.png`` and ``.pdf``).
    kind : str
        ``line`` (a per-round column vs round), ``metric`` (summary metrics vs a swept parameter),
        ``claims`` (the ``reference`` level of ``hue`` against every other level: :mod:`wsnmec.study.claims`)
        or ``map`` (the network of each grid point at ``round``, first seed; :mod:`wsnmec.network_map`).
    x : str
        ``round`` for line figures; the swept parameter for metric figures.
    y : tuple of str
        The plotted column(s).
    hue, style : str or None
        Swept parameters (or derived columns) told apart by colour and by line style.
    title : str
        Figure title.
    reference : str or None
        ``claims`` figures: the proposed level of ``hue`` (e.g. ``ddnn``); ``metric`` figures: the level of
        ``hue`` drawn as a horizontal line in each panel.
    round : int or None
        The round a ``map`` figure shows.
    panel : str or None
        ``metric`` figures: a swept parameter with one column of panels per value.
    primary : tuple of (key, value) or None
        ``claims`` figures: the primary comparison fixed in the study file (``against`` = the reference
        policy, and the scenario point: a value for every other swept parameter, plus any base keys the file
        restates); see :mod:`wsnmec.study.claims`.
    """

    name: str
    kind: str
    x: str
    y: tuple[str, ...]
    hue: str | None = None
    style: str | None = None
    title: str = ""
    reference: str | None = None
    round: int | None = None
    panel: str | None = None
    primary: tuple | None = None


@dataclass(frozen=True)
class StudySpec:
    """A validated study.

    Parameters
    ----------
    name : str
        The study's name (the file's stem), used for its results directory and figure files.
    path : Path
        The study file.
    title, description : str
        Human-readable text.
    seed : int
        Study seed; task seeds are ``replica_seeds(seed, seeds)``.
    seeds : int
        Seeds per grid point.
    base : dict
        Scenario parameters shared by all grid points (raw values as in the file).
    grid : dict of str -> tuple
        Swept parameters and their values, in file order.
    scale_field : bool
        Scale the field with the node count so that nodes / area stays that of ``base``.
    figures : tuple of FigureSpec
    quick : bool
        True when this is the ``--quick`` variant.
    quick_override : dict
        The raw ``[quick]`` table.
    extra : tuple of dict
        ``[[extra]]``: partial grid points added to the grid's product (each with every combination of the
        swept parameters it does not set).
    bound : dict or None
        ``[bound]`` (``gap``, ``time_limit`` [s]) of a study that asks for the lifetime bound of each task's
        deployment (:mod:`wsnmec.study.limit`); None: no bound.
    kind : str
        ``"lifetime"``: its study kind (:mod:`wsnmec.study.lifetime`, through the registry of
        :mod:`wsnmec.study.kinds`).
    """

    name: str
    path: Path
    title: str
    description: str
    seed: int
    seeds: int
    base: dict
    grid: dict
    scale_field: bool
    figures: tuple[FigureSpec, ...]
    quick: bool = False
    quick_override: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)
    extra: tuple = ()
    bound: dict | None = None
    kind: str = "lifetime"

    @property
    def points(self) -> list[dict]:
        """The grid points (dicts of swept parameter values) in file order (last parameter fastest), then
        the ``[[extra]]`` points not already in the grid."""
        names = list(self.grid)
        points = [dict(zip(names, values)) for values in itertools.product(*(self.grid[n] for n in names))]
        seen = {repr(point) for point in points}
        for fixed in self.extra:
            free = [n for n in names if n not in fixed]
            for values in itertools.product(*(self.grid[n] for n in free)):
                chosen = dict(zip(free, values))
                point = {n: fixed[n] if n in fixed else chosen[n] for n in names}
                if repr(point) not in seen:
                    seen.add(repr(point))
                    points.append(point)
        return points

    def point_raw(self, point: dict) -> dict:
        """Raw scenario values of a grid point: base, the point (a ``case`` table's parameters merged, its
        name dropped), and the field scaled when asked."""
        raw = dict(self.base)
        for name, value in point.items():
            if name == CASE:
                raw.update({k: v for k, v in value.items() if k not in CASE_LABELS})
            else:
                raw[name] = value
        if self.scale_field:
            base_nodes = self.base.get("nodes", Scenario.nodes)
            factor = math.sqrt(raw.get("nodes", Scenario.nodes) / base_nodes)
            width, height = _as_pair(self.base.get("field", [100.0, 100.0]))
            raw["field"] = [width * factor, height * factor]
            if raw.get("sink") is not None:
                sink_x, sink_y = raw["sink"]
                raw["sink"] = [sink_x * factor, sink_y * factor]
        return raw

    def scenario(self, point: dict) -> Scenario:
        """The validated scenario of a grid point (magnitudes that could overflow refused, as for `run`)."""
        from ..limits import check_magnitudes

        scenario = Scenario.from_mapping(self.point_raw(point))
        check_magnitudes(scenario)
        return scenario

    def variant(self, quick: bool) -> "StudySpec":
        """The full study or its ``--quick`` variant."""
        if quick == self.quick:
            return self
        if not quick:
            raise ValueError("the full study cannot be derived from its quick variant; load the file again")
        override = self.quick_override
        grid = dict(self.grid)
        grid.update(override.get("grid", {}))
        base = dict(self.base)
        base.update(override.get("base", {}))
        bound = self.bound if self.bound is None else {**self.bound, **override.get("bound", {})}
        extra = tuple(override["extra"]) if "extra" in override else self.extra
        return render_texts(replace(self, seeds=override.get("seeds", self.seeds), base=base, grid=grid, quick=True,
                                    bound=bound, extra=extra))

    def text_values(self) -> dict:
        """The placeholders of the study's texts and their values in this variant (module docstring)."""
        values = {name: getattr(self.scenario_defaults, name) for name in Scenario.keys()}
        values.update(self.base)
        rounds = values.get("rounds")
        width, height = _as_pair(values["field"])
        values["field_text"] = f"{width:g} m x {height:g} m"
        values["run_length"] = ("until the last node dies" if rounds is None else
                                f"until the last node dies or round {rounds:,}, whichever comes first")
        if self.bound is not None:  # studies with a [bound] table (wsnmec.study.limit)
            values["bound_gap"] = _text_of(self.bound.get("gap", DEFAULT_GAP))
            values["bound_time_limit"] = _text_of(self.bound.get("time_limit", DEFAULT_TIME_LIMIT))
        return {**common_text_values(self), **values, **grid_text_values(self.grid)}

    @property
    def scenario_defaults(self) -> Scenario:
        return Scenario()

    @property
    def task_count(self) -> int:
        """Tasks of the study: the product of the grid's value counts times the seeds (computed, not
        expanded, so a huge grid is refused before anything is built)."""
        product = math.prod(len(values) for values in self.grid.values())
        extra = sum(math.prod(len(v) for n, v in self.grid.items() if n not in fixed) for fixed in self.extra)
        return (product + extra) * self.seeds


def _as_pair(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return float(value), float(value)


class _Checker:
    """Validation helpers that name the file and the key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str):
        raise ParameterError(f"{self.path}: {key}", message)

    def table(self, key: str, value, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, got {_describe(value)}")
        for name in value:
            if name not in allowed:
                where = f"{key}." if key else ""
                self.fail(f"{where}{name}", f"is not a known key; allowed: {', '.join(allowed)}")
        return value

    def integer(self, key: str, value, minimum: int, maximum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be an integer in [{minimum}, {maximum}], got {_describe(value)}")
        if not minimum <= value <= maximum:
            self.fail(key, f"must be an integer in [{minimum}, {maximum}], got {value}")
        return value

    def string(self, key: str, value) -> str:
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {_describe(value)}")
        return value

    def scenario_value(self, key: str, name: str, value):
        """Check the TOML type of one scenario parameter value."""
        kind = SCENARIO_TYPES[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": number,
            "str": isinstance(value, str),
            "pair": number
            or (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)),
            "xy": isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value),
            "numstr": number or isinstance(value, str),
            "number_or_auto": number or value == "auto",
        }[kind]
        if not ok:
            self.fail(key, f"must be {TYPE_WORDS[kind]}, got {_describe(value)}")
        return value

    def scenario_mapping(self, key: str, raw: dict):
        """Validate a whole scenario mapping; errors name ``key.<parameter>``."""
        from ..limits import check_magnitudes

        try:
            scenario = Scenario.from_mapping(raw)
            check_magnitudes(scenario)
            return scenario
        except ParameterError as exc:
            parameter = exc.parameter.split()[0].lstrip("-").replace("-", "_")
            self.fail(f"{key}.{parameter}" if key else parameter, exc.message)


def _describe(value) -> str:
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "table"}
    return f"{kinds.get(type(value), type(value).__name__)} {value!r}"


def _expand_range(check: _Checker, key: str, table: dict) -> tuple:
    check.table(key, table, RANGE_KEYS)
    for name in RANGE_KEYS:
        if name not in table:
            check.fail(f"{key}.{name}", "is missing; a range is {start = A, stop = B, step = S} with S > 0")
        if not _is_number(table[name]):
            check.fail(f"{key}.{name}", f"must be a number, got {_describe(table[name])}")
    start, stop, step = (table[name] for name in RANGE_KEYS)
    if not all(math.isfinite(v) for v in (start, stop, step)):
        check.fail(key, "start, stop and step must be finite numbers")
    if step <= 0:
        check.fail(f"{key}.step", f"must be a number > 0, got {step!r}")
    if stop < start:
        check.fail(f"{key}.stop", f"must be >= start ({start!r}), got {stop!r}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_GRID_VALUES:
        check.fail(key, f"must give at most {MAX_GRID_VALUES} values, gives {count}")
    integral = all(isinstance(v, int) for v in (start, stop, step))
    values = [start + i * step for i in range(count)]
    if not integral:
        values = [round(v, 12) for v in values]
    return tuple(values)


def _grid(check: _Checker, key: str, table: dict, base: dict, seeds: int = 1) -> dict:
    from ..limits import check_magnitudes

    check.table(key, table, (*Scenario.keys(), CASE))
    _check_grid_size(check, key, table, seeds)
    grid = {}
    for name, spec in table.items():
        where = f"{key}.{name}"
        if name == CASE:
            grid[name] = _cases(check, where, spec, base)
            continue
        if isinstance(spec, dict):
            values = _expand_range(check, where, spec)
        elif isinstance(spec, list):
            if not spec:
                check.fail(where, "must be a non-empty list of values or a range {start, stop, step}")
            if len(spec) > MAX_GRID_VALUES:
                check.fail(where, f"must have at most {MAX_GRID_VALUES} values, has {len(spec)}")
            values = tuple(spec)
        else:
            check.fail(where, f"must be a list of values or a range {{start, stop, step}}, got {_describe(spec)}")
        for index, value in enumerate(values):
            check.scenario_value(f"{where}[{index}]", name, value)
            try:
                check_magnitudes(Scenario.from_mapping({**base, name: value}))
            except ParameterError as exc:
                check.fail(f"{where}[{index}]", exc.message)
        _check_one_shape(check, where, values)
        if len(set(map(repr, values))) != len(values):
            check.fail(where, "must not repeat a value")
        grid[name] = values
    return grid


def _shape(value) -> str:
    """The kind of a grid value as a results column holds it: a number, a string or a list."""
    return "number" if _is_number(value) else "string" if isinstance(value, str) else "list" if isinstance(value, list) else "table"


def _check_one_shape(check: _Checker, key: str, values, shape: str | None = None):
    """Refuse a swept parameter whose values mix numbers, strings and lists (one results column holds one
    type: a mix would fail when the tables are written, after every task was computed)."""
    shapes = dict.fromkeys(_shape(v) for v in values)
    if shape is not None:
        shapes = dict.fromkeys([shape, *shapes])
    if len(shapes) > 1:
        check.fail(key, f"must hold values of one kind (all numbers, all strings or all lists); mixes {' and '.join(shapes)}")


def _cases(check: _Checker, key: str, spec, base: dict) -> tuple:
    """``case``: a non-empty list of tables, each a ``name`` (unique), optionally a ``split`` (one of
    :data:`SPLITS`) and scenario parameters."""
    if not isinstance(spec, list) or not spec:
        check.fail(key, "must be a non-empty list of tables { name = \"...\", <scenario parameters> }")
    names = []
    for index, case in enumerate(spec):
        where = f"{key}[{index}]"
        if not isinstance(case, dict) or not isinstance(case.get("name"), str) or not case["name"]:
            check.fail(where, f"must be a table with a non-empty string name and scenario parameters, got {_describe(case)}")
        check.table(where, case, (*CASE_LABELS, *Scenario.keys()))
        if "split" in case and case["split"] not in SPLITS:
            check.fail(f"{where}.split", f"must be one of {', '.join(SPLITS)}; got {_describe(case['split'])}")
        for name, value in case.items():
            if name not in CASE_LABELS:
                check.scenario_value(f"{where}.{name}", name, value)
        check.scenario_mapping(where, {**base, **{k: v for k, v in case.items() if k not in CASE_LABELS}})
        if case["name"] in names:
            check.fail(f"{where}.name", f"must differ from the other cases' names; {case['name']!r} repeats")
        names.append(case["name"])
    return tuple(spec)


def _extra(check: _Checker, raw, grid: dict, name: str = "extra") -> tuple:
    """``[[extra]]`` (or ``quick.extra``, the quick variant's own, replacing them): tables of swept
    parameters (not ``case``) with one value each."""
    if not isinstance(raw, list):
        check.fail(name, f"must be an array of tables ([[{name}]]), got {_describe(raw)}")
    out = []
    for index, table in enumerate(raw):
        key = f"{name}[{index}]"
        allowed = tuple(n for n in grid if n != CASE) or ("(no swept parameter)",)
        check.table(key, table, allowed)
        if not table:
            check.fail(key, f"must set at least one swept parameter ({', '.join(allowed)})")
        for name, value in table.items():
            check.scenario_value(f"{key}.{name}", name, value)
            _check_one_shape(check, f"{key}.{name}", [value], _shape(grid[name][0]))
        out.append(dict(table))
    return tuple(out)


def _value_count(value) -> int:
    """Values a grid entry gives, computed without expanding it (0 for an entry of the wrong type)."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict) and all(_is_number(value.get(name)) for name in RANGE_KEYS):
        start, stop, step = (value[name] for name in RANGE_KEYS)
        if all(math.isfinite(v) for v in (start, stop, step)) and step > 0 and stop >= start:
            return int(math.floor((stop - start) / step + 1e-9)) + 1
    return 0


def _check_grid_size(check: _Checker, key: str, table: dict, seeds: int):
    """Refuse a grid whose task count (product of value counts x seeds) exceeds MAX_TASKS before any value
    is expanded or validated."""
    count = math.prod(max(1, _value_count(value)) for value in table.values()) * seeds
    if count > MAX_TASKS:
        sizes = " x ".join(f"{name}[{_value_count(value)}]" for name, value in table.items())
        check.fail(key, f"gives {count} tasks ({sizes} x {seeds} seeds); at most {MAX_TASKS}")


def _base(check: _Checker, key: str, table: dict) -> dict:
    check.table(key, table, tuple(Scenario.keys()))
    for name, value in table.items():
        check.scenario_value(f"{key}.{name}", name, value)
    return dict(table)


def _bound(check: _Checker, key: str, table) -> dict:
    """A ``[bound]`` table: ``gap`` in (0, 1), ``time_limit`` > 0 [s] (both optional)."""
    table = check.table(key, table, BOUND_KEYS)
    out = {}
    if "gap" in table:
        gap = table["gap"]
        if not _is_number(gap) or not 0 < gap < 1:
            check.fail(f"{key}.gap", f"must be a number in (0, 1), got {_describe(gap)}")
        out["gap"] = float(gap)
    if "time_limit" in table:
        limit = table["time_limit"]
        if not _is_number(limit) or not 0 < limit <= 1e9:
            check.fail(f"{key}.time_limit", f"must be a number of seconds in (0, 1e9], got {_describe(limit)}")
        out["time_limit"] = float(limit)
    return out


def _map_figure(check: _Checker, key: str, table, name: str) -> FigureSpec:
    """A ``map`` figure: ``round`` (an integer >= 1) and optionally ``title``; one panel per grid point."""
    for other in ("x", "y", "hue", "style"):
        if other in table:
            check.fail(f"{key}.{other}", "is not used by a map figure (it draws every grid point at one round)")
    if "round" not in table:
        check.fail(f"{key}.round", "is missing; a map figure shows the network at one round (an integer >= 1)")
    number = table["round"]
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        check.fail(f"{key}.round", f"must be an integer >= 1, got {_describe(number)}")
    title = check.string(f"{key}.title", table.get("title", ""))
    return FigureSpec(name=name, kind="map", x="x", y=("residual_j",), title=title, round=number)


def _figure(check: _Checker, index: int, table, grid: dict, extra: tuple = (), base: dict | None = None) -> FigureSpec:
    figure_kind, figure = _figure_of_kind(check, index, table, grid, extra, base)
    for name in table:  # (after the kind's own checks, whose messages say more)
        if name not in figure_kind.keys:
            check.fail(f"figures[{index}].{name}", f"is not used by a {figure.kind} figure; its keys: "
                                                   f"{', '.join(figure_kind.keys)}")
    return figure


def _figure_kinds() -> dict:
    """The lifetime study kind's figure kinds (:attr:`wsnmec.study.lifetime.LifetimeKind.figure_kinds`, read
    through the registry: figure kinds registered later count)."""
    from .kinds import study_kind_object

    return study_kind_object("lifetime").figure_kinds


def _figure_of_kind(check: _Checker, index: int, table, grid: dict, extra: tuple = (), base: dict | None = None):
    """``(figure kind, figure spec)`` of one ``[[figures]]`` table: the keys every kind shares, then the
    figure kind's own ``parse(check, key, name, table, grid, extra, base)``."""
    kinds = _figure_kinds()
    key = f"figures[{index}]"
    every = FIGURE_KEYS + tuple(dict.fromkeys(k for kind in kinds.values() for k in kind.keys if k not in FIGURE_KEYS))
    check.table(key, table, every)
    for required in ("name", "kind"):
        if required not in table:
            check.fail(f"{key}.{required}", "is missing")
    name = check.string(f"{key}.name", table["name"])
    if not NAME_PATTERN.match(name):
        check.fail(f"{key}.name", f"must use only letters, digits, '-' and '_', got {name!r}")
    kind = check.string(f"{key}.kind", table["kind"])
    if kind not in kinds:
        check.fail(f"{key}.kind", f"must be one of {', '.join(kinds)}; got {kind!r}")
    return kinds[kind], kinds[kind].parse(check, key, name, table, grid, extra, base or {})


def claims_figure_spec(check: _Checker, key: str, name: str, table, grid: dict, extra: tuple, base: dict) -> FigureSpec:
    """A ``claims`` figure (:func:`_claims_figure`), as the lifetime figure kinds' table calls it."""
    return _claims_figure(check, key, name, table, grid, base)


def map_figure_spec(check: _Checker, key: str, name: str, table, grid: dict, extra: tuple, base: dict) -> FigureSpec:
    """A ``map`` figure (:func:`_map_figure`), as the lifetime figure kinds' table calls it."""
    return _map_figure(check, key, table, name)


def plot_figure_spec(check: _Checker, key: str, name: str, table, grid: dict, extra: tuple, base: dict) -> FigureSpec:
    """A ``line`` figure (a per-round column vs round) or a ``metric`` figure (summary metrics vs a swept
    parameter)."""
    kind = table["kind"]
    if "y" not in table:
        check.fail(f"{key}.y", "is missing")
    if "round" in table:
        check.fail(f"{key}.round", "is only used by map figures")
    if "primary" in table:
        check.fail(f"{key}.primary", "is only used by claims figures")
    groupable = list(grid) + [d for d, (source, _) in DERIVED_COLUMNS.items() if source in grid]
    y = table["y"]
    ys = (y,) if isinstance(y, str) else tuple(y) if isinstance(y, list) else None
    if not ys or not all(isinstance(v, str) for v in ys):
        check.fail(f"{key}.y", f"must be a column name or a non-empty list of them, got {_describe(y)}")
    allowed_y = ROUND_COLUMNS if kind == "line" else SUMMARY_METRICS
    for column in ys:
        if column not in allowed_y:
            check.fail(f"{key}.y", f"must be one of {', '.join(allowed_y)} for a {kind} figure; got {column!r}")
    if kind == "line":
        if len(ys) != 1:
            check.fail(f"{key}.y", "a line figure plots one per-round column")
        x = table.get("x", "round")
        if x != "round":
            check.fail(f"{key}.x", f"must be 'round' for a line figure; got {x!r}")
    else:
        if "x" not in table:
            check.fail(f"{key}.x", f"is missing; a metric figure needs a swept parameter: {', '.join(grid) or 'none'}")
        x = check.string(f"{key}.x", table["x"])
        if x not in grid:
            check.fail(f"{key}.x", f"must be a swept parameter ({', '.join(grid) or 'none in [grid]'}); got {x!r}")
        # categories on x are drawn (unjoined points) and read only for the fraction of the lifetime limit
        categorical = ys == ("fnd_over_bound",)
        if not categorical and not all(_is_number(v) for v in grid[x]):
            numeric = [n for n, values in grid.items() if all(_is_number(v) for v in values)]
            check.fail(f"{key}.x", f"must be a swept parameter with numeric values ({', '.join(numeric) or 'none in [grid]'}); "
                                   f"{x!r} has {_describe(next(v for v in grid[x] if not _is_number(v)))} (sweep it as hue or style)")
    hue = table.get("hue")
    style = table.get("style")
    panel = table.get("panel")
    if panel is not None and kind != "metric":
        check.fail(f"{key}.panel", "is only used by metric figures")
    for role, value in (("hue", hue), ("style", style), ("panel", panel)):
        if value is None:
            continue
        check.string(f"{key}.{role}", value)
        if value not in groupable or value == x:
            allowed = ", ".join(c for c in groupable if c != x) or "none"
            check.fail(f"{key}.{role}", f"must be a swept parameter or derived column ({allowed}); got {value!r}")
    if hue is not None and hue == style:
        check.fail(f"{key}.style", "must differ from hue")
    if panel is not None and panel in (hue, style):
        check.fail(f"{key}.panel", "must differ from hue and style")
    reference = table.get("reference")
    if reference is not None:
        if kind != "metric" or hue is None or hue not in grid:
            check.fail(f"{key}.reference", "is used by claims figures and by metric figures whose hue is swept")
        levels = [_text_value(v) for v in grid[hue]] + [_text_value(e[hue]) for e in extra if hue in e]
        if not isinstance(reference, str) or reference not in levels:
            check.fail(f"{key}.reference", f"must be one of the values of {hue}: {', '.join(dict.fromkeys(levels))}; "
                                           f"got {reference!r}")
    shown = {x, hue, style, panel} | {DERIVED_COLUMNS[c][0] for c in (hue, style) if c in DERIVED_COLUMNS}
    for parameter, values in grid.items():
        if len(values) > 1 and parameter not in shown:
            check.fail(
                key, f"swept parameter {parameter!r} must be the figure's x, hue or style (else its curves would "
                "average different grid points)"
            )
    title = check.string(f"{key}.title", table.get("title", ""))
    return FigureSpec(name=name, kind=kind, x=x, y=ys, hue=hue, style=style, title=title, reference=reference,
                      panel=panel)


def _text_value(value) -> str:
    """A grid value as the results tables label it (a case by its name, a list as ``"A,B"``)."""
    if isinstance(value, dict):
        return value["name"]
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _claims_figure(check, key, name, table, grid, base) -> "FigureSpec":
    """A ``claims`` figure: ``hue`` a swept parameter, ``reference`` one of its values, ``primary`` the
    primary comparison (:func:`_primary_comparison`)."""
    if "round" in table:
        check.fail(f"{key}.round", "is only used by map figures")
    hue = table.get("hue")
    if hue is None or hue not in grid:
        check.fail(f"{key}.hue", f"must be the swept parameter holding the policies ({', '.join(grid) or 'none'})")
    reference = table.get("reference")
    levels = [str(v) for v in grid[hue]]
    if not isinstance(reference, str) or reference not in levels:
        check.fail(f"{key}.reference", f"must be one of the values of {hue}: {', '.join(levels)}; got {reference!r}")
    title = check.string(f"{key}.title", table.get("title", ""))
    primary = _primary_comparison(check, f"{key}.primary", table.get("primary"), grid, base, hue, reference)
    return FigureSpec(name=name, kind="claims", x=hue, y=("latency_s_mean", "delivered_bits_total"), hue=hue,
                      style=None, title=title, reference=reference, primary=primary)


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if _is_number(v) else str(v) for v in value)
    return f"{value:g}" if _is_number(value) else str(value)


def _primary_comparison(check, key, table, grid, base, hue, reference) -> tuple:
    """The ``primary`` table of a claims figure, validated; returned as ``(("against", P), (k, v), ...)``.

    ``against`` (required) is a value of ``hue`` other than ``reference``. Every other swept parameter must
    be given one of its values (the primary comparison is one scenario point, fixed before the run); any
    other key must be a scenario parameter whose value gives the same scenario as the base (the file may
    restate, e.g., ``workload`` or ``control_bits`` so that the primary comparison reads in one place)."""
    if table is None:
        check.fail(key, "is missing; a claims figure fixes its primary comparison before the run: "
                        "[figures.primary] with against = POLICY and a value for every other swept parameter")
    check.table(key, table, (*PRIMARY_KEYS, *Scenario.keys()))
    against = table.get("against")
    levels = [str(v) for v in grid[hue]]
    if not isinstance(against, str) or against not in levels or against == reference:
        others = ", ".join(v for v in levels if v != reference)
        check.fail(f"{key}.against", f"must be one of the values of {hue} other than {reference}: {others}; "
                                     f"got {against!r}")
    if hue in table:
        check.fail(f"{key}.{hue}", f"is the compared parameter; name the reference policy with against")
    out = [("against", against)]
    for name, values in grid.items():
        if name == hue:
            continue
        if name not in table:
            check.fail(f"{key}.{name}", f"is missing; the primary comparison must pin every swept parameter "
                                        f"(one of: {'; '.join(_cell(v) for v in values)})")
        value = check.scenario_value(f"{key}.{name}", name, table[name])
        if _cell(value) not in [_cell(v) for v in values]:
            check.fail(f"{key}.{name}", f"must be one of the swept values {'; '.join(_cell(v) for v in values)}, "
                                        f"got {_cell(value)}")
        out.append((name, tuple(value) if isinstance(value, list) else value))
    base_scenario = Scenario.from_mapping(base)
    for name, value in table.items():
        if name == "against" or name in grid:
            continue
        check.scenario_value(f"{key}.{name}", name, value)
        try:
            restated = Scenario.from_mapping({**base, name: value})
        except ParameterError as exc:
            check.fail(f"{key}.{name}", exc.message)
        if getattr(restated, name) != getattr(base_scenario, name):
            check.fail(f"{key}.{name}", f"is {_cell(value)} but the study runs {name} = "
                                        f"{_cell(getattr(base_scenario, name))} (set it in [base] or sweep it)")
        out.append((name, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def parse_study(data: dict, path: Path, name: str | None = None):
    """Validate a parsed study table: read by the parser of its ``kind`` (:mod:`wsnmec.study.kinds`; the
    lifetime kind's is :func:`parse_lifetime_study`, ``kind = "offload"``'s :mod:`.offload`)."""
    from .kinds import ENTRY_POINT_GROUP, kind_names, study_kind_object

    check = _Checker(path)
    kind = data.get("kind", DEFAULT_KIND)  # before the keys: another kind has other keys
    if not isinstance(kind, str) or not (kind in kind_names() or ":" in kind):
        check.fail("kind", f"must be one of {', '.join(kind_names())}; got {_describe(kind)} (or MODULE:OBJECT, "
                           f"a plug-in study kind, or an entry point of {ENTRY_POINT_GROUP})")
    try:
        study_kind = study_kind_object(kind)
    except ParameterError as exc:
        check.fail("kind", exc.message)
    return study_kind.parse(data, path, name)


def parse_lifetime_study(data: dict, path: Path, name: str | None = None) -> StudySpec:
    """Validate a parsed ``kind = "lifetime"`` study table (the module docstring)."""
    check = _Checker(path)
    check.table("", data, TOP_KEYS)
    title = check.string("title", data.get("title", path.stem))
    description = check.string("description", data.get("description", ""))
    seed = check.integer("seed", data.get("seed", 0), 0, MAX_SEED)
    seeds = check.integer("seeds", data.get("seeds", 1), 1, MAX_SEEDS)
    scale_field = data.get("scale_field", False)
    if not isinstance(scale_field, bool):
        check.fail("scale_field", f"must be true or false, got {_describe(scale_field)}")
    base = _base(check, "base", data.get("base", {}))
    check.scenario_mapping("base", base)
    grid = _grid(check, "grid", data.get("grid", {}), base, seeds)
    if scale_field:
        if "field" in grid:
            check.fail("grid.field", "cannot be swept with scale_field = true (the field follows the nodes)")
        if "positions" in base or "positions" in grid:
            check.fail("scale_field", "cannot scale a field whose positions come from a CSV file")
    quick = check.table("quick", data.get("quick", {}), QUICK_KEYS)
    if "seeds" in quick:
        check.integer("quick.seeds", quick["seeds"], 1, MAX_SEEDS)
    quick_base = _base(check, "quick.base", quick.get("base", {}))
    check.scenario_mapping("quick.base", {**base, **quick_base})
    quick_grid_table = check.table("quick.grid", quick.get("grid", {}), tuple(grid) or ("(no grid)",))
    _check_grid_size(check, "quick", {**{name: list(values) for name, values in grid.items()}, **quick_grid_table},
                     quick.get("seeds", seeds))
    quick_grid = _grid(check, "quick.grid", quick_grid_table, {**base, **quick_base})
    bound = _bound(check, "bound", data["bound"]) if "bound" in data else None
    quick_bound = _bound(check, "quick.bound", quick.get("bound", {}))
    if "bound" in quick and bound is None:
        check.fail("quick.bound", "needs a [bound] table in the study (the full variant solves no bound)")
    figures_raw = data.get("figures", [])
    if not isinstance(figures_raw, list):
        check.fail("figures", f"must be an array of tables ([[figures]]), got {_describe(figures_raw)}")
    extra = _extra(check, data.get("extra", []), grid)
    quick_extra = _extra(check, quick["extra"], grid, "quick.extra") if "extra" in quick else None
    figures = tuple(_figure(check, i, f, grid, extra, base) for i, f in enumerate(figures_raw))
    for i, figure in enumerate(figures):
        needs_bound = [m for m in figure.y if m in BOUND_METRICS]
        if needs_bound and bound is None:
            check.fail(f"figures[{i}].y", f"{needs_bound[0]} needs a [bound] table in the study (bound = {{ time_limit = S }})")
    names = [f.name for f in figures]
    for i, figure_name in enumerate(names):
        if figure_name in names[:i]:
            check.fail(f"figures[{i}].name", f"must be unique in the study; {figure_name!r} repeats")
    spec = StudySpec(
        name=name or path.stem,
        path=path,
        title=title,
        description=description,
        seed=seed,
        seeds=seeds,
        base=base,
        grid=grid,
        scale_field=scale_field,
        figures=figures,
        quick_override={"seeds": quick.get("seeds", seeds), "base": quick_base, "grid": quick_grid,
                        "bound": quick_bound, **({} if quick_extra is None else {"extra": quick_extra})},
        extra=extra,
        bound=bound,
    )
    spec = render_texts(spec)  # (and the quick variant below: a placeholder unknown to either fails here)
    for variant in (spec, spec.variant(True)):
        if variant.task_count > MAX_TASKS:
            check.fail("grid" if variant is spec else "quick", f"gives {variant.task_count} tasks; at most {MAX_TASKS}")
        for point in variant.points:  # combined values (e.g. the scaled field) must be valid too
            try:
                variant.scenario(point)
            except ParameterError as exc:
                where = "quick" if variant.quick else "grid"
                check.fail(where, f"grid point {point}: {exc.parameter}: {exc.message}")
    return spec


def load_study(path: str | os.PathLike) -> StudySpec:
    """Read and validate a study file.

    Raises
    ------
    ParameterError
        ``FILE: KEY`` and what is allowed, for an unreadable file, a TOML syntax error, an unknown key, a
        wrong type or an out-of-range value.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(str(path), f"must be a readable UTF-8 study file ({exc.__class__.__name__})") from None
    data = parse_toml(path, text)
    try:
        return parse_study(data, path)
    except RecursionError:
        raise ParameterError(str(path), f"nests tables or arrays too deeply (at most {MAX_NESTING} levels)") from None


#: Deepest nesting of tables and arrays a study file may have.
MAX_NESTING = 20


def _depth(value, limit: int) -> int:
    """Nesting depth of ``value`` (lists and dicts), without recursion; stops counting past ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_toml(path: Path, text: str) -> dict:
    """Parse the TOML ``text`` of the study file ``path``; a syntax error or nesting deeper than
    :data:`MAX_NESTING` is a :class:`ParameterError` naming the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(str(path), f"is not valid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or _depth(data, MAX_NESTING) > MAX_NESTING:
        raise ParameterError(str(path), f"nests tables or arrays too deeply (at most {MAX_NESTING} levels)")
    return data


def studies_dir() -> Path:
    """``studies/`` in the current directory, else the repository copy next to the package source."""
    here = Path.cwd() / "studies"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "studies"


def find_studies(directory: str | os.PathLike | None = None, kind: str | None = None) -> list[Path]:
    """Study files (``*.toml``) in ``directory`` (default :func:`studies_dir`), sorted by name.

    ``kind=None``: the files this module parses (every kind but ``"partition"``); ``kind="partition"``:
    the partition studies read by :mod:`wsnmec.study.partition` (top-level ``kind = "partition"``)."""
    from .kinds import study_kind

    directory = Path(directory) if directory is not None else studies_dir()
    files = sorted(directory.glob("*.toml"))
    if kind is None:
        return [p for p in files if study_kind(p) != "partition"]
    return [p for p in files if study_kind(p) == kind]


def resolve_study_file(name: str | os.PathLike) -> Path:
    """A study file given as a path, or as a name in :func:`studies_dir` (with or without ``.toml``)."""
    path = Path(name)
    if path.is_file():
        return path
    if path.parent == Path("."):
        for candidate in (studies_dir() / path.name, studies_dir() / f"{path.name}.toml"):
            if candidate.is_file():
                return candidate
    known = ", ".join(p.stem for p in find_studies()) or "none"
    raise ParameterError("FILE", f"must be a study file or the name of one in studies/ ({known}); got {str(name)!r}")
