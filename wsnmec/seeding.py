"""Seeds and random-number generators.

Every random draw in wsnmec comes from a :class:`numpy.random.Generator` made from the user's seed. A run
with K replicas gives replica 0 the user's seed itself and replicas 1..K-1 seeds spawned from it with
:class:`numpy.random.SeedSequence`, so that the seed recorded for any replica, passed back with one
replica, reproduces that replica exactly.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

#: Seeds are non-negative integers below 2**63, so they fit a signed 64-bit column in Parquet.
MAX_SEED = 2**63 - 1


def check_seed(seed, name: str = "--seed") -> int:
    """Validate a user seed (a non-negative integer < 2**63)."""
    if isinstance(seed, bool):
        raise ParameterError(name, f"must be an integer in [0, {MAX_SEED}], got {seed!r}")
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be an integer in [0, {MAX_SEED}], got {seed!r}") from None
    if value < 0 or value > MAX_SEED:
        raise ParameterError(name, f"must be an integer in [0, {MAX_SEED}], got {seed!r}")
    return value


def fresh_seed() -> int:
    """A new seed from operating-system entropy (recorded by the caller so the run can be repeated)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


def replica_seeds(seed: int, replicas: int) -> list[int]:
    """Seeds of ``replicas`` independent replicas derived from ``seed``.

    Replica 0 gets ``seed`` itself; replica i >= 1 gets a 63-bit seed from the i-th child of
    ``SeedSequence(seed)``. Passing a replica's seed back with ``replicas=1`` reproduces it.
    """
    seed = check_seed(seed)
    children = np.random.SeedSequence(seed).spawn(max(replicas, 1))
    seeds = [seed]
    for child in children[1:replicas]:
        seeds.append(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    return seeds


def generator(seed: int) -> np.random.Generator:
    """The Generator (PCG64 via ``default_rng``) of one replica or task seed."""
    return np.random.default_rng(check_seed(seed))
