"""The compiled round kernels are called with writable arrays only, so each is compiled once per kind of run.

numba compiles (and caches, and ``wsnmec warmup`` warms) one machine code per argument type, and a read-only
array is another type than a writable one. The policies see read-only views of the network state
(:class:`wsnmec.sim.state.NetworkState`); :func:`wsnmec.sim.state.kernel_input` hands the kernels the live
arrays instead.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba.core import types

from wsnmec.sim import accounting, nearest
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate
from wsnmec.sim.state import kernel_input, read_only

KERNELS = {
    "score_candidates_jit": accounting.score_candidates_jit,
    "account_round_jit": accounting.account_round_jit,
    "charge_round_jit": accounting.charge_round_jit,
    "decide_offload_jit": accounting.decide_offload_jit,
    "assign_receivers_jit": nearest.assign_receivers_jit,
}


def _read_only_arguments(dispatcher) -> list:
    return [(signature, position) for signature in dispatcher.signatures
            for position, argument in enumerate(signature)
            if isinstance(argument, types.Array) and not argument.mutable]


@pytest.mark.parametrize("protocol", ["ddnn-rule", "spread", "lp-schedule", "leach"])
def test_round_kernels_never_see_a_read_only_array(protocol):
    """A run of a policy that scores candidates on the state (ddnn-rule, spread), one that solves the bound on
    the state's deployment (lp-schedule) and a fused run (leach) leave no read-only specialisation."""
    scenario = Scenario.from_mapping({"protocol": protocol, "nodes": 12, "field": [40, 40], "sink": [20, 50],
                                      "e0": 0.01, "rounds": 6})
    simulate(scenario, seed=3)
    for name, dispatcher in KERNELS.items():
        assert _read_only_arguments(dispatcher) == [], name


def test_kernel_input_returns_the_live_array_behind_a_read_only_view():
    live = np.arange(5.0)
    view = read_only(live)
    assert kernel_input(view) is live
    assert kernel_input(live) is live
    sliced = read_only(live[1:4])  # a view of a slice: its base has another shape, so a copy
    out = kernel_input(sliced)
    assert out.flags.writeable and out is not live and out.tolist() == [1.0, 2.0, 3.0]
    frozen = np.arange(3.0)
    frozen.flags.writeable = False  # no writable base at all
    copied = kernel_input(frozen)
    assert copied.flags.writeable and copied.tolist() == frozen.tolist()
