"""Server-side apply with field ownership (issue 14, item 4): metadata.managedFields per field manager, 409 conflicts with
the real Status when a second manager would change a field another one owns, force takes ownership, and fields a
manager stops applying are removed only when nobody else owns them."""

import json

import pytest
from kube import kubectl_json, ok, request

pytestmark = pytest.mark.slow

APPLY = "application/apply-patch+yaml"
NS = "ssa-test"
CM = "/api/v1/namespaces/%s/configmaps/owned" % NS


@pytest.fixture(scope="module")
def ns(emulator):
    ok(emulator, "cluster2", "POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    yield NS
    request(emulator, "cluster2", "DELETE", "/api/v1/namespaces/" + NS)


def apply(handle, manager, data, force=False, path=CM, kind="ConfigMap", api_version="v1", name="owned"):
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    body.update(data)
    query = "?fieldManager=%s%s" % (manager, "&force=true" if force else "")
    return request(handle, "cluster2", "PATCH", path + query, json.dumps(body), APPLY)


def managers(obj):
    """{(manager, operation): FieldsV1} of an object."""
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields") or []}


def test_apply_records_managed_fields_per_manager(emulator, ns):
    del ns
    status, obj, _headers = apply(emulator, "alpha", {"metadata": {"name": "owned", "labels": {"team": "a"}}, "data": {"k1": "v1", "k2": "v2"}})
    assert status == 201
    entry = obj["metadata"]["managedFields"][0]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "alpha", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {"f:data": {"f:k1": {}, "f:k2": {}}, "f:metadata": {"f:labels": {"f:team": {}}}}
    assert entry["time"].endswith("Z")
    # an Update (merge patch) by another manager owns what it changed, taken from the applier
    ok(emulator, "cluster2", "PATCH", CM + "?fieldManager=editor", {"data": {"k2": "edited", "k3": "new"}}, "application/merge-patch+json")
    obj = ok(emulator, "cluster2", "GET", CM)
    assert managers(obj) == {("alpha", "Apply"): {"f:data": {"f:k1": {}}, "f:metadata": {"f:labels": {"f:team": {}}}},
                             ("editor", "Update"): {"f:data": {"f:k2": {}, "f:k3": {}}}}
    # kubectl hides them unless asked
    assert "managedFields" not in emulator.kubectl("get", "cm", "owned", "-n", NS, "-o", "yaml", context="cluster2").stdout
    assert "managedFields" in emulator.kubectl("get", "cm", "owned", "-n", NS, "-o", "yaml", "--show-managed-fields", context="cluster2").stdout


def test_a_second_manager_conflicts_then_forces(emulator, ns):
    del ns
    apply(emulator, "alpha", {"data": {"k1": "v1"}})
    status, body, _headers = apply(emulator, "beta", {"data": {"k1": "other"}})
    assert status == 409
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'Apply failed with 1 conflict: conflict with "alpha": .data.k1', "reason": "Conflict",
                    "details": {"causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "alpha"', "field": ".data.k1"}]},
                    "code": 409}
    # the same value is no conflict: the field is then shared
    status, obj, _headers = apply(emulator, "beta", {"data": {"k1": "v1"}})
    assert status == 200 and managers(obj)[("beta", "Apply")] == {"f:data": {"f:k1": {}}}
    assert "f:k1" in managers(obj)[("alpha", "Apply")]["f:data"]
    # force takes the field from everyone else
    status, obj, _headers = apply(emulator, "beta", {"data": {"k1": "forced"}}, force=True)
    assert status == 200 and obj["data"]["k1"] == "forced"
    assert "f:k1" not in managers(obj).get(("alpha", "Apply"), {}).get("f:data", {})
    # an Update manager is named with its API version in conflicts
    status, body, _headers = apply(emulator, "alpha", {"data": {"k3": "mine"}})
    assert status == 409 and body["message"] == 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.k3'


def test_fields_a_manager_stops_applying_are_removed_unless_someone_else_owns_them(emulator, ns):
    del ns
    path = "/api/v1/namespaces/%s/configmaps/pruned" % NS
    apply(emulator, "one", {"data": {"a": "1", "b": "2", "shared": "s"}}, path=path, name="pruned")
    apply(emulator, "two", {"data": {"shared": "s"}}, path=path, name="pruned")
    status, obj, _headers = apply(emulator, "one", {"data": {"a": "1"}}, path=path, name="pruned")
    assert status == 200 and obj["data"] == {"a": "1", "shared": "s"}     # b removed; shared kept (two owns it too)
    status, obj, _headers = apply(emulator, "two", {"data": {"c": "3"}}, path=path, name="pruned")
    assert obj["data"] == {"a": "1", "c": "3"}                             # now nobody else owned shared


def test_conflicts_name_list_items_by_their_merge_key(emulator, ns):
    del ns
    path = "/apis/apps/v1/namespaces/%s/deployments/ssa-web" % NS
    spec = {"selector": {"matchLabels": {"app": "ssa-web"}}, "template": {"metadata": {"labels": {"app": "ssa-web"}}, "spec": {
        "containers": [{"name": "web", "image": "nginx:1.26"}]}}}
    assert apply(emulator, "deployer", {"spec": spec}, path=path, kind="Deployment", api_version="apps/v1", name="ssa-web")[0] == 201
    spec["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    status, body, _headers = apply(emulator, "intruder", {"spec": spec}, path=path, kind="Deployment", api_version="apps/v1", name="ssa-web")
    assert status == 409
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "deployer": .spec.template.spec.containers[name="web"].image'
    spec["replicas"] = 3
    status, body, _headers = apply(emulator, "intruder", {"spec": spec}, path=path, kind="Deployment", api_version="apps/v1", name="ssa-web")
    assert status == 409 and body["message"].startswith("Apply failed with 1 conflict")   # replicas: defaulted, owned by nobody
    ok(emulator, "cluster2", "PATCH", path + "?fieldManager=tuner", {"spec": {"replicas": 2}}, "application/merge-patch+json")
    spec["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    status, body, _headers = apply(emulator, "intruder", {"spec": spec}, path=path, kind="Deployment", api_version="apps/v1", name="ssa-web")
    assert status == 409 and body["message"] == (
        'Apply failed with 2 conflicts: conflicts with "deployer":\n- .spec.template.spec.containers[name="web"].image\n'
        'conflicts with "tuner" using apps/v1:\n- .spec.replicas')
    assert [c["field"] for c in body["details"]["causes"]] == ['.spec.template.spec.containers[name="web"].image', ".spec.replicas"]


def test_apply_needs_a_field_manager_and_force_only_applies(emulator, ns):
    del ns
    status, body, _headers = request(emulator, "cluster2", "PATCH", CM, '{"apiVersion": "v1", "kind": "ConfigMap"}', APPLY)
    assert status == 422 and "fieldManager: Required value" in body["message"]
    status, body, _headers = request(emulator, "cluster2", "PATCH", CM + "?force=true", {"data": {"x": "y"}}, "application/merge-patch+json")
    assert status == 422 and "force: Forbidden" in body["message"]


def test_apply_conflicts_with_the_scale_manager(emulator):
    """kubectl apply, kubectl scale (manager kubectl, subresource scale), then kubectl apply --server-side of the original
    replicas: the real server refuses it until --force-conflicts."""
    manifest = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: scaled, namespace: %s}\nspec:\n  replicas: 2\n"
                "  selector: {matchLabels: {app: scaled}}\n  template:\n    metadata: {labels: {app: scaled}}\n"
                "    spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n" % NS)
    if request(emulator, "cluster2", "GET", "/api/v1/namespaces/" + NS)[0] == 404:
        ok(emulator, "cluster2", "POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    emulator.kubectl("apply", "-f", "-", context="cluster2", stdin=manifest)
    emulator.kubectl("scale", "deployment/scaled", "-n", NS, "--replicas=3", context="cluster2")
    refused = emulator.kubectl("apply", "--server-side", "-f", "-", context="cluster2", stdin=manifest, check=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' in refused.stderr
    emulator.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", context="cluster2", stdin=manifest)
    dep = kubectl_json(emulator, "get", "deployment", "scaled", "-n", NS, "--show-managed-fields", context="cluster2")
    owners = {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"] for e in dep["metadata"]["managedFields"]}
    assert dep["spec"]["replicas"] == 2 and "f:replicas" in owners[("kubectl", "Apply", "")]["f:spec"]
    assert ("kubectl", "Update", "scale") not in owners
