"""Registry of harvest models: the one place that turns a ``--harvest`` value into a :class:`HarvestModel`.

A ``--harvest`` value is ``NAME[:V1,V2,...]`` where ``NAME`` is

- a name of :data:`HARVEST_MODELS` (``"module:object"``, imported on first use);
- the name of an entry point of the group ``wsnmec.harvest`` (:data:`ENTRY_POINT_GROUP`) declared by an
  installed package, e.g. in its ``pyproject.toml``::

      [project.entry-points."wsnmec.harvest"]
      tidal = "mymodels.tidal:MODEL"

  looked up only when the name is not registered (a registered name always wins);
- or a plug-in written ``package.module:OBJECT`` (then ``package.module:OBJECT:V1,V2,...``): the module is
  imported from ``sys.path`` (an installed package, or a directory on ``PYTHONPATH``).

The object is a :class:`~wsnmec.energy.harvesters.base.HarvestModel`. The built-in models (files of this package)
have a compiled draw reached through the closed dispatch :func:`wsnmec.energy.harvest.harvest_round` (one
branch per code; ``tests/test_harvest_conformance.py`` checks that every built-in has its branch) and run in
both round loops. Any other model runs its Python ``offer`` once per round through a hook of the policy round
loop (never the fused loop: ``simulate(loop="auto")`` picks the policy loop for it), as plug-in clustering
policies do. Every failure (the import, a missing attribute, an object that is no model) is a
:class:`~wsnmec.errors.ParameterError` naming ``--harvest``.

A built-in model is one file in :mod:`wsnmec.energy.harvesters` plus one line in :data:`HARVEST_MODELS` (plus its
branch in ``harvest_round`` when it has a compiled draw); the ``--harvest`` help and the error messages' list
(:func:`harvest_syntax`) are generated from this registry.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading

from ...errors import ParameterError, import_object
from .base import VALUE_CHECKS, HarvestModel

#: ``--harvest`` name -> ``"module:object"`` (a :class:`HarvestModel`), in the order of the help text.
HARVEST_MODELS: dict[str, str] = {
    "none": "wsnmec.energy.harvesters.none:MODEL",
    "constant": "wsnmec.energy.harvesters.constant:MODEL",
    "bernoulli": "wsnmec.energy.harvesters.bernoulli:MODEL",
    "markov": "wsnmec.energy.harvesters.markov:MODEL",
    "markov-shared": "wsnmec.energy.harvesters.markov_shared:MODEL",
    "solar": "wsnmec.energy.harvesters.solar:MODEL",
    "constant-w": "wsnmec.energy.harvesters.constant_w:MODEL",
    "solar-w": "wsnmec.energy.harvesters.solar_w:MODEL",
}

#: Entry-point group of installed plug-in harvest models (name -> ``"module:object"``).
ENTRY_POINT_GROUP = "wsnmec.harvest"

#: Modules of the built-in models (their ``code`` and compiled ``draw`` are honoured only here).
BUILTIN_PACKAGE = "wsnmec.energy.harvesters"

#: What ``--harvest`` accepts besides the listed names (the error messages say it).
PLUGIN_SYNTAX = "MODULE:OBJECT[:VALUES] (a plug-in harvest model)"

#: The units note that ends :func:`harvest_syntax`.
SYNTAX_NOTE = "(energies [J] per round, powers [W], periods in rounds or [s]; the -w forms need --round-seconds)"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

#: Loaded models: (a registered name, an entry-point name or a ``module:object``; its target) -> (model, built in).
_LOADED: dict[tuple[str, str], tuple[HarvestModel, bool]] = {}
_LOCK = threading.RLock()


def model_names() -> tuple[str, ...]:
    """The registered ``--harvest`` names (plug-ins not included), in help order."""
    return tuple(HARVEST_MODELS)


def _entry_points():
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def check_model(model, spec: str, parameter: str = "--harvest") -> HarvestModel:
    """``model`` when it is a well-formed :class:`HarvestModel`, else :class:`ParameterError` naming
    ``parameter``."""
    where = f"the harvest model {spec!r}"
    if not isinstance(model, HarvestModel):
        raise ParameterError(parameter, f"{where} is a {type(model).__name__}, not a "
                                        "wsnmec.energy.harvesters.base.HarvestModel")
    if not (len(model.values) == len(model.units) == len(model.checks)):
        raise ParameterError(parameter, f"{where} declares {len(model.values)} values, {len(model.units)} units "
                                        f"and {len(model.checks)} checks (one of each per value)")
    bad = [c for c in model.checks if c not in VALUE_CHECKS]
    if bad:
        raise ParameterError(parameter, f"{where} has the value check {bad[0]!r}; allowed: {', '.join(VALUE_CHECKS)}")
    return model


def _load(key: str, target: str, builtin: bool, parameter: str, origin: str) -> HarvestModel:
    with _LOCK:
        cached = _LOADED.get((key, target))
        if cached is not None:
            return cached[0]
        model = check_model(import_object(target, parameter, origin), key, parameter)
        _LOADED[(key, target)] = (model, builtin)
        return model


def _is_builtin_target(target: str) -> bool:
    return target.startswith(BUILTIN_PACKAGE + ".")


def harvest_model(name: str, parameter: str = "--harvest") -> HarvestModel:
    """The model of ``name``: a registered name, an entry-point name, or ``module:object``."""
    key = name.strip()
    if key.lower() in HARVEST_MODELS:
        target = HARVEST_MODELS[key.lower()]
        return _load(key.lower(), target, _is_builtin_target(target), parameter, "the registered harvest model")
    if ":" in key:
        return _load(key, key, False, parameter, "the plug-in harvest model")
    for ep in _entry_points():
        if ep.name == key:
            return _load(key, ep.value, False, parameter, f"the entry point {key!r} ({ENTRY_POINT_GROUP}) =")
    raise ParameterError(parameter, f"must be {harvest_syntax()}, or {PLUGIN_SYNTAX}; got {name!r}")


def is_builtin(name: str) -> bool:
    """Whether ``name`` is a registered model of this package (compiled draw honoured)."""
    target = HARVEST_MODELS.get(name.strip().lower())
    return target is not None and _is_builtin_target(target)


def compiled_code(name: str) -> int | None:
    """The compiled dispatch code of model ``name`` (None: it runs through its Python ``offer``)."""
    if not is_builtin(name):
        return None
    return harvest_model(name).code


def split_spec(spec: str, parameter: str = "--harvest") -> tuple[str, str]:
    """``(kind, values text)`` of a ``--harvest`` value: ``kind`` is the registered or entry-point name (lower
    case for registered names) or ``module:object``; raises :class:`ParameterError` when it is none of those."""
    text = spec.strip()
    head, sep, rest = text.partition(":")
    name = head.strip()
    if name.lower() in HARVEST_MODELS:
        return name.lower(), rest
    obj, _, values = rest.partition(":")
    if sep and _IDENTIFIER.match(name) and _IDENTIFIER.match(obj.strip()):
        if not any(ep.name == name for ep in _entry_points()):
            return f"{name}:{obj.strip()}", values
    if name and any(ep.name == name for ep in _entry_points()):
        return name, rest
    raise ParameterError(parameter, f"must be {harvest_syntax()}, or {PLUGIN_SYNTAX}; got {spec!r}")


def _registered_models() -> list[HarvestModel]:
    return [harvest_model(name) for name in HARVEST_MODELS]


def harvest_syntax() -> str:
    """The registered models as the error messages list them (``HARVEST_SYNTAX``)."""
    items = [model.syntax or model.name for model in _registered_models()]
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return f"{listed} {SYNTAX_NOTE}"


def harvest_help() -> str:
    """The ``--harvest`` help text: the energy models, then the power models (which need ``--round-seconds``), then
    plug-ins (without the default, which the scenario parameter table adds)."""
    models = _registered_models()
    energy = ", ".join(m.help_text for m in models if not m.needs_round_seconds)
    power = ", ".join(m.help_text for m in models if m.needs_round_seconds)
    text = f"Energy harvesting: {energy} (energies [J] per round)"
    if power:
        text += f", or in power units {power} (need --round-seconds)"
    return (text + "; or a plug-in: MODULE:OBJECT[:VALUES] (importable from PYTHONPATH) or the name of an installed "
            f"{ENTRY_POINT_GROUP} entry point (see wsnmec.energy.harvesters.registry).")


def _target(kind: str) -> str:
    """The ``module:object`` a model name resolves to."""
    if kind.lower() in HARVEST_MODELS:
        return HARVEST_MODELS[kind.lower()]
    if ":" in kind:
        return kind
    return next(ep.value for ep in _entry_points() if ep.name == kind)


def harvest_record(kind: str) -> dict:
    """What a run records about a model that is not built in, besides its ``harvest`` value (empty for a built-in):
    ``harvest_spec`` (its ``module:object``) and ``harvest_sha256`` (SHA-256 of its module file, None when the
    module has no file)."""
    if is_builtin(kind):
        return {}
    harvest_model(kind)  # imported and checked
    target = _target(kind)
    module = sys.modules.get(target.partition(":")[0].strip())
    path = getattr(module, "__file__", None)
    digest = None
    if path:
        try:
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            digest = None
    return {"harvest_spec": target, "harvest_sha256": digest}
