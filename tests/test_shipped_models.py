"""The shipped models are what the commands recorded in them write.

Each shipped model records the ``wsnmec train`` command that made it (``command`` in its metadata). Running that
command again, with the package as it is, must write the same arrays (``content_sha256``, a digest over every
stored array): a change to the simulator's defaults that changes what training sees shows up here, and the
shipped model is then rebuilt by its command rather than left behind.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

from wsnmec.cli import main
from wsnmec.clustering.ddnn import DEFAULT_MODEL
from wsnmec.clustering.priced import DEFAULT_PRICE_MODEL


def _metadata(path) -> dict:
    with np.load(path, allow_pickle=False) as stored:
        return json.loads(stored["__metadata__"].item())


def _rebuild_arguments(command: str, out) -> list[str]:
    """The recorded ``wsnmec train ...`` command as CLI arguments, writing to ``out`` instead."""
    words = shlex.split(command)
    assert words[:2] == ["wsnmec", "train"], command
    args = words[1:]
    args[args.index("--out") + 1] = str(out)
    return args


@pytest.mark.slow
@pytest.mark.parametrize(("model", "extra"), [
    pytest.param(DEFAULT_MODEL, [], id="ddnn"),
    # the validation bounds add metadata only (the fraction of the limit), not weights; two workers give the same
    # lifetimes as one (train_prices)
    pytest.param(DEFAULT_PRICE_MODEL, ["--no-validation-bound", "--jobs", "2"], id="ddnn-price"),
])
def test_the_recorded_command_rebuilds_the_shipped_model(tmp_path, model, extra):
    shipped = _metadata(model)
    out = tmp_path / model.name
    result = CliRunner().invoke(main, _rebuild_arguments(shipped["command"], out) + extra)
    assert result.exit_code == 0, result.output
    rebuilt = _metadata(out)
    assert rebuilt["command"] == shipped["command"]
    assert rebuilt["content_sha256"] == shipped["content_sha256"], (
        f"{model.name} is not what `{shipped['command']}` writes now: rebuild it with that command")
