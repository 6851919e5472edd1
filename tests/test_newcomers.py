"""A newcomer's additions, each written into a temporary package and plugged in by one registry line (or used as
``module:object``), shown to work end to end: a harvest model (simulated through both ways of naming it, the
energy balance holding to 1e-9 J), an offloading model family (built by ``make_model``, solved exactly and by
coordinate descent, and learned online by DDLO through ``run_experiment``, every decision finite and feasible)
and a clustering policy (run by its registered name, then through every conformance check of
:mod:`wsnmec.sim.checks`). Study kinds and figure kinds: ``tests/test_study_kind_plugin.py``.

The plug-ins run without compiled hooks: the harvest model's Python ``offer`` runs in the policy round loop (the
fused loop refuses it), the family's models are scored through their ``score_batch_fn``.
"""

from __future__ import annotations

import hashlib
import textwrap
import uuid

import numpy as np
import pytest

from wsnmec.energy.harvesters import registry as harvest_registry
from wsnmec.errors import ParameterError
from wsnmec.offload import registry as offload_registry
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

TIDAL = '''
    """A tidal source: every harvesting node gains PEAK [J] in the rounds of the flood (the first half of each
    PERIOD rounds), times a factor drawn per node and round uniformly in [0.5, 1)."""
    import numpy as np

    from wsnmec.energy.harvesters.base import HarvestModel


    def offer(rng, values, round_number, harvesting, memory):
        peak, period = values
        memory["rounds"] = memory.get("rounds", 0) + 1
        flood = (round_number % period) < period / 2
        factor = 0.5 + 0.5 * rng.random(harvesting.shape[0])
        return np.where(harvesting & flood, peak * factor, 0.0)


    MODEL = HarvestModel(name="tidal", values=("peak_energy", "period"), units=("J", "rounds"),
                         checks=("nonnegative", "positive"), syntax="tidal:J_PEAK,PERIOD_ROUNDS", offer=offer)
'''

THRESHOLD = '''
    """A toy family: N devices, each with a task of D bits; computing it locally costs E_LOCAL D [J], offloading
    it costs E_TX D plus a congestion charge C k [J] shared by the k offloading devices (cost: lower is better)."""
    from functools import partial

    import numpy as np

    from wsnmec.errors import check_float, check_int
    from wsnmec.offload.family import OffloadFamily
    from wsnmec.offload.models import OffloadModel

    DEFAULTS = {"local_energy": 2e-7, "tx_energy": 1e-7, "congestion": 1e-4}
    PARAMETERS = {"local_energy": ("J/bit", "energy of computing one bit locally"),
                  "tx_energy": ("J/bit", "energy of sending one bit"),
                  "congestion": ("J", "charge per offloading device, times their number")}


    def score_batch(states, decisions, params, out):
        local, tx, congestion = params
        offloaded = decisions.sum(axis=2)
        cost = np.where(decisions == 1, tx * states[:, None, :], local * states[:, None, :]).sum(axis=2)
        out[:] = cost + congestion * offloaded * offloaded


    def random_states(n, rng, count):
        return rng.uniform(1e3, 1e4, size=(count, n))


    def greedy(model, states):
        local, tx, _ = model.params
        return (states * (local - tx) > model.params[2]).astype(np.uint8)


    def build(devices, **overrides):
        n = check_int("--devices", devices, 1, 16)
        cfg = {**DEFAULTS, **{k: check_float(k, v, 0.0) for k, v in overrides.items()}}
        return OffloadModel(name="threshold", n_decisions=n, n_state=n, sense=-1.0,
                            params=np.array([cfg["local_energy"], cfg["tx_energy"], cfg["congestion"]]),
                            kind=0, acc_size=1, config={"model": "threshold", "devices": n, **cfg},
                            random_states_fn=partial(random_states, n), features_fn=lambda s: s / 1e4,
                            greedy_fn=greedy, score_batch_fn=score_batch)


    FAMILY = OffloadFamily(name="threshold", build=build, defaults=DEFAULTS, parameters=PARAMETERS,
                           summary="a toy congestion model, cost in J")
'''


def write_module(directory, source: str) -> str:
    """Write ``source`` as a new module in ``directory`` (on sys.path); returns its (unique) name."""
    name = f"newcomer_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


@pytest.fixture
def package(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def balance_error(result) -> float:
    """Largest |initial + harvested - consumed - residual| [J] over the replicas."""
    s = result.summary
    return float(np.abs(s["energy_initial_j"] + s["energy_harvested_j"] - s["energy_consumed_j"]
                        - s["energy_residual_j"]).max())


NETWORK = dict(protocol="leach", nodes=16, e0="0.002..0.02", rounds=60, revive_threshold=0.001)


@pytest.mark.parametrize("how", ["registry line", "module:object"])
def test_a_harvest_model_plugs_in(package, monkeypatch, how):
    module = write_module(package, TIDAL)
    if how == "registry line":
        monkeypatch.setitem(harvest_registry.HARVEST_MODELS, "tidal", f"{module}:MODEL")  # the one line
        spec = "tidal:0.004,10"
    else:
        spec = f"{module}:MODEL:0.004,10"
    scenario = Scenario.from_mapping(NETWORK, harvest=spec)
    assert not scenario.harvest.compiled
    result = simulate(scenario, seed=4, replicas=2, workers=1, per_node=True)
    assert result.config["loop"] == "policy"
    assert result.config["harvest"] == str(scenario.harvest)
    assert result.config["harvest_spec"] == f"{module}:MODEL"  # recorded with its module file's SHA-256
    assert result.config["harvest_sha256"] == hashlib.sha256((package / f"{module}.py").read_bytes()).hexdigest()
    rounds = result.rounds
    assert (rounds["harvested_j"] > 0).any()
    flood = (rounds["round"] % 10) < 5
    assert (rounds.loc[~flood, "harvested_j"] == 0).all()  # the model's own rule, not a built-in's
    assert balance_error(result) < 1e-9
    again = simulate(scenario, seed=4, replicas=2, workers=1, per_node=True)
    assert rounds.equals(again.rounds)  # seeded: the offer draws from the replica's Generator
    with pytest.raises(ParameterError, match="built-in harvest model"):
        simulate(scenario, seed=4, replicas=1, loop="fused")
    with pytest.raises(ParameterError) as caught:
        Scenario.from_mapping(NETWORK, harvest=spec.rsplit(",", 1)[0] + ",0")
    assert caught.value.parameter == "--harvest " + spec.rsplit(":", 1)[0] + " period"


def test_the_cli_runs_a_plug_in_harvest_model(package):
    import json

    from click.testing import CliRunner

    from wsnmec import cli

    module = write_module(package, TIDAL)
    result = CliRunner().invoke(cli.main, ["run", "--harvest", f"{module}:MODEL:0.004,10", "--nodes", "12",
                                           "--e0", "0.01", "--rounds", "30", "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    energy = json.loads(result.stdout)["replicas"][0]["energy"]
    assert energy["harvested"] > 0
    assert abs(energy["initial"] + energy["harvested"] - energy["consumed"] - energy["residual"]) < 1e-9


def test_an_offloading_family_plugs_in(package, monkeypatch):
    from wsnmec.offload import coordinate_descent, exact, make_model
    from wsnmec.offload.constants import PLUGIN_KIND
    from wsnmec.offload.online import run_experiment

    module = write_module(package, THRESHOLD)
    monkeypatch.setitem(offload_registry.OFFLOAD_FAMILIES, "threshold", f"{module}:FAMILY")  # the one line
    model = make_model("threshold", 6, congestion=2e-4)
    assert model.kind == PLUGIN_KIND  # its declared kind 0 is mumt's: never used for a plug-in
    states = model.random_states(np.random.default_rng(1), 5)
    decisions, utilities = exact(model, states)
    every = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(np.uint8)
    brute = model.score(states, np.broadcast_to(every, (5, 64, 6)))
    np.testing.assert_allclose(utilities, brute.min(axis=1), rtol=1e-12)
    np.testing.assert_allclose(model.score(states, decisions), utilities, rtol=1e-12)
    _, descended = coordinate_descent(model, states)
    assert np.all(descended >= utilities * (1 - 1e-12))
    with pytest.raises(ParameterError) as caught:
        make_model("threshold", 6, congestion=-1.0)
    assert caught.value.parameter == "--param congestion"
    table, result = run_experiment("threshold", devices=6, frames=60, seed=3, networks=2)
    assert result["config"]["model"] == "threshold" and result["config"]["reference"] == "optimal"
    learner = table[table["policy"] == "ddlo"]
    assert len(learner) == 60 and np.isfinite(learner["utility"]).all()
    assert set(np.concatenate([list(d) for d in learner["decision"]])) <= {"0", "1"}
    assert (learner["normalized_utility"] <= 1 + 1e-9).all()


def test_the_cli_runs_a_plug_in_offloading_family(package, monkeypatch):
    import json

    from click.testing import CliRunner

    from wsnmec import cli

    module = write_module(package, THRESHOLD)
    monkeypatch.setitem(offload_registry.OFFLOAD_FAMILIES, "threshold", f"{module}:FAMILY")
    listed = CliRunner().invoke(cli.main, ["offload", "--model", "threshold", "--list-params"])
    assert listed.exit_code == 0, listed.output
    assert "congestion" in listed.stdout and "[J]" in listed.stdout
    helped = CliRunner().invoke(cli.main, ["offload", "--help"])
    assert "threshold (a toy congestion model, cost in J)" in " ".join(helped.stdout.split())
    ran = CliRunner().invoke(cli.main, ["offload", "--model", f"{module}:FAMILY", "--devices", "4", "--frames", "30",
                                        "--seed", "1", "--networks", "1", "--json"])
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["config"]["model"] == "threshold" and result["config"]["n_decisions"] == 4
    assert all(0 < row["normalized_utility"] <= 1 + 1e-9 for row in result["policies"].values())


def test_installed_entry_points_name_plug_ins(package, monkeypatch):
    """An installed package's entry points (``wsnmec.harvest``, ``wsnmec.offload``) name its models as the
    registry's lines do; a registered name wins over an entry point of the same name."""
    import importlib.metadata

    from plugin_examples import add_entry_points

    from wsnmec.offload import make_model

    tidal, threshold = write_module(package, TIDAL), write_module(package, THRESHOLD)
    add_entry_points(monkeypatch, [
        importlib.metadata.EntryPoint("tidal-ep", f"{tidal}:MODEL", harvest_registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("markov", f"{tidal}:MODEL", harvest_registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("threshold-ep", f"{threshold}:FAMILY", offload_registry.ENTRY_POINT_GROUP),
    ])
    scenario = Scenario.from_mapping(NETWORK, harvest="tidal-ep:0.004,10")
    assert scenario.harvest.kind == "tidal-ep" and not scenario.harvest.compiled
    result = simulate(scenario, seed=2, replicas=1, workers=1)
    assert result.config["harvest_spec"] == f"{tidal}:MODEL" and balance_error(result) < 1e-9
    assert Scenario.from_mapping(NETWORK, harvest="markov:0.001,0,0.1,0.1").harvest.compiled  # the built-in
    model = make_model("threshold-ep", 3)
    assert model.config["model"] == "threshold" and model.n_decisions == 3


def test_a_changed_plug_in_harvest_model_gives_study_tasks_new_keys(package):
    """A study task's key covers a plug-in harvest model's module file (as a plug-in policy's): editing the file
    in place runs its tasks again; a built-in model adds nothing to the key."""
    from wsnmec.study.cache import task_config, task_key

    module = write_module(package, TIDAL)
    scenario = Scenario.from_mapping(NETWORK, harvest=f"{module}:MODEL:0.004,10")
    first = task_config(scenario, 4)
    assert first["scenario"]["harvest_spec"] == f"{module}:MODEL"
    path = package / f"{module}.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    second = task_config(scenario, 4)
    assert second["scenario"]["harvest_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert task_key(second) != task_key(first)
    built_in = task_config(Scenario.from_mapping(NETWORK, harvest="constant:1e-4"), 4)["scenario"]
    assert "harvest_spec" not in built_in and "harvest_sha256" not in built_in


RICHEST = '''
    """The k richest alive nodes are the heads (k = max(1, round(p N_alive))); no random draw."""
    import numpy as np

    from wsnmec.clustering.base import ClusteringPolicy, described_p, resolved_p


    class Richest(ClusteringPolicy):
        name = "richest"
        control = "centralized"

        def elect(self, state, rng):
            heads = np.zeros(state.n, dtype=bool)
            alive = np.flatnonzero(state.alive)
            if alive.size:
                k = max(1, int(round(resolved_p(state) * alive.size)))
                heads[alive[np.argsort(-state.energy[alive], kind="stable")[:k]]] = True
            return heads

        def describe(self):
            return {"name": self.name, "p": described_p(self.scenario)}
'''


def test_a_clustering_policy_plugs_in_and_passes_the_conformance_checks(package, monkeypatch):
    """One file and one line in the clustering registry: the policy runs (by name, with the energy balance) and
    passes every conformance check of :mod:`wsnmec.sim.checks` that the registered policies pass."""
    from wsnmec.clustering import registry
    from wsnmec.sim.checks import check_policy

    module = write_module(package, RICHEST)
    monkeypatch.setitem(registry.CLUSTERING_POLICIES, "richest", f"{module}:Richest")  # the one line
    result = simulate(Scenario.from_mapping({**NETWORK, "protocol": "richest"}), seed=2, replicas=2, workers=1)
    assert result.config["protocol"] == "richest" and result.config["loop"] == "policy"
    assert balance_error(result) < 1e-9
    check_policy("richest")
