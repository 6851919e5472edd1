"""Clustering policies: who becomes cluster head (CH) in a round.

One module per protocol: :mod:`.direct` (no clustering), :mod:`.leach` and :mod:`.ileach` (LEACH-DCHS).
Each exposes a compiled ``elect_*`` function with the same signature, which the round kernel
(:mod:`wsnmec.sim.kernel`) calls; an externally chosen cluster-head mask can instead be passed straight to
:func:`wsnmec.sim.kernel.account_round`.
"""

from .leach import epoch_length, leach_threshold
from .ileach import ileach_threshold

#: Integer codes of the protocols as the compiled kernel sees them.
PROTOCOL_CODES: dict[str, int] = {"direct": 0, "leach": 1, "ileach": 2}

__all__ = ["PROTOCOL_CODES", "epoch_length", "leach_threshold", "ileach_threshold"]
