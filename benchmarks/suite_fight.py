"""Policies on the scenario suite's held-out scenarios, with paired 95 % intervals (issue 18's acceptance table).

Run ``python3 benchmarks/suite_fight.py --policies ddnn,spread,anneal,leach-c,ddnn-rule --seeds 30``
(``--split train`` for the training scenarios, ``--split all`` for both; ``--max-nodes 400`` to keep the
smaller scenarios; ``--quick`` for the suite's quick variant; ``--set key=value`` to change a scenario
parameter for every run; ``--out DIR`` writes ``suite_fight.json`` and ``suite_fight.md``).

For each scenario every policy runs ``seeds`` replicas with the same user seed, so replica i of every policy
sees the same deployment and the comparison is paired (:mod:`wsnmec.study.compare`): per scenario, FND and HND
(mean and 95 % Student-t interval over the replicas) and each policy's paired difference to the first policy
of ``--policies`` (mean and 95 % t interval of the per-replica differences; a pair is left out when either
replica did not reach the metric, ``n`` says how many remained).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to

from wsnmec.study.compare import compare_results, parse_protocols  # noqa: E402
from wsnmec.sim.simulation import simulate  # noqa: E402
from wsnmec.study.suite import SUITE_PATH, load_suite  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fair_fight import _parse_sets  # noqa: E402  (the same --set parsing)

METRICS = ("fnd", "hnd")


def _cell(entry: dict) -> str:
    if entry["n"] == 0 or not math.isfinite(entry["mean"]):
        return "-"
    return f"{entry['mean']:.1f} [{entry['low']:.1f}, {entry['high']:.1f}] (n={entry['n']})"


def run(policies, seeds: int, seed: int, split: str, max_nodes: int | None, quick: bool, sets: dict,
        suite=None, progress=print) -> dict:
    """Every policy on each chosen scenario of the suite; returns {scenario name: comparison} (module doc)."""
    chosen = [s for s in load_suite(suite, quick) if split in ("all", s.split)
              and (max_nodes is None or s.nodes <= max_nodes)]
    out = {}
    for entry in chosen:
        results = {}
        for policy in policies:
            start = time.perf_counter()
            results[policy] = simulate(entry.scenario(policy, **sets), seed=seed, replicas=seeds)
            progress(f"{entry.name}: {policy} ({seeds} replicas) {time.perf_counter() - start:.1f} s")
        comparison = compare_results(results)
        out[entry.name] = {
            "split": entry.split,
            "values": entry.values,
            "table": {p: {m: {k: comparison["protocols_table"][p][m][k] for k in ("mean", "low", "high", "n", "values")}
                          for m in METRICS} for p in policies},
            "paired_difference": {p: {m: {k: comparison["paired_difference"][p][m][k]
                                          for k in ("mean", "low", "high", "n", "values")}
                                      for m in METRICS} for p in policies[1:]},
            "replica_seeds": comparison["replica_seeds"],
        }
    return out


def markdown(out: dict, policies, seeds: int, seed: int) -> str:
    reference = policies[0]
    lines = [f"Suite fight: {', '.join(policies)}; {seeds} replicas per scenario, user seed {seed}; mean "
             f"[95 % t interval] (n replicas); differences paired by replica against {reference}.", ""]
    head = ["scenario", "split", "policy"] + [m.upper() for m in METRICS] + [f"{m.upper()} - {reference}" for m in METRICS]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for name, entry in out.items():
        for policy in policies:
            cells = [_cell(entry["table"][policy][m]) for m in METRICS]
            if policy == reference:
                cells += ["(reference)"] * len(METRICS)
            else:
                cells += [_cell(entry["paired_difference"][policy][m]) for m in METRICS]
            lines.append("| " + " | ".join([name, entry["split"], policy] + cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", default="ddnn,spread,anneal,leach-c,ddnn-rule",
                        help="comma-separated policies; the first is the reference of the paired differences")
    parser.add_argument("--seeds", type=int, default=30, help="replicas per scenario and policy")
    parser.add_argument("--seed", type=int, default=18, help="user seed (the same for every policy)")
    parser.add_argument("--split", choices=("heldout", "train", "all"), default="heldout")
    parser.add_argument("--max-nodes", type=int, default=None, help="only scenarios with at most this many nodes")
    parser.add_argument("--quick", action="store_true", help="the suite's quick variant")
    parser.add_argument("--suite", default=str(SUITE_PATH), help="the suite file")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default=None, help="directory for suite_fight.json and suite_fight.md")
    args = parser.parse_args(argv)
    policies = parse_protocols(args.policies)
    if args.seeds < 1:
        sys.exit("--seeds: must be an integer >= 1")
    out = run(policies, args.seeds, args.seed, args.split, args.max_nodes, args.quick, _parse_sets(args.sets),
              suite=args.suite, progress=lambda text: print(text, file=sys.stderr))
    text = markdown(out, policies, args.seeds, args.seed)
    print(text)
    if args.out:
        directory = Path(args.out)
        directory.mkdir(parents=True, exist_ok=True)
        record = {"command": " ".join(["python3", "benchmarks/suite_fight.py", *(argv or sys.argv[1:])]),
                  "policies": policies, "seeds": args.seeds, "seed": args.seed, "split": args.split,
                  "quick": args.quick, "sets": _parse_sets(args.sets), "scenarios": out}
        (directory / "suite_fight.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        (directory / "suite_fight.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
