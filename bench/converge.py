#!/usr/bin/env python
"""Benchmark of playbooks/site.yml on emulated clusters: first run and rerun, per cluster count.

Usage: .venv/bin/python bench/converge.py [--clusters 1,2,4] [--playbook site.yml]
For each count N it starts a fresh emulator with N clusters, runs site.yml twice and prints wall time, tasks per
cluster (from the recap: ok + skipped), changed tasks and API requests per cluster (emulator counters), then stops it.
Targets (issue 5): rerun <= 0.5 x first run with changed=0; wall time roughly flat in N while forks >= N.
"""

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from install_helpers import counters, run_playbook  # noqa: E402  pylint: disable=wrong-import-position


def bench(count, playbook):
    """Figures of one cluster count."""
    names = ["cluster%d" % (i + 1) for i in range(count)]
    handle = EmulatorHandle(names, tempfile.mkdtemp(prefix="bench-converge-"))
    rows = []
    try:
        for label in ("first", "rerun"):
            before = counters(handle)
            proc, elapsed, recap = run_playbook(handle, playbook, args=["--forks", str(max(count, 5))])
            after = counters(handle)
            requests = [after[c][0] - before[c][0] for c in names]
            writes = [after[c][1] - before[c][1] for c in names]
            rows.append({
                "clusters": count, "run": label, "rc": proc.returncode, "seconds": round(elapsed, 1),
                "tasks_per_cluster": max(recap[c]["ok"] + recap[c]["skipped"] for c in names) if recap else 0,
                "changed": sum(recap[c]["changed"] for c in names) if recap else -1,
                "requests_per_cluster": round(sum(requests) / count), "writes_per_cluster": round(sum(writes) / count)})
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-2000:])
                break
    finally:
        handle.stop()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", default="1,2,4", help="comma-separated cluster counts")
    parser.add_argument("--playbook", default="site.yml")
    args = parser.parse_args()
    header = ("clusters", "run", "rc", "seconds", "tasks_per_cluster", "changed", "requests_per_cluster", "writes_per_cluster")
    print("%-9s %-6s %-3s %8s %18s %8s %21s %19s" % header)
    results = []
    for count in [int(c) for c in args.clusters.split(",") if c.strip()]:
        for row in bench(count, args.playbook):
            results.append(row)
            print("%-9d %-6s %-3d %8.1f %18d %8d %21d %19d" % tuple(row[h] for h in header), flush=True)
    for count in sorted({r["clusters"] for r in results}):
        first = [r for r in results if r["clusters"] == count and r["run"] == "first"]
        rerun = [r for r in results if r["clusters"] == count and r["run"] == "rerun"]
        if first and rerun:
            print("%d cluster(s): rerun/first = %.2f (target <= 0.5), rerun changed = %d (target 0)" % (
                count, rerun[0]["seconds"] / first[0]["seconds"], rerun[0]["changed"]))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
