"""Offloading engine: system-utility models, exact optimum, baselines and the DDLO learner.

Models (:mod:`.mumt`, :mod:`.wsn_ch`) score batches of binary decisions in compiled code; solvers
(:mod:`.solvers`) and the learner (:mod:`.ddlo`) maximise ``sense * utility``; :mod:`.online` runs the
learner frame by frame and compares it with the baselines. See :mod:`.models` for the conventions.
"""

from .datasets import DDLODataset, load_ddlo
from .ddlo import DDLO, QUANTIZATIONS, quantize
from .models import OffloadModel, normalized_utility
from .mumt import MUMT_DEFAULTS, mumt_model
from .online import compare_policies, run_online
from .solvers import (
    BASELINES,
    all_local,
    all_offload,
    coordinate_descent,
    exact,
    greedy,
    random_policy,
)
from .wsn_ch import WSN_CH_DEFAULTS, wsn_ch_breakdown, wsn_ch_model, wsn_ch_state_from_round

#: Model families by name (the CLI's ``--model``); each builds an OffloadModel.
MODELS = {"mumt": mumt_model, "wsn-ch": wsn_ch_model}


def make_model(name: str, devices: int, tasks: int = 1, **overrides) -> OffloadModel:
    """Build model ``name`` (``mumt``: ``devices`` x ``tasks``; ``wsn-ch``: ``devices`` cluster heads).

    Raises ParameterError listing the valid names for an unknown model.
    """
    from ..errors import ParameterError

    if name not in MODELS:
        raise ParameterError("--model", f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    if name == "mumt":
        allowed = [k for k in MUMT_DEFAULTS] + ["uplink_rate"]
        for key in overrides:
            if key not in allowed:
                raise ParameterError(key, f"is not a mumt parameter; valid names: {', '.join(allowed)}")
        return mumt_model(devices, tasks, **overrides)
    if tasks != 1:
        raise ParameterError("--tasks", f"must be 1 for wsn-ch (one task per cluster head), got {tasks!r}")
    return wsn_ch_model(devices, **overrides)


__all__ = [
    "BASELINES", "DDLO", "DDLODataset", "MODELS", "MUMT_DEFAULTS", "OffloadModel", "QUANTIZATIONS",
    "WSN_CH_DEFAULTS", "all_local", "all_offload", "compare_policies", "coordinate_descent", "exact",
    "greedy", "load_ddlo", "make_model", "mumt_model", "normalized_utility", "quantize", "random_policy",
    "run_online", "wsn_ch_breakdown", "wsn_ch_model", "wsn_ch_state_from_round",
]
