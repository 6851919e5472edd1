"""``constant:J``: every harvesting node gains ``J`` [J] each round (no random draws)."""

from numba import njit

from .base import HarvestModel


@njit(cache=True, nogil=True)
def constant_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                  stored_per_node):
    """One round of ``constant`` (``params[0]``: J [J]); returns the energy stored [J]."""
    revive = revive_threshold > 0.0
    total = 0.0
    for i in range(energy.shape[0]):
        if alive[i] == 0 and not revive:
            continue
        amount = params[0]
        room = capacity[i] - energy[i]
        stored = amount if amount < room else room
        if stored > 0.0:
            energy[i] += stored
            total += stored
            stored_per_node[i] = stored
        if alive[i] == 0 and revive and energy[i] >= revive_threshold:
            alive[i] = 1
    return total


MODEL = HarvestModel(
    name="constant", values=("energy",), units=("J/round",), checks=("nonnegative",), syntax="constant:J",
    code=1, draw=constant_draw, can_harvest=lambda values: values[0] > 0,
)
