"""Registry of clustering policies: name -> ``"module:Class"`` (imported on first use).

A new policy is one file in :mod:`wsnmec.clustering` plus one line here; ``Scenario.protocol`` and
``wsnmec run --protocol`` accept every name and alias listed.
"""

from __future__ import annotations

import importlib

from ..errors import ParameterError

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
    "lp-schedule": "wsnmec.clustering.lp_schedule:LPSchedulePolicy",
}

#: Other names of registered policies (kept for existing scripts and study files).
ALIASES: dict[str, str] = {"ileach": "leach-dchs"}


def protocol_names() -> tuple[str, ...]:
    """Every accepted ``--protocol`` value: the registered names, then the aliases."""
    return tuple(CLUSTERING_POLICIES) + tuple(ALIASES)


def canonical_name(name: str) -> str:
    """The registered name of ``name`` (resolving aliases)."""
    return ALIASES.get(name, name)


def policy_class(name: str, parameter: str = "--protocol"):
    """The policy class registered under ``name`` (or an alias)."""
    key = canonical_name(name)
    if key not in CLUSTERING_POLICIES:
        raise ParameterError(parameter, f"must be one of {', '.join(protocol_names())}; got {name!r}")
    module, _, attr = CLUSTERING_POLICIES[key].partition(":")
    return getattr(importlib.import_module(module), attr)


def make_policy(name: str, scenario):
    """A new policy object for ``scenario``."""
    return policy_class(name)(scenario)
