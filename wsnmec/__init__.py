"""wsnmec: wireless-sensor-network energy-lifetime studies with mobile-edge-computing offloading."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("wsnmec")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
