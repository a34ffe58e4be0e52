# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import errors, healthy, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import naming  # noqa: E402


def test_naming_pass():
    findings = naming.check_naming(healthy())
    assert [f["level"] for f in findings] == ["ok", "ok"]


@pytest.mark.parametrize("name,valid", [("cluster1", True), ("gke_proj_zone_c1", False), ("Cluster1", False), ("-a", False),
                                        ("a" * 63, True), ("a" * 64, False), ("a.b", False)])
def test_dns1123(name, valid):
    assert naming.valid_dns1123_label(name) is valid


@pytest.mark.parametrize("td,valid", [("cluster.local", True), ("my_td-1.example", True), ("Example.org", False), ("a/b", False), ("", False)])
def test_trust_domain(td, valid):
    assert naming.valid_trust_domain(td) is valid


def test_naming_bad_cluster_network_td():
    snaps = healthy()
    snap = snaps.pop("cluster1")
    snap["cluster"] = "gke_proj_zone_c1"
    snap["namespaces"]["istio-system"]["topology.istio.io/network"] = "Net_1"
    snap["mesh_config"]["trust_domain"] = "Cluster.Local"
    snap["istiod_deployments"][0]["env"]["CLUSTER_ID"] = "gke_proj_zone_c1"
    findings = naming.check_naming({"gke_proj_zone_c1": snap})
    msgs = [e["message"] for e in errors(findings)]
    assert "cluster name 'gke_proj_zone_c1' is not a valid DNS-1123 label" in msgs
    assert "network 'Net_1' is not a valid DNS-1123 label" in msgs
    assert "trust domain 'Cluster.Local' is not a valid SPIFFE trust domain" in msgs


def test_naming_cluster_id():
    snaps = healthy()
    snaps["cluster1"]["istiod_deployments"][0]["env"]["CLUSTER_ID"] = "Kubernetes"
    snaps["cluster2"]["istiod_deployments"][0]["env"]["CLUSTER_ID"] = "c2"
    findings = naming.check_naming(snaps)
    assert "default 'Kubernetes'" in errors(findings, cluster="cluster1")[0]["message"]
    assert errors(findings, cluster="cluster2")[0]["message"] == "istiod CLUSTER_ID c2 differs from the cluster name cluster2"


def test_naming_long_peer_name():
    snaps = healthy()
    snap = snaps.pop("cluster1")
    name = "c" * 50
    snap["cluster"] = name
    snap["istiod_deployments"][0]["env"]["CLUSTER_ID"] = name
    findings = naming.check_naming({name: snap})
    assert "longer than 63" in warnings(findings)[0]["message"]
