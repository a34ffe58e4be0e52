# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.filter.peer_address import peer_address
from ansible_collections.meshops.ambient_spire.plugins.filter.peer_gateways import peer_gateways


def svc(annotation=None, ingress=None):
    meta = {"name": "istio-eastwest", "namespace": "istio-eastwest"}
    if annotation:
        meta["annotations"] = {"istio.io/expose-istiod-address": annotation}
    return {"metadata": meta, "status": {"loadBalancer": {"ingress": ingress or []}}}


def facts(cluster, address, **kw):
    item = {"cluster": cluster, "network": kw.get("network", cluster), "trust_domain": kw.get("td", cluster),
            "service_account": "istio-eastwest", "address": address}
    item.update({k: v for k, v in kw.items() if k in ("region", "zone")})
    return item


@pytest.mark.parametrize("service,expected", [
    (svc("10.1.2.3", [{"ip": "192.0.2.1"}]), {"type": "IPAddress", "value": "10.1.2.3"}),
    (svc("ew.example.com", [{"ip": "192.0.2.1"}]), {"type": "Hostname", "value": "ew.example.com"}),
    (svc("2001:db8::1"), {"type": "IPAddress", "value": "2001:db8::1"}),
    (svc(None, [{"ip": "192.0.2.1", "hostname": "x"}]), {"type": "IPAddress", "value": "192.0.2.1"}),
    (svc(None, [{"hostname": "lb.example.com"}]), {"type": "Hostname", "value": "lb.example.com"}),
    (svc(None, []), None),
    ({"metadata": {}}, None),
])
def test_peer_address_order(service, expected):
    assert peer_address(service) == expected


def test_peer_address_rejects_non_dict():
    with pytest.raises(AnsibleFilterError):
        peer_address("nope")


def test_peer_gateways_shape_matches_istioctl_link():
    peers = [facts("cluster1", {"type": "IPAddress", "value": "192.0.2.10"}),
             facts("cluster2", {"type": "Hostname", "value": "ew2.example.com"}, td="td2", network="net2", region="r", zone="z")]
    gws = peer_gateways(peers, "cluster1")
    assert len(gws) == 1
    gw = gws[0]
    assert gw["apiVersion"] == "gateway.networking.k8s.io/v1" and gw["kind"] == "Gateway"
    assert gw["metadata"]["name"] == "istio-remote-peer-cluster2"
    assert gw["metadata"]["namespace"] == "istio-eastwest"
    assert gw["metadata"]["annotations"] == {"gateway.istio.io/service-account": "istio-eastwest",
                                             "gateway.istio.io/trust-domain": "td2"}
    assert gw["metadata"]["labels"] == {"topology.istio.io/network": "net2", "topology.istio.io/cluster": "cluster2",
                                        "topology.kubernetes.io/region": "r", "topology.kubernetes.io/zone": "z"}
    assert gw["spec"]["gatewayClassName"] == "istio-remote"
    assert gw["spec"]["addresses"] == [{"type": "Hostname", "value": "ew2.example.com"}]
    assert gw["spec"]["listeners"] == [
        {"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
        {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}]


def test_peer_gateways_every_pair_sorted_skips_self_unaddressed_and_duplicates():
    peers = [facts("c3", {"type": "IPAddress", "value": "203.0.113.1"}), facts("c1", {"type": "IPAddress", "value": "192.0.2.1"}),
             facts("c2", None), facts("c3", {"type": "IPAddress", "value": "203.0.113.9"})]
    names = [g["metadata"]["name"] for g in peer_gateways(peers, "c1", namespace="ew")]
    assert names == ["istio-remote-peer-c3"]
    assert peer_gateways(peers, "c1", namespace="ew")[0]["spec"]["addresses"][0]["value"] == "203.0.113.1"
    assert all(g["metadata"]["namespace"] == "ew" for g in peer_gateways(peers, "c2"[:0] + "c2", namespace="ew"))
    assert [g["metadata"]["name"] for g in peer_gateways(peers, "c2")] == ["istio-remote-peer-c1", "istio-remote-peer-c3"]


@pytest.mark.parametrize("bad", ["x", [1], [{"cluster": "c1"}]])
def test_peer_gateways_rejects_bad_input(bad):
    with pytest.raises(AnsibleFilterError):
        peer_gateways(bad, "c1")
