"""Alias of :mod:`wsnmec.limits` (its former place): the same module object, so imports and patches of either
name reach the one module."""

import sys

from .. import limits as _module

sys.modules[__name__] = _module
