"""Clustering policies: who becomes cluster head (CH) in a round.

One module per policy (:mod:`.direct`, :mod:`.leach`, :mod:`.leach_dchs`, ...), each defining a
:class:`~wsnmec.clustering.base.ClusteringPolicy`; :mod:`.registry` maps the values of ``--protocol`` to them
(the names and aliases of the built-in policies, plug-ins' ``module:Class`` and ``wsnmec.policies`` entry points).
The built-in protocols also expose compiled ``elect_*`` functions that the fused loop
(:mod:`wsnmec.sim.kernel`) calls.
"""

from .base import ClusteringPolicy
from .leach import epoch_length, leach_threshold
from .leach_dchs import leach_dchs_threshold
from .registry import (ALIASES, CLUSTERING_POLICIES, ENTRY_POINT_GROUP, canonical_name, check_protocol, make_policy,
                       plugin_names, policy_class, protocol_names, protocol_record)

__all__ = ["ALIASES", "CLUSTERING_POLICIES", "ENTRY_POINT_GROUP", "ClusteringPolicy", "canonical_name",
           "check_protocol", "epoch_length", "leach_dchs_threshold", "leach_threshold", "make_policy",
           "plugin_names", "policy_class", "protocol_names", "protocol_record"]
