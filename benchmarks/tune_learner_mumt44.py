"""The learner's candidates per network on mumt 4 x 4 (a script, not a benchmark test; run by hand, minutes).

Generated states only (the DDLO state distribution at 4 devices x 4 tasks, 20,000 frames, seeds 101 and
102 by default; never the seed-1 frames the acceptance number is reported on), K = 3 networks, 80:20
split, test-frame mean normalized utility. The exact optimum (2**16 decisions per frame, about a minute
per seed) is computed once per seed.

    PYTHONPATH=. python3 benchmarks/tune_learner_mumt44.py [SEED,SEED,...]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from wsnmec import threads
from wsnmec.offload import DDLO, mumt_model, solvers
from wsnmec.offload.online import run_online

CONFIGS = {  # name: learner options over the package defaults (order-preserving, every 2 frames)
    "op-2": {"candidates": 2},
    "op-4 (default)": {"candidates": 4},
    "op-6": {"candidates": 6},
    "op-8": {"candidates": 8},
    "op-2 every frame": {"candidates": 2, "train_interval": 1},
    "op-4 every frame": {"candidates": 4, "train_interval": 1},
    "op-4 every 3 frames": {"candidates": 4, "train_interval": 3},
    "op-4 learning rate 0.005": {"candidates": 4, "learning_rate": 0.005},
    "op-4 hidden 240, 160": {"candidates": 4, "hidden": (240, 160)},
    "op-4 memory 4096": {"candidates": 4, "memory_size": 4096},
    "op-4 batch 64": {"candidates": 4, "batch_size": 64},
}


def main(seeds=(101, 102), frames: int = 20_000):
    model = mumt_model(4, 4)
    results = {}
    with threads.single_blas_thread():
        for seed in seeds:
            states = model.random_states(np.random.default_rng(seed), frames)
            start = time.perf_counter()
            _, optimum = solvers.exact(model, states)
            print(f"seed {seed}: exact optimum in {time.perf_counter() - start:.0f} s", flush=True)
            train = int(0.8 * frames)
            features = model.features(states[:1]).shape[1]
            for name, options in CONFIGS.items():
                learner = DDLO(features, model.n_decisions, networks=3, rng=np.random.default_rng(seed), **options)
                table = run_online(model, states, learner, train_frames=train, optimum=optimum)
                score = float(table["normalized_utility"].iloc[train:].mean())
                results.setdefault(name, []).append(score)
                print(f"seed {seed} {name}: {score:.5f}", flush=True)
    print(json.dumps({k: float(np.mean(v)) for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main(tuple(int(s) for s in sys.argv[1].split(",")) if len(sys.argv) > 1 else (101, 102))
