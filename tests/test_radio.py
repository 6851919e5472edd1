"""First-order radio model against hand-computed values."""

from __future__ import annotations

import math

import pytest

from wsnmec.energy.radio import RADIO_PRESETS, amplifier_energy_jit, radio_model, tx_energy_jit
from wsnmec.errors import ParameterError


def test_heinzelman2002_hand_values():
    radio = radio_model("heinzelman2002")
    # 4000 * 50e-9 + 4000 * 10e-12 * 50^2 = 2.0e-4 + 1.0e-4
    assert radio.tx_energy(4000, 50.0) == pytest.approx(3.0e-4, rel=1e-12)
    assert radio.rx_energy(4000) == pytest.approx(2.0e-4, rel=1e-12)
    assert radio.fusion_energy(4000, 3) == pytest.approx(6.0e-5, rel=1e-12)
    assert radio.d0 == pytest.approx(math.sqrt(10e-12 / 0.0013e-12)) and 87.0 < radio.d0 < 88.0
    # multipath branch: 4000 * 50e-9 + 4000 * 0.0013e-12 * 100^4
    assert radio.tx_energy(4000, 100.0) == pytest.approx(2.0e-4 + 4000 * 0.0013e-12 * 1e8, rel=1e-12)


def test_branches_agree_at_d0():
    radio = radio_model("heinzelman2002")
    d0 = radio.d0
    free_space = 4000 * radio.e_elec + 4000 * radio.eps_fs * d0**2
    multipath = 4000 * radio.e_elec + 4000 * radio.eps_mp * d0**4
    assert free_space == pytest.approx(multipath, rel=1e-12)
    assert radio.tx_energy(4000, d0 * (1 + 1e-12)) == pytest.approx(radio.tx_energy(4000, d0), rel=1e-9)


def test_heinzelman2000_single_amplifier():
    radio = radio_model("heinzelman2000")
    assert math.isinf(radio.d0)
    assert radio.tx_energy(2000, 100.0) == pytest.approx(2000 * 50e-9 + 2000 * 100e-12 * 1e4, rel=1e-12)


def test_compiled_matches_python():
    radio = radio_model()
    for d in (0.0, 10.0, 87.0, 88.0, 250.0):
        # rel 1e-12: RadioModel.tx_energy computes d**4 with pow, the kernel as (d*d)*(d*d) (1 ulp apart)
        compiled = tx_energy_jit(4000.0, d, radio.e_elec, radio.eps_fs, radio.eps_mp, radio.d0)
        assert compiled == pytest.approx(radio.tx_energy(4000, d), rel=1e-12)
        amp = amplifier_energy_jit(4000.0, d, radio.eps_fs, radio.eps_mp, radio.d0)
        assert amp == pytest.approx(radio.tx_energy(4000, d) - 4000 * radio.e_elec, rel=1e-12, abs=1e-18)


def test_overrides_and_errors():
    radio = radio_model("heinzelman2002", eps_fs=20e-12)
    assert radio.eps_fs == 20e-12 and radio.d0 == pytest.approx(math.sqrt(20e-12 / 0.0013e-12))
    with pytest.raises(ParameterError, match="valid presets: " + ", ".join(RADIO_PRESETS)):
        radio_model("nope")
    with pytest.raises(ParameterError):
        radio_model(e_elec=-1.0)
    with pytest.raises(ParameterError):
        radio_model(colour=1.0)
