"""Study files of option-grid kinds: ``[base]``, ``[grid]`` (with ``case`` tables), ``[quick]`` and
``[[figures]]`` over a kind's table of options (:attr:`wsnmec.study.kinds.StudyKind.parameters`).

Offloading studies (:mod:`wsnmec.study.offload`) and plug-in study kinds read their files here::

    kind = "offload"           # or a plug-in kind: "mypackage.mykind:KIND"
    title = "..."
    seed = 1
    seeds = 10

    [base]                     # any option of the kind (its `parameters` table)
    devices = 10

    [grid]                     # swept options (lists); `case` values are tables of options with a name
    batch_norm = [false, true]

    [quick]                    # what --quick changes: seeds, base values, grid lists
    seeds = 2

    [[figures]]                # read by the kind's figure kinds (name, kind, and the figure kind's keys)
    name = "utility"
    kind = "frames"

Every problem is a :class:`~wsnmec.errors.ParameterError` whose parameter is ``FILE: KEY``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ParameterError
from ..seeding import MAX_SEED

#: Top-level keys of an option-grid study file.
TOP_KEYS = ("kind", "title", "description", "seed", "seeds", "base", "grid", "quick", "figures")
#: Keys of its ``[quick]`` table.
QUICK_KEYS = ("seeds", "base", "grid")
MAX_SEEDS = 10_000
#: The TOML types an option may take (the values of a kind's ``parameters`` table).
VALUE_TYPES = ("str", "int", "number", "bool", "table", "int_or_n", "int_list", "number_list", "pair_list",
               "case")


@dataclass(frozen=True)
class OptionsStudySpec:
    """A validated option-grid study (the attributes the study runner and index read)."""

    name: str
    path: Path
    title: str
    description: str
    seed: int
    seeds: int
    base: dict
    grid: dict
    figures: tuple
    quick: bool = False
    quick_override: dict = field(default_factory=dict)
    scale_field: bool = False
    kind: str = ""
    templates: dict = field(default_factory=dict)

    @property
    def points(self) -> list[dict]:
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*(self.grid[n] for n in names))]

    @property
    def task_count(self) -> int:
        return len(self.points) * self.seeds

    def options(self, point: dict) -> dict:
        """The task options of a grid point: base, the point, ``case`` tables merged (name dropped)."""
        raw = dict(self.base)
        for key, value in point.items():
            if key == "case":
                raw.update({k: v for k, v in value.items() if k != "name"})
            else:
                raw[key] = value
        return raw

    def variant(self, quick: bool) -> "OptionsStudySpec":
        if quick == self.quick:
            return self
        if not quick:
            raise ValueError("the full study cannot be derived from its quick variant; load the file again")
        from .texts import render_texts

        override = self.quick_override
        return render_texts(replace(self, seeds=override.get("seeds", self.seeds),
                                    base={**self.base, **override.get("base", {})},
                                    grid={**self.grid, **override.get("grid", {})}, quick=True))

    def text_values(self) -> dict:
        """Placeholders of the study's texts (:mod:`wsnmec.study.spec`): ``seeds``, ``seed``, ``tasks``,
        every ``[base]`` parameter and each swept parameter's values."""
        from .texts import common_text_values, grid_text_values

        return {**common_text_values(self), **self.base, **grid_text_values(self.grid)}


def fail(path, key, message):
    raise ParameterError(f"{path}: {key}", message)


def _article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def check_value(path, key, name, value, types: dict, kind_name: str):
    """Check the TOML type of the option ``name`` (its type in ``types``); a ``case`` table's options too."""
    kind = types[name]
    num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": num(value),
        "bool": isinstance(value, bool),
        "table": isinstance(value, dict) and all(num(v) for v in value.values()),
        "int_or_n": value == "n" or (isinstance(value, int) and not isinstance(value, bool)),
        "int_list": isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
        "number_list": isinstance(value, list) and all(num(v) for v in value),
        "pair_list": isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 and all(num(v) for v in p) for p in value),
        "case": isinstance(value, dict) and isinstance(value.get("name"), str),
    }[kind]
    if not ok:
        fail(path, key, f"must be {kind.replace('_', ' ')}, got {value!r}")
    if kind == "case":
        for sub, v in value.items():
            if sub == "name":
                continue
            if sub not in types or sub == "case":
                fail(path, f"{key}.{sub}", f"is not {_article(kind_name)} {kind_name} parameter; allowed: "
                                           f"{', '.join(k for k in types if k != 'case')}")
            check_value(path, f"{key}.{sub}", sub, v, types, kind_name)
    return value


def check_table(path, key, value, allowed):
    if not isinstance(value, dict):
        fail(path, key, f"must be a table, got {value!r}")
    for name in value:
        if name not in allowed:
            fail(path, f"{key}.{name}" if key else name, f"is not a known key; allowed: {', '.join(allowed)}")
    return value


def _params(path, key, table, types, kind_name):
    check_table(path, key, table, tuple(k for k in types if k != "case"))
    for name, value in table.items():
        check_value(path, f"{key}.{name}", name, value, types, kind_name)
    return dict(table)


def _grid(path, key, table, types, kind_name):
    check_table(path, key, table, tuple(types))
    grid = {}
    for name, values in table.items():
        if not isinstance(values, list) or not values:
            fail(path, f"{key}.{name}", "must be a non-empty list of values")
        for i, v in enumerate(values):
            check_value(path, f"{key}.{name}[{i}]", name, v, types, kind_name)
        labels = [v["name"] if name == "case" else repr(v) for v in values]
        if len(set(labels)) != len(labels):
            fail(path, f"{key}.{name}", "must not repeat a value (case names must differ)")
        grid[name] = tuple(values)
    return grid


def parse_figure(kind, path, index, table, grid):
    """One ``[[figures]]`` table of an option-grid study: ``name``, ``kind`` (one of the study kind's
    figure kinds) and the keys of that figure kind, read by its ``parse(path, index, table, grid)``."""
    key = f"figures[{index}]"
    every = tuple(dict.fromkeys(k for figure_kind in kind.figure_kinds.values() for k in figure_kind.keys))
    check_table(path, key, table, every or ("name", "kind"))
    for required in ("name", "kind"):
        if required not in table:
            fail(path, f"{key}.{required}", "is missing")
    names = tuple(kind.figure_kinds)
    if table["kind"] not in names:
        fail(path, f"{key}.kind", f"must be one of {', '.join(names)} in {_article(kind.name)} {kind.name} study; "
                                  f"got {table['kind']!r}")
    figure_kind = kind.figure_kinds[table["kind"]]
    for name in table:
        if name not in figure_kind.keys:
            fail(path, f"{key}.{name}", f"is not used by a {table['kind']} figure; its keys: {', '.join(figure_kind.keys)}")
    return figure_kind.parse(path, index, table, grid)


def parse_options_study(kind, data: dict, path: Path, name: str | None = None, spec_class=OptionsStudySpec):
    """Validate a parsed study file of the option-grid kind ``kind`` (module docstring); each grid point's
    options (full and quick) are checked by ``kind.check_options``."""
    types, kind_name = kind.parameters, kind.name
    check_table(path, "", data, TOP_KEYS)
    seed, seeds = data.get("seed", 0), data.get("seeds", 1)
    for key, value, hi in (("seed", seed, MAX_SEED), ("seeds", seeds, MAX_SEEDS)):
        if isinstance(value, bool) or not isinstance(value, int) or not (0 if key == "seed" else 1) <= value <= hi:
            fail(path, key, f"must be an integer in [{0 if key == 'seed' else 1}, {hi}], got {value!r}")
    base = _params(path, "base", data.get("base", {}), types, kind_name)
    grid = _grid(path, "grid", data.get("grid", {}), types, kind_name)
    quick = check_table(path, "quick", data.get("quick", {}), QUICK_KEYS)
    quick_base = _params(path, "quick.base", quick.get("base", {}), types, kind_name)
    quick_grid = _grid(path, "quick.grid", quick.get("grid", {}), types, kind_name)
    figures = tuple(kind.parse_figure(path, i, f, grid) for i, f in enumerate(data.get("figures", [])))
    spec = spec_class(
        name=name or path.stem, path=path, title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")), seed=seed, seeds=seeds, base=base, grid=grid,
        figures=figures, quick_override={"seeds": quick.get("seeds", seeds), "base": quick_base, "grid": quick_grid},
        kind=kind_name,
    )
    from .texts import render_texts

    spec = render_texts(spec)
    for variant in (spec, spec.variant(True)):
        for point in variant.points:
            try:
                kind.check_options(variant.options(point))
            except ParameterError as exc:
                where = "quick" if variant.quick else "grid"
                fail(path, where, f"point {point}: {exc.parameter}: {exc.message}")
    return spec
