"""A replay memory shared by K networks: a ring buffer of (input rows, targets) pairs.

Each training step draws every network its own batch uniformly (with replacement) from the filled part,
with one ``rng.integers(0, filled, size=(K, B))`` call, so a seeded Generator reproduces the batches.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, check_int


class ReplayMemory:
    """Ring buffer of ``size`` entries, each an input row [n_in] and a target row [n_out] (float64).

    Parameters
    ----------
    size : int
        Capacity; once full, each new entry overwrites the oldest.
    n_in, n_out : int
        Input and target widths.
    """

    def __init__(self, size: int, n_in: int, n_out: int):
        self.size = check_int("memory_size", size, 1)
        self.inputs = np.zeros((self.size, check_int("n_in", n_in, 1)))
        self.targets = np.zeros((self.size, check_int("n_out", n_out, 1)))
        self.stored = 0

    @property
    def filled(self) -> int:
        """Entries currently held (<= size)."""
        return min(self.stored, self.size)

    def store(self, x, y) -> None:
        """Store one (input row, target row); the oldest entry is overwritten when full."""
        slot = self.stored % self.size
        self.inputs[slot] = x
        self.targets[slot] = y
        self.stored += 1

    def sample(self, rng: np.random.Generator, networks: int, batch: int):
        """``(x [K, B, n_in], y [K, B, n_out])``: each network's own uniform batch (with replacement)."""
        filled = self.filled
        if filled == 0:
            raise ParameterError("memory", "is empty; store entries before training")
        idx = rng.integers(0, filled, size=(networks, batch))
        return self.inputs[idx], self.targets[idx]

    def state(self) -> dict[str, np.ndarray]:
        return {"memory_inputs": self.inputs, "memory_targets": self.targets, "memory_stored": np.array(self.stored)}

    def load_state(self, arrays) -> None:
        self.inputs[...] = arrays["memory_inputs"]
        self.targets[...] = arrays["memory_targets"]
        self.stored = int(arrays["memory_stored"])
