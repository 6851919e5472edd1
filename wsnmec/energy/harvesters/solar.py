"""``solar:J_PEAK,PERIOD``: a diurnal profile identical for all nodes, no random draws.

In round ``r`` (counted from 1) every harvesting node gains ``J_PEAK * max(0, sin(2 pi r / PERIOD))`` [J]
(PERIOD in rounds): a clipped sine, a simple diurnal approximation.
"""

import math

from numba import njit

from .base import HarvestModel


def solar_energy(peak_energy: float, period: float, round_number: int) -> float:
    """Energy of the solar profile in round ``round_number`` [J] (module docstring)."""
    return peak_energy * max(0.0, math.sin(2.0 * math.pi * round_number / period))


@njit(cache=True, nogil=True)
def solar_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
               stored_per_node):
    """One round of ``solar`` (``params[0]``: J_PEAK [J], ``params[1]``: PERIOD [rounds]); returns the energy
    stored [J]."""
    amount = params[0] * max(0.0, math.sin(2.0 * math.pi * round_number / params[1]))
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
    return total


MODEL = HarvestModel(
    name="solar", values=("peak_energy", "period"), units=("J", "rounds"), checks=("nonnegative", "positive"),
    syntax="solar:J_PEAK,PERIOD_ROUNDS", code=4, draw=solar_draw, can_harvest=lambda values: values[0] > 0,
)
