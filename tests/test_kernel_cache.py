"""Stale compiled kernels are dropped when a source file of the package changes (wsnmec.kernel_cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from wsnmec.kernel_cache import STAMP_NAME, drop_stale_kernels, sources_hash


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "callee.py").write_text("def f():\n    return 1\n")
    return package


def _cache_files(package: Path) -> list[str]:
    return sorted(p.name for p in package.rglob("*.nb[ic]"))


def _fake_cache(package: Path) -> None:
    for name in ("caller.f-1.py311.nbi", "caller.f-1.py311.1.nbc"):
        (package / "sub" / "__pycache__" / name).write_bytes(b"machine code")


def test_cache_kept_while_the_sources_are_unchanged_and_dropped_after_an_edit(tmp_path, monkeypatch):
    monkeypatch.delenv("WSNMEC_KEEP_KERNELS", raising=False)
    package = _package(tmp_path)
    _fake_cache(package)
    assert drop_stale_kernels(package) == 2  # no stamp yet: the cache's sources are unknown
    assert _cache_files(package) == []
    stamp = package / "__pycache__" / STAMP_NAME
    assert stamp.read_text().strip() == sources_hash(package)
    _fake_cache(package)  # numba compiles against these sources
    assert drop_stale_kernels(package) == 0
    assert len(_cache_files(package)) == 2
    (package / "sub" / "callee.py").write_text("def f():\n    return 2\n")  # a callee in another file changes
    assert drop_stale_kernels(package) == 2
    assert _cache_files(package) == []
    assert stamp.read_text().strip() == sources_hash(package)
    assert not list(package.rglob("*.tmp"))


def test_cache_under_numba_cache_dir_is_dropped_too(tmp_path, monkeypatch):
    from numba.core.caching import UserProvidedCacheLocator

    monkeypatch.delenv("WSNMEC_KEEP_KERNELS", raising=False)
    package = _package(tmp_path)
    root = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(root))
    folder = root / UserProvidedCacheLocator.get_suitable_cache_subpath(str(package / "sub" / "callee.py"))
    folder.mkdir(parents=True)
    (folder / "caller.f-1.py311.nbi").write_bytes(b"index")
    (folder / "other.txt").write_text("kept")
    assert drop_stale_kernels(package) == 1
    assert [p.name for p in folder.iterdir()] == ["other.txt"]


def test_hash_follows_contents_and_paths_not_timestamps(tmp_path):
    package = _package(tmp_path)
    before = sources_hash(package)
    callee = package / "sub" / "callee.py"
    os.utime(callee, (1, 1))
    assert sources_hash(package) == before
    callee.rename(package / "sub" / "renamed.py")
    assert sources_hash(package) != before


def test_switched_off_by_the_environment(tmp_path, monkeypatch):
    package = _package(tmp_path)
    _fake_cache(package)
    monkeypatch.setenv("WSNMEC_KEEP_KERNELS", "1")
    assert drop_stale_kernels(package) == 0
    assert len(_cache_files(package)) == 2


def test_a_read_only_package_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("WSNMEC_KEEP_KERNELS", raising=False)
    package = _package(tmp_path)
    _fake_cache(package)
    # the stamp's place is taken by a directory: storing the hash fails like a read-only installation
    (package / "__pycache__" / STAMP_NAME).mkdir(parents=True)
    assert drop_stale_kernels(package) == 0


def test_an_edited_callee_reaches_a_cached_caller_in_a_new_process(tmp_path):
    """End to end with numba: a cached kernel calling a compiled function of another module returns the new
    value after that module is edited (numba alone would keep running the old code)."""
    package = tmp_path / "kernelpkg"  # (a package of its own: an editable wsnmec would shadow a copy)
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from .kernel_cache import drop_stale_kernels
        drop_stale_kernels()
    """))
    (package / "kernel_cache.py").write_text(
        (Path(__file__).resolve().parents[1] / "wsnmec" / "kernel_cache.py").read_text())
    (package / "callee.py").write_text("from numba import njit\n\n@njit(cache=True)\ndef value():\n    return 1\n")
    (package / "caller.py").write_text(
        "from numba import njit\nfrom .callee import value\n\n@njit(cache=True)\ndef run():\n    return value()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "WSNMEC_KEEP_KERNELS")}
    env["PYTHONPATH"] = str(tmp_path)
    command = [sys.executable, "-c", "from kernelpkg.caller import run; print(run())"]
    assert subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip() == "1"
    assert list(package.rglob("*.nbi"))  # the caller's kernel is cached
    (package / "callee.py").write_text("from numba import njit\n\n@njit(cache=True)\ndef value():\n    return 2\n")
    assert subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip() == "2"
