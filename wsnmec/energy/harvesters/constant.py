"""``constant:J``: every harvesting node gains ``J`` [J] each round (no random draws)."""

from numba import njit

from .base import HarvestModel, store


@njit(cache=True, nogil=True)
def constant_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                  stored_per_node):
    """One round of ``constant`` (``params[0]``: J [J]); returns the energy stored [J]."""
    revive = revive_threshold > 0.0
    total = 0.0
    for i in range(energy.shape[0]):
        if alive[i] == 0 and not revive:
            continue
        total += store(i, params[0], energy, capacity, alive, revive_threshold, stored_per_node)
    return total


MODEL = HarvestModel(
    name="constant", values=("energy",), units=("J/round",), checks=("nonnegative",), syntax="constant:J",
    code=1, draw=constant_draw, can_harvest=lambda values: values[0] > 0,
)
