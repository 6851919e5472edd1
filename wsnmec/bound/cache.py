"""Solved bounds cached by deployment, cost model and code (content-addressed), so that no deployment is solved
twice, and no stored byte is trusted unverified.

The key is the SHA-256 of every array the bound depends on (positions, initial energies, sink, the packed round
constants including radio, packet, workload, control and idle energy, the ``--offload`` rule, the harvest), of
the gap target, of :data:`CACHE_VERSION` and of the code fingerprint (:func:`code_fingerprint`: the
simulator's sources, whose accounting gives the costs, and this package's), so that a change of the solver or
of the cost model in a development checkout is never answered from the cache. Entries are files
``<key>.json`` in the cache directory: ``$WSNMEC_BOUND_CACHE`` when set, else ``~/.cache/wsnmec/bound``.

Integrity: an entry is the canonical JSON of a sealed record (:func:`wsnmec.integrity.sealed_bytes`: its key,
cache version, code fingerprint and result, with the SHA-256 of all of them); it is read back only when every
byte matches (:func:`wsnmec.integrity.load_sealed_bytes`) and its key and fingerprint are the ones asked for. A
damaged, truncated, edited or foreign entry is reported in one line (``report``, stderr by default) and the
deployment is solved again (and stored again).

Reuse: every solve is stored; an entry is reused when it finished (stopped by the gap target, optimality or an
unbounded inflow), or when a time limit cut it short and the caller's time limit is not longer than the time
it ran (otherwise the deployment is solved again, with the longer limit).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
from pathlib import Path

import numpy as np

from ..fingerprint import simulator_fingerprint
from ..integrity import load_sealed_bytes, sealed_bytes
from .colgen import BoundResult, solve_bound
from .costs import Network

#: Changes whenever the solver's results or the entries' format could change for the same inputs (``bound-4``:
#: sealed canonical JSON entries, and no set-up control messages in the cost model, kept clusters; an entry of
#: ``bound-2`` charged them in every round, so its bound may be below a schedule that keeps its clusters, and
#: is never read again; ``bound-5``: the warm start's and the pricing's randomised rounding give other
#: columns, so other bounds and schedules within a time limit).
CACHE_VERSION = "bound-5"

FINISHED = ("gap", "optimal", "unbounded")

#: Fields of a stored result that are ``inf`` when JSON holds None (:meth:`BoundResult.to_dict`).
_INFINITE_WHEN_NONE = ("upper", "relaxed", "achievable", "gap", "relative_gap", "without_setups")


def cache_dir() -> Path:
    """The cache directory (module docstring)."""
    env = os.environ.get("WSNMEC_BOUND_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "wsnmec" / "bound"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the simulator's fingerprint
    (:func:`wsnmec.fingerprint.simulator_fingerprint`) and of this package's sources (``wsnmec/bound``)."""
    digest = hashlib.sha256(simulator_fingerprint().encode("ascii") + b"\0")
    package = Path(__file__).resolve().parent
    for file in sorted(package.glob("*.py")):
        digest.update(file.name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_key(net: Network, gap: float) -> str:
    """Content hash of the network, its cost model, the gap target and the code (module docstring)."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    digest.update(code_fingerprint().encode("ascii"))
    for name, array in sorted(net.key_arrays().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr(float(gap)).encode())
    return digest.hexdigest()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load(path: Path, key: str) -> BoundResult:
    """The verified entry ``path`` of ``key``; raises ValueError (one line) for an entry that cannot be
    trusted, FileNotFoundError when there is none."""
    record = load_sealed_bytes(path)
    if record.get("key") != key or record.get("version") != CACHE_VERSION:
        raise ValueError("another deployment's or version's entry")
    if record.get("code") != code_fingerprint():
        raise ValueError("made by other code")
    data = record.get("result")
    if not isinstance(data, dict):
        raise ValueError("no result")
    data = dict(data)
    for name in _INFINITE_WHEN_NONE:
        if data.get(name) is None:
            data[name] = float("inf")
    try:
        return BoundResult(**data)
    except TypeError as exc:
        raise ValueError(f"a result of another form ({exc})") from None


def _reusable(path: Path, key: str, time_limit: float | None, report) -> BoundResult | None:
    """The entry ``path`` (of ``key``) when a solve with ``time_limit`` [s] would reuse it (module docstring,
    *Reuse*), else None; ``report`` receives one line when the entry is not trusted."""
    try:
        cached = _load(path, key)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if report is not None:
            report(f"bound cache file {path}: {str(exc).splitlines()[0]}; solving the deployment again")
        return None
    if cached.stopped in FINISHED or (time_limit is not None and time_limit <= cached.seconds):
        return cached
    return None


def cached_bound(net: Network, *, gap: float = 0.01, time_limit: float | None = None, directory=None,
                 report=_stderr) -> BoundResult | None:
    """The stored bound of ``net`` that a solve with ``time_limit`` [s] would reuse (module docstring,
    *Reuse*), or None. ``report`` receives one line when a stored entry is not trusted."""
    folder = Path(directory) if directory is not None else cache_dir()
    key = cache_key(net, gap)
    return _reusable(folder / f"{key}.json", key, time_limit, report)


def solve_cached(net: Network, *, gap: float = 0.01, time_limit: float | None = None, directory=None,
                 progress=None, report=_stderr, schedule_share: float = 0.0) -> tuple[BoundResult, bool]:
    """The bound of ``net`` from the cache (:func:`cached_bound`), or solved and stored; returns ``(result,
    from_cache)``. ``schedule_share``: :func:`~wsnmec.bound.colgen.solve_bound`'s, for a solve (a cached entry
    is reused whatever share it was solved with).

    ``report`` receives one line when a stored entry is not trusted (module docstring) before the solve."""
    folder = Path(directory) if directory is not None else cache_dir()
    key = cache_key(net, gap)
    path = folder / f"{key}.json"
    cached = _reusable(path, key, time_limit, report)
    if cached is not None:
        return cached, True
    result = solve_bound(net, gap=gap, time_limit=time_limit, progress=progress, schedule_share=schedule_share)
    record = {"key": key, "version": CACHE_VERSION, "code": code_fingerprint(), "result": result.to_dict()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # (lp-schedule: replica threads)
        tmp.write_bytes(sealed_bytes(record))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass  # an unwritable cache (or a result JSON cannot hold) only costs a solve next time
    return result, False
