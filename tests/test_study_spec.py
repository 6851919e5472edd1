"""Study files: loading, grid expansion and validation errors (one line naming the file and the key)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.clustering.registry import CLUSTERING_POLICIES
from wsnmec.errors import ParameterError
from wsnmec.seeding import replica_seeds
from wsnmec.study.runner import expand_tasks
from wsnmec.study.spec import find_studies, load_study, resolve_study_file

GOOD = """
title = "tiny"
seed = 5
seeds = 2
[base]
nodes = 10
rounds = 40
[grid]
protocol = ["leach", "direct"]
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
"""


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path):
    spec = load_study(write(tmp_path, GOOD))
    assert spec.name == "study"
    assert spec.seeds == 2 and spec.seed == 5
    assert spec.grid == {"protocol": ("leach", "direct")}
    assert spec.points == [{"protocol": "leach"}, {"protocol": "direct"}]
    assert spec.figures[0].kind == "line" and spec.figures[0].y == ("alive",)


def test_range_stop_is_included_and_quick_overrides(tmp_path):
    text = GOOD.replace('protocol = ["leach", "direct"]', 'nodes = { start = 50, stop = 200, step = 50 }\np = { start = 0.05, stop = 0.15, step = 0.05 }')
    text = text.replace('hue = "protocol"', 'hue = "nodes"\nstyle = "p"')
    text += "\n[quick]\nseeds = 1\nbase = { rounds = 10 }\ngrid = { nodes = [20] }\n"
    spec = load_study(write(tmp_path, text))
    assert spec.grid["nodes"] == (50, 100, 150, 200)
    assert spec.grid["p"] == pytest.approx((0.05, 0.1, 0.15))
    quick = spec.variant(True)
    assert quick.quick and quick.seeds == 1
    assert quick.grid["nodes"] == (20,) and quick.grid["p"] == spec.grid["p"]
    assert quick.base["rounds"] == 10 and spec.base["rounds"] == 40
    assert quick.task_count == 3 and spec.task_count == 12 * 2


def test_quick_extra_replaces_the_extra_points(tmp_path):
    text = GOOD.replace('protocol = ["leach", "direct"]', 'protocol = ["leach", "direct"]\nsink = [[5, 5], [5, 20]]')
    text = text.replace("[[figures]]", '[[extra]]\nprotocol = "deec"\nsink = [5, 20]\n[[figures]]')
    text = text.replace('hue = "protocol"', 'hue = "protocol"\nstyle = "sink"')
    spec = load_study(write(tmp_path, text))
    assert spec.points[-1] == {"protocol": "deec", "sink": [5, 20]} and len(spec.points) == 5
    assert spec.variant(True).points == spec.points  # no quick.extra: the quick variant keeps the extra points
    quick = load_study(write(tmp_path, text + "\n[quick]\nextra = []\n")).variant(True)
    assert len(quick.points) == 4 and all(point["protocol"] != "deec" for point in quick.points)
    with pytest.raises(ParameterError) as info:
        load_study(write(tmp_path, text + '\n[quick]\nextra = [{ protocol = "pegasis" }]\n'))
    assert info.value.parameter.endswith(": quick") and "pegasis" in info.value.message


def test_tasks_use_common_seeds_and_scaled_field(tmp_path):
    text = GOOD.replace('protocol = ["leach", "direct"]', "nodes = [25, 100, 400]")
    text = text.replace('hue = "protocol"', 'hue = "nodes"').replace("nodes = 10\n", "nodes = 100\nfield = [100, 50]\n")
    text = text.replace("seeds = 2", "seeds = 3\nscale_field = true")
    spec = load_study(write(tmp_path, text))
    tasks = expand_tasks(spec)
    seeds = replica_seeds(5, 3)
    assert [t.seed for t in tasks] == seeds * 3
    fields = {t.point["nodes"]: t.scenario.field for t in tasks}
    assert fields[25] == pytest.approx((50.0, 25.0))
    assert fields[400] == pytest.approx((200.0, 100.0))
    for nodes, (width, height) in fields.items():  # density of the base: 100 nodes per 100 m x 50 m
        assert nodes / (width * height) == pytest.approx(100 / 5000)
        sink = next(t.scenario.sink_position for t in tasks if t.point["nodes"] == nodes)
        assert sink == pytest.approx((width / 2, height / 2))
    assert len({t.key for t in tasks}) == len(tasks)


@pytest.mark.parametrize(
    "edit, key, allowed",
    [
        # unknown keys
        (("seeds = 2", "seeds = 2\ncolour = 'red'"), "colour", "allowed"),
        (("nodes = 10", "nodes = 10\nnode_count = 5"), "base.node_count", "allowed"),
        (('name = "alive"', 'name = "alive"\nlegend = "top"'), "figures[0].legend", "allowed"),
        (("[grid]", "[grid]\nspeed = [1, 2]"), "grid.speed", "allowed"),
        # wrong types
        (("seeds = 2", 'seeds = "two"'), "seeds", "integer"),
        (("nodes = 10", 'nodes = "ten"'), "base.nodes", "integer"),
        (("nodes = 10", "nodes = 10.5"), "base.nodes", "integer"),
        (('protocol = ["leach", "direct"]', 'protocol = "leach"'), "grid.protocol", "list"),
        (('protocol = ["leach", "direct"]', 'protocol = ["leach", 3]'), "grid.protocol[1]", "string"),
        (('y = "alive"', "y = 3"), "figures[0].y", "column"),
        # out-of-range values
        (("seeds = 2", "seeds = 0"), "seeds", "[1, 10000]"),
        (("seed = 5", "seed = -1"), "seed", "[0,"),
        (("nodes = 10", "nodes = 0"), "base.nodes", ">= 1"),
        (('protocol = ["leach", "direct"]', 'protocol = ["leach", "pegasis"]'), "grid.protocol[1]", "direct, leach, leach-dchs"),
        (('protocol = ["leach", "direct"]', "p = [0.1, 1.5]"), "grid.p[1]", "(0, 1]"),
        (('protocol = ["leach", "direct"]', "nodes = { start = 10, stop = 5, step = 1 }"), "grid.nodes.stop", ">= start"),
        (('protocol = ["leach", "direct"]', "nodes = { start = 10, stop = 50, step = 0 }"), "grid.nodes.step", "> 0"),
        (('kind = "line"', 'kind = "pie"'), "figures[0].kind", "line, metric"),
        (('y = "alive"', 'y = "happiness"'), "figures[0].y", "alive"),
        (('hue = "protocol"', 'hue = "radio"'), "figures[0].hue", "protocol"),
        (('hue = "protocol"', ""), "figures[0]", "swept parameter 'protocol'"),
        (("seeds = 2", "seeds = 2\nscale_field = 1"), "scale_field", "true or false"),
        # cases, extra points, panels and reference lines (issue 16)
        (('protocol = ["leach", "direct"]', 'protocol = ["leach", "direct"]\ncase = [{ nodes = 5 }]'),
         "grid.case[0]", "non-empty string name"),
        (('protocol = ["leach", "direct"]', 'protocol = ["leach", "direct"]\ncase = [{ name = "a", colour = 1 }]'),
         "grid.case[0].colour", "not a known key"),
        (('protocol = ["leach", "direct"]', 'protocol = ["leach", "direct"]\ncase = [{ name = "a", nodes = 0 }]'),
         "grid.case[0].nodes", ">= 1"),
        (('protocol = ["leach", "direct"]',
          'protocol = ["leach", "direct"]\ncase = [{ name = "a", nodes = 5 }, { name = "a", nodes = 6 }]'),
         "grid.case[1].name", "repeats"),
        (("[[figures]]", '[[extra]]\nnodes = 5\n[[figures]]'), "extra[0].nodes", "not a known key"),
        (("[[figures]]", '[[extra]]\nprotocol = "pegasis"\n[[figures]]'), "grid", "pegasis"),
        (('hue = "protocol"', 'hue = "protocol"\npanel = "protocol"'), "figures[0].panel", "only used by metric"),
        (('hue = "protocol"', 'hue = "protocol"\nreference = "leach"'), "figures[0].reference", "metric figures"),
    ],
)
def test_bad_study_file_is_one_line_naming_file_and_key(tmp_path, edit, key, allowed):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ParameterError) as info:
        load_study(path)
    assert info.value.parameter == f"{path}: {key}"
    assert allowed in info.value.message
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and key in lines[0] and allowed in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_toml_syntax_error_and_missing_file(tmp_path):
    path = write(tmp_path, "title = 'unterminated\n")
    result = CliRunner().invoke(cli.main, ["study", "show", str(path)])
    assert result.exit_code == 2 and str(path) in result.stderr and "TOML" in result.stderr
    result = CliRunner().invoke(cli.main, ["study", "run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "FILE" in result.stderr and "nope.toml" in result.stderr


def test_bad_jobs_is_rejected(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli.main, ["study", "run", str(path), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.stderr


def test_shipped_studies_are_valid_and_quick_is_smaller():
    paths = find_studies()
    assert {p.stem for p in paths} >= {"classic", "scaling", "harvest", "battery", "baselines"}
    for path in paths:
        spec = load_study(path)
        quick = spec.variant(True)
        assert spec.figures or spec.name == "suite", path  # the scenario suite is tables only
        assert quick.task_count < spec.task_count, path
        if getattr(spec, "kind", "lifetime") == "offload":  # options dicts (tests/test_study_offload.py)
            continue
        for task in expand_tasks(quick)[:3]:
            assert math.isfinite(task.scenario.e0)
    assert resolve_study_file("classic") == resolve_study_file("classic.toml")
    classic = load_study(resolve_study_file("classic"))
    assert classic.seeds == 30 and set(classic.grid["semantics"]) == {"clean", "matlab"}
    scaling = load_study(resolve_study_file("scaling"))
    assert scaling.scale_field and min(scaling.grid["nodes"]) == 50 and max(scaling.grid["nodes"]) == 1000
    baselines = load_study(resolve_study_file("baselines"))
    assert baselines.seeds == 30 and baselines.variant(True).seeds == 5 and baselines.base["e0"] == 0.5
    assert {"direct", "leach", "leach-dchs"} <= set(baselines.grid["protocol"]) <= set(CLUSTERING_POLICIES)
    assert baselines.grid["sink"] == ([50, 50], [50, 175])
    assert [(f.kind, f.y, f.hue, f.style) for f in baselines.figures] == [("line", ("alive",), "protocol", "sink")]


def test_study_list_names_every_study():
    result = CliRunner().invoke(cli.main, ["study", "list"])
    assert result.exit_code == 0, result.output
    for name in ("classic", "scaling", "harvest", "battery", "baselines"):
        assert name in result.output


def test_radio_constants_can_be_set_and_swept(tmp_path):
    text = GOOD.replace("rounds = 40", "rounds = 40\ne_da = 0.0").replace(
        'protocol = ["leach", "direct"]', 'eps_fs = [1e-11, 2e-11]\nprotocol = ["leach", "direct"]'
    ).replace('hue = "protocol"', 'hue = "protocol"\nstyle = "eps_fs"')
    spec = load_study(write(tmp_path, text))
    tasks = expand_tasks(spec)
    assert {task.scenario.eps_fs for task in tasks} == {1e-11, 2e-11}
    assert all(task.scenario.radio_model().e_da == 0.0 for task in tasks)
    bad = write(tmp_path, GOOD.replace("rounds = 40", 'rounds = 40\ne_elec = "fast"'), "bad.toml")
    with pytest.raises(ParameterError) as info:
        load_study(bad)
    assert "bad.toml" in str(info.value) and "e_elec" in str(info.value)
