"""wsnmec: wireless-sensor-network energy-lifetime studies with mobile-edge-computing offloading."""

from importlib.metadata import PackageNotFoundError, version as _version

from .kernel_cache import drop_stale_kernels as _drop_stale_kernels

try:
    __version__ = _version("wsnmec")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

# numba reuses a cached kernel while its own file is unchanged, even when a function it calls changed: drop
# the cache whenever any source file differs from those it was built from (wsnmec.kernel_cache).
_drop_stale_kernels()

__all__ = ["__version__"]
