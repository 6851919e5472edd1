"""The parameters of the offloading experiments, declared once: the ``--param KEY=VALUE`` keys of each
offloading model, with their units and meaning (``wsnmec offload --list-params``), and the options of an
experiment (:data:`OFFLOAD_OPTIONS`: the options of ``wsnmec offload``, the keys of offload study files and
their types, and the offloading section of docs/parameters.md are generated from it).

Each family declares its keys, defaults, units and meaning in its own file (its
:class:`~wsnmec.offload.family.OffloadFamily`: ``parameters`` and ``defaults``, e.g.
:data:`wsnmec.offload.mumt.MUMT_PARAMETERS` and :data:`wsnmec.offload.mumt.MUMT_DEFAULTS`); this module
collects them from the registry (:mod:`wsnmec.offload.registry`) and prints the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import check_float, check_int
from .ddlo import MAX_INPUT_SCALE, MAX_LEARNING_RATE, QUANTIZATIONS
from .registry import OFFLOAD_FAMILIES, model_help, offload_family

#: model -> key -> (unit, meaning) of the registered families (generated from the registry). Units in
#: brackets as in the docstrings; [-] dimensionless.
PARAMETERS: dict[str, dict[str, tuple[str, str]]] = {name: dict(offload_family(name).parameters)
                                                     for name in OFFLOAD_FAMILIES}


def defaults(model: str) -> dict:
    """The model's default constants (``uplink_rate`` of mumt depends on N: shown as None)."""
    return dict(offload_family(model).defaults)


def parameter_table(model: str) -> str:
    """The ``--list-params`` text of ``model``: key, default, unit and meaning, one line each."""
    values = defaults(model)
    lines = [f"--param keys of --model {model} (KEY=VALUE, SI units as listed):"]
    for key, (unit, meaning) in offload_family(model).parameters.items():
        value = values.get(key)
        shown = "depends on N" if value is None else value if isinstance(value, str) else f"{value:g}"
        lines.append(f"  {key:<17} {shown:>12}  [{unit}]  {meaning}")
    return "\n".join(lines)


# --- the options of an offloading experiment (wsnmec offload, offload studies) ---------------------------------


@dataclass(frozen=True)
class OffloadOption:
    """One parameter of an offloading experiment: a key of an offload study file (and of its ``case`` tables)
    and, with ``option``, of ``wsnmec offload``.

    Parameters
    ----------
    name : str
        The study-file key, the learner-settings key (:data:`wsnmec.offload.ddlo.LEARNER_DEFAULTS`) and the
        keyword of the ``wsnmec offload`` command (``batch_size``).
    kind : str
        Its study-file (TOML) type (``int``, ``number``, ``str``, ``bool``, ``table``, ``int_or_n``,
        ``int_list``, ``number_list``, ``pair_list``).
    help : str or callable
        The help of the option (or of the study key), without a ``[default: ...]`` click adds itself; a
        callable ``help() -> str`` when a registry writes it (``--model``: the registered families, read when
        the help is shown, so a family registered later is listed). :meth:`help_text` gives the text.
    check : callable
        ``check(value, option)``: the value of the command line validated (None: the experiment checks it
        when it builds the model, the learner or the conditions).
    option : str or None
        The command-line option (``--batch``); None: a study-file key only.
    aliases : tuple of str
        More command-line spellings (``--batch-size``, the study key with dashes).
    metavar : str
        The option's metavar.
    unit : str
        SI unit in brackets, or empty.
    click : dict
        Further ``click.Option`` settings (``default`` with ``show_default``, ``is_flag``, ``multiple``).
    learner : bool
        A setting of the learner (:func:`wsnmec.offload.ddlo.learner_settings`).
    """

    name: str
    kind: str
    help: str | Callable[[], str]
    check: Callable | None = None
    option: str | None = None
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    unit: str = ""
    click: dict = field(default_factory=dict)
    learner: bool = False

    def help_text(self) -> str:
        """The help as shown now (a registry's callable is asked again each time)."""
        return self.help() if callable(self.help) else self.help


def _integer(minimum: int, maximum: int | None = None) -> Callable:
    return lambda value, option: check_int(option, value, minimum, maximum)


def _positive(maximum: float) -> Callable:
    return lambda value, option: check_float(option, value, 0.0, maximum, min_inclusive=False)


def _candidates(value, option: str = "--candidates"):
    """``n`` (one per decision) or an integer >= 1."""
    return "n" if value == "n" else value if str(value).strip() == "n" else check_int(option, value, 1)


_EXPERIMENT = (
    OffloadOption("model", "str", model_help, option="--model",
                  metavar="[mumt|wsn-ch|wpmec|partition]", click={"default": "mumt", "show_default": True}),
    OffloadOption("devices", "int", "mumt, wpmec, partition: devices; wsn-ch: cluster heads (>= 1).  [default: 3, or "
                  "the N of a wpmec --dataset]", _integer(1), "--devices", metavar="N"),
    OffloadOption("tasks", "int", "Tasks per device (mumt; >= 1).  [default: 3 for mumt, 1 otherwise]", _integer(1),
                  "--tasks", metavar="M"),
    OffloadOption("frames", "int", "Frames (>= 2); the first 80% train, the rest test.  [default: 10000, or the whole "
                  "--dataset]", _integer(2), "--frames", metavar="F"),
    OffloadOption("dataset", "str", "DDLO data file (mumt: task_size, gain_min, gain_mode) or DROO data file (wpmec: "
                  "input_h, output_mode, output_a, output_tau, output_obj): its states instead of random draws.",
                  option="--dataset", metavar="FILE.mat"),
    OffloadOption("train_fraction", "number", "Fraction of the frames the learner trains on, in (0, 1) (the rest test)."
                  "  [default: 0.8]"),
    OffloadOption("train_frames", "int", "Training frames; with test_frames (default 1000) they give the frames and "
                  "the split explicitly."),
    OffloadOption("test_frames", "int", "Test frames (with train_frames).  [default: 1000]"),
    OffloadOption("exact_limit", "int", "Compute the exact optimum when n <= N; otherwise normalize by the best policy "
                  "found.", _integer(1, 30), "--exact-limit", metavar="N",
                  click={"default": "22", "show_default": True}),
    OffloadOption("params", "table", "Override a model constant in SI units, e.g. uplink_rate=1.0 [MB/s] (mumt), "
                  "energy_exponent=1 or workload=fusion (wsn-ch; hardware and workload name presets of the simulator) "
                  "or weight_odd=1 (wpmec); repeatable; keys, units and defaults: --list-params.", option="--param",
                  metavar="KEY=VALUE", click={"multiple": True}),
    OffloadOption("preset", "str", "Learner settings of a published code (DDLO's or DROO's); explicit options override "
                  "it.", option="--preset", metavar="[ddlo|droo]"),
    OffloadOption("networks", "int", "Networks of the DDLO learner (>= 1).  [default: 3; preset droo: 1]", _integer(1),
                  "--networks", metavar="K", learner=True),
    OffloadOption("learning_rate", "number", "Adam step size.  [default: 0.01]", _positive(MAX_LEARNING_RATE),
                  "--learning-rate", metavar="LR", learner=True),
    OffloadOption("memory_size", "int", "Replay-memory size.  [default: 1024]", _integer(1), "--memory",
                  ("--memory-size",), metavar="ENTRIES", learner=True),
    OffloadOption("batch_size", "int", "Training batch per network.  [default: 128]", _integer(1), "--batch",
                  ("--batch-size",), metavar="B", learner=True),
    OffloadOption("train_interval", "int", "Frames between training steps.  [default: 2]", _integer(1),
                  "--train-interval", metavar="FRAMES", learner=True),
    OffloadOption("training_start", "int", "Stored entries needed before training starts.  [default: memory_size // 2]",
                  learner=True),
    OffloadOption("batch_norm", "bool", "Batch-normalize the first hidden layer.", option="--batch-norm",
                  click={"is_flag": True, "default": None}, learner=True),
    OffloadOption("quantization", "str", "How relaxed decisions become candidates.  [default: order-preserving]",
                  option="--quantization", metavar="[" + "|".join(QUANTIZATIONS) + "]", learner=True),
    OffloadOption("candidates", "int_or_n", "Candidates per network (order-preserving: 1..n+1; partition: 1..1+D+S).  "
                  "[default: 4 (capped at n+1; 1 with threshold); preset droo: n; partition: 1+D+S]", _candidates,
                  "--candidates", metavar="C", learner=True),
    OffloadOption("input_scale", "number", "Factor applied to the learner's input features.  [default: 10]",
                  _positive(MAX_INPUT_SCALE), "--input-scale", metavar="X", learner=True),
    OffloadOption("init", "str", "Initial weights: he-glorot or inverse-input (standard deviation 1/n_in).  "
                  "[default: he-glorot]", learner=True),
    OffloadOption("bias_init", "number", "Initial biases.  [default: 0]", learner=True),
    OffloadOption("beta1", "number", "Adam's beta1, in [0, 1).  [default: 0.9]", learner=True),
    OffloadOption("adaptive_k", "int", "DROO's adaptive K: every INTERVAL frames, candidates = 2 + the largest 0-based "
                  "index of a winning candidate, in [1, n]; 0 = off.  [default: 0; preset droo: 32]", _integer(0),
                  "--adaptive-k", metavar="INTERVAL", learner=True),
    OffloadOption("train_through_test", "bool", "Keep training through the test frames.  [default: false; presets: "
                  "true]", learner=True),
    OffloadOption("hidden", "int_list", "Hidden-layer widths.  [default: [120, 80]]", learner=True),
    OffloadOption("conditions", "str", "Changing-conditions schedule (wpmec): droo-on-off or droo-alternate.",
                  option="--conditions", metavar="NAME"),
    OffloadOption("switch_off", "number_list", "Frames (fractions in [0, 1]) at which the active device with the "
                  "highest index is switched off (wpmec).", option="--switch-off", metavar="F[,F...]"),
    OffloadOption("switch_on", "number_list", "Fractions at which the switched-off device with the lowest index comes "
                  "back (wpmec).", option="--switch-on", metavar="F[,F...]"),
    OffloadOption("alternate_weights", "number_list", "Fractions at which every device's weight switches between "
                  "weight_even and weight_odd (wpmec).", option="--alternate-weights", metavar="F[,F...]"),
    OffloadOption("devices_at", "pair_list", "From fraction F on, only the first N devices are active (wpmec).",
                  option="--devices-at", metavar="F:N[,F:N...]"),
)

#: name -> :class:`OffloadOption`, in the order of the study-file keys.
OFFLOAD_OPTIONS: dict[str, OffloadOption] = {option.name: option for option in _EXPERIMENT}


def offload_study_types() -> dict[str, str]:
    """``{study key: type}`` of every experiment parameter (:data:`wsnmec.study.offload.OFFLOAD_TYPES` adds
    ``case``)."""
    return {name: option.kind for name, option in OFFLOAD_OPTIONS.items()}


def learner_keys() -> tuple[str, ...]:
    """The study keys that are learner settings (:data:`wsnmec.study.offload.LEARNER_KEYS`)."""
    return tuple(name for name, option in OFFLOAD_OPTIONS.items() if option.learner)


def checked(name: str, value):
    """``value`` of the command line for :data:`OFFLOAD_OPTIONS` ``[name]`` through its check (None stays None)."""
    option = OFFLOAD_OPTIONS[name]
    return value if value is None or option.check is None else option.check(value, option.option)


def offload_markdown() -> str:
    """The offloading section of docs/parameters.md."""
    lines = [
        "## Offloading parameters (`wsnmec offload`; offload studies' `[base]`, `[grid]` and `case` tables)",
        "",
        "Generated from `wsnmec.offload.params.OFFLOAD_OPTIONS`. A study-file key without an option is set in",
        "study files only. The model constants (`--param KEY=VALUE`, a study's `params` table) are listed by",
        "`wsnmec offload --model MODEL --list-params`.",
        "",
        "| Option | Study-file key | Type | Meaning |",
        "|---|---|---|---|",
    ]
    for option in OFFLOAD_OPTIONS.values():
        spelled = ", ".join(f"`{o}{'' if option.metavar is None else ' ' + option.metavar}`"
                            for o in (option.option, *option.aliases)) if option.option else "(none)"
        default = option.click.get("default") if option.click.get("show_default") else None
        text = option.help_text() + ("" if default is None else f"  [default: {default}]")
        lines.append(f"| {spelled.replace('|', chr(92) + '|')} | `{option.name}` | {option.kind.replace('_', ' ')} | "
                     f"{text.replace('|', chr(92) + '|')} |")
    return "\n".join(lines)
