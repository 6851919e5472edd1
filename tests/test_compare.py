"""``wsnmec compare`` (click's CliRunner): several protocols on the same replicas, means with 95 % Student-t
intervals, paired differences to the first protocol, ``--json`` and ``--out``; one-line ``--protocols``
errors; plug-in policies. Scenarios are tiny (20 nodes dying within about 100 rounds, 3 replicas)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from plugin_examples import install_examples
from scipy import stats

from wsnmec import cli
from wsnmec.study.compare import METRICS, alive_curves

# e0 drawn per node: a replica's initial energy identifies its deployment
DYING = ["--nodes", "20", "--e0", "0.01..0.03", "--rounds", "400", "--seed", "7"]


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args))


def compare_json(*args) -> dict:
    result = invoke("compare", *args, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def run_json(*args) -> dict:
    result = invoke("run", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def three():
    """leach, leach-c and direct, 3 paired replicas."""
    result = CliRunner().invoke(cli.main, ["compare", "--protocols", "leach,leach-c,direct", *DYING,
                                           "--replicas", "3", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_replicas_are_paired_same_seeds_and_deployments(three):
    seeds = three["runs"]["leach"]["replica_seeds"]
    assert len(seeds) == 3 and three["replica_seeds"] == seeds
    for name in ("leach-c", "direct"):
        assert three["runs"][name]["replica_seeds"] == seeds
        assert three["runs"][name]["seed"] == 7
        assert three["runs"][name]["protocol"] == name
    # the same deployment: every replica's drawn initial energy is the same under every protocol
    initial = {name: [r["energy"]["initial"] for r in run_json("--protocol", name, *DYING, "--replicas", "3")["replicas"]]
               for name in ("leach", "direct")}
    assert initial["leach"] == initial["direct"]
    assert len(set(initial["leach"])) == 3


def test_means_are_those_of_wsnmec_run_with_the_same_seed(three):
    for name in ("leach", "leach-c"):
        run = run_json("--protocol", name, *DYING, "--replicas", "3")
        table = three["protocols_table"][name]
        for metric in ("fnd", "hnd", "lnd"):
            assert table[metric]["values"] == [r[metric] for r in run["replicas"]]
        assert table["delivered_bits"]["values"] == [r["utility"]["delivered_bits"] for r in run["replicas"]]
        assert table["latency_s"]["values"] == [r["utility"]["latency_s"] for r in run["replicas"]]
        assert table["system_utility"]["values"] == [r["utility"]["system_utility"] for r in run["replicas"]]
        efficiency = [r["utility"]["delivered_bits"] / r["energy"]["consumed"] for r in run["replicas"]]
        assert table["energy_efficiency"]["values"] == pytest.approx(efficiency, rel=1e-12)


def test_intervals_are_student_t_95(three):
    for name in three["protocols"]:
        for metric in METRICS:
            entry = three["protocols_table"][name][metric]
            values = np.array([v for v in entry["values"] if v is not None], dtype=float)
            assert entry["n"] == values.size
            assert entry["mean"] == pytest.approx(values.mean())
            low, high = stats.t.interval(0.95, values.size - 1, loc=values.mean(), scale=stats.sem(values))
            if values.std() == 0:
                assert entry["low"] == entry["high"] == pytest.approx(values.mean())
            else:
                assert (entry["low"], entry["high"]) == pytest.approx((low, high), rel=1e-9)


def test_paired_differences_are_the_mean_of_per_replica_differences(three):
    reference = three["reference"]
    assert reference == "leach"
    for name in three["protocols"]:
        for metric in METRICS:
            mine = three["protocols_table"][name][metric]["values"]
            base = three["protocols_table"][reference][metric]["values"]
            differences = [a - b for a, b in zip(mine, base) if a is not None and b is not None]
            entry = three["paired_difference"][name][metric]
            assert entry["n"] == len(differences)
            assert entry["values"] == pytest.approx([a - b if a is not None and b is not None else None
                                                     for a, b in zip(mine, base)])
            assert entry["mean"] == pytest.approx(np.mean(differences))
            if name == reference:
                assert entry["mean"] == entry["low"] == entry["high"] == 0
            elif np.std(differences) > 0:
                low, high = stats.t.interval(0.95, len(differences) - 1, loc=np.mean(differences),
                                             scale=stats.sem(differences))
                assert (entry["low"], entry["high"]) == pytest.approx((low, high), rel=1e-9)
    # every lifetime metric reached in every replica here: the paired mean is the difference of the means
    table = three["protocols_table"]
    assert three["paired_difference"]["direct"]["fnd"]["mean"] == pytest.approx(
        table["direct"]["fnd"]["mean"] - table["leach"]["fnd"]["mean"])


def test_table_has_one_row_per_protocol_and_one_per_difference():
    result = invoke("compare", "--protocols", "leach,direct", *DYING, "--replicas", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("protocol"))
    for title in ("FND", "HND", "LND", "delivered [bit]", "efficiency [bit/J]", "latency [s]", "utility [J]"):
        assert title in header
    rows = lines[lines.index(header) + 1:]
    assert [row.split()[0] for row in rows] == ["leach", "direct", "direct"]
    assert rows[2].startswith("direct - leach")
    assert all("±" in row for row in rows)


def test_out_writes_json_markdown_and_alive_figure(tmp_path):
    out = tmp_path / "cmp"
    args = ["--protocols", "direct,leach", *DYING, "--replicas", "2", "--out", str(out)]
    printed = compare_json(*args)
    assert sorted(p.name for p in out.iterdir()) == ["alive.parquet", "alive.pdf", "alive.png", "compare.json",
                                                     "compare.md", "summary.parquet"]
    assert json.loads((out / "compare.json").read_text()) == printed
    assert (out / "alive.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "alive.pdf").read_bytes()[:5] == b"%PDF-"
    markdown = (out / "compare.md").read_text()
    assert "| direct |" in markdown and "| leach - direct |" in markdown


def test_lifetime_threshold_and_csv_tables_as_in_run(tmp_path):
    """`--lifetime-threshold PCT` compares the lifetime at PCT % dead (the value `wsnmec run` reports for the
    same seed; at 50 % it is HND) and `--format csv` writes the tables as CSV, as `wsnmec run` does."""
    import pandas as pd

    out = tmp_path / "cmp"
    report = compare_json("--protocols", "leach,direct", *DYING, "--replicas", "3", "--lifetime-threshold", "50",
                          "--format", "csv", "--out", str(out))
    assert report["lifetime_threshold"] == 50.0
    assert report["metrics"]["lifetime_threshold"]["unit"] == "round"
    for name in ("leach", "direct"):
        values = report["protocols_table"][name]["lifetime_threshold"]["values"]
        assert values == report["protocols_table"][name]["hnd"]["values"]  # 50 % dead is HND
        run = run_json("--protocol", name, *DYING, "--replicas", "3", "--lifetime-threshold", "50")
        assert values == [r["lifetime_threshold"]["round"] for r in run["replicas"]]
    differences = report["paired_difference"]["direct"]["lifetime_threshold"]["values"]
    assert differences == [d - r for d, r in zip(report["protocols_table"]["direct"]["lifetime_threshold"]["values"],
                                                   report["protocols_table"]["leach"]["lifetime_threshold"]["values"])]
    assert sorted(p.name for p in out.iterdir()) == ["alive.csv", "alive.pdf", "alive.png", "compare.json",
                                                     "compare.md", "summary.csv"]
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["protocol"]) == ["leach"] * 3 + ["direct"] * 3
    assert list(summary["lifetime_threshold_pct"].unique()) == [50.0]
    assert list(summary["lifetime_threshold_round"]) == (report["protocols_table"]["leach"]["lifetime_threshold"]["values"]
                                                         + report["protocols_table"]["direct"]["lifetime_threshold"]["values"])
    alive = pd.read_csv(out / "alive.csv")
    assert list(alive.columns) == ["round", "leach", "direct"] and alive["leach"].iloc[0] == 20
    assert "50 % dead" in (out / "compare.md").read_text()
    text = invoke("compare", "--protocols", "leach,direct", *DYING, "--replicas", "3", "--lifetime-threshold", "10")
    header = next(line for line in text.stdout.splitlines() if line.startswith("protocol "))
    assert text.exit_code == 0 and header.split()[-3:] == ["10", "%", "dead"]  # the table's last column


def test_tables_default_to_parquet_without_a_threshold(tmp_path):
    import pandas as pd

    out = tmp_path / "cmp"
    report = compare_json("--protocols", "direct", *DYING, "--replicas", "2", "--out", str(out))
    assert "lifetime_threshold" not in report and "lifetime_threshold" not in report["metrics"]
    summary = pd.read_parquet(out / "summary.parquet")
    assert "lifetime_threshold_round" not in summary.columns
    assert list(summary["fnd"]) == report["protocols_table"]["direct"]["fnd"]["values"]


@pytest.mark.parametrize("option, value", [
    ("--lifetime-threshold", "0"), ("--lifetime-threshold", "100.5"), ("--lifetime-threshold", "half"),
    ("--format", "xlsx"),
])
def test_bad_threshold_or_format_is_the_one_line_error_of_run(option, value, tmp_path):
    """The same validation as `wsnmec run` (one shared function): the same one line, exit code 2."""
    compared = invoke("compare", "--protocols", "leach", *DYING, "--replicas", "2", option, value,
                      "--out", str(tmp_path / "c"))
    ran = invoke("run", "--protocol", "leach", *DYING, option, value, "--out", str(tmp_path / "r"))
    assert compared.exit_code == ran.exit_code == 2
    assert compared.stdout == "" and "Traceback" not in compared.output
    assert compared.stderr == ran.stderr and compared.stderr.startswith(f"Error: {option}:")
    assert len(compared.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_alive_figure_draws_each_protocol_in_its_style(tmp_path):
    from wsnmec.study.compare import alive_figure
    from wsnmec.sim.scenario import Scenario
    from wsnmec.sim.simulation import simulate
    from wsnmec.study.styles import series_styles

    import matplotlib.colors
    import matplotlib.pyplot

    results = {name: simulate(Scenario(protocol=name, nodes=6, e0=0.02), seed=5, replicas=2)
               for name in ("ddnn", "direct", "leach")}
    fig = alive_figure(results)
    try:
        (ax,) = fig.axes
        lines = ax.get_lines()
        styles = series_styles(list(results))
        for name, line in zip(results, lines):
            assert matplotlib.colors.to_hex(line.get_color()) == styles[name].colour.lower()
            assert line.get_marker() == styles[name].marker
        for a, b in itertools.combinations(lines, 2):
            assert a.get_color() != b.get_color() and (a.get_marker() != b.get_marker()
                                                       or a.get_linestyle() != b.get_linestyle())
        fig.canvas.draw()
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            ticks = [t for t in axis.get_majorticklocs() if low <= t <= high]
            assert ticks and all(float(t).is_integer() for t in ticks)  # rounds and nodes
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(results)
    finally:
        matplotlib.pyplot.close(fig)


def test_alive_curve_is_the_mean_over_replicas_padded_with_the_last_count():
    from wsnmec.sim.scenario import Scenario
    from wsnmec.sim.simulation import simulate

    results = {name: simulate(Scenario(protocol=name, nodes=12, e0=0.02), seed=5, replicas=2)
               for name in ("direct", "leach")}
    curves = alive_curves(results)
    longest = max(int(r.rounds["round"].max()) for r in results.values())
    assert list(curves.index) == list(range(0, longest + 1))
    assert (curves.loc[0] == 12).all()
    for name, result in results.items():
        for round_number in (1, 10, longest):
            counts = []
            for _, group in result.rounds.groupby("replica"):
                upto = group[group["round"] <= round_number]
                counts.append(upto["alive"].iloc[-1])
            assert curves.loc[round_number, name] == pytest.approx(np.mean(counts))
    assert (curves.iloc[-1] == 0).all()  # run until every node is dead


@pytest.mark.parametrize("value, needle", [
    ("nosuch", "must be"),
    ("", "at least one protocol"),
    ("leach,", "empty item"),
    ("leach,leach", "the same policy"),
    ("leach-dchs,ileach", "the same policy"),
    ("leach,nosuchmodule_x:P", "cannot import"),
])
def test_bad_protocols_is_one_line_exit_2(value, needle):
    result = invoke("compare", "--protocols", value, *DYING, "--replicas", "2")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: --protocols:"), lines[0]
    assert needle in lines[0]
    assert "Traceback" not in result.output


def test_missing_protocols_and_bad_run_options_are_one_line_exit_2():
    result = invoke("compare", *DYING)
    assert result.exit_code == 2 and "--protocols" in result.stderr and "Traceback" not in result.output
    result = invoke("compare", "--protocols", "leach", "--nodes", "0")
    assert result.exit_code == 2 and result.stderr.startswith("Error: --nodes:")
    result = invoke("compare", "--protocols", "leach", "--replicas", "0")
    assert result.exit_code == 2 and result.stderr.startswith("Error: --replicas:")


def test_one_protocol_is_allowed_and_differs_from_itself_by_zero():
    report = compare_json("--protocols", "direct", *DYING, "--replicas", "2")
    assert report["protocols"] == ["direct"]
    assert report["paired_difference"]["direct"]["fnd"]["mean"] == 0


def test_plugin_policy_compares_like_a_builtin(monkeypatch):
    install_examples(monkeypatch)
    report = compare_json("--protocols", "leach,mypolicy:SpreadRichest", *DYING, "--replicas", "2")
    assert report["protocols"] == ["leach", "mypolicy:SpreadRichest"]
    run = report["runs"]["mypolicy:SpreadRichest"]
    assert run["protocol_spec"] == "mypolicy:SpreadRichest" and run["protocol_sha256"]
    assert run["replica_seeds"] == report["runs"]["leach"]["replica_seeds"]
    assert all(not math.isnan(v) for v in report["protocols_table"]["mypolicy:SpreadRichest"]["fnd"]["values"])


def test_compare_shares_the_options_of_run():
    names = {p.name for p in cli.compare.params}
    shared = {p.name for p in cli.run.params} - {"protocol", "out", "as_json", "replicas", *cli.RUN_OUTPUT_ONLY}
    assert shared <= names
    run_options = {p.name: p for p in cli.run.params}
    assert all(p is run_options[p.name] for p in cli.compare.params if p.name in shared)  # the same objects


def test_default_is_30_replicas():
    report = compare_json("--protocols", "direct", "--nodes", "5", "--rounds", "2", "--seed", "1")
    assert len(report["replica_seeds"]) == 30 == report["replicas"]
    assert len(report["protocols_table"]["direct"]["delivered_bits"]["values"]) == 30
