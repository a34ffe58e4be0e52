"""The install in slices, as AWX job slicing runs it (issue 13): six emulated clusters, pki.yml once, install.yml as three
slices in parallel (--limit), link.yml reading the peers' addresses from the clusters, the mesh check passes, a full
site.yml rerun changes nothing. Then, on that mesh: drift made out of band is listed by check mode and repaired by a rerun,
and a seventh cluster joins changing its own Gateways and one peer Gateway on each of the others.

One emulator and one converged mesh for the module: the tests run in order on it."""

import concurrent.futures
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles"))

from install_helpers import counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

FLEET = ["cluster%d" % i for i in range(1, 7)]
NEW = "cluster7"
SLICES = [FLEET[i::3] for i in range(3)]  # AWX job slicing: host i goes to slice i % K


def _inventory(handle, hosts, name):
    path = write_inventory(handle)
    with open(path) as fh:
        data = json.load(fh)
    group = data["all"]["children"]["k8s_clusters"]
    group["hosts"] = dict((host, group["hosts"][host]) for host in hosts)
    target = os.path.join(handle.base_dir, name)
    with open(target, "w") as fh:
        json.dump(data, fh)
    return target


def _writes(handle):
    return dict((cluster, values[1]) for cluster, values in counters(handle).items())


def _ok(proc):
    return proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


def _get(handle, cluster, *args):
    return json.loads(handle.kubectl("get", *args, "-o", "json", context=cluster).stdout)


def _peers(handle, cluster):
    """{peer cluster: PeerConnected status} of the istio-remote-peer Gateways of a cluster."""
    found = {}
    for gw in _get(handle, cluster, "gateways.gateway.networking.k8s.io", "-n", "istio-eastwest")["items"]:
        name = gw["metadata"]["name"]
        if name.startswith("istio-remote-peer-"):
            conditions = dict((c["type"], c["status"]) for c in gw.get("status", {}).get("conditions", []))
            found[name[len("istio-remote-peer-"):]] = conditions.get("gloo.solo.io/PeerConnected")
    return found


@pytest.fixture(scope="module")
def fleet(emulator_factory):
    """Seven emulated clusters, the inventory of the first six (the fleet) and of all seven; the fleet installed in three
    parallel slices and linked. The outcomes of those runs are checked by the first test."""
    handle = emulator_factory(FLEET + [NEW])
    six, seven = _inventory(handle, FLEET, "inventory-6.json"), _inventory(handle, FLEET + [NEW], "inventory-7.json")
    runs = {"pki": run_playbook(handle, "pki.yml", inventory=six)[0]}
    before = _writes(handle)
    with concurrent.futures.ThreadPoolExecutor(len(SLICES)) as pool:
        runs["slices"] = list(pool.map(lambda hosts: run_playbook(handle, "install.yml", inventory=six, args=["--limit", ",".join(hosts)]),
                                       SLICES))
    runs["install_writes"] = (before, _writes(handle))
    runs["link"] = run_playbook(handle, "link.yml", inventory=six)
    return {"handle": handle, "six": six, "seven": seven, "runs": runs}


def test_sliced_install_link_and_a_site_rerun_that_changes_nothing(fleet):
    handle, runs = fleet["handle"], fleet["runs"]
    assert _ok(runs["pki"])[0], _ok(runs["pki"])[1]
    for hosts, (proc, _elapsed, recap) in zip(SLICES, runs["slices"]):
        assert _ok(proc)[0], _ok(proc)[1]
        # each slice installed its clusters only, and needed nothing from the others
        assert sorted(recap) == sorted(hosts), recap
    before, after = runs["install_writes"]
    assert all(after[c] > before[c] for c in FLEET) and after[NEW] == before[NEW]
    proc, _elapsed, recap = runs["link"]
    assert _ok(proc)[0], _ok(proc)[1]
    for cluster in FLEET:
        assert _peers(handle, cluster) == dict((peer, "True") for peer in FLEET if peer != cluster), cluster
    # -v: the verdict (its success message) is printed
    proc, _elapsed, recap = run_playbook(handle, "mesh_check.yml", inventory=fleet["six"], args=["-v"])
    assert _ok(proc)[0], _ok(proc)[1]
    assert "multicluster check passed" in proc.stdout
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "site.yml", inventory=fleet["six"])
    assert _ok(proc)[0], _ok(proc)[1]
    assert all(recap[c]["changed"] == 0 and recap[c]["failed"] == 0 for c in FLEET), recap
    assert _writes(handle) == before, "a rerun of a converged fleet wrote"


def _task_results(proc, name):
    """{host: result} of a task from -v output (one JSON result per line)."""
    out = proc.stdout
    results = {}
    for start in [m.start() for m in re.finditer(re.escape(" : %s]" % name), out)]:
        block = out[start:]
        ends = [i for i in (block.find("\nTASK ["), block.find("\nPLAY [")) if i >= 0]
        block = block[:min(ends)] if ends else block
        for host, text in re.findall(r"^(?:ok|changed): \[(\S+)\] => (\{.*\})$", block, re.M):
            results[host] = json.loads(text)
    return results


SPIFFE_TASK = "ClusterSPIFFEIDs for ztunnel, waypoints and ambient workloads, waiting until the controller manager reconciled them (status.stats)"
GLOO_TASK = ("Gateway API CRDs, namespaces and gloo-extensions-config; read the Secrets, the Gloo Operator release and the mesh, "
             "waiting until it is ready")


def test_drift_is_listed_by_check_mode_and_repaired_by_a_rerun(fleet):
    handle = fleet["handle"]
    handle.kubectl("delete", "clusterspiffeid", "istio-ztunnel-reg", context="cluster2")
    # An object only the install manages: the istio-system network label would not do, the Gloo Operator (emulated too)
    # restores it by itself within seconds.
    extensions = _get(handle, "cluster3", "configmap", "gloo-extensions-config", "-n", "gloo-mesh")["data"]
    edited = extensions["values.istio-ztunnel"] + "resources:\n  requests:\n    cpu: 10m\n"
    handle.kubectl("patch", "configmap", "gloo-extensions-config", "-n", "gloo-mesh", "--type", "merge",
                   "-p", json.dumps({"data": {"values.istio-ztunnel": edited}}), context="cluster3")
    assert _get(handle, "cluster3", "configmap", "gloo-extensions-config", "-n", "gloo-mesh")["data"]["values.istio-ztunnel"] == edited
    # check mode: which objects and fields drifted, and no write
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "install.yml", inventory=fleet["six"], args=["--check", "-v"])
    assert _ok(proc)[0], _ok(proc)[1]
    assert _writes(handle) == before
    assert recap["cluster2"]["changed"] == 1 and recap["cluster3"]["changed"] == 1, recap
    assert all(recap[c]["changed"] == 0 for c in FLEET if c not in ("cluster2", "cluster3")), recap
    spiffe = _task_results(proc, SPIFFE_TASK)["cluster2"]["changes"]
    assert spiffe == [{"kind": "ClusterSPIFFEID", "api_version": "spire.spiffe.io/v1alpha1", "name": "istio-ztunnel-reg", "action": "create",
                       "fields": []}], spiffe
    gloo = _task_results(proc, GLOO_TASK)["cluster3"]["changes"]
    assert gloo == [{"kind": "ConfigMap", "api_version": "v1", "name": "gloo-extensions-config", "namespace": "gloo-mesh", "action": "update",
                     "fields": ["data['values.istio-ztunnel']"]}], gloo
    # the rerun repairs both, and says so
    proc, _elapsed, recap = run_playbook(handle, "install.yml", inventory=fleet["six"])
    assert _ok(proc)[0], _ok(proc)[1]
    assert recap["cluster2"]["changed"] == 1 and recap["cluster3"]["changed"] == 1, recap
    assert _get(handle, "cluster2", "clusterspiffeid", "istio-ztunnel-reg")["spec"]["podSelector"]["matchLabels"] == {"app": "ztunnel"}
    assert _get(handle, "cluster3", "configmap", "gloo-extensions-config", "-n", "gloo-mesh")["data"] == extensions
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "install.yml", inventory=fleet["six"])
    assert _ok(proc)[0] and all(r["changed"] == 0 for r in recap.values()) and _writes(handle) == before, recap


def test_a_new_cluster_changes_its_gateways_and_one_peer_gateway_on_each_other(fleet):
    handle = fleet["handle"]
    with open(os.path.join(handle.base_dir, "pki", "root", "root-ca.crt")) as fh:
        root = fh.read()
    proc = run_playbook(handle, "pki.yml", inventory=fleet["seven"])[0]
    assert _ok(proc)[0], _ok(proc)[1]
    proc = run_playbook(handle, "install.yml", inventory=fleet["seven"], args=["--limit", NEW])[0]
    assert _ok(proc)[0], _ok(proc)[1]
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "link.yml", inventory=fleet["seven"])
    assert _ok(proc)[0], _ok(proc)[1]
    after = _writes(handle)
    # one new peer Gateway on each cluster of the fleet, six on the new one; nothing else is written
    assert dict((c, after[c] - before[c]) for c in FLEET + [NEW]) == dict([(c, 1) for c in FLEET] + [(NEW, len(FLEET))])
    assert all(recap[c]["changed"] == 1 for c in FLEET + [NEW]), recap
    for cluster in FLEET + [NEW]:
        assert _peers(handle, cluster) == dict((peer, "True") for peer in FLEET + [NEW] if peer != cluster), cluster
    with open(os.path.join(handle.base_dir, "pki", "root", "root-ca.crt")) as fh:
        assert fh.read() == root
    proc = run_playbook(handle, "mesh_check.yml", inventory=fleet["seven"], args=["-v"])[0]
    assert _ok(proc)[0] and "multicluster check passed" in proc.stdout, _ok(proc)[1]
