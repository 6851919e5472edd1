"""The fused round loop of the built-in protocols: harvest, elect, decide, account and record, compiled.

A round is split into the steps of the design card. The built-in protocols (direct, LEACH, LEACH-DCHS)
run the whole loop in :func:`run_rounds_jit`; any other clustering policy runs through the policy round
loop of :mod:`wsnmec.sim.rounds`, which calls the same compiled steps one at a time: the harvest, the
accounting of :mod:`wsnmec.sim.accounting` and :func:`record_round_jit`.

Notes
-----
**One round r** (counted from 1), in this order:

1. *harvest* (:func:`wsnmec.energy.harvest.harvest_round`): in node order, each harvesting node (alive, or
   any node when reviving is enabled) draws its harvest random numbers (``bernoulli``: one uniform;
   ``markov``: one uniform after harvesting, for the state switch; other models: none), stores the energy
   up to its capacity; a dead node whose energy reaches the revive threshold is alive again.
2. *elect* (:mod:`wsnmec.clustering`): in node order, LEACH/iLEACH draw one uniform per eligible alive
   node (``clean``) or per alive node (``matlab``); ``direct`` draws nothing. No other random draws exist
   in a round, so the stream of a replica is: deployment (2 N uniforms unless a CSV is given), then per
   round the harvest draws followed by the election draws.
3. *account* (:func:`wsnmec.sim.accounting.account_round_jit`): receivers, offloading decisions, the
   radio, computation and control energy of the round (set-up messages only when the clusters differ from
   the previous round's: accounting Notes, *Kept clusters*), its latency (``--medium ideal``, or the schedule of
   the sink's shared channels under ``--medium shared``: accounting Notes, 6), then every node whose energy
   is <= 0 is marked dead (it takes no part in later rounds).
4. *record* (:func:`record_round_jit`): the columns of :mod:`wsnmec.sim.columns`.

**Receivers.** An alive non-CH node sends to its nearest CH when that CH is strictly nearer than the
sink, else to the sink (so a tie between the sink and a CH goes to the sink, as in the MATLAB code).
Among CHs at the same distance the one with the lower node index wins. Distances are
``sqrt(dx*dx + dy*dy)`` [m] in float64. The nearest CH is found on a uniform grid over the CHs (about one
CH per cell), searching rings of cells outward until no unsearched cell can hold a nearer CH, so a round
costs O(N) rather than O(N x #CH). The grid is sized without multiplying the spans (cell side
``sqrt(span_x / n_ch) * sqrt(span_y)``) and degrades to fewer cells, down to a single one, when a span,
side or cell size is 0, subnormal or not finite, so tiny (1e-300 m) and huge (1e300 m) coordinates give
the brute-force answer too.

**clean accounting** (l = packet bits, E_tx/E_rx from :mod:`wsnmec.energy.radio`):

- each alive non-CH node pays E_tx(l, d) to its receiver. If it holds less than that, it spends all it has,
  its energy is 0 and it dies; the packet is lost: it is not counted, and the CH neither receives nor
  fuses it.
- then each CH c with k_c packets received pays D_c = k_c E_rx(l) + (k_c + 1) E_DA l + E_tx(l, d_sink).
  If it holds less than D_c it spends all it has and dies, and its fused packet does not reach the sink
  (the k_c packets it received still count in ``packets_to_ch``).
- ``consumed`` is the energy actually drawn, so initial + harvested - consumed = residual holds exactly
  (up to float64 rounding).
- with no CH (``direct``, or nobody elected) every alive node sends to the sink.

**matlab accounting** (the MATLAB LEACH/SEP code, Smaragdakis, Matta, Bestavros 2004):

- each CH, in node order, pays (E_elec + E_DA) l + amp(d_sink) l at once;
- then each alive non-CH node, in node order, with d = min(distance to the sink, distances to the CHs)
  pays E_elec l + amp(d) l, and when d > 0 the CH it chose pays (E_elec + E_DA) l, the first CH
  elected that round (lowest index) when the sink was nearest;
- in a round with no CH the non-CH nodes of LEACH/iLEACH spend nothing (``direct`` still sends to the
  sink);
- energy is not clipped: it may go below zero, ``consumed`` counts every charge and ``residual`` the
  (possibly negative) stored energies, so the energy balance also holds; a node with energy <= 0 is dead
  from the next round on.

**numba cache (development checkouts).** The compiled functions use ``@njit(cache=True)``; numba reuses a
cache file (``__pycache__/*.nbi`` and ``*.nbc`` next to each module) while the *calling* function's own source
file keeps its timestamp, although :func:`run_rounds_jit` inlines compiled functions from other files
(:mod:`wsnmec.energy.harvest`, :mod:`wsnmec.energy.radio`, :mod:`wsnmec.clustering.leach`, ...). So that an edit
or a ``git pull`` of one of those files cannot leave the old code running, the package deletes every cached
kernel on import when any of its source files differs from those the cache was built from
(:mod:`wsnmec.kernel_cache`); the next run compiles again.

References
----------
.. [1] G. Smaragdakis, I. Matta, A. Bestavros, "SEP: A Stable Election Protocol for clustered
   heterogeneous wireless sensor networks", Proc. SANPA, 2004 (MATLAB code distributed with the paper).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..clustering.direct import elect_direct
from ..clustering.leach import elect_by_threshold
from ..energy.harvest import harvest_round
from ..energy.radio import RadioModel
from .accounting import (
    P_TIME_WEIGHT,
    RES_CONTROL,
    RES_DELIVERED,
    RES_FALLBACK,
    RES_LATENCY,
    RES_OFFLOADED,
    RES_TO_CH,
    RES_TO_SINK,
    account_round_jit,
    remember_clusters_jit,
)
from .columns import FLOAT_COLUMNS, INT_COLUMNS

SEMANTICS_CODES: dict[str, int] = {"clean": 0, "matlab": 1}
CLEAN = 0
MATLAB = 1

#: Codes of the protocols the fused loop runs (see :mod:`wsnmec.clustering.registry`).
DIRECT = 0
LEACH = 1
LEACH_DCHS = 2

__all__ = ["CLEAN", "DIRECT", "FLOAT_COLUMNS", "INT_COLUMNS", "LEACH", "LEACH_DCHS", "MATLAB", "SEMANTICS_CODES",
           "radio_array", "record_round_jit", "run_rounds_jit"]


def radio_array(radio: RadioModel) -> np.ndarray:
    """Radio constants as the kernel takes them: ``[e_elec, eps_fs, eps_mp, d0, e_da]``."""
    return np.array([radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0, radio.e_da], dtype=np.float64)


@njit(cache=True, nogil=True)
def record_round_jit(k, energy, alive, capacity, n_ch, harvested, consumed, result, params, out_int, out_float):
    """Write row ``k`` of the per-round records (:data:`INT_COLUMNS`, :data:`FLOAT_COLUMNS`); returns the
    number of alive nodes."""
    n_alive = 0
    at_90 = 0
    residual = 0.0
    stored = 0.0
    for i in range(energy.shape[0]):
        e = energy[i]
        stored += e
        if e > 0.0:
            residual += e
        if alive[i] != 0:
            n_alive += 1
            if e >= 0.9 * capacity[i]:
                at_90 += 1
    latency = result[RES_LATENCY]
    out_int[k, 0] = n_alive
    out_int[k, 1] = n_ch
    out_int[k, 2] = int(result[RES_TO_SINK])
    out_int[k, 3] = int(result[RES_TO_CH])
    out_int[k, 4] = at_90
    out_int[k, 5] = int(result[RES_OFFLOADED])
    out_int[k, 6] = int(result[RES_FALLBACK])
    out_float[k, 0] = residual
    out_float[k, 1] = consumed
    out_float[k, 2] = harvested
    out_float[k, 3] = stored
    out_float[k, 4] = latency
    out_float[k, 5] = consumed + params[P_TIME_WEIGHT] * latency
    out_float[k, 6] = result[RES_DELIVERED]
    out_float[k, 7] = result[RES_CONTROL]
    return n_alive


@njit(cache=True, nogil=True)
def run_rounds_jit(rng, first_round, n_rounds, protocol, p, epoch_len, draw_all, rule, params, harvest,
                   geometry, energies, node_state, work, out_int, out_float):
    """Simulate rounds ``first_round .. first_round + n_rounds - 1`` of one replica (compiled, in place).

    Parameters
    ----------
    rng : numpy.random.Generator
        The replica's generator.
    protocol : int
        :data:`DIRECT`, :data:`LEACH` or :data:`LEACH_DCHS`.
    p, epoch_len, draw_all
        Election parameters (:func:`wsnmec.clustering.leach.elect_by_threshold`).
    rule : int
        Built-in offloading rule (:data:`wsnmec.sim.accounting.OFFLOAD_RULES`).
    params : float64[:]
        Packed round constants (:func:`wsnmec.sim.accounting.round_parameters`).
    harvest : tuple
        ``(kind, params, revive_threshold, can_revive, stored_per_node)``.
    geometry : tuple
        ``(x, y, d_sink, bbox)`` [m].
    energies : tuple
        ``(initial, capacity, energy)`` [J]; ``energy`` is updated.
    node_state : tuple
        ``(alive, ch_epoch, rounds_since_ch, markov_state)``; updated.
    work : tuple
        ``(is_ch, ch_list, target, distance, drawn, received, members, decision, extra_control, fgrid, igrid,
        result, previous)`` scratch and per-round outputs (:class:`wsnmec.sim.accounting.Workspace`);
        ``previous`` holds the previous round's receivers (updated: accounting Notes, *Kept clusters*).

    Writes one row per round into ``out_int`` and ``out_float``. Stops early after a round that leaves no
    node alive when reviving is impossible. Returns ``(rounds_done, finished)``.
    """
    harvest_kind, harvest_params, revive_threshold, can_revive, stored_per_node = harvest
    x, y, d_sink, bbox = geometry
    initial, capacity, energy = energies
    alive, ch_epoch, rounds_since_ch, markov_state = node_state
    (is_ch, ch_list, target, distance, drawn, received, members, decision, extra_control, fgrid, igrid, result,
     previous) = work
    for k in range(n_rounds):
        r = first_round + k
        harvested = harvest_round(rng, harvest_kind, harvest_params, r, energy, capacity, alive, markov_state,
                                  revive_threshold, stored_per_node)
        if protocol == DIRECT:
            n_ch = elect_direct(rng, r, p, epoch_len, draw_all, alive, energy, initial, ch_epoch,
                                rounds_since_ch, is_ch, ch_list)
        else:
            n_ch = elect_by_threshold(rng, r, p, epoch_len, draw_all, protocol == LEACH_DCHS, alive, energy,
                                      initial, ch_epoch, rounds_since_ch, is_ch, ch_list)
        consumed = account_round_jit(x, y, d_sink, energy, alive, is_ch, ch_list, n_ch, decision, rule,
                                     extra_control, params, bbox, target, distance, drawn, received, members,
                                     fgrid, igrid, result, previous)
        remember_clusters_jit(target, previous)
        n_alive = record_round_jit(k, energy, alive, capacity, n_ch, harvested, consumed, result, params,
                                   out_int, out_float)
        if n_alive == 0 and not can_revive:
            return k + 1, True
    return n_rounds, False
