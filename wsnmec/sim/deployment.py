"""Node deployment: positions [m], initial energies [J] and battery capacities [J].

Notes
-----
Uniform deployment draws, from the replica's generator, one ``(N, 2)`` block of uniforms in [0, 1) in
C order, i.e. for node 0, 1, ... first its x then its y, as the MATLAB LEACH/SEP code does
(``S(i).xd = rand*xm; S(i).yd = rand*ym``): ``x_i = W u_{i,0}``, ``y_i = H u_{i,1}``.

With ``--e0 LOW..HIGH`` the initial energies are drawn uniformly in [LOW, HIGH) [J], one uniform per node after
the positions (``E_i = LOW + (HIGH - LOW) u_i``); SEP advanced nodes then get ``(1 + a) E_i``.

SEP heterogeneity [1]_: the first ``round(m N)`` nodes (by index) are *advanced* and start with
``(1 + a) E0`` [J], the others with ``E0`` (the SEP code makes nodes ``1 .. m n`` advanced). The battery
capacity of a node is ``--battery`` when given, else its initial energy.

A positions CSV has a header and the columns ``x`` and ``y`` [m] (finite, >= 0), optionally ``energy`` [J]
(> 0) with the initial energy of each node; one row per node, each with exactly the header's number of
fields, so the number of rows is the effective N. A ``--battery`` must hold at least every node's initial
energy, and a ``--revive-threshold`` must not exceed the smallest capacity. An ``energy``
column replaces E0 and cannot be combined with SEP heterogeneity.

References
----------
.. [1] G. Smaragdakis, I. Matta, A. Bestavros, "SEP: A Stable Election Protocol for clustered
   heterogeneous wireless sensor networks", Proc. SANPA, 2004.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .limits import MAGNITUDE_LIMITS
from .scenario import Scenario, advanced_count, check_energy_limits

__all__ = ["CSV_COLUMNS", "Deployment", "advanced_count", "deploy", "read_positions", "read_positions_file"]

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
    positions_sha256 : str or None
        SHA-256 (hex) of the positions CSV as read, None for a uniform deployment.
    """

    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    capacity: np.ndarray
    advanced: np.ndarray
    sink: tuple[float, float]
    positions_sha256: str | None = None

    @property
    def nodes(self) -> int:
        return int(self.x.shape[0])


def _positions_error(message: str) -> ParameterError:
    return ParameterError("--positions", message)


def _raw(text: str) -> str:
    """A CSV field as the user wrote it, for error messages (quoted only when it is not printable)."""
    if text == "":
        return "an empty field"
    return text if text.isprintable() else repr(text)


def read_positions_file(path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """Read a positions CSV (see module Notes): ``x``, ``y`` [m], ``energy`` [J] or None, and the SHA-256
    (hex) of the file's bytes as read.

    Raises
    ------
    ParameterError
        ``--positions`` for an unreadable or empty file, a missing header/column, an unknown or repeated
        column, no rows, a row with the wrong number of fields, non-numeric or non-finite values, a negative
        coordinate or a non-positive energy. Rows are counted from 1 after the header (``data row N``).
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise _positions_error(f"must be a readable CSV file; got {str(path)!r} ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _positions_error(f"must be a UTF-8 text CSV file with header x,y[,energy]; {str(path)!r} is not text") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), skipinitialspace=True) if row]
    except csv.Error as exc:
        raise _positions_error(f"must be a CSV with header x,y[,energy]; could not parse {str(path)!r} ({exc})") from None
    if not rows:
        raise _positions_error(f"must be a CSV with header x,y[,energy]; {str(path)!r} is empty")
    header = rows[0]
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or "x" not in columns or "y" not in columns or len(set(columns)) != len(columns):
        raise _positions_error(f"must have the header x,y or x,y,energy; got {_raw(','.join(header))}")
    body = rows[1:]
    if not body:
        raise _positions_error(f"must contain at least one node row after the header; got none in {str(path)!r}")
    width = len(columns)
    for number, row in enumerate(body, start=1):
        if len(row) != width:
            raise _positions_error(
                f"data row {number} has {len(row)} fields, expected {width} ({','.join(columns)})"
            )
    values = {}
    for index, column in enumerate(columns):
        cells = [row[index].strip() for row in body]
        try:
            numbers = np.asarray(cells, dtype=np.float64)
        except ValueError:
            numbers = None
        if numbers is None:
            for number, cell in enumerate(cells, start=1):
                try:
                    float(cell)
                except ValueError:
                    raise _positions_error(
                        f"column {column} must hold finite numbers; got {_raw(cell)} in data row {number}"
                    ) from None
            raise _positions_error(f"column {column} must hold finite numbers")  # pragma: no cover
        bad = ~np.isfinite(numbers)
        if bad.any():
            number = int(np.flatnonzero(bad)[0])
            raise _positions_error(
                f"column {column} must hold finite numbers; got {_raw(cells[number])} in data row {number + 1}"
            )
        if column == "energy":
            bad = numbers <= 0
            if bad.any():
                number = int(np.flatnonzero(bad)[0])
                raise _positions_error(
                    f"column energy must be > 0 [J]; got {_raw(cells[number])} in data row {number + 1}"
                )
            bad = numbers > MAGNITUDE_LIMITS["energy_j"]
            if bad.any():
                number = int(np.flatnonzero(bad)[0])
                raise _positions_error(
                    f"column energy must be at most {MAGNITUDE_LIMITS['energy_j']:g} [J] (as --e0: larger values "
                    f"would overflow the energy accounting); got {_raw(cells[number])} in data row {number + 1}"
                )
        else:
            bad = numbers < 0
            if bad.any():
                number = int(np.flatnonzero(bad)[0])
                raise _positions_error(
                    f"column {column} must be >= 0 [m] (the field starts at 0,0); got {_raw(cells[number])} "
                    f"in data row {number + 1}"
                )
        values[column] = numbers
    return values["x"], values["y"], values.get("energy"), digest


def read_positions(path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a positions CSV (see module Notes); returns ``x``, ``y`` [m] and ``energy`` [J] or None.

    Raises
    ------
    ParameterError
        ``--positions`` for bad files (see :func:`read_positions_file`).
    """
    x, y, energy, _digest = read_positions_file(path)
    return x, y, energy


def deploy(scenario: Scenario, rng: np.random.Generator) -> Deployment:
    """Deploy the network of ``scenario`` using ``rng`` (see module Notes).

    Parameters
    ----------
    scenario : Scenario
        Validated parameters (field [m], nodes, e0 [J], SEP m and a, battery [J], positions CSV).
    rng : numpy.random.Generator
        The replica's generator; uniform deployment draws ``2 N`` uniforms from it, a CSV none.
    """
    digest = None
    if scenario.positions is not None:
        x, y, csv_energy, digest = read_positions_file(scenario.positions)
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
        if scenario.e0_high is None:
            energy = np.full(n, scenario.e0, dtype=np.float64)
            energy[advanced] = scenario.e0 * (1.0 + scenario.advanced_factor)
        else:
            # --e0 LOW..HIGH: one uniform per node after the positions
            energy = scenario.e0 + (scenario.e0_high - scenario.e0) * rng.random(n)
            energy[advanced] = energy[advanced] * (1.0 + scenario.advanced_factor)
    if scenario.battery is not None:
        capacity = np.full(n, scenario.battery, dtype=np.float64)
    else:
        capacity = energy.copy()
    check_energy_limits(scenario.battery, float(energy.max()), float(capacity.min()), scenario.revive_threshold)
    sx, sy = scenario.sink_position
    return Deployment(x=x, y=y, energy=energy, capacity=capacity, advanced=advanced, sink=(float(sx), float(sy)),
                      positions_sha256=digest)
