# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import threading

try:
    from urllib.parse import parse_qsl, urlsplit
except ImportError:  # pragma: no cover
    from urlparse import parse_qsl, urlsplit  # type: ignore

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_snapshot as snap_mod
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest import Connection
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import SnapshotError, for_each_cluster


class FakeResp(object):
    def __init__(self, data):
        self.data = data


class FakeApiError(Exception):
    def __init__(self, status, reason="Not Found"):
        Exception.__init__(self, reason)
        self.status = status
        self.reason = reason


class FakeApi(object):
    def __init__(self, docs, errors=None):
        self.docs = docs
        self.errors = errors or {}
        self.calls = []

    def call_api(self, path, method, query_params=None, **kwargs):
        self.calls.append((method, path, tuple(query_params or ())))
        if path in self.errors:
            raise FakeApiError(*self.errors[path])
        if path not in self.docs:
            raise FakeApiError(404)
        doc = self.docs[path]
        if isinstance(doc, dict) and "__by_selector__" in doc:
            doc = doc["__by_selector__"][dict(query_params or ()).get("labelSelector")]
        return FakeResp(doc if isinstance(doc, bytes) else json.dumps(doc).encode())


class FakeResponse7(object):
    def __init__(self, status, data, reason="OK"):
        self.status = status
        self.reason = reason
        self._data = data

    def read(self):
        return self._data


class FakeApi7(object):
    """kubernetes >= 30 style: param_serialize + call_api(method, url), no exception on HTTP errors."""

    def __init__(self, docs_, errors=None):
        self.inner = FakeApi(docs_, errors)
        self.calls = self.inner.calls

    def param_serialize(self, method, resource_path, query_params=None, header_params=None, auth_settings=None, **kwargs):
        return method, (resource_path, tuple(query_params or ())), header_params, None, None

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        path, query = url
        try:
            resp = self.inner.call_api(path, method, query_params=query)
        except FakeApiError as exc:
            return FakeResponse7(exc.status, b'{"kind": "Status"}', exc.reason)
        return FakeResponse7(200, resp.data)


class FakeSender(object):
    """The sender of a _k8s_rest.Connection (its fast path): (status, reason, data) per request, HTTP errors as statuses."""

    def __init__(self, docs_, errors=None):
        self.inner = FakeApi(docs_, errors)
        self.headers = []

    def send(self, method, url, body, headers, timeout):
        parts = urlsplit(url)
        self.headers.append(headers)
        try:
            resp = self.inner.call_api(parts.path, method, query_params=parse_qsl(parts.query))
        except FakeApiError as exc:
            return exc.status, exc.reason, b'{"kind": "Status"}'
        return 200, "OK", resp.data


def FakeConnection(docs_, errors=None):  # pylint: disable=invalid-name  # used like the API classes
    connection = Connection("https://api.example", [("Authorization", "Bearer t")], FakeSender(docs_, errors), True)
    connection.calls = connection.sender.inner.calls
    return connection


def b64(text):
    return base64.b64encode(text.encode()).decode()


def _pod(name, ns, labels, ready=True, phase="Running"):
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": phase, "containerStatuses": [{"ready": ready, "restartCount": 2,
                                                              "state": {} if ready else {"waiting": {"reason": "CrashLoopBackOff"}}}]}}


SERVER_CONF = json.dumps({"server": {"trust_domain": "cluster1"}, "plugins": {"UpstreamAuthority": [{"disk": {"plugin_data": {
    "cert_file_path": "/run/spire/upstream_ca/tls.crt", "key_file_path": "/run/spire/upstream_ca/tls.key",
    "bundle_file_path": "/run/spire/upstream_ca/bundle.crt"}}}]}})
AGENT_CONF = json.dumps({"agent": {"trust_domain": "cluster1", "authorized_delegates": ["spiffe://cluster1/ns/istio-system/sa/ztunnel"]}})
CM_CONF = "apiVersion: spire.spiffe.io/v1alpha1\nkind: ControllerManagerConfig\nclassName: spire-server-spire\nwatchClassless: false\ntrustDomain: cluster1\n"


def docs():
    return {
        "/api/v1/namespaces": {"items": [
            {"metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "cluster1"}}},
            {"metadata": {"name": "bookinfo", "labels": {"istio.io/dataplane-mode": "ambient"}}},
            {"metadata": {"name": "spire-server"}}]},
        "/apis/apps/v1/deployments": {"items": [{"metadata": {"name": "istiod-gloo", "namespace": "istio-system"}, "spec": {"template": {"spec": {
            "containers": [{"name": "discovery", "env": [
                {"name": "CLUSTER_ID", "value": "cluster1"}, {"name": "ENABLE_PEERING_DISCOVERY", "value": "true"},
                {"name": "SOLO_LICENSE_KEY", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}}]}]}}}}]},
        "/apis/apps/v1/daemonsets": {"items": [{"metadata": {"name": "ztunnel", "namespace": "istio-system"}, "spec": {"template": {"spec": {
            "containers": [{"name": "istio-proxy", "env": [{"name": "NETWORK", "value": "cluster1"}]}]}}}}]},
        "/api/v1/pods": {"items": [
            _pod("istiod-gloo-1", "istio-system", {"app": "istiod"}),
            _pod("ztunnel-a", "istio-system", {"app": "ztunnel"}, ready=False),
            _pod("istio-eastwest-1", "istio-eastwest", {"service.istio.io/canonical-name": "istio-eastwest"}),
            _pod("productpage", "bookinfo", {}),
            _pod("excluded", "bookinfo", {"istio.io/dataplane-mode": "none"}),
            _pod("other", "default", {})]},
        "/apis/gateway.networking.k8s.io/v1/gateways": {"items": [{
            "metadata": {"name": "istio-remote-peer-cluster2", "namespace": "istio-eastwest", "labels": {"topology.istio.io/network": "cluster2"},
                         "annotations": {"gateway.istio.io/trust-domain": "cluster2", "kubectl.kubernetes.io/last-applied-configuration": "{big}"}},
            "spec": {"gatewayClassName": "istio-remote", "addresses": [{"type": "IPAddress", "value": "10.0.0.2"}],
                     "listeners": [{"name": "xds-tls", "port": 15012, "protocol": "TLS"}]},
            "status": {"conditions": [{"type": "gloo.solo.io/PeerConnected", "status": "True", "reason": "Programmed"}]}}]},
        "/api/v1/services": {"items": [{"metadata": {"name": "istio-eastwest", "namespace": "istio-eastwest", "labels": {"istio.io/expose-istiod": "15012"}},
                                        "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}]},
        "/apis/networking.istio.io/v1/namespaces/istio-system/workloadentries": {"items": [
            {"metadata": {"name": "autogenflat.cluster2.bookinfo.p.abc",
                          "labels": {"solo.io/source-workload": "autogenflat.cluster2.bookinfo.p", "solo.io/source-cluster": "cluster2"},
                          "annotations": {"solo.io/peered-workload-uid": "cluster2//Pod/bookinfo/p"}}},
            {"metadata": {"name": "manual", "labels": {}}}]},
        "/api/v1/namespaces/istio-system/secrets/cacerts": {"data": {"ca-cert.pem": b64("CA"), "ca-key.pem": b64("SECRET-KEY-MATERIAL"),
                                                                     "root-cert.pem": b64("ROOT"), "cert-chain.pem": b64("CHAIN")}},
        "/api/v1/namespaces/istio-system/configmaps": {"items": [
            {"metadata": {"name": "istio-ca-root-cert"}, "data": {"root-cert.pem": "ROOTCM"}},
            {"metadata": {"name": "istio-gloo"}, "data": {"mesh": "trustDomain: cluster1\n"}},
            {"metadata": {"name": "istio"}, "data": {"mesh": "trustDomain: other\n"}}]},
        "/api/v1/namespaces/spire-server/configmaps": {"items": [
            {"metadata": {"name": "spire-server"}, "data": {"server.conf": SERVER_CONF}},
            {"metadata": {"name": "spire-agent"}, "data": {"agent.conf": AGENT_CONF}},
            {"metadata": {"name": "spire-controller-manager"}, "data": {"controller-manager-config.yaml": CM_CONF}},
            {"metadata": {"name": "spire-bundle"}, "data": {"bundle.crt": "SPIREBUNDLE"}}]},
        "/api/v1/namespaces/spire-server/secrets/spiffe-upstream-ca": {"data": {"tls.crt": b64("UP"), "tls.key": b64("UPKEY"), "bundle.crt": b64("ROOT")}},
        "/apis/spire.spiffe.io/v1alpha1/clusterspiffeids": {"items": [
            {"metadata": {"name": "istio-ambient-reg"}, "spec": {"className": "spire-server-spire"}, "status": {"stats": {"podsSelected": 3}}},
            {"metadata": {"name": "classless"}, "spec": {}}]},
        "/api/v1/namespaces/istio-system/pods/istiod-gloo-1:15014/proxy/debug/license":
            json.dumps({"State": "OK", "Product": "GlooMesh"}).encode(),
    }


@pytest.mark.parametrize("api_class", [FakeApi, FakeApi7, FakeConnection])
def test_snapshot_shape_and_bounded_requests(api_class):
    api = api_class(docs())
    snap = snap_mod.take_snapshot(api, context="ctx1")
    if api_class is FakeConnection:
        assert all(h["Authorization"] == "Bearer t" and h["Accept"] == "application/json" for h in api.sender.headers)
    assert snap["cluster"] == "cluster1"  # from CLUSTER_ID
    # 13, and what the real SPIRE chart renders: its claims, Jobs and DaemonSets (the controller manager names no webhook here)
    assert snap["requests"] == len(api.calls) == 16
    assert all(method == "GET" for method, dummy, dummy2 in api.calls)
    assert snap["namespaces"]["istio-system"] == {"topology.istio.io/network": "cluster1"}
    assert snap["istiod_deployments"][0]["env"]["ENABLE_PEERING_DISCOVERY"] == "true"
    assert snap["istiod_deployments"][0]["env_from_refs"] == ["SOLO_LICENSE_KEY"]
    assert snap["ztunnel_daemonsets"][0]["env"] == {"NETWORK": "cluster1"}
    assert [p["name"] for p in snap["pods"]["istiod"]] == ["istiod-gloo-1"]
    zt = snap["pods"]["ztunnel"][0]
    assert zt["ready"] is False and zt["reason"] == "CrashLoopBackOff" and zt["ready_count"] == "0/1" and zt["restarts"] == 2
    assert snap["ambient"] == {"namespaces": ["bookinfo"], "pods": 1, "pod_namespaces": ["bookinfo"]}
    assert "default/other" in snap["pod_index"] and len(snap["pod_index"]) == 6
    gw = snap["gateways"][0]
    assert gw["class"] == "istio-remote" and gw["annotations"] == {"gateway.istio.io/trust-domain": "cluster2"}
    assert gw["spec_addresses"] == [{"type": "IPAddress", "value": "10.0.0.2"}]
    assert snap["eastwest_services"][0]["ingress"] == ["10.0.0.1"]
    assert snap["workload_entries"]["total"] == 2
    assert snap["workload_entries"]["autogenflat"] == [{"name": "autogenflat.cluster2.bookinfo.p.abc", "source_workload": "autogenflat.cluster2.bookinfo.p",
                                                        "source_cluster": "cluster2", "peered_uid": "cluster2//Pod/bookinfo/p"}]
    assert snap["cacerts"]["ca_cert"] == "CA" and snap["cacerts"]["root_cert"] == "ROOT" and snap["cacerts"]["key_present"]
    assert snap["istio_ca_root_cert"] == "ROOTCM"
    assert snap["mesh_config"] == {"name": "istio-gloo", "trust_domain": "cluster1"}
    spire = snap["spire"]
    assert spire["server"]["bundle_file_path"] is True and spire["server"]["trust_domain"] == "cluster1"
    assert spire["server"]["upstream_authority"] == "disk"
    assert spire["agent"]["authorized_delegates"] == ["spiffe://cluster1/ns/istio-system/sa/ztunnel"]
    assert spire["controller_manager"]["class_name"] == "spire-server-spire" and spire["controller_manager"]["watch_classless"] is False
    assert spire["upstream_ca"]["certificate"] == "UP" and spire["upstream_ca"]["bundle"] == "ROOT"
    # SPIRE's published bundle (its k8sbundle notifier's ConfigMap): a trust store of the trust graph, read with the other ConfigMaps
    assert spire["bundle"] == {"configmap": "spire-bundle", "pem": "SPIREBUNDLE"}
    assert spire["cluster_spiffe_ids"][1] == {"name": "classless", "class_name": "", "fallback": False, "pod_selector": None,
                                              "namespace_selector": None, "stats": None}
    assert snap["license"] == {"status": "ok", "state": "OK", "product": "GlooMesh", "pod": "istiod-gloo-1"}
    assert snap["missing"] == []
    text = json.dumps(snap)
    assert "SECRET-KEY-MATERIAL" not in text and "UPKEY" not in text and b64("SECRET-KEY-MATERIAL") not in text
    assert "last-applied" not in text


@pytest.mark.parametrize("api_class", [FakeApi, FakeApi7])
def test_snapshot_missing_crds_and_resources(api_class):
    d = docs()
    for path in ("/apis/gateway.networking.k8s.io/v1/gateways", "/apis/spire.spiffe.io/v1alpha1/clusterspiffeids",
                 "/api/v1/namespaces/istio-system/secrets/cacerts", "/api/v1/namespaces/spire-server/secrets/spiffe-upstream-ca",
                 "/apis/networking.istio.io/v1/namespaces/istio-system/workloadentries",
                 "/api/v1/namespaces/istio-system/pods/istiod-gloo-1:15014/proxy/debug/license"):
        del d[path]
    d["/api/v1/namespaces/istio-system/configmaps"] = {"items": []}
    snap = snap_mod.take_snapshot(api_class(d), cluster_name="c1")
    assert snap["cluster"] == "c1"
    assert len(snap["missing"]) == 5
    assert snap["gateways"] == [] and snap["spire"]["cluster_spiffe_ids"] is None
    assert snap["cacerts"] == {"present": False} and snap["spire"]["upstream_ca"]["present"] is False
    assert snap["license"]["status"] == "not_supported"
    assert snap["mesh_config"] is None


def test_snapshot_license_no_ready_pod_and_server_error():
    d = docs()
    d["/api/v1/pods"]["items"][0]["status"]["containerStatuses"][0]["ready"] = False
    snap = snap_mod.take_snapshot(FakeApi(d), cluster_name="c1")
    assert snap["license"] == {"status": "no_pod"} and snap["requests"] == 15
    api = FakeApi(docs(), errors={"/api/v1/namespaces/istio-system/pods/istiod-gloo-1:15014/proxy/debug/license": (503, "Service Unavailable")})
    assert snap_mod.take_snapshot(api, cluster_name="c1")["license"]["status"] == "error"
    snap = snap_mod.take_snapshot(FakeApi(docs()), cluster_name="c1", license_check=False)
    assert snap["license"] == {"status": "skipped"}


@pytest.mark.parametrize("api_class", [FakeApi, FakeApi7, FakeConnection])
def test_snapshot_api_error_names_cluster(api_class):
    api = api_class(docs(), errors={"/api/v1/pods": (403, "Forbidden")})
    with pytest.raises(snap_mod.SnapshotError) as exc:
        snap_mod.take_snapshot(api, cluster_name="cluster9")
    assert str(exc.value) == "cluster cluster9: GET /api/v1/pods failed: 403 Forbidden"


class StatusErrorApi(FakeApi7):
    """Every request answers an error with a Kubernetes Status body, like a real API server."""

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        return FakeResponse7(503, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503,
                                              "message": "the server is currently\nunable to handle the request"}).encode(), "Service Unavailable")


def test_snapshot_api_error_carries_the_status_message():
    with pytest.raises(snap_mod.SnapshotError) as exc:
        snap_mod.take_snapshot(StatusErrorApi(docs()), cluster_name="cluster9")
    assert str(exc.value) == ("cluster cluster9: GET /api/v1/namespaces failed: 503 Service Unavailable: "
                              "the server is currently unable to handle the request")


@pytest.mark.parametrize("body,expected", [
    (b'{"kind": "Status", "message": "forbidden: User cannot list pods"}', "forbidden: User cannot list pods"),
    ('{"kind": "Status", "message": "gone"}', "gone"),
    (b'{"kind": "Status"}', None),
    (b'{"kind": "Pod", "message": "not a status"}', None),
    (b"<html>bad gateway</html>", None),
    (None, None),
])
def test_status_message(body, expected):
    assert snap_mod.status_message(body) == expected


class FlakyLicenseApi(FakeApi7):
    """The license request through the pod proxy answers 503 the first `failures` times."""

    def __init__(self, docs_, failures):
        FakeApi7.__init__(self, docs_)
        self.failures = failures

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        if url[0].endswith("/proxy/debug/license") and self.failures > 0:
            self.failures -= 1
            self.calls.append((method, url[0], ()))
            return FakeResponse7(503, b'{"kind": "Status", "message": "emulated fault"}', "Service Unavailable")
        return FakeApi7.call_api(self, method, url, header_params, body, post_params, _request_timeout)


@pytest.mark.parametrize("failures,expected_status,license_requests", [(0, "ok", 1), (2, "ok", 3), (3, "error", 3)])
def test_license_request_is_asked_again_after_a_5xx(monkeypatch, failures, expected_status, license_requests):
    monkeypatch.setattr(snap_mod, "LICENSE_RETRY_DELAY", 0)
    d = docs()
    d["/api/v1/namespaces/istio-system/pods/istiod-gloo-1:15014/proxy/debug/license"] = {"State": "valid", "Product": "gloo-mesh-enterprise"}
    api = FlakyLicenseApi(d, failures)
    snap = snap_mod.take_snapshot(api, cluster_name="c1")
    assert snap["license"]["status"] == expected_status
    assert len([c for c in api.calls if c[1].endswith("/proxy/debug/license")]) == license_requests
    assert snap["requests"] == 15 + license_requests


def test_snapshot_tls_style_cacerts_and_agent_namespace():
    d = docs()
    d["/api/v1/namespaces/istio-system/secrets/cacerts"] = {"data": {"tls.crt": b64("CA"), "tls.key": b64("K"), "ca.crt": b64("ROOT")}}
    d["/api/v1/namespaces/spire-system/configmaps"] = {"items": []}
    snap = snap_mod.take_snapshot(FakeApi(d), cluster_name="c1", spire_agent_namespace="spire-system")
    assert snap["cacerts"]["format"] == "tls" and snap["cacerts"]["root_cert"] == "ROOT"
    assert snap["requests"] == 17


REAL_CM_CONF = CM_CONF + ("validatingWebhookConfigurationName: spire-server-spire-controller-manager-webhook\n"
                          "ignoreNamespaces:\n  - kube-system\n  - openshift-.*\n")


def test_snapshot_reads_what_the_real_spire_chart_renders():
    """Pods of the server, agents, CSI driver and OIDC provider with their socket host paths, the server's claim, the hook Jobs,
    the DaemonSets and the controller manager's webhook configuration (spire 0.24.2 names)."""
    d = docs()
    d["/api/v1/namespaces/spire-server/configmaps"]["items"][2]["data"]["controller-manager-config.yaml"] = REAL_CM_CONF
    agent = _pod("spire-agent-x", "spire-server", {"app.kubernetes.io/name": "agent"})
    agent["spec"]["volumes"] = [{"name": "spire-agent-socket-dir", "hostPath": {"path": "/run/spire/agent-sockets", "type": "DirectoryOrCreate"}},
                                {"name": "spire-agent-admin-socket-dir", "hostPath": {"path": "/run/spire/agent/sockets/csi.spiffe.io/admin"}},
                                {"name": "spire-config", "configMap": {"name": "spire-agent"}}]
    ztunnel = d["/api/v1/pods"]["items"][1]
    ztunnel["spec"]["volumes"] = [{"name": "spire-admin-socket", "hostPath": {"path": "/run/spire/agent/sockets/csi.spiffe.io/admin"}}]
    d["/api/v1/pods"]["items"] += [agent, _pod("spire-server-0", "spire-server", {"app.kubernetes.io/name": "server"}, ready=False),
                                   _pod("spire-spiffe-oidc-discovery-provider-1", "spire-server", {"app.kubernetes.io/name": "spiffe-oidc-discovery-provider"}),
                                   _pod("elsewhere", "other", {"app.kubernetes.io/name": "agent"})]
    d["/api/v1/namespaces/spire-server/persistentvolumeclaims"] = {"items": [
        {"metadata": {"name": "spire-data-spire-server-0"}, "spec": {"storageClassName": None}, "status": {"phase": "Pending"}}]}
    d["/apis/batch/v1/namespaces/spire-server/jobs"] = {"items": [{
        "metadata": {"name": "spire-server-post-install", "annotations": {"helm.sh/hook": "post-install"}},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                   "message": "Job has reached the specified backoff limit"}]}}]}
    d["/apis/apps/v1/namespaces/spire-server/daemonsets"] = {"items": [
        {"metadata": {"name": "spire-agent", "labels": {"app.kubernetes.io/name": "agent"}}, "status": {"desiredNumberScheduled": 2, "numberReady": 1}}]}
    d["/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/spire-server-spire-controller-manager-webhook"] = {
        "webhooks": [{"name": "vclusterspiffeid.kb.io"}]}
    api = FakeApi(d)
    spire = snap_mod.take_snapshot(api, cluster_name="c1", license_check=False)["spire"]
    assert len(api.calls) == 16    # no license query here; the webhook configuration named by the controller manager's config
    assert spire["controller_manager"]["ignore_namespaces"] == ["kube-system", "openshift-.*"]
    assert [p["name"] for p in spire["pods"]["agent"]] == ["spire-agent-x"] and spire["pods"]["server"][0]["ready"] is False
    assert [p["name"] for p in spire["pods"]["oidc"]] == ["spire-spiffe-oidc-discovery-provider-1"] and spire["pods"]["csi_driver"] == []
    assert spire["host_paths"] == {"agent": {"spire-agent-socket-dir": "/run/spire/agent-sockets",
                                             "spire-agent-admin-socket-dir": "/run/spire/agent/sockets/csi.spiffe.io/admin"},
                                   "ztunnel": {"spire-admin-socket": "/run/spire/agent/sockets/csi.spiffe.io/admin"}}
    assert spire["claims"] == [{"name": "spire-data-spire-server-0", "phase": "Pending", "storage_class": None}]
    assert spire["jobs"] == [{"name": "spire-server-post-install", "hook": "post-install", "failed": True, "reason": "BackoffLimitExceeded",
                              "message": "Job has reached the specified backoff limit", "complete": False}]
    assert spire["daemonsets"] == [{"name": "spire-agent", "app": "agent", "desired": 2, "ready": 1}]
    assert spire["webhook"] == {"name": "spire-server-spire-controller-manager-webhook", "present": True, "webhooks": ["vclusterspiffeid.kb.io"]}


def test_hcl_configs():
    server = 'server {\n trust_domain = "td1"\n}\nplugins {\n UpstreamAuthority "disk" {\n plugin_data {\n cert_file_path = "/a"\n }\n }\n}\n'
    parsed = snap_mod.spire_server_config(server)
    assert parsed["trust_domain"] == "td1" and parsed["bundle_file_path"] is False and parsed["upstream_authority"] == "disk"
    agent = 'agent {\n trust_domain = "td1"\n authorized_delegates = [\n "spiffe://td1/ns/istio-system/sa/ztunnel",\n ]\n}\n'
    assert snap_mod.spire_agent_config(agent)["authorized_delegates"] == ["spiffe://td1/ns/istio-system/sa/ztunnel"]
    assert snap_mod.controller_manager_config("{not yaml")["parse_error"]


def test_mesh_config_default_trust_domain():
    cms = [{"metadata": {"name": "istio"}, "data": {"mesh": "defaultConfig: {}\n"}}]
    assert snap_mod.mesh_config(cms) == {"name": "istio", "trust_domain": "cluster.local"}


def test_for_each_cluster_runs_the_clusters_at_the_same_time():
    # a barrier that every cluster must reach before any goes on: it only opens if all run in parallel
    barrier = threading.Barrier(4, timeout=10)
    outcome = for_each_cluster(["c1", "c2", "c3", "c4"], lambda name: (barrier.wait(), name.upper())[1])
    assert outcome == dict(("c%d" % i, {"result": "C%d" % i, "attempts": 1}) for i in range(1, 5))


def test_for_each_cluster_retries_a_failing_cluster_and_keeps_the_others():
    calls, sleeps = {"flaky": 0, "down": 0, "ok": 0}, []

    def work(name):
        calls[name] += 1
        if name == "down" or (name == "flaky" and calls[name] < 3):
            raise SnapshotError("cluster %s: GET /api/v1/namespaces failed: 503 Service Unavailable" % name)
        return name
    outcome = for_each_cluster(["flaky", "down", "ok"], work, attempts=4, delay=2, sleep=sleeps.append)
    assert outcome["ok"] == {"result": "ok", "attempts": 1} and outcome["flaky"] == {"result": "flaky", "attempts": 3}
    assert outcome["down"] == {"error": "cluster down: GET /api/v1/namespaces failed: 503 Service Unavailable", "attempts": 4}
    assert calls == {"flaky": 3, "down": 4, "ok": 1} and sleeps == [2] * (2 + 3)


def test_for_each_cluster_names_an_error_without_text_by_its_type():
    def work(name):
        raise ConnectionResetError()
    assert for_each_cluster(["c1"], work) == {"c1": {"error": "ConnectionResetError", "attempts": 1}}
    assert for_each_cluster([], work) == {}
