#!/usr/bin/env python
"""Benchmark of playbooks/site.yml on emulated clusters: first run and rerun, per cluster count.

Usage: .venv/bin/python bench/converge.py [--clusters 1,2,4] [--playbook site.yml] [--latency-ms 0]
For each count N it starts a fresh emulator with N clusters, runs site.yml twice and prints wall time, tasks per
cluster (from the recap: ok + skipped), changed tasks, kubernetes.core module runs per cluster (a loop item or an
`until` attempt is one run; counted by bench/callback_plugins/action_counts.py) and API requests per cluster (emulator
counters), then stops it.
It also prints the CPU seconds of ansible-playbook with all its workers and modules, and of the emulator, and how many
cores that kept busy on average (CPU seconds / wall time): wall time can only stay flat in N while cores are left.
--latency-ms adds that delay to every API request of every cluster (the emulator's latency fault): a round trip of a real
API server is tens of milliseconds, the emulator's is about one.
Targets (issue 5): rerun <= 0.5 x first run with changed=0; wall time roughly flat in N while forks >= N.
"""

import argparse
import json
import os
import resource
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from install_helpers import counters, run_playbook  # noqa: E402  pylint: disable=wrong-import-position


def process_cpu(pid):
    """CPU seconds (user + system) a running process has used so far."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def children_cpu():
    """CPU seconds of the waited-for child processes of this process and all their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench(count, playbook, latency_ms=0):
    """Figures of one cluster count."""
    names = ["cluster%d" % (i + 1) for i in range(count)]
    handle = EmulatorHandle(names, tempfile.mkdtemp(prefix="bench-converge-"))
    rows = []
    try:
        if latency_ms:
            for name in names:
                handle.fault(name, latency_ms=latency_ms)
        for label in ("first", "rerun"):
            before = counters(handle)
            cpu_before = (children_cpu(), process_cpu(handle.state["pid"]))
            counts_file = os.path.join(handle.base_dir, "action-counts-%s.json" % label)
            proc, elapsed, recap = run_playbook(handle, playbook, args=["--forks", str(max(count, 5))], env={
                "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "bench", "callback_plugins"), "ANSIBLE_CALLBACKS_ENABLED": "action_counts",
                "ACTION_COUNTS_FILE": counts_file})
            cpu_ansible, cpu_emulator = children_cpu() - cpu_before[0], process_cpu(handle.state["pid"]) - cpu_before[1]
            after = counters(handle)
            requests = [after[c][0] - before[c][0] for c in names]
            writes = [after[c][1] - before[c][1] for c in names]
            k8s_runs = _k8s_runs(counts_file, names)
            rows.append({
                "clusters": count, "run": label, "rc": proc.returncode, "seconds": round(elapsed, 1),
                "tasks_per_cluster": max(recap[c]["ok"] + recap[c]["skipped"] for c in names) if recap else 0,
                "changed": sum(recap[c]["changed"] for c in names) if recap else -1,
                "k8s_runs_per_cluster": round(sum(k8s_runs) / float(count), 1),
                "requests_per_cluster": round(sum(requests) / count), "writes_per_cluster": round(sum(writes) / count),
                "cpu_ansible": round(cpu_ansible, 1), "cpu_emulator": round(cpu_emulator, 1),
                "cores_busy": round((cpu_ansible + cpu_emulator) / elapsed, 2)})
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-2000:])
                break
    finally:
        handle.stop()
    return rows


def _k8s_runs(path, names):
    """kubernetes.core module runs of each cluster, from the action_counts callback's file."""
    try:
        with open(path) as handle:
            counts = json.load(handle)
    except (OSError, ValueError):
        return [0 for _name in names]
    return [counts.get(name, {}).get("runs", {}).get("kubernetes.core", 0) for name in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", default="1,2,4", help="comma-separated cluster counts")
    parser.add_argument("--playbook", default="site.yml")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every API request (emulator fault)")
    args = parser.parse_args()
    header = ("clusters", "run", "rc", "seconds", "tasks_per_cluster", "changed", "k8s_runs_per_cluster", "requests_per_cluster",
              "writes_per_cluster", "cpu_ansible", "cpu_emulator", "cores_busy")
    print("machine: %d cores; load average %s; API latency added: %d ms" % (
        os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()), args.latency_ms))
    print("%-9s %-6s %-3s %8s %18s %8s %21s %21s %19s %12s %13s %11s" % header)
    results = []
    for count in [int(c) for c in args.clusters.split(",") if c.strip()]:
        for row in bench(count, args.playbook, args.latency_ms):
            results.append(row)
            print("%-9d %-6s %-3d %8.1f %18d %8d %21.1f %21d %19d %12.1f %13.1f %11.2f" % tuple(row[h] for h in header), flush=True)
    for count in sorted({r["clusters"] for r in results}):
        first = [r for r in results if r["clusters"] == count and r["run"] == "first"]
        rerun = [r for r in results if r["clusters"] == count and r["run"] == "rerun"]
        if first and rerun:
            print("%d cluster(s): rerun/first = %.2f (target <= 0.5), rerun changed = %d (target 0); ansible CPU per cluster %.1f s "
                  "first, %.1f s rerun" % (count, rerun[0]["seconds"] / first[0]["seconds"], rerun[0]["changed"],
                                           first[0]["cpu_ansible"] / count, rerun[0]["cpu_ansible"] / count))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
