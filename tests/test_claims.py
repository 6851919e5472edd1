"""The claims table: the primary verdict rule, Holm's adjustment, quick-mode wording, the study-file primary
comparison, the figure and its Markdown reading."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from wsnmec.errors import ParameterError
from wsnmec.study import claims as C
from wsnmec.study.claims import claims_table, markdown
from wsnmec.study.figures import draw_study
from wsnmec.study.report import reading
from wsnmec.study.runner import run_study
from wsnmec.study.spec import load_study

STUDY = """
title = "claims test"
seed = 3
seeds = 4
[base]
nodes = 20
e0 = 0.02
rounds = 300
workload = "dnn-inference"
offload = "exact"
[grid]
protocol = ["leach-dchs", "leach", "direct"]
sink = [[50, 50], [50, 175]]
[quick]
seeds = 2
[[figures]]
name = "claims"
kind = "claims"
hue = "protocol"
reference = "leach-dchs"
title = "LEACH-DCHS against the others (test)"
[figures.primary]
against = "leach"
sink = [50, 175]
workload = "dnn-inference"
"""


def synthetic(proposed_latency, baseline_latency, proposed_eff, baseline_eff, baselines=("old",)):
    rows = []
    for i, (pl, bl, pe, be) in enumerate(zip(proposed_latency, baseline_latency, proposed_eff, baseline_eff)):
        rows.append({"protocol": "new", "seed_index": i, "latency_s_mean": pl, "delivered_bits_total": pe,
                     "energy_consumed_j": 1.0})
        for name in baselines:
            rows.append({"protocol": name, "seed_index": i, "latency_s_mean": bl, "delivered_bits_total": be,
                         "energy_consumed_j": 1.0})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the verdict rule
@pytest.mark.parametrize("low, high, claim, direction, want", [
    (-0.9, -0.7, -0.60, -1, "reproduced"),      # latency: whole interval below -60 %
    (-0.9, -0.60, -0.60, -1, "reproduced"),     # boundary: the upper end exactly at the claim
    (-0.9, -0.5999, -0.60, -1, "not shown"),    # just short of the claim
    (-0.9, 0.1, -0.60, -1, "not shown"),        # crosses zero
    (0.0, 0.3, -0.60, -1, "not shown"),         # boundary: touches zero, not wholly on the wrong side
    (0.01, 0.3, -0.60, -1, "contradicted"),     # latency wholly worse
    (0.40, 0.9, 0.40, 1, "reproduced"),         # efficiency: boundary, the lower end at the claim
    (0.39, 0.9, 0.40, 1, "not shown"),
    (-0.3, -0.01, 0.40, 1, "contradicted"),     # efficiency wholly worse
    (-0.3, 0.0, 0.40, 1, "not shown"),          # boundary at zero
    (np.nan, 0.5, 0.40, 1, "not shown"),
])
def test_verdict_rule(low, high, claim, direction, want):
    assert C.verdict(low, high, claim, direction) == want
    assert want in C.VERDICTS


def _primary_rows(summary, **kwargs):
    table = claims_table(summary, "protocol", "new", primary={"against": "old"}, **kwargs)
    return {row["metric"]: row for row in table[table["role"] == "primary"].to_dict("records")}


def test_three_outcomes_on_constructed_data():
    n = C.MIN_VERDICT_SEEDS
    rng = np.random.default_rng(1)
    # latency -70 % +- a little (reproduced), efficiency -20 % +- a little (contradicted)
    rows = _primary_rows(synthetic(rng.uniform(0.29, 0.31, n), [1.0] * n, rng.uniform(0.79, 0.81, n), [1.0] * n))
    assert rows["latency"]["verdict"] == "reproduced" and rows["latency"]["high"] <= -0.6
    assert rows["efficiency"]["verdict"] == "contradicted" and rows["efficiency"]["high"] < 0
    assert rows["latency"]["level"] == pytest.approx(0.95)
    # a noisy improvement whose interval crosses the claim: not shown
    rows = _primary_rows(synthetic(rng.uniform(0.0, 0.8, n), [1.0] * n, rng.uniform(1.0, 2.0, n), [1.0] * n))
    lat = rows["latency"]
    assert lat["low"] < lat["change"] < lat["high"] and lat["low"] < -0.6 < lat["high"]
    assert lat["verdict"] == "not shown"
    # exact numbers: latency halves, efficiency +50 % (every seed the same, the interval is a point)
    rows = _primary_rows(synthetic([1.0] * n, [2.0] * n, [3.0] * n, [2.0] * n))
    assert rows["latency"]["change"] == pytest.approx(-0.5) and rows["latency"]["low"] == pytest.approx(-0.5)
    assert rows["latency"]["verdict"] == "not shown"  # -50 % is not the claimed -60 %
    assert rows["efficiency"]["verdict"] == "reproduced"


def test_quick_and_small_runs_print_indicative():
    n = C.MIN_VERDICT_SEEDS
    summary = synthetic([1.0] * n, [4.0] * n, [3.0] * n, [2.0] * n, baselines=("old", "older"))
    quick = claims_table(summary, "protocol", "new", primary={"against": "old"}, quick=True, seeds=3)
    assert set(quick["verdict"]) == {"indicative (3 seeds)"}
    few = claims_table(summary.query("seed_index < 5"), "protocol", "new", primary={"against": "old"})
    assert set(few["verdict"]) == {"indicative (5 seeds)"}
    full = claims_table(summary, "protocol", "new", primary={"against": "old"})
    assert set(full["verdict"]) <= {*C.VERDICTS, "differs from 0", "no difference shown"}
    text = markdown(quick, [])
    assert "indicative (3 seeds)" in text and "reproduced" not in text and "contradicted" not in text


# ------------------------------------------------------------------ Holm
def test_holm_against_a_hand_computation():
    # m = 4; sorted p: 0.01 (pos 2), 0.02 (pos 0), 0.03 (pos 3), 0.04 (pos 1)
    rank, level, adjusted = C.holm([0.02, 0.04, 0.01, 0.03], alpha=0.05)
    assert list(rank) == [2, 4, 1, 3]
    # levels 1 - 0.05 / (m - i + 1): rank 1 -> 1 - 0.05/4, rank 2 -> 1 - 0.05/3, rank 3 -> 0.975, rank 4 -> 0.95
    np.testing.assert_allclose(level, [1 - 0.05 / 3, 0.95, 1 - 0.05 / 4, 0.975])
    # adjusted: rank 1: 4 x 0.01 = 0.04; rank 2: max(0.04, 3 x 0.02 = 0.06) = 0.06; rank 3: max(0.06, 2 x 0.03)
    # = 0.06; rank 4: max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(adjusted, [0.06, 0.06, 0.04, 0.06])
    # the step-down stop: rank 2 is not rejected at 5 %, so rank 4 (p = 0.04 < 0.05) is not either
    assert adjusted[1] > 0.05
    # ties keep input order; nan is left out of the family; adjusted p is capped at 1
    rank, level, adjusted = C.holm([0.5, np.nan, 0.5])
    assert list(rank) == [1, 0, 2] and np.isnan(level[1]) and np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [1.0, 1.0])
    np.testing.assert_allclose(level[[0, 2]], [0.975, 0.95])


def test_bootstrap_p_value_and_interval():
    reps = np.linspace(-1.0, 9.0, 1001)  # 101 of 1001 replicates <= 0 (incl. 0.0), 901 >= 0
    assert C.bootstrap_p_value(reps) == pytest.approx(2 * 102 / 1002)
    assert C.bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)
    low, high = C.percentile_interval(reps, 0.9)
    assert low == pytest.approx(-0.5) and high == pytest.approx(8.5)


def test_secondary_table_is_holm_adjusted():
    n = C.MIN_VERDICT_SEEDS
    rng = np.random.default_rng(4)
    rows = []
    for i in range(n):
        rows.append({"protocol": "new", "seed_index": i, "latency_s_mean": 1.0, "delivered_bits_total": 1.0,
                     "energy_consumed_j": 1.0})
        for name, shift in (("a", 0.5), ("b", 0.02), ("c", 0.0)):
            rows.append({"protocol": name, "seed_index": i, "latency_s_mean": 1.0 + shift + rng.normal(0, 0.05),
                         "delivered_bits_total": 1.0 + rng.normal(0, 0.05), "energy_consumed_j": 1.0})
    table = claims_table(pd.DataFrame(rows), "protocol", "new", primary={"against": "a"})
    assert list(table["role"]).count("primary") == 2
    sec = table[table["role"] == "secondary"]
    assert len(sec) == 4 and set(sec["family"]) == {4}
    rank, level, adjusted = C.holm(sec["p_value"].to_numpy())
    np.testing.assert_allclose(sec["level"], level)
    np.testing.assert_allclose(sec["p_holm"], adjusted)
    # the Holm interval of each row is the percentile interval of its replicates at its level, so it is
    # at least as wide as the unadjusted 95 % one
    for row in sec.to_dict("records"):
        summary = pd.DataFrame(rows)
        mine = summary[summary.protocol == "new"].set_index("seed_index")
        theirs = summary[summary.protocol == row["baseline"]].set_index("seed_index")
        col = {"latency": "latency_s_mean", "efficiency": "delivered_bits_total"}[row["metric"]]
        _, reps = C.paired_change(mine[col].to_numpy(), theirs[col].to_numpy())
        assert (row["low"], row["high"]) == pytest.approx(C.percentile_interval(reps, row["level"]))
        low95, high95 = C.percentile_interval(reps, 0.95)
        assert row["low"] <= low95 and row["high"] >= high95
        assert row["verdict"] == ("differs from 0" if row["p_holm"] <= 0.05 else "no difference shown")
    text = markdown(table, [])
    assert "Primary comparison" in text and "m = 4" in text and text.count("| a |") == 2  # a only in the primary rows


# ------------------------------------------------------------------ the study file
def _study(tmp_path, primary: str):
    path = tmp_path / "claimstest.toml"
    path.write_text(STUDY.split("[figures.primary]")[0] + primary, encoding="utf-8")
    return path


@pytest.mark.parametrize("primary, key", [
    ("", "figures[0].primary"),
    ('[figures.primary]\nagainst = "leach-dchs"\nsink = [50, 175]\n', "primary.against"),
    ('[figures.primary]\nagainst = "leach"\n', "primary.sink"),
    ('[figures.primary]\nagainst = "leach"\nsink = [50, 100]\n', "primary.sink"),
    ('[figures.primary]\nagainst = "leach"\nsink = [50, 175]\ncontrol_bits = 100\n', "primary.control_bits"),
    ('[figures.primary]\nagainst = "leach"\nsink = [50, 175]\nmedum = "shared"\n', "primary.medum"),
])
def test_primary_comparison_is_validated(tmp_path, primary, key):
    with pytest.raises(ParameterError, match=key.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        load_study(_study(tmp_path, primary))


def test_shipped_claims_study_fixes_its_primary():
    from pathlib import Path

    spec = load_study(Path(__file__).resolve().parents[1] / "studies" / "ddnn_claims.toml")
    (figure,) = [f for f in spec.figures if f.kind == "claims"]
    primary = dict(figure.primary)
    assert primary["against"] in spec.grid["protocol"] and primary["sink"] == (50, 175)
    assert primary["workload"] == "dnn-inference" and primary["control_bits"] == 200
    assert spec.seeds >= C.MIN_VERDICT_SEEDS


def test_claims_figure_and_reading_from_a_study(tmp_path):
    path = tmp_path / "claimstest.toml"
    path.write_text(STUDY, encoding="utf-8")
    run = run_study(load_study(path), tmp_path / "results", jobs=1)
    ((figure, (png, pdf), fig),) = draw_study(run, tmp_path / "out", keep_open=True)
    assert png.exists() and pdf.exists()
    assert len(fig.axes) == 4  # two sink positions x (latency, efficiency)
    assert "indicative (4 seeds)" in fig.get_suptitle()
    text = reading(figure, run)
    table = claims_table(run.summary, "protocol", "leach-dchs", ["sink"], dict(figure.primary), seeds=4)
    assert len(table) == 8 and set(table["baseline"]) == {"leach", "direct"}
    primary = table[table["role"] == "primary"]
    assert set(primary["sink"]) == {"50,175"} and set(primary["baseline"]) == {"leach"} and len(primary) == 2
    assert set(table["verdict"]) == {"indicative (4 seeds)"}
    assert "reproduced" not in text.split("not shown")[-1] and "indicative (4 seeds)" in text
    for row in table.to_dict("records"):
        assert f"{100 * row['change']:+.1f} %" in text
    mine = run.summary[(run.summary.protocol == "leach-dchs")]
    assert np.isfinite(table["change"]).all() and len(mine) == 2 * run.spec.seeds
    matplotlib.pyplot.close(fig)
