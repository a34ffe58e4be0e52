#!/usr/bin/env python
"""Benchmark of a fleet: playbooks/site.yml first run and rerun, then the mesh check, on N emulated clusters.

Usage: .venv/bin/python bench/fleet.py [--clusters 50] [--forks N] [--runs first,rerun,mesh-check] [--join] [--keep]
Starts one emulator with N clusters (cluster1..N), runs site.yml twice and playbooks/mesh_check.yml once, and prints for
each run:
  wall       seconds of the run
  cpu        CPU seconds per cluster of ansible-playbook with its workers, module processes and helm runs (Ansible), and
             of the emulator process; with the CPU of each play of the run (bench/callback_plugins/play_cpu.py: pki,
             install, link, mesh check...) per cluster, so that the share of each step shows, and the share of the
             controller process itself (the strategy's loop, templating, results) in it
  requests   API requests and writes per cluster (the emulator's counters; writes = client create/update/patch/delete
             without dryRun)
  runs       module runs per cluster by collection (kubernetes.core, community.crypto, this collection), a loop item or an
             `until` attempt being one run (bench/callback_plugins/action_counts.py); k8s_apply runs in the worker process
             (its action plugin) and counts as a run too
then the remote peer Gateways (istio-remote-peer-*: N x (N - 1) expected) and how many are PeerConnected, the mesh check's
verdict, and the emulator's peak memory (VmHWM). With --join, cluster N+1 (served by the emulator from the start, idle) then
joins: site.yml over the N+1 clusters, with the writes on the new cluster and on each existing one (issue 13: only its
peer Gateway of the new cluster). Targets (issue 13): Ansible CPU per cluster <= 8 s on a first run and
<= 4 s on a rerun, flat in N; a rerun sends no write; the mesh check of 50 clusters in <= 30 s wall.
The machine is shared: the load average is printed before and after; CPU seconds and requests per cluster do not depend
on the number of cores, wall times do.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from install_helpers import counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

CALLBACKS = os.path.join(ROOT, "bench", "callback_plugins")
PEER_PREFIX = "istio-remote-peer-"


def process_cpu(pid):
    """CPU seconds (user + system) a running process has used so far."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def peak_memory_mb(pid):
    """Peak resident memory (VmHWM) of a running process, in MiB."""
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load():
    return " ".join("%.2f" % value for value in os.getloadavg())


def runs_per_cluster(path, names):
    """{collection: module runs per cluster} from the action_counts callback's file."""
    try:
        with open(path) as handle:
            counts = json.load(handle)
    except (OSError, ValueError):
        return {}
    total = {}
    for name in names:
        for collection, runs in counts.get(name, {}).get("runs", {}).items():
            total[collection] = total.get(collection, 0) + runs
    return dict((collection, round(runs / float(len(names)), 1)) for collection, runs in sorted(total.items()))


def play_cpu(path, count):
    """[(play, CPU seconds per cluster, of which the controller process's own)] from the play_cpu callback's file, plays of the
    same name added up."""
    try:
        with open(path) as handle:
            plays = json.load(handle)
    except (OSError, ValueError):
        return []
    merged = []
    for entry in plays:
        controller = entry.get("controller", 0.0)
        if merged and merged[-1][0] == entry["play"]:
            merged[-1][1] += entry["cpu"]
            merged[-1][2] += controller
        else:
            merged.append([entry["play"], entry["cpu"], controller])
    return [(play, round(cpu / count, 2), round(controller / count, 2)) for play, cpu, controller in merged if cpu >= 0.005 * count]


def run(handle, label, playbook, inventory, forks, names, extra_args=()):
    """One ansible-playbook run over the clusters `names` with the bench callbacks; its figures."""
    counts_file = os.path.join(handle.base_dir, "counts-%s.json" % label)
    plays_file = os.path.join(handle.base_dir, "plays-%s.json" % label)
    before, cpu_before, emulator_before = counters(handle), children_cpu(), process_cpu(handle.state["pid"])
    proc, elapsed, recap = run_playbook(handle, playbook, inventory=inventory, args=["--forks", str(forks)] + list(extra_args), timeout=7200, env={
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS, "ANSIBLE_CALLBACKS_ENABLED": "action_counts,play_cpu",
        "ACTION_COUNTS_FILE": counts_file, "PLAY_CPU_FILE": plays_file})
    cpu_ansible, cpu_emulator = children_cpu() - cpu_before, process_cpu(handle.state["pid"]) - emulator_before
    after = counters(handle)
    with open(os.path.join(handle.base_dir, "%s.log" % label), "w") as log:
        log.write(proc.stdout + proc.stderr)
    count = float(len(names))
    figures = {
        "run": label, "rc": proc.returncode, "wall": round(elapsed, 1),
        "changed": sum(recap[c]["changed"] for c in names if c in recap), "failed": sum(recap[c]["failed"] for c in names if c in recap),
        "cpu_ansible_per_cluster": round(cpu_ansible / count, 2), "cpu_emulator_per_cluster": round(cpu_emulator / count, 2),
        "requests_per_cluster": round(sum(after[c][0] - before[c][0] for c in names) / count, 1),
        "writes_per_cluster": round(sum(after[c][1] - before[c][1] for c in names) / count, 1),
        "max_writes_of_a_cluster": max(after[c][1] - before[c][1] for c in names),
        "runs_per_cluster": runs_per_cluster(counts_file, names), "plays": play_cpu(plays_file, count),
    }
    return figures, proc


def fleet_inventory(handle, names):
    """write_inventory's inventory with the hosts `names` only (the emulator may serve one more, the cluster that joins)."""
    path = write_inventory(handle)
    with open(path) as handle_file:
        data = json.load(handle_file)
    group = data["all"]["children"]["k8s_clusters"]
    group["hosts"] = dict((name, group["hosts"][name]) for name in names)
    target = os.path.join(handle.base_dir, "inventory-%d.json" % len(names))
    with open(target, "w") as handle_file:
        json.dump(data, handle_file)
    return target


def join(handle, names, forks):
    """Cluster N+1 joins a converged fleet of N: site.yml over N+1. Prints the figures of the run, the writes on the new
    cluster and on each existing one (expected: one each, its peer Gateway of the new cluster); True when so."""
    new = handle.clusters[-1]
    everyone = names + [new]
    before = counters(handle)
    figures, proc = run(handle, "join", "site.yml", fleet_inventory(handle, everyone), forks + 1, everyone)
    report(figures)
    after = counters(handle)
    existing = sorted(after[c][1] - before[c][1] for c in names)
    print("           %s joined: %d writes on it; writes on each of the %d others: min %d, max %d (expected 1: its peer Gateway)" % (
        new, after[new][1] - before[new][1], len(names), existing[0], existing[-1]), flush=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
    total, connected = peer_gateways(handle, everyone)
    print("remote peer Gateways after the join: %d (expected %d), PeerConnected: %d" % (total, len(everyone) * len(names), connected))
    return proc.returncode == 0 and existing[0] == existing[-1] == 1 and total == connected == len(everyone) * len(names)


def peer_gateways(handle, names):
    """(istio-remote-peer-* Gateways, those with PeerConnected=True) over the clusters `names`."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel
    total = connected = 0
    for name in names:
        api = client.CustomObjectsApi(handle.client(name))
        items = api.list_cluster_custom_object("gateway.networking.k8s.io", "v1", "gateways")["items"]
        for gateway in items:
            if gateway["metadata"]["name"].startswith(PEER_PREFIX):
                total += 1
                conditions = (gateway.get("status") or {}).get("conditions") or []
                connected += any(c.get("type") == "gloo.solo.io/PeerConnected" and c.get("status") == "True" for c in conditions)
    return total, connected


def report(figures):
    print("%-10s rc=%d wall %7.1f s  changed %4d  failed %d" % (figures["run"], figures["rc"], figures["wall"], figures["changed"], figures["failed"]))
    print("           CPU per cluster: Ansible %.2f s, emulator %.2f s" % (figures["cpu_ansible_per_cluster"], figures["cpu_emulator_per_cluster"]))
    print("           API per cluster: %.1f requests, %.1f writes (most writes of one cluster: %d)" % (
        figures["requests_per_cluster"], figures["writes_per_cluster"], figures["max_writes_of_a_cluster"]))
    print("           module runs per cluster: %s" % ", ".join("%s %s" % item for item in figures["runs_per_cluster"].items()))
    print("           Ansible CPU per cluster by play (of which the controller process): %s" % "; ".join(
        "%s %.2f s (%.2f s)" % item for item in figures["plays"]), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--forks", type=int, default=0, help="default: the number of clusters")
    parser.add_argument("--keep", action="store_true", help="leave the emulator running (its directory is printed)")
    parser.add_argument("--join", action="store_true",
                        help="after the runs, cluster N+1 joins: site.yml over the N+1 clusters (the writes on each cluster are printed)")
    parser.add_argument("--runs", type=lambda text: text.split(","), default=["first", "rerun", "mesh-check"],
                        help="which runs, in order, of first,rerun,mesh-check (default: all three)")
    args = parser.parse_args()
    names = ["cluster%d" % (i + 1) for i in range(args.clusters)]
    forks = args.forks or args.clusters
    print("fleet of %d emulated clusters on %d cores, forks %d; load average %s" % (args.clusters, os.cpu_count(), forks, load()), flush=True)
    start = time.monotonic()
    handle = EmulatorHandle(names + (["cluster%d" % (args.clusters + 1)] if args.join else []), tempfile.mkdtemp(prefix="bench-fleet-"))
    print("emulator up in %.1f s (%s)" % (time.monotonic() - start, handle.base_dir), flush=True)
    ok = True
    try:
        inventory = fleet_inventory(handle, names)
        runs = [run for run in (("first", "site.yml"), ("rerun", "site.yml"), ("mesh-check", "mesh_check.yml")) if run[0] in args.runs]
        for label, playbook in runs:
            # one cluster has no peers to expect: the check runs in precheck mode, as site.yml runs it there
            extra_args = ["-e", "mesh_check_precheck=true"] if label == "mesh-check" and len(names) < 2 else []
            figures, proc = run(handle, label, playbook, inventory, forks, names, extra_args)
            report(figures)
            if proc.returncode != 0:
                ok = False
                sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
                break
            if label == "rerun" and (figures["writes_per_cluster"] or figures["changed"]):
                ok = False
                print("           the rerun changed something or wrote: it must not")
        total, connected = peer_gateways(handle, names)
        print("remote peer Gateways: %d (expected %d x %d = %d), PeerConnected: %d" % (
            total, len(names), len(names) - 1, len(names) * (len(names) - 1), connected))
        ok = ok and total == connected == len(names) * (len(names) - 1)
        if ok and args.join:
            ok = join(handle, names, forks)
        print("emulator peak memory: %.0f MiB; load average %s" % (peak_memory_mb(handle.state["pid"]), load()))
    finally:
        if args.keep:
            print("emulator left running: EMULATOR_STATE_DIR=%s scripts/emulator status" % handle.state_dir)
        else:
            handle.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
