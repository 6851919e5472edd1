"""Slow, readable pure-Python reference of the shared sink medium (wsnmec.sim.accounting, module Notes 6).

Written from the Notes, independently of the compiled scheduler: plain lists, the earliest-free channel
found by a linear scan, jobs sorted by Python's ``sorted`` with the key (ready time, node index).
"""

from __future__ import annotations


def serve_jobs(jobs, channels):
    """List scheduling on ``channels`` identical channels.

    ``jobs``: a list of ``(ready [s], transmission [s], tail [s], node)``. Returns ``(latency [s],
    completions)`` with ``completions[j]`` the completion of ``jobs[j]``: jobs in order of ready time (ties:
    the lower node index first), each on the first channel that frees first, without preemption; it
    completes ``tail`` after its transmission ends.
    """
    completions = [0.0] * len(jobs)
    free = [0.0] * min(channels, len(jobs))
    for j in sorted(range(len(jobs)), key=lambda j: (jobs[j][0], jobs[j][3])):
        ready, transmission, tail, _node = jobs[j]
        channel = min(range(len(free)), key=lambda c: free[c])
        start = max(ready, free[channel])
        end = start + transmission
        free[channel] = end
        completions[j] = end + tail
    return max(completions, default=0.0), completions


def head_jobs(heads, offload, received, constants, bits):
    """The sink jobs of the cluster heads ``heads`` (those that deliver): ``offload[c]`` True for an edge
    offload, ``received[c]`` packets gathered; ``constants`` as :meth:`naive.NaiveNetwork.workload_constants`.
    The m offloads share the edge server: each processes at F min(1, cores / m)."""
    _e, result, cycles, mcu, rate, edge_hz, cores, edge_cycles = constants
    m = sum(1 for c in heads if offload[c])
    share = cores / m if m > cores else 1.0
    jobs = []
    for c in heads:
        got = received[c]
        gathered = (got + 1) * bits
        if offload[c]:  # members' slots, then the upload, then the edge processing
            jobs.append((got * bits / rate, gathered / rate, gathered * edge_cycles / (edge_hz * share), c))
        else:  # members' slots and the processing, then the result
            jobs.append((got * bits / rate + gathered * cycles / mcu, result / rate, 0.0, c))
    return jobs


def shared_latency(direct_senders, heads, offload, received, constants, bits, channels):
    """The round's latency [s] under the shared medium: one packet l / R per direct sender (ready at 0) and
    one job per delivering cluster head."""
    rate = constants[4]
    jobs = [(0.0, bits / rate, 0.0, i) for i in direct_senders]
    jobs += head_jobs(heads, offload, received, constants, bits)
    return serve_jobs(jobs, channels)[0]
