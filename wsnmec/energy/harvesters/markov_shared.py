"""``markov-shared:J_GOOD,J_BAD,P_GB,P_BG``: one weather chain shared by all nodes (the weather is the same across
a small field), started from its stationary distribution.

In round 1 the chain's state is drawn with one uniform ``u`` (bad when ``u < P_GB / (P_GB + P_BG)``; good when
both probabilities are 0). Each round every harvesting node gains the energy of the shared state [J]; then the
chain draws one uniform and switches as the per-node chain of ``markov`` does.
"""

from numba import njit

from .base import HarvestModel
from .markov import MARKOV_BAD, MARKOV_CHECKS, MARKOV_GOOD, MARKOV_UNITS, MARKOV_VALUES


@njit(cache=True, nogil=True)
def markov_shared_draw(rng, params, round_number, energy, capacity, alive, chain_state, revive_threshold,
                       stored_per_node):
    """One round of ``markov-shared`` (the chain's state in ``chain_state[0]``); returns the energy stored [J]."""
    if chain_state.shape[0] == 0:
        return 0.0
    p_gb = params[2]
    p_bg = params[3]
    if round_number == 1:
        u = rng.random()
        total_p = p_gb + p_bg
        chain_state[0] = MARKOV_BAD if (total_p > 0.0 and u < p_gb / total_p) else MARKOV_GOOD
    amount = params[0] if chain_state[0] == MARKOV_GOOD else params[1]
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
    if chain_state[0] == MARKOV_GOOD:
        if rng.random() < p_gb:
            chain_state[0] = MARKOV_BAD
    elif rng.random() < p_bg:
        chain_state[0] = MARKOV_GOOD
    return total


def _can_harvest(values) -> bool:
    good, bad, p_gb, p_bg = values
    if p_gb + p_bg > 0:
        return good > 0 or bad > 0  # started from the stationary distribution
    return good > 0 or (bad > 0 and p_gb > 0)


MODEL = HarvestModel(
    name="markov-shared", values=MARKOV_VALUES, units=MARKOV_UNITS, checks=MARKOV_CHECKS,
    syntax="markov-shared:J_GOOD,J_BAD,P_GOOD_TO_BAD,P_BAD_TO_GOOD",
    help="markov-shared:(same; one chain for all nodes, stationary start)",
    code=5, draw=markov_shared_draw, can_harvest=_can_harvest,
)
