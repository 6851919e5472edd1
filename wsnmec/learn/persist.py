"""Saving and loading stacked networks as ``.npz`` files with a free-form JSON metadata dict.

A file holds the network's arrays (``w0.., b0.., bn_gamma, bn_beta, bn_mean, bn_var``), optionally the
optimizer's and the replay memory's state and any extra arrays of the caller, and one string array
``__metadata__``: JSON with ``format``, ``architecture`` (:meth:`StackedMLP.architecture`),
``package_version`` and whatever the caller adds (features, training scenario, seed, command line...).
Files are written to a temporary name and renamed; loading never unpickles (``allow_pickle=False``).

Integrity: the metadata records ``content_sha256``, a SHA-256 over every stored array (names in sorted
order, each with its dtype, shape and bytes), and ``checksum_sha256``, a SHA-256 over the arrays' digest and
the canonical JSON of every other metadata key (:func:`model_checksum`): the whole file's content, metadata
included. :func:`load_model` recomputes both and refuses, in one line, a file whose arrays or metadata do
not match (a damaged or edited file) and a file without ``checksum_sha256`` (written before wsnmec recorded
it, or with the key deleted: a check that could be turned off by deleting a key would not be one). A file
from before the metadata checksum whose arrays still match their ``content_sha256`` can be stamped again by
its owner with :func:`restamp_model` (the arrays are kept byte for byte).
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
#: Metadata key of the checksum over arrays and metadata (:func:`model_checksum`).
CHECKSUM_KEY = "checksum_sha256"


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


def model_checksum(arrays: dict, metadata: dict) -> str:
    """SHA-256 (hex) of a model's whole content: :func:`content_digest` of ``arrays``, then the canonical
    JSON (sorted keys, no whitespace) of ``metadata`` without :data:`CHECKSUM_KEY`."""
    body = {k: v for k, v in metadata.items() if k != CHECKSUM_KEY}
    digest = hashlib.sha256(content_digest(arrays).encode("ascii") + b"\0")
    digest.update(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8"))
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
    meta.pop(CHECKSUM_KEY, None)
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
        meta[CHECKSUM_KEY] = model_checksum(out, meta)
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ParameterError("metadata", f"must be JSON-serialisable ({exc})") from None
    out[_META] = np.array(text)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return path


def _read_verified(path: Path, name: str, require_checksum: bool = True) -> tuple[dict, dict]:
    """``(arrays, metadata)`` of a model file whose content matches its checksums (module docstring);
    with ``require_checksum`` False a file without :data:`CHECKSUM_KEY` is accepted when its arrays match
    ``content_sha256`` (:func:`restamp_model`). Raises :class:`ParameterError` (one line) otherwise."""
    import io

    try:
        raw = path.read_bytes()  # read once: what is verified is what is parsed
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # missing file, not a zip, pickled content...
        raise ParameterError(name, f"cannot read {str(path)!r} as a model .npz ({type(exc).__name__})") from None
    if _META not in arrays:
        raise ParameterError(name, f"{str(path)!r} has no {_META} (not written by wsnmec)")
    try:
        metadata = json.loads(str(arrays.pop(_META)))
    except (ValueError, RecursionError) as exc:
        raise ParameterError(name, f"{str(path)!r} has unreadable metadata ({type(exc).__name__})") from None
    if not isinstance(metadata, dict):
        raise ParameterError(name, f"{str(path)!r} has unreadable metadata (a JSON {type(metadata).__name__}, "
                                   "not an object)")
    content = metadata.get("content_sha256")
    if not isinstance(content, str):
        raise ParameterError(name, f"{str(path)!r} has no content checksum (content_sha256: written before "
                                   "wsnmec recorded it, or the key was deleted); retrain it or restore the original")
    if content_digest(arrays) != content:
        raise ParameterError(name, f"{str(path)!r} does not match its content checksum (content_sha256: a "
                                   "damaged or edited file); retrain it or restore the original")
    expected = metadata.get(CHECKSUM_KEY)
    if expected is None and not require_checksum:
        return arrays, metadata
    if not isinstance(expected, str):
        raise ParameterError(name, f"{str(path)!r} has no {CHECKSUM_KEY} (written before wsnmec checked model "
                                   "metadata, or the key was deleted); retrain it, or stamp a file you trust "
                                   "with wsnmec.learn.persist.restamp_model")
    try:
        actual = model_checksum(arrays, metadata)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ParameterError(name, f"{str(path)!r} has unreadable metadata ({type(exc).__name__})") from None
    if actual != expected:
        raise ParameterError(name, f"{str(path)!r} does not match its {CHECKSUM_KEY} (its metadata or arrays "
                                   "were damaged or edited); retrain it or restore the original")
    return arrays, metadata


def restamp_model(path) -> Path:
    """Add :data:`CHECKSUM_KEY` to a model file written before it existed, in place (atomically).

    The file's arrays must match their ``content_sha256``; they are written back unchanged (same names,
    dtypes, shapes and bytes) and the metadata is kept, with the checksum added. Use it only on a file you
    trust: it vouches for the metadata as it is now."""
    from ..io import atomic_path

    path = Path(path)
    arrays, metadata = _read_verified(path, "model", require_checksum=False)
    metadata[CHECKSUM_KEY] = model_checksum(arrays, metadata)
    out = {**arrays, _META: np.array(json.dumps(metadata, allow_nan=False))}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return path


def load_model(path, name: str = "model") -> SavedModel:
    """Read a file written by :func:`save_model`; ``name`` is the parameter named in errors. The file's
    arrays and metadata are verified against its checksums first (module docstring)."""
    path = Path(path)
    arrays, metadata = _read_verified(path, name)
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
    for key in net.state():  # (a cast would drop an imaginary part with a warning, or parse text)
        array = arrays[key]
        if array.dtype.kind not in "fiu":
            raise ParameterError(name, f"{str(path)!r}: array {key} holds {array.dtype} values; a model's arrays "
                                       "hold real numbers")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ParameterError(name, f"{str(path)!r}: array {key} holds non-finite values (NaN or infinite)")
    try:
        net.load_state(arrays)
    except ParameterError as exc:  # (named the option, not the internal `model`)
        raise ParameterError(name, f"{str(path)!r}: {exc.message} by its architecture metadata") from None
    return SavedModel(net=net, metadata=metadata, arrays=arrays)
