"""Study texts are rendered from the configuration of the variant that runs (issue 16, item 8): placeholders in
titles and descriptions, and readings whose numbers follow the run (no prose number that --quick contradicts)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from wsnmec.errors import ParameterError
from wsnmec.study.offload import OffloadFigureSpec, frames_reading
from wsnmec.study.report import study_section
from wsnmec.study.runner import run_study
from wsnmec.study.spec import find_studies, load_study

TEMPLATED = """
title = "E0 {e0} J, {seeds} seeds"
description = "{nodes} nodes, E0 = {e0} J, p = {p}, seeds {seeds}, {tasks} tasks, every run {run_length}; N = {nodes_list}."
seed = 3
seeds = 3
[base]
e0 = 0.02
nodes = 10
rounds = 60
[grid]
protocol = ["direct", "leach"]
[quick]
seeds = 2
base = { e0 = 0.01, rounds = 25 }
[[figures]]
name = "alive"
kind = "line"
y = "alive"
hue = "protocol"
title = "Alive nodes over {rounds:,} rounds, E0 = {e0} J"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "texts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def expected(spec) -> dict:
    """What the texts must say for a variant, read from its own configuration."""
    return {"e0": spec.base["e0"], "rounds": spec.base["rounds"], "seeds": spec.seeds,
            "tasks": len(spec.points) * spec.seeds}


@pytest.mark.parametrize("quick", [False, True])
def test_texts_render_from_the_variant_configuration(tmp_path, quick):
    spec = load_study(write(tmp_path, TEMPLATED.replace("{nodes_list}", "{nodes}"))).variant(quick)
    want = expected(spec)
    assert spec.title == f"E0 {want['e0']} J, {want['seeds']} seeds"
    assert spec.description == (
        f"10 nodes, E0 = {want['e0']} J, p = auto, seeds {want['seeds']}, {want['tasks']} tasks, every run until the "
        f"last node dies or round {want['rounds']}, whichever comes first; N = 10.")
    assert spec.figures[0].title == f"Alive nodes over {want['rounds']:,} rounds, E0 = {want['e0']} J"


def test_quick_and_full_index_sections_state_their_own_numbers(tmp_path):
    """The index section (description and reading) of a quick run and of a full run of the same file each
    state that run's E0, round cap and seeds, and the run really used them."""
    path = write(tmp_path, TEMPLATED.replace("{nodes_list}", "{nodes}"))
    full = load_study(path)
    for spec in (full, full.variant(True)):
        run = run_study(spec, tmp_path / "results", jobs=1, progress=False)
        section = study_section(run, [], tmp_path)
        want = expected(spec)
        assert f"E0 = {want['e0']} J" in section and f"seeds {want['seeds']}" in section
        assert f"round {want['rounds']}, whichever" in section
        assert run.summary["seed_index"].nunique() == want["seeds"]
        assert run.summary["rounds"].max() <= want["rounds"]
        assert run.summary["energy_initial_j"].to_numpy() == pytest.approx(want["e0"] * 10)


def test_swept_placeholders_and_literal_braces(tmp_path):
    text = TEMPLATED.replace("{nodes_list}", "{protocol} ({protocol_count}) {{not a placeholder}}")
    spec = load_study(write(tmp_path, text))
    assert spec.description.endswith("N = direct, leach (2) {not a placeholder}.")


@pytest.mark.parametrize("bad, message", [
    ("{e_zero}", "unknown placeholder {e_zero}"),
    ("{e0", "malformed placeholder"),
])
def test_bad_placeholders_name_the_text(tmp_path, bad, message):
    with pytest.raises(ParameterError) as info:
        load_study(write(tmp_path, TEMPLATED.replace("{nodes_list}", bad)))
    assert info.value.parameter.endswith("description") and message in info.value.message


def test_min_and_max_exist_only_for_numeric_swept_parameters(tmp_path):
    text = TEMPLATED.replace("{nodes_list}", "{protocol_min}")
    with pytest.raises(ParameterError, match="protocol_min"):
        load_study(write(tmp_path, text))  # protocol is not numeric: no _min, in either variant


E0_PATTERN = re.compile(r"E0 =? ?([0-9.e-]+) J")
CAP_PATTERN = re.compile(r"round ([0-9,]+), whichever")


@pytest.mark.parametrize("path", find_studies(), ids=lambda p: p.stem)
def test_shipped_texts_agree_with_each_variant(path):
    """Every shipped study, full and quick: no unfilled placeholder, and every "E0 = X J" and round cap in its
    texts is that variant's own."""
    full = load_study(path)
    for spec in (full, full.variant(True)):
        texts = [spec.title, spec.description, *(f.title for f in spec.figures)]
        for text in texts:
            assert "{" not in text and "}" not in text, text
        if getattr(spec, "kind", "lifetime") != "lifetime":
            continue
        values = spec.text_values()
        for text in texts:
            for e0 in E0_PATTERN.findall(text):
                assert float(e0) == pytest.approx(float(values["e0"])), (spec.quick, text)
            for cap in CAP_PATTERN.findall(text):
                assert int(cap.replace(",", "")) == spec.base["rounds"], (spec.quick, text)
        if spec.base.get("rounds") is None:
            assert not any("whichever" in t for t in texts)


def test_frames_reading_windows_fit_a_short_run():
    """A run shorter than two reading windows is split into halves, and the reading says how many frames."""
    frames = 300
    values = np.linspace(0.5, 1.0, frames)
    rows = pd.DataFrame({"policy": "ddlo", "frame": np.arange(frames), "normalized_utility": values})
    figure = OffloadFigureSpec(name="f", kind="frames", x="frame", y=("normalized_utility",))
    run = SimpleNamespace(spec=SimpleNamespace(seeds=1), rounds=rows)
    text = frames_reading(figure, run)
    assert "first and the last 150 frames (of 300)" in text
    assert f"{values[:150].mean():.4f} -> {values[150:].mean():.4f}" in text
