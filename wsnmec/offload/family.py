"""What an offloading model family declares (:class:`OffloadFamily`); the registry is :mod:`.registry`.

A family is one file (``mumt.py``, ``wsn_ch.py``, ``wpmec.py``) holding its model builder, its kernels and one
:class:`OffloadFamily` (conventionally named ``FAMILY``): its ``--model`` name, its ``--param`` keys with their
defaults, units and meaning, how it builds an :class:`~wsnmec.offload.models.OffloadModel`, whether it takes
``--tasks``, how it reads a data set (``--dataset``), and, for a *compiled* family, its kernel id ``kind`` and the
``@njit`` hooks that the closed dispatch :mod:`wsnmec.offload.dispatch` branches to (``score``, ``gray_init``,
``gray_flip``: the kernel protocol of :mod:`wsnmec.offload.models`).

A *plug-in* family (not a file of this package) needs no compiled hooks: its models carry a Python (or
compiled) ``score_batch_fn``, and the solvers and the learner score its candidates through
:meth:`OffloadModel.score <wsnmec.offload.models.OffloadModel.score>` (:func:`wsnmec.offload.solvers.exact`,
:func:`~wsnmec.offload.solvers.coordinate_descent` and :meth:`DDLO.decide <wsnmec.offload.ddlo.DDLO.decide>` have
a Python path for a model whose ``kind`` has no branch in the dispatch); :func:`wsnmec.offload.make_model` gives a
plug-in's models the kind :data:`~wsnmec.offload.constants.PLUGIN_KIND`, so that they never reach a built-in's
kernels. This interface imports no implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class OffloadFamily:
    """One offloading model family (module docstring).

    Parameters
    ----------
    name : str
        The ``--model`` name.
    build : callable
        ``build(devices, tasks, **overrides)`` when ``takes_tasks``, else ``build(devices, **overrides)``:
        the :class:`~wsnmec.offload.models.OffloadModel` (errors as :class:`~wsnmec.errors.ParameterError`
        naming ``--devices``, ``--tasks`` or the constant).
    defaults : dict
        ``--param`` key -> default (None: depends on the model's size), in the order the error messages list
        them.
    parameters : dict
        ``--param`` key -> (unit, meaning), in the order of ``--list-params``.
    takes_tasks : bool
        Whether ``--tasks`` (decisions per device) is free; otherwise it must be 1.
    default_tasks : int
        ``--tasks`` when not given.
    summary : str
        One line for the ``--model`` help (what the family models).
    kind : int, optional
        Compiled families: the kernel id the dispatch branches on (``OffloadModel.kind``).
    score, gray_init, gray_flip : numba dispatchers, optional
        Compiled families: the kernel protocol's hooks (:mod:`wsnmec.offload.models`).
    dataset_label : str, optional
        The data-set format the family reads (``DDLO``, ``DROO``), for the messages.
    load_dataset : callable, optional
        ``load_dataset(path, devices) -> (data, devices)``: read before the model is built (the file fixes N).
    dataset_states : callable, optional
        ``dataset_states(model, path, data) -> (samples, states [samples, F])``: the frames of ``--dataset``
        (``data``: what ``load_dataset`` returned, or None).
    """

    name: str
    build: Callable = field(repr=False)
    defaults: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    takes_tasks: bool = False
    default_tasks: int = 1
    summary: str = ""
    kind: int | None = None
    score: Callable | None = field(default=None, repr=False)
    gray_init: Callable | None = field(default=None, repr=False)
    gray_flip: Callable | None = field(default=None, repr=False)
    dataset_label: str | None = None
    load_dataset: Callable | None = field(default=None, repr=False)
    dataset_states: Callable | None = field(default=None, repr=False)

    @property
    def compiled(self) -> bool:
        """Whether the family declares compiled hooks (then the dispatch must have its branch)."""
        return self.kind is not None
