"""The fair-fight table: every clustering policy on the three reference scenarios, paired over seeds.

Run ``python3 benchmarks/fair_fight.py --seeds 30 --out fair_fight`` (add ``--set key=value`` to change a
scenario parameter for every run, e.g. ``--set preset=classic``). For each scenario and policy it runs
``seeds`` replicas with the package's defaults (the same user seed for every policy, so replica i of every
policy sees the same deployment: comparisons are paired) and writes ``fair_fight.json`` (every replica's
numbers, the seeds and the effective configuration of every run) and ``fair_fight.md`` (the table).

Tuning (``--tune-seeds K``, default 5): before the evaluation, each baseline with a cluster-head fraction
(:data:`TUNED`) is run at every p of ``--tune-p`` on K replicas of a *different* user seed
(``--tune-seed``); the p with the highest mean FND (ties: HND) is then evaluated on the evaluation seeds as
``NAME@best`` beside ``NAME`` at the package default (``p = auto``). The sweep's means are in the JSON and
the table, so the choice is shown and made on data the evaluation does not see.

Columns: FND / HND / LND [rounds]; delivered bits over the lifetime; mean round latency [s]; mean system
utility per round [J]; each a mean over the replicas with its 95 % Student-t interval. The last table gives
ddnn's paired difference to the best non-learned policy of that scenario (the one with the highest mean of
that metric; chosen after the run, so the reference is favoured by selection), mean and 95 % t interval of
the per-replica differences.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from wsnmec.clustering.registry import CLUSTERING_POLICIES
from wsnmec.sim.metrics import mean_ci
from wsnmec.sim.scenario import Scenario
from wsnmec.sim.simulation import simulate

SCENARIOS = {
    "centre": {"nodes": 100, "field": (100, 100), "sink": (50, 50)},
    "far": {"nodes": 100, "field": (100, 100), "sink": (50, 175)},
    "n400": {"nodes": 400, "field": (200, 200), "sink": (100, 250)},
}
POLICIES = ("direct", "leach", "leach-dchs", "leach-c", "deec", "heed", "spread", "anneal", "ddnn-rule", "ddnn")
LEARNED = ("ddnn", "ddnn-price")
#: Each learned policy's non-learned twin (the same pipeline without the learned part: the ablation).
TWINS = {"ddnn": "ddnn-rule", "ddnn-price": "ddnn-price-rule"}
#: Baselines whose cluster-head fraction p is swept on the tuning seeds.
TUNED = ("leach", "leach-dchs", "deec", "leach-c")
TUNE_P = (0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)
METRICS = ("fnd", "hnd", "lnd", "delivered_bits_total", "latency_s_mean", "system_utility_mean")


def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval of ``values`` (:func:`wsnmec.sim.metrics.mean_ci`)."""
    return mean_ci(np.asarray(values, dtype=float))


def _parse_sets(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"--set: expected key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", default="fair_fight")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--tune-seeds", type=int, default=5, help="replicas per p in the sweep (0: no tuning)")
    parser.add_argument("--tune-seed", type=int, default=4242, help="user seed of the sweep (not --seed)")
    parser.add_argument("--tune-p", default=",".join(str(p) for p in TUNE_P))
    parser.add_argument("--suite", metavar="TOML",
                        help="add the scenarios of a suite file (studies/suite.toml) of the --split part to the named "
                             "ones (each as its case name; the suite's [base] under the case)")
    parser.add_argument("--split", default="heldout", help="part of --suite to add (train or heldout)")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="no run: merge these fair_fight.json files (same --seed) into one table in --out")
    args = parser.parse_args(argv)
    if args.merge:
        merged = merge([json.loads(Path(f).read_text()) for f in args.merge])
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "fair_fight.json").write_text(json.dumps(merged, indent=1))
        (out / "fair_fight.md").write_text(render(merged))
        print(render(merged))
        return 0
    extra = _parse_sets(args.set)
    if args.suite:
        SCENARIOS.update(suite_scenarios(args.suite, args.split))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    policies = [p for p in args.policies.split(",") if p]
    missing = [p for p in policies if p not in CLUSTERING_POLICIES]
    policies = [p for p in policies if p in CLUSTERING_POLICIES]
    if args.tune_seed == args.seed:
        sys.exit("--tune-seed must differ from --seed (tuning and evaluation use different deployments)")
    tune_ps = [float(v) for v in args.tune_p.split(",") if v]
    results: dict = {"seed": args.seed, "seeds": args.seeds, "set": extra, "missing_policies": missing,
                     "tune_seed": args.tune_seed, "tune_seeds": args.tune_seeds, "tune_p": tune_ps,
                     "tuning": {}, "scenarios": {}}
    for name in (args.scenarios.split(";") if ";" in args.scenarios or args.scenarios in SCENARIOS
                 else args.scenarios.split(",")):
        base = {**SCENARIOS[name], **extra}
        results["scenarios"][name] = {}
        results.setdefault("scenario_values", {})[name] = str(base)
        runs = [(policy, {}) for policy in policies]
        if args.tune_seeds > 0:
            results["tuning"][name] = {}
            for policy in [p for p in TUNED if p in policies]:
                sweep = {}
                for p in tune_ps:
                    tuned = simulate(Scenario.from_mapping({**base, "protocol": policy, "p": p}),
                                     seed=args.tune_seed, replicas=args.tune_seeds, workers=args.workers).summary
                    sweep[p] = (float(np.mean(tuned["fnd"].astype(float))), float(np.mean(tuned["hnd"].astype(float))))
                best = max(sweep, key=lambda p: sweep[p])
                results["tuning"][name][policy] = {"best_p": best, "mean_fnd_hnd": {str(p): v for p, v in sweep.items()}}
                print(f"{name:7s} {policy:11s} tuned p = {best} (FND, HND by p: {sweep})", flush=True)
                runs.append((policy, {"p": best}))
        for policy, override in runs:
            label = policy + ("@best" if override else "")
            scenario = Scenario.from_mapping({**base, "protocol": policy, **override})
            start = time.perf_counter()
            result = simulate(scenario, seed=args.seed, replicas=args.seeds, workers=args.workers)
            seconds = time.perf_counter() - start
            summary = result.summary
            results["scenarios"][name][label] = {
                "config": json.loads(json.dumps(result.config, default=str)),
                "seconds": seconds,
                **{m: [float(v) if v is not None and v == v else math.nan for v in summary[m].astype(float)]
                   for m in METRICS},
            }
            (out / "fair_fight.json").write_text(json.dumps(results, indent=1))  # after every run
            print(f"{name:7s} {label:16s} FND {np.mean(summary['fnd'].astype(float)):8.1f}  {seconds:7.1f} s",
                  flush=True)
    (out / "fair_fight.json").write_text(json.dumps(results, indent=1))
    (out / "fair_fight.md").write_text(render(results))
    print(render(results))
    return 0


def suite_scenarios(path, split: str) -> dict:
    """``{case name: scenario values}`` of the ``split`` part of a suite file
    (:func:`wsnmec.study.suite.load_suite`: the suite's ``[base]`` with the case's keys over it)."""
    from wsnmec.study.suite import load_suite

    out = {}
    for case in load_suite(path):
        if case.split == split:
            values = dict(case.values)
            for key in ("field", "sink"):
                if key in values:
                    values[key] = tuple(values[key])
            out[case.name] = values
    if not out:
        sys.exit(f"--suite: {path} has no case of split {split!r}")
    return out


def merge(parts: list[dict]) -> dict:
    """One result from several runs of this script with the same user seed (replica i is the same
    deployment in every run, so runs of different lengths pair on their common replicas); a policy run
    twice in a scenario keeps the run with more replicas."""
    seeds = {part["seed"] for part in parts}
    if len(seeds) != 1:
        sys.exit(f"--merge: the runs have different user seeds {sorted(seeds)}; they cannot be paired")
    merged = {"seed": parts[0]["seed"], "seeds": max(part["seeds"] for part in parts),
              "set": parts[0]["set"], "missing_policies": [], "tune_seed": parts[0]["tune_seed"],
              "tune_seeds": max(part["tune_seeds"] for part in parts), "tune_p": parts[0]["tune_p"],
              "tuning": {}, "scenarios": {}, "scenario_values": {}}
    for part in parts:
        merged["scenario_values"].update(part.get("scenario_values", {}))
        if part["set"] != merged["set"]:
            sys.exit(f"--merge: the runs set different parameters ({part['set']} vs {merged['set']})")
        for name, tuning in part.get("tuning", {}).items():
            merged["tuning"].setdefault(name, {}).update(tuning)
        for name, runs in part["scenarios"].items():
            into = merged["scenarios"].setdefault(name, {})
            for policy, run in runs.items():
                if policy not in into or len(run["fnd"]) > len(into[policy]["fnd"]):
                    into[policy] = run
    return merged


def _paired(a, b) -> np.ndarray:
    """Per-replica differences a - b over the replicas both runs have (the first min(len) replicas)."""
    n = min(len(a), len(b))
    return np.asarray(a[:n], dtype=float) - np.asarray(b[:n], dtype=float)


def _cell(values, digits=1, scale=1.0) -> str:
    mean, low, high = t_interval(np.asarray(values) * scale)
    return f"{mean:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def render(results: dict) -> str:
    lines = [f"Seeds: {results['seeds']} replicas from user seed {results['seed']}; "
             f"parameters set for every run: {results['set'] or 'package defaults'}.", ""]
    if results["missing_policies"]:
        lines += [f"Not registered (skipped): {', '.join(results['missing_policies'])}.", ""]
    for name, runs in results["scenarios"].items():
        lines += [f"### {name}: {SCENARIOS.get(name, results.get('scenario_values', {}).get(name, ''))}", ""]
        for policy, tuned in results.get("tuning", {}).get(name, {}).items():
            sweep = ", ".join(f"{p}: {v[0]:.0f}/{v[1]:.0f}" for p, v in tuned["mean_fnd_hnd"].items())
            lines.append(f"- {policy}: best p = {tuned['best_p']} on {results['tune_seeds']} tuning replicas "
                         f"(seed {results['tune_seed']}; mean FND/HND by p: {sweep})")
        lines += ["",
                  "| policy | seeds | FND | HND | LND | delivered [Mbit] | latency [ms] | utility [mJ/round] |",
                  "|---|---|---|---|---|---|---|---|"]
        for policy, run in runs.items():
            lines.append(f"| {policy} | {len(run['fnd'])} | {_cell(run['fnd'])} | {_cell(run['hnd'])} | {_cell(run['lnd'])} | "
                         f"{_cell(run['delivered_bits_total'], 0, 1e-6)} | {_cell(run['latency_s_mean'], 2, 1e3)} | "
                         f"{_cell(run['system_utility_mean'], 3, 1e3)} |")
        lines.append("")
        learned = [p for p in runs if p in LEARNED]
        others = [p for p in runs if p not in LEARNED]
        for policy in learned:
            lines += [f"{policy}: paired difference to the best non-learned policy (mean over replicas, 95 % t):", ""]
            for metric in ("fnd", "hnd", "lnd") if others else ():  # (a run of learned policies only: none)
                best = max(others, key=lambda p: np.nanmean(runs[p][metric]))
                diff = _paired(runs[policy][metric], runs[best][metric])
                lines.append(f"- {metric.upper()}: {policy} - {best} = {_cell(diff)} ({diff.size} paired replicas)")
            references = ("spread", "anneal", "leach-c", "ddnn-rule", "ddnn-price-rule", "ddnn")
            for tuned in [p for p in runs if p != policy and (p.endswith("@best") or p in references)]:
                cells = ", ".join(
                    f"{m.upper()} {_cell(_paired(runs[policy][m], runs[tuned][m]))}"
                    for m in ("fnd", "hnd"))
                lines.append(f"- against {tuned}: {cells}")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
