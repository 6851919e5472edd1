"""Solved bounds cached by deployment and cost model (content-addressed), so that no deployment is solved twice.

The key is the SHA-256 of every array the bound depends on (positions, initial energies, sink, the packed round
constants including radio, packet, workload, control and idle energy, the ``--offload`` rule, the harvest), of
the gap target and of :data:`CACHE_VERSION`. Entries are JSON files ``<key>.json`` in the cache directory:
``$WSNMEC_BOUND_CACHE`` when set, else ``~/.cache/wsnmec/bound``. Every solve is stored; an entry is reused when it finished (stopped by the gap
target, optimality or an unbounded inflow), or when a time limit cut it short and the caller's time limit is
not longer than the time it ran (otherwise the deployment is solved again, with the longer limit).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .colgen import BoundResult, solve_bound
from .costs import Network

#: Changes whenever the solver's results could change for the same inputs (``bound-3``: no set-up control
#: messages in the cost model, kept clusters; an entry of ``bound-2`` charged them in every round, so its
#: bound may be below a schedule that keeps its clusters, and is never read again).
CACHE_VERSION = "bound-3"

FINISHED = ("gap", "optimal", "unbounded")


def cache_dir() -> Path:
    """The cache directory (module docstring)."""
    env = os.environ.get("WSNMEC_BOUND_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "wsnmec" / "bound"


def cache_key(net: Network, gap: float) -> str:
    """Content hash of the network, its cost model and the gap target."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for name, array in sorted(net.key_arrays().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr(float(gap)).encode())
    return digest.hexdigest()


def _load(path: Path) -> BoundResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for key in ("upper", "relaxed", "achievable", "gap", "relative_gap"):
        if data.get(key) is None:
            data[key] = float("inf")
    try:
        return BoundResult(**data)
    except TypeError:
        return None


def solve_cached(net: Network, *, gap: float = 0.01, time_limit: float | None = None, directory=None,
                 progress=None) -> tuple[BoundResult, bool]:
    """The bound of ``net`` from the cache, or solved and stored; returns ``(result, from_cache)``."""
    folder = Path(directory) if directory is not None else cache_dir()
    path = folder / f"{cache_key(net, gap)}.json"
    if path.is_file():
        cached = _load(path)
        if cached is not None and (cached.stopped in FINISHED or (
                time_limit is not None and time_limit <= cached.seconds)):
            return cached, True
    result = solve_bound(net, gap=gap, time_limit=time_limit, progress=progress)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result.to_dict(), allow_nan=False))
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs a solve next time
    return result, False
