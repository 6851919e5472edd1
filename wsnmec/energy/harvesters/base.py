"""What a harvest model declares (:class:`HarvestModel`), and the storage rule every model's draw applies.

A harvest model is one file holding one :class:`HarvestModel` (conventionally named ``MODEL``): its ``--harvest``
name, the names, units and ranges of its values, the text it adds to the ``--harvest`` help and error
messages, whether it is given in power units (then it converts its values with ``--round-seconds``), and how a
round's energy is drawn:

- a *built-in* model (a file of :mod:`wsnmec.energy.harvesters` listed in
  :data:`~wsnmec.energy.harvesters.registry.HARVEST_MODELS`) has a compiled ``draw`` and an integer ``code``;
  the compiled round kernels reach it through the closed dispatch :func:`wsnmec.energy.harvest.harvest_round`
  (numba's on-disk cache needs a closed set of callees: one branch per code there);
- a model may instead ``convert`` its values to another model's (``constant-w:W`` is ``constant:W t``);
- a *plug-in* model (any other) gives ``offer``, a Python function run once per round in the policy round loop
  (never the fused loop): ``offer(rng, values, round_number, harvesting, memory) -> amounts [J]``, with
  ``values`` its converted values (a tuple of floats), ``harvesting`` a read-only bool[N] mask of the nodes
  that harvest this round, ``memory`` a dict the model may keep state in (one per replica, empty at round 1)
  and ``amounts`` float[N], the energy offered to each node (>= 0, finite; ignored where ``harvesting`` is
  False). The storage rule (Notes) is applied by the package, so a plug-in can never break the energy
  balance; its random draws come from the replica's Generator, before the election's draws of the round.

Notes
-----
Storage (:mod:`wsnmec.energy.harvest` Notes): a node holding ``E_i`` of capacity ``B_i`` [J] offered ``h_i`` [J]
stores ``max(0, min(h_i, B_i - E_i))``; a dead node whose energy reaches the revive threshold revives. Each
compiled draw applies it in its own node loop (written out in each file, as the one loop of ``harvest_round`` did
before: a shared compiled helper measured about 3 times slower on the ``markov`` loop).

numba invalidates a cached kernel only when *its own* source file changes; the package drops every cached
kernel on import when any of its source files changed (:mod:`wsnmec.kernel_cache`), so ``harvest_round`` and
the round kernels that call a model's draw are recompiled after an edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

#: How a value is checked when a ``--harvest`` spec is parsed: probabilities in [0, 1], periods > 0, energies
#: and powers >= 0.
VALUE_CHECKS = ("probability", "positive", "nonnegative")


def _always(values) -> bool:
    return True


@dataclass(frozen=True)
class HarvestModel:
    """One energy-replenishment model (module docstring).

    Parameters
    ----------
    name : str
        The ``--harvest`` name (lower case).
    values : tuple of str
        Names of the values written after ``name:``, in order.
    units : tuple of str
        Their units (``J``, ``J/round``, ``W``, ``s``, ``rounds``, ``1``).
    checks : tuple of str
        Their ranges (:data:`VALUE_CHECKS`), one per value.
    syntax : str
        How the model is written in the error messages' list (``bernoulli:J,Q``).
    help : str, optional
        How it is written in the ``--harvest`` help (default: ``syntax``).
    needs_round_seconds : bool
        Whether its values are in power units [W] and [s], converted with ``--round-seconds``.
    code : int, optional
        Built-in models with a compiled ``draw``: their code in the closed dispatch.
    draw : numba dispatcher, optional
        Built-in models: the compiled round, ``draw(rng, params, round_number, energy, capacity, alive,
        chain_state, revive_threshold, stored_per_node) -> stored [J]`` (parameters as
        :func:`wsnmec.energy.harvest.harvest_round`; ``stored_per_node`` is zero on entry).
    convert : callable, optional
        ``convert(values, round_seconds) -> (model name, values)``: the model (and its values) that runs it,
        e.g. ``constant-w:W`` -> ``("constant", (W t,))``; default: the model itself, values unchanged.
    can_harvest : callable, optional
        ``can_harvest(values) -> bool``: whether a positive harvest is possible at all (used to end runs early
        when no dead node can revive); default: always True (conservative).
    offer : callable, optional
        Plug-in models: the per-round Python draw (module docstring).
    """

    name: str
    values: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    syntax: str = ""
    help: str = ""
    needs_round_seconds: bool = False
    code: int | None = None
    draw: Callable | None = field(default=None, repr=False)
    convert: Callable | None = field(default=None, repr=False)
    can_harvest: Callable = field(default=_always, repr=False)
    offer: Callable | None = field(default=None, repr=False)

    @property
    def help_text(self) -> str:
        """How the model is written in the ``--harvest`` help."""
        return self.help or self.syntax or self.name

    def kernel_values(self, values: tuple, round_seconds: float | None) -> tuple[str, tuple]:
        """The (model name, values) that run this model's ``values`` (``convert``, or itself)."""
        if self.convert is None:
            return self.name, tuple(values)
        name, converted = self.convert(tuple(values), round_seconds)
        return name, tuple(converted)
