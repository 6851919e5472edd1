"""Every harvest model of the registry (:data:`wsnmec.energy.harvesters.registry.HARVEST_MODELS`) passes the same
checks, generated from it (a model registered there is checked without being listed here): energy balance to the
joule through both round loops, seeded reproducibility, and one-line refusals of bad values naming ``--harvest``.

The compiled models are a closed set (the compiled round kernel dispatches on :data:`HARVEST_CODES`), so a new
built-in model is its file, a line of the registry and, when it has a compiled draw, its branch in
``harvest_round``; the last tests check that every registered model reaches the kernel through a code (directly,
or converted from power units) and that every code has its branch calling the model's own draw.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pandas as pd
import pytest

from wsnmec.energy import harvest
from wsnmec.energy.harvest import HARVEST_CODES, HarvestSpec, can_ever_harvest, harvest_code
from wsnmec.energy.harvesters.registry import harvest_model, is_builtin, model_names
from wsnmec.errors import ParameterError
from wsnmec.sim.checks import energy_balance_problems
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

#: The checks' network: energies spread so that nodes die within a few rounds, reviving on.
NETWORK = dict(protocol="leach", nodes=16, e0="0.002..0.02", rounds=40, revive_threshold=0.001, round_seconds=1.0)
#: Sample value of a model's value by its declared check: probabilities, periods (> 0), energies and powers.
SAMPLE = {"probability": 0.3, "positive": 12.0, "nonnegative": 0.0005}
#: A value out of range by its declared check.
OUT_OF_RANGE = {"probability": "1.5", "positive": "0", "nonnegative": "-1"}


def sample_spec(kind: str) -> str:
    """A valid ``--harvest`` value of ``kind`` that harvests (sample values by the values' declared checks)."""
    values = [SAMPLE[check] for check in harvest_model(kind).checks]
    return kind if not values else f"{kind}:" + ",".join(f"{v:g}" for v in values)


KINDS = list(model_names())


def run(kind: str, seed: int, loop: str = "auto"):
    scenario = Scenario.from_mapping(NETWORK, harvest=sample_spec(kind))
    return simulate(scenario, seed=seed, replicas=2, workers=1, per_node=True, loop=loop)


@pytest.mark.parametrize("loop", ["auto", "policy"])
@pytest.mark.parametrize("kind", KINDS)
def test_energy_balance_to_the_joule(kind, loop):
    result = run(kind, 3, loop)
    harvests = can_ever_harvest(sample_spec(kind))
    assert (result.rounds["harvested_j"] > 0).any() == harvests
    assert energy_balance_problems(result) == []


@pytest.mark.parametrize("kind", KINDS)
def test_seeded_runs_repeat_and_the_loops_agree(kind):
    first, again, policy_loop = run(kind, 5), run(kind, 5), run(kind, 5, "policy")
    for table in ("rounds", "summary", "nodes"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(again, table))
        pd.testing.assert_frame_equal(getattr(first, table), getattr(policy_loop, table))
    other = run(kind, 6)
    assert not np.array_equal(first.nodes[["x", "y"]].to_numpy(), other.nodes[["x", "y"]].to_numpy())


def bad_values(kind: str) -> list[str]:
    """Values of ``kind`` that must be refused: a value too many, text for numbers, and per value one out of its
    range."""
    checks = harvest_model(kind).checks
    good = sample_spec(kind).partition(":")[2].split(",") if checks else []
    bad = [f"{kind}:" + ",".join(good + ["1"]), f"{kind}:" + ",".join(["not-a-number"] * max(1, len(checks)))]
    for index, check in enumerate(checks):
        values = list(good)
        values[index] = OUT_OF_RANGE[check]
        bad.append(f"{kind}:" + ",".join(values))
    return bad


@pytest.mark.parametrize("kind", KINDS)
def test_bad_values_are_one_line_errors_naming_harvest(kind):
    for value in bad_values(kind):
        with pytest.raises(ParameterError) as caught:
            Scenario.from_mapping(NETWORK, harvest=value)
        assert caught.value.parameter.startswith("--harvest"), (value, caught.value)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_reaches_the_kernel_through_a_code(kind):
    spec = HarvestSpec.parse(sample_spec(kind))
    code, params = harvest_code(spec, round_seconds=NETWORK["round_seconds"])
    assert params.shape == (4,) and np.isfinite(params).all()
    if spec.compiled:
        assert code in HARVEST_CODES.values()
    else:  # a registered plug-in: its Python offer, through the policy loop's hook
        assert code == harvest.HARVEST_PLUGIN and harvest_model(kind).offer is not None


def _dispatch_branches() -> dict[int, set[str]]:
    """Code -> names of the functions called (or ``"return"`` for a plain return) in its branch of the compiled
    ``harvest_round``, read from its source (a branch is ``if kind == CONSTANT: return ...``)."""
    source = ast.parse(inspect.getsource(harvest.harvest_round.py_func))
    branches: dict[int, set[str]] = {}
    for node in ast.walk(source):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "kind"
                and isinstance(node.test.ops[0], ast.Eq) and isinstance(node.test.comparators[0], ast.Name)):
            continue
        code = getattr(harvest, node.test.comparators[0].id)
        called = {call.func.id for statement in node.body for call in ast.walk(statement)
                  if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)}
        branches.setdefault(code, set()).update(called or {"return"})
    return branches


def test_the_kernel_has_a_branch_for_every_code():
    """Each code of HARVEST_CODES is compared against in the compiled ``harvest_round`` (by its constant)."""
    assert set(HARVEST_CODES.values()) <= set(_dispatch_branches()), sorted(set(HARVEST_CODES.values()))


@pytest.mark.parametrize("kind", [k for k in KINDS if is_builtin(k) and harvest_model(k).code is not None])
def test_every_compiled_model_has_its_branch_calling_its_draw(kind):
    """A built-in model with a code has a branch in ``harvest_round`` that calls its own compiled draw (``none``:
    a plain return), and its code is its own."""
    model = harvest_model(kind)
    assert HARVEST_CODES[kind] == model.code
    assert list(HARVEST_CODES.values()).count(model.code) == 1, "two models share a code"
    called = _dispatch_branches().get(model.code)
    assert called is not None, f"harvest_round has no branch for {kind} (code {model.code})"
    if model.draw is None:
        assert called == {"return"}, called
    else:
        names = {name for name in called if getattr(harvest, name, None) is model.draw}
        assert names, f"the branch of {kind} calls {sorted(called)}, not its draw"
