"""The per-round and per-replica columns of a simulation, defined once.

Per-round columns written by the compiled record step (:func:`wsnmec.sim.kernel.record_round_jit`) are
:data:`INT_COLUMNS` and :data:`FLOAT_COLUMNS`, in that order; :data:`ROUND_COLUMNS` is the long-form table of
:func:`wsnmec.sim.simulate` (one row per replica and round), :data:`SUMMARY_COLUMNS` the one-row-per-replica
summary.

Units: energies [J], latency [s], ``system_utility`` [J] (energy plus the time weight [J/s] times the latency),
``delivered_bits`` [bit].
"""

#: Integer per-round records: alive nodes at the end of the round, cluster heads, packets delivered to the
#: sink (direct and from CHs), packets delivered to CHs, alive nodes at >= 90 % of capacity, CHs that offloaded,
#: and 1 when ``--offload exact`` had more heads than it optimises jointly and decided the round as ``greedy``
#: (:func:`wsnmec.sim.accounting.decide_offload_jit`; always 0 under the other rules).
INT_COLUMNS = ("alive", "cluster_heads", "packets_to_sink", "packets_to_ch", "nodes_ge_90pct", "offloaded",
               "offload_fallback")

#: Float per-round records: residual energy (sum of the positive stored energies) [J], energy drawn [J],
#: energy harvested [J], signed stored energy [J] (differs from residual only under ``matlab`` semantics),
#: latency [s], system utility [J], delivered bits [bit], control-message energy [J].
FLOAT_COLUMNS = ("residual_j", "consumed_j", "harvested_j", "stored_j", "latency_s", "system_utility",
                 "delivered_bits", "control_j")

#: Columns of the long-form per-round table (``energy_j`` is the round's energy drawn, the same number as
#: ``consumed_j``, under the name the offloading literature uses).
ROUND_COLUMNS = ("replica", "seed", "round", "alive", "dead", "cluster_heads", "residual_j", "consumed_j",
                 "harvested_j", "packets_to_sink", "packets_to_ch", "nodes_ge_90pct", "energy_j", "latency_s",
                 "system_utility", "delivered_bits", "offloaded", "control_j", "stored_j", "offload_fallback")

#: Columns of the per-replica summary (``utility_*`` are means over the replica's rounds;
#: ``offload_fallback_rounds``: the rounds in which ``--offload exact`` decided as ``greedy``).
SUMMARY_COLUMNS = ("replica", "seed", "fnd", "hnd", "lnd", "rounds", "energy_initial_j", "energy_harvested_j",
                   "energy_consumed_j", "energy_residual_j", "energy_stored_j", "energy_j_mean", "latency_s_mean",
                   "system_utility_mean", "delivered_bits_total", "offload_fallback_rounds")
