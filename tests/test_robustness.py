"""Regression tests for the robustness report of issue 21 (each reproduces a reported failure)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsnmec import cli
from wsnmec.io import write_set

TINY_RUN = ["--rounds", "5", "--nodes", "10"]


def invoke(args, **kwargs):
    return CliRunner().invoke(cli.main, args, **kwargs)


def assert_one_line_error(result, key: str):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and key in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


# --- item 1: a symlinked output directory ----------------------------------------------------------------


def test_run_through_a_symlinked_out_writes_into_its_target(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    first = invoke(["run", "--seed", "1", *TINY_RUN, "--out", str(real)])
    assert first.exit_code == 0, first.output
    link.symlink_to("real")
    second = invoke(["run", "--seed", "2", *TINY_RUN, "--out", str(link)])
    assert second.exit_code == 0, second.output
    assert link.is_symlink() and os.readlink(link) == "real"  # the link is kept
    config = json.loads((real / "config.json").read_text())
    assert config["seed"] == 2  # the new run's files are in the target
    assert {p.name for p in real.iterdir()} == {"config.json", "rounds.parquet", "summary.parquet", "nodes.parquet"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no temporary left beside them


def test_write_set_through_a_link_to_a_directory_holding_only_the_set(tmp_path):
    real = tmp_path / "real"
    write_set(real, {"a.txt": lambda p: p.write_text("1"), "b.txt": lambda p: p.write_text("1")})
    (tmp_path / "link").symlink_to(real)
    write_set(tmp_path / "link", {"a.txt": lambda p: p.write_text("2"), "b.txt": lambda p: p.write_text("2")})
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["a.txt", "b.txt"]
    assert (real / "a.txt").read_text() == (real / "b.txt").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_write_set_refuses_a_dangling_link_and_leaves_it(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        write_set(tmp_path / "link", {"a.txt": lambda p: p.write_text("1")})
    assert (tmp_path / "link").is_symlink() and not (tmp_path / "missing").exists()


# --- item 7: malformed claim files --------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [None, 10**20, "123", 1.5, -4, 0, True, [1]])
def test_a_claim_with_a_malformed_pid_is_taken_over(tmp_path, pid):
    from wsnmec.study.task_claims import TaskClaims

    claims = TaskClaims(tmp_path)
    claims.path("k").write_text(json.dumps({"host": claims.host, "pid": pid, "start": None}))
    assert claims.stale(claims.path("k"))
    assert claims.acquire("k")
    assert json.loads(claims.path("k").read_text())["pid"] == os.getpid()
    claims.release_all()


# --- item 8: study files validated completely when loaded ---------------------------------------------------

LIFETIME_HEAD = "seeds = 1\n[base]\nnodes = 10\nrounds = 3\n"
METRIC_FIGURE = '[[figures]]\nname = "f"\nkind = "metric"\nx = "protocol"\ny = "fnd"\n'
BAD_STUDIES = [
    (LIFETIME_HEAD + '[grid]\ne0 = [0.5, "0.3..0.7"]\n', "grid.e0"),
    (LIFETIME_HEAD + "[grid]\nfield = [100, [100, 200]]\n", "grid.field"),
    (LIFETIME_HEAD + '[grid]\nnodes = [10, 20]\n[[extra]]\nnodes = "x"\n', "extra[0].nodes"),
    (LIFETIME_HEAD + '[grid]\nprotocol = ["leach", "direct"]\n' + METRIC_FIGURE, "figures[0].x"),
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nests"),
    ('kind = "partition"\nseeds = "abc"\n', "seeds"),
    ('kind = "partition"\nquick = "x"\n', "quick"),
    ('kind = "partition"\nscaling = "x"\n', "scaling"),
    ('kind = "partition"\nseed = 1.7\n', "seed"),
    ('kind = "partition"\n[quick.claims]\nframes = "many"\n', "quick.claims.frames"),
    ('kind = "partition"\n[scaling]\ndevices = [2, "4"]\n', "scaling.devices[1]"),
    ('kind = "partition"\n[events]\nevent_at = 1.5\n', "events.event_at"),
    ('kind = "partition"\n[claims]\nnetwork = 3\n', "claims.network"),
]


@pytest.mark.parametrize("command", ["run", "figures"])
@pytest.mark.parametrize("text, key", BAD_STUDIES)
def test_bad_study_files_fail_in_one_line_before_any_task(tmp_path, text, key, command):
    study = tmp_path / "bad.toml"
    study.write_text(text)
    args = ["study", command, str(study), "--results", str(tmp_path / "results"), "--quick"]
    if command == "figures":
        args += ["--out", str(tmp_path / "figures")]
    line = assert_one_line_error(invoke(args), key)
    assert line.startswith(f"Error: {study}")
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.parquet"))


def test_every_shipped_study_still_loads():
    from wsnmec.study.partition import load_partition_study
    from wsnmec.study.spec import find_studies, load_study, studies_dir

    for path in find_studies(studies_dir()):
        assert load_study(path).task_count >= 1
    for path in find_studies(studies_dir(), kind="partition"):
        for quick in (False, True):
            assert load_partition_study(path, quick)["seeds"] >= 1


# --- item 6: an output name too long for its staging name ---------------------------------------------------


def test_out_name_too_long_for_the_staging_name_is_refused_before_the_work(tmp_path):
    long_name = tmp_path / ("d" * 250)  # fits the 255-byte limit, its staging name (+14) does not
    for args in (["run", "--seed", "1", *TINY_RUN],
                 ["offload", "--frames", "20", "--networks", "1", "--memory", "16", "--batch", "4", "--seed", "1"]):
        line = assert_one_line_error(invoke([*args, "--out", str(long_name)]), "--out")
        assert "241" in line
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_out_name_at_the_staging_limit_is_written(tmp_path):
    out = tmp_path / ("d" * 241)
    result = invoke(["run", "--seed", "1", *TINY_RUN, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "summary.parquet").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_train_and_map_out_checked_before_the_work(tmp_path):
    (tmp_path / "file").write_text("x")
    for args in (["train", "--scenarios", "1", "--rounds", "1"], ["map", *TINY_RUN, "--seed", "1", "--round", "1"]):
        suffix = ".npz" if args[0] == "train" else ".png"
        assert_one_line_error(invoke([*args, "--out", str(tmp_path / "file" / f"m{suffix}")]), "--out")
        assert_one_line_error(invoke([*args, "--out", str(tmp_path / ("m" * 245 + suffix))]), "--out")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_file_system_error_after_the_work_is_one_line_exit_1(tmp_path, monkeypatch):
    """A true I/O failure once the work is done (here the model file too large, as under ``ulimit -f``):
    one line naming the path, exit 1, no traceback."""
    import errno

    from wsnmec.training import ddnn

    def too_large(path, *args, **kwargs):
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))

    monkeypatch.setattr(ddnn, "pretrain", lambda *args, **kwargs: (None, {}))
    monkeypatch.setattr(ddnn, "save_pretrained", too_large)
    result = invoke(["train", "--scenarios", "1", "--rounds", "1", "--seed", "1", "--out", str(tmp_path / "m.npz")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if "Error" in line]  # (beside the progress bar)
    assert len(errors) == 1 and "m.npz" in errors[0] and "File too large" in errors[0], result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().endswith(errors[0].strip())


# --- item 10: huge fields, sinks and positions -------------------------------------------------------------


def invoke_quietly(args):
    """``invoke`` recording every warning (pytest would otherwise swallow the ones a user sees on stderr)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke(args)
    return result, [str(w.message) for w in caught]


@pytest.mark.parametrize("protocol", ["ddnn", "ddnn-rule", "heed", "spread", "lp-schedule"])
def test_a_field_of_1e160_is_one_line_naming_field_without_warnings(protocol, tmp_path):
    # used to make k_opt NaN (ddnn: an error naming `sizes`, warnings around it), warnings and tracebacks
    for option, value in (("--field", "1e160"), ("--sink", "0,1e160"), ("--field", "1e300,1")):
        result, warned = invoke_quietly(["run", "--protocol", protocol, option, value, *TINY_RUN, "--seed", "1",
                                         "--out", str(tmp_path / "o")])
        line = assert_one_line_error(result, option)
        assert "1e+09" in line and "sizes" not in line and warned == [], (line, warned)


def test_map_and_bound_refuse_a_field_of_1e160_in_one_line(tmp_path):
    for command in (["map", "--protocol", "ddnn", "--round", "1", "--out", str(tmp_path / "m.png")],
                    ["bound", "--seed", "1"]):
        result, warned = invoke_quietly([*command, "--field", "1e160", "--nodes", "10"])
        assert "1e+09" in assert_one_line_error(result, "--field") and warned == []


@pytest.mark.parametrize("protocol", ["direct", "leach", "leach-c", "deec", "heed", "ddnn", "ddnn-rule", "spread",
                                      "anneal"])
def test_every_policy_runs_at_the_largest_field_without_warnings(protocol):
    # at 1e9 m every packet costs more than a node holds: all die in round 1 (clipped, finite, no overflow)
    result, warned = invoke_quietly(["run", "--protocol", protocol, "--field", "1e9", "--sink", "1e9,1e9",
                                     *TINY_RUN, "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["replicas"][0]
    assert record["rounds"] == 1 and warned == [], warned


def test_a_bound_whose_links_exceed_the_lp_range_is_one_line_naming_field(tmp_path):
    # HiGHS refused the master LP ("Model error") with a RuntimeError traceback from a 1e7 m field
    for command in (["bound", "--seed", "1"], ["run", "--protocol", "lp-schedule", "--rounds", "3", "--seed", "1",
                                                "--out", str(tmp_path / "o")]):
        result, warned = invoke_quietly([*command, "--field", "1e7", "--nodes", "10"])
        line = assert_one_line_error(result, "--field")
        assert "1e+14 J" in line and warned == [], (line, warned)


def test_positions_beyond_the_limits_are_one_line_naming_the_file(tmp_path):
    for text, message in (("x,y,energy\n1,1,1e13\n5,5,0.5\n", "column energy must be at most 1e+12 [J]"),
                          ("x,y\n1,1\n5,2e9\n", "column y must be at most 1e+09 [m]")):
        path = tmp_path / "p.csv"
        path.write_text(text)
        for command in (["run", *TINY_RUN], ["map", "--round", "1", "--out", str(tmp_path / "m.png")]):
            result, warned = invoke_quietly([*command, "--positions", str(path), "--seed", "1"])
            line = assert_one_line_error(result, "--positions")
            assert message in line and warned == [], line


def test_a_study_with_a_huge_field_fails_before_any_task(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("seeds = 1\n[base]\nnodes = 10\nrounds = 3\n[grid]\nfield = [100, 1e160]\n", encoding="utf-8")
    result, warned = invoke_quietly(["study", "run", str(path), "--jobs", "1", "--results", str(tmp_path / "r")])
    assert "1e+09" in assert_one_line_error(result, "field") and warned == []
    assert not (tmp_path / "r" / "huge" / "tasks").exists() or not any((tmp_path / "r" / "huge" / "tasks").iterdir())


# --- lesser: study show -------------------------------------------------------------------------------------


def test_study_show_prints_integer_grid_values_as_integers(tmp_path):
    # issue 21 (lesser): an all-number grid row came through iterrows as floats: `nodes=20.0, e0=1.0  n=2.0`
    path = tmp_path / "ints.toml"
    path.write_text("seeds = 1\n[base]\nrounds = 3\n[grid]\nnodes = [10, 20]\ne0 = [0.5, 1]\n", encoding="utf-8")
    results = str(tmp_path / "r")
    assert invoke(["study", "run", str(path), "--jobs", "1", "--results", results]).exit_code == 0
    result = invoke(["study", "show", str(path), "--results", results])
    assert result.exit_code == 0, result.output
    points = [line.split("n=")[0].strip() for line in result.stdout.splitlines() if "nodes=" in line]
    assert points == ["nodes=10, e0=0.5", "nodes=10, e0=1", "nodes=20, e0=0.5", "nodes=20, e0=1"], points
    assert all(" n=1 " in line for line in result.stdout.splitlines() if "nodes=" in line), result.stdout


def test_study_show_of_a_huge_grid_without_results_does_not_expand_it(tmp_path, monkeypatch):
    # issue 21 (lesser): a 1e5-task grid took 62 s (expanding and looking up every task of both variants)
    # before saying there were no results
    from wsnmec.study import runner

    def no_expansion(*args, **kwargs):
        raise AssertionError("expanded the tasks")

    monkeypatch.setattr(runner, "expand_tasks", no_expansion)
    path = tmp_path / "big.toml"
    values = ", ".join(str(10 + i) for i in range(1000))
    path.write_text(f"seeds = 100\n[base]\nrounds = 5\n[grid]\nnodes = [{values}]\n", encoding="utf-8")
    (tmp_path / "r" / "big" / "tasks").mkdir(parents=True)  # (an empty cache as well as none)
    for results in (tmp_path / "none", tmp_path / "r"):
        result = invoke(["study", "show", str(path), "--results", str(results)])
        line = assert_one_line_error(result, "FILE")
        assert "no results of study big" in line


# --- lesser: warnings beside one-line errors, internal names --------------------------------------------------


def _warn_then(monkeypatch, refuse: bool):
    import warnings

    from wsnmec.errors import ParameterError
    from wsnmec import limits

    real = limits.check_magnitudes

    def check(scenario):
        warnings.warn("overflow encountered in square", RuntimeWarning)
        if refuse:
            raise ParameterError("--field", "must be W[,H] with numbers in (0, 1e+09] [m]; got '1e160'")
        return real(scenario)

    monkeypatch.setattr(limits, "check_magnitudes", check)


def test_warnings_never_reach_the_user_beside_a_one_line_error(monkeypatch, tmp_path, recwarn):
    # issue 21 (lesser): numerical warnings printed around the one-line error (e.g. a 1e160 m field)
    _warn_then(monkeypatch, refuse=True)
    result = invoke(["run", *TINY_RUN, "--seed", "1", "--out", str(tmp_path / "o")])
    assert assert_one_line_error(result, "--field").startswith("Error: --field:")
    assert "Warning" not in result.stderr and [str(w.message) for w in recwarn] == []


def test_warnings_of_a_successful_command_are_still_shown(monkeypatch, tmp_path, recwarn):
    _warn_then(monkeypatch, refuse=False)
    result = invoke(["run", *TINY_RUN, "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in recwarn if w.category is RuntimeWarning] == ["overflow encountered in square"]


def _shipped_model_with(tmp_path, name: str, change):
    """The shipped ddnn model with array ``name`` replaced by ``change(array)`` and its checksums made
    consistent again (a file only the content checks can refuse), written to ``tmp_path / 'm.npz'``."""
    import numpy as np

    from wsnmec.clustering.ddnn import DEFAULT_MODEL
    from wsnmec.learn.persist import _META, CHECKSUM_KEY, content_digest, model_checksum

    with np.load(DEFAULT_MODEL, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    metadata = json.loads(str(arrays.pop(_META)))
    arrays[name] = change(arrays[name])
    metadata["content_sha256"] = content_digest(arrays)
    metadata[CHECKSUM_KEY] = model_checksum(arrays, metadata)
    path = tmp_path / "m.npz"
    np.savez(path, **arrays, **{_META: np.array(json.dumps(metadata))})
    return path


def test_a_model_whose_arrays_do_not_fit_its_architecture_names_the_option(tmp_path):
    # issue 21 (lesser): "Error: model: array w1 has shape (3, 32, 8), expected (3, 32, 16)"
    import numpy as np

    path = _shipped_model_with(tmp_path, "w1", lambda a: np.ascontiguousarray(a[:, :, :8]))  # wrong shape
    result = invoke(["run", "--protocol", "ddnn", "--policy-model", str(path), *TINY_RUN, "--seed", "1"])
    line = assert_one_line_error(result, "--policy-model")
    assert line.startswith("Error: --policy-model: ") and "has shape (3, 32, 8), expected (3, 32, 16)" in line


def _one_frame_dataset(tmp_path, source: str):
    from scipy.io import loadmat, savemat

    data = {k: v for k, v in loadmat(str(Path(__file__).parent / "data" / source)).items() if not k.startswith("__")}
    frames = data["input_h" if "input_h" in data else "task_size"].shape[0]
    path = tmp_path / f"one-{source}"
    savemat(str(path), {k: (v[:1] if v.shape[0] == frames else v[:, :1]) for k, v in data.items()})
    return path


@pytest.mark.parametrize("model, source", [("mumt", "ddlo_mumt_3x3_first300.mat"),
                                           ("wpmec", "droo_data_10_first300.mat")])
def test_a_one_frame_data_set_names_the_data_set_not_an_impossible_range(tmp_path, model, source):
    # issue 21 (lesser): "--frames: must be an integer in [2, 1], got 1"
    path = _one_frame_dataset(tmp_path, source)
    extra = ["--devices", "3", "--tasks", "3"] if model == "mumt" else []
    result = invoke(["offload", "--model", model, *extra, "--dataset", str(path), "--seed", "1",
                     "--out", str(tmp_path / "o")])
    line = assert_one_line_error(result, "--dataset")
    assert line.startswith("Error: --dataset: must hold at least 2 frames") and "holds 1" in line, line


def test_check_int_never_states_an_empty_range():
    from wsnmec.errors import ParameterError, check_int

    with pytest.raises(ParameterError) as info:
        check_int("--frames", 1, 2, 1)
    assert str(info.value) == "--frames: must be an integer >= 2, but at most 1 is possible here, got 1"
    with pytest.raises(ParameterError, match=r"must be an integer in \[2, 5\], got 7"):
        check_int("--frames", 7, 2, 5)


def test_a_control_character_quoted_in_an_error_keeps_it_one_line(tmp_path):
    # found by the study-file fuzz test: a key "\u001e" (a record separator, a line break to splitlines)
    path = tmp_path / "ctrl.toml"
    path.write_text('"\\u001e" = []\n"a\\nb" = 1\n', encoding="utf-8")
    result = invoke(["study", "show", str(path), "--results", str(tmp_path / "r")])
    line = assert_one_line_error(result, "\\x1e: is not a known key")
    assert line.isprintable()


@pytest.mark.parametrize("change", ["complex", "text", "nan"])
def test_a_model_with_complex_text_or_nan_weights_is_refused_in_one_line(tmp_path, change, recwarn):
    # found by the model-file fuzz test: complex weights were cast to real with a ComplexWarning (the
    # imaginary part dropped) and the run went on; NaN weights ran too
    import numpy as np

    path = _shipped_model_with(tmp_path, "w0", {"complex": lambda a: a.astype(np.complex128) + 1j,
                                                "text": lambda a: a.astype("U3"),
                                                "nan": lambda a: np.full_like(a, np.nan)}[change])
    result = invoke(["run", "--protocol", "ddnn", "--policy-model", str(path), *TINY_RUN, "--seed", "1"])
    line = assert_one_line_error(result, "--policy-model")
    assert "array w0 holds" in line and [str(w.message) for w in recwarn] == [], line
