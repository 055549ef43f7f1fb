"""Helpers shared by the benchmarks: reading a process's CPU and memory from
/proc, pinning it to a CPU, percentiles.

SPDX-License-Identifier: GPL-3.0-or-later
"""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(path) -> float:
    """utime + stime in seconds of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat."""
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pin(pid, cpu):
    """Pin a process and all its threads (later threads inherit the mask)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except OSError:
            pass


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
