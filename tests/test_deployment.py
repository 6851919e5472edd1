"""Deployment: uniform positions, CSV positions, SEP heterogeneity, battery capacity."""

from __future__ import annotations

import numpy as np
import pytest

from wsnmec.sim.deployment import advanced_count, deploy, read_positions
from wsnmec.errors import ParameterError
from wsnmec.sim.scenario import Scenario


def test_uniform_positions_from_the_generator():
    scenario = Scenario.from_mapping(nodes=500, field="200,50")
    net = deploy(scenario, np.random.default_rng(3))
    u = np.random.default_rng(3).random((500, 2))
    np.testing.assert_array_equal(net.x, u[:, 0] * 200.0)
    np.testing.assert_array_equal(net.y, u[:, 1] * 50.0)
    assert net.x.min() >= 0 and net.x.max() < 200 and net.y.max() < 50
    assert net.sink == (100.0, 25.0)
    np.testing.assert_array_equal(net.energy, 0.5)
    np.testing.assert_array_equal(net.capacity, net.energy)


def test_sep_heterogeneity_and_battery():
    scenario = Scenario.from_mapping(nodes=100, advanced_fraction=0.1, advanced_factor=1.0, battery=2.0,
                                     sink="0,150")
    net = deploy(scenario, np.random.default_rng(0))
    assert net.advanced.sum() == 10 and net.advanced[:10].all()
    np.testing.assert_array_equal(net.energy[:10], 1.0)
    np.testing.assert_array_equal(net.energy[10:], 0.5)
    np.testing.assert_array_equal(net.capacity, 2.0)
    assert net.sink == (0.0, 150.0)
    assert advanced_count(100, 0.29) == 29 and advanced_count(3, 0.5) == 2 and advanced_count(10, 0.0) == 0


def test_csv_positions_with_and_without_energy(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("x,y,energy\n1,2,0.3\n3.5,4,0.7\n")
    net = deploy(Scenario.from_mapping(positions=str(path), nodes=999), np.random.default_rng(0))
    assert net.nodes == 2
    np.testing.assert_array_equal(net.x, [1.0, 3.5])
    np.testing.assert_array_equal(net.y, [2.0, 4.0])
    np.testing.assert_array_equal(net.energy, [0.3, 0.7])
    np.testing.assert_array_equal(net.capacity, [0.3, 0.7])
    path2 = tmp_path / "xy.csv"
    path2.write_text("x, y\n0,0\n10,10\n20,20\n")
    net2 = deploy(Scenario.from_mapping(positions=str(path2), e0=0.2), np.random.default_rng(0))
    assert net2.nodes == 3 and (net2.energy == 0.2).all()
    with pytest.raises(ParameterError, match="--advanced-fraction"):
        deploy(Scenario.from_mapping(positions=str(path), advanced_fraction=0.5), np.random.default_rng(0))


@pytest.mark.parametrize("text", [
    "",                                  # empty file
    "a,b\n1,2\n",                        # wrong columns
    "x\n1\n",                            # missing y
    "x,y\n",                             # no rows
    "x,y\n1,two\n",                      # not a number
    "x,y\n1,nan\n",                      # not finite
    "x,y,energy\n1,2,0\n",               # non-positive energy
    "x,y,energy,extra\n1,2,3,4\n",       # unknown column
    "x,y\n1,2,3,4\n5\n",                 # ragged rows
    "x,y\n1,2,3\n4,5\n",                 # one row too long
    "x,y\n-1,2\n",                       # negative coordinate
    "x,y\n1,-0.5\n",                     # negative coordinate
    "x,y,energy\n1,2,-0.5\n",            # negative energy
    "x,y,energy\n1,2,inf\n",             # infinite energy
    "x,x\n1,2\n",                        # repeated column
])
def test_malformed_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ParameterError) as info:
        read_positions(path)
    assert info.value.parameter == "--positions"


def test_unreadable_csv(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    with pytest.raises(ParameterError) as info:
        read_positions(path)
    assert info.value.parameter == "--positions"
    with pytest.raises(ParameterError):
        read_positions(tmp_path / "missing.csv")


def test_csv_errors_show_raw_values_and_rows(tmp_path):
    cases = {
        "x,y\n1,2\n3,nan\n": "got nan in data row 2",
        "x,y\n1,2,3\n4,5\n": "data row 1 has 3 fields, expected 2",
        "x,y,energy\n1,2,0.5\n3,4,-1e-3\n": "column energy must be > 0 [J]; got -1e-3 in data row 2",
        # the same ceiling as --e0 (issue 21, item 10: 1e13 J was accepted from a file, refused from --e0)
        "x,y,energy\n1,1,1e13\n5,5,0.5\n": "column energy must be at most 1e+12 [J]",
        "x,y\n1,2\n-7,4\n": "column x must be >= 0 [m] (the field starts at 0,0); got -7 in data row 2",
        "x,y\n1,\n": "got an empty field in data row 1",
        "\x00\x01\x02\x03": "--positions",
    }
    for text, message in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(text)
        with pytest.raises(ParameterError) as info:
            read_positions(path)
        assert info.value.parameter == "--positions"
        assert message in str(info.value), (text, str(info.value))
        assert "np.float64" not in str(info.value) and "\n" not in str(info.value)


def test_csv_blank_lines_quotes_and_bom_are_read(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes("\ufeffX, Y ,energy\n1,2,0.5\n\n\"3\", 4 ,0.25\n".encode("utf-8"))
    x, y, energy = read_positions(path)
    np.testing.assert_array_equal(x, [1.0, 3.0])
    np.testing.assert_array_equal(y, [2.0, 4.0])
    np.testing.assert_array_equal(energy, [0.5, 0.25])


def test_sink_and_battery_checks_in_the_scenario():
    with pytest.raises(ParameterError, match="--sink"):
        Scenario.from_mapping(sink="-1,5")
    assert Scenario.from_mapping(sink="50,175").sink_position == (50.0, 175.0)
    with pytest.raises(ParameterError, match="--battery") as info:
        Scenario.from_mapping(e0=0.5, battery=0.3)
    assert ">= 0.5 J" in str(info.value)
    # all nodes advanced (round(m N) = N): the largest and smallest initial energy is (1 + a) E0
    with pytest.raises(ParameterError, match="--revive-threshold"):
        Scenario.from_mapping(nodes=2, advanced_fraction=1.0, advanced_factor=1.0, revive_threshold=1.5)
    Scenario.from_mapping(nodes=2, advanced_fraction=1.0, advanced_factor=1.0, revive_threshold=1.0)
    with pytest.raises(ParameterError, match="--p"):
        Scenario.from_mapping(p=1e-300)
    assert Scenario.from_mapping(p=1e-9).p == 1e-9
    with pytest.raises(ParameterError, match="--nodes"):
        Scenario.from_mapping(nodes=100_000_001)
    assert Scenario.from_mapping(nodes=100_000_000).nodes == 100_000_000  # validation allocates nothing


def test_csv_energy_checked_against_battery_in_deploy(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("x,y,energy\n1,2,0.3\n3.5,4,0.7\n")
    with pytest.raises(ParameterError, match="--battery") as info:
        deploy(Scenario.from_mapping(positions=str(path), battery=0.5), np.random.default_rng(0))
    assert ">= 0.7 J" in str(info.value)
    net = deploy(Scenario.from_mapping(positions=str(path), battery=0.7), np.random.default_rng(0))
    np.testing.assert_array_equal(net.capacity, [0.7, 0.7])
    assert len(net.positions_sha256) == 64
