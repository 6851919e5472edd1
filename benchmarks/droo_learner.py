"""The learner on DROO's data (a script, minutes): acceptance numbers of issue 9.

    PYTHONPATH=. python3 benchmarks/droo_learner.py [--frames F] [--out FILE.json]
        [--conditions none|droo-on-off|droo-alternate]

data_10.mat, 80:20 split as DROO; the exact optimum (enumeration of all 1,024 decisions with the optimal
resource allocation) is computed once and normalizes every policy. Learners: DROO's settings
(``--preset droo``) with K = 1, 3, 5 fixed and K = 10 with adaptive K (interval 32), and the package
defaults (K = 3 networks). Baselines on the test frames: exact, coordinate descent, greedy, all-local,
all-offload, random. With ``--conditions`` the frames are DROO's on/off or weight-alternation schedule
(every frame trains, as in DROO's demos) and the per-interval learner numbers are reported.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from wsnmec.offload import DDLO, load_droo, solvers, wpmec_model, wpmec_states
from wsnmec.offload.conditions import CONDITION_PRESETS, apply_conditions, interval_summary
from wsnmec.offload.ddlo import learner_settings
from wsnmec.offload.online import _timed_per_frame, run_online

ROOT = Path(__file__).resolve().parents[2] / "shared" / "peers" / "droo"


def learner(model, settings, seed):
    s = dict(settings)
    networks = s.pop("networks")
    if s.get("candidates") == "n":
        s["candidates"] = model.n_decisions
    return DDLO(model.n_decisions, model.n_decisions, networks=networks, rng=np.random.default_rng(seed), **s)


def main():
    argv = sys.argv[1:]
    opt = lambda name, default: argv[argv.index(name) + 1] if name in argv else default  # noqa: E731
    frames = int(opt("--frames", 30000))
    conditions = opt("--conditions", "none")
    out = opt("--out", None)
    data = load_droo(ROOT / "data_10.mat")
    model = wpmec_model(10)
    states = wpmec_states(data.input_h[:frames], [1, 1.5] * 5)
    changes = None
    if conditions != "none":
        states, changes, _ = apply_conditions(model, states, CONDITION_PRESETS[conditions])
    train = int(0.8 * frames)
    t0 = time.perf_counter()
    _, opt_train = solvers.exact(model, states[:train])
    opt_dec, opt_test, opt_ms = _timed_per_frame(lambda s: solvers.exact(model, s), model, states[train:])
    optimum = np.concatenate([opt_train, opt_test])
    report = {"frames": frames, "train_frames": train, "conditions": conditions,
              "exact_seconds": time.perf_counter() - t0, "policies": {}}
    report["policies"]["optimal"] = {"normalized_utility": 1.0, "decision_ms_median": float(np.median(opt_ms)),
                                     "mean_objective": float(opt_test.mean())}
    droo = learner_settings("droo")
    runs = {
        "droo K=10 adaptive": {**droo, "candidates": 10, "adaptive_k": 32},
        "droo K=10 fixed": {**droo, "candidates": 10, "adaptive_k": 0},
        "droo K=5": {**droo, "candidates": 5, "adaptive_k": 0},
        "droo K=3": {**droo, "candidates": 3, "adaptive_k": 0},
        "droo K=1": {**droo, "candidates": 1, "adaptive_k": 0},
        "defaults (K=3 networks)": learner_settings(),
    }
    if conditions != "none":
        runs = {k: {**v, "train_through_test": True} for k, v in runs.items() if k == "droo K=10 adaptive"}
    for name, settings in runs.items():
        t1 = time.perf_counter()
        table = run_online(model, states, learner(model, settings, 1), train_frames=train, optimum=optimum)
        test = table.iloc[train:]
        row = {"normalized_utility": float(test["normalized_utility"].mean()),
               "decision_ms_median": float(test["decision_ms"].median()),
               "mean_objective": float(test["utility"].mean()),
               "k_final": int(table["candidates"].iloc[-1]), "k_mean": float(table["candidates"].mean()),
               "seconds": time.perf_counter() - t1, "settings": settings}
        if changes is not None:
            row["intervals"] = interval_summary(table, changes, frames)
            row["all_frames_normalized_utility"] = float(table["normalized_utility"].mean())
        report["policies"][name] = row
        print(name, json.dumps({k: v for k, v in row.items() if k != "settings"}), flush=True)
    if changes is None:
        rng = np.random.default_rng(2)
        for name, fn in {"coordinate-descent": lambda s: solvers.coordinate_descent(model, s),
                         "greedy": lambda s: solvers.greedy(model, s),
                         "all-local": lambda s: solvers.all_local(model, s),
                         "all-offload": lambda s: solvers.all_offload(model, s),
                         "random": lambda s: solvers.random_policy(model, s, rng)}.items():
            _, util, ms = _timed_per_frame(fn, model, states[train:])
            report["policies"][name] = {"normalized_utility": float((util / opt_test).mean()),
                                        "decision_ms_median": float(np.median(ms)), "mean_objective": float(util.mean())}
            print(name, json.dumps(report["policies"][name]), flush=True)
    else:
        report["changes"] = changes
    if out:
        Path(out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
