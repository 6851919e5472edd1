"""The scenario parameter table (wsnmec.sim.parameters, issue 20): every entry has an option, a type and a
check; the command-line options, Scenario.from_mapping, SCENARIO_TYPES and the docs are generated from it;
a bad value of any parameter gives one line naming it with exit code 2 (parametrised over the table, so a new
parameter is checked without being listed here)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.sim.parameters import SCENARIO_PARAMETERS, TYPE_WORDS, scenario_types, study_base_rows
from wsnmec.sim.scenario import Scenario, option_name
from wsnmec.study import spec

ROOT = Path(__file__).resolve().parents[1]
TABLE = list(SCENARIO_PARAMETERS.values())
ON_COMMAND_LINE = [p for p in TABLE if p.command_line]

#: What a click option without a default holds (None, or click 8.2's UNSET sentinel).
NO_DEFAULT = (None, getattr(click.core, "UNSET", None))

#: A value no parameter accepts (not a number, no choice, no file, no spec).
BAD = "not-a-value-%"


@pytest.mark.parametrize("parameter", TABLE, ids=lambda p: p.name)
def test_every_entry_has_an_option_a_type_a_check_and_help(parameter):
    assert parameter.option == option_name(parameter.name) and parameter.option.startswith("--")
    assert parameter.kind in TYPE_WORDS
    assert callable(parameter.check)
    assert parameter.help.strip() and parameter.example.startswith(f"{parameter.name} = ")
    assert parameter.shown_metavar.strip()
    assert parameter.command_line or "set through" in parameter.help  # (e0_high: through --e0 LOW..HIGH)


def test_the_table_has_every_scenario_field_and_its_default():
    assert set(SCENARIO_PARAMETERS) == set(Scenario.keys())
    for field in fields(Scenario):
        assert SCENARIO_PARAMETERS[field.name].default == field.default


def test_study_types_are_generated_from_the_table():
    assert spec.SCENARIO_TYPES == scenario_types() == {name: SCENARIO_PARAMETERS[name].kind for name in Scenario.keys()}
    assert tuple(spec.SCENARIO_TYPES) == Scenario.keys()


def _options(command) -> dict:
    return {option.name: option for option in command.params}


@pytest.mark.parametrize("command", ["run", "compare", "bound", "map"])
def test_the_click_options_are_the_table(command):
    options = _options(cli.main.commands[command])
    expected = [p for p in ON_COMMAND_LINE if not (command == "compare" and p.name == "protocol")]
    for parameter in expected:
        option = options[parameter.name]
        assert option.opts == [parameter.option] and not option.secondary_opts
        assert option.metavar == parameter.shown_metavar
        assert option.help == parameter.option_help
        assert option.default in NO_DEFAULT and not option.is_flag and not option.multiple
    shown = [p.name for p in cli.main.commands[command].params if p.name in SCENARIO_PARAMETERS]
    assert shown == [p.name for p in expected]  # the table's order; nothing else is a scenario parameter


def test_commands_share_the_run_options():
    run = _options(cli.run)
    for command in (cli.compare, cli.bound, cli.map_command):
        assert all(option is run[name] for name, option in _options(command).items() if name in SCENARIO_PARAMETERS)


def test_choice_metavars_list_the_choices():
    for parameter in TABLE:
        if parameter.choices:
            assert parameter.shown_metavar == "[" + "|".join(parameter.choices) + "]"
            for value in parameter.choices:
                assert parameter.check(value, parameter.option) == value


@pytest.mark.parametrize("parameter", TABLE, ids=lambda p: p.name)
def test_a_bad_value_in_a_mapping_names_the_option(parameter):
    with pytest.raises(ParameterError) as caught:
        Scenario.from_mapping({parameter.name: BAD})
    expected = "--e0" if parameter.name == "e0_high" else parameter.option  # (e0_high is set through --e0)
    assert caught.value.parameter == expected
    assert "\n" not in caught.value.message
    with pytest.raises(ParameterError) as direct:
        parameter.check(BAD, parameter.option)
    assert direct.value.parameter == expected


@pytest.mark.parametrize("parameter", ON_COMMAND_LINE, ids=lambda p: p.name)
def test_a_bad_value_on_the_command_line_is_one_line_with_exit_code_2(parameter):
    # a small run when the value were accepted (the last value of an option counts)
    result = CliRunner().invoke(cli.main, ["run", "--nodes", "5", "--rounds", "1", "--seed", "1",
                                           parameter.option, BAD])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {parameter.option}: "), result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_good_value_of_each_option_is_validated_as_in_a_study_file():
    given = {"nodes": "30", "field": "80,60", "sink": "10,200", "e0": "0.2..0.4", "p": "0.2", "rounds": "7",
             "e_elec": "4e-8", "d0": "80", "harvest": "constant:1e-4", "control_bits": "0", "sink_channels": "2"}
    from_strings = Scenario.from_mapping(given)
    from_values = Scenario.from_mapping({"nodes": 30, "field": [80, 60], "sink": [10, 200], "e0": 0.2, "e0_high": 0.4,
                                         "p": 0.2, "rounds": 7, "e_elec": 4e-8, "d0": 80, "harvest": "constant:1e-4",
                                         "control_bits": 0, "sink_channels": 2})
    assert from_strings == from_values
    assert from_strings.e0_high == 0.4 and from_strings.sink == (10.0, 200.0)


def test_the_study_doc_base_table_is_generated():
    lines = (ROOT / "docs" / "studies.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("<!-- keys: lifetime.base -->") + 3
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    assert lines[start:end] == study_base_rows(), "regenerate the rows with wsnmec.sim.parameters.study_base_rows()"


def test_the_parameters_reference_is_generated():
    from wsnmec.study.reference import PAGE, parameters_page

    assert PAGE.read_text(encoding="utf-8") == parameters_page(), (
        "docs/parameters.md differs from the tables: python3 -m wsnmec.study.reference")
    for parameter in TABLE:
        assert re.search(rf"\| `{parameter.name}` \|", parameters_page())


# --- the offloading experiment's options (wsnmec.offload.params.OFFLOAD_OPTIONS) -----------------------------

from wsnmec.offload.params import OFFLOAD_OPTIONS, learner_keys, offload_study_types  # noqa: E402
from wsnmec.study import offload as offload_study  # noqa: E402

OFFLOAD_TABLE = list(OFFLOAD_OPTIONS.values())
OFFLOAD_ON_COMMAND_LINE = [o for o in OFFLOAD_TABLE if o.option is not None]


@pytest.mark.parametrize("entry", OFFLOAD_TABLE, ids=lambda o: o.name)
def test_every_offload_entry_has_a_type_help_and_an_option_with_a_check_or_a_study_key(entry):
    assert entry.kind in ("str", "int", "number", "bool", "table", "int_or_n", "int_list", "number_list", "pair_list")
    assert entry.help_text().strip()
    if entry.option is None:  # a study-file key only
        assert not entry.aliases and not entry.click
    else:
        assert entry.option.startswith("--") and all(a.startswith("--") for a in entry.aliases)
        assert entry.metavar or entry.click.get("is_flag")
        assert entry.check is not None or entry.kind not in ("int", "number")  # (numbers checked here)


def test_offload_study_types_and_learner_keys_are_generated():
    assert offload_study.OFFLOAD_TYPES == {**offload_study_types(), "case": "case"}
    assert offload_study.LEARNER_KEYS == learner_keys()
    from wsnmec.offload.ddlo import LEARNER_DEFAULTS

    assert set(learner_keys()) == set(LEARNER_DEFAULTS) | {"hidden"}


def test_the_offload_click_options_are_the_table():
    options = _options(cli.offload)
    for entry in OFFLOAD_ON_COMMAND_LINE:
        option = options[entry.name]
        assert option.opts == [entry.option, *entry.aliases]
        shown = option.help_from() if callable(getattr(option, "help_from", None)) else option.help
        assert shown == entry.help_text()  # (a registry's help is asked when shown)
        if not entry.click.get("is_flag"):
            assert option.metavar == entry.metavar
        assert option.multiple == entry.click.get("multiple", False)
        assert option.default == entry.click["default"] if "default" in entry.click else option.default in NO_DEFAULT
    table_names = {o.name for o in OFFLOAD_TABLE}
    own = [name for name in options if name not in table_names]
    assert own == ["seed", "list_params", "servers", "network", "precision", "events", "refine", "queueing", "out",
                   "as_json"]  # everything else comes from the table


def test_batch_and_memory_have_one_name_and_both_spellings():
    assert OFFLOAD_OPTIONS["batch_size"].option == "--batch" and "--batch-size" in OFFLOAD_OPTIONS["batch_size"].aliases
    assert OFFLOAD_OPTIONS["memory_size"].option == "--memory"
    for spelled in ("--batch", "--batch-size"):
        result = CliRunner().invoke(cli.main, ["offload", "--frames", "300", spelled, "0"])
        assert result.exit_code == 2 and result.stderr.startswith("Error: --batch: "), result.stderr


@pytest.mark.parametrize("entry", [o for o in OFFLOAD_ON_COMMAND_LINE if not o.click.get("is_flag")],
                         ids=lambda o: o.name)
def test_a_bad_offload_value_on_the_command_line_is_one_line_with_exit_code_2(entry):
    result = CliRunner().invoke(cli.main, ["offload", "--frames", "300", "--seed", "1", "--json", entry.option, BAD])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {entry.option}: "), result.stderr


@pytest.mark.parametrize("entry", OFFLOAD_TABLE, ids=lambda o: o.name)
def test_a_value_of_the_wrong_type_in_an_offload_study_names_its_key(entry, tmp_path):
    wrong = 3 if entry.kind == "str" else BAD
    with pytest.raises(ParameterError) as caught:
        offload_study.parse_offload_study({"kind": "offload", "base": {entry.name: wrong}}, tmp_path / "s.toml")
    assert caught.value.parameter.endswith(f"base.{entry.name}")
