"""Turning a simulation result into what a user sees: the ``--json`` object, the readable summary and the
``--out`` files of ``wsnmec run``.

Everything here reads the tables of a :class:`~wsnmec.sim.simulation.SimulationResult` (``config``, ``rounds``,
``summary``; the JSON object and the summary read the same values through
:meth:`~wsnmec.sim.simulation.SimulationResult.replica_data`, without pandas, so that ``wsnmec run`` without
``--out`` never imports it); nothing is recomputed that the tables do not hold, except the mean and 95 %
confidence interval of the lifetime metrics over replicas (:func:`wsnmec.sim.metrics.mean_ci`).

Output files of ``--out DIR`` (see :data:`RUN_FILES`):

``rounds.parquet``
    The per-round long-form table (one row per replica and round).
``summary.parquet``
    One row per replica: seed, FND, HND, LND, rounds, energies [J]; then (:data:`SUMMARY_EXTRA_COLUMNS`)
    the stability period [rounds], bits and packets delivered to the sink (run totals and per-round means)
    and, with ``--lifetime-threshold PCT``, the threshold [%] and the lifetime at it [round].
``nodes.parquet``
    One row per replica and node (:data:`wsnmec.sim.simulation.NODE_COLUMNS`): id, position [m], initial
    energy [J], death round (NaN when alive at the end), residual energy at the end [J].
``config.json``
    Every effective parameter of the run, the seed of every replica and the wsnmec version.

With ``--format csv`` the three tables are ``rounds.csv``, ``summary.csv`` and ``nodes.csv`` (the same
columns and values; a missing value is an empty field).

The files are written as a set into a temporary directory beside ``DIR`` and swapped in
(:func:`wsnmec.io.write_set`, which states the guarantee and its limits), so an interrupted write never
leaves a half file or a mix of two runs and never damages the previous versions; other files in ``DIR`` are
left alone.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from .. import io
from ..errors import ParameterError
from .metrics import mean_ci

#: Files written by ``wsnmec run --out DIR`` (with the default ``--format parquet``; ``nodes.parquet`` too
#: when the result holds the per-node table), in writing order.
RUN_FILES = ("rounds.parquet", "summary.parquet", "config.json")

#: ``--format`` choices of the tables ``wsnmec run --out`` writes.
TABLE_FORMATS = ("parquet", "csv")

#: Columns added to the summary table written by ``--out`` (after :data:`wsnmec.sim.columns.SUMMARY_COLUMNS`):
#: the stability period [rounds] (:func:`wsnmec.sim.metrics.stability_period`), packets delivered to the sink
#: over the run, and the per-round means of delivered bits [bit] and packets; with ``--lifetime-threshold``
#: also ``lifetime_threshold_pct`` [%] and ``lifetime_threshold_round`` [round].
SUMMARY_EXTRA_COLUMNS = ("stability_period", "packets_to_sink_total", "delivered_bits_per_round_mean",
                         "packets_to_sink_per_round_mean")

#: Keys of the ``delivered`` entry of a replica (data delivered to the sink) -> column of :func:`summary_table`.
DELIVERED_COLUMNS = {
    "bits_total": "delivered_bits_total",
    "bits_per_round_mean": "delivered_bits_per_round_mean",
    "packets_total": "packets_to_sink_total",
    "packets_per_round_mean": "packets_to_sink_per_round_mean",
}

#: Summary columns holding the energy totals of a replica [J], and their keys in the JSON ``energy`` object.
ENERGY_COLUMNS = {
    "initial": "energy_initial_j",
    "harvested": "energy_harvested_j",
    "consumed": "energy_consumed_j",
    "residual": "energy_residual_j",
    "stored": "energy_stored_j",
}

#: Keys of the ``utility`` entry of a replica (per-round means, and the total delivered bits) -> summary column.
UTILITY_COLUMNS = {
    "energy_j": "energy_j_mean",
    "latency_s": "latency_s_mean",
    "system_utility": "system_utility_mean",
    "delivered_bits": "delivered_bits_total",
}

LIFETIME_COLUMNS = ("fnd", "hnd", "lnd")


def jsonable(value):
    """``value`` with numpy/pandas scalars, arrays and tuples turned into plain JSON types.

    Missing values (``None``, ``pd.NA``, NaN) become ``None`` (JSON ``null``); infinities are kept as
    strings ``"inf"``/``"-inf"`` because JSON has no number for them.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if value is None or _is_pandas_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return number
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if hasattr(value, "item"):  # other numpy scalar types
        return jsonable(value.item())
    return str(value)


def _is_pandas_missing(value) -> bool:
    """Whether ``value`` is pandas' ``NA`` or ``NaT`` (never, when pandas was not imported)."""
    pd = sys.modules.get("pandas")
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _optional_int(value) -> int | None:
    """An int, or ``None`` for a missing value (pandas ``<NA>``, NaN, ``None``)."""
    if value is None or _is_pandas_missing(value):
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    return int(value)


def _alive_by_replica(rounds) -> dict[int, list[int]]:
    """Alive count at the end of rounds 1, 2, ... for each replica index."""
    out: dict[int, list[int]] = {}
    if rounds.empty:
        return out
    ordered = rounds.sort_values(["replica", "round"], kind="stable")
    for replica, group in ordered.groupby("replica", sort=True):
        out[int(replica)] = [int(v) for v in group["alive"].to_numpy()]
    return out


def summary_table(result, lifetime_threshold: float | None = None):
    """The per-replica summary as ``--out`` writes it: ``result.summary`` (every column kept) followed by
    :data:`SUMMARY_EXTRA_COLUMNS`, computed from the rounds table, and with ``lifetime_threshold`` (a
    percent in (0, 100]) ``lifetime_threshold_pct`` and ``lifetime_threshold_round`` (nullable Int64: the
    first round at whose end at least that percent of the nodes were dead,
    :func:`wsnmec.sim.metrics.lifetime_at_threshold`)."""
    import pandas as pd

    from .metrics import lifetime_at_threshold, stability_period

    table = result.summary.sort_values("replica", kind="stable").reset_index(drop=True).copy()
    rounds = result.rounds
    grouped = rounds.groupby("replica", sort=True)
    packets_total = grouped["packets_to_sink"].sum()
    bits_mean = grouped["delivered_bits"].mean()
    packets_mean = grouped["packets_to_sink"].mean()
    replicas = table["replica"]
    table["stability_period"] = pd.array([stability_period(_optional_int(v)) for v in table["fnd"]], dtype="Int64")
    table["packets_to_sink_total"] = replicas.map(packets_total).fillna(0).astype(np.int64).to_numpy()
    table["delivered_bits_per_round_mean"] = replicas.map(bits_mean).astype(float).to_numpy()
    table["packets_to_sink_per_round_mean"] = replicas.map(packets_mean).astype(float).to_numpy()
    if lifetime_threshold is not None:
        alive = _alive_by_replica(rounds)
        nodes = int(result.config["nodes"])
        table["lifetime_threshold_pct"] = float(lifetime_threshold)
        table["lifetime_threshold_round"] = pd.array(
            [lifetime_at_threshold(alive.get(int(r), []), nodes, lifetime_threshold) for r in replicas],
            dtype="Int64")
    return table


def replica_records(result, lifetime_threshold: float | None = None) -> list[dict]:
    """One dict per replica, in replica order, with the keys of the ``--json`` ``replicas`` entries.

    Keys: ``seed`` (int), ``fnd``, ``hnd``, ``lnd`` (int round numbers or ``None`` when not reached),
    ``rounds`` (rounds simulated), ``energy`` (``initial``, ``harvested``, ``consumed``, ``residual`` [J],
    ``stored`` [J]: the signed stored energy, which differs from ``residual`` only under ``matlab``
    semantics), ``alive`` (alive nodes at the end of round 1, 2, ...), ``utility`` (per-round means:
    ``energy_j`` [J], ``latency_s`` [s], ``system_utility`` [J]; ``delivered_bits`` [bit] in total, a key
    kept from before ``delivered``), ``stability_period`` (rounds before the first death, ``FND - 1``;
    ``None`` when no node died), ``delivered`` (to the sink: ``bits_total`` [bit], ``bits_per_round_mean``
    [bit], ``packets_total``, ``packets_per_round_mean``) and, with ``lifetime_threshold``,
    ``lifetime_threshold`` (``percent`` [%] and ``round``: the first round at whose end at least that
    percent of the nodes were dead, ``None`` when not reached). ``offload_fallback_rounds``: the rounds that
    ``--offload exact`` decided as ``greedy`` because they had more heads than it optimises jointly
    (:data:`wsnmec.sim.accounting.EXACT_SHARED_MAX_HEADS` under the shared medium,
    :data:`~wsnmec.sim.accounting.EXACT_MAX_HEADS` otherwise; 0 under the other rules).
    """
    from .metrics import lifetime_at_threshold, stability_period

    nodes = int(result.config["nodes"])
    records = []
    for replica in result.replica_data():
        row, columns = replica["row"], replica["columns"]
        count = columns["alive"].shape[0]
        # per-round sums and means as summary_table computes them; the columns hold whole numbers (packets,
        # bits of whole packets), so every partial sum is exact and the order of summation does not matter
        packets_total = int(columns["packets_to_sink"].sum())
        fnd = _optional_int(row["fnd"])
        record = {
            "seed": int(row["seed"]),
            "fnd": fnd,
            "hnd": _optional_int(row["hnd"]),
            "lnd": _optional_int(row["lnd"]),
            "rounds": int(row["rounds"]),
            "energy": {key: float(row[column]) for key, column in ENERGY_COLUMNS.items()},
            "alive": [int(v) for v in columns["alive"]],
            "utility": {key: float(row[column]) for key, column in UTILITY_COLUMNS.items()},
            "stability_period": stability_period(fnd),
            "delivered": {
                "bits_total": float(row["delivered_bits_total"]),
                "bits_per_round_mean": float(columns["delivered_bits"].sum()) / count if count else math.nan,
                "packets_total": packets_total,
                "packets_per_round_mean": packets_total / count if count else math.nan,
            },
            "offload_fallback_rounds": int(row["offload_fallback_rounds"]),
        }
        if lifetime_threshold is not None:
            record["lifetime_threshold"] = {"percent": float(lifetime_threshold),
                                            "round": _optional_int(lifetime_at_threshold(record["alive"], nodes,
                                                                                         lifetime_threshold))}
        records.append(record)
    return records


def _record_means(records: list[dict], group: str, keys, empty) -> dict:
    """The mean over replica records of each ``record[group][key]`` (``empty`` for each key without records)."""
    return {key: float(np.mean([r[group][key] for r in records])) if records else empty for key in keys}


def run_json(result, lifetime_threshold: float | None = None) -> dict:
    """The object ``wsnmec run --json`` prints: ``{"config": {...}, "replicas": [...]}``.

    ``config`` holds every effective parameter (``result.config``: the scenario, the seed, the replica
    seeds, the node count, the radio constants and the wsnmec version); ``replicas`` is
    :func:`replica_records`; ``utility`` the means over replicas of their per-round means of ``energy_j``
    [J], ``latency_s`` [s] and ``system_utility`` [J] (and of ``delivered_bits`` [bit] per replica: a run
    total, kept under its old name); ``delivered`` the means over replicas of each replica's ``delivered``
    entry (``bits_total``, ``bits_per_round_mean``, ``packets_total``, ``packets_per_round_mean``); with
    ``lifetime_threshold``, ``config.lifetime_threshold`` records the percent.
    """
    records = replica_records(result, lifetime_threshold)
    utility = _record_means(records, "utility", UTILITY_COLUMNS, None)
    delivered = _record_means(records, "delivered", DELIVERED_COLUMNS, None)
    config = dict(result.config)
    if lifetime_threshold is not None:
        config["lifetime_threshold"] = float(lifetime_threshold)
    return {"config": jsonable(config), "replicas": records, "utility": jsonable(utility),
            "delivered": jsonable(delivered)}


def _fmt_number(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _fmt_round(value) -> str:
    return "-" if value is None else str(value)


def _lifetime_line(name: str, values: list[int | None], confidence: float = 0.95, label: str | None = None) -> str:
    reached = [v for v in values if v is not None]
    label = f"{name.upper()}" if label is None else label
    if not reached:
        return f"  {label}  not reached in any replica"
    mean, low, high = mean_ci(reached, confidence)
    text = f"  {label}  mean {_fmt_number(mean)}"
    if len(reached) > 1:
        sd = float(np.std(reached, ddof=1))
        text += f"   sd {_fmt_number(sd)}   {confidence:.0%} CI [{_fmt_number(low)}, {_fmt_number(high)}]"
    else:
        text += "   (one value, no CI)"
    if len(reached) < len(values):
        text += f"   (reached in {len(reached)} of {len(values)} replicas; mean over those)"
    return text


def _p_text(config: dict) -> str:
    """``p 0.1``, or under ``--p auto`` ``p auto (0.104)`` / ``p auto (0.0213..0.0231)`` over the replicas."""
    p = config.get("p")
    if not isinstance(p, str):
        return f"p {p:g}"
    resolved = config.get("p_resolved") or []
    if not resolved:
        return f"p {p}"
    low, high = min(resolved), max(resolved)
    return f"p {p} ({low:.3g})" if low == high else f"p {p} ({low:.3g}..{high:.3g})"


def _scenario_lines(config: dict) -> list[str]:
    field = config.get("field", ["?", "?"])
    sink = config.get("sink", ["?", "?"])
    rounds = config.get("rounds")
    parts = [
        f"protocol {config.get('protocol')}",
        f"{config.get('nodes')} nodes",
        f"field {field[0]:g} x {field[1]:g} m",
        f"sink ({sink[0]:g}, {sink[1]:g}) m",
        f"E0 {config.get('e0'):g} J",
        _p_text(config),
        f"{config.get('packet_bits')}-bit packets",
    ]
    second = [
        f"semantics {config.get('semantics')}",
        f"radio {config.get('radio')}",
        f"harvest {config.get('harvest')}",
        "battery " + ("= initial energy" if config.get("battery") is None else f"{config.get('battery'):g} J"),
        "rounds " + ("until all dead" if rounds is None else str(rounds)),
    ]
    extra = []
    if config.get("positions"):
        extra.append(f"positions {config['positions']}")
    if config.get("deployment", "uniform") != "uniform":
        extra.append(f"deployment {config['deployment']}")
    if config.get("advanced_fraction"):
        extra.append(f"advanced nodes {config['advanced_fraction']:g} with (1 + {config.get('advanced_factor', 0):g}) E0")
    if config.get("revive_threshold") is not None:
        extra.append(f"revive at {config['revive_threshold']:g} J")
    lines = [", ".join(parts), ", ".join(second)]
    if extra:
        lines.append(", ".join(extra))
    return lines


def summary_text(result, confidence: float = 0.95, lifetime_threshold: float | None = None) -> str:
    """The readable summary ``wsnmec run`` prints without ``--json``.

    Per replica: its seed, FND, HND, LND (``-`` when not reached), rounds simulated and the energies [J];
    then the mean of FND, HND and LND over the replicas that reached them with a Student-t confidence
    interval (:func:`wsnmec.sim.metrics.mean_ci`) and sample standard deviation, beside them the lifetime at
    ``lifetime_threshold`` % dead (when given) and the stability period (rounds before the first death,
    ``FND - 1``), the mean energies, the bits and packets delivered to the sink (run total and per-round
    mean) and the per-round means of energy, latency and utility.
    """
    config = result.config
    records = replica_records(result, lifetime_threshold)
    lines = ["wsnmec run"]
    lines += ["  " + line for line in _scenario_lines(config)]
    lines.append(f"  seed {config.get('seed')}, {len(records)} replica{'s' if len(records) != 1 else ''}")
    lines.append("")
    header = (
        f"{'replica':>7}  {'seed':>19}  {'FND':>6}  {'HND':>6}  {'LND':>6}  {'rounds':>6}  "
        f"{'E_init [J]':>11}  {'E_harv [J]':>11}  {'E_cons [J]':>11}  {'E_resid [J]':>11}"
    )
    lines.append(header)
    for index, record in enumerate(records):  # 0-based, as the `replica` column of the Parquet tables
        energy = record["energy"]
        lines.append(
            f"{index:>7}  {record['seed']:>19}  {_fmt_round(record['fnd']):>6}  {_fmt_round(record['hnd']):>6}  "
            f"{_fmt_round(record['lnd']):>6}  {record['rounds']:>6}  {energy['initial']:>11.6f}  "
            f"{energy['harvested']:>11.6f}  {energy['consumed']:>11.6f}  {energy['residual']:>11.6f}"
        )
    lines.append("")
    lines.append(f"Lifetime over {len(records)} replica{'s' if len(records) != 1 else ''} [rounds]:")
    for name in LIFETIME_COLUMNS:
        lines.append(_lifetime_line(name, [r[name] for r in records], confidence))
    if lifetime_threshold is not None:
        lines.append(_lifetime_line("threshold", [r["lifetime_threshold"]["round"] for r in records], confidence,
                                    label=f"{lifetime_threshold:g} % dead"))
    lines.append(_lifetime_line("stability", [r["stability_period"] for r in records], confidence,
                                label="stability period (rounds before the first death, FND - 1)"))
    lines.append("Energy, mean per replica [J]:")
    means = _record_means(records, "energy", ENERGY_COLUMNS, math.nan)
    lines.append(
        "  " + ", ".join(f"{key} {_fmt_number(value, 6)}" for key, value in means.items())
    )
    if records:
        delivered = _record_means(records, "delivered", DELIVERED_COLUMNS, None)
        lines.append("Delivered to the sink, mean per replica:")
        lines.append(f"  {delivered['bits_total']:,.0f} bit and {delivered['packets_total']:,.1f} packets in total; "
                     f"per round {delivered['bits_per_round_mean']:.6g} bit and "
                     f"{delivered['packets_per_round_mean']:.6g} packets")
        utility = {key: float(np.mean([r["utility"][key] for r in records])) for key in UTILITY_COLUMNS}
        lines.append("Per round, mean over rounds and replicas:")
        lines.append(f"  energy_j {utility['energy_j']:.6g} J, latency_s {utility['latency_s']:.6g} s, "
                     f"system_utility {utility['system_utility']:.6g} J "
                     f"(offload {config.get('offload')}, workload {config.get('workload')}, "
                     f"w_T {config.get('time_weight')} J/s)")
        fallback = sum(r["offload_fallback_rounds"] for r in records)
        if fallback:
            from .accounting import exact_max_heads

            limit = exact_max_heads(config.get("medium"))
            rounds = sum(r["rounds"] for r in records)
            lines.append(f"  --offload exact decided {fallback:,} of {rounds:,} rounds greedily: they had more than "
                         f"{limit} heads, the most it optimises jointly (offload_fallback in the tables)")
    return "\n".join(lines)


def check_output_dir(path, parameter: str = "--out") -> Path:
    """Validate an output directory before a run: it may exist (as a directory) or be creatable.

    Raises
    ------
    ParameterError
        When ``path`` exists but is not a directory, or is not writable.
    """
    directory = Path(path)
    if directory.exists():
        if not directory.is_dir():
            raise ParameterError(parameter, f"must be a directory (existing or new); {os.fspath(path)!r} is a file")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ParameterError(parameter, f"must be a writable directory; got {os.fspath(path)!r}")
        return directory
    parent = directory.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(parameter, f"must be a directory that can be created; got {os.fspath(path)!r}")
    return directory


def run_files(table_format: str = "parquet", per_node: bool = True) -> tuple[str, ...]:
    """Names of the files ``wsnmec run --out`` writes in ``table_format`` (:data:`TABLE_FORMATS`):
    rounds, summary, nodes (with ``per_node``) and ``config.json``."""
    names = ["rounds", "summary"] + (["nodes"] if per_node else [])
    return (*(f"{name}.{table_format}" for name in names), "config.json")


def _table_writer(frame: pd.DataFrame, table_format: str):
    if table_format == "csv":
        return lambda path: frame.to_csv(path, index=False)
    return lambda path: frame.to_parquet(path, engine="pyarrow", index=False)


def write_run(result, directory, parameter: str = "--out", table_format: str = "parquet",
              lifetime_threshold: float | None = None) -> list[Path]:
    """Write the files of ``result`` into ``directory`` (created if needed): :func:`run_files` (by default
    :data:`RUN_FILES`, plus ``nodes.parquet`` when ``result.nodes`` is set), the summary as
    :func:`summary_table` extends it.

    The files are written as a set (:func:`wsnmec.io.write_set`): into a temporary directory beside
    ``directory``, then swapped in, so that a reader sees the previous set of files or the new one, never a
    mix (when ``directory`` holds other files too, those are left alone and the files of the set are renamed in
    one after another). A failure while writing leaves the previous files intact and no temporary file.

    Raises
    ------
    ParameterError
        Naming ``parameter`` when the directory cannot be created or a file cannot be written.
    """
    import json

    from ..errors import check_choice

    check_choice("--format", table_format, TABLE_FORMATS)
    directory = Path(directory)
    per_node = getattr(result, "nodes", None) is not None
    names = run_files(table_format, per_node)
    targets = [directory / name for name in names]
    config = dict(result.config)
    if lifetime_threshold is not None:
        config["lifetime_threshold"] = float(lifetime_threshold)
    config_text = json.dumps(jsonable(config), indent=2, allow_nan=False) + "\n"
    tables = [result.rounds, summary_table(result, lifetime_threshold)] + ([result.nodes] if per_node else [])
    files = {name: _table_writer(frame, table_format) for name, frame in zip(names, tables)}
    files["config.json"] = lambda path: path.write_text(config_text, encoding="utf-8")
    try:
        io.write_set(directory, files)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ParameterError(parameter, f"cannot write into {os.fspath(directory)!r}: {reason}") from exc
    return targets
