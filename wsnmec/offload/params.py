"""The ``--param KEY=VALUE`` keys of each offloading model, with their units and meaning
(``wsnmec offload --list-params``).

The defaults are read from the model modules (:data:`wsnmec.offload.mumt.MUMT_DEFAULTS`,
:data:`wsnmec.offload.wsn_ch.WSN_CH_DEFAULTS`); this module only adds the unit and one line of meaning.
"""

from __future__ import annotations

#: model -> key -> (unit, meaning). Units in brackets as in the docstrings; [-] dimensionless.
PARAMETERS: dict[str, dict[str, tuple[str, str]]] = {
    "mumt": {
        "local_energy": ("J/bit", "E_l, energy of computing one bit on the device"),
        "local_time": ("s/bit", "T_l, time of computing one bit on the device"),
        "tx_energy": ("J/bit", "e_t, energy of transmitting one bit to the edge"),
        "edge_energy": ("J/bit", "e_a, energy charged for computing one bit at the edge"),
        "cycles_per_bit": ("cycles/bit", "APP, edge CPU cycles per bit"),
        "edge_cpu": ("cycles/s", "f_c, edge CPU frequency"),
        "uplink_rate": ("MB/s", "c_u, each device's uplink rate (default (100/8)/N for N devices)"),
        "time_weight": ("J/s", "p, weight of latency against energy"),
        "bits_per_mb": ("bit/MB", "bits per task-size unit"),
        "size_min": ("MB", "smallest task size of random states (integer)"),
        "size_max": ("MB", "largest task size of random states (integer)"),
    },
    "wsn-ch": {
        "hardware": ("name", "node and edge hardware preset giving the next six constants (msp430f1611, cc2650)"),
        "workload": ("name", "workload preset giving the next six constants (fusion, dnn-inference)"),
        "kappa": ("J s^2/cycle^3", "effective switched capacitance of a cluster head's CPU (preset: e_bit / (c f^2))"),
        "cpu_frequency": ("cycles/s", "cluster head CPU frequency (preset: MCU clock)"),
        "cycles_per_bit": ("cycles/bit", "task complexity (preset: the workload's)"),
        "result_bits": ("bit", "size of the result sent back (preset: the workload's)"),
        "bandwidth": ("bit/s", "uplink bandwidth shared by the offloading cluster heads (preset: radio rate)"),
        "edge_cpu": ("cycles/s", "edge server CPU shared by the offloading cluster heads (preset: clock x cores)"),
        "energy_weight": ("-", "w_E, weight of energy in the utility"),
        "time_weight": ("J/s", "w_T, weight of latency in the utility"),
        "reference_energy": ("J", "E_ref, residual energy at which energy costs weight 1"),
        "energy_exponent": ("-", "a, exponent of (E_ref / residual) on the energy cost (0: off)"),
        "packet_bits": ("bit", "data packet length"),
        "field_size": ("m", "side of the square field of random states"),
        "sink_x": ("m", "edge server (sink) x of random states"),
        "sink_y": ("m", "edge server (sink) y of random states"),
        "packets_min": ("packets", "fewest aggregated packets per cluster head in random states"),
        "packets_max": ("packets", "most aggregated packets per cluster head in random states"),
        "residual_min": ("J", "lowest residual energy of random states"),
        "residual_max": ("J", "highest residual energy of random states"),
    },
    "wpmec": {
        "cycles_per_bit": ("cycles/bit", "phi, cycles of local computing per bit"),
        "ap_power": ("W", "P, wireless power of the access point"),
        "efficiency": ("-", "mu, energy-harvesting efficiency, in (0, 1]"),
        "kappa": ("J s^2/cycle^3", "energy efficiency of a device's CPU"),
        "bandwidth": ("Hz", "B, uplink bandwidth"),
        "v_u": ("-", "communication overhead factor of the offloaded data"),
        "noise_power": ("W", "N0, receiver noise power"),
        "weight_even": ("-", "computation-rate weight of the devices with even (0-based) index"),
        "weight_odd": ("-", "computation-rate weight of the devices with odd index"),
        "gain_scale": ("-", "factor on the channel gains fed to the learner (DROO: 1e6)"),
        "antenna_gain": ("-", "A_d, antenna gain of random states' mean channel gains"),
        "carrier_frequency": ("Hz", "f_c of random states' mean channel gains"),
        "path_loss_exponent": ("-", "d_e of random states' mean channel gains"),
        "distance_first": ("m", "distance of the first device from the access point (random states)"),
        "distance_step": ("m", "distance increment per device (random states)"),
    },
}


def defaults(model: str) -> dict:
    """The model's default constants (``uplink_rate`` of mumt depends on N: shown as None)."""
    if model == "mumt":
        from .mumt import MUMT_DEFAULTS

        return {**MUMT_DEFAULTS, "uplink_rate": None}
    if model == "wpmec":
        from .wpmec import WPMEC_DEFAULTS

        return dict(WPMEC_DEFAULTS)
    from .wsn_ch import WSN_CH_DEFAULTS

    return dict(WSN_CH_DEFAULTS)


def parameter_table(model: str) -> str:
    """The ``--list-params`` text of ``model``: key, default, unit and meaning, one line each."""
    values = defaults(model)
    lines = [f"--param keys of --model {model} (KEY=VALUE, SI units as listed):"]
    for key, (unit, meaning) in PARAMETERS[model].items():
        value = values.get(key)
        shown = "depends on N" if value is None else value if isinstance(value, str) else f"{value:g}"
        lines.append(f"  {key:<17} {shown:>12}  [{unit}]  {meaning}")
    return "\n".join(lines)
