"""Per-round time of whole simulated rounds (harvest, election, accounting, recording) for clustering policies.

Run from the project root: ``python3 benchmarks/baselines_round_time.py leach-c deec leach``. For each
protocol and N in (100, 1e3, 1e4): the default 100 m x 100 m field, p = 0.1, E0 = 1000 J (no node dies),
one replica in one worker, through :func:`wsnmec.sim.simulation.simulate` (deployment and tables
included), after a warm-up run; prints wall-clock and process CPU time per round.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wsnmec.sim import Scenario, simulate  # noqa: E402

SIZES = [(100, 400), (1000, 200), (10_000, 50)]


def timed(protocol: str, nodes: int, rounds: int):
    scenario = Scenario.from_mapping(protocol=protocol, nodes=nodes, rounds=rounds, e0=1000.0)
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(scenario, seed=1, replicas=1, workers=1)
    return (time.perf_counter() - wall) / rounds * 1e3, (time.process_time() - cpu) / rounds * 1e3, result


def main(protocols):
    for protocol in protocols:
        timed(protocol, 100, 3)  # warm-up: load the compiled code
        for nodes, rounds in SIZES:
            wall, cpu, result = timed(protocol, nodes, rounds)
            heads = result.rounds["cluster_heads"].mean()
            print(f"{protocol} N={nodes}: {wall:.2f} ms/round wall, {cpu:.2f} ms/round CPU "
                  f"({rounds} rounds, {heads:.1f} heads/round)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["leach-c", "deec"])
