"""The lifetime simulator: scenarios, deployment, seeding, the round kernel, ``simulate()``, metrics, reports.

>>> from wsnmec.sim import Scenario, simulate
"""

from .scenario import Scenario
from .simulation import SimulationResult, simulate

__all__ = ["Scenario", "SimulationResult", "simulate"]
