"""What a policy sees of the network: :class:`NetworkState`.

Every array is a read-only view of the simulator's live arrays (it follows the simulation without copies;
writing to it raises ``ValueError``): only the accounting changes energies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (shares its memory)."""
    view = array.view()
    view.flags.writeable = False
    return view


def kernel_input(array: np.ndarray) -> np.ndarray:
    """``array`` as the package's compiled kernels take their inputs: writable.

    numba compiles one machine code per argument type, and a read-only array is another type than a
    writable one, so a kernel that read the state's views (:func:`read_only`) in one caller and the live
    arrays in another would be compiled (and cached, and warmed up) twice or more. The kernels only read
    these inputs. Returns the live array a :func:`read_only` view was made from (same memory, shape and
    strides), ``array`` itself when it is writable, else a copy.
    """
    if array.flags.writeable:
        return array
    base = array.base
    if (isinstance(base, np.ndarray) and base.flags.writeable and base.dtype == array.dtype
            and base.shape == array.shape and base.strides == array.strides
            and base.__array_interface__["data"][0] == array.__array_interface__["data"][0]):
        return base
    return array.copy()


@dataclass
class NetworkState:
    """The state of one replica as a policy sees it, at the moment the policy is called.

    Attributes
    ----------
    n : int
        Number of nodes N.
    round : int
        Current round r (counted from 1).
    x, y : float64[N]
        Node positions [m].
    sink : (float, float)
        Sink (and edge server) position [m].
    field : (float, float)
        Field width and height [m].
    d_sink : float64[N]
        Distance of each node to the sink [m].
    energy : float64[N]
        Residual (stored) energy [J] (this round's harvest included).
    initial_energy : float64[N]
        Initial energy [J].
    capacity : float64[N]
        Battery capacity [J].
    alive_u8 : uint8[N]
        1 for alive nodes (``alive`` is the same as bool).
    rounds_since_ch : int64[N]
        Consecutive rounds each alive node has not been cluster head (0 in the round after it was).
    harvested : float64[N]
        Energy each node stored in this round's harvest step [J].
    consumed_last : float64[N]
        Energy each node drew in the previous round [J] (0 before round 2).
    receivers : int64[N]
        This round's receiver of each node once the cluster heads are known (CH index, -1 sink, -2 not
        sending); valid in ``decide`` (the offloading step), stale in ``elect``.
    members : int64[N]
        Members assigned to each CH this round (valid in ``decide``).
    scenario : Scenario
        The run's validated parameters (``p``, ``packet_bits``, radio, workload, ...).
    params : float64[:]
        The packed round constants (:func:`wsnmec.sim.accounting.round_parameters`).
    previous_receivers : int64[N]
        The previous round's receiver of each node (CH index, a CH's own index for itself, -1 sink, -2 not
        sending; -2 everywhere before round 1; empty in a state built without a round loop): a round whose
        clusters equal these pays no set-up messages (:mod:`wsnmec.sim.accounting` Notes, *Kept clusters*).
    scorer : HeadSetScorer or None
        The round loop's scorer, which :meth:`score` runs on while it reads this state's arrays (None for
        a state built without a round loop).
    """

    n: int
    round: int
    x: np.ndarray
    y: np.ndarray
    sink: tuple[float, float]
    field: tuple[float, float]
    d_sink: np.ndarray
    energy: np.ndarray
    initial_energy: np.ndarray
    capacity: np.ndarray
    alive_u8: np.ndarray
    rounds_since_ch: np.ndarray
    harvested: np.ndarray
    consumed_last: np.ndarray
    receivers: np.ndarray
    members: np.ndarray
    scenario: object
    params: np.ndarray
    previous_receivers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    scorer: object = field(default=None, repr=False)

    def score(self, masks, decisions=None, *, rule: str | None = None, per_node: bool = False):
        """Dry-run the head sets ``masks`` (bool or uint8 [K, N]) on this state's arrays without changing
        them: :class:`~wsnmec.sim.scoring.CandidateScores` (energy [J], latency [s], utility [J], delivered
        bits, per-node draws [J] when ``per_node``), as :meth:`wsnmec.sim.rounds.RoundLoop.score`. Scores on
        the round loop's scorer when it reads this state's arrays, else on a scorer of this state's own
        (made once, pointed at the state's current arrays at each call: a state made with
        :func:`dataclasses.replace` scores its own arrays)."""
        scorer = self.scorer
        if scorer is None or not scorer.reads(self):
            scorer = self.__dict__.get("_own_scorer")
            if scorer is None:
                from .scoring import HeadSetScorer

                scorer = self._own_scorer = HeadSetScorer.for_state(self)
            else:
                scorer.bind(self)
        return scorer.score(masks, decisions, rule=rule, per_node=per_node)

    @property
    def alive(self) -> np.ndarray:
        """Alive nodes as bool[N]."""
        return self.alive_u8.view(np.bool_)

    @property
    def alive_count(self) -> int:
        return int(np.count_nonzero(self.alive_u8))
