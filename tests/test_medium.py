"""The shared sink medium (``--medium shared``, ``--sink-channels``): the compiled schedule against the
pure-Python reference (tests/naive_medium.py, tests/naive.py), the ideal medium unchanged, energy independent of
the medium, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tiers import examples

from naive import NaiveNetwork, simulate_naive
from naive_medium import serve_jobs
from wsnmec import cli
from wsnmec.errors import ParameterError
from wsnmec.sim import Scenario, simulate
from wsnmec.sim import accounting
from wsnmec.sim.accounting import account_round, serve_sink_jobs
from wsnmec.sim.columns import ROUND_COLUMNS
from wsnmec.sim.rounds import RoundLoop
from wsnmec.sim.scenario import MAX_SINK_CHANNELS, MEDIUM_CHOICES

COMPARED = [c for c in ROUND_COLUMNS if c not in ("replica", "seed")]
PACKET_S = 4000 / 250e3  # l / R of the default packet and radio [s]

times = st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(200), deadline=None)
@given(jobs=st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0]) | times, times,
                               st.sampled_from([0.0]) | times), max_size=25),
       channels=st.integers(1, 6))
def test_scheduler_equals_the_reference(jobs, channels):
    """The compiled list scheduler gives the reference's completion of every job (ties in ready time, many
    equal ready times, more channels than jobs), bit for bit."""
    latency, completion = serve_sink_jobs([j[0] for j in jobs], [j[1] for j in jobs], [j[2] for j in jobs], channels)
    expected, expected_completion = serve_jobs([(a, s, t, index) for index, (a, s, t) in enumerate(jobs)], channels)
    assert latency == expected
    np.testing.assert_array_equal(completion, expected_completion)


def test_scheduler_by_hand():
    """Two channels, four jobs: FIFO by ready time, each on the channel that frees first."""
    latency, completion = serve_sink_jobs([0.0, 0.0, 0.5, 0.1], [2.0, 1.0, 1.0, 1.0], [0.0, 0.0, 3.0, 0.0], 2)
    # job 0 on channel A [0, 2]; job 1 on B [0, 1]; job 3 (ready 0.1) on B [1, 2]; job 2 (ready 0.5) on A or B
    # [2, 3], then 3 s of edge processing
    np.testing.assert_array_equal(completion, [2.0, 1.0, 6.0, 2.0])
    assert latency == 6.0
    assert serve_sink_jobs([], [])[0] == 0.0


@pytest.mark.parametrize("kwargs, name", [
    ({"ready": [0.0, -1.0], "service": [1.0, 1.0]}, "ready"),
    ({"ready": [0.0], "service": [np.nan]}, "service"),
    ({"ready": [0.0], "service": [1.0], "tail": [1.0, 2.0]}, "tail"),
    ({"ready": [0.0], "service": [1.0], "channels": 0}, "channels"),
    ({"ready": [0.0], "service": [1.0], "channels": 1.5}, "channels"),
])
def test_scheduler_rejects_bad_input(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        serve_sink_jobs(**kwargs)


def _round(seed, n, head_fraction, dead_fraction, poor_fraction, offload, channels, workload, sink, semantics):
    """One round through the public accounting and through the reference, same heads, energies and alive
    flags; returns (compiled RoundAccount, reference dict, compiled energies, reference energies)."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=n, medium="shared", sink_channels=channels, control_bits=0,
                                     offload=offload, workload=workload, sink=sink, semantics=semantics)
    ref = NaiveNetwork(scenario, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    alive = rng.random(n) >= dead_fraction
    mask = (rng.random(n) < head_fraction) & alive
    if offload == "exact" and 12 < mask.sum() <= accounting.EXACT_SHARED_MAX_HEADS:
        return None  # the reference's brute force takes seconds there (see the brute-force tests below)
    energy = np.where(rng.random(n) < poor_fraction, rng.random(n) * 4e-4, 0.5)  # poor nodes cannot pay
    energy[~alive] = 0.0
    ref.energy = [float(e) for e in energy]
    ref.alive = [bool(a) for a in alive]
    alive_u8 = alive.astype(np.uint8)
    out = account_round(ref.x, ref.y, energy, alive_u8, mask, ref.sink, scenario.radio_model(), 4000, semantics,
                        offload=offload, workload=workload, medium="shared", sink_channels=channels)
    acc = ref.account([int(i) for i in np.flatnonzero(mask)])
    return out, acc, energy, ref


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 60), head_fraction=st.sampled_from([0.0, 0.05, 0.15, 0.4]),
       dead_fraction=st.sampled_from([0.0, 0.3]), poor_fraction=st.sampled_from([0.0, 0.2, 1.0]),
       offload=st.sampled_from(["local", "edge", "greedy", "exact"]), channels=st.integers(1, 4),
       workload=st.sampled_from(["fusion", "dnn-inference"]), sink=st.sampled_from(["50,50", "50,175"]))
def test_shared_round_equals_the_reference(seed, n, head_fraction, dead_fraction, poor_fraction, offload, channels,
                                           workload, sink):
    """Random head sets, alive patterns, nodes that cannot pay, 1 to 4 channels and every offloading rule:
    the compiled round (decisions, energies, latency) equals the reference schedule bit for bit."""
    outcome = _round(seed, n, head_fraction, dead_fraction, poor_fraction, offload, channels, workload, sink, "clean")
    assume(outcome is not None)
    out, acc, energy, ref = outcome
    assert out.latency_s == acc["latency"]
    assert out.consumed == acc["consumed"] and out.delivered_bits == acc["delivered"]
    np.testing.assert_array_equal(energy, np.array(ref.energy))


@pytest.mark.parametrize("channels", [1, 3])
def test_shared_round_matlab_semantics_equals_the_reference(channels):
    out, acc, energy, ref = _round(3, 50, 0.1, 0.1, 0.3, "local", channels, "fusion", "50,175", "matlab")
    assert out.latency_s == acc["latency"] > 0.0
    np.testing.assert_array_equal(energy, np.array(ref.energy))


@pytest.mark.parametrize("offload", ["local", "edge", "greedy", "exact"])
@pytest.mark.parametrize("extra", [
    {"protocol": "leach", "sink_channels": 1},
    {"protocol": "leach", "sink_channels": 3, "workload": "dnn-inference", "sink": "50,175"},
    {"protocol": "direct", "sink_channels": 2},
    {"protocol": "leach-dchs", "sink_channels": 1, "join": "cluster", "control_bits": 200, "e0": "0.02..0.06"},
])
def test_shared_medium_simulation_equals_the_reference(offload, extra):
    """Whole runs (until every node is dead: nodes that cannot pay, dying heads) under the shared medium equal
    the pure-Python reference bit for bit, every per-round column."""
    scenario = Scenario.from_mapping({"nodes": 30, "e0": 0.03, "p": 0.15, "offload": offload, "medium": "shared",
                                     **extra})
    result = simulate(scenario, seed=5)
    records, lifetimes = simulate_naive(scenario, 5)
    assert len(result.rounds) == len(records)
    for column in COMPARED:
        np.testing.assert_array_equal(result.rounds[column].to_numpy(), np.array([r[column] for r in records]),
                                      err_msg=column)


@pytest.mark.parametrize("protocol", ["direct", "leach"])
@pytest.mark.parametrize("offload", ["local", "exact"])
def test_policy_loop_equals_fused_loop_under_the_shared_medium(protocol, offload):
    scenario = Scenario.from_mapping(protocol=protocol, nodes=50, e0=0.05, rounds=300, medium="shared",
                                     sink_channels=2, offload=offload, workload="dnn-inference")
    fused = simulate(scenario, seed=3, loop="fused")
    policy = simulate(scenario, seed=3, loop="policy")
    for column in fused.rounds.columns:
        np.testing.assert_array_equal(fused.rounds[column].to_numpy(), policy.rounds[column].to_numpy(),
                                      err_msg=column)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 9), seed=st.integers(0, 2**31), channels=st.integers(1, 3),
       time_weight=st.sampled_from([0.01, 1.0, 30.0]), sink=st.sampled_from(["50,50", "50,175"]))
def test_exact_rule_under_the_shared_medium_is_the_brute_force_optimum(n, seed, channels, time_weight, sink):
    """``exact`` reaches the minimum, over all 2^n decisions of the heads each applied by the accounting, of
    the round's system utility under the shared medium, and decides as the reference's brute force."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=40, rounds=1, workload="dnn-inference",
                                     time_weight=time_weight, sink=sink, offload="exact", medium="shared",
                                     sink_channels=channels)
    rng = np.random.default_rng(seed)
    loop = RoundLoop(scenario, seed)
    heads = sorted(int(i) for i in rng.choice(loop.n, size=n, replace=False))
    mask = np.zeros(loop.n, dtype=bool)
    mask[heads] = True
    compiled = loop.score(mask[None, :], rule="exact")
    combos = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)
    decisions = np.zeros((len(combos), loop.n), dtype=np.uint8)
    decisions[:, heads] = combos
    every = loop.score(np.repeat(mask[None, :], len(combos), axis=0), decisions)
    assert compiled.system_utility[0] == every.system_utility.min()
    ref = NaiveNetwork(scenario, np.random.default_rng(seed))
    receivers = {i: ref.receiver(i, heads) for i in range(ref.n) if i not in heads}
    choice = ref.decide(heads, receivers)
    index = int("".join("1" if choice[c] else "0" for c in heads), 2)
    assert every.system_utility[index] == every.system_utility.min()


@pytest.mark.parametrize("n, seed, time_weight, channels, sink", [
    (13, 1, 0.3, 1, "50,175"), (14, 2, 0.03, 1, "50,50"), (15, 3, 3.0, 2, "50,175"), (16, 4, 0.01, 1, "50,50"),
    (16, 5, 1.0, 3, "50,175"),
])
def test_exact_rule_with_many_heads_is_the_brute_force_optimum(n, seed, time_weight, channels, sink):
    """Up to EXACT_SHARED_MAX_HEADS heads the branch and bound reaches the minimum over all 2^n decisions,
    each applied by the accounting (the first such decision in product order, as scoring them all would)."""
    assert n <= accounting.EXACT_SHARED_MAX_HEADS
    scenario = Scenario.from_mapping(protocol="leach", nodes=60, rounds=1, workload="dnn-inference",
                                     time_weight=time_weight, sink=sink, offload="exact", medium="shared",
                                     sink_channels=channels)
    loop = RoundLoop(scenario, seed)
    heads = sorted(int(i) for i in np.random.default_rng(seed).choice(loop.n, size=n, replace=False))
    mask = np.zeros(loop.n, dtype=bool)
    mask[heads] = True
    combos = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)
    decisions = np.zeros((len(combos), loop.n), dtype=np.uint8)
    decisions[:, heads] = combos
    every = loop.score(np.repeat(mask[None, :], len(combos), axis=0), decisions)
    compiled = loop.score(mask[None, :], rule="exact")
    assert compiled.system_utility[0] == every.system_utility.min()
    out = account_round(loop.x, loop.y, loop.energy.copy(), loop.alive.copy(), mask, loop.state.sink,
                        scenario.radio_model(), 4000, offload="exact", workload="dnn-inference",
                        time_weight=time_weight, medium="shared", sink_channels=channels)
    first = int(np.argmin(every.system_utility))  # argmin: the first minimum
    np.testing.assert_array_equal(out.decision[heads], combos[first])


def test_rounds_that_exact_decides_greedily_are_counted():
    """The ``offload_fallback`` column is 1 exactly in the rounds with more heads than the exact rule's limit
    (shared medium), the summary and ``--json`` count them, and the other rules never fall back."""
    from wsnmec.sim.report import replica_records, summary_text

    values = dict(protocol="leach", nodes=60, rounds=120, p=0.25, workload="dnn-inference", medium="shared")
    result = simulate(Scenario.from_mapping(offload="exact", **values), seed=4, replicas=2)
    rounds = result.rounds
    assert accounting.exact_max_heads("shared") == accounting.EXACT_SHARED_MAX_HEADS
    assert accounting.exact_max_heads("ideal") == accounting.EXACT_MAX_HEADS
    over = (rounds["cluster_heads"] > accounting.exact_max_heads("shared")).astype(int)
    assert 0 < over.sum() < len(rounds)  # the seed gives rounds on both sides of the limit
    assert (rounds["offload_fallback"] == over).all()
    per_replica = rounds.groupby("replica")["offload_fallback"].sum().to_list()
    assert result.summary["offload_fallback_rounds"].to_list() == per_replica
    assert [r["offload_fallback_rounds"] for r in replica_records(result)] == per_replica
    assert (f"decided {sum(per_replica)} of {len(rounds)} rounds greedily: they had more than "
            f"{accounting.EXACT_SHARED_MAX_HEADS} heads") in summary_text(result)
    greedy = simulate(Scenario.from_mapping(offload="greedy", **values), seed=4, replicas=2)
    assert (greedy.rounds["offload_fallback"] == 0).all()
    assert "greedily" not in summary_text(greedy)


def test_exact_falls_back_to_greedy_above_its_head_limit():
    """Above EXACT_SHARED_MAX_HEADS heads under the shared medium the exact rule decides as greedy."""
    limit = accounting.EXACT_SHARED_MAX_HEADS
    scenario = Scenario.from_mapping(protocol="leach", nodes=80, rounds=1, workload="dnn-inference",
                                     offload="exact", medium="shared")
    loop = RoundLoop(scenario, 2)
    masks = np.zeros((2, loop.n), dtype=bool)
    masks[0, : limit + 1] = True
    masks[1, :limit] = True
    exact = loop.score(masks, rule="exact")
    greedy = loop.score(masks, rule="greedy")
    assert exact.system_utility[0] == greedy.system_utility[0]
    assert exact.system_utility[1] <= greedy.system_utility[1]


def test_direct_with_1000_nodes_and_one_channel_takes_1000_packet_times():
    """1,000 direct senders through one channel need at least 1000 l / R per round (each packet waits for
    the previous one); the ideal medium keeps the old l / R."""
    shared = simulate(Scenario(protocol="direct", nodes=1000, rounds=2, medium="shared"), seed=1)
    ideal = simulate(Scenario(protocol="direct", nodes=1000, rounds=2, medium="ideal"), seed=1)
    latency = shared.rounds["latency_s"].to_numpy()
    # 1000 additions of l / R: the sum may differ from the product by a few ulps
    assert np.all(latency >= 1000 * PACKET_S * (1 - 1e-12))
    np.testing.assert_array_equal(ideal.rounds["latency_s"].to_numpy(), [PACKET_S, PACKET_S])
    four = simulate(Scenario(protocol="direct", nodes=1000, rounds=1, medium="shared", sink_channels=4), seed=1)
    assert four.rounds["latency_s"].iloc[0] == pytest.approx(250 * PACKET_S, rel=1e-12)


def test_cli_json_direct_1000_nodes_latency_is_at_least_1000_packets():
    result = CliRunner().invoke(cli.main, ["run", "--protocol", "direct", "--nodes", "1000", "--rounds", "1",
                                           "--seed", "1", "--medium", "shared", "--sink-channels", "1", "--json"])
    assert result.exit_code == 0, result.output
    import json

    payload = json.loads(result.stdout)
    assert payload["config"]["medium"] == "shared" and payload["config"]["sink_channels"] == 1
    assert payload["utility"]["latency_s"] >= 1000 * PACKET_S * (1 - 1e-12)


@pytest.mark.parametrize("values", [
    {"protocol": "leach", "offload": "local"},
    {"protocol": "leach", "offload": "edge", "workload": "dnn-inference"},
    {"protocol": "leach-c", "offload": "greedy", "sink": "50,175", "control_bits": 200},
    {"protocol": "direct"},
    {"protocol": "leach", "semantics": "matlab"},
])
def test_energy_does_not_depend_on_the_medium(values):
    """With decisions that do not look at the latency (local, edge, greedy's per-head rule), the same seed
    gives the same energies, deaths and deliveries under both media; only latency and utility change."""
    scenario = Scenario.from_mapping({"nodes": 40, "e0": 0.05, "rounds": 400, **values})
    ideal = simulate(scenario, seed=9)
    shared = simulate(scenario.replace(medium="shared", sink_channels=2), seed=9)
    for column in COMPARED:
        if column in ("latency_s", "system_utility"):
            continue
        np.testing.assert_array_equal(ideal.rounds[column].to_numpy(), shared.rounds[column].to_numpy(),
                                      err_msg=column)
    assert (shared.rounds["latency_s"] >= ideal.rounds["latency_s"]).any()


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 60), head_fraction=st.sampled_from([0.05, 0.15, 0.4]),
       offload=st.sampled_from(["local", "edge", "greedy"]), workload=st.sampled_from(["fusion", "dnn-inference"]))
def test_shared_with_a_channel_per_transmission_is_the_ideal_latency(seed, n, head_fraction, offload, workload):
    """When every node can pay and the sink has a channel per transmission, each delivery completes at its
    ideal-medium time, operation for operation: the two latencies are equal."""
    scenario = Scenario.from_mapping(protocol="leach", nodes=n, offload=offload, workload=workload)
    ref = NaiveNetwork(scenario, np.random.default_rng(seed))
    mask = np.random.default_rng(seed + 1).random(n) < head_fraction
    latency = {}
    for medium in MEDIUM_CHOICES:
        energy = np.full(n, 0.5)
        alive = np.ones(n, dtype=np.uint8)
        latency[medium] = account_round(ref.x, ref.y, energy, alive, mask, ref.sink, scenario.radio_model(), 4000,
                                        offload=offload, workload=workload, medium=medium,
                                        sink_channels=n).latency_s
    assert latency["shared"] == latency["ideal"]


def test_shared_is_the_default_and_classic_keeps_the_old_formula():
    """The default medium is shared with one channel; the classic preset's ideal medium keeps the old
    latency, the max over transmitters of l / R and the heads' T (the reference's old formula, tested bit for
    bit with every other column in test_kernel/test_rounds)."""
    assert Scenario().medium == "shared" and Scenario().sink_channels == 1
    assert Scenario.from_mapping(preset="classic").medium == "ideal"
    scenario = Scenario.from_mapping(nodes=40, e0=0.05, rounds=200, offload="edge", workload="dnn-inference",
                                     preset="classic")
    result = simulate(scenario, seed=4)
    records, _ = simulate_naive(scenario, 4)
    np.testing.assert_array_equal(result.rounds["latency_s"].to_numpy(), [r["latency_s"] for r in records])


def test_medium_names_agree():
    assert tuple(accounting.MEDIUMS) == MEDIUM_CHOICES
    assert accounting.MAX_SINK_CHANNELS == MAX_SINK_CHANNELS


BAD = {
    "medium unknown": (["--medium", "wired"], "--medium"),
    "medium empty": (["--medium", ""], "--medium"),
    "channels zero": (["--sink-channels", "0"], "--sink-channels"),
    "channels negative": (["--sink-channels", "-2"], "--sink-channels"),
    "channels fraction": (["--sink-channels", "1.5"], "--sink-channels"),
    "channels text": (["--sink-channels", "many"], "--sink-channels"),
    "channels huge": (["--sink-channels", str(10**12)], "--sink-channels"),
}


@pytest.mark.parametrize("args, option", BAD.values(), ids=BAD.keys())
def test_bad_medium_options_are_one_line_exit_2(args, option):
    result = CliRunner().invoke(cli.main, ["run", "--nodes", "5", "--rounds", "2", "--seed", "1", *args])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and option in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("values, option", [({"medium": "wired"}, "--medium"), ({"sink_channels": 0}, "--sink-channels"),
                                            ({"sink_channels": True}, "--sink-channels")])
def test_bad_medium_values_in_a_mapping_name_the_option(values, option):
    with pytest.raises(ParameterError, match=option):
        Scenario.from_mapping(values)
