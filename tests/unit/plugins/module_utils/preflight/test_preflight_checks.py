# -*- coding: utf-8 -*-
"""The preflight checks as pure functions of dict snapshots: each failure mode names the cluster, says what to fix, and
stays on its cluster; a cluster ready for a first install and an installed one pass."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from preflight_fixtures import NOW, errors, jwt, levels, node, options, pem, pki, snaps, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import checks as pc  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import license as lic  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import registry  # noqa: E402


@pytest.mark.parametrize("kind", ["fresh", "installed"])
def test_fresh_and_installed_clusters_pass(kind):
    findings = registry.run_checks(snaps(kind=kind), options())
    assert errors(findings) == [] and warnings(findings) == [], [f for f in findings if f["level"] != "ok"]
    summary = registry.summarize(findings, ["cluster1", "cluster2"])
    assert summary["passed"] and [c["id"] for c in summary["checks"]] == list(registry.CHECK_IDS)
    lines = _report.text_lines(findings, summary, catalog=registry.CATALOG)
    assert lines[0] == "=== Cluster: cluster1 ===" and "=== All clusters ===" in lines and lines[-1] == "✅ Preflight passed"


def _only_error(findings, check, cluster):
    errs = errors(findings)
    assert [(e["check"], e["cluster"]) for e in errs] == [(check, cluster)], errs
    assert errs[0]["hint"], "an error says what to fix"
    return errs[0]


def test_rbac_denied_requests_and_grants():
    s = snaps()
    s["cluster2"]["access"] = {"checked": 111, "escalation": False, "grants_checked": 60,
                               "denied": [{"verb": "create", "group": "rbac.authorization.k8s.io", "resource": "clusterroles"},
                                          {"verb": "list", "group": "", "resource": "secrets", "namespace": "spire-server"}],
                               "grants_denied": [{"verb": "create", "group": "authentication.k8s.io", "resource": "tokenreviews"}]}
    findings = pc.check_rbac(s, options())
    errs = errors(findings, cluster="cluster2")
    assert len(errs) == 2 and errors(findings, cluster="cluster1") == []
    assert errs[0]["message"].startswith("admin may not make 2 of the 111 requests the install makes: "
                                         "create clusterroles.rbac.authorization.k8s.io cluster-wide; list secrets in spire-server")
    assert "rbac_rules" in errs[0]["hint"]
    assert "list secrets in spire-server: Helm's release records" in errs[0]["details"][1]
    assert "escalate" in errs[1]["message"] and "create tokenreviews.authentication.k8s.io cluster-wide" in errs[1]["message"]
    assert "escalate" in errs[1]["hint"] and "bind" in errs[1]["hint"]
    ok = [f for f in findings if f["cluster"] == "cluster1"]
    assert ok[0]["level"] == "ok" and "may escalate and bind roles" in ok[0]["message"]


def test_rbac_of_a_cluster_admin():
    s = snaps("c1")
    s["c1"]["access"]["everything"] = True
    findings = pc.check_rbac(s, options())
    assert [(f["level"], f["message"]) for f in findings] == [
        ("ok", "admin may do everything (verb *, resource *: cluster-admin), so all 111 requests the install makes (SelfSubjectAccessReview)")]


def test_rbac_not_run_leaves_no_finding():
    s = snaps()
    for snap in s.values():
        snap["access"] = None
    assert pc.check_rbac(s, options()) == []


@pytest.mark.parametrize("git_version, istio, allow, level, text", [
    ("v1.28.9", "1.27.3-patch0", False, "error", "Kubernetes 1.28.9 is outside the versions Istio 1.27 supports (1.29 to 1.33, https://istio.io/"),
    ("v1.34.0", "1.27.3-patch0", False, "error", "Kubernetes 1.34.0 is outside the versions Istio 1.27 supports (1.29 to 1.33"),
    ("v1.34.0", "1.27.3-patch0", True, "warning", "is outside the versions Istio 1.27 supports"),
    ("v1.33.1", "1.25.5-patch1", False, "error", "Kubernetes 1.33.1 is outside the versions Istio 1.25 supports (1.29 to 1.32"),
    ("v1.31.2-eks-1a2b3c4", "1.27.3-patch0", False, "ok", "Kubernetes 1.31.2 is supported by SPIRE chart 0.24.2 (>=1.21.0-0) and Istio 1.27 (1.29 to 1.33)"),
    ("v1.20.15", None, False, "error", "Kubernetes 1.20.15 does not satisfy the SPIRE chart 0.24.2's kubeVersion >=1.21.0-0"),
    ("v1.33.1", "1.40.0", False, "warning", "Istio 1.40.0: its supported Kubernetes versions are not known"),
])
def test_kubernetes_version(git_version, istio, allow, level, text):
    s = snaps()
    s["cluster1"]["version"]["git_version"] = "v1.30.4"
    s["cluster2"]["version"]["git_version"] = git_version
    findings = pc.check_kubernetes_version(s, options(istio_version=istio, allow_unsupported_kubernetes=allow))
    mine = [f for f in findings if f["cluster"] == "cluster2"]
    assert [f for f in mine if f["level"] == level and text in f["message"]], mine
    assert levels(findings, cluster="cluster1") == (["ok", "warning"] if istio == "1.40.0" else ["ok"])
    if level == "error":
        assert all(f["hint"] for f in mine if f["level"] == "error")


def test_kubernetes_version_of_a_managed_cluster_without_git_version():
    s = snaps("c1")
    s["c1"]["version"] = {"git_version": None, "major": "1", "minor": "31+"}
    assert levels(pc.check_kubernetes_version(s, options())) == ["ok"]


def test_nodes():
    s = snaps("c1", "c2", "c3", "c4")
    s["c2"]["nodes"] = [node("win", os_name="windows"), node("fargate-1", **{"eks.amazonaws.com/compute-type": "fargate"})]
    s["c3"]["nodes"] = [node("a"), node("b", ready=False)]
    s["c4"]["nodes"], s["c4"]["nodes_error"] = None, "list nodes: forbidden (403)"
    findings = pc.check_nodes(s, options())
    _only_error(findings, "ztunnel_nodes", "c2")
    assert errors(findings)[0]["message"] == ("no Ready Linux node that can run ztunnel and the SPIRE agent (2 nodes; not for ztunnel: "
                                              "fargate-1 (virtual), win (not Linux))")
    assert [w["message"].split(";")[0] for w in warnings(findings, cluster="c3")] == ["nodes not Ready: b"]
    assert "not verified" in warnings(findings, cluster="c4")[0]["message"]


@pytest.mark.parametrize("classes, persistence, level, text", [
    ([], {"type": "pvc", "storage_class": None}, "error", "no default StorageClass (classes: none)"),
    ([{"name": "slow", "default": False}], {"type": "pvc", "storage_class": None}, "error", "no default StorageClass (classes: slow)"),
    ([{"name": "slow", "default": False}], {"type": "pvc", "storage_class": "slow"}, "ok", "spire-server's claim uses StorageClass slow"),
    ([{"name": "slow", "default": False}], {"type": "pvc", "storage_class": "gp3"}, "error", "StorageClass gp3 (set for spire-server's claim) does not exist"),
    ([], {"type": "emptyDir", "storage_class": None}, "ok", "spire-server persistence is emptyDir: no claim to bind"),
    ([{"name": "a", "default": True, "created": "1"}, {"name": "b", "default": True, "created": "2"}], {"type": "pvc", "storage_class": None},
     "warning", "2 default StorageClasses (a, b): new claims get the newest, b"),
])
def test_storage(classes, persistence, level, text):
    s = snaps()
    s["cluster2"]["storage_classes"] = classes
    findings = pc.check_storage(s, options(spire_persistence=persistence))
    mine = [f for f in findings if f["cluster"] == "cluster2"]
    assert [f["level"] for f in mine] == [level] and mine[0]["message"].startswith(text), mine
    if level == "error":
        assert "helm --wait times out" in mine[0]["hint"] and "is-default-class" in mine[0]["hint"]


def test_storage_of_an_installed_cluster_is_its_bound_claim():
    s = snaps(kind="installed")
    s["cluster1"]["storage_classes"] = []
    findings = pc.check_storage(s, options())
    assert levels(findings) == ["ok"] and findings[0]["message"] == "spire-server's claim spire-data-spire-server-0 is already Bound (class standard)"


@pytest.mark.parametrize("values, expected", [
    ({}, {"type": "pvc", "storage_class": None}),
    ({"spire-server": {"persistence": {"type": "emptyDir"}}}, {"type": "emptyDir", "storage_class": None}),
    ({"spire-server": {"persistence": {"storageClass": "fast"}}}, {"type": "pvc", "storage_class": "fast"}),
    ({"global": {"spire": {"persistence": {"storageClass": "g"}}}, "spire-server": {"persistence": {"storageClass": "fast"}}},
     {"type": "pvc", "storage_class": "g"}),
    ({"spire-server": {"kind": "deployment"}}, {"type": "emptyDir", "storage_class": None}),
])
def test_spire_persistence_reads_the_values_as_the_chart_does(values, expected):
    assert pc.spire_persistence(values) == expected


def test_pod_security():
    s = snaps("c1", "c2", "c3", "c4")
    s["c1"]["namespaces"]["spire-server"] = {"pod-security.kubernetes.io/enforce": "privileged"}
    s["c2"]["namespaces"]["spire-server"] = {"pod-security.kubernetes.io/enforce": "restricted"}
    s["c2"]["namespaces"]["istio-system"] = {"pod-security.kubernetes.io/enforce": "baseline"}
    s["c3"]["namespaces"]["istio-system"] = {"pod-security.kubernetes.io/warn": "restricted"}
    s["c4"]["namespace_names"]["istio"] = "spire-server"
    s["c4"]["namespaces"]["spire-server"] = {"pod-security.kubernetes.io/enforce": "baseline"}
    findings = pc.check_pod_security(s, options())
    assert levels(findings, cluster="c1") == ["ok"]
    c2 = errors(findings, cluster="c2")
    assert [e["message"].split(":")[0] for e in c2] == ['namespace spire-server enforces Pod Security "restricted"',
                                                        'namespace istio-system enforces Pod Security "baseline"']
    assert "spire-agent" in c2[0]["message"] and "ztunnel" in c2[1]["message"]
    assert c2[0]["hint"].endswith("kubectl label namespace spire-server pod-security.kubernetes.io/enforce=privileged --overwrite --context <ctx>.")
    assert warnings(findings, cluster="c3")[0]["message"].startswith('namespace istio-system warns "restricted"')
    c4 = errors(findings, cluster="c4")
    assert len(c4) == 1 and "spire-agent" in c4[0]["message"] and "ztunnel" in c4[0]["message"]


def test_existing_istiod():
    s = snaps(kind="installed")
    s["cluster2"]["istiods"].append({"name": "istiod", "namespace": "istio-system", "owners": [],
                                     "labels": {"install.operator.istio.io/owning-resource": "installed-state"}, "images": []})
    findings = pc.check_existing_istiod(s, options())
    err = _only_error(findings, "existing_istiod", "cluster2")
    assert err["message"] == "istiod istio-system/istiod (revision default, installed by istioctl/IstioOperator) is not managed by the Gloo Operator"
    # without a ServiceMeshController, an istiod-gloo owned by nobody is not the operator's
    s = snaps(kind="installed")
    s["cluster1"]["smcs"] = []
    _only_error(pc.check_existing_istiod(s, options()), "existing_istiod", "cluster1")
    # owned by a ServiceMeshController, or labelled by the operator: the operator's
    s["cluster1"]["istiods"][0]["owners"] = ["ServiceMeshController/managed-istio"]
    assert errors(pc.check_existing_istiod(s, options())) == []


@pytest.mark.parametrize("annotations, level, text", [
    ({"gateway.networking.k8s.io/bundle-version": "v1.3.0", "gateway.networking.k8s.io/channel": "experimental"}, "error",
     "gateways.gateway.networking.k8s.io is from the experimental channel (v1.3.0)"),
    ({"gateway.networking.k8s.io/bundle-version": "v1.3.0", "gateway.networking.k8s.io/channel": "standard"}, "error",
     "gateways.gateway.networking.k8s.io is v1.3.0, newer than v1.2.1: the install would downgrade it"),
    ({"gateway.networking.k8s.io/bundle-version": "v1.1.0", "gateway.networking.k8s.io/channel": "standard"}, "warning",
     "gateways.gateway.networking.k8s.io is v1.1.0: the install upgrades it to v1.2.1"),
    ({}, "warning", "gateways.gateway.networking.k8s.io has no bundle-version annotation"),
])
def test_gateway_api_crds(annotations, level, text):
    s = snaps(kind="installed")
    s["cluster2"]["crds"]["gateways.gateway.networking.k8s.io"]["annotations"] = annotations
    findings = pc.check_gateway_api_crds(s, options())
    mine = [f for f in findings if f["cluster"] == "cluster2"]
    assert [(f["level"], f["message"][:len(text)]) for f in mine] == [(level, text)]
    assert "gloo_operator_gateway_api_install: false" in mine[0]["hint"]
    assert levels(findings, cluster="cluster1") == ["ok"]


def test_gateway_api_crds_not_installed_by_the_install():
    wanted = {"install": False, "version": "v1.2.1", "channel": "standard"}
    findings = pc.check_gateway_api_crds(snaps(), options(gateway_api=wanted))
    assert [e["cluster"] for e in errors(findings)] == ["cluster1", "cluster2"]
    assert levels(pc.check_gateway_api_crds(snaps(kind="installed"), options(gateway_api=wanted))) == ["ok"]


def test_existing_spire():
    s = snaps(kind="installed")
    s["cluster1"]["crds"]["clusterspiffeids.spire.spiffe.io"]["annotations"]["meta.helm.sh/release-name"] = "other-spire-crds"
    s["cluster2"]["crds"]["clusterstaticentries.spire.spiffe.io"] = {"present": True, "annotations": {}, "labels": {}, "versions": []}
    findings = pc.check_existing_spire(s, options())
    assert [(e["cluster"], e["message"]) for e in errors(findings)] == [
        ("cluster1", "CRD clusterspiffeids.spire.spiffe.io belongs to Helm release spire-server/other-spire-crds, not to the release spire-server/spire-crds"),
        ("cluster2", "CRD clusterstaticentries.spire.spiffe.io belongs to no Helm release (applied by another tool), "
                     "not to the release spire-server/spire-crds")]
    assert "meta.helm.sh/release-name" in errors(findings)[0]["hint"]
    s = snaps(kind="installed")
    s["cluster2"]["spire_server"]["trust_domain"] = "example.org"
    err = _only_error(pc.check_existing_spire(s, options()), "existing_spire", "cluster2")
    assert err["message"] == "the SPIRE server in spire-server serves trust domain example.org; the install would change it to cluster2"


def test_existing_ca():
    s = snaps(kind="installed")
    foreign = pki()["foreign"]
    s["cluster2"]["cacerts"]["certificates"]["root-cert.pem"] = pem(foreign[0])
    findings = pc.check_existing_ca(s, options())
    err = _only_error(findings, "existing_ca", "cluster2")
    assert err["message"].startswith("istio-system/cacerts is under root SHA256 ") and "(CN=Foreign Root CA,O=emulator)" in err["message"]
    assert "not the PKI's root SHA256" in err["message"] and "pki_root_ca_cert" in err["hint"]
    assert findings[0] == {"check": "existing_ca", "cluster": "cluster1", "level": "ok", "hint": "",
                           "message": "istio-system/cacerts is under the PKI's root; spire-server/spiffe-upstream-ca is under the PKI's root"}
    # no PKI root yet (a first run on the controller) while the cluster has CA material: the install would replace it
    findings = pc.check_existing_ca(snaps(kind="installed"), options(pki_root_pem=""))
    assert [(e["cluster"], e["message"].split(" under ")[0]) for e in errors(findings)] == [
        ("cluster1", "istio-system/cacerts exists"), ("cluster1", "spire-server/spiffe-upstream-ca exists"),
        ("cluster2", "istio-system/cacerts exists"), ("cluster2", "spire-server/spiffe-upstream-ca exists")]
    # a fresh cluster has nothing to conflict with, whatever the PKI
    assert levels(pc.check_existing_ca(snaps(), options(pki_root_pem=""))) == ["ok"]


def test_license():
    day = datetime.timedelta(days=1)

    def run(key, **extra):
        return pc.check_license(snaps(), options(license=lic.describe(key), **extra))
    assert errors(run(""))[0]["message"].startswith("no Gloo license key is set")
    expired = run(jwt({"exp": int((NOW - day).timestamp())}))
    assert expired[0]["level"] == "error" and expired[0]["message"].startswith("the license key expired on 2026-11-29, according to its exp claim")
    soon = run(jwt({"exp": int((NOW + 10 * day).timestamp())}))
    assert soon[0]["level"] == "error" and soon[0]["message"].startswith("the license key expires on 2026-12-10, in 10 days (fewer than 30)")
    assert "signature is not verified" in soon[0]["message"] and soon[0]["cluster"] is None
    assert run(jwt({"exp": int((NOW + 10 * day).timestamp())}), license_min_days=5)[0]["level"] == "ok"
    opaque = run("emu-license:GlooMesh:2099-12-31")
    assert opaque[0]["level"] == "warning" and "cannot be read: Solo does not publish the key format" in opaque[0]["message"]


def test_license_description_never_holds_the_key():
    key = jwt({"exp": 4102444800, "iat": 1700000000, "lt": "enterprise", "product": "gloo-mesh"})
    described = lic.describe("  %s\n" % key)
    assert described == {"set": True, "length": len(key), "format": "jwt", "expires": "2100-01-01T00:00:00Z", "issued": "2023-11-14T22:13:20Z"}
    assert lic.describe("a.b.c")["format"] == "unknown" and lic.describe(None)["set"] is False


def test_every_error_names_its_cluster_and_stays_on_it():
    """All failure modes at once, one per cluster: each cluster's errors are its own check's only."""
    s = snaps("rbac", "storage", "psa", "nodes")
    s["rbac"]["access"]["denied"] = [{"verb": "create", "group": "", "resource": "namespaces"}]
    s["storage"]["storage_classes"] = []
    s["psa"]["namespaces"]["istio-system"] = {"pod-security.kubernetes.io/enforce": "restricted"}
    s["nodes"]["nodes"] = [node("n", ready=False)]
    findings = registry.run_checks(s, options())
    assert sorted((e["cluster"], e["check"]) for e in errors(findings)) == [
        ("nodes", "ztunnel_nodes"), ("psa", "pod_security"), ("rbac", "rbac"), ("storage", "storage")]


def test_unread_cluster_and_junit():
    s = snaps("cluster1")
    findings = registry.unread_findings([("cluster2", "cluster cluster2 is not reachable (GET /version failed: ...)")]) + registry.run_checks(s, options())
    summary = registry.summarize(findings, ["cluster1"], ["cluster2"])
    assert not summary["passed"] and summary["unread_clusters"] == ["cluster2"]
    lines = _report.text_lines(findings, summary, catalog=registry.CATALOG)
    assert "❌ Reachability Check: cluster cluster2 is not reachable (GET /version failed: ...)" in lines
    assert "❌ Preflight incomplete: cluster2 could not be read, the inventory was not fully checked" in lines
    junit = _report.to_junit(findings, summary, suite_name="preflight", catalog=registry.CATALOG)
    assert 'classname="preflight.reachable" name="Reachability Check [cluster2]"><failure' in junit
    assert 'name="License Check [mesh]"' in junit
