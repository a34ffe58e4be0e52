# -*- coding: utf-8 -*-
"""Check 8 (stale autogenflat WorkloadEntries) on the simulated mesh installed by site.yml with flat networking: the
entries the simulated peering writes for an ambient pod of cluster1 pass; deleting the pod while cluster2's peering is
down leaves its entry behind and the check reports exactly that entry as an error; once the peering is back the
simulation removes the entry and the check passes again."""

from __future__ import absolute_import, division, print_function

import os
import sys
import time

import pytest

import meshenv
from meshenv import wait_for

ROOT = meshenv.ROOT
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "roles"))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from install_helpers import run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import take_snapshot  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import run_checks, summarize  # noqa: E402

pytestmark = pytest.mark.slow

CLUSTERS = ["cluster1", "cluster2"]
NETWORK = "shared"
WE = ("networking.istio.io", "v1", "istio-system", "workloadentries")
PEER = "istio-remote-peer-cluster1"   # cluster2's istio-remote Gateway to cluster1


@pytest.fixture(scope="module")
def flat_site(emulator_factory):
    """site.yml on two clusters sharing one network (mesh_flat_network), then an ambient Deployment on cluster1."""
    handle = emulator_factory(CLUSTERS)
    inventory = write_inventory(handle, extra={"mesh_flat_network": True, "mesh_network": NETWORK})
    proc, _elapsed, recap = run_playbook(handle, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert all(recap[c]["failed"] == 0 for c in CLUSTERS), recap
    handle.kubectl("create", "namespace", "demo", context="cluster1")
    handle.kubectl("label", "namespace", "demo", "istio.io/dataplane-mode=ambient", context="cluster1")
    meshenv.apply(handle, "cluster1", [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "echo", "namespace": "demo"}},  # Pods need their ServiceAccount
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": "demo"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "echo"}}, "template": {
             "metadata": {"labels": {"app": "echo"}},
             "spec": {"serviceAccountName": "echo", "containers": [{"name": "echo", "image": "example/echo:1"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "demo"},
         "spec": {"selector": {"app": "echo"}, "ports": [{"port": 8080}]}}])
    with open(os.path.join(handle.base_dir, "pki", "root-ca-bundle.pem")) as fh:
        root = fh.read()
    read = {c: meshenv.Reader(handle, c) for c in CLUSTERS}
    return {"handle": handle, "root": root, "read": read, "clients": {c: handle.client(c) for c in CLUSTERS}}


def evaluate(site):
    # the license answer of the simulated istiod is not the subject here (tests/integration/mesh_sim/test_license.py)
    snaps = [take_snapshot(site["clients"][c], cluster_name=c, context=c, expected_network=NETWORK, expected_trust_domain=c,
                           license_check=False) for c in CLUSTERS]
    findings = run_checks(snaps, {"root_ca_pem": site["root"], "flat_network": True})
    return findings, summarize(findings, CLUSTERS)


def until(site, predicate, timeout=60):
    """Evaluate until predicate(summary, findings) holds (the simulation reconciles asynchronously)."""
    deadline = time.time() + timeout
    while True:
        findings, summary = evaluate(site)
        if predicate(summary, findings) or time.time() > deadline:
            return findings, summary
        time.sleep(1)


def stale(findings):
    """(cluster, level, message) of the stale_workloads findings."""
    return sorted((f["cluster"], f["level"], f["message"]) for f in findings if f["check"] == "stale_workloads")


def errors(findings):
    return [(f["check"], f["cluster"], f["message"]) for f in findings if f["level"] == "error"]


def entries(site):
    """{WorkloadEntry name: source pod name} of the autogenflat entries on cluster2."""
    items = site["read"]["cluster2"].custom.list_namespaced_custom_object(*WE)["items"]
    return {w["metadata"]["name"]: w["metadata"]["annotations"]["solo.io/peered-workload-uid"].rsplit("/", 1)[1] for w in items
            if w["metadata"]["labels"].get("solo.io/source-workload", "").startswith("autogenflat.")}


def pods(site):
    return sorted(p.metadata.name for p in site["read"]["cluster1"].pods("demo", "app=echo") if p.status.phase == "Running")


def synced(site):
    """The entries on cluster2 are exactly those of the two running echo pods of cluster1."""
    current = pods(site)
    return len(current) == 2 and sorted(entries(site).values()) == current


def healthy(site, findings, summary):
    assert summary["passed"], errors(findings)
    names = entries(site)
    assert stale(findings) == [("cluster1", "ok", "no autogenflat workload entries in this cluster"),
                               ("cluster2", "ok", "no stale workload entries (%d autogenflat entries checked)" % len(names))]
    assert len(names) == 2


def test_stale_entry_reported_while_peering_down_and_cleared_after(flat_site):
    handle, read = flat_site["handle"], flat_site["read"]
    wait_for(lambda: read["cluster2"].peer_state(PEER) == ("True", "True", "True"), timeout=60, what="cluster2 -> cluster1 peered")
    wait_for(lambda: synced(flat_site), timeout=60, what="autogenflat entries on cluster2 for the echo pods")
    ok = ("cluster2", "ok", "no stale workload entries (2 autogenflat entries checked)")
    findings, summary = until(flat_site, lambda s, f: s["passed"] and ok in stale(f))
    healthy(flat_site, findings, summary)

    handle.admin("cluster2", "POST", "/_emulator/mesh/faults", {"disconnect_peer": "cluster1"})
    try:
        wait_for(lambda: read["cluster2"].peer_state(PEER)[0] == "False", timeout=60, what="cluster2 -> cluster1 peering down")
        before = entries(flat_site)
        victim = sorted(pods(flat_site))[0]
        entry = [n for n, p in before.items() if p == victim]
        assert len(entry) == 1, before
        handle.kubectl("-n", "demo", "delete", "pod", victim, "--wait=false", context="cluster1")
        wait_for(lambda: victim not in pods(flat_site) and len(pods(flat_site)) == 2, timeout=60, what="echo pod replaced")
        assert entries(flat_site) == before   # kept while disconnected: the victim's entry is stale, the new pod has none
        expected = ("cluster2", "error", "stale WorkloadEntry istio-system/%s: pod demo/%s no longer exists in cluster cluster1" % (entry[0], victim))
        findings, summary = until(flat_site, lambda s, f: expected in stale(f))
        assert stale(findings) == [("cluster1", "ok", "no autogenflat workload entries in this cluster"), expected]
        assert "stale_workloads" in summary["failed_checks"], summary
        assert set(summary["failed_checks"]) <= {"stale_workloads", "peers"}, errors(findings)
        assert entries(flat_site) == before
    finally:
        handle.admin("cluster2", "DELETE", "/_emulator/mesh/faults")
    wait_for(lambda: read["cluster2"].peer_state(PEER) == ("True", "True", "True"), timeout=60, what="peering back")
    wait_for(lambda: synced(flat_site), timeout=60, what="entries resynced")
    assert entry[0] not in entries(flat_site)
    findings, summary = until(flat_site, lambda s, f: s["passed"])
    healthy(flat_site, findings, summary)
