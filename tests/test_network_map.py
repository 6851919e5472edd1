"""`wsnmec map`: the plotted heads, alive nodes, links and energies are the simulation's state at that round
(read back from the figure's artists) and agree with `wsnmec run`'s tables for the same seed; --animate
writes one GIF frame per round."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec import cli, console
from wsnmec.network_map import ALIVE, DEAD, HEADS, LINKS, SINK, SINK_LINKS, map_figure, map_states
from wsnmec.sim.deployment import deploy
from wsnmec.sim.nearest import assign_receivers
from wsnmec.sim.scenario import Scenario
from wsnmec.seeding import replica_seeds
from wsnmec.sim.simulation import simulate

SCENARIO = {"protocol": "leach", "nodes": 40, "e0": 0.05, "field": "60,40", "sink": "30,55"}


def _artists(ax):
    found = {c.get_label(): c for c in ax.collections}
    return found


def _points(collection):
    return {tuple(np.round(p, 9)) for p in np.asarray(collection.get_offsets())}


@pytest.fixture(scope="module")
def states():
    scenario = Scenario.from_mapping(SCENARIO)
    seed = replica_seeds(11, 3)[2]  # replica 2 of --seed 11 --replicas 3
    result = simulate(scenario, 11, 3)
    rounds = result.rounds[result.rounds.replica == 2].set_index("round")
    # a round with dead and alive nodes
    r = int(rounds.index[(rounds.dead > 0) & (rounds.alive > 5)][0]) + 3
    return scenario, seed, rounds, r, map_states(scenario, seed, [r - 1, r])


def test_map_shows_the_simulation_state_of_the_round(states):
    scenario, seed, rounds, r, (before, state) = states
    import matplotlib.pyplot as plt

    fig = map_figure(state)
    (ax, _colorbar) = fig.axes
    artists = _artists(ax)
    net = deploy(scenario, np.random.default_rng(seed))  # the replica's deployment: its first draws
    xy = np.column_stack([net.x, net.y])
    alive, heads, dead = (_points(artists[k]) for k in (ALIVE, HEADS, DEAD))
    # the run's tables for this replica and round
    row = rounds.loc[r]
    assert len(alive) + len(heads) == row.alive and len(heads) == row.cluster_heads
    assert len(dead) == row.dead and row.dead > 0
    assert state.record["residual_j"] == pytest.approx(row.residual_j, rel=0, abs=1e-12)
    # positions: alive, heads and dead partition the deployment
    everyone = {tuple(np.round(p, 9)) for p in xy}
    assert alive | heads | dead == everyone and not (alive & heads) and not (alive & dead)
    # colours are the residual energies of the plotted nodes
    mask = state.alive & ~state.heads
    np.testing.assert_array_equal(np.asarray(artists[ALIVE].get_array()), state.energy[mask])
    # links: every sending member's segment ends at its nearest head (or the sink), as recomputed from the
    # heads and the nodes alive at the start of the round
    target, _ = assign_receivers(net.x, net.y, before.alive, state.heads, state.sink, scenario.join)
    np.testing.assert_array_equal(state.receivers, target)
    members = [(i, t) for i, t in enumerate(target) if t >= 0 and t != i]
    segments = {tuple(np.round(np.ravel(s), 9)) for s in artists[LINKS].get_segments()}
    assert segments == {tuple(np.round([net.x[i], net.y[i], net.x[t], net.y[t]], 9)) for i, t in members}
    direct = [i for i, t in enumerate(target) if t == -1]
    assert len(artists[SINK_LINKS].get_segments()) == len(direct)
    assert _points(artists[SINK]) == {(30.0, 55.0)}
    plt.close(fig)


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_map_command_writes_png_and_the_same_replica(tmp_path, states):
    scenario, seed, rounds, r, _ = states
    out = tmp_path / "map.png"
    args = ["map", *sum(([f"--{k}", str(v)] for k, v in SCENARIO.items()), []), "--seed", "11", "--replica", "2"]
    result = CliRunner().invoke(cli.main, [*args, "--round", str(r), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"seed {seed}" in result.stdout
    gif = tmp_path / "anim.gif"
    result = CliRunner().invoke(cli.main, [*args, "--animate", f"{r - 4}:{r}", "--out", str(gif)])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.parametrize("args, message", [
    ([], "--round: give either --round R or --animate FROM:TO"),
    (["--round", "3", "--animate", "1:2"], "--round: give either"),
    (["--animate", "5:2"], "--animate: must be FROM:TO with 1 <= FROM <= TO"),
    (["--animate", "1:3", "--out", "x.png"], "--out: must be a .gif file"),
    (["--round", "2", "--out", "x.gif"], "--out: must be a .png, .pdf or .svg file"),
    (["--round", "0"], "--round"),
    (["--round", "5000", "--nodes", "5", "--e0", "0.001"], "--round: the last node of this replica died in round"),
])
def test_map_bad_input_is_one_line_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["map", "--seed", "1", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# preset classic: with these seeds no cluster head dies in the drawn rounds, so every drawn head is alive
# at the end of its round (a head that dies during the round is drawn both as head and as dead)
MAP_STUDY = """
title = "map study"
seed = 4
seeds = 2
[base]
preset = "classic"
nodes = 15
e0 = 0.01
[grid]
protocol = ["direct", "leach"]
[[figures]]
name = "map"
kind = "map"
round = 20
[[figures]]
name = "late"
kind = "map"
round = 100000
"""


def test_map_figure_kind_draws_each_grid_point_at_the_round(tmp_path):
    import matplotlib.pyplot as plt

    from wsnmec.study.figures import draw_study
    from wsnmec.study.report import reading
    from wsnmec.study.runner import run_study
    from wsnmec.study.spec import load_study

    path = tmp_path / "maps.toml"
    path.write_text(MAP_STUDY, encoding="utf-8")
    run = run_study(load_study(path), tmp_path / "results", jobs=1)
    drawn = draw_study(run, tmp_path / "figs", keep_open=True)
    rounds = run.rounds[run.rounds.seed_index == 0]
    for (figure, paths, fig), wanted in zip(drawn, (20, 100000)):
        assert paths[0].is_file()
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.collections]
        assert len(panels) == 2
        for ax, protocol in zip(panels, ["direct", "leach"]):
            table = rounds[rounds.protocol == protocol].set_index("round")
            shown = min(wanted, int(table.index.max()))
            artists = _artists(ax)
            row = table.loc[shown]
            assert len(_points(artists[ALIVE])) + len(_points(artists[HEADS])) == row.alive
            assert len(_points(artists[HEADS])) == row.cluster_heads
            assert ax.get_title().startswith(f"protocol {protocol}: round {shown}")
        assert "wsnmec map --round" in reading(figure, run)
        plt.close(fig)


def test_map_figure_spec_needs_a_round(tmp_path):
    from wsnmec.errors import ParameterError
    from wsnmec.study.spec import load_study

    path = tmp_path / "bad.toml"
    path.write_text(MAP_STUDY.replace("round = 20\n", ""), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"figures\[0\]\.round"):
        load_study(path)
    path.write_text(MAP_STUDY.replace('kind = "map"\nround = 20', 'kind = "map"\nround = 20\ny = "alive"'), encoding="utf-8")
    with pytest.raises(ParameterError, match="not used by a map figure"):
        load_study(path)


def test_map_shows_a_progress_bar_on_a_terminal_only(monkeypatch, tmp_path):
    args = ["map", "--nodes", "10", "--seed", "1", "--round", "30", "--out", str(tmp_path / "m.png")]
    monkeypatch.setattr(console, "kernels_cached", lambda *kernels: True)  # no compile notice on a cold cache
    assert CliRunner().invoke(cli.main, args).stderr == ""
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert "round" in result.stderr


def test_a_round_past_the_rounds_cap_is_refused_before_simulating(monkeypatch):
    # issue 21 (lesser): without --rounds the refusal named "the run's --rounds (100000)", an option never given,
    # and came after simulating 100,000 rounds (18 s)
    from wsnmec.sim import rounds as rounds_module

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated before refusing")

    monkeypatch.setattr(rounds_module.RoundLoop, "step", no_simulation)
    for extra, cap, wording in (([], 100_000, "100000, the rounds a run simulates at most without --rounds"),
                                (["--rounds", "5"], 5, "the run's --rounds (5)")):
        result = CliRunner().invoke(cli.main, ["map", "--nodes", "5", "--harvest", "constant:0.01", "--seed", "1",
                                               "--round", str(cap + 1), *extra])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0] == f"Error: --round: must be at most {wording}; got {cap + 1}", lines
    with pytest.raises(AssertionError, match="simulated"):  # (the check is not just skipping the simulation)
        map_states(Scenario.from_mapping({"nodes": 5, "rounds": 5}), 1, [5])
