"""Every clustering policy passes the conformance checks of :mod:`wsnmec.sim.checks`.

The cases are generated from the registry (:func:`wsnmec.sim.checks.registered_policies`: the built-in
names and the installed ``wsnmec.policies`` entry points) times :func:`~wsnmec.sim.checks.policy_checks`,
so a newly registered policy is checked without being listed here; the last tests register a tiny policy from a
temporary module (as ``module:Class`` and as an entry point) and show that it is checked, and that the checks
catch a policy electing dead nodes or drawing from an unseeded generator.
"""

from __future__ import annotations

import importlib.metadata
import textwrap
import uuid

import pytest
from plugin_examples import GROUP, add_entry_points

from wsnmec.sim import checks
from wsnmec.sim.checks import PolicyCheckError, check_policy, policy_checks, registered_policies


def conformance_cases() -> list:
    """(policy, check) for every registered policy and each of its checks."""
    return [pytest.param(policy, check, id=f"{policy}-{check.__name__}")
            for policy in registered_policies() for check in policy_checks(policy)]


@pytest.mark.parametrize(("policy", "check"), conformance_cases())
def test_registered_policy_conforms(policy, check):
    check(policy)


TINY_POLICY = '''
import numpy as np

from wsnmec.clustering.base import ClusteringPolicy


class RichestAndOne(ClusteringPolicy):
    """The richest alive node and one alive node drawn at random."""

    name = "richest-and-one"
    control = "centralized"

    def elect(self, state, rng):
        heads = np.zeros(state.n, dtype=bool)
        alive = np.flatnonzero(state.alive)
        if alive.size:
            heads[alive[np.argmax(state.energy[alive])]] = True
            heads[alive[rng.integers(alive.size)]] = True
        return heads


class ElectsTheDead(RichestAndOne):
    """Also elects every dead node: must fail the heads check."""

    def elect(self, state, rng):
        return super().elect(state, rng) | ~state.alive.astype(bool)


class UnseededDraws(RichestAndOne):
    """Draws from numpy's global generator: must fail the reproducibility check."""

    def elect(self, state, rng):
        heads = np.zeros(state.n, dtype=bool)
        alive = np.flatnonzero(state.alive)
        if alive.size:
            heads[alive[np.random.randint(alive.size)]] = True
        return heads
'''


@pytest.fixture
def tiny_module(tmp_path, monkeypatch):
    """A temporary module holding :data:`TINY_POLICY` on ``sys.path``; returns its (unique) name."""
    name = f"tiny_policy_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(TINY_POLICY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_a_policy_registered_through_an_entry_point_is_checked_without_being_listed(tiny_module, monkeypatch):
    entry = f"tiny-richest-{uuid.uuid4().hex[:8]}"
    assert entry not in registered_policies()
    add_entry_points(monkeypatch, [importlib.metadata.EntryPoint(entry, f"{tiny_module}:RichestAndOne", GROUP)])
    assert entry in registered_policies()
    generated = [p.values for p in conformance_cases() if p.values[0] == entry]
    assert [check for _, check in generated] == list(checks.CHECKS)
    for policy, check in generated:
        check(policy)


def test_a_module_class_policy_and_a_policy_class_pass_check_policy(tiny_module):
    check_policy(f"{tiny_module}:RichestAndOne")
    module = __import__(tiny_module)
    check_policy(module.RichestAndOne)


def test_a_policy_electing_dead_nodes_fails_the_heads_check(tiny_module):
    with pytest.raises(PolicyCheckError, match="heads among dead nodes"):
        checks.check_heads_alive(f"{tiny_module}:ElectsTheDead")


def test_a_policy_drawing_unseeded_numbers_fails_the_reproducibility_check(tiny_module):
    with pytest.raises(PolicyCheckError, match="differ"):
        checks.check_seeded_reproducibility(f"{tiny_module}:UnseededDraws")


def test_a_bad_protocol_value_is_refused_before_any_check():
    from wsnmec.errors import ParameterError

    with pytest.raises(ParameterError, match="--protocol"):
        check_policy("no-such-policy")


def test_the_shipped_example_plugin_passes_check_policy(monkeypatch):
    from plugin_examples import install_examples

    install_examples(monkeypatch)
    assert "spread-richest" in registered_policies()
    check_policy("spread-richest")
