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

Each experiment is :func:`wsnmec.offload.partition_online.run_partition_experiment`, one task of the study
runner (:func:`wsnmec.study.runner.run_study`: the executors, claims and interrupts of every study): its JSON
result (the task's ``summary``, column ``result``) and, for event runs, its per-frame table (the task's
``rounds``) are cached in ``RESULTS/<study>/tasks/`` (:class:`wsnmec.study.cache.TaskCache`: checksummed, a
damaged or foreign file is reported in one line and the experiment run again) under a key of its
parameters, the package version and the simulator's code fingerprint
(:func:`wsnmec.study.cache.simulator_fingerprint`), so a change to the offloading code gives new keys.
:func:`run_partition_study` draws the figures and returns the Markdown section (with the claims table)
that ``wsnmec figures`` appends to the figures index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
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


@dataclass(frozen=True)
class PartitionStudySpec:
    """A validated partition study as the study runner reads it: its experiments are the tasks of
    :meth:`PartitionKind.expand_tasks`; ``study`` is :func:`load_partition_study`'s dict."""

    name: str
    path: Path
    title: str
    description: str
    seed: int
    seeds: int
    study: dict = field(compare=False)
    quick: bool = False
    kind: str = "partition"
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    figures: tuple = ()
    scale_field: bool = False

    @property
    def task_count(self) -> int:
        return len(_experiments(self.study))

    def variant(self, quick: bool) -> "PartitionStudySpec":
        return self if quick == self.quick else partition_spec(self.path, quick)


def partition_spec(path, quick: bool = False) -> PartitionStudySpec:
    """The partition study file ``path`` (:func:`load_partition_study`) as the study runner reads it."""
    study = load_partition_study(path, quick)
    return PartitionStudySpec(name=study["name"], path=Path(path), title=study["title"],
                              description=study["description"], seed=study["seed"], seeds=study["seeds"],
                              study=study, quick=quick)


def _experiments(study: dict) -> list[tuple[dict, int, int, dict, bool]]:
    """Every experiment of a partition study: ``(point, seed index, seed, parameters, keep the table)`` in
    the order of the sections (scaling: devices x seeds; claims: its seeds; events: one run per event)."""
    seeds = replica_seeds(study["seed"], study["seeds"])
    sc, cl, ev = study["scaling"], study["claims"], study["events"]
    out = [({"section": "scaling", "devices": int(d)}, i, s, _params(sc, d, s), False)
           for d in sc["devices"] for i, s in enumerate(seeds)]
    out += [({"section": "claims"}, i, s, _params(cl, cl["devices"], s), False) for i, s in enumerate(_claim_seeds(study))]
    frame = int(ev["event_at"] * ev["frames"])
    out += [({"section": "events", "event": text}, 0, seeds[0], _params(ev, ev["devices"], seeds[0], [f"{frame}:{text}"]),
             True) for text in ev["events"]]
    return out


def _claim_seeds(study: dict) -> list[int]:
    cl = study["claims"]
    return replica_seeds(study["seed"] + 1, int(cl.get("seeds", study["seeds"])))


def partition_task_config(params: dict, keep_table: bool) -> dict:
    """What a partition experiment's cache key hashes: its parameters, whether its per-frame table is kept,
    the package version and the simulator's code fingerprint."""
    from .. import __version__
    from .cache import simulator_fingerprint

    return {"partition": params, "table": bool(keep_table), "version": __version__, "code": simulator_fingerprint()}


#: Per-frame columns an event experiment keeps (besides ``utilization_*``).
TABLE_COLUMNS = ("policy", "frame", "normalized_utility", "event", "drift")


def compute_partition_task(arguments: tuple, seed: int):
    """Run one partition experiment in a worker (``arguments``: its parameters and whether its per-frame
    table is kept); the cached result's ``summary`` holds the experiment's JSON result (one row, column
    ``result``), its ``rounds`` the per-frame table (event runs) or nothing."""
    import time

    from ..offload.partition_online import run_partition_experiment
    from .cache import TaskResult

    params, keep_table = arguments
    start = time.perf_counter()
    table, result = run_partition_experiment(**params)
    rounds = pd.DataFrame()
    if keep_table:
        rounds = table[[*TABLE_COLUMNS, *[c for c in table.columns if c.startswith("utilization")]]].reset_index(drop=True)
    summary = pd.DataFrame({"result": [json.dumps(result)]})
    return TaskResult(rounds=rounds, summary=summary), time.perf_counter() - start


def _experiment_reader(spec: PartitionStudySpec, results_dir):
    """``experiment(params, keep_table) -> (result, table or None)`` reading the study's verified task cache
    (every experiment finished: :func:`run_partition_study` ran them first)."""
    from .cache import task_key
    from .runner import StudyRunError, task_cache

    cache = task_cache(results_dir, spec)

    def experiment(params: dict, keep_table: bool):
        config = partition_task_config(params, keep_table)
        result = cache.load(task_key(config), config, report=_stderr)
        if result is None:
            raise StudyRunError(f"study {spec.name}: a partition experiment is missing from {cache.directory}; "
                                "rerun to compute it")
        return json.loads(result.summary["result"].iloc[0]), result.rounds if keep_table else None

    return experiment


def _stderr(message: str):
    import sys

    print(message, file=sys.stderr, flush=True)


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


def run_partition_study(path, out_dir, results_dir, quick: bool = False, echo=print, *, executor=None,
                        jobs: int | None = None, progress: bool | None = None) -> str:
    """Run the study's experiments missing from its task cache (the study runner:
    :func:`wsnmec.study.runner.run_study`, on ``executor`` or ``jobs`` local processes), draw its figures
    into ``out_dir``; return its Markdown section."""
    import matplotlib

    from .runner import run_study

    matplotlib.use("Agg")

    runner_spec = partition_spec(path, quick)
    run_study(runner_spec, results_dir, executor=executor, jobs=jobs, progress=progress)
    experiment = _experiment_reader(runner_spec, results_dir)
    spec = runner_spec.study
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = replica_seeds(spec["seed"], spec["seeds"])
    lines = [f"## {spec['title']}", "", spec["description"].strip(), ""] if spec["description"] else [f"## {spec['title']}", ""]
    lines += _scaling_section(spec, seeds, out_dir, experiment, echo)
    lines += _claims_section(spec, experiment, quick, echo)
    lines += _events_section(spec, seeds, out_dir, experiment, echo)
    return "\n".join(lines)


def _scaling_section(spec: dict, seeds, out_dir: Path, experiment, echo) -> list[str]:
    """Latency, energy and normalized utility vs devices per policy: the figure and the Markdown lines."""
    import matplotlib.pyplot as plt

    from .figures import save, style_context
    from .styles import integer_ticks, legend_right, plot_series, series_styles

    name = spec["name"]
    sc = spec["scaling"]
    rows = []
    for d in sc["devices"]:
        for s in seeds:
            result, _ = experiment(_params(sc, d, s), False)
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


def _claims_section(spec: dict, experiment, quick: bool, echo) -> list[str]:
    """The learner against the primary reference (verdicts) and every other policy (Holm): Markdown lines."""
    cl = spec["claims"]
    claim_seeds = _claim_seeds(spec)
    results = [experiment(_params(cl, cl["devices"], s), False)[0] for s in claim_seeds]
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


def _events_section(spec: dict, seeds, out_dir: Path, experiment, echo) -> list[str]:
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
            result, table = experiment(_params(ev, ev["devices"], seeds[0], [full]), True)
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
    """``kind = "partition"``: partitioned-inference experiments on the study runner, task cache and executors
    (:class:`PartitionStudySpec`, :func:`compute_partition_task`); its three sections, figures and claims table
    are drawn by :func:`run_partition_study`. Its files are read by :func:`partition_spec` (the lifetime parser
    points them there), listed apart by ``find_studies(kind="partition")``, and their index sections go after
    the other studies'."""

    name = "partition"
    program = "offload-partition"
    separate = True

    def parse(self, data, path, name=None):
        raise ParameterError(
            f"{path}: kind", "'partition' studies are read by wsnmec.study.partition (`wsnmec figures`, "
            "`wsnmec study run|figures FILE`); this parser reads kind = \"lifetime\" (the default) and \"offload\"")

    def expand_tasks(self, spec):
        from .cache import task_key
        from .kinds import Task

        tasks = []
        for point_index, (point, seed_index, seed, params, keep) in enumerate(_experiments(spec.study)):
            config = partition_task_config(params, keep)
            tasks.append(Task(len(tasks), point_index, point, seed_index, seed, (params, keep), config, task_key(config)))
        return tasks

    @property
    def task_function(self):
        return compute_partition_task


PARTITION = PartitionKind()
