"""Patch algorithms (pure functions) and selectors."""

import pytest

from emulator.errors import ApiError
from emulator.patch import PatchError, json_patch, merge_patch, strategic_merge
from emulator.selectors import label_matcher, labels_match


def test_strategic_merge_directives():
    live = {"spec": {"containers": [{"name": "a", "image": "1", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
                                    {"name": "b", "image": "1"}],
                     "finalizers": ["x", "y"], "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "conditions": [{"type": "Ready", "status": "False"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "a", "ports": [{"containerPort": 81, "$patch": "delete"}]}],
                      "$deleteFromPrimitiveList/finalizers": ["x"],
                      "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                      "conditions": [{"type": "Ready", "status": "True"}]}}
    result = strategic_merge(live, patch)["spec"]
    assert [c["name"] for c in result["containers"]] == ["a", "b"]
    assert result["containers"][0] == {"name": "a", "image": "1", "ports": [{"containerPort": 80}]}
    assert result["finalizers"] == ["y"]
    assert result["strategy"] == {"type": "Recreate"}
    assert result["conditions"] == [{"type": "Ready", "status": "True"}]
    assert live["spec"]["containers"][0]["ports"][1] == {"containerPort": 81}   # input untouched
    assert strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}) == {"a": {"d": 3}}
    assert strategic_merge({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_merge_and_json_patch():
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None, "d": 3}, "l": [2]}) == {"a": {"c": 2, "d": 3}, "l": [2]}
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/b/c"},
                            {"op": "copy", "from": "/a/0", "path": "/b/x"}, {"op": "test", "path": "/a/2", "value": 3},
                            {"op": "move", "from": "/b/x", "path": "/m"}, {"op": "replace", "path": "/a/0", "value": 0}]) == {
        "a": [0, 2, 3], "b": {}, "m": 1}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/a/0", "value": 9}])
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/zz", "value": 1}])


def test_label_selector_syntax():
    match = label_matcher("a in (x, y),b!=z,!c,d")
    assert match({"a": "x", "d": ""}) and not match({"a": "x", "d": "", "c": "1"}) and not match({"a": "q", "d": ""})
    with pytest.raises(ApiError):
        label_matcher("a in (x")


@pytest.mark.parametrize("selector,labels,expected", [
    (None, {"a": "1"}, True),
    ({}, {}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
])
def test_structured_label_selector(selector, labels, expected):
    assert labels_match(selector, labels) is expected


def test_server_side_apply_removes_what_the_manager_dropped():
    store_module = __import__("emulator.store", fromlist=["Store"])
    kinds = __import__("emulator.kinds", fromlist=["Registry"])
    registry = kinds.Registry()
    store = store_module.Store(registry)
    store.create(registry.by_kind("v1", "Namespace"), {"metadata": {"name": "ns"}})
    cm_type = registry.by_kind("v1", "ConfigMap")
    first = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}},
             "data": {"x": "1", "y": "2"}}
    store.patch(cm_type, "ns", "c", "apply", first, field_manager="m1")
    store.patch(cm_type, "ns", "c", "merge", {"data": {"z": "3"}})
    second = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "1"}}
    result = store.patch(cm_type, "ns", "c", "apply", second, field_manager="m1")
    assert result["data"] == {"x": "1", "z": "3"} and result["metadata"]["labels"] == {"a": "1"}
    again = store.patch(cm_type, "ns", "c", "apply", second, field_manager="m1")
    assert again["metadata"]["resourceVersion"] == result["metadata"]["resourceVersion"]
    other = store.patch(cm_type, "ns", "c", "apply", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                                      "data": {"w": "4"}}, field_manager="m2")
    assert other["data"] == {"x": "1", "z": "3", "w": "4"}
