"""What the columns of study results mean: axis labels with units, how a per-round column continues after a
run has ended, and derived columns.

These registries are what a new study extends: a new per-round column or summary metric that a figure may
plot needs one entry here; a derived column (computed from the swept parameters, e.g. the harvest model's
name from its full spec) is one small function in :data:`DERIVED_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

#: Per-round columns of :class:`wsnmec.sim.simulation.SimulationResult.rounds` a ``line`` figure may plot:
#: name -> (axis label with unit, padding rule after the run ended: "last" holds the final state, "zero"
#: means nothing happens any more, e.g. a per-round flow).
ROUND_COLUMNS: dict[str, tuple[str, str]] = {
    "alive": ("Alive nodes", "last"),
    "dead": ("Dead nodes", "last"),
    "cluster_heads": ("Cluster heads per round", "zero"),
    "residual_j": ("Total residual energy [J]", "last"),
    "consumed_j": ("Energy consumed per round [J]", "zero"),
    "harvested_j": ("Energy harvested per round [J]", "zero"),
    "packets_to_sink": ("Packets received by the sink per round", "zero"),
    "packets_to_ch": ("Packets received by cluster heads per round", "zero"),
    "nodes_ge_90pct": ("Nodes holding >= 90 % of battery capacity", "last"),
    "energy_j": ("Energy drawn per round [J]", "zero"),
    "latency_s": ("Round latency [s]", "zero"),
    "system_utility": ("System utility per round [J]", "zero"),
    "delivered_bits": ("Bits delivered to the sink per round", "zero"),
    "offloaded": ("Cluster heads offloading per round", "zero"),
    "offload_fallback": ("Rounds decided greedily by --offload exact (above its head limit)", "zero"),
    "control_j": ("Control energy per round [J]", "zero"),
    "stored_j": ("Total stored energy (signed) [J]", "last"),
}

#: Per-task summary metrics a ``metric`` figure may plot: name -> axis label with unit.
SUMMARY_METRICS: dict[str, str] = {
    "fnd": "FND: first node dies [round]",
    "hnd": "HND: half of the nodes dead [round]",
    "lnd": "LND: last node dies [round]",
    "rounds": "Rounds simulated",
    "energy_initial_j": "Initial energy [J]",
    "energy_harvested_j": "Energy harvested [J]",
    "energy_consumed_j": "Energy consumed [J]",
    "energy_residual_j": "Residual energy [J]",
    "energy_stored_j": "Stored energy (signed) [J]",
    "energy_j_mean": "Energy drawn per round, mean [J]",
    "latency_s_mean": "Round latency, mean [s]",
    "system_utility_mean": "System utility per round, mean [J]",
    "delivered_bits_total": "Bits delivered to the sink",
    "offload_fallback_rounds": "Rounds --offload exact decided greedily",
    # studies with a [bound] table only (wsnmec.study.limit):
    "fnd_over_bound": "FND / bound on FND (fraction of the limit)",
    "bound_fnd": "Upper bound on FND [round]",
    "bound_upper": "Upper bound on rounds all nodes survive [round]",
}

#: Columns (per-round, summary, swept or offloading parameters) whose values count things: rounds, nodes,
#: devices, frames. A figure's axis of one of them has whole-number ticks only (no "2.25 devices").
COUNTS = frozenset({
    "round", "rounds", "alive", "dead", "cluster_heads", "packets_to_sink", "packets_to_ch", "nodes_ge_90pct",
    "offloaded", "offload_fallback", "offload_fallback_rounds", "fnd", "hnd", "lnd", "bound_fnd", "bound_upper",
    "nodes", "sink_channels",
    "frame", "frames", "devices", "servers", "tasks", "train_frames", "test_frames", "candidates", "networks",
    "memory_size", "batch_size", "train_interval", "training_start", "last_recovery_frames",
})

#: Short names of summary metrics used in titles and readings.
METRIC_SHORT = {"fnd": "FND", "hnd": "HND", "lnd": "LND", "energy_j_mean": "energy", "latency_s_mean": "latency",
                "system_utility_mean": "utility",
                "fnd_over_bound": "FND / limit", "bound_fnd": "bound on FND"}

#: Axis / legend labels of scenario parameters (swept parameters become columns of the results).
PARAMETER_LABELS: dict[str, str] = {
    "protocol": "Protocol",
    "nodes": "Number of nodes N",
    "field": "Field W,H [m]",
    "sink": "Sink position [m]",
    "e0": "Initial energy E0 [J]",
    "p": "Cluster-head probability p",
    "packet_bits": "Packet length [bit]",
    "rounds": "Rounds",
    "semantics": "Semantics",
    "radio": "Radio model",
    "harvest": "Replenishment",
    "battery": "Battery capacity [J]",
    "positions": "Positions file",
    "deployment": "Deployment",
    "advanced_fraction": "Fraction of advanced nodes m",
    "advanced_factor": "Advanced energy factor a",
    "revive_threshold": "Revive threshold [J]",
    "offload": "Offloading rule",
    "workload": "Workload",
    "hardware": "Hardware",
    "time_weight": "Time weight w_T [J/s]",
    "join": "Join rule",
    "control_bits": "Control message [bit]",
    "idle_j": "Idle energy per round [J]",
    "e0_high": "Initial energy, upper end [J]",
    "round_seconds": "Round duration [s]",
    "medium": "Sink medium",
    "sink_channels": "Sink channels",
    "round": "Round",
    "harvest_model": "Replenishment model",
}


def _harvest_model(frame: pd.DataFrame) -> pd.Series:
    """The replenishment model's name (``solar`` of ``solar:0.001,200.0``)."""
    return frame["harvest"].astype(str).str.partition(":")[0]


#: Derived columns: name -> (the swept parameter it needs, function of the results table).
DERIVED_COLUMNS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "harvest_model": ("harvest", _harvest_model),
}


def label(column: str) -> str:
    """Axis label of a column (with its unit)."""
    if column in ROUND_COLUMNS:
        return ROUND_COLUMNS[column][0]
    if column in SUMMARY_METRICS:
        return SUMMARY_METRICS[column]
    return PARAMETER_LABELS.get(column, column)


def add_derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every derived column whose source parameter it holds."""
    for name, (source, function) in DERIVED_COLUMNS.items():
        if source in frame.columns and name not in frame.columns:
            frame = frame.assign(**{name: function(frame)})
    return frame
