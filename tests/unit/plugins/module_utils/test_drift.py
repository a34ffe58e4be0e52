# -*- coding: utf-8 -*-
"""The drift adapter (plugins/module_utils/_drift.py, filter drifted_objects): task results of the install roles in check mode
with diff -> [{cluster, kind, namespace, name, action, fields}], paths only, never values."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.filter.drifted_objects import drifted_objects as drift_filter
from ansible_collections.meshops.ambient_spire.plugins.module_utils._drift import diff_fields, drifted_objects, object_label

NETWORK = "topology.istio.io/network"


def k8s_item(kind, name, namespace=None, changed=True, method="update", before=None, after=None, diff=True):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    item = {"changed": changed, "method": method, "result": {"kind": kind, "apiVersion": "v1", "metadata": meta}}
    if diff:
        item["diff"] = {"before": before or {}, "after": after or {}}
    return item


def test_a_changed_namespace_label_of_a_multi_object_apply():
    base = {"changed": True, "result": {"results": [
        k8s_item("CustomResourceDefinition", "gateways.gateway.networking.k8s.io", changed=False),
        k8s_item("Namespace", "istio-system", before={"metadata": {"labels": {NETWORK: "broken-c1"}, "resourceVersion": "7"}},
                 after={"metadata": {"labels": {NETWORK: "c1"}, "resourceVersion": "8"}}),
    ]}}
    assert drifted_objects([base], "c1") == [{"cluster": "c1", "kind": "Namespace", "namespace": "", "name": "istio-system", "action": "update",
                                              "fields": ['metadata.labels["topology.istio.io/network"]']}]


def test_a_single_object_result_and_nested_spec_fields():
    smc = k8s_item("ServiceMeshController", "managed-istio", before={"spec": {"version": "1.25.5", "image": {"registry": "a"}}},
                   after={"spec": {"version": "1.26.2", "image": {"registry": "a", "repository": "b"}}})
    assert drifted_objects([smc], "c2")[0]["fields"] == ["spec.image.repository", "spec.version"]


def test_only_server_fields_differ_is_no_drift():
    item = k8s_item("Gateway", "istio-eastwest", "istio-eastwest", before={"metadata": {"generation": 1, "managedFields": [1]}, "status": {"a": 1}},
                    after={"metadata": {"generation": 2, "managedFields": [2]}, "status": {"a": 2}})
    assert drifted_objects([item], "c1") == []


def test_created_and_deleted_objects_and_results_without_diff():
    created = k8s_item("Gateway", "istio-remote-peer-c3", "istio-eastwest", method="create", diff=False)
    updated = k8s_item("ConfigMap", "gloo-extensions-config", "gloo-mesh", diff=False)
    found = drifted_objects([created, updated], "c1")
    assert [(o["kind"], o["action"], o["fields"]) for o in found] == [("ConfigMap", "update", []), ("Gateway", "create", [])]
    assert object_label(found[1]) == "c1 Gateway istio-eastwest/istio-remote-peer-c3 (create)"


def test_a_secret_gives_its_paths_never_its_values():
    secret = k8s_item("Secret", "cacerts", "istio-system", before={"data": {"ca-key.pem": "T0xEIEtFWQ=="}}, after={"data": {"ca-key.pem": "TkVXIEtFWQ=="}})
    found = drifted_objects([{"changed": True, "result": {"results": [secret]}}], "c1")
    assert found[0]["fields"] == ['data["ca-key.pem"]']
    assert "T0xEIEtFWQ==" not in json.dumps(found) and "TkVXIEtFWQ==" not in json.dumps(found)


def test_helm_results_in_check_mode():
    declared = {"name": "spire", "namespace": "spire-server", "chart": "spire-0.24.2", "values": {"license": "SECRET"}}
    upgrade = {"changed": True, "command": "helm upgrade ...", "stdout": "", "stderr": "",
               "status": {"values": {"current": {"license": "SECRET"}, "declared": declared}}}
    install = {"changed": True, "command": "helm install ...", "stdout": "", "stderr": "", "status": {"values": {"current": {}, "declared": {}}},
               "invocation": {"module_args": {"release_name": "gloo-operator", "release_namespace": "gloo-mesh"}}}
    found = drifted_objects([upgrade, install, {"changed": False, "command": "", "stdout": "", "status": {}}], "c1")
    assert found == [{"cluster": "c1", "kind": "HelmRelease", "namespace": "gloo-mesh", "name": "gloo-operator", "action": "create", "fields": []},
                     {"cluster": "c1", "kind": "HelmRelease", "namespace": "spire-server", "name": "spire", "action": "update", "fields": []}]
    assert "SECRET" not in json.dumps(found)


def test_k8s_apply_results_give_their_changes():
    """The install roles read and converge through k8s_apply: its changes (check mode: what a converge would change) are the drift."""
    read = {"changed": True, "api": {"requests": 9, "writes": 0, "retries": 0}, "deferred": True, "changes": [
        {"kind": "Namespace", "api_version": "v1", "name": "istio-system", "action": "update",
         "fields": ["metadata.labels['topology.istio.io/network']"]},
        {"kind": "Secret", "api_version": "v1", "name": "cacerts", "namespace": "istio-system", "action": "update", "fields": ["data"]},
        {"kind": "HelmRelease", "name": "gloo-operator", "namespace": "gloo-mesh", "action": "install", "fields": ["not installed"]}]}
    mesh = {"changed": True, "api": {"requests": 3, "writes": 0}, "changes": [
        {"kind": "ClusterSPIFFEID", "name": "istio-ztunnel-reg", "action": "delete", "fields": []}]}
    unchanged = {"changed": False, "api": {"requests": 5, "writes": 0}, "changes": []}
    assert drifted_objects([read, mesh, unchanged], "c1") == [
        {"cluster": "c1", "kind": "ClusterSPIFFEID", "namespace": "", "name": "istio-ztunnel-reg", "action": "delete", "fields": []},
        {"cluster": "c1", "kind": "HelmRelease", "namespace": "gloo-mesh", "name": "gloo-operator", "action": "create", "fields": ["not installed"]},
        {"cluster": "c1", "kind": "Namespace", "namespace": "", "name": "istio-system", "action": "update",
         "fields": ['metadata.labels["topology.istio.io/network"]']},
        {"cluster": "c1", "kind": "Secret", "namespace": "istio-system", "name": "cacerts", "action": "update", "fields": ["data"]}]


def test_skipped_unchanged_and_undefined_results_give_nothing():
    assert drifted_objects([{"skipped": True, "changed": False}, {"changed": False, "result": {}}, None, "x", {}], "c1") == []


def test_the_same_object_twice_is_listed_once():
    one = k8s_item("Namespace", "istio-system", before={"metadata": {"labels": {"a": "1"}}}, after={"metadata": {"labels": {"a": "2"}}})
    two = k8s_item("Namespace", "istio-system", before={"metadata": {"labels": {"b": "1"}}}, after={"metadata": {"labels": {"b": "2"}}})
    assert [o["fields"] for o in drifted_objects([one, two], "c1")] == [["metadata.labels.b"]]


def test_diff_fields_paths():
    assert diff_fields({"before": {"spec": {"listeners": [{"port": 1}]}}, "after": {"spec": {"listeners": [{"port": 2}]}}}) == ["spec.listeners"]
    assert diff_fields({"before": {"data": {"values.istiod": "a"}}, "after": {}}) == ['data["values.istiod"]']
    assert diff_fields(None) == []


def test_the_filter_checks_its_input():
    with pytest.raises(AnsibleFilterError):
        drift_filter({"changed": True}, "c1")
    assert drift_filter((k8s_item("Namespace", "x", method="create", diff=False),), "c1")[0]["action"] == "create"
