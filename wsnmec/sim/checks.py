"""Conformance checks every clustering policy must pass, in the spirit of scikit-learn's ``check_estimator`` /
``parametrize_with_checks`` and Gymnasium's ``check_env``.

:func:`check_policy` runs every check on one policy; :func:`policy_checks` yields them one by one (a test
suite parametrises over :func:`registered_policies` x :func:`policy_checks`, so a policy added to the registry,
given as ``module:Class`` or installed through the ``wsnmec.policies`` entry-point group is checked without
anyone listing it). A policy is a ``--protocol`` value (a registered name or alias, ``module:Class`` or an
entry-point name) or a :class:`~wsnmec.clustering.base.ClusteringPolicy` subclass (run through the policy
round loop).

The checks run a small network (:data:`DEFAULT_SETTINGS`: 16 nodes with initial energies spread over
[2, 20] mJ, so that nodes die within a few rounds, Bernoulli harvesting with revival, 30 rounds); an
expensive policy gets smaller settings in :data:`POLICY_SETTINGS`, never a skip.

- :func:`check_energy_balance`: every round and replica, initial + harvested - consumed = stored [J] (to
  1e-9 of the energy that entered the network), residual = stored >= 0 (clean semantics), the summary's
  totals agree with the rounds, and the run did harvest and consume.
- :func:`check_seeded_reproducibility`: the same seed gives identical rounds, summary and per-node tables; a
  different seed gives a different deployment.
- :func:`check_heads_alive`: each round's head mask (from ``elect``) is a boolean mask of the N nodes whose
  heads are alive when elected, in a run in which nodes die.
- :func:`check_bad_parameters`: the parameters the policy records (``clustering_parameters`` of the run
  config) refuse bad values with a :class:`~wsnmec.errors.ParameterError` naming the option: ``p`` / ``c_prob``
  (``--p``), a ``model`` file (``--policy-model``: missing, or not a model).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ParameterError

#: The network of the checks (keys of :meth:`wsnmec.sim.scenario.Scenario.from_mapping`).
DEFAULT_SETTINGS: dict = {
    "nodes": 16,
    "e0": "0.002..0.02",
    "rounds": 30,
    "harvest": "bernoulli:0.0005,0.2",
    "revive_threshold": 0.001,
}

#: Smaller settings of the policies whose rounds are expensive (each key overrides :data:`DEFAULT_SETTINGS`).
POLICY_SETTINGS: dict[str, dict] = {
    "lp-schedule": {"nodes": 12, "rounds": 20},  # solves its deployment's lifetime bound at reset
    "anneal": {"nodes": 12, "rounds": 15},  # an annealing search every round
    "ddnn-price": {"nodes": 12, "rounds": 20},
    "ddnn": {"nodes": 12, "rounds": 20},
}

#: The seeds of the checks' runs: the reference run, and the other seed whose deployment must differ.
SEED, OTHER_SEED = 11, 12

#: Relative tolerance of the energy balance (of the energy that entered the network) [1].
BALANCE_RTOL = 1e-9


class PolicyCheckError(AssertionError):
    """A policy failed a conformance check (the message names the policy and what failed)."""


def registered_policies() -> tuple[str, ...]:
    """Every policy to check: the registered names (not the aliases) and the installed entry-point plug-ins."""
    from ..clustering.registry import CLUSTERING_POLICIES, is_builtin, plugin_names

    return tuple(CLUSTERING_POLICIES) + tuple(name for name in plugin_names() if not is_builtin(name))


def settings_for(policy) -> dict:
    """The scenario settings of the checks for ``policy`` (:data:`DEFAULT_SETTINGS` with its overrides)."""
    from ..clustering.registry import canonical_name

    name = canonical_name(policy) if isinstance(policy, str) else None
    return {**DEFAULT_SETTINGS, **POLICY_SETTINGS.get(name, {})}


def _label(policy) -> str:
    return policy if isinstance(policy, str) else f"{policy.__module__}.{policy.__qualname__}"


def _fail(policy, message: str):
    raise PolicyCheckError(f"policy {_label(policy)!r}: {message}")


def _scenario(policy, **overrides):
    from .scenario import Scenario

    params = {**settings_for(policy), **overrides}
    if isinstance(policy, str):
        params["protocol"] = policy
    return Scenario.from_mapping(params)


def _simulate(policy, seed: int, *, clustering=None, **overrides):
    """A run of ``policy`` on the checks' network (per-node table included; two replicas)."""
    from .simulation import simulate
    from ..clustering.registry import check_policy_class

    scenario = _scenario(policy, **overrides)
    if clustering is None and not isinstance(policy, str):
        clustering = check_policy_class(policy, _label(policy))
    return simulate(scenario, seed=seed, replicas=2, workers=1, per_node=True, clustering=clustering)


@functools.lru_cache(maxsize=8)
def _reference_run(policy):
    """The run at :data:`SEED` the checks share (computed once per process and policy)."""
    return _simulate(policy, SEED)


def check_energy_balance(policy) -> None:
    """initial + harvested - consumed = stored every round and replica; residual = stored >= 0; summary totals."""
    result = _reference_run(policy)
    if not (result.rounds["harvested_j"] > 0).any():
        _fail(policy, "the check's network harvested nothing (the balance would not cover harvesting)")
    if not (result.rounds["consumed_j"] > 0).any():
        _fail(policy, "consumed no energy in any round")
    problems = energy_balance_problems(result)
    if problems:
        _fail(policy, problems[0])


def energy_balance_problems(result) -> list[str]:
    """What breaks initial + harvested - consumed = stored [J] in a :class:`~wsnmec.sim.SimulationResult`
    (every round and replica, to :data:`BALANCE_RTOL` of the energy in play; residual = stored >= 0 under
    clean semantics; the summary's totals equal the rounds' sums): one message per problem, empty when none."""
    problems = []
    for replica, rounds in result.rounds.groupby("replica"):
        summary = result.summary.iloc[replica]
        initial = summary["energy_initial_j"]
        balance = initial + rounds["harvested_j"].cumsum() - rounds["consumed_j"].cumsum()
        tolerance = BALANCE_RTOL * (initial + summary["energy_harvested_j"])
        error = np.abs(balance.to_numpy() - rounds["stored_j"].to_numpy())
        if error.max() > tolerance:
            worst = int(rounds["round"].to_numpy()[error.argmax()])
            problems.append(f"replica {replica} round {worst}: initial + harvested - consumed differs from the "
                            f"stored energy by {error.max():.3g} J")
        if not np.array_equal(rounds["residual_j"].to_numpy(), rounds["stored_j"].to_numpy()):
            problems.append(f"replica {replica}: residual_j differs from stored_j under clean semantics")
        if (rounds["residual_j"] < 0).any():
            problems.append(f"replica {replica}: a negative residual energy")
        totals = {"energy_harvested_j": rounds["harvested_j"].sum(), "energy_consumed_j": rounds["consumed_j"].sum()}
        for column, total in totals.items():
            if abs(summary[column] - total) > tolerance:
                problems.append(f"replica {replica}: summary {column} = {summary[column]!r}, rounds sum to {total!r}")
    return problems


def check_seeded_reproducibility(policy) -> None:
    """The same seed: identical rounds, summary and per-node tables; another seed: another deployment."""
    import pandas as pd

    first = _reference_run(policy)
    again = _simulate(policy, SEED)
    for table in ("rounds", "summary", "nodes"):
        try:
            pd.testing.assert_frame_equal(getattr(first, table), getattr(again, table))
        except AssertionError as exc:
            _fail(policy, f"two runs with seed {SEED} differ in the {table} table: {' '.join(str(exc).split())}")
    other = _simulate(policy, OTHER_SEED)
    positions = ["x", "y"]
    if np.array_equal(first.nodes[positions].to_numpy(), other.nodes[positions].to_numpy()):
        _fail(policy, f"seeds {SEED} and {OTHER_SEED} gave the same deployment")


def _recording_class(cls, record: list):
    """A subclass of the policy class ``cls`` whose ``elect`` also appends (alive mask, returned mask)."""

    def elect(self, state, rng):
        heads = cls.elect(self, state, rng)
        record.append((np.asarray(state.alive).astype(bool).copy(), np.array(heads, copy=True)))
        return heads

    return type(f"Recording{cls.__name__}", (cls,), {"elect": elect, "__module__": cls.__module__})


def check_heads_alive(policy) -> None:
    """Every head mask ``elect`` returns is bool[N] and names alive nodes only (in a run where nodes die)."""
    from ..clustering.registry import policy_class

    cls = policy_class(policy) if isinstance(policy, str) else policy
    record: list = []
    _simulate(policy, SEED, clustering=_recording_class(cls, record))
    if not record:
        _fail(policy, "elect was never called")
    for index, (alive, heads) in enumerate(record):
        if heads.shape != alive.shape or heads.dtype != np.bool_:
            _fail(policy, f"election {index}: elect returned {heads.dtype}{list(heads.shape)}, not bool[{alive.size}]")
        if np.any(heads & ~alive):
            _fail(policy, f"election {index}: heads among dead nodes {np.flatnonzero(heads & ~alive).tolist()}")
    if all(alive.all() for alive, _ in record):
        _fail(policy, "no node died during the check's run (the check would not cover dead nodes)")


def _expect_refusal(policy, option: str, run: Callable[[], object], what: str):
    try:
        run()
    except ParameterError as exc:
        if exc.parameter != option:
            _fail(policy, f"{what}: refused naming {exc.parameter!r}, not {option!r} ({exc})")
        if "\n" in str(exc):
            _fail(policy, f"{what}: the refusal is not one line: {exc!r}")
        return
    _fail(policy, f"{what} was accepted (expected a ParameterError naming {option})")


def check_bad_parameters(policy) -> None:
    """The parameters the policy records refuse bad values with a one-line error naming the option."""
    recorded = _reference_run(policy).config.get("clustering_parameters") or {}
    if "p" in recorded or "c_prob" in recorded:  # the scenario's --p
        for value in (0.0, 1.5, "often"):
            _expect_refusal(policy, "--p", lambda: _scenario(policy, p=value), f"p = {value!r}")
        _simulate(policy, SEED, p=0.2)  # and a number, not only "auto", runs
    if "model" in recorded:  # the scenario's --policy-model
        missing = os.path.join(tempfile.gettempdir(), "wsnmec-no-such-model.npz")
        _expect_refusal(policy, "--policy-model", lambda: _scenario(policy, policy_model=missing),
                        "a missing model file")
        with tempfile.TemporaryDirectory() as folder:
            junk = os.path.join(folder, "junk.npz")
            with open(junk, "w", encoding="utf-8") as handle:
                handle.write("not a model\n")
            _expect_refusal(policy, "--policy-model", lambda: _simulate(policy, SEED, policy_model=junk),
                            "a model file that is not a model")


#: The checks every policy must pass, in order.
CHECKS: tuple[Callable[[object], None], ...] = (
    check_energy_balance,
    check_seeded_reproducibility,
    check_heads_alive,
    check_bad_parameters,
)


def policy_checks(policy) -> Iterator[Callable[[object], None]]:
    """The checks of ``policy`` (each ``check(policy)`` raises :class:`PolicyCheckError` on failure)."""
    yield from CHECKS


def check_policy(policy) -> None:
    """Run every conformance check on ``policy`` (a ``--protocol`` value or a policy class); raise
    :class:`PolicyCheckError` (or the :class:`~wsnmec.errors.ParameterError` of an unusable value) on the
    first failure."""
    if isinstance(policy, str):
        from ..clustering.registry import check_protocol

        check_protocol(policy)
    for check in policy_checks(policy):
        check(policy)
