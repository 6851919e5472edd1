"""Limits checked before any work: magnitudes that would overflow, memory a run would need, output places.

Everything here runs before a simulation or a study starts, so that a problem too large for the machine, a
value that would overflow the energy accounting, or an output directory that cannot be written is refused
in one line (:class:`~wsnmec.errors.ParameterError`, exit code 2) instead of after minutes of work.

Magnitudes
    :func:`check_magnitudes` bounds every quantity of a :class:`~wsnmec.sim.scenario.Scenario` that enters
    the energy accounting (see :data:`MAGNITUDE_LIMITS`): stored energies stay below 1e12 J per node, so
    sums over 1e8 nodes and 1e5 rounds of harvest stay below 1e25 J, far from the float64 range (1.8e308).
    Field sides, sink coordinates and node positions are at most 1e9 m (``distance_m``), so squared and
    fourth-power distances stay finite in every policy and in the bound (a 1e160 m field once made k_opt NaN
    in ddnn); link costs ``packet_bits (e_elec + eps d^n)`` may still exceed what a node holds, and the kernel
    clips what a node spends at what it holds. :func:`check_finite` is the last line of defence: a non-finite
    number in a result is an error naming the quantity, never printed or written.

Memory
    :func:`run_memory_estimate` and :func:`study_memory_estimate` estimate peak memory from the problem's
    sizes (no allocation); :func:`check_memory` compares the estimate with the memory available
    (``MemAvailable`` of ``/proc/meminfo``; the environment variable ``WSNMEC_AVAILABLE_MEMORY`` [bytes]
    overrides it, for tests) and refuses, naming the options to change, unless ``--force`` is given.

Output directories
    :func:`probe_output_dir` rejects empty paths, creates the directory (and its missing parents), creates
    and removes a probe file in it, and removes again the directories it created: a directory that cannot
    be written is refused before any work, and nothing is left behind.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
from pathlib import Path

from .errors import ParameterError

#: Largest allowed magnitude of each scenario quantity that enters the energy accounting.
MAGNITUDE_LIMITS = {
    "energy_j": 1e12,  # initial energy of a node (E0 (1 + a)), battery, revive threshold, harvest [J]
    "distance_m": 1e9,  # d0, field sides, sink coordinates, node positions [m]
    "packet_bits": 10**12,  # [bit]
    "radio_j_per_bit": 1.0,  # e_elec, e_da [J/bit], eps_fs [J/bit/m^2], eps_mp [J/bit/m^4]
}

#: Bytes of memory per node of a replica that is running (positions, energies, flags, the workspace of the
#: kernel with its nearest-cluster-head grid, the deployment's temporaries); see
#: :class:`wsnmec.sim.kernel.Workspace`.
BYTES_PER_NODE = 250
#: Bytes per row of the rounds table at its peak (the kernel's output rows, the per-replica frames and the
#: concatenated table exist at once: 64 + 96 + 96 bytes).
BYTES_PER_ROUND_ROW = 256
#: Bytes per row of a study's long-form rounds table in the parent (the table, the labels including the
#: 32-character task key, and the concatenation copy).
BYTES_PER_STUDY_ROW = 400
#: Bytes per task of a study in the parent beside its rows (each task's rounds and summary frames with
#: their labels before the concatenation, its cache record): measured, a 2,000-task study of 5-round tasks
#: (10,000 rows) peaked at 0.394 GB in the parent against 0.319 GB estimated from its rows alone.
BYTES_PER_STUDY_TASK = 72_000
#: Memory of a Python process with numpy, pandas and the compiled kernels loaded [bytes].
PROCESS_BASE_BYTES = 300 * 2**20

#: Environment variable overriding the available memory [bytes] (tests).
AVAILABLE_MEMORY_ENV = "WSNMEC_AVAILABLE_MEMORY"


def _too_large(parameter: str, limit: float, unit: str, value) -> ParameterError:
    return ParameterError(
        parameter, f"must be at most {limit:g} {unit} (larger values would overflow the energy accounting); got {value!r}"
    )


def check_magnitudes(scenario) -> None:
    """Refuse scenario values whose magnitudes could make an energy, a distance or a time overflow.

    Raises
    ------
    ParameterError
        Naming the option (``--e0``, ``--harvest constant energy``, ...) and its allowed maximum.
    """
    energy = MAGNITUDE_LIMITS["energy_j"]
    distance = MAGNITUDE_LIMITS["distance_m"]
    if scenario.e0 > energy:
        raise _too_large("--e0", energy, "J", scenario.e0)
    if scenario.e0 * (1.0 + scenario.advanced_factor) > energy:
        raise ParameterError(
            "--advanced-factor",
            f"must keep an advanced node's initial energy (1 + A) E0 at most {energy:g} J, i.e. A <= "
            f"{energy / scenario.e0 - 1.0:.6g} with --e0 {scenario.e0:g}; got {scenario.advanced_factor!r}",
        )
    for name in ("battery", "revive_threshold"):
        value = getattr(scenario, name)
        if value is not None and value > energy:
            raise _too_large("--" + name.replace("_", "-"), energy, "J", value)
    if scenario.packet_bits > MAGNITUDE_LIMITS["packet_bits"]:
        raise ParameterError(
            "--packet-bits", f"must be an integer in [1, {MAGNITUDE_LIMITS['packet_bits']}] [bit]; got "
            f"{_short(scenario.packet_bits)}",
        )
    # Field sides, sink coordinates and positions are bounded by distance_m when parsed (Scenario, positions
    # files): a link longer than a node's energy allows is clipped at the node's stored energy, and no squared
    # or fourth-power distance overflows; check_run_result catches what is left.
    if scenario.d0 is not None and scenario.d0 > distance:
        raise _too_large("--d0", distance, "m", scenario.d0)
    for name in ("e_elec", "eps_fs", "eps_mp", "e_da"):
        value = getattr(scenario, name)
        if value is not None and value > MAGNITUDE_LIMITS["radio_j_per_bit"]:
            raise ParameterError(
                "--" + name.replace("_", "-"),
                f"must be at most {MAGNITUDE_LIMITS['radio_j_per_bit']:g} (joules per bit; larger values would "
                f"overflow the energy accounting); got {value!r}",
            )
    model = scenario.harvest.model
    names, units = model.values, model.units
    for name, unit, value in zip(names, units, scenario.harvest.params):
        if unit.startswith("J") and value > energy:
            raise _too_large(f"--harvest {scenario.harvest.kind} {name}", energy, unit, value)


def _short(value) -> str:
    """A number as text, abbreviated when it has more than 30 digits."""
    text = str(value)
    return text if len(text) <= 30 else f"{text[:12]}... ({len(text)} digits)"


def check_finite(quantity: str, values, hint: str = "") -> None:
    """Raise :class:`ParameterError` naming ``quantity`` if any of ``values`` is NaN or infinite."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        example = array[bad].ravel()[0]
        raise ParameterError(
            quantity, f"is not finite ({example}) in {int(bad.sum())} value(s) of the result" + (f"; {hint}" if hint else "")
        )


def check_run_result(result) -> None:
    """Every number of a ``wsnmec run`` result finite (summary energies, per-round energies)."""
    hint = "the magnitudes of --field, --sink, --e0, --harvest or the radio constants overflow the energy accounting"
    import numpy as np

    replicas = result.replica_data()  # the summary rows and per-round columns, without building tables
    for column in ("energy_initial_j", "energy_harvested_j", "energy_consumed_j", "energy_residual_j"):
        check_finite(column, [replica["row"][column] for replica in replicas], hint)
    for column in ("residual_j", "consumed_j", "harvested_j"):
        if all(column in replica["columns"] for replica in replicas):
            check_finite(column, np.concatenate([replica["columns"][column] for replica in replicas]), hint)


# --- memory ----------------------------------------------------------------------------------------------


def available_memory() -> int | None:
    """Memory available to new allocations [bytes], or None when unknown."""
    override = os.environ.get(AVAILABLE_MEMORY_ENV)
    if override:
        try:
            return int(float(override))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def rounds_bound(scenario) -> int:
    """An upper bound on the rounds a replica simulates [rounds].

    ``--rounds`` when given. Otherwise, without harvesting, every alive node spends at least
    ``packet_bits x e_elec`` [J] per round (it transmits its packet, whatever the protocol), so the last node
    dies by round ``ceil(max initial energy / (packet_bits e_elec))``; with harvesting (or a zero ``e_elec``)
    the bound is the cap :data:`~wsnmec.sim.scenario.MAX_ROUNDS`.
    """
    cap = scenario.max_rounds
    if scenario.rounds is not None or scenario.harvest.kind != "none" or scenario.positions is not None:
        return cap
    e_elec = scenario.radio_model().e_elec
    per_round = scenario.packet_bits * e_elec
    if per_round <= 0:
        return cap
    largest = scenario.e0 * (1.0 + scenario.advanced_factor) if scenario.advanced_fraction > 0 else scenario.e0
    return int(min(cap, math.ceil(largest / per_round) + 1))


def _node_count(scenario) -> int:
    if scenario.positions is None:
        return scenario.nodes
    try:  # one line per node plus a header
        with open(scenario.positions, "rb") as handle:
            return max(1, sum(1 for _ in handle) - 1)
    except OSError:
        return scenario.nodes


def run_memory_estimate(scenario, replicas: int, workers: int) -> dict:
    """Estimated peak memory of ``simulate(scenario, replicas=replicas, workers=workers)`` [bytes].

    Returns a dict with ``nodes_bytes`` (nodes x replicas running at once x :data:`BYTES_PER_NODE`),
    ``rounds_bytes`` (rows of the rounds table, replicas x :func:`rounds_bound`, x
    :data:`BYTES_PER_ROUND_ROW`), ``total`` (their sum plus :data:`PROCESS_BASE_BYTES`), ``at_once`` and
    ``rows``.
    """
    at_once = max(1, min(workers, replicas))
    nodes = _node_count(scenario)
    rows = replicas * rounds_bound(scenario)
    nodes_bytes = nodes * at_once * BYTES_PER_NODE
    rounds_bytes = rows * BYTES_PER_ROUND_ROW
    return {
        "nodes_bytes": nodes_bytes, "rounds_bytes": rounds_bytes, "at_once": at_once, "rows": rows,
        "total": nodes_bytes + rounds_bytes + PROCESS_BASE_BYTES,
    }


def study_memory_estimate(spec, jobs: int) -> dict:
    """Estimated peak memory of running study ``spec`` with ``jobs`` local workers [bytes].

    The parent holds the long-form rounds table of every task (seeds x the sum over grid points of
    :func:`rounds_bound`, x :data:`BYTES_PER_STUDY_ROW`) and a frame overhead per task
    (:data:`BYTES_PER_STUDY_TASK`); each worker runs one task at a time (the largest
    task's nodes and rounds). Grid points are visited, not tasks (a point's seeds have the same bound).
    """
    rows = 0
    worst_task = 0
    for point in spec.points:
        scenario = spec.scenario(point)
        bound = rounds_bound(scenario)
        rows += bound * spec.seeds
        task = _node_count(scenario) * BYTES_PER_NODE + bound * BYTES_PER_ROUND_ROW
        worst_task = max(worst_task, task)
    tasks = len(spec.points) * spec.seeds  # (the points visited above, extra points included)
    parent = rows * BYTES_PER_STUDY_ROW + tasks * BYTES_PER_STUDY_TASK + PROCESS_BASE_BYTES
    workers = jobs * (worst_task + PROCESS_BASE_BYTES)
    return {"rows": rows, "parent_bytes": parent, "workers_bytes": workers, "total": parent + workers}


def _gb(count: float) -> str:
    return f"{count / 1e9:.3g} GB"


def check_memory(needed: int, what: str, parameter: str, options: str, force: bool,
                 force_option: str | None = "--force") -> None:
    """Refuse a job whose estimated peak memory ``needed`` [bytes] exceeds the available memory.

    Raises
    ------
    ParameterError
        ``parameter``: the estimate, the memory available and ``options`` to change (or ``force_option``,
        not named when None).
    """
    if force:
        return
    available = available_memory()
    if available is None or needed <= available:
        return
    raise ParameterError(
        parameter,
        f"{what} needs about {_gb(needed)} of memory but {_gb(available)} is available; reduce {options}"
        + (f" (or pass {force_option} to run anyway)" if force_option else ""),
    )


# --- output directories ------------------------------------------------------------------------------------


def _is_directory_or_missing(path: Path) -> bool:
    """One look (a single ``stat``): is ``path`` a directory or absent? (Not a file or other object.)"""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        return True


#: Characters the staging name of an output set adds to the directory's name (``.<name>.<8 random>.tmp``,
#: :func:`wsnmec.io.write_set`).
STAGING_NAME_EXTRA = 14


def _name_max(directory: Path) -> int:
    """Longest file name [bytes] the file system holding ``directory`` allows (255 when unknown)."""
    place = directory
    while not place.exists() and place.parent != place:
        place = place.parent
    try:
        return int(os.pathconf(place, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _check_staging_name(directory: Path, parameter: str, shown: str) -> None:
    """Refuse a directory whose name leaves no room for the staging name written beside it at the end."""
    if not directory.name:
        return
    try:
        if directory.is_symlink():  # written through the link (staged inside the target)
            return
    except OSError:  # e.g. a name too long to look up: checked below
        pass
    limit = _name_max(directory.parent)
    length = len(os.fsencode(directory.name))
    if length <= limit < length + STAGING_NAME_EXTRA:  # (a name over the limit itself: the probe says so)
        raise ParameterError(
            parameter, f"must have a last name of at most {limit - STAGING_NAME_EXTRA} bytes (output is staged "
            f"beside it under a name {STAGING_NAME_EXTRA} bytes longer, at most {limit}); {shown!r} has {length}",
        )


def probe_output_dir(path, parameter: str) -> Path:
    """Check that ``path`` can hold output: not empty, a directory (or creatable), writable.

    Creates the directory and its missing parents, creates and deletes a probe file in it, then removes the
    directories it created (so nothing is left behind when the work later fails on other input).

    Raises
    ------
    ParameterError
        Naming ``parameter``: an empty path, a path that is a file, a name too long, or a place where a
        file cannot be created (read-only, ``/proc``, no permission).
    """
    text = os.fspath(path) if path is not None else ""
    if not str(text).strip():
        raise ParameterError(parameter, f"must be a directory path, got an empty one ({text!r})")
    directory = Path(text)
    shown = text if len(text) <= 80 else text[:40] + "..." + text[-20:]
    _check_staging_name(directory, parameter, shown)
    created: list[Path] = []
    try:
        # Two runners starting on one new directory: the other's probe may remove the directory it made
        # (its clean-up below) while this one looks at it; a directory gone meanwhile is made again, once.
        for attempt in range(2):
            if not _is_directory_or_missing(directory):
                raise ParameterError(parameter, f"must be a directory (existing or new); {shown!r} is a file")
            missing = []
            parent = directory
            while not parent.exists():
                missing.append(parent)
                if parent.parent == parent:
                    break
                parent = parent.parent
            for folder in reversed(missing):
                try:
                    folder.mkdir()
                    created.append(folder)
                except FileExistsError:  # another process (e.g. a second runner) made it meanwhile
                    if not folder.is_dir():
                        raise
            try:
                fd, probe = tempfile.mkstemp(prefix=".wsnmec-probe-", dir=directory)
            except FileNotFoundError:
                if attempt == 0 and not directory.exists():
                    continue
                raise
            os.close(fd)
            os.unlink(probe)
            break
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ParameterError(parameter, f"must be a writable directory; cannot create files in {shown!r}: {reason}") from None
    finally:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
    return directory
