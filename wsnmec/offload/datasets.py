"""Reading the published DDLO and DROO data sets (MATLAB v5 .mat files).

DDLO (:func:`load_ddlo`): ``task_size``, ``gain_min``, ``gain_mode``. DROO (:func:`load_droo`):
``input_h``, ``output_mode``, ``output_a``, ``output_tau``, ``output_obj``.

The file of Huang et al. (DDLO, Mobile Networks and Applications 2018; MIT License, Copyright (c) 2018
Liang HUANG) holds, for S samples of N devices x M tasks: ``task_size`` [S, N*M] task sizes D_ij [MB]
(row-major over device, task), ``gain_min`` [1, S] the minimum system cost Q* [J] and ``gain_mode``
[S, N*M] an optimal binary decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class DDLODataset:
    """The arrays of a DDLO .mat file.

    Attributes
    ----------
    task_size : numpy.ndarray [S, n] float64
        Task sizes D_ij [MB].
    gain_min : numpy.ndarray [S] float64
        The published minimum system cost Q* [J].
    gain_mode : numpy.ndarray [S, n] uint8
        A published optimal decision (1 = offload).
    path : str
    """

    task_size: np.ndarray
    gain_min: np.ndarray
    gain_mode: np.ndarray
    path: str

    @property
    def samples(self) -> int:
        return self.task_size.shape[0]

    @property
    def n_decisions(self) -> int:
        return self.task_size.shape[1]


#: Largest task size accepted from a data file [MB] (that of ``--param size_max``).
MAX_DATASET_TASK_SIZE = 1e9


def _real_array(value, variable: str, name: str) -> np.ndarray:
    """A numeric (bool, integer or real float) MATLAB array as float64; strings, cells, structs, objects and
    complex arrays are refused in one line naming the variable."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind not in "biuf":
        what = {"U": "a string", "S": "a string", "O": "a cell array or object", "V": "a struct", "c": "complex"}
        raise ParameterError(
            name, f"{variable} must be a real numeric array, got {what.get(kind, 'dtype ' + str(array.dtype))}"
        )
    return array.astype(np.float64)


def load_ddlo(path, n_decisions: int | None = None, name: str = "--dataset") -> DDLODataset:
    """Read and validate a DDLO data file.

    Parameters
    ----------
    path : str or os.PathLike
    n_decisions : int, optional
        The model's N*M; the file's second dimension must equal it.
    name : str
        Parameter name used in error messages.

    Raises
    ------
    ParameterError
        Unreadable file, missing variables, wrong shapes or values (sizes not finite and >= 0, decisions
        not 0/1, minima not finite).
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        data = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a bad file
        raise ParameterError(name, f"cannot read {str(path)!r} as a MATLAB .mat file ({type(exc).__name__})") from None
    missing = [k for k in ("task_size", "gain_min", "gain_mode") if k not in data]
    if missing:
        raise ParameterError(name, f"{str(path)!r} lacks variable(s) {', '.join(missing)}")
    task_size = _real_array(data["task_size"], "task_size", name)
    gain_mode = _real_array(data["gain_mode"], "gain_mode", name)
    gain_min = _real_array(data["gain_min"], "gain_min", name)
    if task_size.ndim != 2 or task_size.shape[0] < 1 or task_size.shape[1] < 1:
        raise ParameterError(name, f"task_size must be a 2-D array [S, n], got shape {task_size.shape}")
    samples, n = task_size.shape
    if gain_mode.shape != task_size.shape:
        raise ParameterError(name, f"gain_mode must have shape {task_size.shape}, got {gain_mode.shape}")
    if gain_min.size != samples or (gain_min.ndim == 2 and 1 not in gain_min.shape) or gain_min.ndim > 2:
        raise ParameterError(name, f"gain_min must hold {samples} values ([1, S] or [S]), got shape {gain_min.shape}")
    if n_decisions is not None and n != n_decisions:
        raise ParameterError(
            name, f"task_size has {n} columns but the model has --devices x --tasks = {n_decisions} decisions"
        )
    if not np.all(np.isfinite(task_size)) or np.any(task_size < 0):
        raise ParameterError(name, "task_size must be finite and >= 0")
    if np.any(task_size > MAX_DATASET_TASK_SIZE):
        raise ParameterError(name, f"task_size must be at most {MAX_DATASET_TASK_SIZE:g} MB (larger sizes overflow the costs)")
    if not np.any(task_size > 0):
        raise ParameterError(name, "task_size must hold at least one size > 0 (every cost is 0: nothing to decide)")
    if not np.all((gain_mode == 0) | (gain_mode == 1)):
        raise ParameterError(name, "gain_mode must hold only 0 and 1")
    if not np.all(np.isfinite(gain_min)):
        raise ParameterError(name, "gain_min must be finite")
    return DDLODataset(
        task_size=np.ascontiguousarray(task_size),
        gain_min=np.ascontiguousarray(gain_min.ravel()),
        gain_mode=np.ascontiguousarray(gain_mode.astype(np.uint8)),
        path=str(path),
    )


@dataclass(frozen=True)
class DROODataset:
    """The arrays of a DROO .mat file (Huang, Bi, Zhang, IEEE TMC 2020; MIT License, Copyright (c) 2018
    REVENOL): S samples of N wireless devices.

    Attributes
    ----------
    input_h : numpy.ndarray [S, N] float64
        Channel gains h [-].
    output_mode : numpy.ndarray [S, N] uint8
        The published optimal decision (1 = offload).
    output_a : numpy.ndarray [S]
        Its energy-transfer fraction a [-].
    output_tau : numpy.ndarray [S, N]
        Its offloading time fractions [-].
    output_obj : numpy.ndarray [S]
        The published maximal weighted sum computation rate [bit/s].
    path : str
    """

    input_h: np.ndarray
    output_mode: np.ndarray
    output_a: np.ndarray
    output_tau: np.ndarray
    output_obj: np.ndarray
    path: str

    @property
    def samples(self) -> int:
        return self.input_h.shape[0]

    @property
    def devices(self) -> int:
        return self.input_h.shape[1]


def load_droo(path, devices: int | None = None, name: str = "--dataset") -> DROODataset:
    """Read and validate a DROO data file (``input_h``, ``output_mode``, ``output_a``, ``output_tau``,
    ``output_obj``).

    Parameters
    ----------
    path : str or os.PathLike
    devices : int, optional
        The model's N; ``input_h`` must have N columns.
    name : str
        Parameter name used in error messages.

    Raises
    ------
    ParameterError
        Unreadable file, missing variables, wrong shapes or values (gains not finite and > 0, decisions
        not 0/1, a and tau not finite in [0, 1], rates not finite).
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        data = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a bad file
        raise ParameterError(name, f"cannot read {str(path)!r} as a MATLAB .mat file ({type(exc).__name__})") from None
    fields = ("input_h", "output_mode", "output_a", "output_tau", "output_obj")
    missing = [k for k in fields if k not in data]
    if missing:
        raise ParameterError(name, f"{str(path)!r} lacks variable(s) {', '.join(missing)} (a DROO data file holds {', '.join(fields)})")
    h = _real_array(data["input_h"], "input_h", name)
    if h.ndim != 2 or h.shape[0] < 1 or h.shape[1] < 1:
        raise ParameterError(name, f"input_h must be a 2-D array [S, N], got shape {h.shape}")
    samples, n = h.shape
    if devices is not None and n != devices:
        raise ParameterError(name, f"input_h has {n} columns but --devices is {devices}")
    mode = _real_array(data["output_mode"], "output_mode", name)
    tau = _real_array(data["output_tau"], "output_tau", name)
    for key, arr in (("output_mode", mode), ("output_tau", tau)):
        if arr.shape != h.shape:
            raise ParameterError(name, f"{key} must have shape {h.shape}, got {arr.shape}")
    vectors = {}
    for key in ("output_a", "output_obj"):
        arr = _real_array(data[key], key, name)
        if arr.size != samples or arr.ndim > 2 or (arr.ndim == 2 and 1 not in arr.shape):
            raise ParameterError(name, f"{key} must hold {samples} values ([S, 1] or [S]), got shape {arr.shape}")
        vectors[key] = np.ascontiguousarray(arr.ravel())
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ParameterError(name, "input_h must be finite and > 0")
    if not np.all((mode == 0) | (mode == 1)):
        raise ParameterError(name, "output_mode must hold only 0 and 1")
    for key, arr in (("output_a", vectors["output_a"]), ("output_tau", tau)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1 + 1e-9):
            raise ParameterError(name, f"{key} must be finite and in [0, 1]")
    if not np.all(np.isfinite(vectors["output_obj"])):
        raise ParameterError(name, "output_obj must be finite")
    return DROODataset(
        input_h=np.ascontiguousarray(h), output_mode=np.ascontiguousarray(mode.astype(np.uint8)),
        output_a=vectors["output_a"], output_tau=np.ascontiguousarray(tau), output_obj=vectors["output_obj"],
        path=str(path),
    )
