"""``markov:J_GOOD,J_BAD,P_GB,P_BG``: a two-state (good / bad weather) chain per node, started *good*.

In a round a harvesting node gains the energy of its current state [J], then draws one uniform ``u`` and
switches good -> bad when ``u < P_GB`` (bad -> good when ``u < P_BG``). A node that does not harvest (dead, no
reviving) keeps its state and draws nothing.

Notes
-----
The two-state Markov (Gilbert-Elliott-type) source is a usual stochastic replenishment model of
energy-harvesting WSN studies (:mod:`wsnmec.energy.harvest` References).
"""

from numba import njit

from .base import HarvestModel

#: Chain states (``markov``, ``markov-shared``).
MARKOV_GOOD = 0
MARKOV_BAD = 1

#: Names, units and ranges of the values of both Markov models.
MARKOV_VALUES = ("energy_good", "energy_bad", "p_good_to_bad", "p_bad_to_good")
MARKOV_UNITS = ("J", "J", "1", "1")
MARKOV_CHECKS = ("nonnegative", "nonnegative", "probability", "probability")


@njit(cache=True, nogil=True)
def markov_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                stored_per_node):
    """One round of ``markov`` (``params``: J_GOOD, J_BAD [J], P_GB, P_BG; ``chain_state[i]`` node i's state,
    updated); returns the energy stored [J]."""
    revive = revive_threshold > 0.0
    total = 0.0
    for i in range(energy.shape[0]):
        if alive[i] == 0 and not revive:
            continue
        amount = 0.0
        if chain_state[i] == MARKOV_GOOD:
            amount = params[0]
            if rng.random() < params[2]:
                chain_state[i] = MARKOV_BAD
        else:
            amount = params[1]
            if rng.random() < params[3]:
                chain_state[i] = MARKOV_GOOD
        room = capacity[i] - energy[i]
        stored = amount if amount < room else room
        if stored > 0.0:
            energy[i] += stored
            total += stored
            stored_per_node[i] = stored
        if alive[i] == 0 and revive and energy[i] >= revive_threshold:
            alive[i] = 1
    return total


def _can_harvest(values) -> bool:
    good, bad, p_gb, _p_bg = values
    return good > 0 or (bad > 0 and p_gb > 0)


MODEL = HarvestModel(
    name="markov", values=MARKOV_VALUES, units=MARKOV_UNITS, checks=MARKOV_CHECKS,
    syntax="markov:J_GOOD,J_BAD,P_GOOD_TO_BAD,P_BAD_TO_GOOD", code=3, draw=markov_draw, can_harvest=_can_harvest,
)
