"""LEACH-DCHS (iLEACH): LEACH with deterministic cluster-head selection (Handy, Haase, Timmermann 2002).

Registered as ``leach-dchs``, with the alias ``ileach``.

Notes
-----
The LEACH threshold (see :mod:`wsnmec.clustering.leach`, same epoch rule and draw order) is scaled by the
node's energy [1]_:

    T_n(r) = p / (1 - p ((r - 1) mod E)) * [E_cur / E_max + (r_s div E) (1 - E_cur / E_max)]

with E_cur the node's stored energy [J] at election time (after this round's harvest), E_max the node's
*initial* energy [J] (as in the paper; with ``--battery`` above the initial energy a harvesting node may hold
more than E_max, and then its ratio exceeds 1), E = round(1/p), and r_s the number of consecutive rounds in
which the node (alive) has not been CH, reset to 0 when it is elected; ``div`` is integer division. The
second term lifts the threshold of a node that has not been CH for 1/p rounds, which keeps the network from
running out of CH candidates when the energies are low.

**Control messages per round** (charged only when ``--control-bits`` B > 0): those of LEACH (the
``distributed`` pattern, listed in :mod:`wsnmec.clustering.leach`: advertisements, join requests, TDMA
schedules). The threshold uses the node's own energy and counter, so no further message is needed.

References
----------
.. [1] M. J. Handy, M. Haase, D. Timmermann, "Low energy adaptive clustering hierarchy with deterministic
   cluster-head selection", Proc. 4th IEEE Conf. on Mobile and Wireless Communications Networks (MWCN),
   Stockholm, 2002, pp. 368-372.
"""

from __future__ import annotations

from .leach import LeachPolicy, epoch_length, leach_threshold


def leach_dchs_threshold(round_number: int, p: float, energy: float, initial_energy: float,
                         rounds_since_ch: int) -> float:
    """The LEACH-DCHS threshold of an eligible node (see module Notes); energies in [J]."""
    ratio = energy / initial_energy
    return leach_threshold(round_number, p) * (ratio + (rounds_since_ch // epoch_length(p)) * (1.0 - ratio))


class LeachDCHSPolicy(LeachPolicy):
    """LEACH-DCHS election (the compiled loop of :func:`wsnmec.clustering.leach.elect_by_threshold` with
    the energy-scaled threshold)."""

    name = "leach-dchs"
    fused_code = 2
    energy_scaled = True
