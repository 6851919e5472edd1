"""The policy round loop: one replica, round by round, with clustering and offloading policies in Python.

Each round: *harvest* (compiled) -> *elect* (``clustering.elect(state, rng)``) -> receivers (compiled) ->
*decide* (a built-in rule, compiled, or ``offloading.decide(state, heads, rng)``) -> *account* and *record*
(compiled: :func:`wsnmec.sim.accounting.decide_and_charge_jit`, :func:`wsnmec.sim.kernel.record_round_jit`).
The compiled steps are those of the fused loop of :mod:`wsnmec.sim.kernel`, so a built-in protocol run
through this loop gives the same tables bit for bit (tested), under either sink medium (``--medium``: the
round's latency with a channel per transmission or through the sink's shared channels).

>>> from wsnmec.sim import Scenario
>>> from wsnmec.sim.rounds import RoundLoop
>>> loop = RoundLoop(Scenario(protocol="leach", rounds=10), seed=1)      # doctest: +SKIP
>>> loop.step()                                                         # doctest: +SKIP
>>> loop.state.energy[:5], loop.last_heads                               # doctest: +SKIP

Dry-run scoring (:meth:`RoundLoop.score`) accounts K candidate (cluster-head mask, decisions) pairs against
the current state without changing it: the primitive of learned policies and per-round optima.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from ..clustering.registry import make_policy
from ..errors import ParameterError
from .accounting import (
    CONTROL_KINDS,
    OFFLOAD_RULES,
    P_CONTROL_BITS,
    RES_KEPT,
    count_members,
    decide_and_charge_jit,
    heads_from_mask,
    remember_clusters_jit,
)
from .columns import FLOAT_COLUMNS, INT_COLUMNS
from .kernel import record_round_jit
from .nearest import assign_receivers_jit
from .replica import build_replica
from .scoring import EMPTY, CandidateScores, HeadSetScorer  # noqa: F401 (CandidateScores re-exported)
from .setup import round_parameters_for
from .state import NetworkState, read_only


class OffloadPolicy:
    """Interface of an offloading policy: ``decide(state, heads, rng)`` returns uint8[N] with 1 at the
    cluster heads that offload to the edge (other entries are ignored). ``state.receivers`` and
    ``state.members`` hold this round's assignment."""

    name = ""
    rule: int | None = None

    def reset(self, state, rng) -> None:
        """Set up before round 1 (default: nothing)."""

    def decide(self, state, heads, rng):  # pragma: no cover - interface
        raise NotImplementedError


class RuleOffload(OffloadPolicy):
    """A built-in rule of :data:`wsnmec.sim.accounting.OFFLOAD_RULES`, decided in compiled code."""

    def __init__(self, name: str):
        if name not in OFFLOAD_RULES:
            raise ParameterError("--offload", f"must be one of {', '.join(OFFLOAD_RULES)}; got {name!r}")
        self.name = name
        self.rule = OFFLOAD_RULES[name]


@njit(cache=True, nogil=True)
def _prepare_round_jit(mask, x, y, d_sink, alive, rounds_since_ch, bbox, join_cluster, is_ch, ch_list, target,
                       distance, members, fgrid, igrid):
    """Cluster heads from ``mask``, ``rounds_since_ch`` update, receivers and planned cluster sizes."""
    n_ch = heads_from_mask(mask, alive, is_ch, ch_list)
    for i in range(mask.shape[0]):
        if is_ch[i] != 0:
            rounds_since_ch[i] = 0
        elif alive[i] != 0:
            rounds_since_ch[i] += 1
    assign_receivers_jit(x, y, d_sink, alive, is_ch, ch_list, n_ch, bbox, target, distance, fgrid, igrid,
                         join_cluster)
    count_members(alive, is_ch, target, members)
    return n_ch


@njit(cache=True, nogil=True)
def _finish_round_jit(k, rule, n_ch, harvested, d_sink, energy, alive, capacity, is_ch, ch_list, target, distance,
                      decision, extra_control, params, drawn, received, members, fgrid, igrid, result, out_int,
                      out_float, previous):
    """Built-in decisions (``rule`` >= 0), charges (set-up only when the clusters differ from ``previous``,
    the previous round's receivers, which then become this round's) and the record of row ``k``; returns
    the alive count."""
    consumed = decide_and_charge_jit(rule, d_sink, energy, alive, is_ch, ch_list, n_ch, target, distance, decision,
                                     extra_control, params, drawn, received, members, fgrid, igrid, result,
                                     previous)
    remember_clusters_jit(target, previous)
    return record_round_jit(k, energy, alive, capacity, n_ch, harvested, consumed, result, params, out_int,
                            out_float)


class RoundLoop:
    """One replica simulated round by round (see module docstring).

    Parameters
    ----------
    scenario : Scenario
        Validated parameters. Under ``--p auto`` :attr:`scenario` (and ``state.scenario``) is a copy with
        the replica's resolved p (:attr:`p_resolved`).
    seed : int
        The replica's seed: ``numpy.random.default_rng(seed)`` draws the deployment, the harvests and the
        policies' random numbers, in that order within a round (as :func:`wsnmec.sim.simulate`).
    clustering : str or ClusteringPolicy, optional
        Default: the scenario's ``protocol``.
    offloading : str or OffloadPolicy, optional
        Default: the scenario's ``offload`` rule.
    """

    def __init__(self, scenario, seed: int, clustering=None, offloading=None):
        self.scenario = scenario
        self.rng = np.random.default_rng(seed)
        replica = build_replica(scenario, self.rng)
        net = self.deployment = replica.deployment
        n = self.n = replica.n
        self.x = net.x
        self.y = net.y
        self.initial, self.capacity, self.energy = replica.initial, replica.capacity, replica.energy
        self.alive, self.rounds_since_ch = replica.alive, replica.rounds_since_ch
        self.markov_state, self.harvested = replica.markov_state, replica.harvested
        self.work, self.d_sink, self.bbox = replica.work, replica.d_sink, replica.bbox
        # ``--p auto``: p = k_opt / N of this deployment, fixed for the run; the policies (and the state)
        # see a scenario with the number in place of "auto".
        self.p_resolved = replica.p_resolved
        if scenario.p != self.p_resolved:
            scenario = dataclasses.replace(scenario, p=self.p_resolved)
            self.scenario = scenario
        if clustering is None or isinstance(clustering, str):
            clustering = make_policy(clustering or scenario.protocol, scenario)
        self.clustering = clustering
        if offloading is None or isinstance(offloading, str):
            offloading = RuleOffload(offloading or scenario.offload)
        self.offloading = offloading
        self.rule = -1 if getattr(offloading, "rule", None) is None else int(offloading.rule)
        self.params = round_parameters_for(scenario, self.bbox, CONTROL_KINDS[clustering.control])
        self.join_cluster = scenario.join == "cluster"
        self.harvest_kind, self.harvest_params = replica.harvest_kind, replica.harvest_params
        self.harvest_step = replica.harvest_step  # harvest_round, or a plug-in harvest model's Python step
        self.revive, self.can_revive = replica.revive, replica.can_revive
        self.round = 0
        self.last_heads = np.zeros(n, dtype=np.bool_)
        w = self.work
        self._scorer = HeadSetScorer(self.x, self.y, self.d_sink, self.energy, self.alive, self.params, self.bbox,
                                     w.previous)
        self.state = NetworkState(
            n=n, round=0, x=read_only(net.x), y=read_only(net.y), sink=net.sink, field=scenario.field,
            d_sink=read_only(self.d_sink), energy=read_only(self.energy), initial_energy=read_only(self.initial),
            capacity=read_only(self.capacity), alive_u8=read_only(self.alive),
            rounds_since_ch=read_only(self.rounds_since_ch), harvested=read_only(self.harvested),
            consumed_last=read_only(w.drawn), receivers=read_only(w.target), members=read_only(w.members),
            scenario=scenario, params=read_only(self.params), previous_receivers=read_only(w.previous),
            scorer=self._scorer)
        self.clustering.reset(self.state, self.rng)
        self.offloading.reset(self.state, self.rng)
        self._row_int = np.zeros((1, len(INT_COLUMNS)), dtype=np.int64)
        self._row_float = np.zeros((1, len(FLOAT_COLUMNS)), dtype=np.float64)

    @property
    def alive_count(self) -> int:
        return int(np.count_nonzero(self.alive))

    def step(self, out_int=None, out_float=None, k: int = 0) -> int:
        """Simulate the next round; writes row ``k`` of ``out_int``/``out_float`` (default: an internal
        one-row buffer, see :attr:`last_record`). Returns the number of alive nodes after the round."""
        if out_int is None:
            out_int, out_float, k = self._row_int, self._row_float, 0
        self.round += 1
        r = self.round
        state = self.state
        state.round = r
        harvested = 0.0
        if self.harvest_kind != 0:  # (no call without harvesting: passing the Generator costs ~10 us)
            harvested = self.harvest_step(self.rng, self.harvest_kind, self.harvest_params, r, self.energy,
                                          self.capacity, self.alive, self.markov_state, self.revive, self.harvested)
        mask = self.clustering.elect(state, self.rng)
        w = self.work
        n_ch = _prepare_round_jit(mask, self.x, self.y, self.d_sink, self.alive, self.rounds_since_ch, self.bbox,
                                  self.join_cluster, w.is_ch, w.ch_list, w.target, w.distance, w.members,
                                  w.fgrid, w.igrid)
        if self.rule < 0:
            heads = w.is_ch.view(np.bool_)
            decision = np.asarray(self.offloading.decide(state, heads, self.rng), dtype=np.uint8)
            if decision.shape != (self.n,):
                raise ParameterError("decide", f"must return {self.n} decisions, got shape {decision.shape}")
            w.decision[:] = decision
        extra = EMPTY
        if self.params[P_CONTROL_BITS] > 0.0:
            extra_control = self.clustering.control_energy(state, w.is_ch.view(np.bool_))
            if extra_control is not None:
                extra = np.ascontiguousarray(extra_control, dtype=np.float64)
        np.copyto(self.last_heads, w.is_ch.view(np.bool_))
        return _finish_round_jit(k, self.rule, n_ch, harvested, self.d_sink, self.energy, self.alive, self.capacity,
                                 w.is_ch, w.ch_list, w.target, w.distance, w.decision, extra, self.params, w.drawn,
                                 w.received, w.members, w.fgrid, w.igrid, w.result, out_int, out_float,
                                 w.previous)

    @property
    def last_kept(self) -> bool:
        """Whether the last :meth:`step` kept the previous round's clusters and paid no set-up messages
        (:mod:`wsnmec.sim.accounting` Notes, *Kept clusters*)."""
        return bool(self.work.result[RES_KEPT])

    @property
    def last_record(self) -> dict:
        """The last :meth:`step`'s record (when it wrote to the internal buffer) as a dict of columns."""
        row = dict(zip(INT_COLUMNS, (int(v) for v in self._row_int[0])))
        row.update(zip(FLOAT_COLUMNS, (float(v) for v in self._row_float[0])))
        return row

    def run(self, n_rounds: int, out_int=None, out_float=None) -> tuple[int, bool]:
        """Simulate up to ``n_rounds`` rounds into the given (or new) record arrays.

        Returns ``(rounds_done, finished)``; stops after a round that leaves no node alive when no node can
        revive. The records are :attr:`records` after the call when no arrays are given.
        """
        if out_int is None:
            out_int = np.empty((n_rounds, len(INT_COLUMNS)), dtype=np.int64)
            out_float = np.empty((n_rounds, len(FLOAT_COLUMNS)), dtype=np.float64)
        self.records = (out_int, out_float)
        for k in range(n_rounds):
            if self.step(out_int, out_float, k) == 0 and not self.can_revive:
                self.records = (out_int[: k + 1], out_float[: k + 1])
                return k + 1, True
        return n_rounds, False

    def score(self, masks, decisions=None, *, rule: str | None = None, per_node: bool = False) -> CandidateScores:
        """Dry-run K candidate head sets against the current state (after this round's harvest, e.g. from a
        policy's ``elect``) without changing it; parameters, result and Notes as
        :meth:`wsnmec.sim.scoring.HeadSetScorer.score` (the state's :meth:`~wsnmec.sim.state.NetworkState.score`
        runs the same scorer)."""
        return self._scorer.score(masks, decisions, rule=rule, per_node=per_node)
