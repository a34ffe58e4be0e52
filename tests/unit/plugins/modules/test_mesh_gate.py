# -*- coding: utf-8 -*-
"""mesh_gate: its refusals of bad input before any read, and the in-use read of a batch (a read error closes that cluster)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.ambient_spire.plugins.modules import mesh_gate

CLUSTERS = [{"name": "c1", "context": "kind-c1"}, {"name": "c2", "context": "kind-c2"}]


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mesh_gate.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, message", [
    ({"clusters": CLUSTERS, "batch": ["c3"]}, "batch: c3 not in clusters"),
    ({"clusters": CLUSTERS, "batch": ["c1"], "checks": ["nope"]}, "unknown check ids nope"),
    ({"clusters": [], "batch": ["c1"]}, "clusters: no cluster given"),
    ({"clusters": CLUSTERS, "batch": ["c1"], "releases": [{"name": "spire"}]}, "every release needs a namespace and a name"),
])
def test_bad_input_is_refused_before_any_read(args, message, capsys, monkeypatch):
    monkeypatch.setattr(mesh_gate, "run_gate", lambda *a, **k: pytest.fail("the gate ran on bad input"))
    code, result = run(args, capsys)
    assert code == 1 and message in result["msg"]


def test_in_use_reader_reads_only_the_batch_with_expectations(monkeypatch):
    pods = {"1.27.1": {"pods": 1, "ready": 1, "not_ready": []}}
    component = {"present": True, "versions": ["1.27.1"], "pods": pods, "rollout_complete": True}
    good = {"smc": {"name": "managed-istio", "present": True, "version": "1.27.1"},
            "istio": dict((n, component) for n in ("istiod", "ztunnel", "istio-cni")), "helm": {}}
    read_names = []

    def read_versions(client, cluster_name=None, **kwargs):
        read_names.append(cluster_name)
        if cluster_name == "c2":
            raise RuntimeError("connection refused")
        return good

    monkeypatch.setattr(mesh_gate, "create_api_client", lambda cluster: None)
    monkeypatch.setattr(mesh_gate, "read_versions", read_versions)
    params = {"batch": ["c1", "c2", "c3"], "expect": {"c1": {"istio": "1.27.1"}, "c2": {"istio": "1.27.1"}},
              "istio_namespace": "istio-system", "spire_namespace": "spire-server", "smc_name": "managed-istio", "releases": [],
              "request_timeout": 5, "attempts": 1, "attempt_delay": 0}
    by_name = {"c1": {"name": "c1"}, "c2": {"name": "c2"}, "c3": {"name": "c3"}}
    problems = mesh_gate.in_use_reader(params, by_name)()
    assert sorted(read_names) == ["c1", "c2"]
    assert problems == {"c1": [], "c2": ["not read: connection refused"]}
    params["expect"]["c1"] = {"istio": "1.28.0"}
    assert mesh_gate.in_use_reader(params, by_name)()["c1"] == ["ServiceMeshController managed-istio asks for 1.27.1, not 1.28.0"] + [
        "%s: 0/0 pods at 1.28.0 Ready" % name for name in ("istiod", "ztunnel", "istio-cni")]
