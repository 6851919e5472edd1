"""The lifetime limit: an upper bound on first-node death by linear programming over time-shared
configurations (HiGHS via SciPy), costed by the same accounting as the simulator (:mod:`wsnmec.bound.costs`,
:mod:`wsnmec.bound.colgen`)."""
