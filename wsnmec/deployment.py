"""Node deployment: positions [m], initial energies [J] and battery capacities [J].

Notes
-----
Uniform deployment draws, from the replica's generator, one ``(N, 2)`` block of uniforms in [0, 1) in
C order, i.e. for node 0, 1, ... first its x then its y, as the MATLAB LEACH/SEP code does
(``S(i).xd = rand*xm; S(i).yd = rand*ym``): ``x_i = W u_{i,0}``, ``y_i = H u_{i,1}``.

SEP heterogeneity [1]_: the first ``round(m N)`` nodes (by index) are *advanced* and start with
``(1 + a) E0`` [J], the others with ``E0`` (the SEP code makes nodes ``1 .. m n`` advanced). The battery
capacity of a node is ``--battery`` when given, else its initial energy.

A positions CSV has a header and the columns ``x`` and ``y`` [m], optionally ``energy`` [J] (> 0) with the
initial energy of each node; one row per node, so the number of rows is the effective N. An ``energy``
column replaces E0 and cannot be combined with SEP heterogeneity.

References
----------
.. [1] G. Smaragdakis, I. Matta, A. Bestavros, "SEP: A Stable Election Protocol for clustered
   heterogeneous wireless sensor networks", Proc. SANPA, 2004.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .scenario import Scenario

CSV_COLUMNS = ("x", "y", "energy")


@dataclass(frozen=True)
class Deployment:
    """A deployed network.

    Attributes
    ----------
    x, y : float64[N]
        Node positions [m].
    energy : float64[N]
        Initial stored energy [J].
    capacity : float64[N]
        Battery capacity [J].
    advanced : bool[N]
        SEP advanced nodes.
    sink : (float, float)
        Sink position [m].
    """

    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    capacity: np.ndarray
    advanced: np.ndarray
    sink: tuple[float, float]

    @property
    def nodes(self) -> int:
        return int(self.x.shape[0])


def read_positions(path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a positions CSV (see module Notes); returns ``x``, ``y`` [m] and ``energy`` [J] or None.

    Raises
    ------
    ParameterError
        ``--positions`` for an unreadable file, a missing header/column, an unknown column, no rows,
        non-numeric or non-finite values, or a non-positive energy.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError("--positions", f"must be a readable CSV file; got {str(path)!r} ({exc})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParameterError(
            "--positions", f"must be a CSV with header x,y[,energy]; could not parse {str(path)!r} ({message})"
        ) from None
    columns = [str(c).strip().lower() for c in frame.columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or "x" not in columns or "y" not in columns or len(set(columns)) != len(columns):
        raise ParameterError(
            "--positions", f"must have the columns x,y and optionally energy; got columns {list(frame.columns)!r}"
        )
    frame.columns = columns
    if len(frame) == 0:
        raise ParameterError("--positions", f"must contain at least one node row; got none in {str(path)!r}")
    values = {}
    for column in columns:
        numbers = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(numbers)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ParameterError(
                "--positions",
                f"column {column} must hold finite numbers; got {frame[column].iloc[row]!r} in data row {row + 1}",
            )
        values[column] = numbers
    energy = values.get("energy")
    if energy is not None and (energy <= 0).any():
        row = int(np.flatnonzero(energy <= 0)[0])
        raise ParameterError(
            "--positions", f"column energy must be > 0 [J]; got {energy[row]!r} in data row {row + 1}"
        )
    return values["x"], values["y"], energy


def advanced_count(nodes: int, fraction: float) -> int:
    """Number of SEP advanced nodes, ``round(m N)`` (halves rounded up)."""
    return int(math.floor(fraction * nodes + 0.5))


def deploy(scenario: Scenario, rng: np.random.Generator) -> Deployment:
    """Deploy the network of ``scenario`` using ``rng`` (see module Notes).

    Parameters
    ----------
    scenario : Scenario
        Validated parameters (field [m], nodes, e0 [J], SEP m and a, battery [J], positions CSV).
    rng : numpy.random.Generator
        The replica's generator; uniform deployment draws ``2 N`` uniforms from it, a CSV none.
    """
    if scenario.positions is not None:
        x, y, csv_energy = read_positions(scenario.positions)
        x = np.ascontiguousarray(x)
        y = np.ascontiguousarray(y)
    else:
        width, height = scenario.field
        u = rng.random((scenario.nodes, 2))
        x = np.ascontiguousarray(u[:, 0] * width)
        y = np.ascontiguousarray(u[:, 1] * height)
        csv_energy = None
    n = x.shape[0]
    advanced = np.zeros(n, dtype=bool)
    if csv_energy is not None:
        if scenario.advanced_fraction > 0:
            raise ParameterError(
                "--advanced-fraction", "must be 0 when --positions has an energy column (the CSV sets the energies)"
            )
        energy = csv_energy.astype(np.float64, copy=True)
    else:
        advanced[: advanced_count(n, scenario.advanced_fraction)] = True
        energy = np.full(n, scenario.e0, dtype=np.float64)
        energy[advanced] = scenario.e0 * (1.0 + scenario.advanced_factor)
    if scenario.battery is not None:
        capacity = np.full(n, scenario.battery, dtype=np.float64)
    else:
        capacity = energy.copy()
    sx, sy = scenario.sink_position
    return Deployment(x=x, y=y, energy=energy, capacity=capacity, advanced=advanced, sink=(float(sx), float(sy)))
