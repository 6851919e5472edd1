"""Partition studies (kind = "partition", issue 10): figures, claims table, cache, and the kind filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wsnmec.errors import ParameterError
from wsnmec.study.partition import load_partition_study, run_partition_study, study_kind
from wsnmec.study.spec import find_studies

ROOT = Path(__file__).resolve().parents[1]

TINY = """
kind = "partition"
title = "tiny"
seed = 3
seeds = 2
[scaling]
devices = [2, 3]
servers = 2
frames = 40
[claims]
devices = 2
servers = 2
frames = 40
[events]
devices = 2
servers = 2
frames = 60
event_at = 0.5
events = ["server-down:0", "bandwidth:0.5"]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny study run once: its file, figure and results directories, its section and its figures
    (stem -> matplotlib Figure, kept as they were saved)."""
    from wsnmec.study import figures

    tmp_path = tmp_path_factory.mktemp("tiny_partition")
    drawn = {}
    save = figures.save

    def keep(fig, out_dir, stem):
        drawn[stem] = fig
        return save(fig, out_dir, stem)

    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    out, results = tmp_path / "fig", tmp_path / "res"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "save", keep)
        section = run_partition_study(path, out, results, echo=lambda *_: None)
    return path, out, results, section, drawn


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_tiny_study_draws_figures_and_claims_table(tiny):
    path, out, results, section, _ = tiny
    for stem in ("tiny-scaling", "tiny-events", "tiny-utilization"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.pdf").is_file()
    assert "### Claims table" in section and "queueing batch-ps" in section
    primary = [line for line in section.splitlines() if line.startswith("| mean inference latency | jsq-neurosurgeon |")
               or line.startswith("| energy efficiency (inferences/J) | jsq-neurosurgeon |")]
    assert len(primary) == 2 and all("| indicative (2 seeds) |" in line for line in primary)
    assert "-60.0 %" in primary[0] and "+40.0 %" in primary[1]
    for base in ("all-local", "all-to-nearest", "neurosurgeon", "capacity-proportional", "optimal"):
        assert f"| {base} | mean inference latency |" in section  # secondary rows
    assert "Holm" in section and "reproduced |" not in section and "contradicted |" not in section
    assert "Accuracy loss of the transmitted features: int8: 0.3 pp (assumption" in section
    assert "| server-down:0 | ddlo |" in section and "| bandwidth:0.5 | jsq-neurosurgeon |" in section
    cached = sorted(p.name for p in (results / "tiny" / "tasks").iterdir())  # the study runner's task cache
    assert len([c for c in cached if c.endswith(".parquet")]) == 2 * 2 + 2 + 2  # scaling, claims, events
    assert run_partition_study(path, out, results, echo=lambda *_: None) == section  # from the cache
    assert sorted(p.name for p in (results / "tiny" / "tasks").iterdir()) == cached


@pytest.mark.slow  # (its study is drawn by the fixture of the test above: the full suite runs both)
def test_partition_figures_share_the_study_style(tiny):
    """The partition figures (issue 19) use the study figures' style (rc settings, policy colours, markers and
    dash patterns), whole-number device and frame ticks, every drawn policy (random included) in a legend
    right of the data, and a labelled marker at the event."""
    import matplotlib
    import matplotlib.colors

    from wsnmec.study.figures import STYLE_RC
    from wsnmec.study.styles import series_styles

    drawn = tiny[-1]
    assert sorted(drawn) == ["tiny-events", "tiny-scaling", "tiny-utilization"]
    scaling, events = drawn["tiny-scaling"], drawn["tiny-events"]
    frame_ticks = []
    for fig in drawn.values():
        fig.canvas.draw()
        for ax in fig.axes:  # the study style: its spine colour and grid (matplotlib's default has neither)
            assert ax.spines["left"].get_edgecolor() == matplotlib.colors.to_rgba(STYLE_RC["axes.edgecolor"])
            assert ax.xaxis.get_gridlines()[0].get_visible()
            low, high = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            assert ticks and all(float(t).is_integer() for t in ticks), ax.get_xlabel()  # devices, frames
            frame_ticks += ticks if ax.get_xlabel() == "frame" else []
    assert frame_ticks
    policies = [t.get_text() for t in scaling.axes[-1].get_legend().get_texts()]
    assert "random" in policies and len(policies) == len(set(policies)) >= 8
    styles = series_styles(policies)
    for ax in scaling.axes:
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == set(policies)  # every drawn series is in the legend
        for name, line in lines.items():
            assert matplotlib.colors.to_hex(line.get_color()).lower() == styles[name].colour.lower()
            assert line.get_marker() == styles[name].marker
    for fig in (scaling, events, drawn["tiny-utilization"]):
        ax = fig.axes[-1]
        assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # outside the data
    assert all("event" in [t.get_text() for t in ax.texts] for ax in events.axes)


def test_kind_filter_and_validation(tmp_path):
    assert study_kind(ROOT / "studies" / "partition.toml") == "partition"
    assert ROOT / "studies" / "partition.toml" not in find_studies(ROOT / "studies")
    assert find_studies(ROOT / "studies", kind="partition") == [ROOT / "studies" / "partition.toml"]
    quick = load_partition_study(ROOT / "studies" / "partition.toml", quick=True)
    full = load_partition_study(ROOT / "studies" / "partition.toml")
    assert quick["claims"]["frames"] < full["claims"]["frames"] and quick["seeds"] < full["seeds"]
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "partition"\n[claims]\nfrmaes = 3\n')
    with pytest.raises(ParameterError, match="claims.frmaes"):
        load_partition_study(bad)


def test_lifetime_parser_reads_kind(tmp_path):
    """The lifetime parser accepts kind = "lifetime" (the default), points partition files to their
    reader, and refuses unknown kinds; the lifetime studies stay listed by find_studies()."""
    from wsnmec.study.spec import load_study

    classic = (ROOT / "studies" / "classic.toml").read_text()
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('kind = "lifetime"\n' + classic)
    assert load_study(explicit).grid == load_study(ROOT / "studies" / "classic.toml").grid
    with pytest.raises(ParameterError, match=r"partition\.toml: kind") as info:
        load_study(ROOT / "studies" / "partition.toml")
    assert "wsnmec figures" in info.value.message
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('kind = "energy"\n' + classic)
    with pytest.raises(ParameterError, match="must be one of lifetime, offload, partition"):
        load_study(unknown)
    offload = tmp_path / "offload.toml"  # an offload study's keys differ: the lifetime keys are refused
    offload.write_text('kind = "offload"\n' + classic)
    with pytest.raises(ParameterError, match="is not a known key"):
        load_study(offload)
    listed = {p.name for p in find_studies(ROOT / "studies")}
    assert {"classic.toml", "scaling.toml", "ddnn_claims.toml"} <= listed and "partition.toml" not in listed


@pytest.mark.slow  # (a few seconds: the fast tier keeps under 3 minutes; the full suite runs it)
def test_study_run_and_study_figures_take_a_partition_file(tmp_path):
    """`wsnmec study run FILE` computes a partition study's experiments into the cache; `wsnmec study figures
    FILE` then draws its figures and writes its section (OUT/<name>.md) from that cache alone."""
    from click.testing import CliRunner

    from wsnmec import cli

    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    results, out = tmp_path / "res", tmp_path / "fig"
    ran = CliRunner().invoke(cli.main, ["study", "run", str(path), "--results", str(results)])
    assert ran.exit_code == 0, ran.output
    assert "partition experiments in" in ran.stdout and not out.exists()
    assert "tiny (full): 8 tasks, 0 from cache, 8 computed" in ran.stdout
    cached = sorted((results / "tiny" / "tasks").iterdir())
    assert len([c for c in cached if c.suffix == ".parquet"]) == 2 * 2 + 2 + 2
    drawn = CliRunner().invoke(cli.main, ["study", "figures", str(path), "--results", str(results), "--out", str(out)])
    assert drawn.exit_code == 0, drawn.output
    assert sorted((results / "tiny" / "tasks").iterdir()) == cached  # nothing recomputed
    for stem in ("tiny-scaling", "tiny-events", "tiny-utilization"):
        assert (out / f"{stem}.png").is_file() and (out / f"{stem}.pdf").is_file()
    assert "### Claims table" in (out / "tiny.md").read_text()


def _result(ddlo_latency, ddlo_energy, others):
    policies = {"ddlo": {"latency_s_mean": ddlo_latency, "energy_j_mean": ddlo_energy}}
    policies.update({name: {"latency_s_mean": lat, "energy_j_mean": en} for name, (lat, en) in others.items()})
    return {"policies": policies}


def test_partition_claims_verdicts_on_constructed_results():
    from wsnmec.study.claims import MIN_VERDICT_SEEDS
    from wsnmec.study.partition import claims_assessment

    rng = np.random.default_rng(0)
    n = MIN_VERDICT_SEEDS
    # ddlo at 0.3-0.32 of JSQ's latency (-69 %: reproduced), 10 % more energy (efficiency -9 %: contradicted)
    results = [_result(rng.uniform(0.30, 0.32), 1.1, {"jsq-neurosurgeon": (1.0, 1.0), "all-local": (0.35, 0.5),
                                                        "neurosurgeon": (1.0, 1.0)}) for _ in range(n)]
    table = claims_assessment(results, "jsq-neurosurgeon", quick=False)
    primary = table[table["role"] == "primary"].set_index("metric")
    assert set(primary["baseline"]) == {"jsq-neurosurgeon"}
    assert primary.loc["latency", "verdict"] == "reproduced" and primary.loc["latency", "high"] <= -0.6
    assert primary.loc["efficiency", "verdict"] == "contradicted"
    secondary = table[table["role"] == "secondary"]
    assert set(secondary["baseline"]) == {"all-local", "neurosurgeon"} and set(secondary["family"]) == {4}
    assert (secondary["level"] >= 0.95 - 1e-12).all() and secondary["level"].max() == pytest.approx(1 - 0.05 / 4)
    quick = claims_assessment(results, "jsq-neurosurgeon", quick=True)
    assert set(quick["verdict"]) == {f"indicative ({n} seeds)"}
    few = claims_assessment(results[:5], "jsq-neurosurgeon", quick=False)
    assert set(few["verdict"]) == {"indicative (5 seeds)"}


def test_shipped_partition_claims_are_planned():
    full = load_partition_study(ROOT / "studies" / "partition.toml")
    assert full["claims"]["seeds"] >= 20 and full["claims"]["primary"] == "jsq-neurosurgeon"
    assert all(full[name]["queueing"] == "batch-ps" for name in ("scaling", "claims", "events"))


@pytest.mark.parametrize("text, key", [('[claims]\nprimary = "jsq"\n', "claims.primary"),
                                       ('[claims]\nprimary = "ddlo"\n', "claims.primary"),
                                       ('[events]\nqueueing = "mm2"\n', "events.queueing")])
def test_partition_claims_keys_are_validated(tmp_path, text, key):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "partition"\n' + text)
    with pytest.raises(ParameterError, match=key):
        load_partition_study(bad)
