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


# --- study files (issue 21): random TOML within and beyond the schema ----------------------------------------
#
# `wsnmec study show FILE --results EMPTY` validates the whole file (every key, type, nesting depth, grid shape,
# figure, quick variant) before it looks for results, and computes nothing: a valid file ends in the one-line
# "no results" error, an invalid one in the one line naming its key. Never a traceback, never exit 1.

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import assume  # noqa: E402

from wsnmec.sim.scenario import Scenario  # noqa: E402
from wsnmec.study.spec import FIGURE_KEYS, QUICK_KEYS, TOP_KEYS  # noqa: E402


def toml_value(value) -> str:
    """``value`` as a TOML inline value (strings as JSON strings, which TOML basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(table: dict) -> str:
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in table.items())


SCENARIO_KEYS = sorted(Scenario.keys())
SCALAR = st.one_of(
    st.integers(-3, 500), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=12),
    st.sampled_from(["leach", "ddnn", "direct", "clean", "matlab", "none", "0.1..0.5", "1..3", "constant:0.01",
                     "50,175", "auto", "fnd", "hnd", "protocol", "metric", "line", "map", "claims", "offload",
                     "partition", "lifetime", "{seeds}", "{nope}"]),
)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(max_size=6)),
                                                 inner, max_size=3)), max_leaves=12)


def scenario_table(value=VALUE):
    keys = st.one_of(st.sampled_from(SCENARIO_KEYS), st.sampled_from(SCENARIO_KEYS), st.text(max_size=8))
    return st.dictionaries(keys, value, max_size=4)


GRID_VALUE = st.one_of(st.lists(SCALAR, min_size=1, max_size=3), SCALAR, VALUE)
FIGURE = st.dictionaries(st.one_of(st.sampled_from(FIGURE_KEYS), st.text(max_size=6)), VALUE, max_size=5)
STUDY = st.fixed_dictionaries({}, optional={
    "title": st.one_of(st.text(max_size=30), VALUE), "description": st.one_of(st.text(max_size=40), VALUE),
    "seed": st.one_of(st.integers(0, 10**6), SCALAR), "seeds": st.one_of(st.integers(1, 3), SCALAR),
    "kind": st.one_of(st.sampled_from(["lifetime", "offload", "partition"]), SCALAR),
    "scale_field": SCALAR, "base": st.one_of(scenario_table(), VALUE),
    "grid": st.one_of(scenario_table(GRID_VALUE), VALUE), "extra": st.one_of(st.lists(scenario_table(), max_size=2), VALUE),
    "quick": st.one_of(st.dictionaries(st.sampled_from(QUICK_KEYS), VALUE, max_size=3), VALUE),
    "figures": st.one_of(st.lists(FIGURE, max_size=2), VALUE), "bound": VALUE,
}).flatmap(lambda table: st.dictionaries(st.text(max_size=6).filter(lambda k: k not in TOP_KEYS), VALUE,
                                         max_size=1).map(lambda extra: {**table, **extra}))
RAW_TEXT = st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
                     st.just("[grid]\nnodes = [" * 400), st.just("a = " + "[" * 5000 + "]" * 5000))


@settings(max_examples=int(os.environ.get("WSNMEC_FUZZ_EXAMPLES", examples(120))), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=STUDY, raw=st.one_of(st.none(), st.none(), st.none(), RAW_TEXT))
def test_fuzz_study_files(tmp_path_factory, table, raw):
    folder = tmp_path_factory.mktemp("study")
    path = folder / "fuzz.toml"
    path.write_text(raw if raw is not None else toml_document(table), encoding="utf-8", errors="surrogatepass")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(cli.main, ["study", "show", str(path), "--results", str(folder / "results")])
    assert [str(w.message) for w in caught] == []  # (never beside a one-line error)
    assert result.exit_code == 2, (result.exit_code, result.stderr, repr(result.exception))
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    event("valid (no results)" if "no results of study" in lines[0] else "refused")


# --- model files (issue 21): npz files with random metadata ------------------------------------------------
#
# The shipped ddnn model with its metadata mutated at random (values replaced, keys deleted or added, the
# whole text replaced), with its checksums stamped again half of the time (so the validation behind the
# checksum is reached), or its arrays mutated: `wsnmec run --protocol ddnn --policy-model FILE` exits 0 with
# valid JSON or 2 with one line.


def _shipped_model():
    from wsnmec.clustering.ddnn import DEFAULT_MODEL
    from wsnmec.learn.persist import _META

    with np.load(DEFAULT_MODEL, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    return arrays, json.loads(str(arrays.pop(_META)))


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)


def _paths(value, prefix=()):
    """Every key path of a nested dict/list (as tuples)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _mutate(metadata, data):
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(metadata) if p]
        path = data.draw(st.sampled_from(paths))
        parent = metadata
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace" or isinstance(parent, list):
            parent[path[-1]] = data.draw(JSON_VALUE)
        elif action == "delete":
            del parent[path[-1]]
        else:
            parent[data.draw(st.text(max_size=8))] = data.draw(JSON_VALUE)
    return metadata


@settings(max_examples=int(os.environ.get("WSNMEC_FUZZ_EXAMPLES", examples(60))), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_model_files(tmp_path_factory, data):
    from wsnmec.learn.persist import _META, CHECKSUM_KEY, content_digest, model_checksum

    arrays, metadata = _shipped_model()
    form = data.draw(st.sampled_from(["metadata", "metadata", "arrays", "text"]))
    restamp = data.draw(st.booleans())
    if form == "metadata":
        metadata = _mutate(metadata, data)
    elif form == "arrays":
        name = data.draw(st.sampled_from(sorted(arrays)))
        change = data.draw(st.sampled_from(["shape", "dtype", "nan", "delete", "extra"]))
        if change == "shape":
            arrays[name] = np.ascontiguousarray(arrays[name].reshape(-1)[: max(1, arrays[name].size // 2)])
        elif change == "dtype":
            arrays[name] = arrays[name].astype(data.draw(st.sampled_from(["int8", "complex128", "U3", "bool"])))
        elif change == "nan":
            arrays[name] = np.full_like(arrays[name], np.nan)
        elif change == "delete":
            del arrays[name]
        else:
            arrays["w9"] = np.zeros((2, 2))
    if restamp and isinstance(metadata, dict):
        try:
            metadata["content_sha256"] = content_digest(arrays)
            metadata[CHECKSUM_KEY] = model_checksum(arrays, metadata)
        except (TypeError, ValueError):
            assume(False)  # (arrays numpy cannot hash as the writer does: not a file the writer could make)
    text = data.draw(st.text(max_size=40)) if form == "text" else json.dumps(metadata)
    path = tmp_path_factory.mktemp("model") / "m.npz"
    np.savez(path, **arrays, **{_META: np.array(text)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(cli.main, ["run", "--protocol", "ddnn", "--policy-model", str(path), "--nodes",
                                               "8", "--rounds", "3", "--seed", "1", "--json"])
    assert [str(w.message) for w in caught] == []  # (no cast dropping a part, no overflow)
    data_out = check(result)
    event(f"{form}, restamped {restamp}: exit {result.exit_code}")
    if data_out is not None:
        assert data_out["config"]["nodes"] == 8
