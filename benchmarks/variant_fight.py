"""``benchmarks/fair_fight.py`` with the probe policies of ``benchmarks/ddnn_price_probes.py`` registered for
this process only (they are not shipped policies): ``ddnn-price-search4``.

Run it as fair_fight.py, with ``--workers 1`` (the registration lives in this process), e.g.
``python3 benchmarks/variant_fight.py --suite studies/suite.toml --split heldout --scenarios "S" --seeds 30
--tune-seeds 0 --workers 1 --set rounds=4000 --policies ddnn-price-search4 --out OUT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the checkout, and this folder (ddnn_price_probes, fair_fight)

import fair_fight  # noqa: E402

from wsnmec.clustering.registry import CLUSTERING_POLICIES  # noqa: E402

CLUSTERING_POLICIES["ddnn-price-search4"] = "ddnn_price_probes:PricedSearch4"

if __name__ == "__main__":
    if "--workers" not in sys.argv or sys.argv[sys.argv.index("--workers") + 1] != "1":
        sys.exit("variant_fight.py: use --workers 1 (the probe policies are registered in this process only)")
    raise SystemExit(fair_fight.main())
