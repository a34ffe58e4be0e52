#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark of the emulated mesh's cross-cluster probe (figures printed; not a timed test).

For each cluster count (default 3 and 8): start an emulator, walk the procedure on every cluster and link every pair
(N x (N-1) probed pairs, 2 ztunnels and 1 east-west gateway pod per cluster), then measure
  tick      the in-process cost of one probe round (all pairs), as the emulator reports it (mean and max, ms)
  cpu on    the emulator process's CPU (user+sys, from /proc) over a window with the probe running every --interval
  cpu off   the same window with the probe switched off (settings probe=false): the rest of the simulation
  per tick  (cpu on - cpu off) / rounds in the window: what one round costs the process, everything included
Usage: .venv/bin/python bench/probe.py [--clusters 3,8] [--interval 0.2] [--window 20]
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "mesh_trust"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
import trustenv  # noqa: E402  pylint: disable=wrong-import-position

CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, seconds."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def window(handle, cluster, seconds):
    """(CPU seconds, probe rounds) of the emulator process over a window."""
    pid = handle.state["pid"]
    ticks = handle.admin(cluster, "GET", "/_emulator/mesh/probe")["ticks"]
    cpu = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - cpu, handle.admin(cluster, "GET", "/_emulator/mesh/probe")["ticks"] - ticks


def measure(count, interval, seconds):
    """One cluster count."""
    names = ["c%d" % i for i in range(1, count + 1)]
    handle = EmulatorHandle(names, tempfile.mkdtemp(prefix="bench-probe-"), settings={"probe_interval": interval})
    try:
        start = time.time()
        mesh = trustenv.Mesh(handle).walk()
        walked = time.time() - start
        first = names[0]
        handle.admin(first, "DELETE", "/_emulator/mesh/probe")
        cpu_on, rounds = window(handle, first, seconds)
        probe = handle.admin(first, "GET", "/_emulator/mesh/probe")
        handle.admin(first, "POST", "/_emulator/mesh/settings", {"probe": False})
        cpu_off, _none = window(handle, first, seconds)
        handle.admin(first, "POST", "/_emulator/mesh/settings", {"probe": True})
        return {"clusters": count, "pairs": len(probe["pairs"]), "walk_s": walked, "rounds": rounds, "failed": probe["failed"],
                "tick_mean_ms": probe["tick_cost_ms"]["mean"], "tick_max_ms": probe["tick_cost_ms"]["max"],
                "cpu_on_pct": 100 * cpu_on / seconds, "cpu_off_pct": 100 * cpu_off / seconds,
                "per_round_ms": 1000 * (cpu_on - cpu_off) / rounds if rounds else None, "mesh": mesh}
    finally:
        handle.stop()


def main():
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", default="3,8")
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    rows = [measure(int(n), args.interval, args.window) for n in args.clusters.split(",")]
    print("probe every %.2fs, windows of %.0fs; load average now %s" % (args.interval, args.window, " ".join(
        "%.2f" % x for x in os.getloadavg())))
    header = ("clusters", "pairs", "walk s", "rounds", "failed", "tick ms", "max ms", "cpu on", "cpu off", "per round")
    print("%8s %6s %7s %7s %6s %10s %9s %8s %9s %10s" % header)
    for r in rows:
        print("%8d %6d %7.1f %7d %6d %10.3f %9.3f %7.1f%% %8.1f%% %8.2fms" % (
            r["clusters"], r["pairs"], r["walk_s"], r["rounds"], r["failed"], r["tick_mean_ms"] or 0, r["tick_max_ms"] or 0,
            r["cpu_on_pct"], r["cpu_off_pct"], r["per_round_ms"] or 0))


if __name__ == "__main__":
    main()
