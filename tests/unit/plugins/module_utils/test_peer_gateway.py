# -*- coding: utf-8 -*-
"""The east-west and peer Gateway shapes, built and read back."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _peer_gateway as pg
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import _common

PEER = {"cluster": "c2", "network": "n2", "trust_domain": "td2", "service_account": "ew", "address": {"type": "IPAddress", "value": "192.0.2.2"},
        "region": "r", "zone": ""}


def test_eastwest_gateway_shape():
    gw = pg.eastwest_gateway("c1", "n1", region="r1")
    assert gw["metadata"] == {"name": "istio-eastwest", "namespace": "istio-eastwest", "labels": {
        "topology.istio.io/network": "n1", "topology.istio.io/cluster": "c1", "istio.io/expose-istiod": "15012", "topology.kubernetes.io/region": "r1"}}
    assert gw["spec"]["gatewayClassName"] == "istio-eastwest"
    assert gw["spec"]["listeners"] == pg.peer_gateway(PEER)["spec"]["listeners"] == [
        {"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
        {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}]


def test_peer_gateway_reads_back():
    gw = pg.peer_gateway(PEER, "istio-eastwest")
    gw["status"] = {"conditions": [{"type": "gloo.solo.io/PeerConnected", "status": "True"}]}
    assert pg.peer_gateway_info(gw) == {"name": "istio-remote-peer-c2", "namespace": "istio-eastwest", "cluster": "c2", "network": "n2",
                                        "trust_domain": "td2", "service_account": "ew", "addresses": ["192.0.2.2"], "connected": True}
    gw["status"]["conditions"][0]["status"] = "False"
    assert pg.peer_gateway_info(gw)["connected"] is False


@pytest.mark.parametrize("gw", [
    {"metadata": {"name": "istio-remote-peer-x"}, "spec": {"gatewayClassName": "istio-eastwest"}},
    {"metadata": {"name": "my-peer"}, "spec": {"gatewayClassName": "istio-remote"}},
    {},
])
def test_only_peer_gateways_are_read(gw):
    assert pg.peer_gateway_info(gw) is None


def test_peer_gateways_skip_self_duplicates_and_unaddressed_and_sort():
    peers = [dict(PEER, cluster="c3"), dict(PEER, cluster="c1"), PEER, dict(PEER, cluster="c2", network="other"), dict(PEER, cluster="c4", address=None)]
    gws = pg.peer_gateways(peers, "c1")
    assert [gw["metadata"]["name"] for gw in gws] == ["istio-remote-peer-c2", "istio-remote-peer-c3"]
    assert gws[0]["metadata"]["labels"]["topology.istio.io/network"] == "n2"


@pytest.mark.parametrize("peers,message", [(["x"], "must be a dict"), ([{"cluster": "c"}], "east-west facts of c lack network, trust_domain")])
def test_peer_gateways_refuse_bad_facts(peers, message):
    with pytest.raises(ValueError, match=message):
        pg.peer_gateways(peers, "c1")


def test_snapshot_readers_are_the_checks_readers():
    assert _common.peer_target_cluster is pg.peer_target_cluster and _common.gateway_addresses is pg.gateway_addresses
    assert _common.PEER_PREFIX == pg.peer_gateway_name("")
    assert pg.peer_target_cluster({"name": "istio-remote-peer-x", "labels": {}}) == "x"
    assert pg.peer_target_cluster({"name": "n", "labels": {"topology.istio.io/network": "net"}}) == "net"
    assert pg.gateway_addresses({"spec_addresses": [{"value": "a"}], "status_addresses": ["a", {"value": "b"}]}) == ["a", "b"]
