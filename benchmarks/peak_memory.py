"""Wall time and peak memory of a command *with all its child processes* (Linux; a script, run by hand).

``/usr/bin/time -v`` reports the largest single process, which understates a command that forks workers
(``wsnmec figures --jobs 2`` draws on forked processes). This samples, every ``--interval`` seconds, the
proportional set size (PSS: shared pages split between the processes sharing them, from
``/proc/PID/smaps_rollup``) and the resident set size (RSS: shared pages counted in every process) summed
over the command's process tree, and prints the wall time and both peaks:

    python3 benchmarks/peak_memory.py [--interval 0.02] -- wsnmec figures --results results --out figures
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (running now)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process [kB]; (0, 0) if it is gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.02, help="sampling interval [s]")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak_pss = peak_rss = processes = 0
    while proc.poll() is None:
        pids = tree(proc.pid)
        sizes = [memory_kb(p) for p in pids]
        peak_pss = max(peak_pss, sum(s[0] for s in sizes))
        peak_rss = max(peak_rss, sum(s[1] for s in sizes))
        processes = max(processes, len(pids))
        time.sleep(args.interval)
    wall = time.perf_counter() - start
    print(f"exit {proc.returncode}; wall {wall:.2f} s; peak of the process tree: PSS {peak_pss / 1024:.0f} MB, "
          f"RSS {peak_rss / 1024:.0f} MB; at most {processes} processes")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
