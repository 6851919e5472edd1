"""Every offloading model family of the registry (:data:`wsnmec.offload.registry.OFFLOAD_FAMILIES`) passes the same
checks, generated from it (a family registered there is checked without being listed here): seeded
reproducibility of an online experiment, one-line refusals of bad ``--param`` values naming the key, and the
feasibility of every policy's decisions (binary, of the model's length, finite and non-negative utilities, none
better than the exact optimum).

The compiled families are a closed set (the generic kernels branch on ``OffloadModel.kind`` in
:mod:`wsnmec.offload.dispatch`), so the last tests check that every registered compiled family has its branch
calling its own hooks in each dispatch function, and that the Python path the solvers take for a plug-in family
finds the same decisions as the compiled path.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest

from wsnmec.errors import ParameterError
from wsnmec.offload import BASELINES, make_model, solvers
from wsnmec.offload import dispatch
from wsnmec.offload.constants import PLUGIN_KIND
from wsnmec.offload.online import run_experiment
from wsnmec.offload.registry import family_names, offload_family

FAMILIES = list(family_names())
#: Timing columns and fields (wall clock), left out of the comparisons.
TIMING = ("decision_ms", "train_ms", "decision_ms_median", "decision_ms_mean", "train_ms_total")


def small_model(name: str):
    """A model of ``name`` with 3 devices (and its default tasks per device)."""
    family = offload_family(name)
    return make_model(name, 3, family.default_tasks)


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING}
    return value


@pytest.mark.parametrize("name", FAMILIES)
def test_seeded_experiments_repeat(name):
    runs = [run_experiment(name, devices=3, frames=40, seed=seed, networks=2) for seed in (5, 5, 6)]
    (first, first_result), (again, again_result), (other, _) = runs
    columns = [c for c in first.columns if c not in TIMING]
    pd.testing.assert_frame_equal(first[columns], again[columns])
    assert _without_timing(first_result) == _without_timing(again_result)
    assert not np.array_equal(first["utility"].to_numpy(), other["utility"].to_numpy())


@pytest.mark.parametrize("name", FAMILIES)
def test_bad_parameters_are_one_line_errors_naming_the_key(name):
    family = offload_family(name)
    with pytest.raises(ParameterError) as caught:
        make_model(name, 3, family.default_tasks, no_such_constant=1.0)
    assert caught.value.parameter == "--param no_such_constant"
    for key in family.defaults:
        with pytest.raises(ParameterError) as caught:
            make_model(name, 3, family.default_tasks, **{key: "not-a-number"})
        assert caught.value.parameter == f"--param {key}", (key, caught.value)
        assert "\n" not in str(caught.value)
    with pytest.raises(ParameterError) as caught:
        make_model(name, 0, family.default_tasks)
    assert caught.value.parameter == "--devices"


@pytest.mark.parametrize("name", FAMILIES)
def test_every_policy_decides_feasibly_and_none_beats_the_optimum(name):
    model = small_model(name)
    states = model.random_states(np.random.default_rng(11), 6)
    _, optimum = solvers.exact(model, states)
    for policy, solve in BASELINES.items():
        args = (np.random.default_rng(1),) if policy == "random" else ()
        decisions, utilities = solve(model, states, *args)
        assert decisions.shape == (6, model.n_decisions) and set(np.unique(decisions)) <= {0, 1}, policy
        assert np.isfinite(utilities).all() and (utilities >= 0).all(), policy  # energies, costs and rates
        np.testing.assert_allclose(model.score(states, decisions), utilities, rtol=1e-12, err_msg=policy)
        assert (model.sense * utilities <= model.sense * optimum + 1e-9 * np.abs(optimum)).all(), policy


def _branches(function) -> dict[int, set]:
    """Kernel id -> the objects called in its branch (``if kind == ID: return hook(...)``) of a dispatch
    function, read from its source."""
    source = ast.parse(inspect.getsource(function.py_func))
    branches = {}
    for node in ast.walk(source):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name)
                and node.test.left.id == "kind" and isinstance(node.test.comparators[0], ast.Name)):
            kind = getattr(dispatch, node.test.comparators[0].id)
            branches.setdefault(kind, []).extend(
                getattr(dispatch, call.func.id) for statement in node.body for call in ast.walk(statement)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name))
    return branches


@pytest.mark.parametrize("name", [n for n in FAMILIES if offload_family(n).compiled])
def test_every_compiled_family_has_its_branch_in_the_dispatch(name):
    family = offload_family(name)
    assert dispatch.MODEL_KINDS.get(name) == family.kind and family.kind in dispatch.COMPILED_KINDS
    assert list(dispatch.MODEL_KINDS.values()).count(family.kind) == 1, "two families share a kernel id"
    assert small_model(name).kind == family.kind
    for function, hook in ((dispatch.score, family.score), (dispatch.gray_init, family.gray_init),
                           (dispatch.gray_flip, family.gray_flip)):
        called = _branches(function).get(family.kind)
        assert called is not None, f"{function.__name__} has no branch for {name} (kind {family.kind})"
        assert any(c is hook for c in called), f"{function.__name__}'s branch of {name} does not call its hook"


@pytest.mark.parametrize("name", [n for n in FAMILIES if offload_family(n).compiled])
def test_the_python_path_of_the_solvers_agrees_with_the_compiled_one(name):
    """What a plug-in family runs (scoring through ``OffloadModel.score``), checked on a compiled family."""
    model = small_model(name)
    scored = dataclasses.replace(model, kind=PLUGIN_KIND)
    states = model.random_states(np.random.default_rng(3), 4)
    for solve in (solvers.exact, solvers.coordinate_descent):
        compiled_decisions, compiled_utilities = solve(model, states)
        decisions, utilities = solve(scored, states)
        np.testing.assert_array_equal(decisions, compiled_decisions)
        np.testing.assert_allclose(utilities, compiled_utilities, rtol=1e-12)
