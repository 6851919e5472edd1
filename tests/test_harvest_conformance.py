"""Every harvest model of :data:`wsnmec.energy.harvest.HARVEST_KINDS` passes the same checks, generated from that
table (a model added to it is checked without being listed here): energy balance to the joule through both
round loops, seeded reproducibility, and one-line refusals of bad values naming ``--harvest``.

The harvest models are a closed set (the compiled round kernel dispatches on :data:`HARVEST_CODES`), so a new
model is a row of ``HARVEST_KINDS`` plus its kernel branch; the last test checks that every kind reaches the
kernel through a code (directly, or converted from power units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wsnmec.energy.harvest import HARVEST_CODES, HARVEST_KINDS, HarvestSpec, can_ever_harvest, harvest_code
from wsnmec.sim.checks import energy_balance_problems
from wsnmec.errors import ParameterError
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

#: The checks' network: energies spread so that nodes die within a few rounds, reviving on.
NETWORK = dict(protocol="leach", nodes=16, e0="0.002..0.02", rounds=40, revive_threshold=0.001, round_seconds=1.0)
#: Sample value of a model parameter by the kind of quantity its name says (probabilities, periods, energies).
SAMPLE_PROBABILITY, SAMPLE_PERIOD, SAMPLE_AMOUNT = 0.3, 12.0, 0.0005


def _is_probability(name: str) -> bool:
    return name.startswith("p_") or name == "probability"


def _is_period(name: str) -> bool:
    return name.startswith("period")


def sample_spec(kind: str) -> str:
    """A valid ``--harvest`` value of ``kind`` that harvests (sample values by parameter name)."""
    names, _units = HARVEST_KINDS[kind]
    values = [SAMPLE_PROBABILITY if _is_probability(n) else SAMPLE_PERIOD if _is_period(n) else SAMPLE_AMOUNT
              for n in names]
    return kind if not values else f"{kind}:" + ",".join(f"{v:g}" for v in values)


KINDS = list(HARVEST_KINDS)


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
    """Values of ``kind`` that must be refused: a value too many, and per parameter one out of its range."""
    names, _units = HARVEST_KINDS[kind]
    good = sample_spec(kind).partition(":")[2].split(",") if names else []
    bad = [f"{kind}:" + ",".join(good + ["1"])]
    for index, name in enumerate(names):
        out_of_range = "1.5" if _is_probability(name) else "0" if _is_period(name) else "-1"
        values = list(good)
        values[index] = out_of_range
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
    code, params = harvest_code(HarvestSpec.parse(sample_spec(kind)), round_seconds=NETWORK["round_seconds"])
    assert code in HARVEST_CODES.values()
    assert params.shape == (4,) and np.isfinite(params).all()


def test_the_kernel_has_a_branch_for_every_code():
    """Each code of HARVEST_CODES is compared against in the compiled ``harvest_round`` (by its constant)."""
    import ast
    import inspect

    from wsnmec.energy import harvest

    source = ast.parse(inspect.getsource(harvest.harvest_round.py_func))
    compared = {node.id for node in ast.walk(source) if isinstance(node, ast.Name) and node.id.startswith("HARVEST_")}
    codes_compared = {getattr(harvest, name) for name in compared if isinstance(getattr(harvest, name, None), int)}
    assert set(HARVEST_CODES.values()) <= codes_compared, sorted(set(HARVEST_CODES.values()) - codes_compared)
