# -*- coding: utf-8 -*-
"""The emulator's test-only bulk seeding route (POST /_emulator/objects), used by bench/mesh_check.py and MeshSeed(bulk=True):
the objects it stores are the ones a POST stores (validated, defaulted, with uid and resourceVersion, seen by watches and hooks)."""

from __future__ import absolute_import, division, print_function

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from emulator.main import AdminError  # noqa: E402  pylint: disable=wrong-import-position
from mesh_seed import Raw  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow


def configmap(name, ns="bulk", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def test_bulk_objects_are_stored_like_posts(emulator_factory):
    handle = emulator_factory(["bulk1"])
    raw = Raw(handle.client("bulk1"))
    before = handle.status("bulk1")
    answer = handle.admin("bulk1", "POST", "/_emulator/objects", {"items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}}] + [configmap("cm-%d" % i, k="v%d" % i) for i in range(3)]})
    assert answer == {"created": 4}
    ns = raw.get("/api/v1/namespaces/bulk")
    assert ns["status"]["phase"] == "Active" and ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "bulk"  # defaults
    deadline = time.time() + 10
    while True:  # the write hooks run too: the emulator's controllers publish kube-root-ca.crt into the new namespace
        items = raw.get("/api/v1/namespaces/bulk/configmaps")["items"]
        names = sorted(i["metadata"]["name"] for i in items)
        if "kube-root-ca.crt" in names or time.time() > deadline:
            break
        time.sleep(0.2)
    assert names == ["cm-0", "cm-1", "cm-2", "kube-root-ca.crt"]
    assert all(i["metadata"]["uid"] and i["metadata"]["resourceVersion"] and i["metadata"]["creationTimestamp"] for i in items)
    assert handle.status("bulk1")["objects"] >= before["objects"] + 5  # and what the hooks create (default ServiceAccount)
    assert handle.status("bulk1")["writes"] == before["writes"]  # not client writes

    # stops at the first bad item, naming it; the items before it stay created
    with pytest.raises(AdminError) as exc:
        handle.admin("bulk1", "POST", "/_emulator/objects", {"items": [configmap("cm-3"), configmap("cm-0"), configmap("cm-4")]})
    assert "409" in str(exc.value) and "item 1 (ConfigMap cm-0)" in str(exc.value) and "(1 created)" in str(exc.value)
    names = sorted(i["metadata"]["name"] for i in raw.get("/api/v1/namespaces/bulk/configmaps")["items"])
    assert names == ["cm-0", "cm-1", "cm-2", "cm-3", "kube-root-ca.crt"]
    with pytest.raises(AdminError) as exc:
        handle.admin("bulk1", "POST", "/_emulator/objects", {"items": [configmap("x", ns="missing")]})
    assert "404" in str(exc.value) and 'namespaces "missing" not found' in str(exc.value)
    with pytest.raises(AdminError) as exc:
        handle.admin("bulk1", "POST", "/_emulator/objects", {"items": [{"apiVersion": "v9", "kind": "Nope", "metadata": {"name": "n"}}]})
    assert "404" in str(exc.value) and "item 0 (Nope n)" in str(exc.value)
    for body in ([configmap("y")], {"items": "no"}, {"items": ["no"]}):
        with pytest.raises(AdminError) as exc:
            handle.admin("bulk1", "POST", "/_emulator/objects", body)
        assert "400" in str(exc.value)
