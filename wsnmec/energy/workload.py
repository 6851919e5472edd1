"""Computation inside a round: what a cluster head does with the data it gathers, and on which hardware.

Each round every cluster head (CH) holds ``b = (k + 1) l`` bits: the ``k`` packets its members delivered
plus its own, ``l`` = packet length [bit]. It either processes them itself and sends the result to the sink
(*local*), or sends the gathered bits to an edge server co-located with the sink, which processes them
(*edge*). A **workload** says what the processing costs; a **hardware** preset says what the node's
microcontroller and radio and the edge server can do. Both are named presets (dicts below) whose lookup
error lists the valid names; every constant can be overridden.

Notes
-----
Energy of a CH [J] and its completion time [s] in a round (``E_tx``/``E_elec`` from the scenario's radio
model, :mod:`wsnmec.energy.radio`; ``R`` radio data rate [bit/s]; ``f`` microcontroller clock [Hz];
``c`` workload cycles per bit [cycles/bit]; ``e_bit`` local processing energy per input bit [J/bit]; ``r``
result size [bit]; ``F`` edge clock per core [Hz] with ``cores`` cores, shared by the ``m`` CHs that
offload in the round)::

    local   E = k l E_elec + b e_bit + E_tx(r, d_sink)
            T = k l / R + b c / f + r / R
    edge    E = k l E_elec + E_tx(b, d_sink)
            T = k l / R + b / R + b c_edge / (F min(1, cores / m))

``e_bit`` is the radio model's aggregation energy E_DA [J/bit/signal] for the ``fusion`` workload (so the
default reproduces the classic LEACH accounting exactly, with ``r = l``: one fused packet), and
``c x E_cycle`` (the hardware's energy per cycle [J/cycle]) for the other workloads. The members of a
cluster send in TDMA slots (``k l / R``) and each cluster has its own CDMA code (LEACH), so clusters gather
in parallel. What the sink receives (direct packets, results, offloaded uploads) has a channel of its own
under ``--medium ideal``, where T above is a CH's completion time and the round's latency the slowest
transmitter's; under ``--medium shared`` it shares the sink's ``--sink-channels`` channels, T is a CH's
completion when it finds a channel free, and the round's latency is the last delivery of the sink's
schedule (:mod:`wsnmec.sim.accounting` Notes, 6). **Edge sharing:** the ``m`` concurrent offloads share the server as processor sharing over ``cores`` identical
cores, each job using at most one core: each gets ``F min(1, cores / m)`` cycles/s for its whole duration
(a conservative approximation: capacity freed by a job that finishes early is not given to the others).
The sink and the edge server are mains powered: their energy is not counted.

Hardware presets (datasheet values, SI units):

- ``msp430f1611`` (TelosB class): MCU clock 8 MHz; active supply current about 500 uA/MHz at 3 V, i.e.
  1.5e-9 J/cycle [1]_; CC2420 IEEE 802.15.4 radio at 250 kbit/s [2]_.
- ``cc2650`` (SensorTag class): Cortex-M3 at 48 MHz, 61 uA/MHz at 3.0 V, i.e. 1.83e-10 J/cycle; the
  IEEE 802.15.4 mode of its radio at 250 kbit/s [3]_.

The edge server of both presets: 4 cores at 2.4 GHz (an edge-class server CPU).

Workload presets:

- ``fusion``: data aggregation as in LEACH; energy E_DA per bit per signal, 4 cycles/bit (about E_DA divided
  by the MSP430's energy per cycle, for timing only), result one packet (``r = l``); 4 cycles/bit at the edge.
- ``dnn-inference``: a small neural-network inference on the gathered samples; 100 cycles per bit (the
  processing density of DROO's model [4]_) on the node and at the edge; result 32 bits (class and score).

References
----------
.. [1] Texas Instruments, "MSP430F15x, MSP430F16x, MSP430F161x mixed signal microcontroller", SLAS368
   (active mode supply current at 1 MHz, 3 V).
.. [2] Texas Instruments (Chipcon), "CC2420 2.4 GHz IEEE 802.15.4 / ZigBee-ready RF transceiver", SWRS041.
.. [3] Texas Instruments, "CC2650 SimpleLink multistandard wireless MCU", SWRS158 (61 uA/MHz active MCU).
.. [4] L. Huang, S. Bi, Y. J. A. Zhang, "Deep reinforcement learning for online computation offloading in
   wireless powered mobile-edge computing networks", IEEE Trans. Mobile Computing 19(11), 2020.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ParameterError, check_float

#: Named hardware presets: MCU clock [Hz], energy per cycle [J/cycle], radio data rate [bit/s], edge server
#: clock per core [Hz] and cores.
HARDWARE_PRESETS: dict[str, dict[str, float]] = {
    "msp430f1611": {
        "mcu_clock_hz": 8e6,
        "energy_per_cycle_j": 1.5e-9,
        "data_rate_bps": 250e3,
        "edge_clock_hz": 2.4e9,
        "edge_cores": 4.0,
    },
    "cc2650": {
        "mcu_clock_hz": 48e6,
        "energy_per_cycle_j": 1.83e-10,
        "data_rate_bps": 250e3,
        "edge_clock_hz": 2.4e9,
        "edge_cores": 4.0,
    },
}

#: Named workload presets: cycles per input bit on the node and at the edge [cycles/bit], local processing
#: energy per input bit [J/bit] (None: E_DA of the radio model for ``fusion``, else cycles x energy per
#: cycle), result size [bit] (None: one packet of the scenario's packet length).
WORKLOAD_PRESETS: dict[str, dict[str, float | None]] = {
    "fusion": {"cycles_per_bit": 4.0, "edge_cycles_per_bit": 4.0, "energy_per_bit_j": None, "result_bits": None},
    "dnn-inference": {"cycles_per_bit": 100.0, "edge_cycles_per_bit": 100.0, "energy_per_bit_j": 0.0,
                      "result_bits": 32.0},
}

DEFAULT_HARDWARE = "msp430f1611"
DEFAULT_WORKLOAD = "fusion"


@dataclass(frozen=True)
class Hardware:
    """Node and edge-server hardware (see module Notes).

    Attributes
    ----------
    name : str
    mcu_clock_hz : float
        Microcontroller clock f [Hz].
    energy_per_cycle_j : float
        Energy of one MCU cycle [J/cycle].
    data_rate_bps : float
        Radio data rate R [bit/s].
    edge_clock_hz : float
        Edge server clock per core F [Hz].
    edge_cores : float
        Edge server cores (concurrent offloads share them).
    """

    name: str
    mcu_clock_hz: float
    energy_per_cycle_j: float
    data_rate_bps: float
    edge_clock_hz: float
    edge_cores: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Workload:
    """The processing a cluster head applies to the data it gathers (see module Notes).

    Attributes
    ----------
    name : str
    cycles_per_bit : float
        Cycles per input bit on the node [cycles/bit].
    edge_cycles_per_bit : float
        Cycles per input bit at the edge server [cycles/bit].
    energy_per_bit_j : float or None
        Local processing energy per input bit [J/bit]; None means the radio model's E_DA (``fusion``);
        0 means ``cycles_per_bit`` x the hardware's energy per cycle.
    result_bits : float or None
        Size of the result sent to the sink after local processing [bit]; None: one packet.
    """

    name: str
    cycles_per_bit: float
    edge_cycles_per_bit: float
    energy_per_bit_j: float | None
    result_bits: float | None

    def local_energy_per_bit(self, e_da: float, hardware: Hardware) -> float:
        """Local processing energy per input bit [J/bit]."""
        if self.energy_per_bit_j is None:
            return e_da
        if self.energy_per_bit_j > 0.0:
            return self.energy_per_bit_j
        return self.cycles_per_bit * hardware.energy_per_cycle_j

    def result_size(self, packet_bits: float) -> float:
        """Result size [bit] (one packet when the preset leaves it open)."""
        return float(packet_bits) if self.result_bits is None else float(self.result_bits)

    def as_dict(self) -> dict:
        return asdict(self)


def _lookup(kind: str, presets: dict, name: str, parameter: str) -> dict:
    if not isinstance(name, str) or name not in presets:
        raise ParameterError(parameter, f"must be a {kind} preset: one of {', '.join(presets)}; got {name!r}")
    return presets[name]


def hardware_preset(name: str = DEFAULT_HARDWARE, parameter: str = "--hardware", **overrides) -> Hardware:
    """The named hardware preset with optional overrides of its constants (positive finite numbers)."""
    values = dict(_lookup("hardware", HARDWARE_PRESETS, name, parameter))
    for key, value in overrides.items():
        if key not in values:
            raise ParameterError(parameter, f"has no constant {key!r}; valid: {', '.join(values)}")
        if value is not None:
            values[key] = check_float(f"{parameter} {key}", value, 0.0, min_inclusive=False)
    return Hardware(name=name, **values)


def workload_preset(name: str = DEFAULT_WORKLOAD, parameter: str = "--workload") -> Workload:
    """The named workload preset."""
    return Workload(name=name, **_lookup("workload", WORKLOAD_PRESETS, name, parameter))
