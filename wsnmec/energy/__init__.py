"""Energy models: the first-order radio model and energy replenishment (harvesting)."""

from .radio import RADIO_PRESETS, RadioModel, radio_model

__all__ = ["RADIO_PRESETS", "RadioModel", "radio_model"]
