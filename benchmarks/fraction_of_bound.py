"""FND over the bound, per policy, from a ``wsnmec bound --json`` output and a ``benchmarks/fair_fight.py`` JSON of
the same deployments (the same user seed and replica seeds; checked).

Run ``python3 benchmarks/fraction_of_bound.py BOUND.json FAIR_FIGHT.json``: one Markdown row per policy with the
mean of FND_i / fnd_upper_i over the paired replicas i and its 95 % Student-t interval.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from wsnmec.sim.metrics import mean_ci


def rows(bound: dict, fight: dict) -> list[str]:
    upper = np.array([d["fnd_upper"] for d in bound["deployments"]], dtype=float)
    seeds = bound["replica_seeds"]
    out = []
    for scenario, runs in fight["scenarios"].items():
        out.append(f"{scenario}: mean bound on FND {upper.mean():,.1f} rounds over {upper.size} deployments")
        out += ["", "| policy | replicas | FND / bound [95 % t] | mean FND |", "|---|---|---|---|"]
        for name, run in runs.items():
            fnd = np.array(run["fnd"], dtype=float)
            n = min(fnd.size, upper.size)
            if run["config"]["replica_seeds"][:n] != seeds[:n]:
                sys.exit(f"{name}: other replica seeds than the bound's; not the same deployments")
            mean, low, high = mean_ci(fnd[:n] / upper[:n])
            out.append(f"| {name} | {n} | {100 * mean:.1f} % [{100 * low:.1f}, {100 * high:.1f}] | {fnd[:n].mean():,.1f} |")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print("\n".join(rows(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))))
