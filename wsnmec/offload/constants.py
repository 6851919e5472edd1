"""Constants shared by the offloading interface, the model families and the compiled dispatch.

Kept in their own module so that the interface (:mod:`.models`) imports no implementation and the
dispatch table (:mod:`.dispatch`), which imports every family, is imported by nobody it imports.
"""

#: Model family -> kernel id (``OffloadModel.kind``); :mod:`.dispatch` branches on these.
MODEL_KINDS = {"mumt": 0, "wsn-ch": 1, "wpmec": 2}

#: Columns of the per-decision scratch array ``work`` used by ``gray_init``/``gray_flip``.
WORK_COLUMNS = 4
