"""Offloading engine: system-utility models, exact optimum, baselines and the DDLO learner.

Models (:mod:`.mumt`, :mod:`.wsn_ch`, :mod:`.wpmec`) score batches of binary decisions in compiled code; solvers
(:mod:`.solvers`) and the learner (:mod:`.ddlo`) maximise ``sense * utility``; :mod:`.online` runs the
learner frame by frame and compares it with the baselines. See :mod:`.models` for the conventions.
"""

from .datasets import DDLODataset, DROODataset, load_ddlo, load_droo
from .ddlo import DDLO, QUANTIZATIONS, quantize
from .models import OffloadModel, normalized_utility
from .mumt import MUMT_DEFAULTS, mumt_model
from .online import compare_policies, run_online
from .partition import PARTITION_BASELINES, PartitionModel, partition_model
from .solvers import (
    BASELINES,
    all_local,
    all_offload,
    coordinate_descent,
    exact,
    greedy,
    random_policy,
)
from .wpmec import WPMEC_DEFAULTS, wpmec_allocation, wpmec_model, wpmec_states
from .wsn_ch import WSN_CH_DEFAULTS, wsn_ch_breakdown, wsn_ch_model, wsn_ch_state_from_round

#: Model families by name (the CLI's ``--model``); each builds an OffloadModel.
MODELS = {"mumt": mumt_model, "wsn-ch": wsn_ch_model, "wpmec": wpmec_model}


def model_parameters(name: str) -> list[str]:
    """Names of the constants of model family ``name`` that ``make_model`` accepts as overrides."""
    if name == "mumt":
        return [*MUMT_DEFAULTS, "uplink_rate"]
    if name == "wpmec":
        return list(WPMEC_DEFAULTS)
    return list(WSN_CH_DEFAULTS)


def make_model(name: str, devices: int, tasks: int = 1, **overrides) -> OffloadModel:
    """Build model ``name`` (``mumt``: ``devices`` x ``tasks``; ``wsn-ch``: ``devices`` cluster heads;
    ``wpmec``: ``devices`` wireless devices).

    ``overrides`` are the CLI's ``--param KEY=VALUE`` pairs (keys of :func:`model_parameters`). Errors
    name the option the user wrote: ``--model`` (unknown model, listing the valid names), ``--devices``,
    ``--tasks``, and ``--param KEY`` for an unknown key (listing the valid keys) or a bad value.
    """
    from ..errors import ParameterError

    if name not in MODELS:
        raise ParameterError("--model", f"unknown model {name!r}; valid models: {', '.join([*MODELS, 'partition'])}")
    allowed = model_parameters(name)
    for key in overrides:
        if key not in allowed:
            raise ParameterError(f"--param {key}", f"not a {name} parameter; valid: {', '.join(allowed)}")
    if name in ("wsn-ch", "wpmec") and tasks != 1:
        raise ParameterError("--tasks", f"must be 1 for {name} (one decision per device), got {tasks!r}")
    try:
        if name == "mumt":
            return mumt_model(devices, tasks, **overrides)
        if name == "wpmec":
            return wpmec_model(devices, **overrides)
        return wsn_ch_model(devices, **overrides)
    except ParameterError as exc:
        if exc.parameter in allowed:  # a model constant: the user set it (or its partner) with --param
            raise ParameterError(f"--param {exc.parameter}", exc.message) from None
        raise


__all__ = [
    "BASELINES", "DDLO", "DDLODataset", "DROODataset", "MODELS", "MUMT_DEFAULTS", "OffloadModel",
    "PARTITION_BASELINES", "PartitionModel", "QUANTIZATIONS", "WPMEC_DEFAULTS", "WSN_CH_DEFAULTS", "all_local",
    "all_offload", "compare_policies", "coordinate_descent", "exact", "greedy", "load_ddlo", "load_droo",
    "make_model", "model_parameters", "mumt_model", "normalized_utility", "partition_model", "quantize",
    "random_policy", "run_online", "wpmec_allocation", "wpmec_model", "wpmec_states", "wsn_ch_breakdown",
    "wsn_ch_model", "wsn_ch_state_from_round",
]
