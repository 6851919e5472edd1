"""A newcomer's study kind and figure kind, each added in a temporary package as one file plus one registration
(:mod:`wsnmec.study.kinds`): the study kind runs through ``wsnmec study run``, ``study show`` and ``study figures``
on the shared runner, task cache (checksums, claims) and local worker processes; a figure kind added to an
existing kind's table draws a figure."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
import uuid

import pandas as pd
import pytest
from click.testing import CliRunner
from plugin_examples import add_entry_points

from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.study import kinds
from wsnmec.study.spec import load_study

#: The newcomer's whole study kind: one file (coin flips with a bias; a histogram figure kind).
KIND_FILE = '''
import numpy as np
import pandas as pd

from wsnmec.study.kinds import FigureKind, StudyKind
from wsnmec.study.options import fail
from wsnmec.study.spec import FigureSpec


def parse_histogram(path, index, table, grid):
    y = table.get("y")
    if y not in ("heads", "longest_run"):
        fail(path, f"figures[{index}].y", f"must be heads or longest_run, got {y!r}")
    return FigureSpec(name=table["name"], kind="histogram", x=y, y=(y,), title=table.get("title", ""))


def draw_histogram(figure, spec, rounds, summary):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    for bias, group in summary.groupby("bias", sort=False):
        ax.hist(group[figure.y[0]], alpha=0.5, label=f"bias {bias}")
    ax.legend()
    return fig


def read_histogram(figure, run):
    means = run.summary.groupby("bias", sort=False)[figure.y[0]].mean()
    return "mean " + ", ".join(f"bias {b}: {m:.2f}" for b, m in means.items()) + "."


class CoinFlips(StudyKind):
    """Flip a biased coin ``flips`` times per task."""

    parameters = {"flips": "int", "bias": "number", "case": "case"}
    figure_kinds = {"histogram": FigureKind(parse=parse_histogram, draw=draw_histogram, reading=read_histogram,
                                            keys=("name", "kind", "y", "title"))}

    def check_options(self, options):
        from wsnmec.errors import check_float, check_int

        check_int("flips", options.get("flips", 10), 1)
        check_float("bias", options.get("bias", 0.5), 0.0, 1.0)

    def compute(self, options, seed):
        rng = np.random.default_rng(seed)
        heads = rng.random(options.get("flips", 10)) < options.get("bias", 0.5)
        runs = np.diff(np.flatnonzero(np.r_[True, heads[1:] != heads[:-1], True]))
        rounds = pd.DataFrame({"flip": np.arange(len(heads)), "head": heads.astype(np.int64)})
        return rounds, pd.DataFrame({"heads": [int(heads.sum())], "longest_run": [int(runs.max())]})


KIND = CoinFlips()
'''

STUDY = '''
kind = "{kind}"
title = "Coin flips ({{seeds}} seeds)"
seed = 5
seeds = 3

[base]
flips = 40

[grid]
bias = [0.2, 0.8]

[quick]
seeds = 2

[[figures]]
name = "heads"
kind = "histogram"
y = "heads"
'''


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The newcomer's package: one module on sys.path (a unique name: no stale sys.modules)."""
    name = f"coinkind_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(KIND_FILE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def study_file(tmp_path, kind: str):
    path = tmp_path / "coins.toml"
    path.write_text(STUDY.format(kind=kind), encoding="utf-8")
    return path


def test_a_plugin_study_kind_runs_shows_and_draws_through_the_study_commands(tmp_path, plugin):
    path, results, out = study_file(tmp_path, f"{plugin}:KIND"), tmp_path / "results", tmp_path / "figures"
    first = invoke("study", "run", path, "--quick", "--jobs", "1", "--results", results)
    assert first.exit_code == 0, first.output
    assert "coins (quick): 4 tasks, 0 from cache, 4 computed" in first.stdout

    # the shared cache: one Parquet file per task, sealed tables; a damaged task file is recomputed alone
    tasks = sorted((results / "coins" / "tasks").glob("*.parquet"))
    assert len(tasks) == 4
    tasks[0].write_bytes(tasks[0].read_bytes()[:-40])
    repaired = invoke("study", "run", path, "--quick", "--jobs", "1", "--results", results)
    assert repaired.exit_code == 0 and "4 tasks, 3 from cache, 1 computed" in repaired.stdout, repaired.output
    summary = pd.read_parquet(results / "coins" / "quick" / "summary.parquet")
    assert list(summary["bias"]) == [0.2, 0.2, 0.8, 0.8]
    assert summary.groupby("bias")["heads"].mean()[0.8] > summary.groupby("bias")["heads"].mean()[0.2]
    assert ((summary["heads"] >= 0) & (summary["heads"] <= 40)).all()

    shown = invoke("study", "show", path, "--results", results)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "coins: Coin flips (2 seeds) (quick variant; 4 of 4 tasks)"
    mean = summary[summary["bias"] == 0.2]["heads"].mean()
    assert lines[1].startswith("  bias=0.2") and f"heads {mean:.6g}" in lines[1]

    drawn = invoke("study", "figures", path, "--quick", "--jobs", "1", "--out", out, "--results", results)
    assert drawn.exit_code == 0, drawn.output
    assert "4 tasks, 4 from cache, 0 computed" in drawn.stdout
    assert (out / "coins-heads.png").stat().st_size > 0 and (out / "coins-heads.pdf").stat().st_size > 0


def test_a_plugin_study_kind_as_an_entry_point_and_its_bad_input(tmp_path, plugin, monkeypatch):
    name = f"coins-{uuid.uuid4().hex[:6]}"
    add_entry_points(monkeypatch, [importlib.metadata.EntryPoint(name, f"{plugin}:KIND", kinds.ENTRY_POINT_GROUP)])
    spec = load_study(study_file(tmp_path, name))
    assert spec.kind == name and kinds.kind_of(spec).reference == f"{plugin}:KIND"
    assert spec.title == "Coin flips (3 seeds)" and spec.variant(True).task_count == 4
    tasks = kinds.kind_of(spec).expand_tasks(spec)
    assert len(tasks) == 6 and len({t.key for t in tasks}) == 6  # the seed and the options are in the key
    result, seconds = kinds.kind_of(spec).task_function(tasks[0].scenario, tasks[0].seed)
    assert len(result.rounds) == 40 and seconds >= 0
    again, _ = kinds.kind_of(spec).task_function(tasks[0].scenario, tasks[0].seed)
    assert again.summary.equals(result.summary)  # seeded: the same task gives the same result

    bad = study_file(tmp_path, f"{plugin}:KIND")
    bad.write_text(bad.read_text(encoding="utf-8").replace("bias = [0.2, 0.8]", "bias = [0.2, 1.5]"), encoding="utf-8")
    with pytest.raises(ParameterError, match="grid") as error:
        load_study(bad)
    assert "bias" in error.value.message
    bad.write_text(STUDY.format(kind=f"{plugin}:NOPE"), encoding="utf-8")
    with pytest.raises(ParameterError, match="has no attribute 'NOPE'"):
        load_study(bad)
    bad.write_text(STUDY.format(kind="nosuchkind"), encoding="utf-8")
    result = invoke("study", "show", bad)
    assert result.exit_code == 2 and "kind: must be one of lifetime, offload, partition" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


FIGURE_KIND = '''
from wsnmec.study.kinds import FigureKind
from wsnmec.study.spec import FigureSpec


def parse(check, key, name, table, grid, extra, base):
    return FigureSpec(name=name, kind="fnd-histogram", x="fnd", y=("fnd",), title=check.string(f"{key}.title", table.get("title", "")))


def draw(figure, spec, rounds, summary):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.hist(summary["fnd"].dropna())
    return fig


def reading(figure, run):
    return f"FND of {len(run.summary)} tasks."


FND_HISTOGRAM = FigureKind(parse=parse, draw=draw, reading=reading, keys=("name", "kind", "title"))
'''

LIFETIME_STUDY = '''
title = "FND histogram"
seeds = 2

[base]
nodes = 10
e0 = 0.05
rounds = 60

[grid]
protocol = ["leach"]

[[figures]]
name = "fnd"
kind = "fnd-histogram"
'''


def test_a_figure_kind_is_one_entry_in_an_existing_kinds_table(tmp_path, monkeypatch):
    """A figure kind added to the lifetime kind's table (one registration) is parsed, drawn and indexed."""
    module = f"fndhist_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(FIGURE_KIND), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "fnd.toml"
    path.write_text(LIFETIME_STUDY, encoding="utf-8")
    with pytest.raises(ParameterError, match="must be one of line, metric, claims, map"):
        load_study(path)
    figure_kind = __import__(module).FND_HISTOGRAM
    kinds.register_figure_kind("lifetime", "fnd-histogram", figure_kind)
    try:
        assert load_study(path).figures[0].kind == "fnd-histogram"
        out, results = tmp_path / "figures", tmp_path / "results"
        drawn = invoke("study", "figures", path, "--jobs", "1", "--out", out, "--results", results)
        assert drawn.exit_code == 0, drawn.output
        assert (out / "fnd-fnd.png").stat().st_size > 0
    finally:
        kinds.unregister_figure_kind("lifetime", "fnd-histogram")
        sys.modules.pop(module, None)
    with pytest.raises(ParameterError, match="must be one of line, metric, claims, map"):
        load_study(path)


# --- every registered study kind (generated from the registry: a new kind is checked without being listed) --


@pytest.mark.parametrize("name", list(kinds.STUDY_KINDS))
def test_every_registered_kind_resolves_and_its_figure_kinds_are_complete(name):
    kind = kinds.study_kind_object(name)
    assert isinstance(kind, kinds.StudyKind) and kind.name == name and kind.reference == kinds.STUDY_KINDS[name]
    assert kinds.study_kind_object(name) is kind  # imported once
    for figure_name, figure_kind in kind.figure_kinds.items():
        assert callable(figure_kind.parse) and callable(figure_kind.draw) and callable(figure_kind.reading)
        assert {"name", "kind"} <= set(figure_kind.keys), figure_name
    if not kind.separate:
        assert kind.figure_kinds and callable(kind.task_function)


def test_the_builtin_kinds_tables_are_the_documented_figure_kinds():
    from wsnmec.study import offload, spec

    assert tuple(kinds.study_kind_object("lifetime").figure_kinds) == spec.FIGURE_KIND_NAMES
    assert tuple(kinds.study_kind_object("offload").figure_kinds) == offload.OFFLOAD_FIGURE_KIND_NAMES
    for name, kind in (("lifetime", spec.FIGURE_KIND_KEYS), ("offload", offload.FIGURE_KIND_KEYS)):
        assert {k: v.keys for k, v in kinds.study_kind_object(name).figure_kinds.items()} == kind


def test_a_shipped_study_of_each_kind_is_read_by_its_kind(tmp_path):
    from wsnmec.study.spec import find_studies, studies_dir

    seen = {}
    for path in find_studies(studies_dir()):
        spec = load_study(path)
        seen.setdefault(spec.kind, spec)
        assert kinds.kind_of(spec).name == spec.kind
    assert set(seen) == {"lifetime", "offload"}
    with pytest.raises(ParameterError, match="'partition' studies are read by wsnmec.study.partition"):
        load_study(find_studies(studies_dir(), kind="partition")[0])


def test_kinds_pickle_by_reference(plugin):
    import pickle

    kind = kinds.study_kind_object(f"{plugin}:KIND")
    assert pickle.loads(pickle.dumps(kind)) is kind
    lazy = kinds.Lazy("wsnmec.study.figures:line_figure")
    assert pickle.loads(pickle.dumps(lazy)).function is lazy.function


def test_a_kind_whose_adjust_summary_predates_jobs_is_called_without_them():
    """The runner passes ``jobs`` to ``adjust_summary`` only when the kind's method takes them."""
    from wsnmec.study.runner import _adjusted_summary

    class Old:
        def adjust_summary(self, directory, spec, tasks, summary, stored):
            return ("old", stored)

    class New:
        def adjust_summary(self, directory, spec, tasks, summary, stored, jobs=None):
            return ("new", stored, jobs)

    class Open:
        def adjust_summary(self, directory, spec, tasks, summary, stored, **extra):
            return ("open", extra)

    assert _adjusted_summary(Old(), None, None, [], None, stored=True, jobs=3) == ("old", True)
    assert _adjusted_summary(New(), None, None, [], None, stored=False, jobs=3) == ("new", False, 3)
    assert _adjusted_summary(Open(), None, None, [], None, stored=False, jobs=2) == ("open", {"jobs": 2})
