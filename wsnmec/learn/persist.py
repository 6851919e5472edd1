"""Saving and loading stacked networks as ``.npz`` files with a free-form JSON metadata dict.

A file holds the network's arrays (``w0.., b0.., bn_gamma, bn_beta, bn_mean, bn_var``), optionally the
optimizer's and the replay memory's state and any extra arrays of the caller, and one string array
``__metadata__``: JSON with ``format``, ``architecture`` (:meth:`StackedMLP.architecture`),
``package_version`` and whatever the caller adds (features, training scenario, seed, command line...).
Files are written to a temporary name and renamed; loading never unpickles (``allow_pickle=False``).

Integrity: the metadata records ``content_sha256``, a SHA-256 over every stored array (names in sorted
order, each with its dtype, shape and bytes); :func:`load_model` recomputes it and refuses a file whose
arrays do not match (a damaged or edited file) in one line. Files written before the checksum existed (no
``content_sha256``) load unchecked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .mlp import StackedMLP

#: Format tag written into every file's metadata.
FORMAT = "wsnmec-learn/1"
_META = "__metadata__"


@dataclass
class SavedModel:
    """What :func:`load_model` returns: the network, the metadata dict and every stored array by name."""

    net: StackedMLP
    metadata: dict
    arrays: dict


def content_digest(arrays: dict) -> str:
    """SHA-256 (hex) of named arrays: names in sorted order, each with its dtype, shape and C-order bytes."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(key.encode("utf-8") + b"\0" + value.dtype.str.encode("ascii") + b"\0")
        digest.update(repr(value.shape).encode("ascii") + b"\0")
        digest.update(value.tobytes())
    return digest.hexdigest()


def save_model(path, net: StackedMLP, metadata: dict | None = None, *, optimizer=None, memory=None,
               arrays: dict | None = None) -> Path:
    """Write ``net`` (and optionally ``optimizer``/``memory`` state and extra ``arrays``) to ``path``.

    ``metadata`` must be JSON-serialisable; ``format``, ``architecture`` and ``package_version`` are added.
    """
    from .. import __version__
    from ..io import atomic_path

    meta = {"format": FORMAT, "architecture": net.architecture(), "package_version": __version__,
            **(metadata or {})}
    meta.pop("content_sha256", None)  # recomputed below for what this file holds
    out = dict(net.state())
    if optimizer is not None:
        out.update(optimizer.state())
    if memory is not None:
        out.update(memory.state())
    for key, value in (arrays or {}).items():
        if key in out or key == _META:
            raise ParameterError("arrays", f"name {key!r} is reserved")
        out[key] = np.asarray(value)
    meta["content_sha256"] = content_digest(out)
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ParameterError("metadata", f"must be JSON-serialisable ({exc})") from None
    out[_META] = np.array(text)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return path


def load_model(path, name: str = "model") -> SavedModel:
    """Read a file written by :func:`save_model`; ``name`` is the parameter named in errors."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # missing file, not a zip, pickled content...
        raise ParameterError(name, f"cannot read {str(path)!r} as a model .npz ({type(exc).__name__})") from None
    if _META not in arrays:
        raise ParameterError(name, f"{str(path)!r} has no {_META} (not written by wsnmec)")
    try:
        metadata = json.loads(str(arrays.pop(_META)))
    except ValueError as exc:
        raise ParameterError(name, f"{str(path)!r} has unreadable metadata ({type(exc).__name__}: {exc})") from None
    expected = metadata.get("content_sha256") if isinstance(metadata, dict) else None
    if expected is not None and content_digest(arrays) != expected:
        raise ParameterError(name, f"{str(path)!r} does not match its content checksum (a damaged or edited "
                                   "file); retrain it or restore the original")
    try:
        arch = metadata["architecture"]
        layers = [int(v) for v in arch["layers"]]
        net = StackedMLP(layers[0], layers[1:-1], layers[-1], networks=int(arch["networks"]),
                         batch_norm=bool(arch["batch_norm"]), init=arch.get("init", "he-glorot"), bias_init=float(arch.get("bias_init", 0.0)),
                         rng=np.random.default_rng(0))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ParameterError(name, f"{str(path)!r} has unreadable metadata ({type(exc).__name__}: {exc})") from None
    missing = [k for k in net.state() if k not in arrays]
    if missing:
        raise ParameterError(name, f"{str(path)!r} lacks array(s) {', '.join(missing)}")
    net.load_state(arrays)
    return SavedModel(net=net, metadata=metadata, arrays=arrays)
