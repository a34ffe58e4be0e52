"""API semantics through the Python kubernetes client and raw HTTPS requests."""

import json
import ssl
import threading
import urllib.error
import urllib.request

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.slow


def raw(emulator, cluster, method, path, body=None, content_type="application/json", token=None):
    """(status, decoded body) of one request."""
    info = emulator.state["clusters"][cluster]
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    request = urllib.request.Request(info["server"] + path, data=body, method=method, headers={
        "Authorization": "Bearer " + (token or info["token"]), "Content-Type": content_type})
    context = ssl.create_default_context(cafile=emulator.state["ca"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def core(emulator):
    api = client.CoreV1Api(emulator.client("cluster1"))
    api.create_namespace({"metadata": {"name": "api-test"}})
    yield api
    api.delete_namespace("api-test")


def cm(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": data or {}}


def test_clusters_are_isolated(emulator, core):
    core.create_namespaced_config_map("api-test", cm("only-here"))
    other = client.CoreV1Api(emulator.client("cluster2"))
    with pytest.raises(ApiException) as exc:
        other.read_namespaced_config_map("only-here", "api-test")
    assert exc.value.status == 404
    assert emulator.state["clusters"]["cluster1"]["token"] != emulator.state["clusters"]["cluster2"]["token"]
    assert raw(emulator, "cluster2", "GET", "/api/v1/namespaces",
               token=emulator.state["clusters"]["cluster1"]["token"])[0] == 401


def test_metadata_and_conflicts(core):
    created = core.create_namespaced_config_map("api-test", cm("meta", data={"a": "1"}))
    assert created.metadata.uid and created.metadata.creation_timestamp
    rv = int(created.metadata.resource_version)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("api-test", cm("meta"))
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "AlreadyExists"
    updated = core.replace_namespaced_config_map("meta", "api-test", dict(cm("meta", data={"a": "2"}), metadata={
        "name": "meta", "resourceVersion": str(rv)}))
    assert int(updated.metadata.resource_version) > rv
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("meta", "api-test", dict(cm("meta"), metadata={"name": "meta", "resourceVersion": str(rv)}))
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "Conflict"
    same = core.patch_namespaced_config_map("meta", "api-test", {"data": {"a": "2"}})
    assert same.metadata.resource_version == updated.metadata.resource_version


def test_errors_keep_the_server_serving(emulator, core):
    del core
    assert raw(emulator, "cluster1", "POST", "/api/v1/namespaces/api-test/configmaps", b"{not json")[0] == 400
    assert raw(emulator, "cluster1", "POST", "/api/v1/namespaces/api-test/configmaps", cm("Bad_Name"))[0] == 422
    assert raw(emulator, "cluster1", "POST", "/api/v1/namespaces/nowhere/configmaps", cm("x"))[0] == 404
    assert raw(emulator, "cluster1", "GET", "/apis/example.org/v1/gizmos")[0] == 404
    assert raw(emulator, "cluster1", "GET", "/api/v1/namespaces/api-test/configmaps/missing")[1]["reason"] == "NotFound"
    assert raw(emulator, "cluster1", "POST", "/api/v1/namespaces/api-test/configmaps", b"x" * (4 << 20))[0] == 413
    assert raw(emulator, "cluster1", "POST", "/api/v1/namespaces/api-test/secrets", b"k8s\x00\xff\xff",
               "application/vnd.kubernetes.protobuf")[0] == 400
    assert raw(emulator, "cluster1", "PATCH", "/api/v1/namespaces/api-test/configmaps/meta", [{"op": "remove", "path": "/nope"}],
               "application/json-patch+json")[0] == 422
    assert raw(emulator, "cluster1", "GET", "/api/v1/namespaces", token="wrong")[1]["code"] == 401
    assert raw(emulator, "cluster1", "GET", "/version")[1]["gitVersion"].startswith("v1.33")


def test_selectors(core):
    for name, labels in (("s1", {"app": "a", "tier": "x"}), ("s2", {"app": "b", "tier": "y"}), ("s3", {"app": "c"})):
        core.create_namespaced_config_map("api-test", cm(name, labels))

    def names(**kwargs):
        items = core.list_namespaced_config_map("api-test", **kwargs).items
        return sorted(i.metadata.name for i in items if i.metadata.name.startswith("s"))
    assert names(label_selector="app=a") == ["s1"]
    assert names(label_selector="app==b") == ["s2"]
    assert names(label_selector="app!=a,app") == ["s2", "s3"]
    assert names(label_selector="app in (a, c)") == ["s1", "s3"]
    assert names(label_selector="app notin (a,c),app") == ["s2"]
    assert names(label_selector="tier") == ["s1", "s2"]
    assert names(label_selector="!tier,app") == ["s3"]
    assert names(field_selector="metadata.name=s2") == ["s2"]
    assert names(field_selector="metadata.namespace=api-test,metadata.name!=s2", label_selector="app") == ["s1", "s3"]


def test_patches_generation_and_status(emulator, core):
    apps = client.AppsV1Api(emulator.client("cluster1"))
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p", "namespace": "api-test"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "p"}}, "template": {"metadata": {"labels": {"app": "p"}}, "spec": {
            "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                           {"name": "b", "image": "b:1"}]}}}}
    created = apps.create_namespaced_deployment("api-test", dep)
    assert created.metadata.generation == 1
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:2", "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}]},
        {"name": "b", "$patch": "delete"}]}}}}
    patched = apps.patch_namespaced_deployment("p", "api-test", patch)   # strategic merge
    containers = patched.spec.template.spec.containers
    assert [c.name for c in containers] == ["a"] and containers[0].image == "a:2"
    assert [e.name for e in containers[0].env] == ["X", "Z"]
    assert patched.metadata.generation == 2
    status, body = raw(emulator, "cluster1", "PATCH", "/apis/apps/v1/namespaces/api-test/deployments/p",
                       [{"op": "replace", "path": "/spec/replicas", "value": 3}], "application/json-patch+json")
    assert status == 200 and body["spec"]["replicas"] == 3 and body["metadata"]["generation"] == 3
    status, body = raw(emulator, "cluster1", "PATCH", "/apis/apps/v1/namespaces/api-test/deployments/p",
                       {"metadata": {"labels": {"m": "1"}}, "status": {"replicas": 99}}, "application/merge-patch+json")
    assert body["metadata"]["labels"] == {"m": "1"} and body["metadata"]["generation"] == 3
    assert body.get("status", {}).get("replicas") != 99
    status, body = raw(emulator, "cluster1", "PATCH", "/apis/apps/v1/namespaces/api-test/deployments/p/status",
                       {"status": {"conditions": [{"type": "Custom", "status": "True"}]}}, "application/merge-patch+json")
    assert status == 200 and body["status"]["conditions"] == [{"type": "Custom", "status": "True"}]
    status, body = raw(emulator, "cluster1", "PATCH", "/api/v1/namespaces/api-test/configmaps/ssa?fieldManager=t",
                       b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: v}\n", "application/apply-patch+yaml")
    assert status == 201 or (status == 200 and body["data"] == {"k": "v"})


def test_watch_honours_resource_version(core):
    start = core.list_namespaced_config_map("api-test").metadata.resource_version
    core.create_namespaced_config_map("api-test", cm("w1"))
    core.patch_namespaced_config_map("w1", "api-test", {"data": {"x": "1"}})
    core.delete_namespaced_config_map("w1", "api-test")
    events = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, "api-test", resource_version=start,
                                      field_selector="metadata.name=w1", timeout_seconds=1):
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_watch_streams_live_events(core):
    start = core.list_namespaced_config_map("api-test").metadata.resource_version
    seen = []

    def consume():
        for event in watch.Watch().stream(core.list_namespaced_config_map, "api-test", resource_version=start,
                                          label_selector="live=yes", timeout_seconds=3):
            seen.append(event["type"])
            if len(seen) == 2:
                break
    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespaced_config_map("api-test", cm("live", {"live": "yes"}))
    core.patch_namespaced_config_map("live", "api-test", {"metadata": {"labels": {"live": "no"}}})
    thread.join(5)
    assert seen == ["ADDED", "DELETED"]


def test_crd_lifecycle(emulator, core):
    del core
    api = client.ApiextensionsV1Api(emulator.client("cluster1"))
    custom = client.CustomObjectsApi(emulator.client("cluster1"))
    api.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "gizmos.example.org"},
        "spec": {"group": "example.org", "scope": "Cluster", "names": {"kind": "Gizmo", "plural": "gizmos"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    resources = raw(emulator, "cluster1", "GET", "/apis/example.org/v1")[1]["resources"]
    assert {"name": "gizmos", "namespaced": False, "kind": "Gizmo"}.items() <= resources[0].items()
    assert "gizmos/status" in [r["name"] for r in resources]
    custom.create_cluster_custom_object("example.org", "v1", "gizmos", {
        "apiVersion": "example.org/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "spec": {"a": 1}})
    assert custom.get_cluster_custom_object("example.org", "v1", "gizmos", "g")["metadata"]["generation"] == 1
    api.delete_custom_resource_definition("gizmos.example.org")
    assert raw(emulator, "cluster1", "GET", "/apis/example.org/v1/gizmos")[0] == 404
    assert "example.org" not in [g["name"] for g in raw(emulator, "cluster1", "GET", "/apis")[1]["groups"]]


def test_protobuf_secret(emulator, core):
    del core

    def field(number, value):
        return bytes([number << 3 | 2, len(value)]) + value
    meta = field(1, b"pb") + field(11, field(1, b"owner") + field(2, b"helm"))
    secret = field(1, meta) + field(2, field(1, b"release") + field(2, b"\x00\x01")) + field(3, b"helm.sh/release.v1")
    body = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"Secret")) + field(2, secret)
    status, obj = raw(emulator, "cluster1", "POST", "/api/v1/namespaces/api-test/secrets", body, "application/vnd.kubernetes.protobuf")
    assert status == 201, obj
    assert obj["metadata"]["labels"] == {"owner": "helm"} and obj["data"] == {"release": "AAE="}
    assert obj["type"] == "helm.sh/release.v1"


def test_workload_controllers(emulator, core):
    apps = client.AppsV1Api(emulator.client("cluster1"))
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    apps.create_namespaced_daemon_set("api-test", {"metadata": {"name": "ds"}, "spec": {
        "selector": {"matchLabels": {"app": "x"}}, "template": template}})
    apps.create_namespaced_stateful_set("api-test", {"metadata": {"name": "sts"}, "spec": {
        "replicas": 2, "serviceName": "sts", "selector": {"matchLabels": {"app": "y"}},
        "template": dict(template, metadata={"labels": {"app": "y"}})}})
    for _attempt in range(50):
        ds = apps.read_namespaced_daemon_set("ds", "api-test").status
        sts = apps.read_namespaced_stateful_set("sts", "api-test").status
        if ds.number_ready == 2 and sts.ready_replicas == 2:
            break
        threading.Event().wait(0.1)
    assert ds.desired_number_scheduled == 2 and ds.number_ready == 2 and ds.observed_generation == 1
    pods = core.list_namespaced_pod("api-test", label_selector="app in (x,y)").items
    assert sorted(p.spec.node_name for p in pods if p.metadata.labels["app"] == "x") == ["cluster1-node-1", "cluster1-node-2"]
    assert sorted(p.metadata.name for p in pods if p.metadata.labels["app"] == "y") == ["sts-0", "sts-1"]
    assert all(p.status.phase == "Running" and p.status.pod_ip for p in pods)


def test_namespace_cascade(emulator):
    api = client.CoreV1Api(emulator.client("cluster2"))
    api.create_namespace({"metadata": {"name": "doomed"}})
    api.create_namespaced_config_map("doomed", cm("c"))
    api.delete_namespace("doomed")
    assert raw(emulator, "cluster2", "GET", "/api/v1/namespaces/doomed/configmaps/c")[0] == 404
    assert raw(emulator, "cluster2", "GET", "/api/v1/namespaces/doomed")[0] == 404


def test_faults_are_reversible(emulator):
    api = client.CoreV1Api(emulator.client("cluster2"))
    try:
        emulator.fault("cluster2", error_rate=1.0, error_code=503)
        with pytest.raises(ApiException) as exc:
            api.list_namespace()
        assert exc.value.status == 503
        emulator.clear_faults("cluster2")
        emulator.fault("cluster2", token_revoked=True)
        assert raw(emulator, "cluster2", "GET", "/api/v1/namespaces")[0] == 401
        emulator.clear_faults("cluster2")
        emulator.fault("cluster2", conflict_rate=1.0)
        assert raw(emulator, "cluster2", "PATCH", "/api/v1/namespaces/default", {}, "application/merge-patch+json")[0] == 409
        emulator.clear_faults("cluster2")
        emulator.fault("cluster2", fail_next=2, error_code=500)
        assert [raw(emulator, "cluster2", "GET", "/api/v1/namespaces")[0] for _attempt in range(3)] == [500, 500, 200]
        assert emulator.status("cluster2")["faults"] == {"error_code": 500}
        emulator.clear_faults("cluster2")
        emulator.fault("cluster2", outage=True)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            raw(emulator, "cluster2", "GET", "/api/v1/namespaces")
        assert emulator.status("cluster2")["faults"] == {"outage": True}
    finally:
        emulator.clear_faults("cluster2")
    assert api.list_namespace().items


def test_secret_string_data_is_stored_as_data(core):
    created = core.create_namespaced_secret("api-test", {"metadata": {"name": "sd"}, "stringData": {"a": "b"}, "data": {"c": "ZA=="}})
    assert created.data == {"a": "Yg==", "c": "ZA=="} and created.string_data is None
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret("api-test", {"metadata": {"name": "bad"}, "data": {"a": "not base64!"}})
    assert exc.value.status == 422


def test_dry_run_writes_nothing(emulator, core):
    del core
    before = emulator.status("cluster1")
    path = "/api/v1/namespaces/api-test/configmaps"
    assert raw(emulator, "cluster1", "POST", path + "?dryRun=All", cm("dry"))[0] == 201
    assert raw(emulator, "cluster1", "GET", path + "/dry")[0] == 404
    after = emulator.status("cluster1")
    assert after["writes"] == before["writes"] and after["dry_runs"] == before["dry_runs"] + 1
    assert after["objects"] == before["objects"]
    assert raw(emulator, "cluster1", "POST", path, cm("wet"))[0] == 201
    assert emulator.status("cluster1")["writes"] == before["writes"] + 1
