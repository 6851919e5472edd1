"""The claims table: paired changes with bootstrap intervals, verdicts, the figure and its Markdown reading."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

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
"""


def synthetic(proposed_latency, baseline_latency, proposed_eff, baseline_eff):
    rows = []
    for i, (pl, bl, pe, be) in enumerate(zip(proposed_latency, baseline_latency, proposed_eff, baseline_eff)):
        rows.append({"protocol": "new", "seed_index": i, "latency_s_mean": pl, "delivered_bits_total": pe,
                     "energy_consumed_j": 1.0})
        rows.append({"protocol": "old", "seed_index": i, "latency_s_mean": bl, "delivered_bits_total": be,
                     "energy_consumed_j": 1.0})
    return pd.DataFrame(rows)


def test_changes_and_verdicts_on_known_numbers():
    # latency halves (-50 %: the -60 % claim is not reproduced), efficiency +50 % (+40 % reproduced)
    summary = synthetic([1.0] * 5, [2.0] * 5, [3.0] * 5, [2.0] * 5)
    table = claims_table(summary, "protocol", "new")
    (row,) = table.to_dict("records")
    assert row["baseline"] == "old" and row["seeds"] == 5
    assert row["latency_change"] == pytest.approx(-0.5) and row["latency_low"] == pytest.approx(-0.5)
    assert row["latency_verdict"] == "not reproduced"
    assert row["efficiency_change"] == pytest.approx(0.5) and row["efficiency_verdict"] == "reproduced"
    # a noisy improvement whose interval crosses the claim is not reproduced
    rng = np.random.default_rng(1)
    noisy = synthetic(rng.uniform(0.2, 1.2, 30), [1.0] * 30, rng.uniform(1.0, 2.0, 30), [1.0] * 30)
    row = claims_table(noisy, "protocol", "new").iloc[0]
    assert row["latency_low"] < row["latency_change"] < row["latency_high"]
    assert (row["latency_verdict"] == "reproduced") == (row["latency_high"] <= -0.6)
    text = markdown(claims_table(noisy, "protocol", "new"), [])
    assert text.count("\n") == 2 and "| old | 30 |" in text


def test_claims_figure_and_reading_from_a_study(tmp_path):
    path = tmp_path / "claimstest.toml"
    path.write_text(STUDY, encoding="utf-8")
    run = run_study(load_study(path), tmp_path / "results", jobs=1)
    ((figure, (png, pdf), fig),) = draw_study(run, tmp_path / "out", keep_open=True)
    assert png.exists() and pdf.exists()
    assert len(fig.axes) == 4  # two sink positions x (latency, efficiency)
    text = reading(figure, run)
    table = claims_table(run.summary, "protocol", "leach-dchs", ["sink"])
    assert len(table) == 4 and set(table["baseline"]) == {"leach", "direct"}
    for row in table.to_dict("records"):
        assert f"{100 * row['latency_change']:+.1f} %" in text
        mine = run.summary[(run.summary.protocol == "leach-dchs")]
        assert np.isfinite(row["efficiency_change"]) and len(mine) == 2 * run.spec.seeds
    matplotlib.pyplot.close(fig)
