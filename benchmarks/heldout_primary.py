"""Issue 18's primary comparison and ablation from ``benchmarks/fair_fight.py`` JSONs of the held-out scenarios.

Run ``python3 benchmarks/heldout_primary.py DIR`` with one merged ``fair_fight.json`` per scenario in DIR (named
``H*.json``; e.g. ``docs/ddnn_price/replicas30``). For each scenario and for FND and HND: ddnn-price's mean,
the best (highest mean) of the issue's references (spread, anneal, leach-c, ddnn-rule), ddnn-price minus that
reference paired over the replicas (mean and 95 % Student-t interval; a pair is left out when either replica
did not reach the metric), ddnn-price's mean as a percentage of the reference's, and the ablation ddnn-price
minus ddnn-price-rule. The last line counts the scenarios whose interval is above zero and the furthest below
the best reference (the issue's bar: above zero in two thirds, never more than 2 % below).

``--policy P`` puts another policy of the JSONs in ddnn-price's place and ``--ablation Q`` another in
ddnn-price-rule's (e.g. a probe of ``benchmarks/variant_fight.py`` merged with the stored runs).

``--costs`` adds what the lifetimes cost in the other metrics the runs record: each scenario's mean round
latency [ms] (``latency_s_mean``, over the rounds run), system utility [mJ/round] and delivered data [Mbit]
of the policy, the ablation and anneal, with the paired latency differences (95 % t).

``--runs NAME=DIR`` adds a policy that is not in the fair-fight JSONs from stored ``wsnmec run --json`` outputs
named like them (``DIR/H*.json``; e.g. ``lp-schedule=docs/ddnn_price/lp_schedule_heldout``): for each scenario
both are stored for, the policy minus NAME and NAME minus the best reference, paired by replica seed over the
replicas NAME ran (a scenario whose values differ from the fair-fight runs' is an error, exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to

from wsnmec.sim.metrics import mean_ci  # noqa: E402

REFERENCES = ("spread", "anneal", "leach-c", "ddnn-rule")


def _paired(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~np.isnan(a) & ~np.isnan(b)
    return (a[keep] - b[keep]), int(keep.sum())


def table(folder: Path, policy: str = "ddnn-price", ablation: str = "ddnn-price-rule") -> list[str]:
    files = sorted(folder.glob("H*.json"))
    above = {"fnd": 0, "hnd": 0}
    furthest = {"fnd": 0.0, "hnd": 0.0}
    out = [f"| scenario | metric | {policy} | best reference | {policy} - best [95 % t] | % of best | "
           f"{policy} - {ablation} [95 % t] |", "|---|---|---|---|---|---|---|"]
    for path in files:
        scenarios = json.loads(path.read_text())["scenarios"]
        for name, runs in scenarios.items():
            for metric in ("fnd", "hnd"):
                learned = runs[policy][metric]
                best = max((p for p in REFERENCES if p in runs), key=lambda p: np.nanmean(runs[p][metric]))
                diff, pairs = _paired(learned, runs[best][metric])
                mean, low, high = mean_ci(diff)
                gain, _ = _paired(learned, runs[ablation][metric])
                g_mean, g_low, g_high = mean_ci(gain)
                share = 100.0 * np.nanmean(learned) / np.nanmean(runs[best][metric])
                above[metric] += bool(low > 0)
                furthest[metric] = min(furthest[metric], share - 100.0)
                out.append(f"| {name.split(',')[0]} | {metric.upper()} | {np.nanmean(learned):,.1f} | {best} "
                           f"{np.nanmean(runs[best][metric]):,.1f} | {mean:+,.1f} [{low:+,.1f}, {high:+,.1f}] "
                           f"({pairs} pairs) | {share:.1f} % | {g_mean:+,.1f} [{g_low:+,.1f}, {g_high:+,.1f}] |")
    out += ["", f"Interval above zero: FND in {above['fnd']} of {len(files)} scenarios, HND in {above['hnd']}; "
                f"furthest below the best reference: FND {furthest['fnd']:.1f} %, HND {furthest['hnd']:.1f} %."]
    return out


def cost_table(folder: Path, policy: str = "ddnn-price", ablation: str = "ddnn-price-rule",
               reference: str = "anneal") -> list[str]:
    """Latency, utility and delivered data of ``policy``, ``ablation`` and ``reference`` per scenario."""
    names = (policy, ablation, reference)
    out = [f"| scenario | latency [ms]: {' / '.join(names)} | latency: {policy} - {ablation} [95 % t] | "
           f"latency: {policy} - {reference} [95 % t] | utility [mJ/round] | delivered [Mbit] |",
           "|---|---|---|---|---|---|"]
    for path in sorted(folder.glob("H*.json")):
        for name, runs in json.loads(path.read_text())["scenarios"].items():
            if not all(p in runs for p in names):
                continue

            def mean(p, metric, scale):
                return " / ".join(f"{scale * np.nanmean(runs[q][metric]):,.1f}" for q in p)

            cells = []
            for other in (ablation, reference):
                diff, pairs = _paired(1e3 * np.asarray(runs[policy]["latency_s_mean"], dtype=float),
                                      1e3 * np.asarray(runs[other]["latency_s_mean"], dtype=float))
                m, low, high = mean_ci(diff)
                cells.append(f"{m:+,.0f} [{low:+,.0f}, {high:+,.0f}] ({pairs} pairs)")
            out.append(f"| {name.split(',')[0]} | {mean(names, 'latency_s_mean', 1e3)} | {cells[0]} | {cells[1]} | "
                       f"{mean(names, 'system_utility_mean', 1e3)} | {mean(names, 'delivered_bits_total', 1e-6)} |")
    return out


#: Scenario values that must agree between a fair-fight JSON and a stored run to pair them.
PAIRED_VALUES = ("nodes", "field", "sink", "deployment", "harvest", "e0", "packet_bits", "radio", "semantics",
                 "control_bits", "medium", "rounds")


def _metric_values(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def stored_table(folder: Path, runs_folder: Path, name: str, policy: str = "ddnn-price") -> list[str]:
    """``policy`` minus the stored runs ``name`` (``wsnmec run --json`` outputs ``runs_folder/H*.json``) and
    ``name`` minus the best of :data:`REFERENCES`, paired by replica seed (module docstring, ``--runs``)."""
    out = [f"| scenario | metric | {name} | {policy} - {name} [95 % t] | best reference on those replicas | "
           f"{name} - best [95 % t] |", "|---|---|---|---|---|---|"]
    for path in sorted(folder.glob("H*.json")):
        other = runs_folder / path.name
        if not other.exists():
            continue
        label, runs = next(iter(json.loads(path.read_text())["scenarios"].items()))
        stored = json.loads(other.read_text())
        mine, theirs = runs[policy]["config"], stored["config"]
        differ = [key for key in PAIRED_VALUES if mine.get(key) != theirs.get(key)]
        if differ:
            raise ValueError(f"--runs: {other} does not pair with {path.name}: {differ[0]} is "
                             f"{theirs.get(differ[0])!r} there and {mine.get(differ[0])!r} in the fair-fight runs")
        index = {seed: i for i, seed in enumerate(mine["replica_seeds"])}
        missing = [seed for seed in theirs["replica_seeds"] if seed not in index]
        if missing:
            raise ValueError(f"--runs: replica seed {missing[0]} of {other} is not among {path.name}'s")
        take = [index[seed] for seed in theirs["replica_seeds"]]
        for metric in ("fnd", "hnd"):
            added = _metric_values([replica[metric] for replica in stored["replicas"]])

            def on_those(p):
                return _metric_values(runs[p][metric])[take]

            best = max((p for p in REFERENCES if p in runs), key=lambda p: np.nanmean(on_those(p)))
            cells = []
            for a, b in ((on_those(policy), added), (added, on_those(best))):
                diff, pairs = _paired(a, b)
                m, low, high = mean_ci(diff)
                cells.append(f"{m:+,.1f} [{low:+,.1f}, {high:+,.1f}] ({pairs} pairs)" if pairs > 1
                             else f"{m:+,.1f} ({pairs} pair)")
            out.append(f"| {label.split(',')[0]} | {metric.upper()} | {np.nanmean(added):,.1f} | {cells[0]} | "
                       f"{best} {np.nanmean(on_those(best)):,.1f} | {cells[1]} |")
    return out


def _named_folder(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, Path(folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--policy", default="ddnn-price")
    parser.add_argument("--ablation", default="ddnn-price-rule")
    parser.add_argument("--costs", action="store_true", help="add the latency, utility and delivered data")
    parser.add_argument("--runs", type=_named_folder, action="append", default=[], metavar="NAME=DIR",
                        help="stored `wsnmec run --json` outputs DIR/H*.json of the policy NAME, paired by replica seed")
    args = parser.parse_args()
    lines = table(args.folder, args.policy, args.ablation)
    if args.costs:
        lines += ["", *cost_table(args.folder, args.policy, args.ablation)]
    for name, runs_folder in args.runs:
        try:
            lines += ["", *stored_table(args.folder, runs_folder, name, args.policy)]
        except ValueError as error:
            print(f"Error: {error}", file=sys.stderr)
            raise SystemExit(2)
    print("\n".join(lines))
