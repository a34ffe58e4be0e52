# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import gzip
import json

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_state as state

MANAGER = "meshops.ambient_spire"


def test_paths_are_readable():
    assert state.format_path(("metadata", "labels", "topology.istio.io/network")) == "metadata.labels['topology.istio.io/network']"
    assert state.format_path(("spec", "listeners", 0, "port")) == "spec.listeners[0].port"
    assert state.format_path(("data", "tls.key")) == "data['tls.key']"


def test_live_may_hold_more_but_not_less():
    desired = {"metadata": {"name": "n", "labels": {"a": "1"}}, "spec": {"x": [1, 2], "y": {"z": True}}}
    live = {"metadata": {"name": "n", "uid": "u", "labels": {"a": "1", "kubernetes.io/metadata.name": "n"}},
            "spec": {"x": [1, 2], "y": {"z": True, "defaulted": 3}}, "status": {"phase": "Active"}}
    assert state.differences(desired, live) == []
    assert state.differences(desired, dict(live, metadata={"name": "n", "labels": {"a": "2"}})) == [("metadata", "labels", "a")]
    assert state.differences(desired, dict(live, spec={"x": [1], "y": {"z": True}})) == [("spec", "x")]
    # a boolean is not an integer, an integer is its float
    assert state.differences({"a": True}, {"a": 1}) == [("a",)] and state.differences({"a": 1}, {"a": 1.0}) == []
    # list items may hold defaults too; a different length is a change of the whole list
    assert state.differences({"l": [{"name": "a"}]}, {"l": [{"name": "a", "port": 1}]}) == []
    assert state.differences({"l": [{"name": "a"}]}, {"l": [{"name": "a"}, {"name": "b"}]}) == [("l",)]


def test_empty_and_null_desired_values_match_a_missing_field():
    assert state.differences({"metadata": {"labels": {}}, "spec": {"addresses": [], "x": None}}, {"metadata": {}, "spec": {}}) == []
    assert state.differences({"data": {"k": "v"}}, {}) == [("data",)]


def test_object_changes_create_update_and_removed_fields():
    desired = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "n1"}}}
    assert state.object_changes(desired, None, MANAGER) is None
    live = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "edited"}}}
    assert state.object_changes(desired, live, MANAGER) == ["metadata.labels['topology.istio.io/network']"]
    # a label this manager applied before and no longer applies: apply would remove it
    live = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "istio-system", "labels": {"topology.istio.io/network": "n1", "old": "x"},
        "managedFields": [{"manager": MANAGER, "operation": "Apply", "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:topology.istio.io/network": {}, "f:old": {}}}}},
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:other": {}}}}}]}}
    assert state.object_changes(desired, live, MANAGER) == ["metadata.labels.old"]
    # fields of other managers, and lists owned item by item, are not this manager's to remove
    live["metadata"]["labels"].pop("old")
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"] = {"f:listeners": {"k:{\"name\":\"a\"}": {".": {}}}}
    assert state.object_changes(dict(desired, spec={"listeners": [{"name": "a"}]}), dict(live, spec={"listeners": [{"name": "a"}]}), MANAGER) == []


def test_string_data_is_compared_as_data():
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": base64.b64encode(b"v").decode()}}
    assert state.object_changes(desired, live, MANAGER) == []


def test_redact_hides_secret_values_and_managed_fields():
    secret = {"kind": "Secret", "metadata": {"name": "s", "managedFields": [{}]}, "data": {"tls.key": "S0VZ"}, "stringData": {"a": "b"}}
    shown = state.redact(secret)
    assert shown == {"kind": "Secret", "metadata": {"name": "s"}, "data": {"tls.key": state.HIDDEN}, "stringData": {"a": state.HIDDEN}}
    assert secret["data"]["tls.key"] == "S0VZ"  # a copy
    assert state.redact({"kind": "ConfigMap", "data": {"a": "b"}})["data"] == {"a": "b"}


def test_projection_keeps_the_desired_fields_of_live():
    live = {"metadata": {"name": "n", "uid": "u", "labels": {"a": "1", "b": "2"}}, "status": {}}
    assert state.projection(live, {"metadata": {"name": "n", "labels": {"a": "x"}}}) == {"metadata": {"name": "n", "labels": {"a": "1"}}}


def test_digest_is_canonical():
    assert state.content_digest({"b": 1, "a": [1.0, "x"]}) == state.content_digest({"a": [1, "x"], "b": 1.0})
    assert state.content_digest(None) == state.content_digest({})
    assert state.content_digest({"a": "1"}) != state.content_digest({"a": 1})
    assert state.content_digest({"a": True}) != state.content_digest({"a": 1})
    assert state.content_digest({}).startswith("sha256:") and len(state.content_digest({})) == 71


def pod(labels, ready):
    return {"metadata": {"labels": labels}, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_pods_not_ready_per_component():
    components = [{"name": "istiod", "labels": {"app": "istiod"}}, {"name": "ztunnel", "labels": {"app": "ztunnel"}},
                  {"name": "istio-cni", "labels": {"k8s-app": "istio-cni-node"}}]
    pods = [pod({"app": "istiod"}, False), pod({"app": "ztunnel"}, True), pod({"app": "ztunnel"}, False)]
    assert state.pods_not_ready(pods, components) == ["istiod 0/1", "ztunnel 1/2", "istio-cni 0/0"]
    assert state.pods_not_ready([pod({"app": "istiod"}, True)], components[:1]) == []


@pytest.mark.parametrize("obj,expected", [
    ({"kind": "Deployment", "metadata": {"name": "d", "namespace": "n", "generation": 2},
      "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2}}, None),
    ({"kind": "Deployment", "metadata": {"name": "d", "namespace": "n", "generation": 3},
      "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2}},
     "Deployment n/d: the controller has not seen generation 3 yet"),
    ({"kind": "StatefulSet", "metadata": {"name": "s", "namespace": "n", "generation": 1},
      "spec": {}, "status": {"observedGeneration": 1}}, "StatefulSet n/s 0/1 ready (0 updated)"),
    ({"kind": "DaemonSet", "metadata": {"name": "a", "namespace": "n", "generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2}},
     "DaemonSet n/a 1/2 ready (2 updated)"),
    ({"kind": "DaemonSet", "metadata": {"name": "a", "namespace": "n", "generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "numberReady": 2, "updatedNumberScheduled": 2}}, None),
])
def test_workload_readiness_as_helm_wait_sees_it(obj, expected):
    assert state.workload_not_ready(obj) == expected


def test_object_wait_rules():
    gateway = {"kind": "Gateway", "metadata": {"name": "g", "namespace": "n"},
               "status": {"conditions": [{"type": "Programmed", "status": "True"}], "addresses": [{"value": "1.2.3.4"}]}}
    rule = ({"type": "Programmed", "status": "True"}, ["status.addresses"])
    assert state.object_not_ready(gateway, *rule) is None
    assert state.object_not_ready(dict(gateway, status={}), *rule) == "Gateway n/g: Programmed=unset; no status.addresses"
    spiffe = {"kind": "ClusterSPIFFEID", "metadata": {"name": "r"}, "status": {"stats": {"podsSelected": 0}}}
    assert state.object_not_ready(spiffe, None, ["status.stats"]) is None
    assert state.object_not_ready(dict(spiffe, status={}), None, ["status.stats"]) == "ClusterSPIFFEID r: no status.stats"


def release_secret(name, version, status, chart="spire", chart_version="0.24.2", config=None, manifest=""):
    record = {"name": name, "version": version, "info": {"status": status}, "config": config,
              "chart": {"metadata": {"name": chart, "version": chart_version}}, "manifest": manifest}
    payload = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    return {"metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, version),
                         "labels": {"owner": "helm", "name": name, "status": status, "version": str(version)}},
            "data": {"release": base64.b64encode(payload.encode()).decode()}}


def test_release_state_from_its_records():
    values = {"global": {"spire": {"trustDomain": "c1"}}}
    digest = state.content_digest(values)
    manifest = "---\nkind: Deployment\napiVersion: apps/v1\nmetadata: {name: spire-server}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n"
    records = [release_secret("spire", 1, "superseded", config=values), release_secret("spire", 2, "deployed", config=values, manifest=manifest)]
    found = state.release_state(records, "spire", "0.24.2", digest)
    assert found["converged"] and found["state"] == "deployed" and found["revision"] == 2 and found["chart"] == "spire-0.24.2"
    assert state.manifest_objects(found["manifest"]) == [("apps/v1", "Deployment", "spire-server", None)]
    assert state.release_state(records, "spire", "0.25.0", digest)["reasons"] == ["chart version 0.24.2, not 0.25.0"]
    assert state.release_state(records, "spire", "0.24.2", state.content_digest({}))["reasons"] == ["values differ"]
    assert not state.release_state(records, "spire", None, digest)["converged"]
    pending = records + [release_secret("spire", 3, "pending-upgrade", config=values)]
    assert state.release_state(pending, "spire", "0.24.2", digest)["reasons"] == ["last revision 3 is pending-upgrade"]
    assert state.release_state([], "spire", "0.24.2", digest)["state"] == "missing"
    # a release without values: config null is the empty values
    assert state.release_state([release_secret("spire-crds", 1, "deployed", chart="spire-crds", chart_version="0.5.0")],
                               "spire-crds", "0.5.0", state.content_digest({}))["converged"]


def test_chart_name_from_reference():
    assert state.chart_name_from_ref("oci://us-docker.pkg.dev/solo-public/gloo-operator-helm/gloo-operator") == "gloo-operator"
    assert state.chart_name_from_ref("spire") == "spire" and state.chart_name_from_ref("spiffe/spire-crds") == "spire-crds"
    assert state.chart_name_from_ref("/charts/spire", {"name": "spire", "version": "1"}) == "spire"
