"""StorageClasses, PVC binding and the reported Kubernetes version (issue 14, items 1 and 3): what a preflight reads and
what the real SPIRE chart's spire-server StatefulSet (a PVC per replica) needs."""

import pytest
from kube import condition, kubectl_json, ok, request, wait_for, wait_value

pytestmark = pytest.mark.slow

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


@pytest.fixture(scope="module")
def clusters(emulator_factory):
    """"with" starts as every cluster does (default StorageClass standard, v1.33.1); "without" has no default
    StorageClass and reports an EKS-like v1.31.2."""
    return emulator_factory(["with", "without"], kubernetes_version="without=v1.31.2-eks-1a2b3c4", default_storage_class="without=none")


def _claim(name, storage_class=...):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not ...:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": spec}


def _get_claim(handle, cluster, name, ns="default"):
    return ok(handle, cluster, "GET", "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (ns, name))


def _messages(handle, cluster, obj):
    items = ok(handle, cluster, "GET", "/api/v1/namespaces/%s/events" % obj["metadata"]["namespace"])["items"]
    return [(e["reason"], e["message"]) for e in items if e["involvedObject"]["uid"] == obj["metadata"]["uid"]]


def test_version_per_cluster(clusters):
    assert ok(clusters, "with", "GET", "/version")["gitVersion"] == "v1.33.1"
    version = ok(clusters, "without", "GET", "/version")
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "31+", "v1.31.2-eks-1a2b3c4")
    nodes = ok(clusters, "without", "GET", "/api/v1/nodes")["items"]
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {"v1.31.2-eks-1a2b3c4"}
    assert "v1.31.2-eks-1a2b3c4" in clusters.kubectl("version", "-o", "json", context="without").stdout
    assert clusters.state["clusters"]["without"]["version"] == "v1.31.2-eks-1a2b3c4"


def test_default_storage_class_and_claims_that_bind(clusters):
    """A cluster starts with the default StorageClass "standard" (local-path, WaitForFirstConsumer, like kind): a claim
    without class gets it, waits for its first consumer, and binds to a provisioned volume once a Pod uses it."""
    classes = ok(clusters, "with", "GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
    assert [(c["metadata"]["name"], c["metadata"]["annotations"][DEFAULT_CLASS], c["provisioner"], c["volumeBindingMode"], c["reclaimPolicy"])
            for c in classes] == [("standard", "true", "rancher.io/local-path", "WaitForFirstConsumer", "Delete")]
    claim = ok(clusters, "with", "POST", "/api/v1/namespaces/default/persistentvolumeclaims", _claim("data"))
    assert claim["spec"]["storageClassName"] == "standard" and claim["status"] == {"phase": "Pending"}
    assert claim["spec"]["volumeMode"] == "Filesystem"
    wait_for(lambda: ("WaitForFirstConsumer", "waiting for first consumer to be created before binding") in _messages(clusters, "with", claim),
             what="WaitForFirstConsumer event")
    ok(clusters, "with", "POST", "/api/v1/namespaces/default/pods", {"metadata": {"name": "consumer"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1"}], "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})
    bound = wait_value(lambda: _get_claim(clusters, "with", "data"), lambda c: c["status"]["phase"] == "Bound", what="claim Bound")
    pv = ok(clusters, "with", "GET", "/api/v1/persistentvolumes/" + bound["spec"]["volumeName"])
    assert pv["metadata"]["name"] == "pvc-" + bound["metadata"]["uid"] and pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["spec"]["storageClassName"] == "standard" and pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert bound["status"]["capacity"] == {"storage": "1Gi"} and bound["status"]["accessModes"] == ["ReadWriteOnce"]
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    pod = wait_value(lambda: ok(clusters, "with", "GET", "/api/v1/namespaces/default/pods/consumer"),
                     lambda p: p["status"].get("phase") == "Running", what="consumer Running")
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == pod["spec"]["nodeName"]
    # a claim of a class that does not exist stays Pending
    missing = ok(clusters, "with", "POST", "/api/v1/namespaces/default/persistentvolumeclaims", _claim("fast", "fast-ssd"))
    wait_for(lambda: ("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found') in _messages(clusters, "with", missing),
             what="ProvisioningFailed event")
    assert _get_claim(clusters, "with", "fast")["status"]["phase"] == "Pending"
    # deleting the claim deletes its volume (reclaimPolicy Delete)
    ok(clusters, "with", "DELETE", "/api/v1/namespaces/default/pods/consumer")
    ok(clusters, "with", "DELETE", "/api/v1/namespaces/default/persistentvolumeclaims/data")
    wait_for(lambda: request(clusters, "with", "GET", "/api/v1/persistentvolumes/" + pv["metadata"]["name"])[0] == 404, what="volume deleted")


def test_without_a_default_storage_class_a_statefulsets_claim_never_binds(clusters):
    """The real SPIRE chart's failure mode: its server's claim stays Pending (no class, no volume), the Pod unschedulable,
    `helm --wait` would time out. A default class made later (admin route) is assigned to the waiting claim, which binds."""
    assert ok(clusters, "without", "GET", "/apis/storage.k8s.io/v1/storageclasses")["items"] == []
    ok(clusters, "without", "POST", "/apis/apps/v1/namespaces/default/statefulsets", {"metadata": {"name": "server"}, "spec": {
        "serviceName": "server", "selector": {"matchLabels": {"app": "server"}},
        "template": {"metadata": {"labels": {"app": "server"}}, "spec": {"containers": [{"name": "c", "image": "example/server:1"}]}},
        "volumeClaimTemplates": [_claim("data")]}})
    claim = wait_for(lambda: request(clusters, "without", "GET", "/api/v1/namespaces/default/persistentvolumeclaims/data-server-0")[1]
                     if request(clusters, "without", "GET", "/api/v1/namespaces/default/persistentvolumeclaims/data-server-0")[0] == 200 else None,
                     what="the StatefulSet's claim")
    assert "storageClassName" not in claim["spec"] and claim["metadata"]["labels"] == {"app": "server"}
    wait_for(lambda: ("FailedBinding", "no persistent volumes available for this claim and no storage class is set") in _messages(
        clusters, "without", claim), what="FailedBinding event")
    pod = wait_value(lambda: ok(clusters, "without", "GET", "/api/v1/namespaces/default/pods/server-0"),
                     lambda p: condition(p, "PodScheduled"), what="server-0 unschedulable")
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "PodScheduled")["reason"] == "Unschedulable"
    assert condition(pod, "PodScheduled")["message"] == ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                                                         "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-server-0"}} in pod["spec"]["volumes"]
    assert ok(clusters, "without", "GET", "/apis/apps/v1/namespaces/default/statefulsets/server")["status"].get("readyReplicas") is None
    described = clusters.kubectl("describe", "pvc", "data-server-0", context="without").stdout
    assert "no persistent volumes available for this claim and no storage class is set" in described

    answer = clusters.admin("without", "POST", "/_emulator/storage", {"default": "gp3", "binding_mode": "Immediate"})
    assert answer == {"default": "gp3", "storage_classes": ["gp3"]}
    wait_for(lambda: _get_claim(clusters, "without", "data-server-0")["status"]["phase"] == "Bound", what="retroactive default, Bound")
    assert _get_claim(clusters, "without", "data-server-0")["spec"]["storageClassName"] == "gp3"
    wait_for(lambda: ok(clusters, "without", "GET", "/apis/apps/v1/namespaces/default/statefulsets/server")["status"].get("readyReplicas") == 1,
             what="server-0 Ready")
    clusters.admin("without", "POST", "/_emulator/storage", {"default": None})
    sc = kubectl_json(clusters, "get", "storageclass", "gp3", context="without")
    assert DEFAULT_CLASS not in (sc["metadata"].get("annotations") or {})
