"""Probe: do price weights trained at the held-out suite's energy beat anneal on both lifetimes?

The shipped ``ddnn-price`` model is trained on ``wsnmec.training.prices.TRAINING_SCENARIOS``, whose initial
energies (0.1-0.3 J) keep each lifetime short; the held-out part of ``studies/suite.toml`` runs at 0.5 J. This
script asks whether that mismatch is why the learned prices do not beat ``anneal``: it trains the price weights
with every training scenario at ``--e0`` (default 0.5 J), otherwise as ``wsnmec train --protocol ddnn-price``
(seed 1, 8 generations x 12 samples), once with the fitness ``mean`` (the shipped setting) and once with ``min``
(a gain counts only when both lifetimes gain), and runs them on the 12 validation deployments of
``benchmarks/ddnn_price_probes.py`` (run seeds + 10,000 and + 20,000, never a training deployment, never a
held-out scenario) at the same energy, against ``anneal``, ``ddnn-price-rule`` (the prices 1 / e_i) and the
shipped model.

Rule (fixed before the first run, in the session's notes): a trained model passes when its mean FND ratio and
its mean HND ratio are both above 1 against anneal and against ddnn-price-rule. A model that passes would
become the candidate for the shipped one and get one held-out run of 30 seeds; none passing leaves the shipped
model as it is.

Run ``python3 benchmarks/ddnn_price_e0_probe.py [--jobs 2] [--e0 0.5] [--out FILE.md]`` (about 5 minutes on 2
cores).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout this script belongs to
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddnn_price_probes import _row, finish, lifetime, probe_arguments, probe_deployments  # noqa: E402

from wsnmec.clustering.anneal import AnnealPolicy  # noqa: E402
from wsnmec.clustering.priced import PricedPolicy, PricedRulePolicy  # noqa: E402
from wsnmec.sim.scenario import Scenario  # noqa: E402
from wsnmec.training.prices import TRAINING_SCENARIOS, train_prices, validation_deployments  # noqa: E402

#: The fitnesses trained (:data:`wsnmec.training.prices.FITNESS`).
FITNESSES = ("mean", "min")


def _run(task):
    """(FND, HND, mean decision time per round [s], mean round latency up to FND [s]) of one deployment."""
    values, seed, name, weights = task
    scenario = Scenario.from_mapping({**values, "protocol": "ddnn-price"})
    if name == "anneal":
        clustering = AnnealPolicy(scenario)
    elif name == "ddnn-price-rule":
        clustering = PricedRulePolicy(scenario)
    elif weights is None:
        clustering = PricedPolicy(scenario)  # the shipped model
    else:
        clustering = PricedPolicy(scenario, weights=np.asarray(weights))
    return lifetime(scenario, seed, clustering)


def _options(parser) -> None:
    parser.add_argument("--e0", type=float, default=0.5, metavar="J",
                        help="every scenario's and deployment's initial energy [J] (default 0.5, the held-out suite's)")


def main(argv=None) -> int:
    args = probe_arguments(__doc__, argv, _options)
    if not args.e0 > 0:
        print(f"Error: --e0: must be > 0 [J]; got {args.e0}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    scenarios = [(dict(values, e0=args.e0), seed) for values, seed in TRAINING_SCENARIOS]
    models = {"ddnn-price (shipped model)": None}
    notes = []
    for fitness in FITNESSES:
        out = train_prices(scenarios, seed=1, generations=8, population=12, fitness=fitness, jobs=args.jobs,
                           validation=validation_deployments(scenarios))
        name = f"trained at {args.e0:g} J, fitness {fitness}"
        models[name] = out["weights"]
        zero = "zero weights (the prices 1 / e_i)" if not np.any(out["weights"]) else "weights " + ", ".join(
            f"{w:.3f}" for w in out["weights"])
        notes.append(f"- {name}: training fitness {out['fitness']:.4f}; {zero}")
    deployments = [(dict(values, e0=args.e0), seed) for values, seed in probe_deployments()]
    names = ["anneal", "ddnn-price-rule", *models]
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = {name: list(pool.map(_run, [(v, s, name, models.get(name)) for v, s in deployments]))
                for name in names}
    lines = ["| model | against | FND / baseline [95 % t] | HND / baseline | min(FND, HND ratio) | "
             "decision ms/round | passes |", "|---|---|---|---|---|---|---|"]
    for name in models:
        for base in ("anneal", "ddnn-price-rule"):
            lines.append(_row(name, runs[name], runs[base]).replace(f"| {name} |", f"| {name} | {base} |", 1))
    lines.append(_row("ddnn-price-rule", runs["ddnn-price-rule"], runs["anneal"]).replace(
        "| ddnn-price-rule |", "| ddnn-price-rule | anneal |", 1))
    lines += ["", "(passes: the mean FND and HND ratios and the mean min ratio all above 1 against that baseline; "
                  "the rule asks for the first two against both baselines)", "", *notes, "",
              "FND / HND of each deployment (validation seeds + 10,000, then + 20,000):", ""]
    lines += [f"- {name}: " + ", ".join(f"{f}/{h}" for f, h, *_ in result) for name, result in runs.items()]
    return finish(lines, len(deployments), start, args.jobs, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
