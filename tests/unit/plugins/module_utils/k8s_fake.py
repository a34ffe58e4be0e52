# -*- coding: utf-8 -*-
"""An in-memory Kubernetes API behind a _k8s_rest.Connection, for the unit tests of _k8s_rest, _k8s_apply and
_eastwest_read: GET, LIST (labelSelector key or key=value), server-side apply (owning exactly the applied fields, as
managedFields), DELETE, discovery of the kinds given, and faults (a status or a connection error for the next requests)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json

try:
    from urllib.parse import parse_qs, urlsplit
except ImportError:  # pragma: no cover
    from urlparse import parse_qs, urlsplit  # type: ignore

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_rest

CORE = {"Namespace": ("namespaces", False), "Secret": ("secrets", True), "ConfigMap": ("configmaps", True), "Pod": ("pods", True),
        "Service": ("services", True)}


def fields_of(obj):
    """FieldsV1 of an applied object: every map key, lists as leaves (atomic)."""
    def walk(node):
        out = {}
        for key, value in node.items():
            if key in ("apiVersion", "kind") or (key in ("name", "namespace") and node is obj.get("metadata")):
                continue
            out["f:" + key] = walk(value) if isinstance(value, dict) and value else {}
        return out
    return walk(obj)


def merge(live, desired):
    for key, value in desired.items():
        if isinstance(value, dict) and isinstance(live.get(key), dict):
            merge(live[key], value)
        else:
            live[key] = copy.deepcopy(value)
    return live


def remove_fields(obj, fields, keep):
    """Remove the leaves of `fields` (FieldsV1) that `keep` (FieldsV1) does not have."""
    for key, sub in fields.items():
        name = key[2:]
        if key not in keep:
            if isinstance(obj, dict):
                obj.pop(name, None)
        elif sub and isinstance(obj, dict) and isinstance(obj.get(name), dict):
            remove_fields(obj[name], sub, keep[key])


class FakeCluster(object):
    """Objects by path; kinds served (apiVersion -> {kind: (plural, namespaced)})."""

    def __init__(self, kinds=None):
        self.objects = {}
        self.kinds = {"v1": dict(CORE)}
        self.kinds.update(kinds or {})
        self.log = []
        self.faults = []  # (status or None, reason, message) for the next requests, in order

    def prefix(self, api_version):
        return "/api/v1" if api_version == "v1" else "/apis/" + api_version

    def path(self, obj):
        meta = obj["metadata"]
        plural, namespaced = self.kinds[obj["apiVersion"]][obj["kind"]]
        parts = [self.prefix(obj["apiVersion"])]
        if namespaced:
            parts.append("namespaces/%s" % meta["namespace"])
        parts += [plural, meta["name"]]
        return "/".join(parts)

    def add(self, obj, manager=None):
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})
        if manager:
            obj["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply", "fieldsV1": fields_of(obj)}]
        self.objects[self.path(obj)] = obj
        return obj

    def get(self, obj):
        return self.objects.get(self.path(obj))

    def _discovery(self, path):
        for api_version, kinds in self.kinds.items():
            if path == self.prefix(api_version):
                return {"resources": [{"name": plural, "kind": kind, "namespaced": namespaced} for kind, (plural, namespaced) in kinds.items()]}
        return None

    def _is_collection(self, path):
        for api_version, kinds in self.kinds.items():
            prefix = self.prefix(api_version) + "/"
            if path.startswith(prefix):
                rest = path[len(prefix):].split("/")
                if len(rest) == 3 and rest[0] == "namespaces":
                    rest = rest[2:]
                return len(rest) == 1 and rest[0] in [plural for plural, _namespaced in kinds.values()]
        return False

    def _collection(self, path):
        items = []
        for key, obj in self.objects.items():
            if key.rsplit("/", 1)[0] == path:
                items.append(obj)
        return items

    def handle(self, method, url, body):
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        self.log.append((method, path))
        if self.faults:
            fault = self.faults.pop(0)
            if fault[0] is None:
                raise OSError(fault[2])
            return fault[0], fault[1], json.dumps({"kind": "Status", "message": fault[2]}).encode()
        if method == "GET":
            doc = self._discovery(path)
            if doc is not None:
                return 200, "OK", json.dumps(doc).encode()
            if path in self.objects:
                return 200, "OK", json.dumps(self.objects[path]).encode()
            if self._is_collection(path):
                items = self._collection(path)
                selector = (query.get("labelSelector") or [""])[0]
                if selector:
                    key, _sep, value = selector.partition("=")
                    items = [item for item in items if all(
                        ((item["metadata"].get("labels") or {}).get(k) == v) if v else k in (item["metadata"].get("labels") or {})
                        for k, v in [term.partition("=")[::2] for term in selector.split(",")])]
                return 200, "OK", json.dumps({"items": items}).encode()
            return 404, "Not Found", json.dumps({"kind": "Status", "message": "not found"}).encode()
        if method == "PATCH":
            desired = json.loads(body)
            manager = query["fieldManager"][0]
            live = self.objects.get(path)
            if live is None:
                live = {"apiVersion": desired["apiVersion"], "kind": desired["kind"], "metadata": {}}
            before = [entry for entry in live["metadata"].get("managedFields") or [] if entry["manager"] == manager]
            if before:
                remove_fields(live, before[0]["fieldsV1"], fields_of(desired))
            merge(live, desired)
            live["metadata"]["managedFields"] = [entry for entry in live["metadata"].get("managedFields") or [] if entry["manager"] != manager]
            live["metadata"]["managedFields"].append({"manager": manager, "operation": "Apply", "fieldsV1": fields_of(desired)})
            self.objects[path] = live
            return 200, "OK", json.dumps(live).encode()
        if method == "DELETE":
            if self.objects.pop(path, None) is None:
                return 404, "Not Found", b"{}"
            return 200, "OK", b"{}"
        return 405, "Method Not Allowed", b"{}"


class FakeSender(object):
    def __init__(self, cluster):
        self.cluster = cluster

    def send(self, method, path, body, headers, timeout):
        return self.cluster.handle(method, path, body)


def api(cluster, attempts=3, sleeps=None):
    """A KubeApi on the fake cluster; sleeps (a list) records the delays instead of sleeping."""
    connection = _k8s_rest.Connection("https://fake", [], FakeSender(cluster), True)
    recorded = sleeps if sleeps is not None else []
    return _k8s_rest.KubeApi(connection, attempts=attempts, delay=1, sleep=recorded.append)
