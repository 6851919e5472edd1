"""Per-round energy of a configuration: the simulator's own scorer, and the linear model the pricing needs.

A *configuration* is one round's head set H plus each other node's receiver (a head or the sink). Two cost
functions of a configuration, both per node [J per round]:

- :func:`score_configurations`: the simulator's dry-run scorer (:class:`wsnmec.sim.scoring.HeadSetScorer`,
  the compiled accounting of every round) on head masks; members join their nearest head or the sink by the
  simulator's own rule (``--join``), the heads decide by the scenario's ``--offload`` rule, and idle energy and
  control messages are charged as in a run: a round that sets up its clusters, or (``kept=True``) a round that
  keeps the previous round's clusters and pays no set-up messages. This is what a schedule really costs.
- :class:`LinearCosts`: a model linear in the head indicators and the member-to-receiver assignment, whose
  coefficients are evaluated with the package's own compiled functions (:func:`wsnmec.energy.radio.tx_energy_jit`
  through the packed round constants, :func:`wsnmec.sim.accounting.head_energy`), so no formula is written
  twice. It ranges over *all* receiver choices (the pricing problem needs them) and never exceeds the scorer,
  not even the scorer of a kept round.

Notes
-----
Model of node i's energy in one round, with every node alive (the bound only concerns rounds before the first
death), l = ``--packet-bits``, B = ``--control-bits``:

- every node: ``idle_j``;
- a member j of head i: ``E_tx(l, d_ji)``; a direct sender j: ``E_tx(l, d_j,sink)``;
- a head i with k members: ``head_energy(dec, k, d_i,sink) = a_dec(i) + b_dec(i) k`` (affine in k for every
  workload: the function is evaluated at k = 0 and k = 1);
- control messages: none (relaxation 3).

Relaxations, each only lowering costs (so the linear program's optimum can only grow and the bound stays
valid):

1. *receivers*: a member may join any head or the sink (the simulator sends it to the nearest head, or to the
   sink when the sink is at least as near). The scorer's configuration is one of the model's configurations.
2. *offloading* (``--offload greedy|exact``, where a head may take either decision): the head pays
   ``min_dec a_dec(i) + k min_dec b_dec(i) <= min_dec (a_dec(i) + b_dec(i) k)``, whatever the rule picks.
   With ``local`` or ``edge`` the rule's own affine cost is used (exact).
3. *control* (kept clusters): the simulator charges the set-up messages of a control pattern (advertisements,
   join requests, schedules, status uploads, assignments: :mod:`wsnmec.sim.accounting`, Notes) only in a round
   whose clusters differ from the previous round's (*Kept clusters* there). Before the first death every node
   is alive, so a round that keeps its clusters repeats the previous round's configuration exactly and costs
   exactly the model's cost above (idle energy and data, no set-up); a round that sets up its clusters costs
   that plus its set-up messages (>= 0), and a policy's own extra control energy (e.g. HEED's announcements,
   a learned policy's broadcast) only adds more. So every round of every schedule, kept or not, under every
   control pattern and ``--control-bits``, costs at least the model's cost of its configuration, and every
   schedule's energy use is at least what the linear program charges it: the bound holds. The price is that
   the bound no longer counts set-up messages at all, not even the one set-up of round 1 (which never keeps),
   nor the set-ups a schedule pays whenever it changes clusters: compared with the former model (a head
   ``2 B E_elec``, a member ``3 B E_elec`` in every round, the least any pattern charges when it sets up), it
   is looser by at most that set-up share of the per-round energy (none with ``--control-bits 0``; measured
   with the default 200-bit messages on the default 100-node scenario, seed 1: the bound rose from 1741.8 to
   1789.6 rounds, 2.7 %, and with ``--sink 50,175`` from 974.3 to 1033.1, 6.0 %).

The model equals the scorer of a kept round (``kept=True``) to rounding where relaxations 1 and 2 do not bite
(members at their nearest receiver, ``--offload local|edge``), whatever ``--control-bits`` (tested); with
``--control-bits 0`` a kept round and a set-up round cost the same.
"""

from __future__ import annotations

import numpy as np

from ..energy.radio import tx_energy_jit
from ..errors import ParameterError
from ..sim.accounting import (
    CONTROL_KINDS,
    EDGE,
    LOCAL,
    P_BITS,
    P_CONTROL_BITS,
    P_IDLE_J,
    R_D0,
    R_E_ELEC,
    R_EPS_FS,
    R_EPS_MP,
    head_energy,
)
from ..sim.nearest import bounding_box, sink_distances
from ..sim.scoring import HeadSetScorer
from ..sim.setup import round_parameters_for

#: The control pattern of the schedules the bound executes under the simulator's rules (``lp-schedule``, as
#: LEACH-C) when ``--control-bits`` > 0; the linear model's control costs hold for every pattern (Notes, 3).
BOUND_CONTROL = "centralized"

#: Energy given to every node when a configuration is scored, so that nobody runs short [J].
SCORING_ENERGY = 1e30

#: Largest energy [J] one link (a packet with its control header over the deployment's longest distance) may
#: cost for a bound: HiGHS refuses constraint coefficients of 1e15 and more ("Model error"); the order of
#: magnitude of margin covers a head's members and aggregation on top of its link.
LARGEST_LINK_COST_J = 1e14

#: Decisions a head may take under each ``--offload`` rule.
RULE_DECISIONS = {"local": (LOCAL,), "edge": (EDGE,), "greedy": (LOCAL, EDGE), "exact": (LOCAL, EDGE)}


class Network:
    """A deployed network and its packed round constants: what the costs need.

    Parameters
    ----------
    x, y : float64[N]
        Node positions [m].
    energy : float64[N]
        Initial energies [J].
    sink : (float, float)
        Sink position [m].
    params : float64[:]
        Packed round constants (:func:`wsnmec.sim.accounting.round_parameters`) with the control pattern
        :data:`BOUND_CONTROL`.
    offload : str
        The scenario's ``--offload`` rule.
    harvest_j : float
        Constant harvest per node and round [J] (0 without harvesting).
    """

    def __init__(self, x, y, energy, sink, params, offload="local", harvest_j=0.0):
        # own writable copies: the compiled scorer is compiled for writable inputs (sim.state.kernel_input)
        self.x = np.array(x, dtype=np.float64, order="C")
        self.y = np.array(y, dtype=np.float64, order="C")
        self.energy = np.array(energy, dtype=np.float64, order="C")
        self.sink = (float(sink[0]), float(sink[1]))
        self.params = np.array(params, dtype=np.float64, order="C")
        self.offload = offload
        self.harvest_j = float(harvest_j)
        self.n = int(self.x.shape[0])
        self.d_sink = sink_distances(self.x, self.y, self.sink[0], self.sink[1])
        self.bbox = bounding_box(self.x, self.y)
        self._check_link_costs()

    def _check_link_costs(self) -> None:
        """Refuse a deployment whose longest link costs more than :data:`LARGEST_LINK_COST_J` (one line naming
        ``--field``, instead of the LP solver's model error after the setup)."""
        p = self.params
        span_x, span_y = float(self.bbox[2]), float(self.bbox[3])
        longest = max(float(np.max(self.d_sink)) if self.n else 0.0, float(np.hypot(span_x, span_y)))
        cost = _tx(p[P_BITS] + p[P_CONTROL_BITS], longest, p)
        if not cost <= LARGEST_LINK_COST_J:
            raise ParameterError(
                "--field", f"must keep every link's cost at most {LARGEST_LINK_COST_J:g} J for a bound or "
                f"lp-schedule (the LP solver's range); the longest link of this deployment ({longest:.3g} m) costs "
                f"{cost:.3g} J: use a smaller --field, a nearer --sink or fewer --packet-bits",
            )

    @classmethod
    def from_scenario(cls, scenario, deployment) -> "Network":
        """The network of a deployment (:func:`wsnmec.sim.deployment.deploy`) under a validated scenario."""
        check_boundable(scenario, deployment.x, deployment.y, deployment.energy, deployment.sink)
        bbox = bounding_box(deployment.x, deployment.y)
        params = round_parameters_for(scenario, bbox, CONTROL_KINDS[BOUND_CONTROL])
        return cls(deployment.x, deployment.y, deployment.energy, deployment.sink, params, scenario.offload,
                   constant_harvest(scenario))

    def key_arrays(self) -> dict:
        """Everything the bound depends on (for the content-addressed cache)."""
        return {"x": self.x, "y": self.y, "energy": self.energy, "sink": np.asarray(self.sink),
                "params": self.params, "offload": np.frombuffer(self.offload.encode(), dtype=np.uint8),
                "harvest": np.asarray([self.harvest_j])}


def constant_harvest(scenario) -> float:
    """The constant harvest per round [J] of ``scenario`` (0 without harvesting)."""
    spec = scenario.harvest
    if spec.kind == "none":
        return 0.0
    if spec.kind == "constant":
        return float(spec.params[0])
    if spec.kind == "constant-w":
        return float(spec.params[0]) * float(scenario.round_seconds)
    raise ParameterError("--harvest", f"must be none, constant:J or constant-w:W for a bound (a random or "
                                      f"periodic harvest has no per-deployment bound here); got {spec}")


def planning_harvest(scenario) -> float:
    """The constant harvest per round [J] a schedule may plan with: :func:`constant_harvest`, or 0 for a
    random or periodic harvest (it only adds energy, so a plan without it stays affordable)."""
    try:
        return constant_harvest(scenario)
    except ParameterError:
        return 0.0


def check_boundable(scenario, x, y, energy, sink, harvest: bool = True) -> None:
    """Bad input for a bound: matlab semantics, one node, zero energy, a sink on top of a node, and (with
    ``harvest``) a harvest that is not constant."""
    if scenario.semantics != "clean":
        raise ParameterError("--semantics", f"must be clean for a bound (matlab lets energies go negative); "
                                            f"got {scenario.semantics!r}")
    if harvest:
        constant_harvest(scenario)
    n = int(np.asarray(x).shape[0])
    if n < 2:
        raise ParameterError("--nodes", f"must be >= 2 for a bound (one node has nothing to schedule); got {n}")
    energy = np.asarray(energy, dtype=np.float64)
    if not np.all(energy > 0.0):
        raise ParameterError("--e0", "must give every node an initial energy > 0 [J] for a bound")
    d = np.hypot(np.asarray(x) - sink[0], np.asarray(y) - sink[1])
    if np.any(d <= 0.0):
        raise ParameterError("--sink", f"must not lie on a node for a bound (node {int(np.argmin(d))} is at "
                                       f"the sink {tuple(float(s) for s in sink)})")


def _tx(bits, distance, params):
    return tx_energy_jit(float(bits), float(distance), params[R_E_ELEC], params[R_EPS_FS], params[R_EPS_MP],
                         params[R_D0])


class LinearCosts:
    """The pricing problem's linear cost model of a :class:`Network` (module Notes).

    Attributes
    ----------
    base : float64[N]
        Energy every node pays whatever its role [J].
    head_fixed : float64[N]
        Extra energy of node i as a head with no member [J].
    head_per_member : float64[N]
        Extra energy of head i per member [J].
    member : float64[N, N]
        ``member[j, i]``: energy of member j sending to head i [J] (inf on the diagonal).
    direct : float64[N]
        Energy of node j sending to the sink [J].
    exact : bool
        Whether the model has no relaxation but the receivers and control (relaxation 2 idle): it then equals
        the scorer of a kept round at the nearest receivers.
    """

    def __init__(self, net: Network):
        p = net.params
        n = net.n
        bits = p[P_BITS]
        decisions = RULE_DECISIONS[net.offload]
        a = np.empty((len(decisions), n))
        b = np.empty((len(decisions), n))
        for row, dec in enumerate(decisions):
            for i in range(n):
                a[row, i] = head_energy(dec, 0, net.d_sink[i], p)
                b[row, i] = head_energy(dec, 1, net.d_sink[i], p) - a[row, i]
        self.base = np.full(n, p[P_IDLE_J])
        # no control messages (Notes, relaxation 3): a round that keeps its clusters pays none
        self.head_fixed = a.min(axis=0)
        self.head_per_member = b.min(axis=0)
        dx = net.x[:, None] - net.x[None, :]
        dy = net.y[:, None] - net.y[None, :]
        dist = np.sqrt(dx * dx + dy * dy)
        tx = np.vectorize(lambda d: _tx(bits, d, p), otypes=[np.float64])
        self.member = tx(dist)
        self.direct = tx(net.d_sink)
        self.exact = len(decisions) == 1
        self.n = n

    def node_costs(self, heads, receivers) -> np.ndarray:
        """Per-node energy [J] of the configuration: ``heads`` bool[N], ``receivers`` int[N] (a head's index or
        -1 for the sink; ignored at heads)."""
        heads = np.asarray(heads, dtype=bool)
        receivers = np.asarray(receivers)
        cost = self.base.copy()
        members = np.zeros(self.n, dtype=np.int64)
        for j in range(self.n):
            if heads[j]:
                continue
            r = int(receivers[j])
            if r < 0:
                cost[j] += self.direct[j]
            else:
                if not heads[r]:
                    raise ValueError(f"node {j} sends to {r}, which is not a head")
                cost[j] += self.member[j, r]
                members[r] += 1
        cost[heads] += self.head_fixed[heads] + self.head_per_member[heads] * members[heads]
        return cost

    def nearest_receivers(self, net: Network, heads) -> np.ndarray:
        """Receivers by the simulator's ``nearest`` rule (the sink when at least as near as every head)."""
        heads = np.asarray(heads, dtype=bool)
        idx = np.flatnonzero(heads)
        out = np.full(self.n, -1, dtype=np.int64)
        if idx.size == 0:
            return out
        d = np.hypot(net.x[:, None] - net.x[idx][None, :], net.y[:, None] - net.y[idx][None, :])
        nearest = np.argmin(d, axis=1)
        closer = d[np.arange(self.n), nearest] < net.d_sink
        out[closer] = idx[nearest[closer]]
        return out


def score_configurations(net: Network, masks, kept: bool = False) -> np.ndarray:
    """Per-node energy [J] of each head mask under the simulator's rules: float64[K, N] (module docstring).

    Every node is alive and holds :data:`SCORING_ENERGY`, so each pays its full cost. ``kept=False``: a round
    that sets up its clusters (control messages charged as in round 1); ``kept=True``: a round that keeps the
    previous round's clusters, the same configuration, so no set-up message is charged (accounting Notes,
    *Kept clusters*). A kept round differs from a set-up round only in the set-up messages, so it is scored
    with the control messages switched off (``--control-bits`` 0 in the packed constants); that this equals
    the accounting of a round given its own receivers as the previous round's is tested.
    """
    masks = np.ascontiguousarray(np.atleast_2d(np.asarray(masks)), dtype=np.uint8)
    k, n = masks.shape
    if n != net.n:
        raise ValueError(f"masks must have {net.n} columns, got {n}")
    params = net.params
    if kept:
        params = params.copy()
        params[P_CONTROL_BITS] = 0.0
    scorer = HeadSetScorer(net.x, net.y, net.d_sink, np.full(n, SCORING_ENERGY), np.ones(n, dtype=np.uint8), params,
                           net.bbox, np.zeros(0, dtype=np.int64))
    return scorer.score(masks, rule=net.offload, per_node=True).drawn
