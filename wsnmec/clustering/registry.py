"""Registry of clustering policies: the one place that turns a ``--protocol`` value into a policy class.

A ``--protocol`` value (``Scenario.protocol``, a study's ``protocol``, the Gymnasium environment's scenario)
is one of

- a built-in name of :data:`CLUSTERING_POLICIES` (``"module:Class"``, imported on first use) or an alias of
  :data:`ALIASES`;
- a plug-in given as ``package.module:Class`` (``Class`` may be dotted, ``Outer.Inner``): the module is
  imported from ``sys.path`` (an installed package, or a directory on ``PYTHONPATH``);
- the name of an entry point of the group ``wsnmec.policies`` (:data:`ENTRY_POINT_GROUP`) declared by an
  installed package, e.g. in its ``pyproject.toml``::

      [project.entry-points."wsnmec.policies"]
      spread-richest = "mypolicy:SpreadRichest"

  Entry points are looked up only when a value is neither built in nor ``module:Class`` (lazily); a
  built-in name always wins over an entry point of the same name.

A plug-in class must be a subclass of :class:`wsnmec.clustering.base.ClusteringPolicy` that defines
``elect`` and whose ``control`` is one of :data:`CONTROL_PATTERNS`; it runs through the policy round loop
(never the fused loop, even when it inherits a built-in's ``fused_code``). Every failure (the import, a
missing attribute, a class that is not a policy) is a :class:`~wsnmec.errors.ParameterError` naming
``--protocol``. Runs record the value as given (``protocol``) and, for a plug-in, :func:`protocol_record`
(its ``module:Class`` and the SHA-256 of its module file), which is also part of a study task's cache key.

A built-in policy is one file plus one line in :data:`CLUSTERING_POLICIES`: the file is in :mod:`wsnmec.clustering`,
or in the package of the layer it builds on (``lp-schedule`` executes the lifetime bound: :mod:`wsnmec.bound.lp_schedule`).
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import threading

from ..errors import ParameterError, import_object, one_line

CLUSTERING_POLICIES: dict[str, str] = {
    "direct": "wsnmec.clustering.direct:DirectPolicy",
    "leach": "wsnmec.clustering.leach:LeachPolicy",
    "leach-dchs": "wsnmec.clustering.leach_dchs:LeachDCHSPolicy",
    "leach-c": "wsnmec.clustering.leach_c:LeachCPolicy",
    "deec": "wsnmec.clustering.deec:DEECPolicy",
    "heed": "wsnmec.clustering.heed:HeedPolicy",
    "ddnn": "wsnmec.clustering.ddnn:DDNNPolicy",
    "ddnn-rule": "wsnmec.clustering.ddnn:DDNNRulePolicy",
    "spread": "wsnmec.clustering.spread:SpreadPolicy",
    "anneal": "wsnmec.clustering.anneal:AnnealPolicy",
    "lp-schedule": "wsnmec.bound.lp_schedule:LPSchedulePolicy",
    "ddnn-price": "wsnmec.clustering.priced:PricedPolicy",
    "ddnn-price-rule": "wsnmec.clustering.priced:PricedRulePolicy",
}

#: Other names of registered policies (kept for existing scripts and study files).
ALIASES: dict[str, str] = {"ileach": "leach-dchs"}

#: A few words on a built-in policy in the ``--protocol`` help (:func:`protocol_help`), where its name alone
#: does not say what it is.
DESCRIPTIONS: dict[str, str] = {
    "ddnn": "the sink picks each round's heads among learned proposals scored by a one-round model of the network",
    "ddnn-rule": "the same without learning",
    "ddnn-price": "learned per-node energy prices over anneal's start pool",
    "ddnn-price-rule": "the same with prices 1/e",
}

#: Entry-point group of installed plug-in policies (name -> ``"module:Class"``).
ENTRY_POINT_GROUP = "wsnmec.policies"

#: Control-message patterns a policy may declare (the keys of :data:`wsnmec.energy.layout.CONTROL_KINDS`).
CONTROL_PATTERNS = ("none", "distributed", "centralized")

#: What ``--protocol`` accepts besides the listed names (the error messages say it).
PLUGIN_SYNTAX = "MODULE:CLASS (a plug-in policy)"


def protocol_names() -> tuple[str, ...]:
    """Every built-in ``--protocol`` value: the registered names, then the aliases (plug-ins not included:
    :func:`plugin_names` lists the installed entry points)."""
    return tuple(CLUSTERING_POLICIES) + tuple(ALIASES)


def protocol_help() -> str:
    """The ``--protocol`` help, made from the registry: every built-in name in registration order, its aliases
    and :data:`DESCRIPTIONS` in brackets, then the plug-in forms."""
    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    items = []
    for name in CLUSTERING_POLICIES:
        notes = [f"alias {alias}" for alias in aliases.get(name, [])]
        notes += [DESCRIPTIONS[name]] if name in DESCRIPTIONS else []
        items.append(f"{name} ({'; '.join(notes)})" if notes else name)
    return (f"Clustering policy: {', '.join(items[:-1])}, {items[-1]}; or a plug-in: MODULE:CLASS (importable "
            f"from PYTHONPATH) or the name of an installed {ENTRY_POINT_GROUP} entry point (see "
            "wsnmec.clustering.registry).")


def canonical_name(name: str) -> str:
    """The registered name of ``name`` (resolving aliases); a plug-in's value unchanged."""
    return ALIASES.get(name, name)


def is_builtin(name: str) -> bool:
    """Whether ``name`` is a built-in policy name or alias."""
    return canonical_name(name) in CLUSTERING_POLICIES


def is_plugin_spec(name: str) -> bool:
    """Whether ``name`` is written ``module:Class``."""
    return isinstance(name, str) and ":" in name


def _entry_points():
    """The installed entry points of :data:`ENTRY_POINT_GROUP` (read on each call: cheap, and only when a
    value is not a built-in name)."""
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def plugin_names() -> tuple[str, ...]:
    """Names of the installed entry-point policies (``wsnmec.policies``), sorted."""
    return tuple(sorted({ep.name for ep in _entry_points()}))


def _allowed() -> str:
    names = list(protocol_names()) + [n for n in plugin_names() if not is_builtin(n)]
    return f"must be one of {', '.join(names)}, or {PLUGIN_SYNTAX}"


def check_policy_class(cls, spec: str, parameter: str = "--protocol"):
    """``cls`` when it satisfies the policy interface, else :class:`ParameterError` naming ``parameter``:
    a subclass of :class:`~wsnmec.clustering.base.ClusteringPolicy` with its own ``elect`` and a ``control``
    of :data:`CONTROL_PATTERNS`."""
    from .base import ClusteringPolicy

    where = f"the plug-in policy {spec!r}"
    if not isinstance(cls, type):
        raise ParameterError(parameter, f"{where} is a {type(cls).__name__}, not a class (a subclass of "
                                        "wsnmec.clustering.base.ClusteringPolicy)")
    if not issubclass(cls, ClusteringPolicy):
        raise ParameterError(parameter, f"{where} is not a subclass of wsnmec.clustering.base.ClusteringPolicy")
    if getattr(cls, "elect") is getattr(ClusteringPolicy, "elect") or not callable(cls.elect):
        raise ParameterError(parameter, f"{where} does not define elect(state, rng) -> cluster-head mask")
    if cls.control not in CONTROL_PATTERNS:
        raise ParameterError(parameter, f"{where} has control = {cls.control!r}; allowed: "
                                        f"{', '.join(CONTROL_PATTERNS)}")
    return cls


def _import_spec(spec: str, parameter: str, origin: str):
    """Import ``module:Class`` (``origin`` says where the value came from, for the messages)."""
    return import_object(spec, parameter, origin,
                         form="a plug-in policy is written MODULE:CLASS (e.g. mypolicy:SpreadRichest)")


#: Resolved plug-ins: value -> (class, "module:Class", entry-point distribution or None, module file SHA-256).
_PLUGINS: dict[str, tuple] = {}
_PLUGINS_LOCK = threading.RLock()


def _module_file(cls) -> str | None:
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None) if module is not None else None


def _file_sha256(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _resolve_plugin(name: str, parameter: str):
    """(class, spec, distribution) of a plug-in value, or None when ``name`` is no plug-in at all."""
    if is_plugin_spec(name):
        return _import_spec(name, parameter, "the plug-in policy"), name, None
    matches = [ep for ep in _entry_points() if ep.name == name]
    if not matches:
        return None
    ep = matches[0]
    dist = getattr(ep, "dist", None)
    distribution = f"{dist.name} {dist.version}" if dist is not None else None
    return _import_spec(ep.value, parameter, f"the entry point {name!r} ({ENTRY_POINT_GROUP}) ="), ep.value, distribution


def _plugin(name: str, parameter: str = "--protocol"):
    """The resolved plug-in entry of ``name``; imported once per process, re-imported when its module
    file changed since (so that the code run and the hash recorded agree in a long-lived process)."""
    with _PLUGINS_LOCK:  # replicas run in threads
        return _plugin_unlocked(name, parameter)


def _plugin_unlocked(name: str, parameter: str):
    cached = _PLUGINS.get(name)
    if cached is not None:
        cls, spec, distribution, sha = cached
        if _file_sha256(_module_file(cls)) == sha:
            return cached
        module = sys.modules.get(cls.__module__)
        if module is not None:
            try:
                importlib.reload(module)
            except Exception as exc:
                raise ParameterError(parameter, f"cannot re-import the changed module of the plug-in policy "
                                                f"{spec!r}: {one_line(exc)}") from None
    resolved = _resolve_plugin(name, parameter)
    if resolved is None:
        raise ParameterError(parameter, f"{_allowed()}; got {name!r}")
    cls, spec, distribution = resolved
    check_policy_class(cls, spec, parameter)
    entry = (cls, spec, distribution, _file_sha256(_module_file(cls)))
    _PLUGINS[name] = entry
    return entry


def check_protocol(name, parameter: str = "--protocol") -> str:
    """Validate a ``--protocol`` value (built-in, alias, ``module:Class`` or entry-point name; a plug-in is
    imported and checked) and return it as given."""
    if not isinstance(name, str):
        raise ParameterError(parameter, f"{_allowed()}; got {name!r}")
    policy_class(name, parameter)
    return name


def policy_class(name: str, parameter: str = "--protocol"):
    """The policy class of ``name``: a registered name or alias, ``module:Class``, or an entry point."""
    key = canonical_name(name)
    if key in CLUSTERING_POLICIES:
        module, _, attr = CLUSTERING_POLICIES[key].partition(":")
        return getattr(importlib.import_module(module), attr)
    return _plugin(name, parameter)[0]


def runs_fused(name: str) -> bool:
    """Whether the fused compiled loop runs ``name``: built-in policies with a ``fused_code`` only."""
    return is_builtin(name) and policy_class(name).fused_code is not None


def protocol_record(name: str) -> dict:
    """What a run records about a plug-in policy besides its ``protocol`` value (empty for a built-in):
    ``protocol_spec`` (its ``module:Class``), ``protocol_sha256`` (SHA-256 of its module file, None when
    the module has no file) and, for an entry point, ``protocol_distribution`` (its package and version).
    Part of a study task's cache key, so that a changed plug-in is run again."""
    if is_builtin(name):
        return {}
    _, spec, distribution, sha = _plugin(name)
    record = {"protocol_spec": spec, "protocol_sha256": sha}
    if distribution is not None:
        record["protocol_distribution"] = distribution
    return record


def make_policy(name: str, scenario):
    """A new policy object for ``scenario``."""
    return policy_class(name)(scenario)
