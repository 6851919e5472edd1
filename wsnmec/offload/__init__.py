"""Offloading engine: system-utility models, exact optimum, baselines and the DDLO learner.

Model families (:mod:`.mumt`, :mod:`.wsn_ch`, :mod:`.wpmec`, one file each, registered in
:data:`.registry.OFFLOAD_FAMILIES`; plug-ins: :mod:`.registry`) score batches of binary decisions; solvers
(:mod:`.solvers`) and the learner (:mod:`.ddlo`) maximise ``sense * utility``; :mod:`.online` runs the
learner frame by frame and compares it with the baselines. See :mod:`.models` for the conventions.
"""

import dataclasses

from .constants import PLUGIN_KIND
from .datasets import DDLODataset, DROODataset, load_ddlo, load_droo
from .ddlo import DDLO, QUANTIZATIONS, quantize
from .models import OffloadModel, normalized_utility
from .mumt import MUMT_DEFAULTS, mumt_model
from .online import compare_policies, run_online
from .partition import PARTITION_BASELINES, PartitionModel, partition_model
from .registry import OFFLOAD_FAMILIES, is_builtin, offload_family
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

#: Registered model families by name (the CLI's ``--model``) -> their model builder (generated from the registry).
MODELS = {name: offload_family(name).build for name in OFFLOAD_FAMILIES}


def model_parameters(name: str) -> list[str]:
    """Names of the constants of model family ``name`` that ``make_model`` accepts as overrides."""
    return list(offload_family(name).defaults)


def make_model(name: str, devices: int, tasks: int = 1, **overrides) -> OffloadModel:
    """Build model ``name`` (``mumt``: ``devices`` x ``tasks``; ``wsn-ch``: ``devices`` cluster heads;
    ``wpmec``: ``devices`` wireless devices; any family of :mod:`.registry`, or a plug-in ``module:object``).

    ``overrides`` are the CLI's ``--param KEY=VALUE`` pairs (keys of :func:`model_parameters`). Errors
    name the option the user wrote: ``--model`` (unknown model, listing the valid names), ``--devices``,
    ``--tasks``, and ``--param KEY`` for an unknown key (listing the valid keys) or a bad value.
    """
    from ..errors import ParameterError

    family = offload_family(name)
    allowed = model_parameters(name)
    for key in overrides:
        if key not in allowed:
            raise ParameterError(f"--param {key}", f"not a {name} parameter; valid: {', '.join(allowed)}")
    if not family.takes_tasks and tasks != 1:
        raise ParameterError("--tasks", f"must be 1 for {name} (one decision per device), got {tasks!r}")
    try:
        model = family.build(devices, tasks, **overrides) if family.takes_tasks else family.build(devices, **overrides)
    except ParameterError as exc:
        if exc.parameter in allowed:  # a model constant: the user set it (or its partner) with --param
            raise ParameterError(f"--param {exc.parameter}", exc.message) from None
        raise
    if not isinstance(model, OffloadModel):
        raise ParameterError("--model", f"the family {name!r} built a {type(model).__name__}, not an OffloadModel")
    if not is_builtin(name) and model.kind != PLUGIN_KIND:  # only a built-in's models reach the compiled kernels
        model = dataclasses.replace(model, kind=PLUGIN_KIND)
    return model


__all__ = [
    "BASELINES", "DDLO", "DDLODataset", "DROODataset", "MODELS", "MUMT_DEFAULTS", "OFFLOAD_FAMILIES", "OffloadModel",
    "PARTITION_BASELINES", "PartitionModel", "QUANTIZATIONS", "WPMEC_DEFAULTS", "WSN_CH_DEFAULTS", "all_local",
    "all_offload", "compare_policies", "coordinate_descent", "exact", "greedy", "load_ddlo", "load_droo",
    "make_model", "model_parameters", "offload_family", "mumt_model", "normalized_utility", "partition_model", "quantize",
    "random_policy", "run_online", "wpmec_allocation", "wpmec_model", "wpmec_states", "wsn_ch_breakdown",
    "wsn_ch_model", "wsn_ch_state_from_round",
]
