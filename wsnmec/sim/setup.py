"""From a validated scenario to the packed constants of the compiled round (one place for both loops)."""

from __future__ import annotations

import math

import numpy as np

from ..energy.workload import hardware_preset, workload_preset
from .accounting import MEDIUMS, round_parameters
from .kernel import SEMANTICS_CODES


def round_parameters_for(scenario, bbox: np.ndarray, control_kind: int) -> np.ndarray:
    """The packed round constants (:func:`wsnmec.sim.accounting.round_parameters`) of ``scenario``.

    ``bbox`` is ``[x_min, y_min, x_span, y_span]`` of the node positions [m]; the advertisement range of the
    distributed control messages is its diagonal [m].
    """
    semantics = SEMANTICS_CODES[scenario.semantics]
    return round_parameters(
        scenario.radio_model(), scenario.packet_bits, workload_preset(scenario.workload),
        hardware_preset(scenario.hardware), time_weight=scenario.time_weight,
        control_bits=scenario.control_bits, idle_j=scenario.idle_j, semantics=semantics,
        idle_without_ch=scenario.semantics == "matlab" and scenario.protocol != "direct",
        join_cluster=scenario.join == "cluster", control_kind=control_kind,
        diameter=math.hypot(float(bbox[2]), float(bbox[3])), medium=MEDIUMS[scenario.medium],
        sink_channels=scenario.sink_channels)
