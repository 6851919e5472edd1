"""`wsnmec train` prints and stores training and validation metrics, and warns when the new model does
worse than the shipped one on the held-out validation scenarios (issue 19)."""

from click.testing import CliRunner

from wsnmec import cli
from wsnmec.training.ddnn import training_scenarios, validation_scenarios, worse_than
from wsnmec.learn import load_model


def test_validation_scenarios_are_fixed_and_never_training_ones():
    first = validation_scenarios(2, 5)
    assert first == validation_scenarios(2, 5)  # the same for every model (independent of --seed)
    training = [raw for raw, _ in training_scenarios(3, 2, 5)]
    assert not any(raw in training for raw, _ in first)
    # a draw equal to a training scenario is skipped: the next draw takes its place
    assert validation_scenarios(1, 5, exclude=[first[0][0]]) == [first[1]]


def test_worse_than_names_each_worse_metric():
    shipped = {"objective": 1.0, "fnd": 100.0}
    assert worse_than(shipped, shipped) == []
    assert worse_than({"objective": 0.9, "fnd": 120.0}, shipped) == []
    reasons = worse_than({"objective": 1.5, "fnd": 80.0}, shipped)
    assert len(reasons) == 2 and "objective" in reasons[0] and "FND" in reasons[1]


def test_train_prints_and_stores_metrics_and_warns_when_worse_than_shipped(tmp_path):
    """One episode of five rounds leaves the networks nearly untrained (one Adam step): a model forced to be
    worse than the shipped one, which must say so in one line."""
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(cli.main, ["train", "--seed", "3", "--scenarios", "2", "--rounds", "5",
                                           "--validation-scenarios", "2", "--validate-every", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    stage_lines = [line for line in result.output.splitlines() if line.startswith("stage ")]
    assert len(stage_lines) == 2
    assert all("loss" in line and "validation objective" in line for line in stage_lines)
    training = load_model(out).metadata["training"]  # load_model verifies checksum_sha256 over the metadata
    stages = training["stages"]
    assert [s["episodes"] for s in stages] == [[1, 1], [2, 2]]
    for stage in stages:
        assert stage["loss"] is None or stage["loss"] > 0
        assert stage["validation_objective"] > 0 and stage["validation_fnd"] >= 1
    validation = training["validation"]
    assert validation["scenarios"] == 2 and validation["model"]["fnd"] == stages[-1]["validation_fnd"]
    reasons = worse_than(validation["model"], validation["shipped"])
    assert validation["worse_than_shipped"] is True and reasons
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "worse than the shipped model" in warnings[0] and reasons[0] in warnings[0]


def test_bad_validation_options_are_one_line_exit_2(tmp_path):
    for option, value in (("--validation-scenarios", "-1"), ("--validate-every", "0")):
        result = CliRunner().invoke(cli.main, ["train", option, value, "--out", str(tmp_path / "m.npz")])
        assert result.exit_code == 2 and option in result.output and "Traceback" not in result.output
