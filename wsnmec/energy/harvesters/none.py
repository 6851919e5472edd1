"""``none``: nothing is harvested (the default; no random draws)."""

from .base import HarvestModel

MODEL = HarvestModel(name="none", syntax="none", code=0, can_harvest=lambda values: False)
