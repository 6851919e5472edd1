"""The scenario parameters, declared once: name, command-line option, metavar, study-file type, default, unit,
help and check of every field of :class:`~wsnmec.sim.scenario.Scenario`.

Generated from :data:`SCENARIO_PARAMETERS`:

- the scenario options of ``wsnmec run`` (:func:`wsnmec.cli.scenario_options`; ``compare``, ``bound`` and
  ``map`` share run's option objects), their help ending in ``[default: ...]``;
- the validation of :meth:`Scenario.from_mapping <wsnmec.sim.scenario.Scenario.from_mapping>` (each value
  through its entry's check, in the order of the Scenario's fields, then the checks that join several
  parameters: :func:`check_together`);
- the study-file types :data:`wsnmec.study.spec.SCENARIO_TYPES` (:func:`scenario_types`);
- the reference ``docs/parameters.md`` (:func:`parameters_markdown`; tests/test_parameters.py checks the
  committed file) and the ``[base]`` table of ``docs/studies.md`` (:func:`study_base_rows`).

A new scenario parameter is a field of :class:`~wsnmec.sim.scenario.Scenario` (its default) plus one entry
here; tests/test_parameters.py then checks its option, type and check, and that a bad value gives a one-line
error naming it (exit code 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields

from ..clustering.registry import check_protocol, protocol_help
from ..energy.harvest import HarvestSpec
from ..energy.harvesters.registry import harvest_help
from ..energy.radio import RADIO_PRESETS
from ..energy.workload import HARDWARE_PRESETS, WORKLOAD_PRESETS
from ..errors import ParameterError, check_choice, check_float, check_int
from .presets import PRESETS, preset_names
from .scenario import (
    JOIN_RULES, MAX_ROUNDS, MAX_SINK_CHANNELS, MEDIUM_CHOICES, OFFLOAD_CHOICES, SEMANTICS, Scenario, _energy_range,
    _pair, advanced_count, check_energy_limits, check_nodes, check_p, option_name,
)

#: The study-file (TOML) types of the scenario parameters (:attr:`Parameter.kind`), as the docs and the
#: study-file errors word them.
TYPE_WORDS = {
    "int": "an integer",
    "number": "a number",
    "str": "a string",
    "pair": "a number or a list [W, H] of numbers",
    "xy": "a list [X, Y] of numbers",
    "numstr": "a number or a string LOW..HIGH",
    "number_or_auto": 'a number or the string "auto"',
}

#: A check: ``check(value, option)`` returns the validated value or raises :class:`ParameterError` naming
#: ``option``.
Check = Callable[[object, str], object]


@dataclass(frozen=True)
class Parameter:
    """One scenario parameter.

    Parameters
    ----------
    name : str
        The :class:`~wsnmec.sim.scenario.Scenario` field, study-file key and JSON key (``packet_bits``).
    kind : str
        Its study-file (TOML) type: a key of :data:`wsnmec.study.spec.TYPE_WORDS` (``int``, ``number``, ...).
    help : str
        The option's help, without its ``[default: ...]``.
    check : callable
        ``check(value, option)``: the validated value (a value of a study file or a command-line string).
    metavar : str
        The option's metavar; ``[a|b]`` from ``choices`` when empty.
    default_text : str or None
        The default as the help shows it (``[default: TEXT]``); None: the help shows none.
    unit : str
        SI unit in brackets (``[m]``), or empty.
    choices : tuple of str
        The allowed values of a choice parameter (the metavar and the docs list them).
    example : str
        A study-file line setting it (docs/studies.md).
    command_line : bool
        Whether it is a command-line option (``e0_high`` is set through ``--e0 LOW..HIGH`` only).
    """

    name: str
    kind: str
    help: str
    check: Check
    metavar: str = ""
    default_text: str | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    example: str = ""
    command_line: bool = True

    @property
    def option(self) -> str:
        """The command-line option (``--packet-bits``); errors name it."""
        return option_name(self.name)

    @property
    def shown_metavar(self) -> str:
        return self.metavar or "[" + "|".join(self.choices) + "]"

    @property
    def option_help(self) -> str:
        """The help of the option, ``[default: ...]`` included."""
        return self.help if self.default_text is None else f"{self.help}  [default: {self.default_text}]"

    @property
    def default(self):
        """The default value (the :class:`~wsnmec.sim.scenario.Scenario` field's)."""
        return _FIELD_DEFAULTS[self.name]


_FIELD_DEFAULTS = {f.name: f.default for f in fields(Scenario)}


# --- checks (each ``(value, option) -> value``) ----------------------------------------------------------


def integer(minimum: int, maximum: int | None = None) -> Check:
    """An integer in [minimum, maximum] (:func:`~wsnmec.errors.check_int`)."""
    return lambda value, option: check_int(option, value, minimum, maximum)


def number(minimum: float, maximum: float | None = None, *, min_inclusive: bool = True) -> Check:
    """A finite number in the bounds (:func:`~wsnmec.errors.check_float`)."""
    return lambda value, option: check_float(option, value, minimum, maximum, min_inclusive=min_inclusive)


def choice(choices) -> Check:
    """One of ``choices`` (:func:`~wsnmec.errors.check_choice`)."""
    return lambda value, option: check_choice(option, value, tuple(choices))


def check_field(value, option: str = "--field") -> tuple[float, float]:
    """``W[,H]`` [m], each in (0, 1e9] (:func:`~wsnmec.sim.scenario._pair`)."""
    return _pair(option, value, positive=True, allow_single=True)


def check_sink(value, option: str = "--sink") -> tuple[float, float]:
    """``X,Y`` [m], each in [0, 1e9]."""
    return _pair(option, value, positive=False, allow_single=False)


def check_e0(value, option: str = "--e0") -> float:
    """``J`` or ``LOW..HIGH`` [J]: the (lower) initial energy (the joint check is :func:`_validate_e0`)."""
    return _energy_range(value)[0]


def check_e0_high(value, option: str = "--e0") -> float:
    """The upper initial energy [J], > 0 (an error names ``--e0``, which sets it on the command line)."""
    return check_float("--e0", value, 0.0, min_inclusive=False)


def check_readable_file(what: str) -> Check:
    """A path to a readable file (as ``os.fspath``)."""
    def check(value, option):
        path = os.fspath(value)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ParameterError(option, f"must be a readable {what}; got {path!r}")
        return path
    return check


def check_deployment(value, option: str = "--deployment", field=None) -> str:
    """A node layout in canonical form (:func:`wsnmec.sim.deployment.parse_deployment`)."""
    from .deployment import parse_deployment  # (deployment imports the scenario module)

    return str(parse_deployment(value, field))


def check_preset(value, option: str = "--preset") -> str:
    """A name of :data:`wsnmec.sim.presets.PRESETS`."""
    if not isinstance(value, str) or value not in PRESETS:
        raise ParameterError(option, f"must be one of {', '.join(preset_names())}; got {value!r}")
    return value


def check_harvest(value, option: str = "--harvest") -> HarvestSpec:
    """A harvest spec (:meth:`wsnmec.energy.harvest.HarvestSpec.parse`)."""
    return HarvestSpec.parse(value, option)


def radio_constant(strictly_positive: bool = False) -> Check:
    """An override of a radio constant: a finite number >= 0 (> 0 when ``strictly_positive``: ``d0``)."""
    return lambda value, option: check_float(option, value, 0.0, min_inclusive=not strictly_positive)


# --- the table ---------------------------------------------------------------------------------------------

#: The ``--protocol`` help, made from the clustering registry (:func:`wsnmec.clustering.registry.protocol_help`).
PROTOCOL_HELP = protocol_help()

#: The ``--harvest`` help, generated from the harvest models' registry
#: (:func:`wsnmec.energy.harvesters.registry.harvest_help`; the table adds the default).
HARVEST_HELP = harvest_help()

_PARAMETERS = (
    Parameter("protocol", "str", PROTOCOL_HELP, check_protocol, metavar="NAME", default_text="leach",
              example='protocol = "leach"'),
    Parameter("nodes", "int", "Number of sensor nodes, 1 to 100000000 (about 200 bytes of memory per node and running "
              "replica).", check_nodes, metavar="N", default_text="100", example="nodes = 200"),
    Parameter("field", "pair", "Field width and height [m], each in (0, 1e9].", check_field, metavar="W[,H]",
              default_text="100,100", unit="[m]", example="field = [200, 100]"),
    Parameter("sink", "xy", "Sink position [m] (coordinates in [0, 1e9]), inside or outside the field.", check_sink,
              metavar="X,Y", default_text="field centre", unit="[m]", example="sink = [50, 175]"),
    Parameter("e0", "numstr", "Initial energy of a node [J], or a range LOW..HIGH drawn uniformly per node.", check_e0,
              metavar="J|LOW..HIGH", default_text="0.5", unit="[J]", example="e0 = 0.5"),
    Parameter("e0_high", "number", "Upper end of the initial-energy range (initial energies uniform in [e0, e0_high)); "
              "usually set through e0 = LOW..HIGH.", check_e0_high, metavar="J", unit="[J]", example="e0_high = 0.6",
              command_line=False),
    Parameter("p", "number_or_auto", "Desired cluster-head fraction, in [1e-9, 1], or auto: k_opt / N of each "
              "replica's deployment and sink (Heinzelman et al. 2002), recorded as p_resolved.",
              lambda value, option: check_p(value, option, allow_auto=True), metavar="P|auto",
              default_text="auto; 0.1 with --preset classic", example="p = 0.1"),
    Parameter("packet_bits", "int", "Data packet length [bit].", integer(1), metavar="L", default_text="4000",
              unit="[bit]", example="packet_bits = 2000"),
    Parameter("rounds", "int", "Rounds to simulate.", integer(1, MAX_ROUNDS), metavar="R",
              default_text="until all nodes are dead, at most 100000", example="rounds = 3000"),
    Parameter("semantics", "str", "Energy accounting: exact, or that of the MATLAB LEACH/SEP code (energies may go "
              "below zero there; the reported residual sums the positive energies, as the MATLAB code does, and "
              "stored_j keeps the signed sum).", choice(SEMANTICS), choices=SEMANTICS, default_text="clean",
              example='semantics = "matlab"'),
    Parameter("radio", "str", "Radio model preset.", choice(RADIO_PRESETS), choices=tuple(RADIO_PRESETS),
              default_text="heinzelman2002", example='radio = "heinzelman2000"'),
    Parameter("e_elec", "number", "Override the preset's electronics energy [J/bit].", radio_constant(),
              metavar="J/BIT", unit="[J/bit]", example="e_elec = 50e-9"),
    Parameter("eps_fs", "number", "Override the free-space amplifier energy [J/bit/m^2].", radio_constant(),
              metavar="J/BIT/M2", unit="[J/bit/m^2]", example="eps_fs = 10e-12"),
    Parameter("eps_mp", "number", "Override the multipath amplifier energy [J/bit/m^4].", radio_constant(),
              metavar="J/BIT/M4", unit="[J/bit/m^4]", example="eps_mp = 0.0013e-12"),
    Parameter("e_da", "number", "Override the aggregation energy [J/bit/signal].", radio_constant(),
              metavar="J/BIT", unit="[J/bit/signal]", example="e_da = 5e-9"),
    Parameter("d0", "number", "Override the crossover distance [m].", radio_constant(strictly_positive=True), metavar="M",
              default_text="sqrt(eps_fs/eps_mp)", unit="[m]", example="d0 = 87.7"),
    Parameter("harvest", "str", HARVEST_HELP, check_harvest, metavar="SPEC", default_text="none",
              unit="[J] per round ([W] for -w specs)", example='harvest = "solar:2e-4,100"'),
    Parameter("round_seconds", "number", "Round duration [s], converting power harvest specs (constant-w, solar-w) to "
              "energy per round.", number(0.0, 1e9, min_inclusive=False), metavar="S", unit="[s]",
              example="round_seconds = 20"),
    Parameter("offload", "str", "Cluster heads' offloading rule: process locally, offload to the edge server at the "
              "sink, each head's own best, or the round's exact optimum of energy + w_T x latency (under --medium "
              "shared up to 16 heads, greedy above).", choice(OFFLOAD_CHOICES), choices=OFFLOAD_CHOICES,
              default_text="local", example='offload = "exact"'),
    Parameter("workload", "str", "What a cluster head computes on the gathered data (fusion: the classic E_DA "
              "aggregation).", choice(WORKLOAD_PRESETS), choices=tuple(WORKLOAD_PRESETS), default_text="fusion",
              example='workload = "dnn-inference"'),
    Parameter("hardware", "str", "Node MCU/radio and edge-server preset.", choice(HARDWARE_PRESETS),
              choices=tuple(HARDWARE_PRESETS), default_text="msp430f1611", example='hardware = "cc2650"'),
    Parameter("time_weight", "number", "w_T in system_utility = energy_j + w_T x latency_s [J/s].",
              number(0.0, 1e12), metavar="J/S", default_text="0.01", unit="[J/s]", example="time_weight = 0.01"),
    Parameter("join", "str", "nearest: a member sends to the sink when it is at least as near as every head (MATLAB "
              "rule); cluster: members always join their nearest head.", choice(JOIN_RULES), choices=JOIN_RULES,
              default_text="nearest", example='join = "cluster"'),
    Parameter("control_bits", "int", "Control-message length [bit]; charges each protocol's advertisements, joins, "
              "schedules, uploads and broadcasts, set-up messages only in rounds whose clusters change (0: none, as "
              "published LEACH curves).", integer(0, 10**9), metavar="B",
              default_text="200, the 25-byte header of Heinzelman et al. 2002; 0 with --preset classic", unit="[bit]",
              example="control_bits = 200"),
    Parameter("medium", "str", "Sink radio: ideal gives every transmission to the sink a channel of its own (round "
              "latency = slowest transmitter); shared serves direct packets, head uploads and edge offloads on "
              "--sink-channels channels in order of readiness (round latency = last delivery). Energy is the same.",
              choice(MEDIUM_CHOICES), choices=MEDIUM_CHOICES, default_text="shared; ideal with --preset classic",
              example='medium = "ideal"'),
    Parameter("sink_channels", "int", "Channels at the radio rate at the sink under --medium shared, an integer >= 1.",
              integer(1, MAX_SINK_CHANNELS), metavar="C", default_text="1", example="sink_channels = 2"),
    Parameter("idle_j", "number", "Fixed sensing/idle consumption of every alive node per round [J].",
              number(0.0, 1e9), metavar="J", default_text="0", unit="[J]", example="idle_j = 1e-5"),
    Parameter("battery", "number", "Battery capacity [J], at least every node's initial energy.",
              number(0.0, min_inclusive=False), metavar="J", default_text="each node's initial energy", unit="[J]",
              example="battery = 1.0"),
    Parameter("positions", "str", "CSV with columns x,y [m] (>= 0) and optionally energy [J], one row per node.",
              check_readable_file("CSV file"), metavar="CSV", example='positions = "nodes.csv"'),
    Parameter("deployment", "str", "Node layout: uniform, grid (a lattice of N nodes), gaussian:SIGMA (around the "
              "field centre), clusters:K,SIGMA (around K uniform centres), corridor:WIDTH (a horizontal strip on the "
              "mid-height); SIGMA, WIDTH [m]; seeded by --seed, inside the field.", check_deployment,
              metavar="LAYOUT", default_text="uniform", example='deployment = "clusters:4,10"'),
    Parameter("advanced_fraction", "number", "SEP heterogeneity: fraction of advanced nodes, in [0, 1].",
              number(0.0, 1.0), metavar="M", default_text="0", example="advanced_fraction = 0.1"),
    Parameter("advanced_factor", "number", "SEP heterogeneity: advanced nodes start with (1 + A) E0.", number(0.0),
              metavar="A", default_text="0", example="advanced_factor = 1.0"),
    Parameter("revive_threshold", "number", "Let a dead node revive once its stored energy reaches J [J] (at most the "
              "battery capacity).", number(0.0, min_inclusive=False), metavar="J",
              default_text="dead nodes stay dead", unit="[J]", example="revive_threshold = 0.05"),
    Parameter("preset", "str", "Named scenario preset for the options not given (classic: the v0.1 defaults, p 0.1, no "
              "control messages); explicit options override it.", check_preset, metavar="NAME",
              default_text="none, the package defaults", example='preset = "classic"'),
    Parameter("policy_model", "str", "Model of a learned policy (ddnn; from 'wsnmec train').",
              check_readable_file("model file (.npz)"), metavar="MODEL.npz", default_text="the shipped model",
              example='policy_model = "models/my.npz"'),
)

#: name -> :class:`Parameter`, in the order of ``wsnmec run --help`` (the validation follows the Scenario's
#: fields: :func:`validate`).
SCENARIO_PARAMETERS: dict[str, Parameter] = {parameter.name: parameter for parameter in _PARAMETERS}


def scenario_types() -> dict[str, str]:
    """``{name: study-file type}`` in the order of the Scenario's fields (:data:`wsnmec.study.spec.SCENARIO_TYPES`)."""
    return {name: SCENARIO_PARAMETERS[name].kind for name in Scenario.keys()}


# --- validation (Scenario.from_mapping) -------------------------------------------------------------------


def validate(raw: dict) -> dict:
    """The validated fields of a scenario from ``raw`` (known keys, None values dropped, ``preset`` applied):
    each parameter's check in the order of the Scenario's fields (``e0_high`` with ``e0``, ``deployment`` with
    the field and ``positions``), then :func:`check_together`. Missing keys take the Scenario's defaults."""
    out = {"preset": raw.get("preset")}  # (checked by from_mapping before its values were applied)
    for name in Scenario.keys():
        if name in out:
            continue
        parameter = SCENARIO_PARAMETERS[name]
        if name == "e0":
            out["e0"], out["e0_high"] = _energy_range(raw.get("e0", parameter.default), raw.get("e0_high"))
        elif name == "deployment":
            out["deployment"] = _validate_deployment(raw, out)
        else:
            value = raw.get(name, parameter.default)
            out[name] = None if value is None else parameter.check(value, parameter.option)
    check_together(out)
    return out


def _validate_deployment(raw: dict, out: dict) -> str:
    """``deployment`` in canonical form, in the validated field; only ``uniform`` with ``positions``."""
    layout = check_deployment(raw.get("deployment", SCENARIO_PARAMETERS["deployment"].default), "--deployment",
                              out["field"])
    if out["positions"] is not None and layout != "uniform":
        raise ParameterError("--deployment", f"must be uniform (the default) with --positions (the CSV gives the "
                                             f"positions); got {raw['deployment']!r}")
    return layout


def check_together(out: dict) -> None:
    """The checks that join several validated parameters: local offloading under matlab semantics, a round
    duration for power harvest specs, the battery and revive threshold against the initial energies."""
    if out["semantics"] == "matlab" and out["offload"] != "local":
        raise ParameterError("--offload", f"must be local under --semantics matlab (the MATLAB code has no "
                                          f"offloading); got {out['offload']!r}")
    if out["harvest"].needs_round_seconds and out["round_seconds"] is None:
        raise ParameterError("--round-seconds", f"is required by --harvest {out['harvest']} (a power [W] "
                                                "needs the round duration [s])")
    if out["positions"] is None:
        # Nodes start full; the CSV case (energies from the file) is checked by the deployment.
        normal = out["nodes"] - advanced_count(out["nodes"], out["advanced_fraction"])
        top = out["e0"] if out["e0_high"] is None else out["e0_high"]
        initial_advanced = top * (1.0 + out["advanced_factor"])
        largest = top if normal == out["nodes"] else max(top, initial_advanced)
        smallest_initial = out["e0"] if normal > 0 else out["e0"] * (1.0 + out["advanced_factor"])
        check_energy_limits(out["battery"], largest,
                            out["battery"] if out["battery"] is not None else smallest_initial,
                            out["revive_threshold"])


# --- reference docs ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text for a cell of a Markdown table (``|`` escaped)."""
    return text.replace("|", "\\|")


def _allowed(parameter: Parameter) -> str:
    listed = f"One of {', '.join(f'`{c}`' for c in parameter.choices)}. " if parameter.choices else ""
    return _cell(listed + parameter.help)


def study_base_rows() -> list[str]:
    """The rows of the ``[base]`` table of docs/studies.md (key, type, unit, allowed values, default, example),
    in the order of the Scenario's fields."""
    rows = []
    for name in Scenario.keys():
        parameter = SCENARIO_PARAMETERS[name]
        rows.append(f"| `{name}` | {TYPE_WORDS[parameter.kind]} | {_cell(parameter.unit)} | {_allowed(parameter)} | "
                    f"{_cell(parameter.default_text or 'none')} | `{parameter.example}` |")
    return rows


def scenario_markdown() -> str:
    """The scenario section of docs/parameters.md: one row per parameter, in the order of ``wsnmec run --help``."""
    lines = [
        "## Scenario parameters (`wsnmec run`, `compare`, `bound`, `map`; lifetime studies' `[base]` and `[grid]`)",
        "",
        "Generated from `wsnmec.sim.parameters.SCENARIO_PARAMETERS`. The study-file key is the option without its",
        "dashes, with underscores (`--packet-bits`: `packet_bits`); a bad value gives one line naming the option",
        "and what is allowed, with exit code 2.",
        "",
        "| Option | Study-file key | Type | Unit | Default | Meaning |",
        "|---|---|---|---|---|---|",
    ]
    for parameter in SCENARIO_PARAMETERS.values():
        option = f"`{parameter.option} {parameter.shown_metavar}`" if parameter.command_line else "(none)"
        lines.append(f"| {_cell(option)} | `{parameter.name}` | {TYPE_WORDS[parameter.kind]} | "
                     f"{_cell(parameter.unit)} | {_cell(parameter.default_text or 'none')} | {_allowed(parameter)} |")
    return "\n".join(lines)
