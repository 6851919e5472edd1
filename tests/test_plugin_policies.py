"""Plug-in clustering policies: ``--protocol module:Class`` and the ``wsnmec.policies`` entry points, resolved
by :mod:`wsnmec.clustering.registry` for `wsnmec run`, `map`, `bound`, studies and the Gymnasium
environment; the installable example ``examples/mypolicy``; one-line ``--protocol`` errors; what runs
record and what study cache keys hash."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import sys
import uuid

import numpy as np
import pytest
from click.testing import CliRunner
from plugin_examples import EXAMPLES, GROUP, add_entry_points, declared_entry_points, install_examples

from wsnmec import cli
from wsnmec.clustering import registry
from wsnmec.clustering.leach import LeachPolicy
from wsnmec.errors import ParameterError
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import Scenario

SPEC = "mypolicy:SpreadRichest"
MODULE_FILE = EXAMPLES / "mypolicy" / "mypolicy.py"
TINY = ["--nodes", "20", "--e0", "0.02", "--rounds", "40", "--seed", "3"]


@pytest.fixture
def examples(monkeypatch):
    """examples/mypolicy importable and its entry point declared, as after `pip install ./examples/mypolicy`."""
    return install_examples(monkeypatch)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args))


def run_json(*args) -> dict:
    result = invoke("run", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_protocol_error(result, *needles):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: --protocol:"), lines[0]
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


# --- the example package ----------------------------------------------------------------------------------


def test_example_declares_its_entry_point_in_the_policies_group():
    declared = {(ep.group, ep.name): ep.value for ep in declared_entry_points()}
    assert declared == {(GROUP, "spread-richest"): SPEC}
    assert GROUP == registry.ENTRY_POINT_GROUP


def test_registry_resolves_module_class_and_entry_point_to_the_same_class(examples):
    cls = registry.policy_class(SPEC)
    assert cls.__name__ == "SpreadRichest" and cls.__module__ == "mypolicy"
    assert registry.policy_class("spread-richest") is cls
    assert registry.check_protocol(SPEC) == SPEC  # kept as written
    assert "spread-richest" in registry.plugin_names()
    assert not registry.runs_fused(SPEC)
    record = registry.protocol_record(SPEC)
    assert record == {"protocol_spec": SPEC, "protocol_sha256": sha256(MODULE_FILE)}
    assert registry.protocol_record("spread-richest")["protocol_spec"] == SPEC
    assert registry.protocol_record("leach") == {}


def test_builtin_names_win_over_an_entry_point_of_the_same_name(monkeypatch, examples):
    add_entry_points(monkeypatch, [importlib.metadata.EntryPoint("leach", SPEC, GROUP)])
    assert registry.policy_class("leach") is LeachPolicy


def test_spread_richest_elects_the_richest_alive_nodes_spaced_apart(examples):
    scenario = Scenario.from_mapping(protocol=SPEC, nodes=60, e0="0.3..0.7", rounds=5, p=0.1)
    loop = RoundLoop(scenario, seed=4)
    initial = loop.initial.copy()
    loop.step()
    heads = np.flatnonzero(loop.last_heads)
    k = round(0.1 * 60)
    assert 1 <= heads.size <= k
    assert int(np.argmax(initial)) in heads  # the richest node first
    spacing = math.sqrt(100.0 * 100.0 / (math.pi * k))
    dx = loop.x[heads][:, None] - loop.x[heads][None, :]
    dy = loop.y[heads][:, None] - loop.y[heads][None, :]
    distance = np.sqrt(dx**2 + dy**2) + np.eye(heads.size) * 1e9
    assert distance.min() >= spacing
    # greedy: every richer node left out lies within the spacing of a head
    for node in np.flatnonzero(initial > initial[heads].min()):
        if node not in heads:
            near = np.hypot(loop.x[heads] - loop.x[node], loop.y[heads] - loop.y[node])
            assert near.min() < spacing


# --- wsnmec run, map, bound ----------------------------------------------------------------------------------


def test_run_accepts_module_class_and_entry_point_and_records_them(examples):
    by_spec = run_json(*TINY, "--protocol", SPEC)
    by_entry = run_json(*TINY, "--protocol", "spread-richest")
    config = by_spec["config"]
    assert config["protocol"] == SPEC and config["clustering"] == SPEC and config["loop"] == "policy"
    assert config["protocol_spec"] == SPEC and config["protocol_sha256"] == sha256(MODULE_FILE)
    assert config["clustering_parameters"]["name"] == "spread-richest"
    assert by_entry["config"]["protocol"] == "spread-richest"
    assert by_entry["config"]["protocol_spec"] == SPEC
    assert by_entry["replicas"] == by_spec["replicas"]  # the same class, the same seeds
    leach = run_json(*TINY, "--protocol", "leach")
    assert "protocol_spec" not in leach["config"] and "protocol_sha256" not in leach["config"]


def test_run_out_writes_the_plugin_record_into_config_json(examples, tmp_path):
    result = invoke("run", *TINY, "--protocol", SPEC, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["protocol"] == SPEC and config["protocol_sha256"] == sha256(MODULE_FILE)


def test_map_draws_a_plugin_policy(examples, tmp_path):
    out = tmp_path / "map.png"
    result = invoke("map", "--protocol", SPEC, "--nodes", "20", "--round", "2", "--seed", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0


def test_bound_accepts_and_records_a_plugin_policy(examples):
    result = invoke("bound", "--protocol", SPEC, "--nodes", "8", "--e0", "0.05", "--seed", "1", "--no-cache",
                    "--json")
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)["config"]
    assert config["protocol"] == SPEC and config["protocol_sha256"] == sha256(MODULE_FILE)
    assert_protocol_error(invoke("bound", "--protocol", "mypolicy:Missing", "--nodes", "8"), "Missing")


# --- errors ------------------------------------------------------------------------------------------------


@pytest.fixture
def bad_modules(tmp_path, monkeypatch):
    """A directory on sys.path with modules that fail in each way (unique names: no stale sys.modules)."""
    tag = uuid.uuid4().hex[:8]
    names = {kind: f"bad_{kind}_{tag}" for kind in ("raises", "syntax", "control", "noelect", "notpolicy")}
    (tmp_path / f"{names['raises']}.py").write_text("raise RuntimeError('boom\\nsecond line')\n")
    (tmp_path / f"{names['syntax']}.py").write_text("def broken(:\n")
    base = "from wsnmec.clustering.base import ClusteringPolicy\n"
    (tmp_path / f"{names['control']}.py").write_text(
        base + "class P(ClusteringPolicy):\n    control = 'often'\n    def elect(self, state, rng):\n"
               "        return state.alive.copy()\n")
    (tmp_path / f"{names['noelect']}.py").write_text(base + "class P(ClusteringPolicy):\n    pass\n")
    (tmp_path / f"{names['notpolicy']}.py").write_text(
        "class P:\n    control = 'none'\n    def elect(self, state, rng):\n        return state.alive.copy()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield names
    for name in names.values():
        sys.modules.pop(name, None)


def test_every_plugin_failure_is_one_protocol_line_exit_2(examples, bad_modules):
    cases = [
        ("nosuchmodule_x:P", ["cannot import", "nosuchmodule_x", "PYTHONPATH"]),
        ("examples/mypolicy/mypolicy.py:SpreadRichest", ["not a file path"]),
        (f"{bad_modules['raises']}:P", ["cannot import", "RuntimeError: boom second line"]),
        (f"{bad_modules['syntax']}:P", ["cannot import", "SyntaxError"]),
        ("mypolicy:Missing", ["has no attribute 'Missing'"]),
        ("mypolicy:math", ["not a class", "ClusteringPolicy"]),
        (f"{bad_modules['notpolicy']}:P", ["not a subclass of wsnmec.clustering.base.ClusteringPolicy"]),
        (f"{bad_modules['noelect']}:P", ["does not define elect"]),
        (f"{bad_modules['control']}:P", ["control = 'often'", "centralized"]),
        ("a:b:c", ["MODULE:CLASS"]),
        ("nosuch-policy", ["must be one of", "leach", "spread-richest", "MODULE:CLASS"]),
    ]
    for value, needles in cases:
        assert_protocol_error(invoke("run", *TINY, "--protocol", value), *needles)


def test_entry_point_to_a_missing_class_names_the_entry_point(monkeypatch, examples):
    add_entry_points(monkeypatch, [importlib.metadata.EntryPoint("broken-policy", "mypolicy:Gone", GROUP)])
    assert_protocol_error(invoke("run", *TINY, "--protocol", "broken-policy"), "broken-policy", "Gone")


# --- studies -------------------------------------------------------------------------------------------


STUDY = """
title = "plug-in study"
seed = 5
seeds = 2
[base]
nodes = 12
e0 = 0.02
rounds = 60
[grid]
protocol = ["leach", "{spec}"]
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
"""


def plugin_module(directory, name: str, comment: str = "") -> None:
    """A plug-in module ``name`` in ``directory`` (a subclass of the example's policy)."""
    (directory / f"{name}.py").write_text(f"# {comment}\nfrom mypolicy import SpreadRichest\n\n\n"
                                          "class Policy(SpreadRichest):\n    pass\n")


def test_study_cache_keys_follow_the_plugin_module_content(examples, tmp_path, monkeypatch):
    from wsnmec.study.runner import expand_tasks
    from wsnmec.study.spec import load_study

    name = f"study_plugin_{uuid.uuid4().hex[:8]}"
    plugin_module(tmp_path, name, "version 1")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "plugin.toml"
    path.write_text(STUDY.format(spec=f"{name}:Policy"), encoding="utf-8")
    try:
        first = expand_tasks(load_study(path))
        again = expand_tasks(load_study(path))
        plugin_module(tmp_path, name, "version 2")
        changed = expand_tasks(load_study(path))
    finally:
        sys.modules.pop(name, None)
    plugin_tasks = [t for t in first if t.scenario.protocol != "leach"]
    assert len(plugin_tasks) == 2
    assert all(t.config["scenario"]["protocol_spec"] == f"{name}:Policy" for t in plugin_tasks)
    assert all(t.config["scenario"]["protocol_sha256"] == sha256(tmp_path / f"{name}.py") for t in changed
               if t.scenario.protocol != "leach")
    assert [t.key for t in again] == [t.key for t in first]
    same = [a.key == b.key for a, b in zip(first, changed)]
    assert same == [t.scenario.protocol == "leach" for t in first]  # only the plug-in's tasks change


def test_study_file_with_a_broken_plugin_names_the_grid_entry(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(STUDY.format(spec="nosuchmodule_y:Policy"), encoding="utf-8")
    result = invoke("study", "run", str(path), "--results", str(tmp_path / "results"))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "grid.protocol[1]" in lines[0] and "nosuchmodule_y" in lines[0], result.stderr


@pytest.mark.slow
def test_study_runs_a_plugin_in_worker_processes_and_reruns_it_when_changed(examples, tmp_path, monkeypatch):
    """`wsnmec study run` on the local process pool: the workers import the plug-in from the parent's
    sys.path; a second run is all cache, and a changed module reruns only the plug-in's tasks."""
    import pandas as pd

    name = f"study_plugin_{uuid.uuid4().hex[:8]}"
    plugin_module(tmp_path, name, "version 1")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "plugin.toml"
    path.write_text(STUDY.format(spec=f"{name}:Policy"), encoding="utf-8")
    results = tmp_path / "results"
    try:
        runs = []
        for comment in ("version 1", "version 1", "version 2"):
            plugin_module(tmp_path, name, comment)
            result = invoke("study", "run", str(path), "--jobs", "1", "--results", str(results))
            assert result.exit_code == 0, result.output
            runs.append(result.stdout)
    finally:
        sys.modules.pop(name, None)
    assert "4 tasks, 0 from cache, 4 computed" in runs[0]
    assert "4 tasks, 4 from cache, 0 computed" in runs[1]
    assert "4 tasks, 2 from cache, 2 computed" in runs[2]
    summary = pd.read_parquet(results / "plugin" / "full" / "summary.parquet")
    assert set(summary["protocol"]) == {"leach", f"{name}:Policy"}
    record = json.loads((results / "plugin" / "full" / "study.json").read_text())
    assert record["plugins"] == {f"{name}:Policy": {"protocol_spec": f"{name}:Policy",
                                                    "protocol_sha256": sha256(tmp_path / f"{name}.py")}}


# --- the Gymnasium environment -------------------------------------------------------------------------------


def test_gym_env_accepts_a_plugin_protocol_and_reports_a_bad_one(examples):
    gym = pytest.importorskip("wsnmec.gym")
    env = gym.ClusteringEnv(nodes=10, rounds=5, protocol=SPEC)
    assert env.scenario.protocol == SPEC
    with pytest.raises(ParameterError, match="--protocol") as caught:
        gym.ClusteringEnv(nodes=10, rounds=5, protocol="mypolicy:Missing")
    assert "Missing" in caught.value.message


def test_the_protocol_help_names_every_registered_policy_and_alias(monkeypatch):
    """--protocol's help is made from the registry: every built-in name and alias is in it, and a policy
    registered later appears without editing the help."""
    from wsnmec.clustering import registry
    from wsnmec.sim.parameters import PROTOCOL_HELP

    for name in registry.protocol_names():
        assert name in PROTOCOL_HELP
    monkeypatch.setitem(registry.CLUSTERING_POLICIES, "my-policy", "my_module:MyPolicy")
    monkeypatch.setitem(registry.ALIASES, "mine", "my-policy")
    text = registry.protocol_help()
    assert "my-policy (alias mine)" in text and text.index("ddnn-price-rule") < text.index("my-policy")
    assert text.endswith("(see wsnmec.clustering.registry).")
