"""``wsnmec compare``: several clustering policies on the same replicas, one table of means, 95 % intervals
and paired differences, and an alive-vs-round figure.

Every protocol runs with the same user seed and the same number of replicas K, so replica i of every
protocol has the same replica seed (:func:`wsnmec.seeding.replica_seeds`) and hence the same deployment
(positions, initial energies, sink: drawn first from that seed, :mod:`wsnmec.sim.kernel`). The comparison is
therefore *paired*: the difference of protocol P to the first protocol B is computed per replica,
``d_i = m_P,i - m_B,i``, and its mean and interval are those of the ``d_i``.

Notes
-----
Metrics, per replica (:data:`METRICS`):

- ``fnd``, ``hnd``, ``lnd`` [round]: first, half and last node dies (:mod:`wsnmec.sim.metrics`); a replica
  that did not reach one (``--rounds`` too small) is left out of that metric's mean, and a pair is left out
  of the difference unless both reached it (``n`` says how many remained).
- ``delivered_bits`` [bit]: data bits delivered to the sink over the whole run (direct packets and cluster
  heads' aggregates).
- ``energy_efficiency`` [bit/J]: ``delivered_bits`` divided by the energy consumed over the run [J].
- ``latency_s`` [s]: the mean over the replica's rounds of the round latency.
- ``system_utility`` [J]: the mean over the replica's rounds of ``energy_j + w_T latency_s``
  (:mod:`wsnmec.sim.accounting`; lower is better).
- ``lifetime_threshold`` [round], with ``--lifetime-threshold PCT`` only: the first round at whose end at
  least PCT % of the nodes are dead (:func:`wsnmec.sim.metrics.lifetime_at_threshold`, as ``wsnmec run``
  reports it); left out like FND/HND/LND where not reached.

Intervals are two-sided Student-t intervals at 95 %: ``mean +/- t_{n-1, 0.975} s / sqrt(n)`` with ``s`` the
sample standard deviation of the n values (:func:`wsnmec.sim.metrics.mean_ci`, the quantile of
``scipy.stats.t``). For the paired differences this is the paired t interval (Student 1908; e.g. Montgomery
& Runger, *Applied Statistics and Probability for Engineers*, sec. 10-4). One value gives the interval
``[mean, mean]``; none gives NaN (``null`` in JSON, ``-`` in the tables).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..sim.metrics import mean_ci

#: Files written by ``wsnmec compare --out DIR`` besides its tables (:func:`compare_files`).
COMPARE_FILES = ("compare.json", "compare.md", "alive.png", "alive.pdf")
#: Tables written by ``wsnmec compare --out DIR`` in the ``--format`` (``.parquet`` or ``.csv``): every
#: protocol's per-replica summary (as ``wsnmec run --out`` writes it, with a first column ``protocol``) and
#: the alive-vs-round curves the figure draws (``round`` and one column per protocol).
COMPARE_TABLES = ("summary", "alive")

#: Confidence level of every interval.
CONFIDENCE = 0.95

#: metric key -> (column title, unit, description). Order of the table's columns.
METRICS = {
    "fnd": ("FND", "round", "first node dies: the first round at whose end fewer than N nodes are alive"),
    "hnd": ("HND", "round", "half of the nodes dead: the first round at whose end at most N/2 are alive"),
    "lnd": ("LND", "round", "last node dies: the first round at whose end no node is alive"),
    "delivered_bits": ("delivered [bit]", "bit", "data bits delivered to the sink over the run"),
    "energy_efficiency": ("efficiency [bit/J]", "bit/J", "delivered bits per joule consumed over the run"),
    "latency_s": ("latency [s]", "s", "round latency, mean over the replica's rounds"),
    "system_utility": ("utility [J]", "J", "system utility energy_j + w_T latency_s, mean over the replica's rounds"),
}


def parse_protocols(text, parameter: str = "--protocols") -> list[str]:
    """The protocol names of a comma-separated ``--protocols`` value, each validated as ``--protocol`` is
    (built-in name or alias, ``module:Class`` plug-in or installed entry point).

    Raises
    ------
    ParameterError
        Naming ``parameter``: an empty list, an empty item, an unknown name, or the same policy twice
        (an alias and its name count as the same policy).
    """
    from ..clustering.registry import canonical_name, check_protocol, protocol_names

    allowed = (f"a comma-separated list of at least one protocol ({', '.join(protocol_names())}, or "
               "MODULE:CLASS), each at most once")
    if text is None or not str(text).strip():
        raise ParameterError(parameter, f"must be {allowed}; got {text!r}")
    names = [item.strip() for item in str(text).split(",")]
    if any(not name for name in names):
        raise ParameterError(parameter, f"must be {allowed}; got an empty item in {text!r}")
    seen = {}
    for name in names:
        check_protocol(name, parameter)
        key = canonical_name(name)
        if key in seen:
            raise ParameterError(parameter, f"must be {allowed}; got {seen[key]!r} and {name!r}, the same policy")
        seen[key] = name
    return names


def compare_metrics(lifetime_threshold: float | None = None) -> dict:
    """The compared metrics: :data:`METRICS`, and with ``lifetime_threshold`` (a percent in (0, 100])
    ``lifetime_threshold``, the lifetime at that percent dead [round]."""
    if lifetime_threshold is None:
        return dict(METRICS)
    pct = f"{float(lifetime_threshold):g}"
    return {**METRICS, "lifetime_threshold": (
        f"{pct} % dead", "round", f"lifetime at {pct} % dead: the first round at whose end at least {pct} % of the "
        "nodes are dead")}


def replica_metrics(result, lifetime_threshold: float | None = None) -> pd.DataFrame:
    """One row per replica (in replica order) of a :class:`~wsnmec.sim.simulation.SimulationResult`: its
    ``replica``, ``seed`` and the metrics of :func:`compare_metrics` as floats (NaN when a lifetime metric
    was not reached)."""
    summary = result.summary.sort_values("replica", kind="stable")
    consumed = summary["energy_consumed_j"].to_numpy(dtype=float)
    delivered = summary["delivered_bits_total"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = np.where(consumed > 0, delivered / np.where(consumed > 0, consumed, 1.0), np.nan)
    frame = pd.DataFrame({
        "replica": summary["replica"].to_numpy(dtype=np.int64),
        "seed": summary["seed"].to_numpy(dtype=np.int64),
    })
    for name in ("fnd", "hnd", "lnd"):
        frame[name] = summary[name].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    frame["delivered_bits"] = delivered
    frame["energy_efficiency"] = efficiency
    frame["latency_s"] = summary["latency_s_mean"].to_numpy(dtype=float)
    frame["system_utility"] = summary["system_utility_mean"].to_numpy(dtype=float)
    if lifetime_threshold is not None:  # the column wsnmec run reports (the same rows: replica order)
        from ..sim.report import summary_table

        lifetime = summary_table(result, lifetime_threshold)["lifetime_threshold_round"]
        frame["lifetime_threshold"] = lifetime.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return frame


def _interval(values) -> dict:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    mean, low, high = mean_ci(finite, CONFIDENCE)
    return {"mean": mean, "low": low, "high": high, "n": len(finite)}


def _values(series) -> list:
    return [None if not math.isfinite(float(v)) else float(v) for v in series]


def compare_results(results: dict, lifetime_threshold: float | None = None) -> dict:
    """The comparison of ``results`` (protocol name -> SimulationResult, first = the reference B), with
    ``lifetime_threshold`` (a percent) also of the lifetime at that percent dead.

    Returns a dict with ``protocols`` (names in order), ``reference`` (the first), ``confidence``,
    ``metrics`` (key -> ``unit``, ``description``, ``title``), ``protocols_table`` (name -> metric -> ``mean``,
    ``low``, ``high``, ``n``, ``values``: the per-replica values in replica order, ``None`` when not
    reached) and ``paired_difference`` (name -> metric -> the same for ``m_name,i - m_B,i`` over the
    replicas where both are defined; the reference's own differences are all zero).

    Raises
    ------
    ValueError
        When the results do not hold the same replica seeds (not paired).
    """
    names = list(results)
    reference = names[0]
    compared = compare_metrics(lifetime_threshold)
    metrics = {name: replica_metrics(result, lifetime_threshold) for name, result in results.items()}
    seeds = metrics[reference]["seed"].tolist()
    for name in names[1:]:
        if metrics[name]["seed"].tolist() != seeds:
            raise ValueError(f"{name} ran other replica seeds than {reference}: the comparison would not be paired")
    table, paired = {}, {}
    for name in names:
        table[name], paired[name] = {}, {}
        for metric in compared:
            values = metrics[name][metric].to_numpy(dtype=float)
            table[name][metric] = {**_interval(values), "values": _values(values)}
            differences = values - metrics[reference][metric].to_numpy(dtype=float)  # NaN where either is missing
            paired[name][metric] = {**_interval(differences), "values": _values(differences)}
    return {
        "protocols": names,
        "reference": reference,
        "confidence": CONFIDENCE,
        "replica_seeds": seeds,
        "metrics": {key: {"unit": unit, "description": text, "title": title}
                    for key, (title, unit, text) in compared.items()},
        "protocols_table": table,
        "paired_difference": paired,
    }


def compare_json(results: dict, seed: int, lifetime_threshold: float | None = None) -> dict:
    """The object ``wsnmec compare --json`` prints (and ``compare.json`` holds): :func:`compare_results`
    plus ``command``, ``seed`` (the user seed), ``replicas``, ``runs`` (protocol -> that run's full
    ``config``: every effective parameter, the seed and every replica seed) and, when given,
    ``lifetime_threshold`` [%]."""
    from ..sim.report import jsonable

    comparison = compare_results(results, lifetime_threshold)
    first = next(iter(results.values()))
    threshold = {} if lifetime_threshold is None else {"lifetime_threshold": float(lifetime_threshold)}
    return jsonable({"command": "compare", "seed": seed, "replicas": first.config["replicas"], **threshold,
                     **comparison, "runs": {name: result.config for name, result in results.items()}})


def _fmt(value, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "round":
        return f"{value:.1f}"
    return f"{value:.4g}"


def _cell(entry: dict, unit: str, compact: bool) -> str:
    """``mean [low, high]``, or with ``compact`` ``mean ± half-width`` (the t interval is symmetric)."""
    if entry["n"] == 0:
        return "-"
    if compact:
        half = entry["high"] - entry["mean"]
        return f"{_fmt(entry['mean'], unit)} ± {_fmt(half, unit)}"
    return f"{_fmt(entry['mean'], unit)} [{_fmt(entry['low'], unit)}, {_fmt(entry['high'], unit)}]"


def _rows(comparison: dict, compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table: one row per protocol, then one per paired difference."""
    metrics = comparison["metrics"]
    header = ["protocol", *(entry["title"] for entry in metrics.values())]
    replicas = len(comparison["replica_seeds"])
    reference = comparison["reference"]
    labelled = [(name, comparison["protocols_table"][name]) for name in comparison["protocols"]]
    labelled += [(f"{name} - {reference}", comparison["paired_difference"][name])
                 for name in comparison["protocols"][1:]]
    rows = []
    for label, entries in labelled:
        cells = [label]
        for metric, described in metrics.items():
            entry = entries[metric]
            text = _cell(entry, described["unit"], compact)
            if 0 < entry["n"] < replicas:
                text += f" (n={entry['n']})"
            cells.append(text)
        rows.append(cells)
    return header, rows


def _legend(comparison: dict, compact: bool = False) -> list[str]:
    replicas = len(comparison["replica_seeds"])
    reference = comparison["reference"]
    shown = "mean ± half-width of the 95 % Student-t interval" if compact else "mean [95 % Student-t interval]"
    lines = [f"{shown} over {replicas} paired replica{'s' if replicas != 1 else ''} "
             "(replica i of every protocol: the same seed and deployment)"]
    if len(comparison["protocols"]) > 1:
        lines.append(f"rows 'P - {reference}': paired differences m_P,i - m_{reference},i, mean and 95 % t interval")
    lines.append("(n=k): the metric was reached in k replicas only (the others ran out of --rounds); "
                 "-: reached in none (a difference: in no pair)")
    return lines


def compare_text(comparison: dict, seed: int) -> str:
    """The table ``wsnmec compare`` prints: one row per protocol, then the paired differences to the first
    (cells ``mean ± half-width`` of the 95 % interval; ``compare.md`` and the JSON give its ends)."""
    header, rows = _rows(comparison, compact=True)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"wsnmec compare: {', '.join(comparison['protocols'])}; seed {seed}, "
             f"{len(comparison['replica_seeds'])} replicas each"]
    lines += ["  " + line for line in _legend(comparison, compact=True)]
    lines.append("")
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


def compare_markdown(comparison: dict, seed: int) -> str:
    """``compare.md``: the table of :func:`compare_text` as a Markdown table, with the metrics' units."""
    header, rows = _rows(comparison)
    lines = [f"# wsnmec compare: {', '.join(comparison['protocols'])}", "",
             f"Seed {seed}, {len(comparison['replica_seeds'])} replicas per protocol.", ""]
    lines += _legend(comparison)
    lines.append("")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for entry in comparison["metrics"].values():
        lines.append(f"- {entry['title']}: {entry['description']} [{entry['unit']}]")
    return "\n".join(lines) + "\n"


def alive_curves(results: dict) -> pd.DataFrame:
    """Mean alive nodes over replicas at the end of rounds 0..R (R: the longest run of any protocol), one
    column per protocol; a replica that ended early (every node dead) keeps its last count. Round 0 is the
    deployment (every node alive)."""
    columns = {}
    last = max(int(result.rounds["round"].max()) if not result.rounds.empty else 0 for result in results.values())
    index = pd.RangeIndex(0, last + 1, name="round")
    for name, result in results.items():
        wide = result.rounds.pivot(index="round", columns="replica", values="alive")
        wide.loc[0] = result.config["nodes"]
        wide = wide.sort_index().reindex(index).ffill()
        columns[name] = wide.mean(axis=1).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=index)


def alive_figure(results: dict):
    """Alive nodes vs round, the mean over replicas, one line per protocol (the study figures' style: each
    policy in its own colour, marker and dash pattern, whole-number ticks; :mod:`wsnmec.study.styles`).
    Returns the matplotlib Figure."""
    from . import figures as style
    from .styles import integer_ticks, legend_right, plot_series, series_styles

    curves = alive_curves(results)
    names = list(results)
    styles = series_styles(names, policies=True)
    with style.style_context():
        fig, ax = style.plt.subplots(figsize=(8.4, 4.3))
        for i, name in enumerate(names):
            plot_series(ax, curves.index.to_numpy(), curves[name].to_numpy(), styles[name], index=i,
                        count=len(names), linewidth=1.6, label=name)
        ax.set_xlabel("Round")
        ax.set_ylabel("Alive nodes (mean over replicas)")
        ax.set_xlim(0, max(1, int(curves.index[-1])))
        ax.set_ylim(bottom=0)
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
        legend_right(ax, title="protocol", fontsize=None, title_fontsize=None)
        replicas = next(iter(results.values())).config["replicas"]
        ax.set_title(f"Alive nodes, mean over {replicas} paired replica{'s' if replicas != 1 else ''}")
        fig.tight_layout()
    return fig


def compare_files(table_format: str = "parquet") -> tuple[str, ...]:
    """Names of the files ``wsnmec compare --out`` writes: :data:`COMPARE_FILES` and the
    :data:`COMPARE_TABLES` in ``table_format`` (:data:`wsnmec.sim.report.TABLE_FORMATS`)."""
    return (*COMPARE_FILES, *(f"{name}.{table_format}" for name in COMPARE_TABLES))


def summary_tables(results: dict, lifetime_threshold: float | None = None) -> pd.DataFrame:
    """Every protocol's per-replica summary as ``wsnmec run --out`` writes it
    (:func:`wsnmec.sim.report.summary_table`, with ``lifetime_threshold`` its lifetime columns), one block per
    protocol in order, under a first column ``protocol``."""
    from ..sim.report import summary_table

    blocks = [summary_table(result, lifetime_threshold).assign(protocol=name) for name, result in results.items()]
    table = pd.concat(blocks, ignore_index=True)
    return table[["protocol", *[c for c in table.columns if c != "protocol"]]]


def write_compare(results: dict, seed: int, directory, parameter: str = "--out", table_format: str = "parquet",
                  lifetime_threshold: float | None = None) -> list[Path]:
    """Write :func:`compare_files` into ``directory`` as one set (:func:`wsnmec.io.write_set`):
    ``compare.json`` (:func:`compare_json`), ``compare.md`` (:func:`compare_markdown`), the alive-vs-round
    figure (:func:`alive_figure`) as PNG and PDF, and in ``table_format`` (``parquet`` or ``csv``, as
    ``wsnmec run --format``) the per-replica summaries (:func:`summary_tables`) and the figure's curves
    (:func:`alive_curves`). ``lifetime_threshold`` [%]: the lifetime at that percent dead is compared too."""
    import json

    from .. import io
    from ..errors import check_choice
    from . import figures as style
    from ..sim.report import TABLE_FORMATS, _table_writer

    check_choice("--format", table_format, TABLE_FORMATS)
    report = compare_json(results, seed, lifetime_threshold)
    comparison = compare_results(results, lifetime_threshold)
    tables = {"summary": summary_tables(results, lifetime_threshold), "alive": alive_curves(results).reset_index()}
    fig = alive_figure(results)

    def figure_writer(fmt, options):
        return lambda path: fig.savefig(path, format=fmt, **options)

    try:
        with style.style_context():
            io.write_set(directory, {
                "compare.json": lambda path: path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n",
                                                             encoding="utf-8"),
                "compare.md": lambda path: path.write_text(compare_markdown(comparison, seed), encoding="utf-8"),
                "alive.png": figure_writer("png", {"dpi": style.PNG_DPI, "metadata": style.PNG_METADATA}),
                "alive.pdf": figure_writer("pdf", {"metadata": style.PDF_METADATA}),
                **{f"{name}.{table_format}": _table_writer(tables[name], table_format) for name in COMPARE_TABLES},
            })
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ParameterError(parameter, f"cannot write into {os.fspath(directory)!r}: {reason}") from exc
    finally:
        style.plt.close(fig)
    return [Path(directory) / name for name in compare_files(table_format)]
