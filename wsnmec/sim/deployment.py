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

Generated layouts (``--deployment``, :func:`parse_deployment`; W x H is the field [m], N the node count;
every random number comes from the replica's generator, and every position lies in the closed field
[0, W] x [0, H]):

``uniform`` (the default)
    The draws above: one ``(N, 2)`` block of uniforms, ``x_i = W u_{i,0}``, ``y_i = H u_{i,1}``.
``grid``
    A lattice of ``C = min(N, ceil(sqrt(N W / H)))`` columns and ``R = ceil(N / C)`` rows (as near to square
    cells as the aspect ratio allows), nodes at the cell centres ``x = (c + 1/2) W / C``,
    ``y = (r + 1/2) H / R``, filled row by row from ``y`` small to large and, in a row, from ``x`` small to
    large: node ``i`` sits in row ``i // C``, column ``i % C``. When N is not ``R C`` the last row holds the
    remaining ``N - (R - 1) C`` nodes at the left (the lattice's first columns), so every node lies on the
    same lattice, spacing ``W / C`` along x and ``H / R`` along y (equal when ``W / C = H / R``, e.g. N a
    square in a square field). Deterministic: draws no random number.
``gaussian:SIGMA``
    Around the field centre ``(W/2, H/2)`` with standard deviation SIGMA [m] on each axis, a point falling
    outside the field redrawn. Redrawing a point of an isotropic Gaussian until it lies in a rectangle gives
    the product of the two axes' normals truncated to [0, W] and [0, H]; they are drawn exactly by inverse
    transform from one ``(N, 2)`` block of uniforms (C order, as ``uniform``): with ``Phi`` the standard normal
    distribution function, ``a = Phi((0 - mu) / SIGMA)``, ``b = Phi((W - mu) / SIGMA)``,
    ``x = mu + SIGMA Phi^{-1}(a + (b - a) u)`` (likewise y with H), then clipped to the field (which only
    rounding can leave). So a draw never loops, whatever SIGMA.
``clusters:K,SIGMA``
    K centres uniform in the field (one ``(K, 2)`` block of uniforms, as ``uniform``), then each node picks a
    centre uniformly (``N`` integers in [0, K) from ``rng.integers``) and is placed around it with a Gaussian
    offset of standard deviation SIGMA [m] per axis, the offset redrawn while the node falls outside the field
    (the node keeps its centre): drawn exactly as ``gaussian`` with ``mu`` the node's centre, from one
    ``(N, 2)`` block of uniforms. K is an integer >= 1 (it may exceed N: then some centres have no node).
``corridor:WIDTH``
    Uniform in the horizontal strip of height WIDTH [m] (``0 < WIDTH <= H``) centred on the field's
    mid-height: ``x_i = W u_{i,0}``, ``y_i = H/2 - WIDTH/2 + WIDTH u_{i,1}`` from the same ``(N, 2)`` block as
    ``uniform`` (so ``corridor:H`` is ``uniform`` draw for draw).

SIGMA and WIDTH are finite numbers > 0 [m], at most 1e9 m; a ``--positions`` CSV needs ``--deployment uniform``
(the default). In studies with ``scale_field = true`` the field scales with N but SIGMA and WIDTH stay as given.
The config records the deployment in its canonical form (``deployment``: e.g. ``clusters:4,10.0``).

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
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..limits import MAGNITUDE_LIMITS
from .scenario import Scenario, advanced_count, check_energy_limits

__all__ = ["CSV_COLUMNS", "DEPLOYMENT_FORMS", "DEPLOYMENT_KINDS", "DEPLOYMENT_SYNTAX", "Deployment", "DeploymentSpec", "advanced_count",
           "deploy", "generate_positions", "parse_deployment", "read_positions", "read_positions_file"]

CSV_COLUMNS = ("x", "y", "energy")

#: Generated layouts of ``--deployment`` (module Notes).
#: Each layout's name and its form with arguments (module Notes).
DEPLOYMENT_FORMS = {"uniform": "uniform", "grid": "grid", "gaussian": "gaussian:SIGMA",
                    "clusters": "clusters:K,SIGMA", "corridor": "corridor:WIDTH"}
DEPLOYMENT_KINDS = tuple(DEPLOYMENT_FORMS)
#: What ``--deployment`` accepts, for error messages and help.
DEPLOYMENT_SYNTAX = ("uniform, grid, gaussian:SIGMA, clusters:K,SIGMA or corridor:WIDTH "
                     "(SIGMA, WIDTH [m] numbers > 0; K an integer >= 1)")
#: Largest SIGMA / WIDTH [m] (the magnitude limit of a distance, :data:`wsnmec.limits.MAGNITUDE_LIMITS`).
_MAX_LENGTH_M = MAGNITUDE_LIMITS["distance_m"]
#: Largest K of ``clusters:K,SIGMA`` (the largest ``--nodes``).
_MAX_CLUSTERS = 100_000_000


@dataclass(frozen=True)
class DeploymentSpec:
    """A parsed ``--deployment`` (module Notes).

    Attributes
    ----------
    kind : str
        One of :data:`DEPLOYMENT_KINDS`.
    sigma : float or None
        Standard deviation per axis [m] (``gaussian``, ``clusters``).
    clusters : int or None
        Number of cluster centres K (``clusters``).
    width : float or None
        Corridor width [m] (``corridor``).
    """

    kind: str = "uniform"
    sigma: float | None = None
    clusters: int | None = None
    width: float | None = None

    def __str__(self) -> str:
        """The canonical text (what the config records), e.g. ``clusters:4,10.0``."""
        if self.kind == "gaussian":
            return f"gaussian:{self.sigma!r}"
        if self.kind == "clusters":
            return f"clusters:{self.clusters},{self.sigma!r}"
        if self.kind == "corridor":
            return f"corridor:{self.width!r}"
        return self.kind


def parse_deployment(value, field: tuple[float, float] | None = None) -> DeploymentSpec:
    """Parse ``--deployment`` ``NAME[:ARGS]`` (module Notes) into a :class:`DeploymentSpec`.

    Parameters
    ----------
    value : str or DeploymentSpec
        ``uniform``, ``grid``, ``gaussian:SIGMA``, ``clusters:K,SIGMA`` or ``corridor:WIDTH`` (SIGMA, WIDTH [m]).
    field : (float, float), optional
        Field width and height [m]; when given, a corridor wider than the field's height is refused.

    Raises
    ------
    ParameterError
        ``--deployment``, one line naming what is allowed, for an unknown name, a wrong number of arguments
        or an argument out of range.
    """
    if isinstance(value, DeploymentSpec):
        value = str(value)
    if not isinstance(value, str):
        raise ParameterError("--deployment", f"must be one of {DEPLOYMENT_SYNTAX}; got {value!r}")
    text = value.strip()
    name, colon, rest = text.partition(":")
    name = name.strip().lower()
    args = [a.strip() for a in rest.split(",")] if colon else []
    syntax = DEPLOYMENT_FORMS
    if name not in syntax:
        raise ParameterError("--deployment", f"must be one of {DEPLOYMENT_SYNTAX}; got {value!r}")
    _, takes, form_args = syntax[name].partition(":")
    arity = len(form_args.split(",")) if takes else 0
    if len(args) != arity:
        count = ("no arguments", "one argument", "two arguments")[arity]
        raise ParameterError("--deployment", f"{name} takes {count} ({syntax[name]}; allowed: {DEPLOYMENT_SYNTAX}); "
                                             f"got {value!r}")

    def length(text_value: str, what: str) -> float:
        try:
            number = float(text_value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and 0.0 < number <= _MAX_LENGTH_M):
            raise ParameterError("--deployment", f"{what} of {syntax[name]} must be a number > 0 and <= "
                                                 f"{_MAX_LENGTH_M:g} [m]; got {value!r}")
        return number

    if name == "gaussian":
        return DeploymentSpec("gaussian", sigma=length(args[0], "SIGMA"))
    if name == "clusters":
        try:
            count = int(args[0])
        except ValueError:
            count = 0
        if not 1 <= count <= _MAX_CLUSTERS:
            raise ParameterError("--deployment", f"K of clusters:K,SIGMA must be an integer in [1, {_MAX_CLUSTERS}]; "
                                                 f"got {value!r}")
        return DeploymentSpec("clusters", sigma=length(args[1], "SIGMA"), clusters=count)
    if name == "corridor":
        width = length(args[0], "WIDTH")
        if field is not None and width > field[1]:
            raise ParameterError("--deployment", f"WIDTH of corridor:WIDTH must be <= the field height "
                                                 f"{field[1]!r} [m] (--field W,H); got {value!r}")
        return DeploymentSpec("corridor", width=width)
    return DeploymentSpec(name)


def _truncated_normal(mu: np.ndarray, sigma: float, upper: float, u: np.ndarray) -> np.ndarray:
    """Normal(mu, sigma) truncated to [0, upper] [m] by inverse transform of the uniforms ``u`` (module Notes)."""
    from scipy.special import ndtr, ndtri

    low = ndtr((0.0 - mu) / sigma)
    high = ndtr((upper - mu) / sigma)
    values = mu + sigma * ndtri(low + (high - low) * u)
    return np.clip(values, 0.0, upper)


def generate_positions(spec: DeploymentSpec, field: tuple[float, float], nodes: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Node positions ``x``, ``y`` [m] of a generated layout (module Notes) in the field ``(W, H)`` [m].

    ``uniform`` draws exactly what :func:`deploy` always drew (``rng.random((N, 2))``), so its positions, and
    every draw after them, are unchanged.
    """
    width, height = field
    if spec.kind == "grid":
        ideal = math.sqrt(nodes * (width / height))  # (inf for an extreme aspect ratio: one row)
        columns = max(1, math.ceil(ideal)) if ideal < nodes else nodes
        rows = -(-nodes // columns)
        index = np.arange(nodes)
        x = (index % columns + 0.5) * (width / columns)
        y = (index // columns + 0.5) * (height / rows)
        return np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)
    if spec.kind == "clusters":
        centres = rng.random((spec.clusters, 2)) * np.array([width, height])
        pick = rng.integers(0, spec.clusters, nodes)
        u = rng.random((nodes, 2))
        x = _truncated_normal(centres[pick, 0], spec.sigma, width, u[:, 0])
        y = _truncated_normal(centres[pick, 1], spec.sigma, height, u[:, 1])
        return np.ascontiguousarray(x), np.ascontiguousarray(y)
    u = rng.random((nodes, 2))
    if spec.kind == "gaussian":
        x = _truncated_normal(np.full(nodes, width / 2.0), spec.sigma, width, u[:, 0])
        y = _truncated_normal(np.full(nodes, height / 2.0), spec.sigma, height, u[:, 1])
        return np.ascontiguousarray(x), np.ascontiguousarray(y)
    if spec.kind == "corridor":
        x = u[:, 0] * width
        y = np.clip(height / 2.0 - spec.width / 2.0 + spec.width * u[:, 1], 0.0, height)
        return np.ascontiguousarray(x), np.ascontiguousarray(y)
    return np.ascontiguousarray(u[:, 0] * width), np.ascontiguousarray(u[:, 1] * height)


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
        SHA-256 (hex) of the positions CSV as read, None for a generated deployment (``--deployment``).
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
        if column == "energy":
            limits = ((lambda v: v <= 0, "must be > 0 [J]"),
                      (lambda v: v > MAGNITUDE_LIMITS["energy_j"],
                       f"must be at most {MAGNITUDE_LIMITS['energy_j']:g} [J] (as --e0: larger values would overflow "
                       "the energy accounting)"))
        else:
            limits = ((lambda v: v < 0, "must be >= 0 [m] (the field starts at 0,0)"),
                      (lambda v: v > MAGNITUDE_LIMITS["distance_m"],
                       f"must be at most {MAGNITUDE_LIMITS['distance_m']:g} [m] (as --field: larger values would "
                       "overflow the distances)"))
        for refused, requirement in ((lambda v: ~np.isfinite(v), "must hold finite numbers"), *limits):
            bad = refused(numbers)  # in this order: each test sees only finite numbers after the first
            if bad.any():
                number = int(np.flatnonzero(bad)[0])
                raise _positions_error(
                    f"column {column} {requirement}; got {_raw(cells[number])} in data row {number + 1}"
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
        Validated parameters (field [m], nodes, e0 [J], SEP m and a, battery [J], positions CSV, deployment).
    rng : numpy.random.Generator
        The replica's generator; uniform deployment draws ``2 N`` uniforms from it, a CSV none, the other
        layouts what the module Notes list.
    """
    digest = None
    if scenario.positions is not None:
        x, y, csv_energy, digest = read_positions_file(scenario.positions)
        x = np.ascontiguousarray(x)
        y = np.ascontiguousarray(y)
    else:
        spec = parse_deployment(getattr(scenario, "deployment", "uniform"), scenario.field)
        x, y = generate_positions(spec, scenario.field, scenario.nodes, rng)
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
