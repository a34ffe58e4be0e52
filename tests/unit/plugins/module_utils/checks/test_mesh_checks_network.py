# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import errors, healthy, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import network as nw  # noqa: E402

NET = "topology.istio.io/network"


def _we(source, ns, name):
    return {"name": "autogenflat.%s.%s.%s.ee508601917c" % (source, ns, name), "source_workload": "autogenflat.%s.%s.%s" % (source, ns, name),
            "source_cluster": source, "peered_uid": "%s//Pod/%s/%s" % (source, ns, name)}


def test_network_pass():
    findings = nw.check_network(healthy())
    assert not errors(findings) and not warnings(findings)
    msgs = [f["message"] for f in findings]
    assert "Cluster cluster1 has network: cluster1" in msgs
    assert "Eastwest gateway istio-eastwest/istio-eastwest has correct network label: cluster1" in msgs
    assert "Remote gateway istio-eastwest/istio-remote-peer-cluster2 references network cluster2 (clusters: [cluster2])" in msgs
    assert msgs.count("all network configurations are valid") == 2


def test_network_namespace_label_mismatch():
    snaps = healthy()
    snaps["cluster2"]["namespaces"]["istio-system"][NET] = "wrong"
    errs = errors(nw.check_network(snaps))
    text = " | ".join(e["message"] for e in errs)
    assert "Eastwest gateway istio-eastwest/istio-eastwest has network label cluster2, expected wrong" in text
    assert "ztunnel istio-system/ztunnel has NETWORK=cluster2, expected wrong" in text
    assert "differs from the declared mesh_network cluster2" in text
    # the peer gateway in cluster1 carries cluster2 but the cluster owning its address now says 'wrong'
    assert "Remote gateway istio-eastwest/istio-remote-peer-cluster2 has network label cluster2 but its address belongs" in text
    assert {e["check"] for e in errs} == {"network"}


def test_network_label_missing_and_ztunnel_missing():
    snaps = healthy()
    del snaps["cluster1"]["namespaces"]["istio-system"][NET]
    snaps["cluster2"]["ztunnel_daemonsets"] = []
    findings = nw.check_network(snaps)
    assert any("has no topology.istio.io/network label" in e["message"] for e in errors(findings, cluster="cluster1"))
    assert "no ztunnel DaemonSet" in warnings(findings, cluster="cluster2")[0]["message"]


def test_network_eastwest_gateway_label_only():
    snaps = healthy()
    snaps["cluster1"]["gateways"][0]["labels"][NET] = "cluster9"
    errs = errors(nw.check_network(snaps))
    assert [e["message"] for e in errs] == ["Eastwest gateway istio-eastwest/istio-eastwest has network label cluster9, expected cluster1"]


def test_network_remote_gateway_wrong_label():
    snaps = healthy()
    snaps["cluster1"]["gateways"][1]["labels"][NET] = "cluster1"
    errs = errors(nw.check_network(snaps))
    assert any("istio-remote-peer-cluster2 has network label cluster1 but its address belongs (by address) to cluster cluster2" in e["message"]
               for e in errs)


def test_network_remote_gateway_unknown_address():
    snaps = healthy()
    gw = snaps["cluster1"]["gateways"][1]
    gw["spec_addresses"] = gw["status_addresses"] = [{"type": "IPAddress", "value": "10.9.9.9"}]
    gw["labels"] = {NET: "elsewhere"}
    gw["name"] = "istio-remote-peer-elsewhere"
    findings = nw.check_network(snaps)
    assert "belongs to no cluster in the inventory" in warnings(findings, cluster="cluster1")[0]["message"]
    assert "it names cluster elsewhere, which is not checked in this run" in warnings(findings, cluster="cluster1")[0]["message"]
    assert not errors(findings) and [f["cluster"] for f in findings if f["level"] == "ok"] == ["cluster2"]


def test_network_remote_gateway_address_of_no_cluster_is_an_error():
    """A peer named after a cluster of the run whose address is no cluster's is not taken for that cluster (regression)."""
    snaps = healthy()
    gw = snaps["cluster1"]["gateways"][1]
    gw["spec_addresses"] = gw["status_addresses"] = [{"type": "IPAddress", "value": "10.9.9.9"}]
    findings = nw.check_network(snaps)
    assert [e["message"] for e in errors(findings)] == [
        "Remote gateway istio-eastwest/istio-remote-peer-cluster2 address 10.9.9.9 belongs to no cluster in the inventory "
        "(no east-west gateway of cluster cluster2 has it)"]
    assert [f["cluster"] for f in findings if f["level"] == "ok"] == ["cluster2"]
    assert [e["level"] for e in nw.check_network(snaps, {"precheck": True}) if e["cluster"] == "cluster1" and "10.9.9.9" in e["message"]] == [
        "warning"]


def test_network_remote_gateway_without_address_is_an_error():
    snaps = healthy()
    gw = snaps["cluster1"]["gateways"][1]
    gw["spec_addresses"] = gw["status_addresses"] = []
    assert [e["message"] for e in errors(nw.check_network(snaps))] == [
        "Remote gateway istio-eastwest/istio-remote-peer-cluster2 (for cluster cluster2) has no address: its network cannot be verified"]


def test_network_no_ok_line_next_to_a_warning():
    snaps = healthy()
    snaps["cluster2"]["ztunnel_daemonsets"] = []
    findings = nw.check_network(snaps)
    assert [f["cluster"] for f in findings if f["level"] == "ok"] == ["cluster1"]


def test_network_duplicate_unless_flat():
    snaps = healthy()
    for c in ("cluster1", "cluster2"):
        snaps[c]["namespaces"]["istio-system"][NET] = "shared"
        snaps[c]["gateways"][0]["labels"][NET] = "shared"
        snaps[c]["ztunnel_daemonsets"][0]["env"]["NETWORK"] = "shared"
        snaps[c]["expected"]["network"] = "shared"
        snaps[c]["gateways"][1]["labels"][NET] = "shared"
    errs = errors(nw.check_network(snaps))
    assert len(errs) == 2 and all("used by several clusters" in e["message"] for e in errs)
    findings = nw.check_network(snaps, {"flat_network": True})
    assert not errors(findings)
    assert any("flat networking declared" in f["message"] for f in findings)


def test_stale_none_found_is_warning():
    findings = nw.check_stale_workloads(healthy())
    assert not errors(findings)
    assert [f["message"] for f in findings] == ["no autogenflat workload entries found"] * 2


def test_stale_single_cluster_skipped():
    assert nw.check_stale_workloads(healthy(1))[0]["message"].startswith("skipped")


def test_stale_entries_valid_and_stale():
    snaps = healthy()
    snaps["cluster2"]["workload_entries"]["autogenflat"] = [_we("cluster1", "bookinfo", "productpage-v1-cluster1")]
    findings = nw.check_stale_workloads(snaps)
    assert not errors(findings) and not warnings(findings)
    snaps["cluster2"]["workload_entries"]["autogenflat"].append(_we("cluster1", "bookinfo", "gone-pod"))
    errs = errors(nw.check_stale_workloads(snaps))
    assert len(errs) == 1 and errs[0]["cluster"] == "cluster2"
    assert errs[0]["message"] == ("stale WorkloadEntry istio-system/autogenflat.cluster1.bookinfo.gone-pod.ee508601917c: "
                                  "pod bookinfo/gone-pod no longer exists in cluster cluster1")
    assert "kubectl get workloadentries" in errs[0]["hint"]


def test_stale_source_not_in_inventory_and_bad_uid():
    snaps = healthy()
    bad = _we("cluster1", "bookinfo", "x")
    bad["peered_uid"] = "cluster1/Pod/bookinfo/x"
    snaps["cluster1"]["workload_entries"]["autogenflat"] = [_we("cluster7", "bookinfo", "x"), bad]
    findings = nw.check_stale_workloads(snaps)
    assert not errors(findings)
    msgs = [w["message"] for w in warnings(findings)]
    assert "Cluster cluster1 has resources from cluster cluster7, but cluster cluster7 is not in the inventory" in msgs
    assert any("no valid solo.io/peered-workload-uid" in m for m in msgs)


def test_parse_peered_uid():
    assert nw.parse_peered_uid("c1//Pod/ns/p") == ("c1", "ns", "p")
    assert nw.parse_peered_uid("c1//Service/ns/p") is None
    assert nw.parse_peered_uid(None) is None
