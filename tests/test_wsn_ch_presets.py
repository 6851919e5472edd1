"""One cluster-head offloading model: ``wsn-ch`` takes its CH and edge constants from the simulator's hardware
and workload presets (wsnmec.energy.workload), so its energies and local times are the round accounting's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.energy.radio import radio_model
from wsnmec.energy.workload import HARDWARE_PRESETS, WORKLOAD_PRESETS, hardware_preset, workload_preset
from wsnmec.errors import ParameterError
from wsnmec.offload import make_model, wsn_ch_breakdown, wsn_ch_model, wsn_ch_state_from_round
from wsnmec.offload.wsn_ch import PRESET_CONSTANTS, WSN_CH_DEFAULTS, preset_constants
from wsnmec.sim.accounting import EDGE, LOCAL, head_energy, head_latency, round_parameters


def test_default_constants_are_the_presets():
    hw = HARDWARE_PRESETS[WSN_CH_DEFAULTS["hardware"]]
    wl = WORKLOAD_PRESETS[WSN_CH_DEFAULTS["workload"]]
    config = wsn_ch_model(3).config
    assert config["cpu_frequency"] == hw["mcu_clock_hz"]
    assert config["bandwidth"] == hw["data_rate_bps"]
    assert config["cycles_per_bit"] == wl["cycles_per_bit"]
    assert config["result_bits"] == wl["result_bits"]
    assert config["edge_cpu"] == hw["edge_clock_hz"] * hw["edge_cores"]
    # kappa f^2 is the hardware's energy per cycle
    assert config["kappa"] * config["cpu_frequency"] ** 2 == pytest.approx(hw["energy_per_cycle_j"], rel=1e-15)
    for key in PRESET_CONSTANTS:
        assert config[key] == WSN_CH_DEFAULTS[key]


@pytest.mark.parametrize("hardware", list(HARDWARE_PRESETS))
@pytest.mark.parametrize("workload", list(WORKLOAD_PRESETS))
@pytest.mark.parametrize("radio", ["heinzelman2002", "heinzelman2000"])
def test_energies_and_local_time_are_the_round_accounting(hardware, workload, radio):
    """For the same data, a CH's local energy and time and its offload's energy in wsn-ch equal the
    simulator's head costs without the members' part (receiving k packets, their k TDMA slots)."""
    model = wsn_ch_model(4, hardware=hardware, workload=workload, radio=radio)
    rm = radio_model(radio)
    params = round_parameters(rm, 4000, workload_preset(workload), hardware_preset(hardware), time_weight=0.01)
    received = np.array([0, 3, 9, 19])
    distances = np.array([5.0, 40.0, 90.0, 130.0])
    state = wsn_ch_state_from_round(np.full(4, 0.5), received + 1, distances=distances)
    local_e, local_t = wsn_ch_breakdown(model, state, np.zeros(4, np.uint8))
    edge_e, _ = wsn_ch_breakdown(model, state, np.ones(4, np.uint8))
    rate = hardware_preset(hardware).data_rate_bps
    for i, (k, d) in enumerate(zip(received, distances)):
        members = k * 4000 * rm.e_elec
        assert local_e[i] == pytest.approx(head_energy(LOCAL, k, d, params) - members, rel=1e-12)
        assert edge_e[i] == pytest.approx(head_energy(EDGE, k, d, params) - members, rel=1e-12)
        assert local_t[i] == pytest.approx(head_latency(LOCAL, k, 0, params) - k * 4000 / rate, rel=1e-12)


def test_named_constants_override_the_presets():
    model = wsn_ch_model(2, workload="fusion", kappa=1e-24, bandwidth=1e5)
    assert model.config["workload"] == "fusion"
    assert model.config["kappa"] == 1e-24 and model.config["bandwidth"] == 1e5
    assert model.config["cycles_per_bit"] == WORKLOAD_PRESETS["fusion"]["cycles_per_bit"]
    assert model.config["result_bits"] == 4000.0  # fusion sends one packet
    assert wsn_ch_model(2, workload="fusion", packet_bits=1000).config["result_bits"] == 1000.0
    assert preset_constants("cc2650")["cpu_frequency"] == HARDWARE_PRESETS["cc2650"]["mcu_clock_hz"]


@pytest.mark.parametrize("key, value", [("hardware", "z80"), ("workload", "mining"), ("hardware", 3.0)])
def test_bad_preset_names_name_the_parameter(key, value):
    with pytest.raises(ParameterError, match=key):
        wsn_ch_model(2, **{key: value})
    with pytest.raises(ParameterError, match=f"--param {key}"):
        make_model("wsn-ch", 2, **{key: value})


def test_cli_preset_parameters():
    runner = CliRunner()
    ok = runner.invoke(cli.main, ["offload", "--model", "wsn-ch", "--devices", "3", "--frames", "40", "--seed", "1",
                                  "--param", "workload=fusion", "--param", "hardware=cc2650", "--json"])
    assert ok.exit_code == 0, ok.output
    config = json.loads(ok.stdout)["config"]
    assert (config["workload"], config["hardware"]) == ("fusion", "cc2650")
    assert config["cpu_frequency"] == HARDWARE_PRESETS["cc2650"]["mcu_clock_hz"]
    bad = runner.invoke(cli.main, ["offload", "--model", "wsn-ch", "--devices", "3", "--frames", "40", "--seed", "1",
                                   "--param", "hardware=z80"])
    assert bad.exit_code == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "--param hardware" in lines[0] and "msp430f1611" in lines[0], bad.stderr
    listing = runner.invoke(cli.main, ["offload", "--model", "wsn-ch", "--list-params"])
    assert listing.exit_code == 0 and "dnn-inference" in listing.stdout and "msp430f1611" in listing.stdout
