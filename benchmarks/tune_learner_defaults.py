"""How the learner's defaults were chosen (a script, not a benchmark test; run by hand, minutes).

Candidate settings are compared on *generated* states (the models' own random draws, seed 101),
never on the data files whose held-out frames the acceptance numbers are reported on:
mumt 3 x 3 (the DDLO state distribution, 10,000 frames) and wpmec N = 10 (DROO's channel model,
4,000 frames), 80:20 split, K = 3 networks, test-frame mean normalized utility.

    PYTHONPATH=. python3 benchmarks/tune_learner_defaults.py [--quick] [mumt-3x3] [wpmec-10]
"""

from __future__ import annotations

import itertools
import json
import sys
import time

import numpy as np

from wsnmec.offload import DDLO, mumt_model, solvers, wpmec_model
from wsnmec.offload.online import run_online

CONFIGS = {  # name: (learner options, training interval)
    "threshold interval=10 (old defaults)": ({"quantization": "threshold", "candidates": 1}, 10),
    "threshold interval=2": ({"quantization": "threshold", "candidates": 1}, 2),
    "op-2 interval=2": ({"quantization": "order-preserving", "candidates": 2}, 2),
    "op-4 interval=2": ({"quantization": "order-preserving", "candidates": 4}, 2),
    "op-4 interval=10": ({"quantization": "order-preserving", "candidates": 4}, 10),
}
#: ``--quick``: the old defaults against the two most promising changes, 1/5 of the frames.
QUICK_CONFIGS = ("threshold interval=10 (old defaults)", "threshold interval=2", "op-2 interval=2")


def main(quick: bool = False, only=None):
    models = {"mumt-3x3": (mumt_model(3, 3), 10_000), "wpmec-10": (wpmec_model(10), 4_000)}
    if only:
        models = {k: v for k, v in models.items() if k in only}
    seeds = (101,)
    results = {}
    for (mname, (model, frames)), seed in itertools.product(models.items(), seeds):
        if quick:
            frames //= 5
        states = model.random_states(np.random.default_rng(seed), frames)
        _, optimum = solvers.exact(model, states)
        train = int(0.8 * frames)
        feats = model.features(states[:1]).shape[1]
        for qname, (q, interval) in CONFIGS.items():
            if quick and qname not in QUICK_CONFIGS:
                continue
            t0 = time.perf_counter()
            learner = DDLO(feats, model.n_decisions, networks=3, train_interval=interval,
                           rng=np.random.default_rng(seed), **q)
            table = run_online(model, states, learner, train_frames=train, optimum=optimum)
            score = float(table["normalized_utility"].iloc[train:].mean())
            key = f"{mname} {qname}"
            results.setdefault(key, []).append(score)
            print(f"{key} seed={seed}: {score:.5f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(json.dumps({k: float(np.mean(v)) for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main("--quick" in sys.argv, [a for a in sys.argv[1:] if not a.startswith("--")])
