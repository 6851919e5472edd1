"""The ``--param KEY=VALUE`` keys of each offloading model, with their units and meaning
(``wsnmec offload --list-params``).

Each family declares its keys, defaults, units and meaning in its own file (its
:class:`~wsnmec.offload.family.OffloadFamily`: ``parameters`` and ``defaults``, e.g.
:data:`wsnmec.offload.mumt.MUMT_PARAMETERS` and :data:`wsnmec.offload.mumt.MUMT_DEFAULTS`); this module
collects them from the registry (:mod:`wsnmec.offload.registry`) and prints the table.
"""

from __future__ import annotations

from .registry import OFFLOAD_FAMILIES, offload_family

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
