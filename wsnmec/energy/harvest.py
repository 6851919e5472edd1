"""Energy replenishment (harvesting) models.

Each round, before cluster heads are elected, every harvesting node adds the energy its model yields,
capped by its battery capacity. A node harvests when it is alive; a dead node harvests only when
reviving is enabled (``revive_threshold`` set), and then revives as soon as its stored energy reaches the
threshold. Without reviving a dead node neither harvests nor draws random numbers.

Models (``HarvestSpec.kind``; energies in [J] per round, probabilities per round), one file each in
:mod:`wsnmec.energy.harvesters`, registered in :data:`wsnmec.energy.harvesters.registry.HARVEST_MODELS` (a
plug-in model, ``MODULE:OBJECT[:VALUES]`` or an entry point of ``wsnmec.harvest``, runs in the policy round loop:
see :mod:`wsnmec.energy.harvesters.base`):

``none``
    Nothing is harvested.
``constant:J``
    Every harvesting node gains ``J`` each round.
``bernoulli:H,Q``
    Every harvesting node draws one uniform ``u`` in [0, 1) and gains ``H`` when ``u < Q``.
``markov:J_GOOD,J_BAD,P_GB,P_BG``
    Every node carries a two-state chain (good / bad weather), starting in the *good* state. In a round a
    harvesting node gains the energy of its current state, then draws one uniform ``u`` and switches
    good -> bad when ``u < P_GB`` (bad -> good when ``u < P_BG``). A node that does not harvest (dead,
    no reviving) keeps its state and draws nothing.
``solar:J_PEAK,PERIOD``
    Diurnal profile, identical for all nodes, no random draws: in round ``r`` (counted from 1) every
    harvesting node gains ``J_PEAK * max(0, sin(2 pi r / PERIOD))`` [J] (PERIOD in rounds).
``markov-shared:J_GOOD,J_BAD,P_GB,P_BG``
    One weather chain shared by all nodes (the weather is the same across a small field), started from its
    stationary distribution: one uniform in round 1 (bad with probability P_GB / (P_GB + P_BG)), then one
    uniform per round after harvesting for the switch.
``constant-w:W`` and ``solar-w:P_PEAK_W,PERIOD_S``
    The same models given in physical units, a power [W] and a period [s], converted with the round
    duration ``--round-seconds`` t [s]: ``constant:W t`` and ``solar:P_PEAK_W t, PERIOD_S / t``.

Notes
-----
Storage with a battery of capacity ``B_i`` [J]: a node holding ``E_i`` gains

    stored_i = max(0, min(h_i, B_i - E_i))

so stored energy never exceeds the capacity, and harvesting never removes energy (a node that starts above
its capacity, possible when ``--battery`` is below its initial energy, simply gains nothing until it
has spent down to the capacity). ``harvested`` in the outputs counts ``stored_i``, the energy actually
added, so that ``initial + harvested - consumed = residual`` holds exactly.

Random draws happen in node order, one per harvesting node for ``bernoulli`` and ``markov``, none for the
other models; they come before the election draws of the same round (see :mod:`wsnmec.sim.kernel`).

The Bernoulli and two-state Markov (Gilbert-Elliott-type) sources are the usual stochastic replenishment
models of energy-harvesting WSN studies, e.g. [1]_; the clipped-sine solar profile is a simple diurnal
approximation.

References
----------
.. [1] S. Sudevalayam, P. Kulkarni, "Energy harvesting sensor nodes: survey and implications", IEEE
   Commun. Surveys & Tutorials 13(3), 2011.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import ParameterError, check_float
from .harvesters.base import HarvestModel
from .harvesters.bernoulli import bernoulli_draw
from .harvesters.constant import constant_draw
from .harvesters.markov import MARKOV_BAD, MARKOV_GOOD, markov_draw
from .harvesters.markov_shared import markov_shared_draw
from .harvesters.registry import (
    HARVEST_MODELS,
    PLUGIN_SYNTAX,
    compiled_code,
    harvest_model,
    harvest_syntax,
    is_builtin,
    split_spec,
)
from .harvesters.solar import solar_draw, solar_energy

#: Registered models: kind -> (value names, units) (generated from the registry).
HARVEST_KINDS = {name: (harvest_model(name).values, harvest_model(name).units) for name in HARVEST_MODELS}
#: The registered models as the error messages list them (generated from the registry).
HARVEST_SYNTAX = harvest_syntax()

#: Kinds given as power [W] and converted with the round duration [s].
POWER_KINDS = tuple(name for name in HARVEST_MODELS if harvest_model(name).needs_round_seconds)

#: How a check of :data:`~wsnmec.energy.harvesters.base.VALUE_CHECKS` bounds a value: (low, high, low inclusive).
_RANGES = {"probability": (0.0, 1.0, True), "positive": (0.0, None, False), "nonnegative": (0.0, None, True)}


@dataclass(frozen=True)
class HarvestSpec:
    """An energy-replenishment model and its parameters.

    Parameters
    ----------
    kind : str
        A registered model (``none``, ``constant``, ``bernoulli``, ``markov``, ``markov-shared``, ``solar``,
        ``constant-w``, ``solar-w``), an entry-point name, or a plug-in's ``module:object``.
    params : tuple of float
        ``constant``: energy [J] per round. ``bernoulli``: energy H [J], probability q per round.
        ``markov``: harvest in the good and bad state [J/round], P(good->bad), P(bad->good).
        ``solar``: peak energy P_peak [J/round], period [rounds]; round r yields
        ``P_peak * max(0, sin(2 pi r / period))`` [J]. Other models: their declared values, in order.
    """

    kind: str = "none"
    params: tuple[float, ...] = ()

    @classmethod
    def parse(cls, spec, parameter: str = "--harvest") -> "HarvestSpec":
        """Parse ``kind[:v1,v2,...]`` (see :data:`HARVEST_SYNTAX`; a plug-in: ``module:object[:v1,...]``)."""
        if isinstance(spec, HarvestSpec):
            return spec
        if not isinstance(spec, str) or not spec.strip():
            raise ParameterError(parameter, f"must be {HARVEST_SYNTAX}; got {spec!r}")
        kind, rest = split_spec(spec, parameter)
        model = harvest_model(kind, parameter)
        names = model.values
        values = [v.strip() for v in rest.split(",")] if rest.strip() else []
        if len(values) != len(names):
            raise ParameterError(
                parameter, f"{kind} takes {len(names)} value(s) ({_syntax_of(kind)}); got {spec!r}"
            )
        parsed = []
        for name, check, value in zip(names, model.checks, values):
            low, high, inclusive = _RANGES[check]
            parsed.append(check_float(f"{parameter} {kind} {name}", value, low, high, min_inclusive=inclusive))
        return cls(kind, tuple(parsed))

    @property
    def model(self) -> HarvestModel:
        """The model of :attr:`kind` (:func:`wsnmec.energy.harvesters.registry.harvest_model`)."""
        return harvest_model(self.kind)

    @property
    def needs_round_seconds(self) -> bool:
        """Whether the spec is given as power [W] (converted with the round duration)."""
        return self.model.needs_round_seconds

    @property
    def compiled(self) -> bool:
        """Whether the model runs in compiled code (a built-in, or converted to one): both round loops run it;
        otherwise only the policy loop does, through its Python ``offer``."""
        name, _ = _runner(self, 1.0 if self.needs_round_seconds else None)
        return compiled_code(name) is not None

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        return f"{self.kind}:" + ",".join(repr(float(v)) for v in self.params)


def _syntax_of(kind: str) -> str:
    """The syntax list for a value-count error (the registered list, or the plug-in's own syntax)."""
    if is_builtin(kind) or kind in HARVEST_MODELS:
        return HARVEST_SYNTAX
    return harvest_model(kind).syntax or PLUGIN_SYNTAX


#: Integer codes of the harvest models as the compiled kernel sees them (the built-ins with a compiled draw).
HARVEST_CODES: dict[str, int] = {name: harvest_model(name).code for name in HARVEST_MODELS
                                 if is_builtin(name) and harvest_model(name).code is not None}

HARVEST_NONE = HARVEST_CODES["none"]
HARVEST_CONSTANT = HARVEST_CODES["constant"]
HARVEST_BERNOULLI = HARVEST_CODES["bernoulli"]
HARVEST_MARKOV = HARVEST_CODES["markov"]
HARVEST_SOLAR = HARVEST_CODES["solar"]
HARVEST_MARKOV_SHARED = HARVEST_CODES["markov-shared"]
#: Code of a model that runs through its Python ``offer`` (the policy round loop's hook, :class:`PluginHarvest`).
HARVEST_PLUGIN = -1


def _runner(spec: HarvestSpec, round_seconds: float | None) -> tuple[str, tuple]:
    """The (kind, values) that run ``spec``: its own, or those its model converts to."""
    model = spec.model
    if model.convert is None:
        return spec.kind, tuple(spec.params)
    return model.kernel_values(spec.params, round_seconds)


def _kernel_values(spec: HarvestSpec, round_seconds: float | None) -> tuple[str, tuple]:
    if spec.needs_round_seconds:
        if round_seconds is None or not round_seconds > 0:
            raise ParameterError("--round-seconds", f"is required by --harvest {spec} (a power [W] needs the "
                                                    "round duration [s])")
    return _runner(spec, round_seconds)


def harvest_code(spec: HarvestSpec | str, round_seconds: float | None = None) -> tuple[int, np.ndarray]:
    """The kernel's (model code, parameter array) for a harvest spec.

    The parameter array always has 4 float64 entries (unused ones are 0), so the kernel has a single
    signature for every model. Power specs are converted with ``round_seconds`` [s]: ``constant-w:P`` is
    ``constant:P*t``, ``solar-w:P,T`` is ``solar:P*t,T/t``. A model without a compiled draw (a plug-in) has
    the code :data:`HARVEST_PLUGIN` and zero parameters (its values go to its :class:`PluginHarvest`).
    """
    spec = HarvestSpec.parse(spec)
    params = np.zeros(4, dtype=np.float64)
    kind, values = _kernel_values(spec, round_seconds)
    code = compiled_code(kind)
    if code is None:
        return HARVEST_PLUGIN, params
    params[: len(values)] = values
    return code, params


def can_ever_harvest(spec: HarvestSpec | str) -> bool:
    """Whether the model can ever add a positive amount of energy (used to end runs early).

    Conservative: returns True whenever a positive harvest is possible in principle (a model that declares
    no ``can_harvest``: always).
    """
    spec = HarvestSpec.parse(spec)
    return bool(spec.model.can_harvest(spec.params))


class PluginHarvest:
    """The policy round loop's harvest step for a model without a compiled draw: called as
    :func:`harvest_round` is, it runs the model's Python ``offer`` and stores the offered energy with the
    storage rule (:mod:`wsnmec.energy.harvesters.base`). One object per replica (it holds the model's memory)."""

    def __init__(self, model: HarvestModel, values: tuple, name: str):
        if model.offer is None:
            raise ParameterError("--harvest", f"the harvest model {name!r} has neither a compiled draw (built-in "
                                              "models only) nor an offer(rng, values, round_number, harvesting, "
                                              "memory) function")
        self.model, self.values, self.name, self.memory = model, tuple(float(v) for v in values), name, {}

    def __call__(self, rng, kind, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                 stored_per_node):
        """One round (parameters as :func:`harvest_round`; ``kind``, ``params`` and ``chain_state`` unused);
        returns the energy stored [J]."""
        stored_per_node[:] = 0.0
        revive = revive_threshold > 0.0
        harvesting = np.ones(energy.shape[0], dtype=np.bool_) if revive else alive != 0
        harvesting.flags.writeable = False
        offered = np.asarray(self.model.offer(rng, self.values, int(round_number), harvesting, self.memory),
                             dtype=np.float64)
        if offered.shape != energy.shape or not np.all(np.isfinite(offered)) or np.any(offered < 0.0):
            raise ParameterError("--harvest", f"the harvest model {self.name!r} must offer {energy.shape[0]} finite "
                                              f"energies >= 0 [J] per round; got shape {offered.shape} in round "
                                              f"{round_number}")
        index = np.flatnonzero(harvesting)
        room = capacity[index] - energy[index]
        amount = offered[index]
        stored = np.where(amount < room, amount, room)
        stored = np.where(stored > 0.0, stored, 0.0)
        energy[index] += stored
        stored_per_node[index] = stored
        if revive:
            alive[(alive == 0) & (energy >= revive_threshold)] = 1
        return float(stored.sum())


def harvest_stepper(spec: HarvestSpec | str, round_seconds: float | None = None):
    """The policy round loop's harvest step for ``spec``: :func:`harvest_round` for a compiled model, else a new
    :class:`PluginHarvest` (one per replica); called with :func:`harvest_round`'s arguments."""
    spec = HarvestSpec.parse(spec)
    kind, values = _kernel_values(spec, round_seconds)
    if compiled_code(kind) is not None:
        return harvest_round
    return PluginHarvest(harvest_model(kind), values, str(spec))


@njit(cache=True, nogil=True)
def harvest_round(rng, kind, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                  stored_per_node):
    """Replenish one round in place (compiled); returns the energy stored this round [J].

    The closed dispatch of the built-in models: one branch per code of :data:`HARVEST_CODES`, calling the
    model's compiled draw (its file in :mod:`wsnmec.energy.harvesters`).

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator (advanced by the ``bernoulli`` and ``markov`` draws).
    kind : int
        Model code (:data:`HARVEST_CODES`).
    params : float64[4]
        Model parameters as in :class:`HarvestSpec` (energies [J], probabilities,
        period [rounds]).
    round_number : int
        Current round r, counted from 1.
    energy, capacity : float64[N]
        Stored energy and battery capacity of every node [J]; ``energy`` is updated.
    alive : uint8[N]
        1 for alive nodes; dead nodes revive (set to 1) when reviving is enabled and their energy
        reaches ``revive_threshold``.
    markov_state : int8[N]
        Markov chain state per node (0 good, 1 bad); updated for ``markov`` (``markov-shared``: entry 0).
    revive_threshold : float
        Wake-up threshold [J]; a value <= 0 disables reviving (dead nodes do not harvest).
    stored_per_node : float64[N]
        Output: the energy each node stored this round [J] (0 for nodes that did not harvest).
    """
    for i in range(stored_per_node.shape[0]):
        stored_per_node[i] = 0.0
    if kind == HARVEST_NONE:
        return 0.0
    if kind == HARVEST_CONSTANT:
        return constant_draw(rng, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                             stored_per_node)
    if kind == HARVEST_BERNOULLI:
        return bernoulli_draw(rng, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                              stored_per_node)
    if kind == HARVEST_MARKOV:
        return markov_draw(rng, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                           stored_per_node)
    if kind == HARVEST_SOLAR:
        return solar_draw(rng, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                          stored_per_node)
    if kind == HARVEST_MARKOV_SHARED:
        return markov_shared_draw(rng, params, round_number, energy, capacity, alive, markov_state,
                                  revive_threshold, stored_per_node)
    raise ValueError("harvest_round: no compiled harvest model has this code (a plug-in runs its offer)")


__all__ = [
    "HARVEST_BERNOULLI", "HARVEST_CODES", "HARVEST_CONSTANT", "HARVEST_KINDS", "HARVEST_MARKOV",
    "HARVEST_MARKOV_SHARED", "HARVEST_NONE", "HARVEST_PLUGIN", "HARVEST_SOLAR", "HARVEST_SYNTAX", "HarvestSpec",
    "MARKOV_BAD", "MARKOV_GOOD", "POWER_KINDS", "PluginHarvest", "can_ever_harvest", "harvest_code",
    "harvest_round", "harvest_stepper", "solar_energy",
]
