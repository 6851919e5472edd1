"""Registry of offloading model families: the one place that turns a ``--model`` value into an
:class:`~wsnmec.offload.family.OffloadFamily`.

A ``--model`` value of ``wsnmec offload`` (and of an offloading study) is

- a name of :data:`OFFLOAD_FAMILIES` (``"module:object"``, imported on first use);
- the name of an entry point of the group ``wsnmec.offload`` (:data:`ENTRY_POINT_GROUP`) declared by an
  installed package (``[project.entry-points."wsnmec.offload"]`` ``myfamily = "mypkg.family:FAMILY"``), looked
  up only when the name is not registered;
- or a plug-in written ``package.module:OBJECT`` (importable from ``sys.path``);
- (``partition``, the non-binary DNN-partitioning model, has its own pipeline: :mod:`wsnmec.offload.partition`.)

A built-in family is one file of :mod:`wsnmec.offload` plus one line here, plus (when it has compiled hooks) one
branch in each function of :mod:`wsnmec.offload.dispatch` (``tests/test_offload_conformance.py`` checks that every
registered compiled family has them). Every failure is a :class:`~wsnmec.errors.ParameterError` naming ``--model``.
"""

from __future__ import annotations

import threading

from ..errors import ParameterError, import_object
from .family import OffloadFamily

#: ``--model`` name -> ``"module:object"`` (an :class:`OffloadFamily`), in the order of the help text.
OFFLOAD_FAMILIES: dict[str, str] = {
    "mumt": "wsnmec.offload.mumt:FAMILY",
    "wsn-ch": "wsnmec.offload.wsn_ch:FAMILY",
    "wpmec": "wsnmec.offload.wpmec:FAMILY",
}

#: ``--model`` values served by another pipeline than the binary families (listed in the messages).
OTHER_MODELS = ("partition",)

#: Entry-point group of installed plug-in families (name -> ``"module:object"``).
ENTRY_POINT_GROUP = "wsnmec.offload"

#: Modules of the built-in families (their compiled ``kind`` is honoured only there).
BUILTIN_PACKAGE = "wsnmec.offload"

#: Loaded families: (name, its target) -> family.
_LOADED: dict[tuple[str, str], OffloadFamily] = {}
_LOCK = threading.RLock()


def family_names() -> tuple[str, ...]:
    """The registered family names (plug-ins and :data:`OTHER_MODELS` not included)."""
    return tuple(OFFLOAD_FAMILIES)


def _unknown(name) -> ParameterError:
    return ParameterError("--model", f"unknown model {name!r}; valid models: "
                                     f"{', '.join([*OFFLOAD_FAMILIES, *OTHER_MODELS])}")


def check_family(family, spec: str) -> OffloadFamily:
    """``family`` when it is a well-formed :class:`OffloadFamily`, else :class:`ParameterError` naming
    ``--model``."""
    where = f"the offloading family {spec!r}"
    if not isinstance(family, OffloadFamily):
        raise ParameterError("--model", f"{where} is a {type(family).__name__}, not a "
                                        "wsnmec.offload.family.OffloadFamily")
    if not callable(family.build):
        raise ParameterError("--model", f"{where} has no build(devices, ...) function")
    missing = [key for key in family.parameters if key not in family.defaults]
    if missing:
        raise ParameterError("--model", f"{where} lists the parameter {missing[0]!r} without a default")
    return family


def _load(key: str, target: str, origin: str) -> OffloadFamily:
    with _LOCK:
        cached = _LOADED.get((key, target))
        if cached is None:
            cached = _LOADED[(key, target)] = check_family(
                import_object(target, "--model", origin, form="a plug-in family is written MODULE:OBJECT"), key)
        return cached


def offload_family(name) -> OffloadFamily:
    """The family of ``name``: a registered name, an entry-point name, or ``module:object``."""
    if not isinstance(name, str):
        raise _unknown(name)
    if name in OFFLOAD_FAMILIES:
        return _load(name, OFFLOAD_FAMILIES[name], "the registered family")
    if ":" in name:
        return _load(name, name, "the plug-in family")
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _load(name, ep.value, f"the entry point {name!r} ({ENTRY_POINT_GROUP}) =")
    raise _unknown(name)


def is_builtin(name: str) -> bool:
    """Whether ``name`` is a registered family of this package (its compiled hooks are used)."""
    target = OFFLOAD_FAMILIES.get(name) if isinstance(name, str) else None
    return target is not None and target.startswith(BUILTIN_PACKAGE + ".")


def dataset_families() -> str:
    """The families that read ``--dataset`` files, as the messages say it (``mumt (DDLO) or wpmec (DROO)``)."""
    readers = [offload_family(name) for name in OFFLOAD_FAMILIES]
    return " or ".join(f"{f.name} ({f.dataset_label})" for f in readers if f.dataset_states is not None)


def model_help() -> str:
    """The ``--model`` help of ``wsnmec offload``: the registered families, then the other models."""
    families = "; ".join(f"{name} ({offload_family(name).summary})" if offload_family(name).summary else name
                         for name in OFFLOAD_FAMILIES)
    return (f"Offloading model: {families}; partition (DNN partitioning over several edge servers); or a plug-in "
            f"family: MODULE:OBJECT or the name of an installed {ENTRY_POINT_GROUP} entry point (see "
            "wsnmec.offload.registry).")
