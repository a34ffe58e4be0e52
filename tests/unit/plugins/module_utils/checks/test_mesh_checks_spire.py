# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import errors, healthy, pem, pki, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import spire as sp  # noqa: E402


def test_upstream_ca_pass():
    findings = sp.check_spire_upstream_ca(healthy())
    assert not errors(findings) and not warnings(findings)
    assert all(f["message"].startswith("SPIRE upstream CA chains to the shared root") for f in findings)


def test_upstream_ca_bundle_not_configured():
    snaps = healthy()
    snaps["cluster2"]["spire"]["server"]["bundle_file_path"] = False
    errs = errors(sp.check_spire_upstream_ca(snaps))
    assert len(errs) == 1 and errs[0]["cluster"] == "cluster2"
    assert errs[0]["message"].startswith("SPIRE bundle not configured")
    assert "secret.data.bundle" in errs[0]["hint"]


def test_upstream_ca_foreign_chain_and_bundle():
    snaps = healthy()
    foreign = pki()["foreign"]
    snaps["cluster1"]["spire"]["upstream_ca"]["bundle"] = pem(foreign[0])
    errs = errors(sp.check_spire_upstream_ca(snaps))
    assert any("is not the shared root" in e["message"] for e in errs)
    snaps = healthy()
    snaps["cluster1"]["spire"]["upstream_ca"]["certificate"] = pem(pki()["istio-foreign"][0])
    errs = errors(sp.check_spire_upstream_ca(snaps))
    assert errs and all(e["cluster"] == "cluster1" for e in errs)


def test_upstream_ca_no_ok_line_for_what_was_not_verified():
    """No shared root, or no tls.key: a warning says what was not verified, and no ok line claims it (regression)."""
    snaps = healthy()
    for snap in snaps.values():
        snap["cacerts"] = {"present": False}  # no root to compare with, and none configured
    snaps["cluster2"]["spire"]["upstream_ca"]["key_matches"] = None
    findings = sp.check_spire_upstream_ca(snaps)
    assert not errors(findings)
    assert [f["message"] for f in warnings(findings, cluster="cluster1")] == [
        "no shared root known (no cacerts root, no root bundle given): the upstream CA chain and bundle.crt are not verified"]
    assert "SPIRE upstream CA secret has no tls.key to compare" in [f["message"] for f in warnings(findings, cluster="cluster2")]
    assert [f for f in findings if f["level"] == "ok"] == []
    snaps = healthy()
    snaps["cluster2"]["spire"]["upstream_ca"]["key_matches"] = None  # root known, key missing
    findings = sp.check_spire_upstream_ca(snaps)
    assert [f["cluster"] for f in findings if f["level"] == "ok"] == ["cluster1"]
    assert [f["message"] for f in warnings(findings)] == ["SPIRE upstream CA secret has no tls.key to compare"]


def test_upstream_ca_key_mismatch_missing_secret_and_server():
    snaps = healthy()
    snaps["cluster1"]["spire"]["upstream_ca"]["key_matches"] = False
    snaps["cluster2"]["spire"]["upstream_ca"] = {"present": False, "secret": "spiffe-upstream-ca"}
    snaps["cluster2"]["spire"]["server"] = {"present": False}
    findings = sp.check_spire_upstream_ca(snaps)
    assert [e["message"] for e in errors(findings, cluster="cluster1")] == ["SPIRE upstream CA tls.key does not match tls.crt"]
    msgs = [e["message"] for e in errors(findings, cluster="cluster2")]
    assert "SPIRE upstream CA secret spire-server/spiffe-upstream-ca not found" in msgs
    assert any("SPIRE server config" in m for m in msgs)


def test_upstream_ca_configured_root_wins():
    snaps = healthy()
    errs = errors(sp.check_spire_upstream_ca(snaps, {"root_ca_pem": pem(pki()["foreign"][0])}))
    assert len({e["cluster"] for e in errs}) == 2


def test_upstream_ca_bad_pem():
    snaps = healthy()
    snaps["cluster1"]["spire"]["upstream_ca"]["certificate"] = "not a pem"
    assert "not a PEM certificate" in errors(sp.check_spire_upstream_ca(snaps))[0]["message"]


def test_trust_domain_pass():
    findings = sp.check_spire_trust_domain(healthy(3))
    assert not errors(findings) and not warnings(findings)
    assert findings[0]["message"].startswith("trust domain cluster1 is consistent")


@pytest.mark.parametrize("delegates", [
    [],
    ["spiffe://cluster1/ns/istio-system/sa/ztunnel", "spiffe://cluster1/ns/default/sa/other"],
    ["spiffe://cluster.local/ns/istio-system/sa/ztunnel"],
])
def test_trust_domain_delegates_exact(delegates):
    snaps = healthy()
    snaps["cluster1"]["spire"]["agent"]["authorized_delegates"] = delegates
    errs = errors(sp.check_spire_trust_domain(snaps))
    assert len(errs) == 1 and "authorized_delegates" in errs[0]["message"]
    assert "expected exactly ['spiffe://cluster1/ns/istio-system/sa/ztunnel']" in errs[0]["message"]


def test_trust_domain_spire_vs_mesh():
    snaps = healthy()
    snaps["cluster1"]["mesh_config"]["trust_domain"] = "cluster.local"
    errs = errors(sp.check_spire_trust_domain(snaps), cluster="cluster1")
    msgs = [e["message"] for e in errs]
    assert "SPIRE trust domain cluster1 differs from the mesh trust domain cluster.local" in msgs
    assert any("uses trust domain cluster1 for this cluster, expected cluster.local" in m for m in msgs)
    assert "mesh trust domain cluster.local differs from the declared mesh_trust_domain cluster1" in msgs


def test_trust_domain_peer_annotation():
    snaps = healthy()
    snaps["cluster2"]["gateways"][1]["annotations"]["gateway.istio.io/trust-domain"] = "cluster.local"
    errs = errors(sp.check_spire_trust_domain(snaps))
    assert [(e["cluster"], e["message"]) for e in errs] == [
        ("cluster1", "peer gateway istio-eastwest/istio-remote-peer-cluster1 in cluster cluster2 uses trust domain cluster.local "
                     "for this cluster, expected cluster1")]


def test_trust_domain_components_disagree_and_missing():
    snaps = healthy()
    snaps["cluster1"]["spire"]["controller_manager"]["trust_domain"] = "other"
    snaps["cluster2"]["mesh_config"] = None
    snaps["cluster2"]["spire"]["server"] = {"present": False}
    snaps["cluster2"]["spire"]["agent"] = {"present": False}
    findings = sp.check_spire_trust_domain(snaps)
    assert "SPIRE components disagree" in errors(findings, cluster="cluster1")[0]["message"]
    msgs = [e["message"] for e in errors(findings, cluster="cluster2")]
    assert any("mesh trust domain unknown" in m for m in msgs) and any("SPIRE trust domain unknown" in m for m in msgs)


def test_csids_pass():
    findings = sp.check_cluster_spiffe_ids(healthy())
    assert not errors(findings) and not warnings(findings)
    assert findings[-1]["message"] == "all ClusterSPIFFEIDs reconciled (className spire-server-spire), 3 pods selected"


def test_csids_classless_ignored():
    snaps = healthy()
    for item in snaps["cluster1"]["spire"]["cluster_spiffe_ids"]:
        item["class_name"] = ""
        item["stats"] = None
    errs = errors(sp.check_cluster_spiffe_ids(snaps))
    msgs = [e["message"] for e in errs]
    assert ('ClusterSPIFFEID istio-ztunnel-reg is ignored by the SPIRE controller manager: className "", controller className '
            '"spire-server-spire", watchClassless false') in msgs
    assert "2 ambient pods exist but no reconciled ClusterSPIFFEID selects any pod (podsSelected 0)" in msgs
    assert {e["cluster"] for e in errs} == {"cluster1"}
    snaps["cluster1"]["spire"]["controller_manager"]["watch_classless"] = True
    for item in snaps["cluster1"]["spire"]["cluster_spiffe_ids"]:
        item["stats"] = {"podsSelected": 1}
    assert not errors(sp.check_cluster_spiffe_ids(snaps))


def test_csids_other_class_and_no_pods_selected():
    snaps = healthy()
    snaps["cluster1"]["spire"]["cluster_spiffe_ids"][0]["class_name"] = "other-class"
    snaps["cluster2"]["spire"]["cluster_spiffe_ids"] = [{"name": "x", "class_name": "spire-server-spire", "stats": {"podsSelected": 0}}]
    findings = sp.check_cluster_spiffe_ids(snaps)
    assert 'className "other-class"' in errors(findings, cluster="cluster1")[0]["message"]
    assert "no reconciled ClusterSPIFFEID selects any pod" in errors(findings, cluster="cluster2")[0]["message"]


def test_csids_no_status_failures_crd_missing_no_manager():
    snaps = healthy(3)
    snaps["cluster1"]["spire"]["cluster_spiffe_ids"][0]["stats"] = None
    snaps["cluster1"]["spire"]["cluster_spiffe_ids"][1]["stats"]["entryFailures"] = 2
    snaps["cluster2"]["spire"]["cluster_spiffe_ids"] = None
    snaps["cluster3"]["spire"]["controller_manager"] = {"present": False}
    findings = sp.check_cluster_spiffe_ids(snaps)
    assert "has no status yet" in warnings(findings, cluster="cluster1")[0]["message"]
    assert "reports 2 entry failures" in errors(findings, cluster="cluster1")[0]["message"]
    assert "CRD" in errors(findings, cluster="cluster2")[0]["message"]
    assert "controller manager config not found" in errors(findings, cluster="cluster3")[0]["message"]


def test_csids_none_defined():
    snaps = healthy()
    snaps["cluster1"]["spire"]["cluster_spiffe_ids"] = []
    snaps["cluster1"]["ambient"]["pods"] = 0
    findings = sp.check_cluster_spiffe_ids(snaps)
    assert warnings(findings, cluster="cluster1")[0]["message"] == "no ClusterSPIFFEIDs found"
