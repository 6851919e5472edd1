"""``solar-w:P_PEAK_W,PERIOD_S``: ``solar`` given as a peak power [W] and a period [s], converted with the round
duration ``--round-seconds`` t [s]: ``solar:P_PEAK_W t, PERIOD_S / t``."""

from .base import HarvestModel


def _convert(values, round_seconds):
    return "solar", (values[0] * round_seconds, values[1] / round_seconds)


MODEL = HarvestModel(
    name="solar-w", values=("peak_power", "period_seconds"), units=("W", "s"), checks=("nonnegative", "positive"),
    syntax="solar-w:P_PEAK_W,PERIOD_S", needs_round_seconds=True, convert=_convert,
    can_harvest=lambda values: values[0] > 0,
)
