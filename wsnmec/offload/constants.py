"""Constants shared by the offloading interface, the model families and the compiled dispatch.

Kept in their own module so that the interface (:mod:`.models`) imports no implementation and the
dispatch table (:mod:`.dispatch`), which imports every compiled family, is imported by nobody it imports.
Each family declares its kernel id in its own file (``MUMT_KIND``, ...); :data:`wsnmec.offload.dispatch.MODEL_KINDS`
collects them.
"""

#: ``OffloadModel.kind`` of a model without a branch in the compiled dispatch (a plug-in family's): the solvers
#: and the learner score its candidates through ``OffloadModel.score`` instead.
PLUGIN_KIND = -1

#: Columns of the per-decision scratch array ``work`` used by ``gray_init``/``gray_flip``.
WORK_COLUMNS = 4
