"""``constant-w:W``: ``constant`` given as a power [W], converted with the round duration ``--round-seconds``
t [s]: ``constant:W t``."""

from .base import HarvestModel


def _convert(values, round_seconds):
    return "constant", (values[0] * round_seconds,)


MODEL = HarvestModel(
    name="constant-w", values=("power",), units=("W",), checks=("nonnegative",), syntax="constant-w:W",
    needs_round_seconds=True, convert=_convert, can_harvest=lambda values: values[0] > 0,
)
