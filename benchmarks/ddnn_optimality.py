"""Per-round optimality of ``ddnn`` (and ``ddnn-rule``): the executed candidate's objective J against the
exact optimum of J over all cluster-head sets (every subset of the alive nodes, with exact per-head
offloading: the 3^n (head, offloading) combinations through 2^n scorings, :mod:`wsnmec.sim.optimum`).

Run: ``python3 benchmarks/ddnn_optimality.py [--seeds 10] [--every 25] [--per-seed 20] [--nodes 16]``.
For each seed, a ddnn run of the classic field with the given sink (``--sink far``: (50, 175); ``centre``)
and ``--offload exact``; every ``--every`` rounds (up to ``--per-seed`` samples while at least 2 nodes
live), the optimum J* is enumerated on the state the policy sees and compared with the J of the set the
policy executes: ratio J* / J_exec in (0, 1] (1 = optimal). Prints the mean, min and the share of optimal
rounds as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's wsnmec

from wsnmec.clustering.ddnn import DDNNPolicy, DDNNRulePolicy, candidate_objective  # noqa: E402
from wsnmec.sim.accounting import P_TIME_WEIGHT  # noqa: E402
from wsnmec.sim.optimum import enumerate_head_sets  # noqa: E402
from wsnmec.sim.rounds import RoundLoop  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402


def objective(scores, loop):
    return candidate_objective(scores.drawn, scores.latency_s, loop.energy, loop.alive.view(bool),
                               float(loop.params[P_TIME_WEIGHT]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--per-seed", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--sink", choices=("far", "centre"), default="far")
    ap.add_argument("--policy", choices=("ddnn", "ddnn-rule"), default="ddnn")
    args = ap.parse_args()
    cls = DDNNPolicy if args.policy == "ddnn" else DDNNRulePolicy
    values = {"protocol": args.policy, "nodes": args.nodes, "offload": "exact"}
    if args.sink == "far":
        values["sink"] = (50.0, 175.0)
    scenario = Scenario.from_mapping(values)
    ratios = []
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        policy = cls(scenario)
        loop = RoundLoop(scenario, seed, clustering=policy)
        taken = 0
        while taken < args.per_seed and loop.alive_count >= 2:
            if loop.round % args.every == 0:
                # no harvest: the state before step() is the state elect() sees
                executed, _, _, _, _ = policy.decide(loop.state)
                j_executed, _, _ = policy.objective(loop.state, executed[None, :].astype(np.uint8))
                best = enumerate_head_sets(loop, objective, rule="exact", per_node=True)
                ratios.append(best.value / float(j_executed[0]))
                taken += 1
            loop.step()
    ratios = np.asarray(ratios)
    print(json.dumps({"policy": args.policy, "sink": args.sink, "nodes": args.nodes, "seeds": args.seeds,
                      "samples": int(ratios.size), "mean_ratio": float(ratios.mean()),
                      "min_ratio": float(ratios.min()), "share_optimal": float(np.mean(ratios > 1 - 1e-12)),
                      "seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
