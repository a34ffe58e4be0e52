#!/usr/bin/env python
"""Converge time of playbooks/site.yml on emulated clusters with the real SPIRE charts against the stand-ins.

Usage: .venv/bin/python bench/spire_charts.py [--clusters 2] [--rounds 2]
Each round starts a fresh emulator per chart set (the stand-ins of tests/charts, then the real spire 0.24.2 and spire-crds
0.5.0 of tests/integration/upstream_charts.py, alternating which goes first from round to round so that a change of machine
load hits both alike), runs site.yml twice (first run, rerun) and prints the wall time of each run, the time of the two Helm
releases of SPIRE in the first run (from the task timings of the profile_tasks callback) and the load average. Ends with the
median per chart set and run. Needs the real charts (MESHOPS_UPSTREAM_CHARTS or ../shared/upstream-charts).
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))

import upstream_charts  # noqa: E402  pylint: disable=wrong-import-position
from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from install_helpers import run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

STAND_INS = {"spire_chart_ref": os.path.join(ROOT, "tests", "charts", "spire"),
             "spire_crds_chart_ref": os.path.join(ROOT, "tests", "charts", "spire-crds")}
REAL = {"spire_chart_ref": upstream_charts.SPIRE, "spire_crds_chart_ref": upstream_charts.SPIRE_CRDS}
HELM_TASK = re.compile(r"helm_release : Helm release spire-server/(spire|spire-crds) -+ ([0-9.]+)s")


def one(label, charts, count):
    names = ["cluster%d" % (i + 1) for i in range(count)]
    handle = EmulatorHandle(names, tempfile.mkdtemp(prefix="bench-spire-charts-"))
    rows = []
    try:
        inventory = write_inventory(handle, extra=charts)
        for run in ("first", "rerun"):
            load = os.getloadavg()[0]
            proc, elapsed, recap = run_playbook(handle, args=["--forks", str(max(count, 5))], inventory=inventory,
                                                env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
            helm = sum(float(m.group(2)) for m in HELM_TASK.finditer(proc.stdout))
            rows.append({"charts": label, "run": run, "rc": proc.returncode, "seconds": round(elapsed, 1), "helm_spire_seconds": round(helm, 1),
                         "changed": sum(r["changed"] for h, r in recap.items() if h != "localhost"), "load": round(load, 1)})
            print(json.dumps(rows[-1]), flush=True)
            if proc.returncode:
                sys.stderr.write(proc.stdout[-3000:])
                break
    finally:
        handle.stop()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not upstream_charts.available():
        print(upstream_charts.note())
        return 1
    print("machine: %d cores; load average %s; %d clusters" % (os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()), args.clusters))
    rows = []
    for index in range(args.rounds):
        order = [("stand-in", STAND_INS), ("real", REAL)]
        for label, charts in (order if index % 2 == 0 else order[::-1]):
            rows += one(label, charts, args.clusters)
    for label in ("stand-in", "real"):
        for run in ("first", "rerun"):
            times = [r["seconds"] for r in rows if r["charts"] == label and r["run"] == run and r["rc"] == 0]
            helm = [r["helm_spire_seconds"] for r in rows if r["charts"] == label and r["run"] == run and r["rc"] == 0]
            if times:
                print("%-9s %-6s median %.1f s (runs: %s), Helm releases of SPIRE median %.1f s" % (
                    label, run, statistics.median(times), ", ".join("%.1f" % t for t in times), statistics.median(helm)))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
