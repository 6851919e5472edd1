"""``bernoulli:H,Q``: every harvesting node draws one uniform ``u`` in [0, 1) and gains ``H`` [J] when ``u < Q``.

Notes
-----
One draw per harvesting node, in node order. The Bernoulli source is the usual stochastic replenishment model
of energy-harvesting WSN studies (:mod:`wsnmec.energy.harvest` References).
"""

from numba import njit

from .base import HarvestModel


@njit(cache=True, nogil=True)
def bernoulli_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                   stored_per_node):
    """One round of ``bernoulli`` (``params[0]``: H [J], ``params[1]``: Q); returns the energy stored [J]."""
    revive = revive_threshold > 0.0
    total = 0.0
    for i in range(energy.shape[0]):
        if alive[i] == 0 and not revive:
            continue
        amount = 0.0
        if rng.random() < params[1]:
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
    name="bernoulli", values=("energy", "probability"), units=("J", "1"), checks=("nonnegative", "probability"),
    syntax="bernoulli:J,Q", code=2, draw=bernoulli_draw, can_harvest=lambda values: values[0] > 0 and values[1] > 0,
)
