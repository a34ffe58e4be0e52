# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import condition, errors, healthy, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import gateways as gw  # noqa: E402


def _peer(snaps, cluster, target):
    for g in snaps[cluster]["gateways"]:
        if g["name"] == "istio-remote-peer-%s" % target:
            return g
    raise KeyError(target)


def _set_cond(g, type_name, status, reason="Pending", message=""):
    g["conditions"] = [c for c in g["conditions"] if c["type"] != type_name]
    if status is not None:
        g["conditions"].append(condition(type_name, status, reason, message))


def test_gateways_pass():
    findings = gw.check_gateways(healthy())
    assert not errors(findings) and not warnings(findings)
    ok = [f for f in findings if f["level"] == "ok"]
    assert [f["message"] for f in ok] == ["all eastwest gateways programmed"] * 2
    info = [f for f in findings if f["level"] == "info"][0]
    assert "Status: programmed ✅" in info["details"] and "- 172.18.7.110" in info["details"]


def test_gateways_none_fails_unless_precheck():
    snaps = healthy()
    snaps["cluster1"]["gateways"] = [g for g in snaps["cluster1"]["gateways"] if g["class"] != "istio-eastwest"]
    assert "no eastwest gateway" in errors(gw.check_gateways(snaps))[0]["message"]
    findings = gw.check_gateways(snaps, {"precheck": True})
    assert not errors(findings) and warnings(findings)


def test_gateways_not_programmed_and_no_addresses():
    snaps = healthy()
    ew = snaps["cluster1"]["gateways"][0]
    _set_cond(ew, "Programmed", "False", "AddressNotAssigned", "no address")
    errs = errors(gw.check_gateways(snaps))
    assert "is not programmed (AddressNotAssigned: no address)" in errs[0]["message"]
    _set_cond(ew, "Programmed", "True")
    ew["status_addresses"] = []
    assert "has no addresses" in errors(gw.check_gateways(snaps))[0]["message"]


def test_peers_pass():
    findings = gw.check_peers(healthy(3))
    assert not errors(findings) and not warnings(findings)
    assert [f["message"] for f in findings if f["level"] == "ok"] == ["all clusters connected"] * 3
    info = [f for f in findings if f["level"] == "info"][0]
    assert "- gloo.solo.io/PeerDataPlaneProgrammed: True" in info["details"]
    assert "Status: connected ✅" in info["details"]


@pytest.mark.parametrize("type_name,status", [
    ("gloo.solo.io/PeerConnected", "False"),
    ("gloo.solo.io/PeeringSucceeded", "Unknown"),
    ("gloo.solo.io/PeerConnected", None),
])
def test_peer_disconnected(type_name, status):
    snaps = healthy()
    _set_cond(_peer(snaps, "cluster1", "cluster2"), type_name, status, message="not connected to peer")
    errs = errors(gw.check_peers(snaps))
    assert len(errs) == 1 and errs[0]["cluster"] == "cluster1"
    assert errs[0]["message"].startswith("peer cluster2 (network cluster2, gateway istio-eastwest/istio-remote-peer-cluster2) is not connected")
    assert type_name in errs[0]["message"]
    assert "Status: disconnected ❌" in errs[0]["details"]
    assert not errors(gw.check_peers(snaps, {"precheck": True}))


def test_peer_accepted_programmed_prove_nothing():
    snaps = healthy()
    g = _peer(snaps, "cluster2", "cluster1")
    _set_cond(g, "gloo.solo.io/PeerConnected", None)
    _set_cond(g, "gloo.solo.io/PeeringSucceeded", None)
    errs = errors(gw.check_peers(snaps))
    assert len(errs) == 1 and "not reported" in errs[0]["message"]


def test_peer_missing_for_other_cluster():
    snaps = healthy(3)
    snaps["cluster3"]["gateways"] = [g for g in snaps["cluster3"]["gateways"] if g["name"] != "istio-remote-peer-cluster1"]
    errs = errors(gw.check_peers(snaps))
    assert [e["message"] for e in errs] == ["no remote peer gateway for cluster cluster1 (expected istio-remote-peer-cluster1)"]
    precheck = gw.check_peers(snaps, {"precheck": True})
    assert not errors(precheck) and warnings(precheck)


def test_single_cluster_without_peers():
    snaps = healthy(1)
    assert "no remote peer gateways" in errors(gw.check_peers(snaps))[0]["message"]
    assert not errors(gw.check_peers(snaps, {"precheck": True}))
