"""Validated simulation scenarios.

A :class:`Scenario` holds every parameter of a ``wsnmec run`` (the option names with dashes turned into
underscores) after validation. :meth:`Scenario.from_mapping` builds one from a dict of raw values (strings
as typed on the command line, or values from a study file), raising :class:`~wsnmec.errors.ParameterError`
that names the option (``--nodes``) and what is allowed.

Defaults are the classic LEACH geometry: 100 nodes in a 100 m x 100 m field, sink at the field centre,
E0 = 0.5 J, 4000-bit packets, the ``heinzelman2002`` radio, no harvesting, rounds until every node is dead
(capped at :data:`MAX_ROUNDS`), with every baseline at its best and control messages paid: p = ``auto``
(k_opt / N of each deployment and sink, Heinzelman et al. 2002) and 200-bit control messages (the 25-byte
header of Heinzelman et al. 2002), and one shared radio channel at the sink (``medium = "shared"``).
``preset="classic"`` (``--preset classic``) restores the v0.1 defaults (p = 0.1, no control messages, the
ideal medium), which reproduce the published LEACH curves and the v0.1 regression digests.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..energy.harvest import HarvestSpec
from ..clustering.optimal import auto_head_fraction
from ..clustering.registry import canonical_name, protocol_names
from ..energy.radio import RadioModel, radio_model
from ..energy.workload import DEFAULT_HARDWARE, DEFAULT_WORKLOAD
from ..errors import ParameterError, check_float, check_int
from .presets import PRESETS

#: Accepted ``--protocol`` values (the clustering registry's names and aliases).
PROTOCOLS = protocol_names()

#: Built-in offloading rules of the cluster heads (:data:`wsnmec.sim.accounting.OFFLOAD_RULES`).
OFFLOAD_CHOICES = ("local", "edge", "greedy", "exact")

#: How members choose their receiver.
JOIN_RULES = ("nearest", "cluster")

#: How sink-bound transmissions share the sink's radio (:data:`wsnmec.sim.accounting.MEDIUMS`).
MEDIUM_CHOICES = ("ideal", "shared")
#: Largest ``--sink-channels`` (:data:`wsnmec.sim.accounting.MAX_SINK_CHANNELS`).
MAX_SINK_CHANNELS = 10**9

#: Default time weight w_T of the system utility [J/s] (the ``wsn-ch`` offloading model's).
DEFAULT_TIME_WEIGHT = 0.01
SEMANTICS = ("clean", "matlab")
#: Radio constants a scenario may override (see :func:`wsnmec.energy.radio.radio_model`).
RADIO_CONSTANTS = ("e_elec", "eps_fs", "eps_mp", "e_da", "d0")

#: Rounds simulated at most when no ``--rounds`` is given (run until all nodes are dead).
MAX_ROUNDS = 100_000

#: Largest ``--nodes``. A replica holds about 200 bytes per node while it runs (positions, energies,
#: flags, per-round scratch and the nearest-cluster-head grid; see :class:`wsnmec.sim.kernel.Workspace`), so
#: 10^8 nodes need about 20 GB per replica running at once.
MAX_NODES = 100_000_000

#: Largest ``--replicas``.
MAX_REPLICAS = 100_000

#: Smallest ``--p``: the LEACH epoch E = round(1/p) must stay a countable number of rounds.
MIN_P = 1e-9

#: Default control-message length B [bit]: the 25-byte packet header of Heinzelman, Chandrakasan,
#: Balakrishnan 2002 (IEEE Trans. Wireless Commun. 1(4)), the size of their advertisement, join-request and
#: schedule messages. ``--preset classic`` uses 0 (no control overhead, as the published LEACH curves).
DEFAULT_CONTROL_BITS = 200

#: The ``--p`` value that sets p = k_opt / N for each replica's deployment
#: (:func:`wsnmec.clustering.optimal.auto_head_fraction`).
AUTO_P = "auto"


def option_name(key: str) -> str:
    """The command-line option of a scenario field: ``packet_bits`` -> ``--packet-bits``."""
    return "--" + key.replace("_", "-")


def advanced_count(nodes: int, fraction: float) -> int:
    """Number of SEP advanced nodes, ``round(m N)`` (halves rounded up)."""
    return int(math.floor(fraction * nodes + 0.5))


def check_p(value, parameter: str = "--p", *, allow_auto: bool = False) -> float | str:
    """The cluster-head fraction p as a float in [:data:`MIN_P`, 1] (or :data:`AUTO_P` when
    ``allow_auto``), else :class:`ParameterError`.

    p outside (0, 1] has no meaning; below :data:`MIN_P` the LEACH epoch round(1/p) [rounds] would not fit
    the kernel's integers.
    """
    allowed = f"must be a finite number in [{MIN_P:g}, 1] (a fraction in (0, 1], at least {MIN_P:g})"
    if allow_auto:
        if isinstance(value, str) and value.strip().lower() == AUTO_P:
            return AUTO_P
        allowed += f" or {AUTO_P!r} (k_opt / N of each deployment)"
    if isinstance(value, bool):
        raise ParameterError(parameter, f"{allowed}; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(parameter, f"{allowed}; got {value!r}") from None
    if not (math.isfinite(number) and MIN_P <= number <= 1.0):
        raise ParameterError(parameter, f"{allowed}; got {value!r}")
    return number


def check_nodes(value, parameter: str = "--nodes") -> int:
    """The node count N as an int in [1, :data:`MAX_NODES`], else :class:`ParameterError`."""
    nodes = check_int(parameter, value, 1)
    if nodes > MAX_NODES:
        raise ParameterError(
            parameter,
            f"must be an integer >= 1 and <= {MAX_NODES} (a replica needs about 200 bytes of memory per node); "
            f"got {value!r}",
        )
    return nodes


def check_energy_limits(battery: float | None, largest_initial: float, smallest_capacity: float,
                        revive_threshold: float | None) -> None:
    """Check ``--battery`` against the initial energies and ``--revive-threshold`` against the capacity.

    Parameters
    ----------
    battery : float or None
        ``--battery`` [J]; None means each node's capacity is its initial energy.
    largest_initial : float
        The largest initial energy of a node [J].
    smallest_capacity : float
        The smallest battery capacity of a node [J].
    revive_threshold : float or None
        ``--revive-threshold`` [J].

    Raises
    ------
    ParameterError
        ``--battery`` when it is below some node's initial energy (nodes start with a full battery at
        most), ``--revive-threshold`` when it exceeds some node's capacity (that node could never revive).
    """
    if battery is not None and battery < largest_initial:
        raise ParameterError(
            "--battery",
            f"must be >= the initial energy of every node, i.e. >= {float(largest_initial)!r} J (the battery caps "
            f"the stored energy); got {battery!r}",
        )
    if revive_threshold is not None and revive_threshold > smallest_capacity:
        raise ParameterError(
            "--revive-threshold",
            f"must be <= the battery capacity of every node, i.e. <= {float(smallest_capacity)!r} J (a higher "
            f"threshold could never be reached); got {revive_threshold!r}",
        )


def _energy_range(value, high=None) -> tuple[float, float | None]:
    """``--e0``: ``J`` or ``LOW..HIGH`` [J] (0 < LOW < HIGH); returns ``(e0, e0_high)``."""
    allowed = "must be a number > 0 [J] or a range LOW..HIGH with 0 < LOW < HIGH"
    if isinstance(value, str) and ".." in value:
        low_text, _, high_text = value.partition("..")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise ParameterError("--e0", f"{allowed}; got {value!r}") from None
    else:
        low = check_float("--e0", value, 0.0, min_inclusive=False)
        if high is None:
            return low, None
        high = check_float("--e0", high, 0.0, min_inclusive=False)
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low < high):
        raise ParameterError("--e0", f"{allowed}; got {value!r}")
    return low, high


def _shown(value) -> str:
    """``repr(value)`` cut to 60 characters (a file's 10,000-digit number stays one short line)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + "..." + text[-12:]


def _pair(parameter: str, value, *, positive: bool, allow_single: bool) -> tuple[float, float]:
    """Parse ``"A,B"`` / ``"A"`` / ``[A, B]`` / ``A`` into two finite floats (> 0 when ``positive``, else
    >= 0), each at most the distance limit of :data:`wsnmec.limits.MAGNITUDE_LIMITS` (1e9 m: beyond it
    squared and fourth-power distances of the policies and of the bound overflow float64)."""
    from ..limits import MAGNITUDE_LIMITS

    longest = MAGNITUDE_LIMITS["distance_m"]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    syntax = "W[,H]" if allow_single else "X,Y"
    if len(parts) == 1 and allow_single:
        parts = parts * 2
    if len(parts) != 2:
        raise ParameterError(parameter, f"must be {syntax} with finite numbers; got {value!r}")
    out = []
    for part in parts:
        try:
            number = float(part)
        except (TypeError, ValueError):
            raise ParameterError(parameter, f"must be {syntax} with finite numbers; got {value!r}") from None
        if not math.isfinite(number) or (positive and number <= 0) or number < 0 or number > longest:
            what = f"numbers in (0, {longest:g}] [m]" if positive else (
                f"numbers in [0, {longest:g}] [m] (it may lie outside the field, beyond W or H)")
            raise ParameterError(parameter, f"must be {syntax} with {what}; got {_shown(value)}")
        out.append(number)
    return out[0], out[1]


@dataclass(frozen=True)
class Scenario:
    """Every parameter of one simulation (validated).

    Parameters
    ----------
    protocol : str
        Clustering policy: a name of :data:`wsnmec.clustering.registry.CLUSTERING_POLICIES` or an alias, a
        plug-in ``module:Class``, or an installed ``wsnmec.policies`` entry point (see
        :mod:`wsnmec.clustering.registry`).
    nodes : int
        Number of sensor nodes N, in [1, :data:`MAX_NODES`]. Ignored when ``positions`` is given (the CSV's row count).
    field : (float, float)
        Field width and height [m].
    sink : (float, float) or None
        Sink (and edge server) position [m], both coordinates >= 0; ``None`` means the field centre. May
        lie outside the field (beyond W or H).
    e0 : float
        Initial energy of a normal node [J].
    p : float or "auto"
        Desired fraction of cluster heads per round, in [:data:`MIN_P`, 1], or ``"auto"`` (the default;
        ``0.1`` under the ``classic`` preset): p = k_opt / N
        resolved once per replica at deployment (:meth:`head_fraction`; N deployed nodes, field side
        sqrt(W H), the nodes' mean distance to the sink, the scenario's radio; Heinzelman et al. 2002,
        :mod:`wsnmec.clustering.optimal`). LEACH's epochs need a fixed p, so it is not re-resolved as nodes
        die. The run's config records each replica's value (``p_resolved``).
    packet_bits : int
        Data packet length l [bit].
    rounds : int or None
        Rounds to simulate; ``None`` runs until all nodes are dead, at most :data:`MAX_ROUNDS`.
    semantics : str
        ``clean`` (exact accounting) or ``matlab`` (the accounting of the widely copied MATLAB LEACH/SEP code).
    radio : str
        Radio preset name (see :data:`wsnmec.energy.radio.RADIO_PRESETS`).
    e_elec, eps_fs, eps_mp, e_da, d0 : float or None
        Overrides of the preset's radio constants: electronics energy [J/bit], free-space amplifier
        [J/bit/m^2], multipath amplifier [J/bit/m^4], aggregation energy [J/bit/signal] and crossover
        distance [m] (recomputed as sqrt(eps_fs / eps_mp) unless given). ``None`` keeps the preset's value.
    harvest : HarvestSpec
        Energy replenishment model.
    battery : float or None
        Battery capacity [J] capping stored energy, >= every node's initial energy; ``None`` means each
        node's initial energy.
    positions : str or None
        CSV file with columns ``x,y`` [m] (>= 0) and optionally ``energy`` [J], one row per node.
    deployment : str
        Generated node layout, in canonical form: ``uniform`` (the default, the classic draws), ``grid``,
        ``gaussian:SIGMA``, ``clusters:K,SIGMA`` or ``corridor:WIDTH`` (SIGMA, WIDTH [m]); see
        :mod:`wsnmec.sim.deployment` Notes. Must be ``uniform`` with ``positions``.
    advanced_fraction : float
        SEP heterogeneity: fraction m of advanced nodes, in [0, 1].
    advanced_factor : float
        SEP heterogeneity: advanced nodes start with (1 + a) E0; a >= 0.
    revive_threshold : float or None
        When set, a dead node revives once its stored energy reaches this many joules [J]; ``None`` (the
        default) means a dead node stays dead. At most the smallest battery capacity.
    offload : str
        Built-in offloading rule of the cluster heads: ``local`` (default), ``edge``, ``greedy``, ``exact``
        (see :func:`wsnmec.sim.accounting.decide_offload_jit`); ``matlab`` semantics allow ``local`` only.
    workload : str
        Processing preset of :data:`wsnmec.energy.workload.WORKLOAD_PRESETS` (default ``fusion``: the
        classic accounting).
    hardware : str
        Node/edge hardware preset of :data:`wsnmec.energy.workload.HARDWARE_PRESETS`.
    time_weight : float
        w_T of the system utility ``energy_j + w_T latency_s`` [J/s], >= 0.
    join : str
        ``nearest`` (default; a member sends to the sink when the sink is at least as near as every CH, the
        MATLAB rule) or ``cluster`` (every member joins its nearest CH when there is one).
    control_bits : int
        Control-message length B [bit]; default :data:`DEFAULT_CONTROL_BITS` (200 bits, the 25-byte header
        of Heinzelman et al. 2002); 0 charges no control overhead (the ``classic`` preset).
    idle_j : float
        Fixed sensing/idle consumption of every alive node per round [J].
    e0_high : float or None
        Upper end of ``--e0 LOW..HIGH`` (initial energies uniform in [e0, e0_high)) [J]; None: every normal
        node starts with e0.
    round_seconds : float or None
        Round duration [s]; needed by harvest specs given as power (``constant-w``, ``solar-w``).
    policy_model : str or None
        A learned policy's model file (``.npz`` of ``wsnmec train``; used by ``ddnn``); None: the policy's
        shipped default model.
    medium : str
        ``shared`` (default: every sink-bound transmission shares the sink's ``sink_channels`` channels,
        served in order of readiness, and the round's latency is the last delivery) or ``ideal`` (each on a
        channel of its own, the round's latency is the slowest transmitter's; the ``classic`` preset); see :mod:`wsnmec.sim.accounting` Notes, 6. Energy does not depend on it.
    sink_channels : int
        Channels at the radio rate at the sink under the ``shared`` medium, >= 1.
    preset : str or None
        A named preset of :data:`wsnmec.sim.presets.PRESETS` (``classic``: the v0.1 defaults) whose values
        :meth:`from_mapping` used for the keys not given; None: the package defaults. Recorded only: a
        Scenario built directly (not through :meth:`from_mapping`) does not apply it.
    """

    protocol: str = "leach"
    nodes: int = 100
    field: tuple[float, float] = (100.0, 100.0)
    sink: tuple[float, float] | None = None
    e0: float = 0.5
    p: float | str = "auto"
    packet_bits: int = 4000
    rounds: int | None = None
    semantics: str = "clean"
    radio: str = "heinzelman2002"
    e_elec: float | None = None
    eps_fs: float | None = None
    eps_mp: float | None = None
    e_da: float | None = None
    d0: float | None = None
    harvest: HarvestSpec = HarvestSpec()
    battery: float | None = None
    positions: str | None = None
    deployment: str = "uniform"
    advanced_fraction: float = 0.0
    advanced_factor: float = 0.0
    revive_threshold: float | None = None
    offload: str = "local"
    workload: str = DEFAULT_WORKLOAD
    hardware: str = DEFAULT_HARDWARE
    time_weight: float = DEFAULT_TIME_WEIGHT
    join: str = "nearest"
    control_bits: int = DEFAULT_CONTROL_BITS
    idle_j: float = 0.0
    e0_high: float | None = None
    round_seconds: float | None = None
    policy_model: str | None = None
    medium: str = "shared"
    sink_channels: int = 1
    preset: str | None = None

    @property
    def sink_position(self) -> tuple[float, float]:
        """The effective sink position [m] (field centre when ``sink`` is None)."""
        if self.sink is None:
            return (self.field[0] / 2.0, self.field[1] / 2.0)
        return self.sink

    @property
    def max_rounds(self) -> int:
        """Rounds to simulate at most."""
        return self.rounds if self.rounds is not None else MAX_ROUNDS

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "Scenario":
        """Validate raw values (CLI strings or study-file values); missing keys take the defaults.

        Each value goes through the check of its entry of the parameter table
        (:func:`wsnmec.sim.parameters.validate`), after the ``preset``'s values were applied to the keys not given.

        Raises
        ------
        ParameterError
            Naming the option (``--nodes``) and what is allowed, for an unknown key or a bad value.
        """
        raw = dict(values or {})
        raw.update(more)
        known = set(cls.keys())
        for key in raw:
            if key not in known:
                raise ParameterError(
                    option_name(str(key)), f"is not a scenario parameter; allowed: {', '.join(cls.keys())}"
                )
        raw = {k: v for k, v in raw.items() if v is not None}  # None means "the default"
        from .parameters import check_preset, validate  # (the parameter table reads this module)

        preset = raw.get("preset")
        if preset is not None:
            for key, value in PRESETS[check_preset(preset)].items():
                if key in known:  # (a preset may name a parameter this version lacks)
                    raw.setdefault(key, value)
        out = validate(raw)
        return cls(**out)

    def replace(self, **changes) -> "Scenario":
        """A validated copy with some parameters changed."""
        values = self.to_config()
        values.update(changes)
        return Scenario.from_mapping(values)

    def head_fraction(self, nodes: int, d_sink) -> float:
        """The cluster-head fraction p of a replica: ``p`` itself when a number, else (``"auto"``) k_opt / N
        of the deployment (``nodes`` deployed nodes with distances ``d_sink`` [m] to the sink; see
        :func:`wsnmec.clustering.optimal.auto_head_fraction`)."""
        if self.p != AUTO_P:
            return float(self.p)
        return max(MIN_P, auto_head_fraction(nodes, self.field, d_sink, self.radio_model()))

    def radio_model(self) -> RadioModel:
        """The effective radio model: the preset with this scenario's overrides."""
        return radio_model(self.radio, **{name: getattr(self, name) for name in RADIO_CONSTANTS})

    def to_config(self) -> dict:
        """Every effective parameter as plain JSON-able values (sink resolved, harvest as its spec)."""
        config = asdict(self)
        config["field"] = list(self.field)
        config["sink"] = list(self.sink_position)
        config["harvest"] = str(self.harvest)
        return config
