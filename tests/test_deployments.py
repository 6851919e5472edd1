"""Generated node layouts (``--deployment``): uniform unchanged, each generator seeded and inside the field,
their statistics, bad input through the CLI, and the wiring into run, bound, map, studies and the Gymnasium env."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.sim.deployment import DeploymentSpec, deploy, parse_deployment
from wsnmec.sim.scenario import Scenario

FIELD = "200,120"
RANDOM_LAYOUTS = ("uniform", "gaussian:15", "clusters:4,6", "corridor:20")


def positions(deployment, seed, nodes=400, field=FIELD, **more):
    net = deploy(Scenario.from_mapping(nodes=nodes, field=field, deployment=deployment, **more),
                 np.random.default_rng(seed))
    return net.x, net.y


def test_default_is_uniform_and_draws_what_the_old_code_drew():
    assert Scenario.from_mapping().deployment == "uniform"
    for text in (None, "uniform", " Uniform "):
        extra = {} if text is None else {"deployment": text}
        # the old draws: one (N, 2) block of uniforms, then the initial energies of --e0 LOW..HIGH
        rng = np.random.default_rng(7)
        u = rng.random((300, 2))
        energy = 0.1 + (0.9 - 0.1) * rng.random(300)
        after = rng.random()
        mine = np.random.default_rng(7)
        net = deploy(Scenario.from_mapping(nodes=300, field=FIELD, e0="0.1..0.9", **extra), mine)
        np.testing.assert_array_equal(net.x, u[:, 0] * 200.0)
        np.testing.assert_array_equal(net.y, u[:, 1] * 120.0)
        np.testing.assert_array_equal(net.energy, energy)
        assert mine.random() == after  # the generator is left where the old code left it


def test_full_width_corridor_is_uniform_draw_for_draw():
    np.testing.assert_array_equal(np.stack(positions("corridor:120", 3)), np.stack(positions("uniform", 3)))


@pytest.mark.parametrize("deployment", RANDOM_LAYOUTS + ("grid",))
def test_layout_is_reproducible_inside_the_field_and_random_layouts_differ_across_seeds(deployment):
    x, y = positions(deployment, 11)
    x2, y2 = positions(deployment, 11)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == y.shape == (400,)
    assert (x >= 0).all() and (x <= 200).all() and (y >= 0).all() and (y <= 120).all()
    other_x, other_y = positions(deployment, 12)
    if deployment == "grid":  # deterministic: no random draw
        np.testing.assert_array_equal(x, other_x)
    else:
        assert not np.array_equal(x, other_x) and not np.array_equal(y, other_y)


def test_gaussian_spread_is_sigma_when_the_field_is_far():
    x, y = positions("gaussian:5", 1, nodes=20000)
    assert abs(x.mean() - 100) < 0.2 and abs(y.mean() - 60) < 0.2
    assert abs(x.std() - 5) < 0.15 and abs(y.std() - 5) < 0.15


def test_gaussian_wider_than_the_field_stays_inside_and_truncates():
    x, y = positions("gaussian:1000", 2, nodes=5000)
    assert (x >= 0).all() and (x <= 200).all() and (y >= 0).all() and (y <= 120).all()
    # truncated to the field, a very wide Gaussian is nearly uniform: std near W / sqrt(12)
    assert abs(x.std() - 200 / np.sqrt(12)) < 3


def test_clusters_sit_near_their_centres():
    nodes, k, sigma = 2000, 4, 3.0
    rng = np.random.default_rng(5)
    centres = rng.random((k, 2)) * np.array([200.0, 120.0])
    pick = rng.integers(0, k, nodes)
    x, y = positions(f"clusters:{k},{sigma}", 5, nodes=nodes)
    to_own = np.hypot(x - centres[pick, 0], y - centres[pick, 1])
    # a 2-D Gaussian offset: mean distance sigma sqrt(pi/2) (less where the field truncates it)
    assert to_own.mean() < 1.3 * sigma * np.sqrt(np.pi / 2)
    ux, uy = positions("uniform", 5, nodes=nodes)
    to_uniform = np.min(np.hypot(ux[:, None] - centres[:, 0], uy[:, None] - centres[:, 1]), axis=1)
    assert to_own.mean() < to_uniform.mean() / 4
    assert set(np.unique(pick)) == set(range(k))


def test_corridor_keeps_every_node_in_the_strip():
    x, y = positions("corridor:10", 4, nodes=3000)
    assert (y >= 55).all() and (y <= 65).all()
    assert y.max() - y.min() > 9.9 and x.max() - x.min() > 199


@pytest.mark.parametrize("nodes, field, columns, rows", [(100, "100", 10, 10), (50, "100,60", 10, 5),
                                                         (7, "100", 3, 3), (1, "10", 1, 1)])
def test_grid_is_a_lattice_of_distinct_points(nodes, field, columns, rows):
    x, y = positions("grid", 0, nodes=nodes, field=field)
    width, height = Scenario.from_mapping(field=field).field
    assert len(set(zip(x.tolist(), y.tolist()))) == nodes
    np.testing.assert_allclose(np.unique(x), (np.arange(min(nodes, columns)) + 0.5) * width / columns)
    np.testing.assert_allclose(np.unique(y), (np.arange(rows) + 0.5) * height / rows)
    # equal spacing along each axis; rows filled from the left, the last one partly
    if nodes > 1:
        assert np.allclose(np.diff(np.unique(x)), width / columns)
        assert np.sum(y == y.max()) == nodes - (rows - 1) * columns
    if nodes == 100:
        assert width / columns == height / rows  # a square lattice in a square field


def test_canonical_text_and_spec():
    assert parse_deployment("Clusters: 4, 10") == DeploymentSpec("clusters", sigma=10.0, clusters=4)
    assert str(parse_deployment("clusters:4,10")) == "clusters:4,10.0"
    assert Scenario.from_mapping(deployment="gaussian:2.5").deployment == "gaussian:2.5"
    assert Scenario.from_mapping(deployment="corridor:20").to_config()["deployment"] == "corridor:20.0"
    assert str(parse_deployment(parse_deployment("grid"))) == "grid"


@pytest.mark.parametrize("value, words", [
    ("ring", "must be one of uniform, grid"), ("gaussian", "gaussian takes one argument"),
    ("gaussian:0", "SIGMA of gaussian:SIGMA must be a number > 0"), ("gaussian:x", "SIGMA"),
    ("clusters:4", "clusters takes two arguments"), ("clusters:0,5", "K of clusters:K,SIGMA"),
    ("clusters:2.5,5", "K of clusters"), ("clusters:3,-1", "SIGMA of clusters:K,SIGMA"),
    ("corridor:200", "must be <= the field height 100.0"), ("corridor:inf", "WIDTH"), ("grid:4", "no arguments"),
])
def test_bad_deployment_is_one_line_exit_2(value, words):
    result = CliRunner().invoke(cli.main, ["run", "--nodes", "5", "--rounds", "2", "--deployment", value])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --deployment: ") and words in lines[0], result.output
    with pytest.raises(ParameterError, match="--deployment"):
        Scenario.from_mapping(deployment=value)


def test_positions_csv_needs_the_uniform_deployment(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    assert Scenario.from_mapping(positions=str(path), deployment="uniform").deployment == "uniform"
    result = CliRunner().invoke(cli.main, ["run", "--positions", str(path), "--deployment", "grid"])
    assert result.exit_code == 2 and "--deployment: must be uniform" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_run_records_the_deployment_and_simulates_it():
    args = ["run", "--nodes", "12", "--rounds", "3", "--seed", "4", "--protocol", "leach", "--json"]
    result = CliRunner().invoke(cli.main, [*args, "--deployment", "clusters:4,10"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["config"]["deployment"] == "clusters:4,10.0"
    plain = json.loads(CliRunner().invoke(cli.main, args).stdout)
    assert plain["config"]["deployment"] == "uniform"
    consumed = [o["replicas"][0]["energy"]["consumed"] for o in (out, plain)]
    assert consumed[0] != consumed[1]  # other positions, other energies spent
    text = CliRunner().invoke(cli.main, ["run", "--nodes", "12", "--rounds", "3", "--seed", "4",
                                         "--deployment", "corridor:5"])
    assert text.exit_code == 0 and "deployment corridor:5.0" in text.output


def test_bound_and_map_take_the_option():
    names = {p.name for p in cli.bound.params} & {p.name for p in cli.map_command.params}
    assert "deployment" in names


def test_study_sweeps_the_deployment(tmp_path):
    study = tmp_path / "layouts.toml"
    study.write_text('title = "layouts"\nseed = 3\nseeds = 1\n[base]\nnodes = 10\nrounds = 3\nprotocol = "leach"\n'
                     '[grid]\ndeployment = ["uniform", "grid", "clusters:2,5"]\n', encoding="utf-8")
    results = tmp_path / "results"
    result = CliRunner().invoke(cli.main, ["study", "run", str(study), "--jobs", "1", "--results", str(results)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    summary = pd.read_parquet(results / "layouts" / "full" / "summary.parquet")
    assert sorted(summary["deployment"]) == ["clusters:2,5", "grid", "uniform"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[base]\nnodes = 10\n[grid]\ndeployment = ["ring"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["study", "run", str(bad), "--jobs", "1", "--results", str(results)])
    assert result.exit_code == 2 and "deployment" in result.output and len(result.output.strip().splitlines()) == 1


def test_gym_observes_positions_of_the_deployment():
    gymnasium = pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    from wsnmec.gym import ENV_ID, FEATURES, ClusteringEnv

    env = ClusteringEnv(nodes=15, rounds=5, deployment="gaussian:10", observe_positions=True)
    assert isinstance(env.observation_space, gymnasium.spaces.Dict)
    obs, _ = env.reset(seed=9)
    assert obs["features"].shape == (15, len(FEATURES)) and obs["positions"].shape == (15, 2)
    x, y = positions("gaussian:10", 9, nodes=15, field="100")
    np.testing.assert_array_equal(obs["positions"], np.stack([x, y], axis=1).astype(np.float32))
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(np.zeros(30, dtype=np.int8))
    np.testing.assert_array_equal(obs["positions"], np.stack([x, y], axis=1).astype(np.float32))
    check_env(gymnasium.make(ENV_ID, nodes=10, rounds=5, deployment="grid", observe_positions=True).unwrapped)
    plain = ClusteringEnv(nodes=10, rounds=5)
    assert plain.observation_space.shape == (10, len(FEATURES))
    with pytest.raises(ParameterError, match="observe_positions"):
        ClusteringEnv(nodes=10, observe_positions="yes")


def test_every_scenario_parameter_has_a_study_type():
    from wsnmec.study.spec import SCENARIO_TYPES

    assert set(SCENARIO_TYPES) == set(Scenario.keys()) and SCENARIO_TYPES["deployment"] == "str"


# --- statistics of the generators (issue 18): distribution shapes, not only ranges -------------------------


def test_gaussian_is_normal_around_the_centre_on_each_axis():
    """Far from the field's edges the layout is an isotropic normal: each axis passes a Kolmogorov-Smirnov test
    against N(centre, SIGMA^2), and the axes are uncorrelated."""
    from scipy import stats

    x, y = positions("gaussian:8", 21, nodes=5000)
    assert stats.kstest((x - 100.0) / 8.0, "norm").pvalue > 1e-3
    assert stats.kstest((y - 60.0) / 8.0, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.05


def test_clusters_have_k_modes_of_equal_weight_and_sigma_spread():
    """Each node picks one of the K centres uniformly (counts within 4 binomial standard deviations of N / K)
    and lies around it with spread SIGMA per axis (centres at least 4 SIGMA inside the field, where the field
    does not truncate the offsets)."""
    nodes, k, sigma = 6000, 5, 4.0
    rng = np.random.default_rng(13)
    centres = rng.random((k, 2)) * np.array([200.0, 120.0])
    pick = rng.integers(0, k, nodes)
    x, y = positions(f"clusters:{k},{sigma}", 13, nodes=nodes)
    counts = np.bincount(pick, minlength=k)
    assert (np.abs(counts - nodes / k) < 4 * np.sqrt(nodes * (1 / k) * (1 - 1 / k))).all()
    inside = [c for c in range(k) if 4 * sigma < centres[c, 0] < 200 - 4 * sigma
              and 4 * sigma < centres[c, 1] < 120 - 4 * sigma]
    assert inside  # this seed has centres away from the edges
    for c in inside:
        dx, dy = x[pick == c] - centres[c, 0], y[pick == c] - centres[c, 1]
        assert abs(dx.mean()) < 0.5 and abs(dy.mean()) < 0.5
        assert abs(dx.std() / sigma - 1) < 0.1 and abs(dy.std() / sigma - 1) < 0.1
    # K separate modes: nearly every node's nearest centre is its own
    nearest = np.argmin(np.hypot(x[:, None] - centres[:, 0], y[:, None] - centres[:, 1]), axis=1)
    assert np.mean(nearest == pick) > 0.95


def test_corridor_is_uniform_across_its_width_and_along_the_field():
    """The corridor's nodes are uniform on [H/2 - WIDTH/2, H/2 + WIDTH/2] across and on [0, W] along
    (Kolmogorov-Smirnov against the two uniforms), so the strip is WIDTH wide and centred."""
    from scipy import stats

    x, y = positions("corridor:24", 17, nodes=5000)
    assert stats.kstest(y, stats.uniform(loc=48.0, scale=24.0).cdf).pvalue > 1e-3
    assert stats.kstest(x, stats.uniform(loc=0.0, scale=200.0).cdf).pvalue > 1e-3
    assert 23.9 < y.max() - y.min() <= 24.0 and abs(y.mean() - 60.0) < 0.3


@pytest.mark.parametrize("deployment", RANDOM_LAYOUTS)
def test_layout_depends_only_on_its_seed(deployment):
    """Seeded: the same seed gives the same nodes whatever else ran before in the process, and the generator is
    left at the same place (what a run draws next does not depend on unrelated calls)."""
    first = np.random.default_rng(31)
    a = deploy(Scenario.from_mapping(nodes=300, field=FIELD, deployment=deployment), first)
    positions(deployment, 99)  # unrelated draws in between
    second = np.random.default_rng(31)
    b = deploy(Scenario.from_mapping(nodes=300, field=FIELD, deployment=deployment), second)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert first.random() == second.random()
