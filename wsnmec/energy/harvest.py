"""Energy replenishment (harvesting) models.

Each round, before cluster heads are elected, every harvesting node adds the energy its model yields,
capped by its battery capacity. A node harvests when it is alive; a dead node harvests only when
reviving is enabled (``revive_threshold`` set), and then revives as soon as its stored energy reaches the
threshold. Without reviving a dead node neither harvests nor draws random numbers.

Models (``HarvestSpec.kind``; energies in [J] per round, probabilities per round):

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

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import ParameterError, check_float

HARVEST_KINDS = {
    # kind: (parameter names, units)
    "none": ((), ()),
    "constant": (("energy",), ("J/round",)),
    "bernoulli": (("energy", "probability"), ("J", "1")),
    "markov": (("energy_good", "energy_bad", "p_good_to_bad", "p_bad_to_good"), ("J", "J", "1", "1")),
    "solar": (("peak_energy", "period"), ("J", "rounds")),
    "markov-shared": (("energy_good", "energy_bad", "p_good_to_bad", "p_bad_to_good"), ("J", "J", "1", "1")),
    "constant-w": (("power",), ("W",)),
    "solar-w": (("peak_power", "period_seconds"), ("W", "s")),
}
HARVEST_SYNTAX = ("none, constant:J, bernoulli:J,Q, markov:J_GOOD,J_BAD,P_GOOD_TO_BAD,P_BAD_TO_GOOD, "
                  "markov-shared:J_GOOD,J_BAD,P_GOOD_TO_BAD,P_BAD_TO_GOOD, solar:J_PEAK,PERIOD_ROUNDS, "
                  "constant-w:W or solar-w:P_PEAK_W,PERIOD_S (energies [J] per round, powers [W], periods in "
                  "rounds or [s]; the -w forms need --round-seconds)")

#: Kinds given as power [W] and converted with the round duration [s].
POWER_KINDS = ("constant-w", "solar-w")


@dataclass(frozen=True)
class HarvestSpec:
    """An energy-replenishment model and its parameters.

    Parameters
    ----------
    kind : str
        ``none``, ``constant``, ``bernoulli``, ``markov`` or ``solar``.
    params : tuple of float
        ``constant``: energy [J] per round. ``bernoulli``: energy H [J], probability q per round.
        ``markov``: harvest in the good and bad state [J/round], P(good->bad), P(bad->good).
        ``solar``: peak energy P_peak [J/round], period [rounds]; round r yields
        ``P_peak * max(0, sin(2 pi r / period))`` [J].
    """

    kind: str = "none"
    params: tuple[float, ...] = ()

    @classmethod
    def parse(cls, spec, parameter: str = "--harvest") -> "HarvestSpec":
        """Parse ``kind[:v1,v2,...]`` (see :data:`HARVEST_SYNTAX`)."""
        if isinstance(spec, HarvestSpec):
            return spec
        if not isinstance(spec, str) or not spec.strip():
            raise ParameterError(parameter, f"must be {HARVEST_SYNTAX}; got {spec!r}")
        kind, _, rest = spec.strip().partition(":")
        kind = kind.strip().lower()
        if kind not in HARVEST_KINDS:
            raise ParameterError(parameter, f"must be {HARVEST_SYNTAX}; got {spec!r}")
        names, _units = HARVEST_KINDS[kind]
        values = [v.strip() for v in rest.split(",")] if rest.strip() else []
        if len(values) != len(names):
            raise ParameterError(
                parameter, f"{kind} takes {len(names)} value(s) ({HARVEST_SYNTAX}); got {spec!r}"
            )
        parsed = []
        for name, value in zip(names, values):
            if name.startswith("p_") or name == "probability":
                parsed.append(check_float(f"{parameter} {kind} {name}", value, 0.0, 1.0))
            elif name in ("period", "period_seconds"):
                parsed.append(check_float(f"{parameter} {kind} {name}", value, 0.0, min_inclusive=False))
            else:
                parsed.append(check_float(f"{parameter} {kind} {name}", value, 0.0))
        return cls(kind, tuple(parsed))

    @property
    def needs_round_seconds(self) -> bool:
        """Whether the spec is given as power [W] (converted with the round duration)."""
        return self.kind in POWER_KINDS

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        return f"{self.kind}:" + ",".join(repr(float(v)) for v in self.params)

#: Integer codes of the harvest models as the compiled kernel sees them.
HARVEST_CODES: dict[str, int] = {"none": 0, "constant": 1, "bernoulli": 2, "markov": 3, "solar": 4,
                                  "markov-shared": 5}

HARVEST_NONE = 0
HARVEST_CONSTANT = 1
HARVEST_BERNOULLI = 2
HARVEST_MARKOV = 3
HARVEST_SOLAR = 4
HARVEST_MARKOV_SHARED = 5

#: Markov chain states.
MARKOV_GOOD = 0
MARKOV_BAD = 1


def harvest_code(spec: HarvestSpec | str, round_seconds: float | None = None) -> tuple[int, np.ndarray]:
    """The kernel's (model code, parameter array) for a harvest spec.

    The parameter array always has 4 float64 entries (unused ones are 0), so the kernel has a single
    signature for every model. Power specs are converted with ``round_seconds`` [s]: ``constant-w:P`` is
    ``constant:P*t``, ``solar-w:P,T`` is ``solar:P*t,T/t``.
    """
    spec = HarvestSpec.parse(spec)
    params = np.zeros(4, dtype=np.float64)
    values = list(spec.params)
    kind = spec.kind
    if spec.needs_round_seconds:
        if round_seconds is None or not round_seconds > 0:
            raise ParameterError("--round-seconds", f"is required by --harvest {spec} (a power [W] needs the "
                                                    "round duration [s])")
        if kind == "constant-w":
            kind, values = "constant", [values[0] * round_seconds]
        else:
            kind, values = "solar", [values[0] * round_seconds, values[1] / round_seconds]
    params[: len(values)] = values
    return HARVEST_CODES[kind], params


def can_ever_harvest(spec: HarvestSpec | str) -> bool:
    """Whether the model can ever add a positive amount of energy (used to end runs early).

    Conservative: returns True whenever a positive harvest is possible in principle.
    """
    spec = HarvestSpec.parse(spec)
    kind, params = spec.kind, spec.params
    if kind == "none":
        return False
    if kind == "constant":
        return params[0] > 0
    if kind == "bernoulli":
        return params[0] > 0 and params[1] > 0
    if kind in ("markov", "markov-shared"):
        good, bad, p_gb, p_bg = params
        if kind == "markov-shared" and p_gb + p_bg > 0:
            return good > 0 or bad > 0  # started from the stationary distribution
        return good > 0 or (bad > 0 and p_gb > 0)
    if kind in ("constant-w",):
        return params[0] > 0
    if kind in ("solar", "solar-w"):
        return params[0] > 0
    raise AssertionError(kind)  # pragma: no cover - HarvestSpec.parse validated the kind


def solar_energy(peak_energy: float, period: float, round_number: int) -> float:
    """Energy of the solar profile in round ``round_number`` [J] (see module docstring)."""
    return peak_energy * max(0.0, math.sin(2.0 * math.pi * round_number / period))


@njit(cache=True, nogil=True)
def harvest_round(rng, kind, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                  stored_per_node):
    """Replenish one round in place (compiled); returns the energy stored this round [J].

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
        Markov chain state per node (0 good, 1 bad); updated for ``markov``.
    revive_threshold : float
        Wake-up threshold [J]; a value <= 0 disables reviving (dead nodes do not harvest).
    stored_per_node : float64[N]
        Output: the energy each node stored this round [J] (0 for nodes that did not harvest).
    """
    for i in range(stored_per_node.shape[0]):
        stored_per_node[i] = 0.0
    if kind == HARVEST_NONE:
        return 0.0
    revive = revive_threshold > 0.0
    if kind == HARVEST_MARKOV_SHARED:
        return _harvest_markov_shared(rng, params, round_number, energy, capacity, alive, markov_state,
                                      revive_threshold, stored_per_node)
    solar = 0.0
    if kind == HARVEST_SOLAR:
        solar = params[0] * max(0.0, math.sin(2.0 * math.pi * round_number / params[1]))
    total = 0.0
    n = energy.shape[0]
    for i in range(n):
        if alive[i] == 0 and not revive:
            continue
        amount = 0.0
        if kind == HARVEST_CONSTANT:
            amount = params[0]
        elif kind == HARVEST_BERNOULLI:
            if rng.random() < params[1]:
                amount = params[0]
        elif kind == HARVEST_MARKOV:
            if markov_state[i] == MARKOV_GOOD:
                amount = params[0]
                if rng.random() < params[2]:
                    markov_state[i] = MARKOV_BAD
            else:
                amount = params[1]
                if rng.random() < params[3]:
                    markov_state[i] = MARKOV_GOOD
        else:
            amount = solar
        room = capacity[i] - energy[i]
        stored = amount if amount < room else room
        if stored > 0.0:
            energy[i] += stored
            total += stored
            stored_per_node[i] = stored
        if alive[i] == 0 and revive and energy[i] >= revive_threshold:
            alive[i] = 1
    return total


@njit(cache=True, nogil=True)
def _harvest_markov_shared(rng, params, round_number, energy, capacity, alive, markov_state, revive_threshold,
                           stored_per_node):
    """``markov-shared``: one weather chain for all nodes, its state in ``markov_state[0]``.

    In round 1 the chain's state is drawn from its stationary distribution (one uniform u: bad when
    ``u < P_GB / (P_GB + P_BG)``; good when both probabilities are 0). Each round every harvesting node gains
    the energy of the shared state; then the chain draws one uniform and switches as the per-node chain does.
    """
    if markov_state.shape[0] == 0:
        return 0.0
    p_gb = params[2]
    p_bg = params[3]
    if round_number == 1:
        u = rng.random()
        total_p = p_gb + p_bg
        markov_state[0] = MARKOV_BAD if (total_p > 0.0 and u < p_gb / total_p) else MARKOV_GOOD
    amount = params[0] if markov_state[0] == MARKOV_GOOD else params[1]
    revive = revive_threshold > 0.0
    total = 0.0
    for i in range(energy.shape[0]):
        if alive[i] == 0 and not revive:
            continue
        room = capacity[i] - energy[i]
        stored = amount if amount < room else room
        if stored > 0.0:
            energy[i] += stored
            total += stored
            stored_per_node[i] = stored
        if alive[i] == 0 and revive and energy[i] >= revive_threshold:
            alive[i] = 1
    if markov_state[0] == MARKOV_GOOD:
        if rng.random() < p_gb:
            markov_state[0] = MARKOV_BAD
    elif rng.random() < p_bg:
        markov_state[0] = MARKOV_GOOD
    return total
