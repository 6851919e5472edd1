"""Issue 12: a fuzz test of `wsnmec run` and `wsnmec offload` through click's CliRunner.

Hypothesis draws option lists mixing valid values with hostile ones (zero, negative, huge, non-finite,
overlong integers, empty strings, text): the exit code is always 0 or 2, never a traceback, an error is one
line on stderr, and an exit-0 output is valid JSON (no NaN/Infinity tokens) with only finite numbers.

Problem sizes stay tiny (<= 40 nodes, <= 20 rounds, <= 60 frames): option values that would make a run
long are drawn only from small ranges, so every example takes milliseconds.
"""

from __future__ import annotations

import json
import math
import os

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tiers import examples

from wsnmec import cli

HOSTILE = st.sampled_from(
    ["0", "-1", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "", " ", "abc", "1" + "0" * 400,
     "99999999999999999999", "0x10", "1,2,3", "5e-324", "2.5", "true"]
)


def number(low: float, high: float):
    return st.floats(low, high, allow_nan=False, allow_infinity=False).map(repr)


def value(valid):
    """A value from the option's valid range (hostile values come through :func:`options`)."""
    return valid


def sized(valid):
    """A size option's value: mostly valid (and small), sometimes hostile (then refused: never large)."""
    return st.one_of(valid, valid, valid, HOSTILE)


RUN_OPTIONS = {
    "--protocol": value(st.sampled_from(["direct", "leach", "ileach"])),
    "--field": value(st.one_of(number(1e-3, 1e4), st.tuples(number(1, 300), number(1, 300)).map(",".join))),
    "--sink": value(st.tuples(number(0, 1e6), number(0, 1e6)).map(",".join)),
    "--e0": value(number(1e-6, 1e12)),
    "--p": value(number(1e-9, 1.0)),
    "--packet-bits": value(st.integers(1, 10**12).map(str)),
    "--semantics": value(st.sampled_from(["clean", "matlab"])),
    "--radio": value(st.sampled_from(["heinzelman2002", "heinzelman2000"])),
    "--e-elec": value(number(0, 1)),
    "--eps-fs": value(number(0, 1)),
    "--eps-mp": value(number(0, 1)),
    "--e-da": value(number(0, 1)),
    "--d0": value(number(0, 1e9)),
    "--harvest": value(st.one_of(
        st.just("none"), number(0, 1e12).map("constant:{}".format),
        st.tuples(number(0, 1e12), number(0, 1)).map(lambda t: "bernoulli:" + ",".join(t)),
        st.tuples(number(0, 1e3), number(0, 1e3), number(0, 1), number(0, 1)).map(lambda t: "markov:" + ",".join(t)),
        st.tuples(number(0, 1e3), number(1e-3, 1e3)).map(lambda t: "solar:" + ",".join(t)),
    )),
    "--battery": value(number(1e-6, 1e12)),
    "--advanced-fraction": value(number(0, 1)),
    "--advanced-factor": value(number(0, 1e13)),
    "--revive-threshold": value(number(1e-9, 1e3)),
    "--deployment": value(st.one_of(
        st.sampled_from(["uniform", "grid"]), number(1e-9, 1e9).map("gaussian:{}".format),
        st.tuples(st.integers(1, 50).map(str), number(1e-9, 1e9)).map(lambda t: "clusters:" + ",".join(t)),
        number(1e-9, 1e4).map("corridor:{}".format),
    )),
    "--replicas": value(st.integers(1, 2).map(str)),
    "--workers": value(st.integers(1, 2).map(str)),
}

OFFLOAD_PARAMS = {
    "mumt": ["local_energy", "local_time", "tx_energy", "edge_energy", "cycles_per_bit", "edge_cpu", "uplink_rate",
             "time_weight", "bits_per_mb", "size_min", "size_max"],
    "wsn-ch": ["kappa", "cpu_frequency", "cycles_per_bit", "result_bits", "bandwidth", "edge_cpu", "energy_weight",
               "time_weight", "reference_energy", "energy_exponent", "packet_bits", "field_size", "sink_x", "sink_y",
               "packets_min", "packets_max", "residual_min", "residual_max"],
}

PARAM_VALUE = st.one_of(number(0, 1e12), st.integers(0, 40).map(str), number(1e-12, 1e-3), HOSTILE)

OFFLOAD_OPTIONS = {
    "--tasks": value(st.integers(1, 3).map(str)),
    "--networks": value(st.integers(1, 2).map(str)),
    "--memory": value(st.integers(1, 64).map(str)),
    "--batch": value(st.integers(1, 16).map(str)),
    "--train-interval": value(st.integers(1, 10).map(str)),
    "--learning-rate": value(number(1e-6, 10)),
    "--quantization": value(st.sampled_from(["threshold", "order-preserving"])),
    "--candidates": value(st.integers(1, 4).map(str)),
    "--input-scale": value(number(1e-6, 1e6)),
    "--exact-limit": value(st.integers(1, 30).map(str)),
}


def options(table: dict):
    """A random subset of ``table``'s options with values from their valid ranges (whose combinations may
    still be invalid), plus, half of the time, one option with a hostile value, as an argument list."""
    valid = st.lists(st.sampled_from(sorted(table)), unique=True, max_size=len(table)).flatmap(
        lambda names: st.tuples(*(table[name] for name in names)).map(
            lambda values: [item for pair in zip(names, values) for item in pair]
        )
    )
    hostile = st.one_of(st.just([]), st.tuples(st.sampled_from(sorted(table)), HOSTILE).map(list))
    return st.tuples(valid, hostile).map(lambda parts: parts[0] + parts[1])


def strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def assert_finite(obj, where="output"):
    if isinstance(obj, dict):
        for key, item in obj.items():
            assert_finite(item, f"{where}.{key}")
    elif isinstance(obj, list):
        for index, item in enumerate(obj):
            assert_finite(item, f"{where}[{index}]")
    elif isinstance(obj, float):
        assert math.isfinite(obj), f"{where} = {obj}"


def check(result):
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr, repr(result.exception))
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    event(f"exit code {result.exit_code}")
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return None
    data = strict_json(result.stdout)
    assert_finite(data)
    return data


FUZZ = settings(max_examples=int(os.environ.get("WSNMEC_FUZZ_EXAMPLES", examples(50))), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    extra=options(RUN_OPTIONS),
    nodes=sized(st.integers(1, 40).map(str)),
    rounds=sized(st.integers(1, 20).map(str)),
    seed=sized(st.integers(0, 2**63 - 1).map(str)),
)
def test_fuzz_run(extra, nodes, rounds, seed):
    # --nodes and --rounds always come last, so that a drawn size can never make a long run
    args = ["run", *extra, "--nodes", nodes, "--rounds", rounds, "--seed", seed, "--json"]
    data = check(CliRunner().invoke(cli.main, args))
    if data is not None:
        assert data["config"]["nodes"] <= 40 and all(r["rounds"] <= 20 for r in data["replicas"])


@FUZZ
@given(
    model=st.sampled_from(["mumt", "wsn-ch"]),
    extra=options(OFFLOAD_OPTIONS),
    devices=sized(st.integers(1, 3).map(str)),
    frames=sized(st.integers(2, 60).map(str)),
    params=st.data(),
)
def test_fuzz_offload(model, extra, devices, frames, params):
    keys = params.draw(st.lists(st.sampled_from(OFFLOAD_PARAMS[model]), unique=True, max_size=3))
    pairs = [item for key in keys for item in ("--param", f"{key}={params.draw(PARAM_VALUE)}")]
    args = ["offload", "--model", model, *extra, *pairs, "--devices", devices, "--frames", frames, "--json"]
    if model == "wsn-ch":
        args = [a for i, a in enumerate(args) if not (a == "--tasks" or (i and args[i - 1] == "--tasks"))]
    data = check(CliRunner().invoke(cli.main, args))
    if data is not None:
        assert data["config"]["frames"] <= 60
