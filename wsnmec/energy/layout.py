"""Layout of the packed round-parameter vector that the compiled round kernels read, and the codes stored in it.

:func:`wsnmec.sim.accounting.round_parameters` builds the vector (float64, :data:`N_PARAMS` entries); the kernels
index it with the ``R_*`` (radio) and ``P_*`` (packet, workload, hardware, control, medium) positions below.
Policies read the same positions (e.g. the control-message length ``P_CONTROL_BITS``) without importing the
simulator; ``wsnmec.sim.accounting`` re-exports every name.
"""

from __future__ import annotations

# --- positions in the packed round parameters (float64 vector; built by round_parameters) ---------------
R_E_ELEC, R_EPS_FS, R_EPS_MP, R_D0, R_E_DA = 0, 1, 2, 3, 4
P_BITS = 5  # packet length l [bit]
P_RESULT_BITS = 6  # local result size r [bit]
P_PROC_J_PER_BIT = 7  # local processing energy per input bit [J/bit]
P_CYCLES_PER_BIT = 8  # [cycles/bit] on the node
P_MCU_HZ = 9  # [Hz]
P_RATE = 10  # radio data rate [bit/s]
P_EDGE_HZ = 11  # edge clock per core [Hz]
P_EDGE_CORES = 12
P_EDGE_CYCLES_PER_BIT = 13  # [cycles/bit] at the edge
P_TIME_WEIGHT = 14  # w_T [J/s]
P_CONTROL_BITS = 15  # B [bit]
P_IDLE_J = 16  # [J] per alive node and round
P_SEMANTICS = 17  # 0 clean, 1 matlab
P_IDLE_WITHOUT_CH = 18  # matlab rule: non-CH nodes silent in a round without CH
P_JOIN_CLUSTER = 19  # 1: members join their nearest CH even when the sink is nearer
P_CONTROL_KIND = 20  # CONTROL_* code
P_DIAMETER = 21  # network diameter [m] (advertisement range)
P_MEDIUM = 22  # MEDIUM_* code: how sink-bound transmissions share the sink's radio (wsnmec.sim.accounting, Notes 6)
P_SINK_CHANNELS = 23  # C: channels at the radio rate R at the sink (shared medium)
N_PARAMS = 24

CLEAN = 0
MATLAB = 1

CONTROL_NONE = 0
CONTROL_DISTRIBUTED = 1
CONTROL_CENTRALIZED = 2
CONTROL_KINDS = {"none": CONTROL_NONE, "distributed": CONTROL_DISTRIBUTED, "centralized": CONTROL_CENTRALIZED}

MEDIUM_IDEAL = 0
MEDIUM_SHARED = 1
#: ``--medium`` values (wsnmec.sim.accounting, Notes 6): ``ideal`` gives every sink-bound transmission a channel of its own,
#: ``shared`` serves them on the sink's ``--sink-channels`` channels.
MEDIUMS = {"ideal": MEDIUM_IDEAL, "shared": MEDIUM_SHARED}
#: Largest ``--sink-channels`` (more channels than sink-bound transmissions change nothing).
MAX_SINK_CHANNELS = 10**9

LOCAL = 0
EDGE = 1
