"""Reading the published DDLO data set (MATLAB v5 .mat: ``task_size``, ``gain_min``, ``gain_mode``).

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
