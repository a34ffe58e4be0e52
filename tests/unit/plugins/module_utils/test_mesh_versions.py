# -*- coding: utf-8 -*-
"""What a cluster runs (plugins/module_utils/_mesh_versions.py): versions of the Istio components and their pods, rollouts,
Helm release records (values never decoded into the result), roots in use, the upgrade record, and "in use" verdicts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import gzip
import json

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_versions as mv


class FakeResp(object):
    def __init__(self, data):
        self.data = data


class NotFound(Exception):
    status = 404
    reason = "Not Found"


class FakeApi(object):
    def __init__(self, docs):
        self.docs = docs
        self.calls = []

    def call_api(self, path, method, query_params=None, **kwargs):
        selector = dict(query_params or ()).get("labelSelector")
        self.calls.append((path, selector))
        doc = self.docs.get((path, selector), self.docs.get(path))
        if doc is None:
            raise NotFound()
        return FakeResp(json.dumps(doc).encode())


def pod(name, app, version, ready=True, image=None, reason=None, label=True):
    labels = {"app": app} if app != "istio-cni" else {"k8s-app": "istio-cni-node"}
    if label:
        labels[mv.VERSION_LABEL] = version
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if reason:
        status["containerStatuses"] = [{"state": {"waiting": {"reason": reason}}, "lastState": {"terminated": {"message": "boom"}}}]
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"image": image or "gcr.io/istio/%s:%s-solo" % (app, version)}]}, "status": status}


def deployment(version, replicas=1, updated=1, ready=1, generation=2, observed=2):
    return {"metadata": {"name": "istiod-gloo", "generation": generation},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {mv.VERSION_LABEL: version}},
                                                        "spec": {"containers": [{"name": "discovery", "env": [{"name": "X", "value": "1"}]}]}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "readyReplicas": ready, "replicas": replicas}}


def daemonset(version, desired=2, updated=2, ready=2):
    return {"metadata": {"name": "ds", "generation": 1},
            "spec": {"template": {"metadata": {"labels": {}}, "spec": {"containers": [{"image": "x/ztunnel:%s-solo" % version}]}}},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": desired, "updatedNumberScheduled": updated, "numberReady": ready,
                       "currentNumberScheduled": desired}}


def release_secret(name, revision, status, chart, version, app="1.0", values=None):
    record = {"name": name, "version": revision, "chart": {"metadata": {"name": chart, "version": version, "appVersion": app}},
              "config": values or {"license": "SECRET-LICENSE"}}
    encoded = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    labels = {"name": name, "owner": "helm", "status": status, "version": str(revision)}
    return {"metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, revision), "labels": labels},
            "data": {"release": base64.b64encode(encoded.encode()).decode()}}


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def docs(version="1.26.2", smc_annotations=None, roots=1, pods=None):
    ns = "/api/v1/namespaces/istio-system"
    return {
        mv.SMC_PATH: {"items": [{"metadata": {"name": "managed-istio", "annotations": smc_annotations or {}}, "spec": {"version": version},
                                 "status": {"phase": "SUCCEEDED"}}]},
        ns + "/pods": {"items": pods if pods is not None else [pod("istiod-1", "istiod", version), pod("zt-1", "ztunnel", version),
                                                               pod("zt-2", "ztunnel", version), pod("cni-1", "istio-cni", version)]},
        ("/apis/apps/v1/namespaces/istio-system/deployments", "app=istiod"): {"items": [deployment(version)]},
        ("/apis/apps/v1/namespaces/istio-system/daemonsets", "app=ztunnel"): {"items": [daemonset(version)]},
        ("/apis/apps/v1/namespaces/istio-system/daemonsets", "k8s-app=istio-cni-node"): {"items": [daemonset(version, 1, 1, 1)]},
        ns + "/secrets/cacerts": {"data": {"root-cert.pem": base64.b64encode((PEM * roots).encode()).decode(),
                                           "ca-key.pem": base64.b64encode(b"PRIVATE KEY").decode()}},
        ns + "/configmaps/istio-ca-root-cert": {"data": {"root-cert.pem": PEM}},
        "/api/v1/namespaces/spire-server/configmaps/spire-bundle": {"data": {"bundle.crt": PEM}},
        "/apis/gateway.networking.k8s.io/v1/gateways": {"items": [
            {"spec": {"gatewayClassName": "istio-remote"}}, {"spec": {"gatewayClassName": "istio-eastwest"}}]},
        ("/api/v1/namespaces/spire-server/secrets", "owner=helm,name=spire"): {"items": [
            release_secret("spire", 1, "superseded", "spire", "0.24.2", "1.11.2"), release_secret("spire", 2, "deployed", "spire", "0.24.3", "1.11.3")]},
    }


def test_istio_version_of_drops_the_image_flavours():
    assert mv.istio_version_of("1.26.1-patch0-solo") == "1.26.1-patch0"
    assert mv.istio_version_of("1.26.1-solo-distroless") == "1.26.1"
    assert mv.image_tag({"containers": [{"image": "reg:5000/solo/pilot:1.26.1-solo@sha256:abc"}]}) == "1.26.1-solo"
    assert mv.image_tag({"containers": [{"image": "reg:5000/solo/pilot"}]}) == ""


def test_read_versions_of_a_converged_cluster():
    api = FakeApi(docs())
    releases = [{"namespace": "spire-server", "name": "spire"}, {"namespace": "gloo-mesh", "name": "gloo-operator"}]
    result = mv.read_versions(api, cluster_name="c1", releases=releases)
    assert result["smc"] == {"name": "managed-istio", "present": True, "crd": True, "version": "1.26.2", "record": None, "phase": "SUCCEEDED"}
    istiod = result["istio"]["istiod"]
    assert istiod["versions"] == ["1.26.2"] and istiod["rollout_complete"] and istiod["desired"] == 1
    assert result["istio"]["ztunnel"]["pods"] == {"1.26.2": {"pods": 2, "ready": 2, "not_ready": []}}
    spire = result["helm"]["spire-server/spire"]
    assert spire == {"present": True, "revision": 2, "status": "deployed", "chart": "spire", "version": "0.24.3", "app_version": "1.11.3",
                     "deployed_revision": 2, "deployed_version": "0.24.3"}
    assert result["helm"]["gloo-mesh/gloo-operator"] == {"present": False}
    assert result["roots"] == {"cacerts": 1, "istio_ca_root_cert": 1, "spire_bundle": 1} and result["peers"] == 1
    assert not mv.several_roots(result)
    # nothing of a Secret's values or keys leaves the read
    text = json.dumps(result)
    assert "SECRET-LICENSE" not in text and "PRIVATE KEY" not in text


def test_read_versions_reports_the_record_and_several_roots():
    record = {"phase": "failed", "from": {"istio": "1.26.2"}}
    result = mv.read_versions(FakeApi(docs(smc_annotations={mv.RECORD_ANNOTATION: json.dumps(record)}, roots=2)), cluster_name="c1")
    assert result["smc"]["record"] == record and result["roots"]["cacerts"] == 2 and mv.several_roots(result)
    broken = mv.read_versions(FakeApi(docs(smc_annotations={mv.RECORD_ANNOTATION: "not json"})), cluster_name="c1")
    assert broken["smc"]["record"] == {"invalid": True}


def test_no_smc_crd():
    d = docs()
    del d[mv.SMC_PATH]
    result = mv.read_versions(FakeApi(d), cluster_name="c1")
    assert result["smc"] == {"name": "managed-istio", "present": False, "crd": False}


def test_helm_release_state_keeps_the_last_deployed_revision_of_a_failed_upgrade():
    state = mv.helm_release_state([release_secret("spire", 3, "deployed", "spire", "0.24.2"), release_secret("spire", 4, "failed", "spire", "0.25.0")])
    assert state["revision"] == 4 and state["status"] == "failed" and state["version"] == "0.25.0"
    assert state["deployed_revision"] == 3 and state["deployed_version"] == "0.24.2"
    assert mv.helm_release_state([]) is None


def test_component_state_of_a_rollout_in_progress():
    pods = [pod("zt-old", "ztunnel", "1.26.2"), pod("zt-new", "ztunnel", "1.27.1", ready=False, reason="CrashLoopBackOff")]
    state = mv.component_state("daemonsets", [daemonset("1.27.1", desired=2, updated=1, ready=1)], pods)
    assert not state["rollout_complete"] and state["template_versions"] == ["1.27.1"] and state["versions"] == ["1.26.2", "1.27.1"]
    assert state["pods"]["1.27.1"]["not_ready"] == ["zt-new (CrashLoopBackOff: boom)"]
    # a pod without the version label: its image tag
    assert mv.component_state("daemonsets", [], [pod("z", "ztunnel", "1.25.5", label=False)])["versions"] == ["1.25.5"]


def test_in_use_when_every_pod_runs_the_version_ready():
    result = mv.read_versions(FakeApi(docs()), cluster_name="c1", releases=[{"namespace": "spire-server", "name": "spire"}])
    assert mv.in_use_problems(result, {"istio": "1.26.2", "releases": {"spire-server/spire": "0.24.3"}}) == []
    assert mv.in_use_problems(result, {"istio": "1.26.2-solo"}) == []
    problems = mv.in_use_problems(result, {"istio": "1.27.1", "releases": {"spire-server/spire": "0.25.0", "gloo-mesh/gloo-operator": "0.4.3"}})
    assert problems == [
        "ServiceMeshController managed-istio asks for 1.26.2, not 1.27.1",
        "istiod: 0/0 pods at 1.27.1 Ready", "ztunnel: 0/0 pods at 1.27.1 Ready", "istio-cni: 0/0 pods at 1.27.1 Ready",
        "Helm release gloo-mesh/gloo-operator not found",
        "Helm release spire-server/spire runs chart version 0.24.3, not 0.25.0",
    ]


def test_in_use_names_crash_looping_pods_and_old_ones():
    pods = [pod("istiod-new", "istiod", "1.27.1", ready=False, reason="CrashLoopBackOff"), pod("zt-1", "ztunnel", "1.27.1"),
            pod("zt-old", "ztunnel", "1.26.2"), pod("cni-1", "istio-cni", "1.27.1")]
    result = mv.read_versions(FakeApi(docs(version="1.27.1", pods=pods)), cluster_name="c1")
    problems = mv.in_use_problems(result, {"istio": "1.27.1"})
    assert problems == ["istiod: 0/1 pods at 1.27.1 Ready (CrashLoopBackOff: boom: istiod-new)", "ztunnel: pods still at 1.26.2"]
    pods = [pod("zt-%d" % i, "ztunnel", "1.27.1", ready=False, reason="CrashLoopBackOff") for i in range(4)] + [
        pod("zt-9", "ztunnel", "1.27.1", ready=False)]
    state = mv.component_state("daemonsets", [daemonset("1.27.1", 5, 5, 0)], pods)
    result = {"smc": {"present": True, "version": "1.27.1"}, "istio": {"istiod": state, "ztunnel": state, "istio-cni": state}}
    assert mv.in_use_problems(result, {"istio": "1.27.1"})[0] == (
        "istiod: 0/5 pods at 1.27.1 Ready (CrashLoopBackOff: boom: zt-0, zt-1 and 2 more; not ready: zt-9)")


def test_in_use_waits_for_a_complete_rollout_and_a_deployed_release():
    d = docs()
    d[("/apis/apps/v1/namespaces/istio-system/deployments", "app=istiod")] = {"items": [deployment("1.26.2", generation=3, observed=2)]}
    d[("/api/v1/namespaces/spire-server/secrets", "owner=helm,name=spire")]["items"].append(
        release_secret("spire", 3, "pending-upgrade", "spire", "0.24.4"))
    result = mv.read_versions(FakeApi(d), cluster_name="c1", releases=[{"namespace": "spire-server", "name": "spire"}])
    assert mv.in_use_problems(result, {"istio": "1.26.2", "releases": {"spire-server/spire": "0.24.4"}}) == [
        "istiod: rollout to 1.26.2 not complete (1 desired)",
        "Helm release spire-server/spire: last revision 3 is pending-upgrade (chart spire-0.24.4)"]
