"""Policies score head sets through the state (``NetworkState.score``), never through the compiled kernel."""

from __future__ import annotations

import ast
import dataclasses
import pathlib

import numpy as np

from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario

CLUSTERING = pathlib.Path(__file__).resolve().parents[1] / "wsnmec" / "clustering"


def _loop():
    scenario = Scenario.from_mapping({"protocol": "ddnn-rule", "nodes": 30, "field": [60, 60], "sink": [30, 90],
                                      "harvest": "constant:1e-5"})
    loop = RoundLoop(scenario, 4)
    loop.run(7)
    return loop


def test_state_scores_equal_the_loops_and_a_detached_states():
    loop = _loop()
    masks = np.random.default_rng(0).random((6, loop.n)) < 0.15
    by_loop = loop.score(masks, rule="greedy", per_node=True)
    by_state = loop.state.score(masks, rule="greedy", per_node=True)
    detached = dataclasses.replace(loop.state, scorer=None)  # the same arrays, no round loop behind them
    by_detached = detached.score(masks, rule="greedy", per_node=True)
    for other in (by_state, by_detached):
        for name in ("energy_j", "latency_s", "system_utility", "delivered_bits", "drawn"):
            assert np.array_equal(getattr(by_loop, name), getattr(other, name)), name
    before = loop.energy.copy()
    loop.state.score(masks, rule="edge")
    assert np.array_equal(loop.energy, before)  # a dry run changes nothing


def test_no_clustering_policy_calls_the_compiled_scorer():
    offenders = []
    for path in sorted(CLUSTERING.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(a.name == "score_candidates_jit" for a in node.names):
                offenders.append(path.name)
    assert offenders == []


def test_a_replaced_state_scores_its_own_arrays():
    """``dataclasses.replace`` keeps the loop's scorer in the field, yet the new state's scores read the new
    state's energies (as a state built from those arrays alone, at their current values), and the loop's
    own scores are left as they were."""
    loop = _loop()
    masks = np.random.default_rng(1).random((5, loop.n)) < 0.2
    before = loop.state.score(masks, rule="local", per_node=True)
    starved = loop.energy * 1e-6  # too little for a round: every draw is cut at what the node holds
    poorer = dataclasses.replace(loop.state, energy=starved)
    by_poorer = poorer.score(masks, rule="local", per_node=True)
    assert not np.array_equal(by_poorer.drawn, before.drawn)
    by_alone = dataclasses.replace(poorer, scorer=None).score(masks, rule="local", per_node=True)
    for name in ("energy_j", "latency_s", "system_utility", "drawn"):
        assert np.array_equal(getattr(by_poorer, name), getattr(by_alone, name)), name
    assert np.array_equal(loop.state.score(masks, rule="local", per_node=True).drawn, before.drawn)
    starved[:] = loop.energy  # the replaced state's array, changed in place, is read at its new values
    assert np.array_equal(poorer.score(masks, rule="local", per_node=True).drawn, before.drawn)
