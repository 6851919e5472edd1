"""Named scenario presets (``--preset NAME``): published settings a run can reproduce in one word.

A preset is a mapping of scenario parameters. :meth:`wsnmec.sim.scenario.Scenario.from_mapping` applies it
to the keys the user did not give (an explicit option always overrides the preset); the preset's name is
recorded in the run's config (``preset``). Keys a preset names that this version's :class:`Scenario` does
not have are skipped, so a preset may list a parameter before the parameter exists.

- ``classic``: the package's defaults of version 0.1 (the published LEACH curves): p = 0.1, no control
  messages (B = 0), the ideal medium. ``--preset classic`` reproduces the v0.1 regression digests.

Adding a preset, or a key to one, is one line here.
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, object]] = {
    "classic": {
        "p": 0.1,
        "control_bits": 0,
        "medium": "ideal",
    },
}


def preset_names() -> tuple[str, ...]:
    """The accepted ``--preset`` values."""
    return tuple(PRESETS)
