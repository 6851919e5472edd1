"""Validate the wpmec model on every DROO data file (a script; minutes): the objective of the stored
decision vs ``output_obj``, and the exact optimum by enumeration vs ``output_obj``.

    PYTHONPATH=. python3 benchmarks/check_droo_data.py [DIR] [--out FILE.json]

DIR defaults to ../shared/peers/droo. Weights: 1 and 1.5 alternating (even, odd 0-based device index);
``data_10_WeightsAlternated.mat``: 1.5 and 1.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from wsnmec.offload import load_droo, solvers, wpmec_model, wpmec_states
from wsnmec.offload.wpmec import default_weights


def check(path: Path) -> dict:
    data = load_droo(path)
    n = data.devices
    we, wo = (1.5, 1.0) if "Alternated" in path.name else (1.0, 1.5)
    model = wpmec_model(n, weight_even=we, weight_odd=wo)
    states = wpmec_states(data.input_h, default_weights(n, we, wo))
    stored = model.score(states, data.output_mode)
    rel = stored / data.output_obj - 1
    t0 = time.perf_counter()
    dec, best = solvers.exact(model, states)
    secs = time.perf_counter() - t0
    gap = best / data.output_obj - 1
    return {
        "file": path.name, "samples": int(data.samples), "devices": int(n), "weights": [we, wo],
        "stored_vs_obj_rel": {"max_abs": float(np.abs(rel).max()), "mean": float(rel.mean()),
                              "quantiles_1_50_99": [float(q) for q in np.quantile(rel, [0.01, 0.5, 0.99])],
                              "within_1e-5": int((np.abs(rel) <= 1e-5).sum())},
        "exact_vs_obj_rel": {"min": float(gap.min()), "max": float(gap.max()),
                             "exact_ge_obj": int((best >= data.output_obj).sum()),
                             "exact_ge_obj_minus_1e-6": int((gap >= -1e-6).sum())},
        "exact_decision_equals_stored": int((dec == data.output_mode).all(axis=1).sum()),
        "exact_ms_per_sample": 1e3 * secs / data.samples,
    }


def main():
    argv = sys.argv[1:]
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    args = [a for a in argv if not a.startswith("--") and a != out]
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "peers" / "droo"
    results = []
    for path in sorted(root.glob("data_*.mat")):
        res = check(path)
        print(json.dumps(res), flush=True)
        results.append(res)
    if out:
        Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
