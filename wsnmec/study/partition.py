"""Partition studies (``kind = "partition"`` study files, issue 10): runs, figures and the claims table.

A partition study file declares ``kind = "partition"`` and these tables (every key optional except the
title; ``[quick]`` overrides any of them, a table at a time key by key)::

    kind = "partition"
    title = "..."
    seed = 10                 # study seed; replica seeds: wsnmec.seeding.replica_seeds(seed, seeds)
    seeds = 5
    [scaling]                 # latency and energy vs devices, per policy
    devices = [2, 4, 8, 12, 16, 20]
    servers = 4
    network = "alexnet"
    precision = "int8"
    frames = 3000
    [claims]                  # the learner against the primary reference (verdicts) and every other policy
    devices = 4
    servers = 3
    frames = 20000
    seeds = 20                # verdicts need >= 20 seeds and a full run (wsnmec.study.claims)
    primary = "jsq-neurosurgeon"   # the primary comparison, fixed before the run
    [events]                  # one run per event at event_at x frames: utilization and normalized utility
    devices = 4
    servers = 3
    frames = 20000
    event_at = 0.6
    events = ["server-down:0", "server-slow:0,0.3", "bandwidth:0.3"]

Every section also takes ``queueing`` (``batch-ps``, the default, or ``mm1``: the server model of
:mod:`wsnmec.offload.partition`).

The claims table follows :mod:`wsnmec.study.claims`: for each thesis claim (latency -60 %, energy
efficiency +40 %) ONE primary comparison, the learner (ddlo) against the ``primary`` policy (default
``jsq-neurosurgeon``: join-the-shortest-queue server choice with Neurosurgeon's split), with a two-sided 95 %
interval and the fixed verdict rule (reproduced / contradicted / not shown; ``indicative (N seeds)`` in a
quick run or with fewer than 20 seeds); every other policy goes to the secondary table with Holm-adjusted
intervals. Latency change = mean over seeds of L_ddlo / L_base - 1 (negative is better); energy-efficiency
change = mean of E_base / E_ddlo - 1 (inferences per joule of device energy; positive is better); the
intervals are percentile-bootstrap intervals of those means over the seeds.

Each experiment is :func:`wsnmec.offload.partition_online.run_partition_experiment`; its JSON result (and,
for event runs, the per-frame table) is cached under ``RESULTS/partition/`` by a hash of its parameters,
the package version and the simulator's code fingerprint (:func:`wsnmec.study.cache.simulator_fingerprint`,
the one of the lifetime task cache), so a change to the offloading code gives new keys. The JSON record is
sealed (``sha256`` over all its other keys, :func:`wsnmec.integrity.seal`) and records the SHA-256 of the
table's bytes (``table_sha256``): a file that is truncated, not JSON, edited (one stored latency scaled),
another experiment's, or whose table differs is reported in one line on stderr and the experiment is run
again, never used.
:func:`run_partition_study` draws the figures and returns the Markdown section (with the claims table)
that ``wsnmec figures`` appends to the figures index.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..io import write_json
from ..seeding import replica_seeds
from .claims import MIN_VERDICT_SEEDS, indicative, verdicts_shown
from .kinds import StudyKind, study_kind  # noqa: F401  (study_kind: its old place)
from .claims import markdown as claims_markdown

#: Published claims of the thesis (DDLRO) beside which the measured changes are shown.
THESIS_CLAIMS = {"latency": -0.60, "energy_efficiency": +0.40}
#: Names of the claims' metrics in the partition tables.
CLAIM_LABELS = {"latency": "mean inference latency", "efficiency": "energy efficiency (inferences/J)"}
#: The primary reference of the partition claims unless the study file names another.
DEFAULT_PRIMARY = "jsq-neurosurgeon"
SECTIONS = ("scaling", "claims", "events")
TOP_KEYS = ("kind", "title", "description", "seed", "seeds", *SECTIONS, "quick")
DEFAULTS = {
    "scaling": {"devices": [2, 4, 8], "servers": 4, "network": "alexnet", "precision": "int8", "frames": 2000,
                "queueing": "batch-ps"},
    "claims": {"devices": 4, "servers": 3, "network": "alexnet", "precision": "int8", "frames": 10000,
               "queueing": "batch-ps", "primary": DEFAULT_PRIMARY},
    "events": {"devices": 4, "servers": 3, "network": "alexnet", "precision": "int8", "frames": 10000,
               "queueing": "batch-ps", "event_at": 0.6, "events": ["server-down:0", "server-slow:0,0.3", "bandwidth:0.3"]},
}
SECTION_KEYS = {name: (*DEFAULTS[name], "seeds") for name in SECTIONS}
#: Keys of the ``[quick]`` table of a partition study.
QUICK_KEYS = ("seeds", *SECTIONS)


def _check_section(check, name: str, section: dict, kind: str):
    """Type and range of every key of one section (``scaling``, ``claims`` or ``events``) after merging."""
    from ..offload.partition import MAX_DEVICES, MAX_SERVERS, NETWORK_NAMES, PRECISIONS, QUEUEING_MODELS
    from ..offload.partition_online import MAX_FRAMES
    from .spec import MAX_SEEDS, _describe, _is_number

    if kind == "scaling":
        devices = section["devices"]
        if not isinstance(devices, list) or not devices:
            check.fail(f"{name}.devices", f"must be a non-empty list of integers in [1, {MAX_DEVICES}], got {_describe(devices)}")
        for index, count in enumerate(devices):
            check.integer(f"{name}.devices[{index}]", count, 1, MAX_DEVICES)
    else:
        check.integer(f"{name}.devices", section["devices"], 1, MAX_DEVICES)
    check.integer(f"{name}.servers", section["servers"], 1, MAX_SERVERS)
    check.integer(f"{name}.frames", section["frames"], 2, MAX_FRAMES)
    if "seeds" in section:
        check.integer(f"{name}.seeds", section["seeds"], 1, MAX_SEEDS)
    for key, allowed in (("network", NETWORK_NAMES), ("precision", PRECISIONS), ("queueing", QUEUEING_MODELS)):
        value = section[key]
        if not isinstance(value, str) or value not in allowed:
            check.fail(f"{name}.{key}", f"must be one of {', '.join(allowed)}, got {_describe(value)}")
    if kind == "events":
        at = section["event_at"]
        if not _is_number(at) or not 0 < at < 1:
            check.fail(f"{name}.event_at", f"must be a number in (0, 1) (a fraction of the frames), got {_describe(at)}")
        events = section["events"]
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            check.fail(f"{name}.events", f"must be a non-empty list of event strings, got {_describe(events)}")
    if kind == "claims":
        check.string(f"{name}.primary", section["primary"])


def load_partition_study(path, quick: bool = False) -> dict:
    """Read and validate a partition study file; ``quick`` applies its ``[quick]`` table.

    Every key is checked (type and range, in the full and the quick variant) before any work: an error is a
    :class:`ParameterError` naming ``FILE: KEY``."""
    from ..seeding import MAX_SEED
    from .spec import MAX_SEEDS, _Checker, _describe, parse_toml

    path = Path(path)
    check = _Checker(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(str(path), f"must be a readable UTF-8 study file ({exc.__class__.__name__})") from None
    data = parse_toml(path, text)
    for key in data:
        if key not in TOP_KEYS:
            raise ParameterError(f"{path}: {key}", f"unknown key; valid: {', '.join(TOP_KEYS)}")
    spec = {"name": path.stem, "title": check.string("title", data.get("title", path.stem)),
            "description": check.string("description", data.get("description", "")),
            "seed": check.integer("seed", data.get("seed", 0), 0, MAX_SEED),
            "seeds": check.integer("seeds", data.get("seeds", 3), 1, MAX_SEEDS)}
    quick_raw = data.get("quick", {})
    if not isinstance(quick_raw, dict):
        check.fail("quick", f"must be a table, got {_describe(quick_raw)}")
    for key in quick_raw:
        if key not in QUICK_KEYS:
            raise ParameterError(f"{path}: quick.{key}", f"unknown key; valid: {', '.join(QUICK_KEYS)}")
    if "seeds" in quick_raw:
        check.integer("quick.seeds", quick_raw["seeds"], 1, MAX_SEEDS)
    for name in SECTIONS:  # both variants checked whatever is run, so that a bad quick table fails early too
        for where, table in ((name, data.get(name, {})), (f"quick.{name}", quick_raw.get(name, {}))):
            if not isinstance(table, dict):
                check.fail(where, f"must be a table, got {_describe(table)}")
            for key in table:
                if key not in SECTION_KEYS[name]:
                    raise ParameterError(f"{path}: {where}.{key}", f"unknown key; valid: {', '.join(SECTION_KEYS[name])}")
        _check_section(check, name, {**DEFAULTS[name], **data.get(name, {})}, name)
        _check_section(check, f"quick.{name}", {**DEFAULTS[name], **data.get(name, {}), **quick_raw.get(name, {})}, name)
    quick_table = quick_raw if quick else {}
    spec["seeds"] = quick_table.get("seeds", spec["seeds"])
    for name in SECTIONS:
        spec[name] = {**DEFAULTS[name], **data.get(name, {}), **quick_table.get(name, {})}
    from ..offload.partition_online import POLICY_ORDER

    primary = spec["claims"]["primary"]
    others = [p for p in POLICY_ORDER if p != "ddlo"]
    if primary not in others:
        raise ParameterError(f"{path}: claims.primary", f"must be one of {', '.join(others)}, got {primary!r}")
    return spec


#: Keys a partition cache record adds to the experiment's result (besides ``parameters``).
_RECORD_KEYS = ("version", "code", "table_sha256")


def partition_cache_key(params: dict) -> str:
    """Cache key of a partition experiment: the first 16 hex digits of the SHA-256 of its parameters, the
    package version and the simulator's code fingerprint."""
    from .. import __version__
    from .cache import canonical_json, simulator_fingerprint

    keyed = {"parameters": params, "version": __version__, "code": simulator_fingerprint()}
    return hashlib.sha256(canonical_json(keyed).encode()).hexdigest()[:16]


def _stderr(message: str):
    import sys

    print(message, file=sys.stderr, flush=True)


def _load_cached(json_path: Path, table_path: Path, params: dict, keep_table: bool):
    """The cached ``(result, table or None)`` of an experiment; raises ValueError (one line) for a record
    that cannot be trusted, FileNotFoundError when there is none."""
    from .. import __version__
    from ..integrity import load_sealed_json, read_parquet_verified
    from .cache import canonical_json, simulator_fingerprint

    record = load_sealed_json(json_path)
    if json.loads(canonical_json(record.get("parameters"))) != json.loads(canonical_json(params)):
        raise ValueError("another experiment's record (its parameters differ)")
    if record.get("code") != simulator_fingerprint() or record.get("version") != __version__:
        raise ValueError("made by other code")
    if not isinstance(record.get("policies"), dict):
        raise ValueError("no per-policy results")
    table = None
    if keep_table:
        try:
            table = read_parquet_verified(table_path, record.get("table_sha256"))
        except FileNotFoundError:
            raise ValueError(f"its table {table_path.name} is missing") from None
        except Exception as exc:  # changed, damaged or not Parquet
            raise ValueError(f"its table: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return {k: v for k, v in record.items() if k not in _RECORD_KEYS}, table


def _cached_run(results_dir: Path, params: dict, keep_table: bool, report=_stderr):
    """Run (or load) one experiment; returns (result dict, per-frame table or None).

    A cached record is used only when its seal, parameters, code fingerprint and table checksum match
    (:func:`_load_cached`); otherwise ``report`` receives one line and the experiment runs again."""
    from .. import __version__
    from ..integrity import seal, write_parquet_checked
    from ..offload.partition_online import run_partition_experiment
    from .cache import simulator_fingerprint

    base = results_dir / "partition" / partition_cache_key(params)
    json_path, table_path = base.with_suffix(".json"), base.with_suffix(".parquet")
    try:
        return _load_cached(json_path, table_path, params, keep_table)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        report(f"partition cache file {json_path}: {str(exc).splitlines()[0]}; ignoring it and running the "
               "experiment again")
    table, result = run_partition_experiment(**params)
    record = {**result, "parameters": params, "version": __version__, "code": simulator_fingerprint()}
    if keep_table:
        cols = ["policy", "frame", "normalized_utility", "event", "drift",
                *[c for c in table.columns if c.startswith("utilization")]]
        record["table_sha256"] = write_parquet_checked(table_path, table[cols])
    write_json(json_path, seal(record))
    return result, table if keep_table else None


def _params(section: dict, devices: int, seed: int, events=()) -> dict:
    return {"devices": int(devices), "servers": int(section["servers"]), "network": section["network"],
            "precision": section["precision"], "frames": int(section["frames"]), "seed": int(seed),
            "events": list(events), "queueing": section["queueing"]}


def _ci(values, seed: int = 20_240_607, n_boot: int = 1000):
    """Mean and 95 % percentile-bootstrap interval of the mean."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    return float(values.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def claims_assessment(results: list[dict], primary: str, *, quick: bool):
    """The partition claims table (:func:`wsnmec.study.claims.assess`) from the claims runs' results (one per
    seed): per policy other than ddlo, the latency and energy-efficiency changes with their intervals (the
    seeds resampled together for every policy); the ``primary`` policy's rows are the primary comparison."""
    from ..offload.partition_online import POLICY_ORDER
    from .claims import BOOTSTRAP_SEED, N_BOOT, assess

    rows, replicates = [], []
    n = len(results)
    idx = np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(N_BOOT, n))
    for base in [p for p in POLICY_ORDER if p != "ddlo" and p in results[0]["policies"]]:
        per_seed = {
            "latency": np.array([r["policies"]["ddlo"]["latency_s_mean"] / r["policies"][base]["latency_s_mean"] - 1
                                 for r in results]),
            "efficiency": np.array([r["policies"][base]["energy_j_mean"] / r["policies"]["ddlo"]["energy_j_mean"] - 1
                                    for r in results]),
        }
        for metric, values in per_seed.items():
            rows.append({"baseline": base, "metric": metric, "role": "primary" if base == primary else "secondary",
                         "seeds": n, "change": float(values.mean())})
            replicates.append(values[idx].mean(axis=1))
    return assess(pd.DataFrame(rows), replicates, quick=quick, seeds=n)


def _pct(value) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:+.1f} %"


#: The policies the events figures draw, in the legend's order.
EVENT_POLICIES = ("ddlo", "coordinate-descent", "jsq-neurosurgeon", "capacity-proportional", "neurosurgeon")

#: The header of the per-policy Markdown tables (scaling and claims sections).
_POLICY_TABLE_HEADER = [
    "| policy | normalized utility | latency [ms] | energy [mJ] | utilization | decision [ms] |",
    "|---|---|---|---|---|---|",
]


def run_partition_study(path, out_dir, results_dir, quick: bool = False, echo=print) -> str:
    """Run the study's experiments (cached), draw its figures into ``out_dir``; return its Markdown section."""
    import matplotlib

    matplotlib.use("Agg")

    spec = load_partition_study(path, quick)
    out_dir, results_dir = Path(out_dir), Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = replica_seeds(spec["seed"], spec["seeds"])
    lines = [f"## {spec['title']}", "", spec["description"].strip(), ""] if spec["description"] else [f"## {spec['title']}", ""]
    lines += _scaling_section(spec, seeds, out_dir, results_dir, echo)
    lines += _claims_section(spec, results_dir, quick, echo)
    lines += _events_section(spec, seeds, out_dir, results_dir, echo)
    return "\n".join(lines)


def _scaling_section(spec: dict, seeds, out_dir: Path, results_dir: Path, echo) -> list[str]:
    """Latency, energy and normalized utility vs devices per policy: the figure and the Markdown lines."""
    import matplotlib.pyplot as plt

    from .figures import save, style_context
    from .styles import integer_ticks, legend_right, plot_series, series_styles

    name = spec["name"]
    sc = spec["scaling"]
    rows = []
    for d in sc["devices"]:
        for s in seeds:
            result, _ = _cached_run(results_dir, _params(sc, d, s), False)
            for policy, row in result["policies"].items():
                rows.append({"devices": d, "seed": s, "policy": policy, **row})
    scaling = pd.DataFrame(rows)
    policies = list(dict.fromkeys(scaling["policy"]))
    styles = series_styles(policies, policies=True)
    with style_context():  # the study figures' style (wsnmec.study.figures), every policy in its own style
        fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.4))
        for ax, col, unit, scale in zip(axes, ("latency_s_mean", "energy_j_mean", "normalized_utility"),
                                        ("latency [ms]", "device energy per inference [mJ]", "normalized utility"),
                                        (1e3, 1e3, 1.0)):
            for index, (policy, grp) in enumerate(scaling.groupby("policy", sort=False)):
                stats = [(_ci(g[col] * scale), dev) for dev, g in grp.groupby("devices")]
                x = [dev for _, dev in stats]
                mean = [m for (m, _, _), _ in stats]
                lo = [a for (_, a, _), _ in stats]
                hi = [b for (_, _, b), _ in stats]
                plot_series(ax, x, mean, styles[policy], index=index, count=len(policies), label=policy)
                ax.fill_between(x, lo, hi, color=styles[policy].colour, alpha=0.2, linewidth=0)
            ax.set_xlabel("devices")
            ax.set_ylabel(unit)
            if col != "normalized_utility":
                ax.set_yscale("log")
            integer_ticks(ax.xaxis)
        legend_right(axes[-1], title="policy")
        fig.suptitle(f"{sc['network']} {sc['precision']}, {sc['servers']} servers: test-frame means over {len(seeds)} seeds")
        fig.tight_layout()
        paths = save(fig, out_dir, f"{name}-scaling")
        plt.close(fig)
    lines = [f"### Latency, energy and normalized utility vs devices ({sc['servers']} servers)", "",
             f"![{name}-scaling]({paths[0].name}) ([PDF]({paths[1].name}))", "",
             f"{sc['frames']} frames per run (80 % train, 20 % test), {len(seeds)} seeds; exact optimum as the"
             " reference where feasible, else the best policy found on each frame.", ""]
    biggest = scaling[scaling["devices"] == max(sc["devices"])].groupby("policy", sort=False).mean(numeric_only=True)
    lines += [f"At {max(sc['devices'])} devices (mean over seeds):", "", *_POLICY_TABLE_HEADER]
    for policy, r in biggest.iterrows():
        lines.append(_policy_row(policy, r))
    lines.append("")
    echo(f"partition study {name}: scaling done ({len(scaling)} rows)")
    return lines


def _policy_row(policy: str, values) -> str:
    """One row of a per-policy Markdown table (``values``: the policy's mean result columns)."""
    return (f"| {policy} | {values['normalized_utility']:.4f} | {1e3 * values['latency_s_mean']:.2f} | "
            f"{1e3 * values['energy_j_mean']:.2f} | {values['utilization_mean']:.3f} | {values['decision_ms_median']:.3f} |")


def _claims_section(spec: dict, results_dir: Path, quick: bool, echo) -> list[str]:
    """The learner against the primary reference (verdicts) and every other policy (Holm): Markdown lines."""
    cl = spec["claims"]
    claim_seeds = replica_seeds(spec["seed"] + 1, int(cl.get("seeds", spec["seeds"])))
    results = [_cached_run(results_dir, _params(cl, cl["devices"], s), False)[0] for s in claim_seeds]
    table = claims_assessment(results, cl["primary"], quick=quick)
    cfg = results[0]["config"]
    losses = "; ".join(f"{p}: {cfg['accuracy_loss'][p]:g} pp ({cfg['accuracy_loss_source'][p]})"
                       for p in cfg.get("accuracy_loss", {}))
    lines = [f"### Claims table ({cl['network']}, {cl['precision']}, {cl['devices']} devices x {cl['servers']}"
             f" servers, {cl['frames']} frames, {len(claim_seeds)} seeds, queueing {cl['queueing']})", "",
             "Change of the learner (ddlo) against each policy on the test frames, mean over seeds. Latency change"
             " = L_ddlo / L_base - 1 (negative is better); energy-efficiency change = E_base / E_ddlo - 1"
             " (inferences per joule of device energy; positive is better). The primary comparison, fixed in the"
             f" study file before the run, is against `{cl['primary']}` with a two-sided 95 % bootstrap interval:"
             " reproduced when the whole interval is at least as good as the thesis's figure, contradicted when it"
             " is wholly on the wrong side of zero, else not shown"
             + ("" if verdicts_shown(quick, len(claim_seeds)) else
                f" (this run: {indicative(len(claim_seeds))}, verdicts need a full run with >= {MIN_VERDICT_SEEDS}"
                " seeds)")
             + ". Every other policy is a secondary comparison (Holm 1979 step-down, `wsnmec.study.claims`).", "",
             f"Accuracy loss of the transmitted features: {losses or 'n/a'}.", "",
             claims_markdown(table, [], "against", CLAIM_LABELS), ""]
    lines += ["", "Per policy (mean over seeds, test frames):", "", *_POLICY_TABLE_HEADER]
    for policy in results[0]["policies"]:
        vals = {k: np.mean([r["policies"][policy][k] for r in results]) for k in results[0]["policies"][policy]}
        lines.append(_policy_row(policy, vals))
    lines.append("")
    echo(f"partition study {spec['name']}: claims done")
    return lines


def _events_section(spec: dict, seeds, out_dir: Path, results_dir: Path, echo) -> list[str]:
    """Normalized utility around each event and utilization per server with a failure: the two figures and
    the Markdown lines."""
    import matplotlib.pyplot as plt

    from .figures import save, style_context
    from .styles import legend_right, series_styles

    name = spec["name"]
    ev = spec["events"]
    frame = int(ev["event_at"] * ev["frames"])
    # the event summary's windows (1,000 frames each, wsnmec.offload.partition_online.event_summary), cut by the run's end
    first_window = min(1000, ev["frames"] - frame)
    next_window = min(1000, max(0, ev["frames"] - frame - 1000))
    styles = series_styles(EVENT_POLICIES, policies=True)
    with style_context():  # the study figures' style for both figures, until they are saved
        fig_u, ax_u = plt.subplots(figsize=(9.2, 4.2))
        fig_n, axes_n = plt.subplots(1, len(ev["events"]), figsize=(5 * len(ev["events"]) + 2.2, 4.2), squeeze=False)
        lines = [f"### Events at frame {frame} of {ev['frames']} ({ev['devices']} devices x {ev['servers']} servers,"
                 f" seed {seeds[0]})", "",
                 f"| event | policy | normalized utility, the {first_window} frames after it | the {next_window} frames"
                 f" after those{' (none left: n/a)' if next_window == 0 else ''} | frames to a 100-frame mean >= 0.99 |",
                 "|---|---|---|---|---|"]
        for e_i, text in enumerate(ev["events"]):
            full = f"{frame}:{text}"
            result, table = _cached_run(results_dir, _params(ev, ev["devices"], seeds[0], [full]), True)
            _draw_event_utility(axes_n[0, e_i], table, frame, ev["frames"], text, styles)
            for p_name, row in result["events"][0]["policies"].items():
                first = row.get("normalized_utility_first_1000")
                nxt = row.get("normalized_utility_next_1000")
                lines.append(f"| {text} | {p_name} | {first:.4f} | {'n/a' if nxt is None else f'{nxt:.4f}'} | "
                             f"{'never' if row['recovery_frames'] is None else row['recovery_frames']} |")
            if text.startswith("server-down"):
                _draw_server_utilization(ax_u, table, frame, text)
        legend_right(axes_n[0, -1], title="policy")
        fig_n.tight_layout()
        fig_u.tight_layout()
        p_n = save(fig_n, out_dir, f"{name}-events")
        p_u = save(fig_u, out_dir, f"{name}-utilization")
        plt.close(fig_n)
        plt.close(fig_u)
    lines += ["", f"![{name}-events]({p_n[0].name}) ([PDF]({p_n[1].name}))", "",
              f"![{name}-utilization]({p_u[0].name}) ([PDF]({p_u[1].name}))", ""]
    echo(f"partition study {name}: events done")
    return lines


def _draw_event_utility(ax, table: pd.DataFrame, frame: int, frames: int, text: str, styles):
    """One event's panel: each policy's normalized utility (20-frame mean) from 500 frames before the event
    at ``frame`` to 2,000 after it."""
    from .offload import MARK_ROW_PT, draw_change_marks
    from .styles import integer_ticks, plot_series

    lo, hi = max(0, frame - 500), min(frames, frame + 2000)
    for index, policy in enumerate(EVENT_POLICIES):
        rows = table[(table["policy"] == policy) & (table["frame"] >= lo) & (table["frame"] < hi)]
        plot_series(ax, rows["frame"].to_numpy(), rows["normalized_utility"].rolling(20, min_periods=1).mean(),
                    styles[policy], index=index, count=len(EVENT_POLICIES), label=policy, linewidth=1.0)
    draw_change_marks(ax, [(frame, "event")], "0.2")
    ax.set_title(text, pad=6.0 + MARK_ROW_PT)
    ax.set_xlabel("frame")
    ax.set_ylabel("normalized utility (20-frame mean)")
    integer_ticks(ax.xaxis)


def _draw_server_utilization(ax, table: pd.DataFrame, frame: int, text: str):
    """The learner's (ddlo) utilization per server (50-frame mean) around a server failure at ``frame``."""
    from .offload import MARK_ROW_PT, draw_change_marks
    from .styles import integer_ticks, legend_right, plot_series, series_styles

    led = table[table["policy"] == "ddlo"].sort_values("frame")
    servers = [c for c in led.columns if c.startswith("utilization_")]
    server_styles = series_styles([f"server {c.split('_')[1]}" for c in servers], policies=False)
    for index, (c, (server, look)) in enumerate(zip(servers, server_styles.items())):
        plot_series(ax, led["frame"].to_numpy(), led[c].rolling(50, min_periods=1).mean(), look,
                    index=index, count=len(servers), label=server, linewidth=1.0)
    draw_change_marks(ax, [(frame, text)], "0.2")
    ax.set_xlabel("frame")
    ax.set_ylabel("utilization (50-frame mean)")
    ax.set_title(f"learner (ddlo): utilization per server, {text} at frame {frame}", pad=6.0 + MARK_ROW_PT)
    integer_ticks(ax.xaxis)
    legend_right(ax)


class PartitionKind(StudyKind):
    """``kind = "partition"``: partitioned-inference experiments. They still run outside the study pipeline
    (:func:`run_partition_study`, its own cache under ``results/partition/``); the study commands and
    ``wsnmec figures`` call it for these files."""

    name = "partition"
    program = "offload-partition"
    separate = True

    def parse(self, data, path, name=None):
        raise ParameterError(
            f"{path}: kind", "'partition' studies are read by wsnmec.study.partition (`wsnmec figures`, "
            "`wsnmec study run|figures FILE`); this parser reads kind = \"lifetime\" (the default) and \"offload\"")


PARTITION = PartitionKind()
