#!/usr/bin/env python
"""Benchmark of playbooks/rotate_ca.yml on emulated clusters: wall time and per-phase waits, for 3 and 8 clusters.

Usage: .venv/bin/python bench/rotate.py [--clusters 3,8] [--scopes intermediates,root] [--batch 1]
For each cluster count N it starts a fresh emulator with N clusters (the kubelet shows a changed Secret after 0.5 s, istiod's
watcher debounces 100 ms: the trust model's defaults), converges site.yml, then runs each rotation with the probe running and
prints, per rotation: the wall time, the failed probe requests, and per phase (the plays: plan, trust, issue, drop, finish) its
wall time and the part of it spent waiting in gates (the tasks that wait until the new material is in use: istiod's
ConfigMaps and metrics, SPIRE's bundle and authorities, the workloads' rollouts, and the mesh check after each batch).
On a real cluster every write waits about a minute more for the kubelet, and every rollout for real pods; see
docs/docsite/rst/guide_rotating_intermediates.rst.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from install_helpers import run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

PHASES = (("plan", "Plan the CA rotation"), ("trust", "Phase 1/3"), ("issue", "Issue phase"), ("drop", "Phase 3/3"), ("finish", "Finish"))
GATE = re.compile(r"^(Wait |Mesh check of every cluster|Make SPIRE (mint|prepare)|SPIRE's bundle|Mint and look again|Stop when)")


def phase_of(play):
    """The phase a play belongs to."""
    return next((key for key, prefix in PHASES if play.startswith(prefix)), None)


def figures(times):
    """{phase: (wall seconds, gate seconds)} of one run's task_times."""
    out = {}
    for play in times["plays"]:
        key = phase_of(play["name"])
        if key:
            wall, gate = out.get(key, (0.0, 0.0))
            out[key] = (wall + play["end"] - play["start"], gate)
    for task in times["tasks"]:
        key = phase_of(task["play"])
        if key and GATE.match(task["name"].split(" : ", 1)[-1]):
            wall, gate = out[key]
            out[key] = (wall, gate + task["end"] - task["start"])
    return out


def run(handle, inventory, variables, label):
    """One rotation; (seconds, return code, failed probe requests, {phase: (wall, gate)})."""
    handle.admin(handle.clusters[0], "DELETE", "/_emulator/mesh/probe")
    times_file = os.path.join(handle.base_dir, "times-%s.json" % label)
    proc, elapsed, _recap = run_playbook(handle, "rotate_ca.yml", args=["-e", json.dumps(variables), "--forks", str(max(5, len(handle.clusters)))],
                                         inventory=inventory, env={"ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "bench", "callback_plugins"),
                                                                   "ANSIBLE_CALLBACKS_ENABLED": "task_times", "TASK_TIMES_FILE": times_file})
    if proc.returncode:
        print(proc.stdout[-3000:], file=sys.stderr)
    time.sleep(2)
    failed = handle.admin(handle.clusters[0], "GET", "/_emulator/mesh/probe")["failed"]
    with open(times_file) as fh:
        return elapsed, proc.returncode, failed, figures(json.load(fh))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--clusters", default="3,8")
    parser.add_argument("--scopes", default="intermediates,root")
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    print("machine: %d cores; load average %s; rotate_ca_batch %d" % (os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()), args.batch))
    print("%-8s %-13s %3s %8s %7s  %s" % ("clusters", "scope", "rc", "seconds", "failed", "per phase: wall s (of which waiting in gates s)"))
    for count in [int(c) for c in args.clusters.split(",")]:
        names = ["cluster%d" % (i + 1) for i in range(count)]
        handle = EmulatorHandle(names, tempfile.mkdtemp(prefix="bench-rotate-"))
        try:
            inventory = write_inventory(handle)
            proc, elapsed, _recap = run_playbook(handle, "site.yml", args=["--forks", str(max(5, count))], inventory=inventory)
            if proc.returncode:
                print("site.yml failed for %d clusters:\n%s" % (count, proc.stdout[-3000:]))
                continue
            for scope in args.scopes.split(","):
                variables = {"rotate_ca_id": "bench-%s" % scope, "rotate_ca_scope": scope, "rotate_ca_confirm_root": True,
                             "rotate_ca_batch": args.batch, "rotate_ca_gate_delay": 1}
                seconds, rc, failed, phases = run(handle, inventory, variables, scope)
                print("%-8d %-13s %3d %8.1f %7d  %s" % (count, scope, rc, seconds, failed, ", ".join(
                    "%s %.1f (%.1f)" % (key, phases[key][0], phases[key][1]) for key, dummy in PHASES if key in phases)))
                sys.stdout.flush()
        finally:
            handle.stop()


if __name__ == "__main__":
    main()
