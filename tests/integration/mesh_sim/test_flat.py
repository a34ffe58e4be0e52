"""Flat networks (two clusters on one network): the simulated peering writes autogenflat WorkloadEntries for the
pods of the peer's ambient namespaces; an entry goes stale when its pod is deleted while the peering is down."""

import pytest

import meshenv
from meshpki import TestPki
from meshenv import wait_for

CLUSTERS = ("flat1", "flat2")
WE = ("networking.istio.io", "v1", "istio-system", "workloadentries")


@pytest.fixture(scope="module")
def flat(emulator_factory, tmp_path_factory):
    handle = emulator_factory(list(CLUSTERS))
    tpki = TestPki(str(tmp_path_factory.mktemp("pki-flat")), CLUSTERS)
    address = {}
    for c in CLUSTERS:
        meshenv.install_cacerts(handle, c, tpki.files[c])
        meshenv.install_gloo(handle, c, c, "shared", c, spire=False)
        meshenv.expose(handle, c, c, "shared")
        address[c] = meshenv.eastwest_address(handle, c)
    for src, dst in (CLUSTERS, CLUSTERS[::-1]):
        meshenv.apply(handle, src, [meshenv.remote_gateway(dst, "shared", dst, address[dst])])
    handle.kubectl("create", "namespace", "bookinfo", context="flat2")
    handle.kubectl("label", "namespace", "bookinfo", "istio.io/dataplane-mode=ambient", context="flat2")
    meshenv.apply(handle, "flat2", [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bookinfo-productpage", "namespace": "bookinfo"}},  # Pods need their ServiceAccount
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "productpage", "namespace": "bookinfo"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "productpage"}}, "template": {
             "metadata": {"labels": {"app": "productpage", "version": "v1"}},
             "spec": {"serviceAccountName": "bookinfo-productpage", "containers": [{"name": "productpage", "image": "example/productpage:1"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "productpage", "namespace": "bookinfo"},
         "spec": {"selector": {"app": "productpage"}, "ports": [{"port": 9080}]}}])
    read = {c: meshenv.Reader(handle, c) for c in CLUSTERS}
    for src, dst in (CLUSTERS, CLUSTERS[::-1]):
        wait_for(lambda s=src, d=dst: read[s].peer_state("istio-remote-peer-" + d) == ("True", "True", "True"), what="flat peers")
    return handle, read


def _entries(read):
    return {w["metadata"]["name"]: w for w in read.custom.list_namespaced_custom_object(*WE)["items"]}


def _pods(read):
    return {p.metadata.name: p for p in read.pods("bookinfo", "app=productpage")}


def test_autogenflat_entries_for_peer_ambient_pods(flat):
    _handle, read = flat
    pods = wait_for(lambda: len(_pods(read["flat2"])) == 2 and _pods(read["flat2"]))
    entries = wait_for(lambda: len(_entries(read["flat1"])) == 2 and _entries(read["flat1"]), what="two entries")
    for name, we in entries.items():
        labels, annotations = we["metadata"]["labels"], we["metadata"]["annotations"]
        pod = pods[annotations["solo.io/peered-workload-uid"].split("/")[-1]]
        group = "autogenflat.flat2.bookinfo.%s" % pod.metadata.name
        assert name.startswith(group + ".") and len(name.rsplit(".", 1)[1]) == 12
        assert labels["solo.io/source-workload"] == (group if len(group) <= 63 else labels["solo.io/source-workload"])
        assert labels["solo.io/source-workload"].startswith("autogenflat.")
        assert labels["solo.io/source-cluster"] == "flat2" and labels["app"] == "productpage"
        assert annotations["solo.io/peered-workload-uid"] == "flat2//Pod/bookinfo/%s" % pod.metadata.name
        assert we["spec"]["address"] == pod.status.pod_ip and we["spec"]["network"] == "shared"
        assert we["spec"]["serviceAccount"] == "bookinfo-productpage"
    assert _entries(read["flat2"]) == {}   # flat1 has no ambient namespace


def test_stale_entry_when_pod_deleted_during_a_peering_fault(flat):
    handle, read = flat
    wait_for(lambda: len(_entries(read["flat1"])) == 2, what="two entries")
    victim = sorted(_pods(read["flat2"]))[0]
    handle.admin("flat1", "POST", "/_emulator/mesh/faults", {"disconnect_peer": "flat2"})
    try:
        wait_for(lambda: read["flat1"].peer_state("istio-remote-peer-flat2")[0] == "False", what="peering down")
        handle.kubectl("-n", "bookinfo", "delete", "pod", victim, "--wait=false", context="flat2")
        wait_for(lambda: victim not in _pods(read["flat2"]) and len(_pods(read["flat2"])) == 2, what="pod replaced")
        stale = [n for n, w in _entries(read["flat1"]).items() if w["metadata"]["annotations"]["solo.io/peered-workload-uid"].endswith("/" + victim)]
        assert len(stale) == 1 and len(_entries(read["flat1"])) == 2   # the stale one stays, the new pod has none yet
    finally:
        handle.admin("flat1", "DELETE", "/_emulator/mesh/faults")
    wait_for(lambda: read["flat1"].peer_state("istio-remote-peer-flat2")[0] == "True", what="peering back")
    wait_for(lambda: {w["metadata"]["annotations"]["solo.io/peered-workload-uid"].rsplit("/", 1)[1] for w in _entries(read["flat1"]).values()}
             == set(_pods(read["flat2"])), what="entries resynced")


def test_entries_removed_with_the_peer_gateway(flat):
    handle, read = flat
    wait_for(lambda: len(_entries(read["flat1"])) == 2, what="two entries")
    gw = read["flat1"].gateway("istio-remote-peer-flat2")
    handle.kubectl("-n", "istio-eastwest", "delete", "gateway", "istio-remote-peer-flat2", context="flat1")
    try:
        wait_for(lambda: _entries(read["flat1"]) == {}, what="entries removed")
    finally:
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
            gw["metadata"].pop(key, None)
        gw.pop("status", None)
        meshenv.apply(handle, "flat1", [gw])
    wait_for(lambda: len(_entries(read["flat1"])) == 2, what="entries back")
