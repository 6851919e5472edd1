"""The scenario suite: named scenarios, each declared for training or held out (``studies/suite.toml``).

A suite is a lifetime study file (:mod:`wsnmec.study.spec`) whose ``grid.case`` tables each carry a
``split``: ``"train"`` (may be used to train a policy or to tune any of its settings) or ``"heldout"`` (only
ever evaluated). The file is validated by the study parser, so every scenario passes the checks of
``wsnmec run``; ``wsnmec study run studies/suite.toml [--quick]`` runs every policy of its ``grid.protocol``
on every scenario (FND/HND per scenario and policy, paired by deployment seed).

>>> from wsnmec.study.suite import heldout_scenarios, train_scenarios      # doctest: +SKIP
>>> [s.name for s in heldout_scenarios()]                                  # doctest: +SKIP
>>> train_scenarios()[0].scenario("ddnn")                                 # doctest: +SKIP

Rule for code that trains or tunes: draw from :func:`train_scenarios` only. Held-out scenarios are for
evaluation (:func:`heldout_scenarios`); ``tests/test_suite.py`` checks that no module of the package other
than this one and the study runner names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError
from ..sim.scenario import Scenario
from .spec import CASE, CASE_LABELS, SPLITS

#: The shipped suite.
SUITE_PATH = Path(__file__).resolve().parents[2] / "studies" / "suite.toml"


@dataclass(frozen=True)
class SuiteScenario:
    """One scenario of a suite.

    Attributes
    ----------
    name : str
        The case's name (unique in the suite).
    split : str
        ``"train"`` or ``"heldout"``.
    values : dict
        Raw scenario values: the study's ``[base]`` merged with the case's parameters (no ``protocol`` unless
        the file fixes one in ``[base]``).
    """

    name: str
    split: str
    values: dict

    def scenario(self, protocol: str | None = None, **overrides) -> Scenario:
        """The validated :class:`Scenario` of this suite scenario for ``protocol`` (default: the file's or
        the package's), with ``overrides`` (scenario parameters) applied last; the same checks as
        ``wsnmec run``, one-line :class:`ParameterError` on bad input."""
        from ..limits import check_magnitudes

        values = dict(self.values)
        if protocol is not None:
            values["protocol"] = protocol
        values.update(overrides)
        scenario = Scenario.from_mapping(values)
        check_magnitudes(scenario)
        return scenario

    @property
    def nodes(self) -> int:
        return int(self.values.get("nodes", Scenario.nodes))


def load_suite(path=None, quick: bool = False) -> list[SuiteScenario]:
    """Every scenario of the suite file ``path`` (default :data:`SUITE_PATH`), in file order.

    ``quick``: the file's ``--quick`` variant (its ``[quick]`` base values applied). Raises
    :class:`ParameterError` (naming the file) when the file is not a valid lifetime study, has no ``case``
    grid, or a case has no ``split``."""
    from .spec import load_study

    path = Path(SUITE_PATH if path is None else path)
    spec = load_study(path)
    if spec.kind != "lifetime" or CASE not in spec.grid:
        raise ParameterError(f"{path}: grid.case", "a scenario suite is a lifetime study with a case grid "
                                                   "(one case table per scenario, each with a split)")
    spec = spec.variant(quick)
    out = []
    for index, case in enumerate(spec.grid[CASE]):
        split = case.get("split")
        if split not in SPLITS:
            raise ParameterError(f"{path}: grid.case[{index}].split",
                                 f"every scenario of a suite must declare split = {' or '.join(map(repr, SPLITS))}")
        values = dict(spec.base)
        values.update({k: v for k, v in case.items() if k not in CASE_LABELS})
        out.append(SuiteScenario(name=case["name"], split=split, values=values))
    return out


def train_scenarios(path=None, quick: bool = False) -> list[SuiteScenario]:
    """The suite's training scenarios (``split = "train"``), the only ones training or tuning may use."""
    return [s for s in load_suite(path, quick) if s.split == "train"]


def heldout_scenarios(path=None, quick: bool = False) -> list[SuiteScenario]:
    """The suite's held-out scenarios (``split = "heldout"``): for evaluation only."""
    return [s for s in load_suite(path, quick) if s.split == "heldout"]


def geometry_key(values: dict) -> tuple:
    """What identifies a scenario's network for the held-out rule: (N, field [m], sink [m], deployment),
    from raw scenario values (a suite scenario's :attr:`SuiteScenario.values`, a training episode's dict);
    two scenarios with the same key draw the same deployments from the same seeds."""
    scenario = Scenario.from_mapping({k: v for k, v in values.items() if k in Scenario.keys()})
    return (scenario.nodes, tuple(float(v) for v in scenario.field),
            None if scenario.sink is None else tuple(float(v) for v in scenario.sink), str(scenario.deployment))
