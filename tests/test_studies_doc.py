"""docs/studies.md against the parsers' own tables of keys, and `wsnmec study list` with invalid files
(issue 19: the study-file reference)."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.sim.scenario import Scenario
from wsnmec.study import offload, partition, spec

DOC = Path(__file__).resolve().parents[1] / "docs" / "studies.md"
MARKER = re.compile(r"^<!-- keys: (\S+) -->$")


def documented_tables() -> dict:
    """Marker name -> the rows of the table under it (each a list of its cells, backticks kept)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    tables = {}
    for index, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        assert match.group(1) not in tables, f"{match.group(1)} is documented twice"
        rows = []
        for row in lines[index + 3:]:  # (after the header and the separator)
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]])
        tables[match.group(1)] = rows
    return tables


def code_tables() -> dict:
    """Marker name -> the keys the parser of that table accepts (its own constants)."""
    tables = {
        "lifetime.top": spec.TOP_KEYS,
        "lifetime.base": Scenario.keys(),
        "lifetime.grid": (spec.CASE,),  # besides the scenario parameters of lifetime.base
        "lifetime.range": spec.RANGE_KEYS,
        "lifetime.quick": spec.QUICK_KEYS,
        "lifetime.bound": spec.BOUND_KEYS,
        "lifetime.figures": spec.FIGURE_KEYS,
        "lifetime.primary": spec.PRIMARY_KEYS,  # besides the scenario parameters
        "offload.top": offload.TOP_KEYS,
        "offload.params": tuple(offload.OFFLOAD_TYPES),
        "offload.quick": offload.QUICK_KEYS,
        "offload.figures": offload.FIGURE_KEYS,
        "partition.top": partition.TOP_KEYS,
        "partition.quick": partition.QUICK_KEYS,
    }
    tables.update({f"lifetime.figure.{kind}": keys for kind, keys in spec.FIGURE_KIND_KEYS.items()})
    tables.update({f"offload.figure.{kind}": keys for kind, keys in offload.FIGURE_KIND_KEYS.items()})
    tables.update({f"partition.{name}": partition.SECTION_KEYS[name] for name in partition.SECTIONS})
    return tables


def key_of(row) -> str:
    match = re.fullmatch(r"`([a-z0-9_-]+)`", row[0])
    assert match, f"first cell {row[0]!r} is not a `key`"
    return match.group(1)


def test_every_table_of_keys_is_documented_and_nothing_else():
    documented, code = documented_tables(), code_tables()
    assert set(documented) == set(code), "a table is missing from docs/studies.md or documented but not in the code"
    for name, keys in code.items():
        shown = [key_of(row) for row in documented[name]]
        assert len(shown) == len(set(shown)), f"{name}: a key is documented twice"
        assert set(keys) - set(shown) == set(), f"{name}: accepted by the code but not documented"
        assert set(shown) - set(keys) == set(), f"{name}: documented but refused by the code"


def test_every_documented_key_has_type_allowed_values_default_and_example():
    for name, rows in documented_tables().items():
        for row in rows:
            assert len(row) == 6, f"{name}: {row}"
            key, kind, _unit, allowed, default, example = row
            assert kind and allowed and default and example, f"{name}: {key} has an empty cell"
            assert key_of(row) in example or example.startswith("`["), f"{name}: {key}'s example {example}"


def test_scenario_types_match_the_parser():
    for row in documented_tables()["lifetime.base"]:
        assert row[1] == spec.TYPE_WORDS[spec.SCENARIO_TYPES[key_of(row)]]


def test_figure_kinds_are_the_drawn_kinds_and_their_keys_known():
    assert tuple(spec.FIGURE_KIND_KEYS) == spec.FIGURE_KIND_NAMES
    assert tuple(offload.FIGURE_KIND_KEYS) == offload.OFFLOAD_FIGURE_KIND_NAMES
    for kinds, every in ((spec.FIGURE_KIND_KEYS, spec.FIGURE_KEYS), (offload.FIGURE_KIND_KEYS, offload.FIGURE_KEYS)):
        assert set().union(*kinds.values()) == set(every)
    text = DOC.read_text(encoding="utf-8")
    for kind in spec.STUDY_KINDS:
        assert f'(`kind = "{kind}"`)' in text


def test_the_documented_examples_are_valid_study_files(tmp_path):
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    complete = [block for block in blocks if block.startswith(("title", "kind"))]
    assert len(complete) == len(spec.STUDY_KINDS)
    for index, block in enumerate(complete):
        path = tmp_path / f"example{index}.toml"
        path.write_text(block, encoding="utf-8")
        if 'kind = "partition"' in block:
            assert partition.load_partition_study(path, quick=True)["claims"]["frames"] == 2000
        else:
            assert spec.load_study(path).figures


def test_a_key_of_another_figure_kind_is_refused(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[grid]\nnodes = [10, 20]\n[[figures]]\nname = "m"\nkind = "map"\nround = 2\nreference = "x"\n')
    with pytest.raises(ParameterError, match="not used by a map figure; its keys: name, kind, round, title"):
        spec.load_study(path)
    path.write_text('kind = "offload"\n[[figures]]\nname = "f"\nkind = "frames"\ny = "utility"\nlogx = true\n')
    with pytest.raises(ParameterError, match=r"figures\[0\]\.logx: is not used by a frames figure"):
        spec.load_study(path)


def test_study_list_lists_valid_files_and_one_error_line_per_invalid_one(tmp_path, monkeypatch):
    studies = tmp_path / "studies"  # `study list` reads ./studies of the working directory
    studies.mkdir()
    (studies / "good.toml").write_text('title = "A good study"\nseeds = 2\n[base]\nnodes = 10\nrounds = 5\n'
                                       '[grid]\nprotocol = ["leach", "direct"]\n')
    (studies / "bad.toml").write_text('title = "Bad"\ncolour = "red"\n')
    (studies / "broken.toml").write_text('title = \n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["study", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("bad") and "invalid:" in lines[0] and "colour: is not a known key" in lines[0]
    assert lines[1].startswith("broken") and "invalid:" in lines[1] and "not valid TOML" in lines[1]
    assert lines[2].split() [:4] == ["good", "A", "good", "study"] and "protocol[2], 2 seeds: 4 tasks" in lines[3]
    assert len(lines) == 4
