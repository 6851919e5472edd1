"""Test tiers: the full suite (``python3 -m pytest -q``, what CI runs) and the fast tier
(``python3 -m pytest -q -m "not slow"``, the developer's loop).

The tier is chosen in ``conftest.pytest_configure``: fast when the marker expression deselects the ``slow``
tests, else full; the environment variable ``WSNMEC_TEST_TIER`` (``fast`` or ``full``) overrides it. The fast
tier draws fewer Hypothesis examples per property test, and a property test whose pure-Python reference grows
fast with the problem size may draw smaller problems there (:func:`largest`); the full suite draws every example
it always did, at every size.
"""

from __future__ import annotations

#: True in the fast tier (set by conftest.pytest_configure before the test modules are imported).
FAST = False


def examples(full: int) -> int:
    """Hypothesis ``max_examples`` for a property test: ``full`` in the full suite; a quarter of it (at least
    10, never more than ``full``) in the fast tier."""
    return min(full, max(10, full // 4)) if FAST else full


def largest(full: int, fast: int) -> int:
    """The largest problem size a property test draws: ``full`` in the full suite, ``fast`` (smaller, still
    large enough for the cases the test is about) in the fast tier."""
    return min(full, fast) if FAST else full
