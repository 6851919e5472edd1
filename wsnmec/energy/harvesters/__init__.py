"""Harvest (energy-replenishment) models, one file each, and their registry (:mod:`.registry`).

:mod:`.base` says what a model declares; :data:`.registry.HARVEST_MODELS` lists the built-in ones (``none``,
``constant``, ``bernoulli``, ``markov``, ``markov-shared``, ``solar``, ``constant-w``, ``solar-w``);
:mod:`wsnmec.energy.harvest` parses ``--harvest`` values and holds the compiled dispatch of the round kernels.
"""
