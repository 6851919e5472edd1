"""Test-session settings.

The DDLO learner multiplies small matrices (a batch of 128 through layers of about 100 units); a
multi-threaded BLAS only adds thread hand-offs there and, on a loaded 2-core machine, made a training step
8x slower. The suite therefore uses one BLAS thread unless the caller chose otherwise. numpy is not yet
imported when pytest loads this file, so the setting takes effect.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Hypothesis explores new examples on every developer run; under CI (CI=true) it draws a fixed sequence so
# that a CI result can be reproduced exactly.
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")

# Solved lifetime bounds are cached under ~/.cache/wsnmec/bound by default; the suite keeps its solves in a
# directory of its own (set before any test reads it; subprocesses inherit it).
if "WSNMEC_BOUND_CACHE" not in os.environ:
    import tempfile

    os.environ["WSNMEC_BOUND_CACHE"] = os.path.join(tempfile.mkdtemp(prefix="wsnmec-test-bound-"), "bound")


def pytest_configure(config):
    """The test tier (tests/tiers.py): fast when the marker expression deselects the slow tests (``-m "not
    slow"``), else full; WSNMEC_TEST_TIER=fast|full overrides."""
    import re

    import tiers

    tier = os.environ.get("WSNMEC_TEST_TIER", "").strip().lower()
    if tier not in ("fast", "full"):
        tier = "fast" if re.search(r"\bnot\s+slow\b", config.getoption("markexpr", "") or "") else "full"
    tiers.FAST = tier == "fast"


def pytest_sessionstart(session):
    """The fast tier on a cold kernel cache (a fresh clone, as in CI) first compiles the kernels of ``wsnmec
    run`` and the studies on every core (``wsnmec warmup``), instead of one by one inside the tests (a cold
    fast tier: 156-166 s of wall time against 182-193 s, 2 cores); WSNMEC_TEST_WARMUP=0 skips it. pytest's own
    duration line starts after it. The full tier compiles as the tests come."""
    import tiers

    if not tiers.FAST or os.environ.get("WSNMEC_TEST_WARMUP", "1") == "0":
        return
    from pathlib import Path

    import wsnmec
    from wsnmec.kernel_cache import cache_folders

    if any(any(folder.rglob("*.nbi")) for folder in cache_folders(Path(wsnmec.__file__).parent)):
        return  # kernels cached already
    from wsnmec.warmup import warmup

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("wsnmec: compiling the numba kernels on every core first (wsnmec warmup; "
                            "WSNMEC_TEST_WARMUP=0 skips it)")
    try:
        result = warmup(echo=lambda line: None)
    except Exception as exc:  # the tests then compile as they come, and the failure shows in them
        if reporter is not None:
            reporter.write_line(f"wsnmec: the warm-up failed ({type(exc).__name__}: {exc}); compiling in the tests")
        return
    if reporter is not None:
        reporter.write_line(f"wsnmec: {len(result['compiled'])} kernels compiled in {result['seconds']:.1f} s")


@pytest.fixture(scope="session")
def quick_figures(tmp_path_factory):
    """`wsnmec figures --quick --jobs 1` run once in a directory whose studies/ holds the figure test study and
    a tiny partition study (default results/ directory, out ``serial``); shared by the command's tests (the
    run, its cache, the parallel drawing, a failing drawing) instead of each computing the
    studies again. Tests must not write into ``serial``."""
    from click.testing import CliRunner
    from test_figures import STUDY
    from test_study_partition import TINY as PARTITION

    from wsnmec import cli

    root = tmp_path_factory.mktemp("quick_figures")
    studies = root / "studies"
    studies.mkdir()
    (studies / "figtest.toml").write_text(STUDY, encoding="utf-8")
    (studies / "parttest.toml").write_text(PARTITION, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        serial = CliRunner().invoke(cli.main, ["figures", "--quick", "--out", "serial", "--jobs", "1"])
    return root, serial
