"""Alias of :mod:`wsnmec.seeding` (its former place): the same module object, so imports and patches of either
name reach the one module."""

import sys

from .. import seeding as _module

sys.modules[__name__] = _module
