#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark of the mesh checks on emulated clusters (figures printed; not a timed test).

Default: 10 clusters, 5,000 WorkloadEntries and 2,000 pods each (reduce with --clusters/--workload-entries/--pods).
Measured side by side in one run, against the same emulated clusters:
  raw      the LIST/GET requests the snapshot needs, sent with the same Python client (clusters in parallel)
  raw cold the same requests from a fresh Python process: interpreter start, client import, kubeconfig load, then the reads
           (what the shortest one-shot script doing only these reads costs)
           Both raw measures, like the modules, read with Python's cyclic garbage collector off (see module_utils/_mesh_read.py).
  snapshot the in-process snapshots (take_snapshot, clusters in parallel)
  client   the reads of the mesh_check module from a fresh process (import, one client per cluster, the snapshots in parallel),
           side by side: the clients made by the collection's fast reader (kubernetes.core's configuration, a plain ApiClient)
           and by kubernetes.core's client factory (get_api_client: its dynamic client asks for the discovery documents and
           writes a discovery cache file to TMPDIR first); cold (empty TMPDIR) and warm, interleaved, best of 3 each, with
           the requests each made and the discovery cache files written
  playbook ansible-playbook playbooks/mesh_check.yml (forks = clusters), end to end
  floor    ansible-playbook with one ansible.builtin.ping task on the same inventory and forks, once per host and once (run_once):
           what any playbook on these hosts costs
  kubectl  the same reads done by hand: one `kubectl get ... -o json` per resource and cluster, sequentially
  evaluate the pure evaluation of every check over all snapshots, at 1/4, 1/2 and 1x the objects (linearity)
Seeding goes through the emulator's test-only bulk route (POST /_emulator/objects: the same objects as POSTs), so the full size
seeds in about a minute.
Usage: .venv/bin/python bench/mesh_check.py [--clusters 10] [--workload-entries 5000] [--pods 2000] [--quick]
"""

from __future__ import absolute_import, division, print_function

import argparse
import copy
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "mesh_check"))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from emulator.testing import EmulatorHandle  # noqa: E402  pylint: disable=wrong-import-position
from mesh_seed import MeshSeed, Raw, cert_pem  # noqa: E402

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import take_snapshot  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import run_checks, summarize  # noqa: E402

KUBECTL = os.path.join(ROOT, ".tools", "bin", "kubectl")


def timed(label, func, results):
    start = time.time()
    value = func()
    results[label] = time.time() - start
    return value


def bulk_workload_entries(seed, count):
    """count autogenflat WorkloadEntries per cluster, each pointing at a live pod of the next cluster in the ring; created
    through the test-only bulk admin route (same objects as POSTs, without a request each), clusters in parallel."""
    def one(i):
        c = seed.clusters[i]
        src = seed.clusters[(i + 1) % len(seed.clusters)]
        pods = [p["metadata"]["name"] for p in seed.pods(src, "bookinfo", "app=productpage")]
        items = []
        for n in range(count):
            pod = pods[n % len(pods)]
            items.append({"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry", "metadata": {
                "name": "autogenflat.%s.bookinfo.%s.%06d" % (src, pod, n), "namespace": "istio-system",
                "labels": {"solo.io/source-workload": "autogenflat.%s.bookinfo.%s" % (src, pod), "solo.io/source-cluster": src},
                "annotations": {"solo.io/peered-workload-uid": "%s//Pod/bookinfo/%s" % (src, pod)}},
                "spec": {"address": "10.%d.%d.%d" % (n // 65536 % 256, n // 256 % 256, n % 256), "network": src}})
        seed.create_objects(c, items)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(len(seed.clusters))))


def raw_requests(clients, paths):
    """Replay the snapshot's GET paths with the same client (one ApiClient per cluster), clusters in parallel."""
    def one(c):
        raw = Raw(clients[c])
        size = 0
        for path in paths[c]:
            p, dummy, q = path.partition("?")
            query = dict(parse_qsl(q)) if q else None  # the logged paths are URL-encoded
            size += raw.get_json(p, query)[1]
        return size
    gc.disable()
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            return sum(pool.map(one, list(clients)))
    finally:
        gc.enable()


COLD_SCRIPT = """
import gc, json, sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl
from kubernetes import config
kubeconfig, paths = sys.argv[1], json.load(open(sys.argv[2]))

def one(cluster):
    api = config.new_client_from_config(config_file=kubeconfig, context=cluster, persist_config=False)
    for path in paths[cluster]:
        p, dummy, q = path.partition("?")
        query = parse_qsl(q)
        m, url, headers, body, dummy = api.param_serialize("GET", p, query_params=query, header_params={"Accept": "application/json"},
                                                           auth_settings=["BearerToken"])
        json.loads(api.call_api(m, url, header_params=headers).read())

gc.disable()
with ThreadPoolExecutor(len(paths)) as pool:
    list(pool.map(one, list(paths)))
"""


def raw_cold(seed, workdir, paths):
    """The raw requests from a fresh process (see COLD_SCRIPT)."""
    script, paths_file = os.path.join(workdir, "raw_cold.py"), os.path.join(workdir, "paths.json")
    with open(script, "w") as handle:
        handle.write(COLD_SCRIPT)
    with open(paths_file, "w") as handle:
        json.dump(paths, handle)
    subprocess.run([sys.executable, script, seed.handle.kubeconfig, paths_file], env=seed.handle.env(), check=True)


CLIENT_SCRIPT = """
import gc, sys, threading
from concurrent.futures import ThreadPoolExecutor
kubeconfig, factory, clusters = sys.argv[1], sys.argv[2] == "factory", sys.argv[3].split(",")
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import take_snapshot
if factory:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    lock = threading.Lock()  # the factory loads into the process-wide default configuration

    def client(cluster):
        with lock:
            return get_api_client(kubeconfig=kubeconfig, context=cluster).client.client
else:
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import create_api_client

    def client(cluster):
        return create_api_client({"kubeconfig": kubeconfig, "context": cluster})

gc.disable()
with ThreadPoolExecutor(len(clusters)) as pool:
    list(pool.map(lambda c: take_snapshot(client(c), cluster_name=c, context=c, license_check=False), clusters))
"""


def client_reads(seed, workdir, rounds=3):
    """CLIENT_SCRIPT from a fresh process, for both kinds of client, interleaved (the machine is shared): per round, each kind
    cold (an empty TMPDIR: the factory's discovery cache is empty) and warm (a TMPDIR kept across the rounds).
    -> {(kind, state): (best seconds, API requests of one run)}, {kind: discovery cache files in the warm TMPDIR}."""
    script = os.path.join(workdir, "client_reads.py")
    with open(script, "w") as handle:
        handle.write(CLIENT_SCRIPT)
    best, files = {}, {}
    for number in range(rounds):
        for kind in ("reader", "factory"):
            for state in ("cold", "warm"):
                tmp = os.path.join(workdir, "tmp-%s-%s" % (kind, "warm" if state == "warm" else number))
                os.makedirs(tmp, exist_ok=True)
                if state == "warm" and number == 0:  # fill the cache first
                    subprocess.run([sys.executable, script, seed.handle.kubeconfig, kind, ",".join(seed.clusters)],
                                   env=seed.handle.env(TMPDIR=tmp, PYTHONPATH=os.path.join(ROOT, ".build", "collections")), check=True)
                before = sum(seed.handle.status(c)["requests"] for c in seed.clusters)
                start = time.time()
                subprocess.run([sys.executable, script, seed.handle.kubeconfig, kind, ",".join(seed.clusters)],
                               env=seed.handle.env(TMPDIR=tmp, PYTHONPATH=os.path.join(ROOT, ".build", "collections")), check=True)
                seconds = time.time() - start
                requests = sum(seed.handle.status(c)["requests"] for c in seed.clusters) - before
                best[kind, state] = min(best.get((kind, state), (1e9, 0)), (seconds, requests))
                if state == "warm":
                    files[kind] = len([name for name in os.listdir(tmp) if name.startswith("k8srcp-")])
    return best, files


def snapshots(seed, clients):
    def one(c):
        return take_snapshot(clients[c], cluster_name=c, context=c, expected_network=c, expected_trust_domain=c, license_check=False)
    gc.disable()  # as read_clusters does
    try:
        with ThreadPoolExecutor(len(seed.clusters)) as pool:
            return list(pool.map(one, seed.clusters))
    finally:
        gc.enable()


KUBECTL_READS = [
    ["get", "namespaces"], ["get", "deployments", "-A", "-l", "app=istiod"], ["get", "daemonsets", "-A", "-l", "app=ztunnel"],
    ["get", "pods", "-A"], ["get", "gateways.gateway.networking.k8s.io", "-A"], ["get", "services", "-A", "-l", "istio.io/expose-istiod"],
    ["get", "workloadentries.networking.istio.io", "-n", "istio-system"], ["get", "secret", "cacerts", "-n", "istio-system"],
    ["get", "configmaps", "-n", "istio-system"], ["get", "configmaps", "-n", "spire-server"],
    ["get", "secret", "spiffe-upstream-ca", "-n", "spire-server"], ["get", "clusterspiffeids.spire.spiffe.io"],
]


def by_hand(seed):
    env = seed.handle.env()
    for c in seed.clusters:
        for args in KUBECTL_READS:
            subprocess.run([KUBECTL, "--kubeconfig", seed.handle.kubeconfig, "--context", c] + args + ["-o", "json"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


PING_PLAY = """- name: Floor
  hosts: k8s_clusters
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
      run_once: %s
"""


def playbook(seed, workdir, floor=None, profile=False):
    inv = os.path.join(workdir, "hosts.yml")
    with open(inv, "w") as handle:
        json.dump({"k8s_clusters": {"hosts": dict((c, {"kube_context": c}) for c in seed.clusters), "vars": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "kubeconfig_path": seed.handle.kubeconfig}}}, handle)
    root = os.path.join(workdir, "root.pem")
    with open(root, "w") as handle:
        handle.write(cert_pem(seed.pki["root"][0]))
    env = seed.handle.env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                          ANSIBLE_FORKS=str(len(seed.clusters)))
    if profile:
        env.update(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "playbooks", "mesh_check.yml"), "-i", inv,
           "-e", "mesh_check_license=false", "-e", "mesh_check_root_ca_bundle=%s" % root, "-e", "mesh_check_reports_dir=%s" % os.path.join(workdir, "r")]
    if floor:
        ping = os.path.join(workdir, "ping.yml")
        with open(ping, "w") as handle:
            handle.write(PING_PLAY % ("true" if floor == "once" else "false"))
        cmd = cmd[:1] + [ping, "-i", inv]
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-2000:])
    elif profile:
        print("task profile of the mesh_check playbook:")
        print(result.stdout[result.stdout.find("PLAY RECAP"):])
    return result.returncode


def scale(snaps, factor):
    """Synthetic snapshots with factor x the objects (autogenflat entries, pods), for the linearity figure."""
    out = []
    for s in snaps:
        s = copy.deepcopy(s)
        entries = s["workload_entries"]["autogenflat"]
        n = max(1, int(len(entries) * factor))
        s["workload_entries"]["autogenflat"] = (entries * (int(factor) + 1))[:n]
        idx = s["pod_index"]
        s["pod_index"] = (idx * (int(factor) + 1))[:max(1, int(len(idx) * factor))]
        out.append(s)
    return out


def load():
    return " ".join("%.2f" % x for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--workload-entries", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="3 clusters, 500 WorkloadEntries, 200 pods")
    parser.add_argument("--skip-kubectl", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also print the task profile of one more playbook run")
    args = parser.parse_args()
    if args.quick:
        args.clusters, args.workload_entries, args.pods = 3, 500, 200
    names = ["cluster%d" % (i + 1) for i in range(args.clusters)]
    workdir = tempfile.mkdtemp(prefix="bench-mesh-check-")
    figures = {}
    print("bench: %d clusters x %d WorkloadEntries x %d pods (work dir %s)" % (args.clusters, args.workload_entries, args.pods, workdir))
    handle = timed("start emulator", lambda: EmulatorHandle(names, os.path.join(workdir, "emu"), 2), figures)
    try:
        seed = MeshSeed(handle)
        timed("seed mesh + pods", lambda: seed.seed(ambient_pods=args.pods, threads=4, bulk=True), figures)
        timed("seed WorkloadEntries", lambda: bulk_workload_entries(seed, args.workload_entries), figures)
        print("seeded in %.1fs + %.1fs" % (figures["seed mesh + pods"], figures["seed WorkloadEntries"]))
        load_before = load()
        # warm up (discovery, connection pools) and collect the request paths
        clients = dict((c, handle.client(c)) for c in names)
        snaps = snapshots(seed, clients)
        paths = dict((s["cluster"], [e["path"] for e in s["request_log"]]) for s in snaps)
        requests = [s["requests"] for s in snaps]
        size = timed("raw LIST/GET requests", lambda: raw_requests(clients, paths), figures)
        timed("raw, fresh process", lambda: raw_cold(seed, workdir, paths), figures)
        snaps = timed("in-process snapshots", lambda: snapshots(seed, clients), figures)
        client_figures, cache_files = client_reads(seed, workdir)
        for (kind, state), (seconds, dummy) in client_figures.items():
            figures["client: %s, %s" % (kind, state)] = seconds
        findings = timed("evaluation (all checks)", lambda: run_checks(snaps, {"root_ca_pem": cert_pem(seed.pki["root"][0])}), figures)
        summary = summarize(findings, names)
        rc = timed("mesh_check playbook", lambda: playbook(seed, workdir), figures)
        if args.profile:
            playbook(seed, workdir, profile=True)
        timed("ansible floor (ping)", lambda: playbook(seed, workdir, floor="each"), figures)
        timed("ansible floor (one ping)", lambda: playbook(seed, workdir, floor="once"), figures)
        if not args.skip_kubectl:
            timed("kubectl by hand", lambda: by_hand(seed), figures)
        lin = []
        for factor in (0.25, 0.5, 1.0, 2.0):
            scaled = scale(snaps, factor)
            objects = sum(len(s["workload_entries"]["autogenflat"]) + len(s["pod_index"]) for s in scaled)
            best = None
            for dummy in range(5):  # best of 5: the machine is shared
                start = time.time()
                run_checks(scaled, {"root_ca_pem": cert_pem(seed.pki["root"][0])}, only=["stale_workloads", "network", "peers", "pods_istiod"])
                best = min(best or 1e9, time.time() - start)
            lin.append((factor, objects, best))
    finally:
        try:
            handle.stop()
        except ProcessLookupError:  # a large emulator can take longer than `down` waits, then exit before its SIGKILL
            pass
    objects = sum(len(s["pod_index"]) + s["workload_entries"]["total"] for s in snaps)
    print("")
    print("requests per cluster: %s (independent of object counts); %.1f MB of JSON; %d objects read" % (
        sorted(set(requests)), size / 1e6, objects))
    print("verdict: passed=%s failed=%s; playbook rc=%s" % (summary["passed"], summary["failed_checks"], rc))
    print("")
    print("%-28s %9s" % ("measure", "seconds"))
    print("load average before / after: %s / %s" % (load_before, load()))
    for label in ("raw LIST/GET requests", "raw, fresh process", "in-process snapshots", "client: reader, cold", "client: factory, cold",
                  "client: reader, warm", "client: factory, warm",
                  "evaluation (all checks)", "mesh_check playbook",
                  "ansible floor (ping)", "ansible floor (one ping)", "kubectl by hand"):
        if label in figures:
            print("%-28s %9.2f" % (label, figures[label]))
    raw = figures["raw LIST/GET requests"]
    print("")
    print("snapshot / raw requests       %6.2fx" % (figures["in-process snapshots"] / raw))
    for kind, label in (("reader", "fast reader"), ("factory", "kubernetes.core factory")):
        print("module reads, %-24s cold %5.2fs %4d requests, warm %5.2fs %4d requests; %d discovery cache files in TMPDIR" % (
            label, client_figures[kind, "cold"][0], client_figures[kind, "cold"][1], client_figures[kind, "warm"][0],
            client_figures[kind, "warm"][1], cache_files[kind]))
    for state in ("cold", "warm"):
        reader, factory = client_figures["reader", state][0], client_figures["factory", state][0]
        print("factory - fast reader, %s   %+6.2fs   (%+.0f%% read time)" % (state, factory - reader, 100.0 * (factory / reader - 1)))
    print("playbook / raw requests       %6.2fx   (target <= 1.5x; includes ansible-playbook start-up and module transfer)" % (
        figures["mesh_check playbook"] / raw))
    print("playbook / raw, fresh process %6.2fx   (the same requests from a one-shot script)" % (
        figures["mesh_check playbook"] / figures["raw, fresh process"]))
    print("playbook - raw requests       %6.2fs   (fixed overhead)" % (figures["mesh_check playbook"] - raw))
    print("floor / raw requests          %6.2fx   (a one-task ping playbook on the same hosts, one ping per host)" % (
        figures["ansible floor (ping)"] / raw))
    print("one-ping floor / raw requests %6.2fx   (the same with run_once: start-up, inventory, one module)" % (
        figures["ansible floor (one ping)"] / raw))
    print("playbook - one-ping floor - raw %4.2fs   (what the mesh check adds beyond Ansible's floor and the reads)" % (
        figures["mesh_check playbook"] - figures["ansible floor (one ping)"] - raw))
    if "kubectl by hand" in figures:
        print("kubectl by hand / playbook    %6.2fx" % (figures["kubectl by hand"] / figures["mesh_check playbook"]))
    print("")
    print("evaluation linearity (stale workloads, network, peers, pods; best of 5):")
    for factor, count, seconds in lin:
        print("  x%-5s %8d objects %8.4fs  %6.2f us/object" % (factor, count, seconds, seconds / max(count, 1) * 1e6))


if __name__ == "__main__":
    main()
