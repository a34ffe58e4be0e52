# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gc
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_read
from ansible_collections.meshops.ambient_spire.plugins.modules import mesh_snapshot


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mesh_snapshot.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_bad_context_fails_naming_cluster(tmp_path, capsys):
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    rc, out = run({"kubeconfig": str(kubeconfig), "context": "nope", "cluster_name": "cluster7"}, capsys)
    assert rc == 1 and out["msg"].startswith("cluster cluster7: could not load kubeconfig")


def test_unreachable_api_fails_naming_cluster(capsys):
    rc, out = run({"host": "http://127.0.0.1:9", "api_key": "tok-secret", "cluster_name": "cluster8", "request_timeout": 2,
                   "license_check": False}, capsys)
    assert rc == 1 and out["msg"].startswith("cluster cluster8: GET /api/v1/namespaces failed")
    assert "tok-secret" not in json.dumps(out)


def test_snapshot_success(monkeypatch, capsys):
    captured = {}

    def fake_snapshot(api_client, **kwargs):
        captured.update(kwargs)
        return {"cluster": kwargs["cluster_name"], "requests": 13}
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "create_api_client", lambda params: object())
    rc, out = run({"cluster_name": "c1", "expected_network": "n1", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False and out["snapshot"] == {"cluster": "c1", "requests": 13}
    assert captured["expected_network"] == "n1" and captured["istio_namespace"] == "istio-system"


def fake(monkeypatch):
    snap = {"cluster": "c1", "requests": 12, "missing": ["x"], "seconds": 0.5, "pod_index": ["ns/p%d" % i for i in range(100)]}
    monkeypatch.setattr(_mesh_read, "take_snapshot", lambda api_client, **kwargs: snap)
    monkeypatch.setattr(_mesh_read, "create_api_client", lambda params: object())
    return snap


def test_snapshot_file_holds_the_snapshot_and_the_result_only_a_summary(monkeypatch, tmp_path, capsys):
    snap = fake(monkeypatch)
    path = tmp_path / "c1.json"
    path.write_text("old")
    rc, out = run({"cluster_name": "c1", "snapshot_file": str(path), "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False and "snapshot" not in out
    assert out["snapshot_file"] == str(path) and out["summary"] == {"cluster": "c1", "requests": 12, "missing": ["x"], "seconds": 0.5}
    assert json.loads(path.read_text()) == snap  # replaced, written in check mode too (local scratch, see the docs)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and sorted(p.name for p in tmp_path.iterdir()) == ["c1.json"]


def test_snapshot_file_in_a_missing_directory_fails_naming_cluster(monkeypatch, tmp_path, capsys):
    fake(monkeypatch)
    rc, out = run({"cluster_name": "c1", "snapshot_file": str(tmp_path / "nope" / "c1.json")}, capsys)
    assert rc == 1 and out["msg"].startswith("cluster c1: cannot write the snapshot to %s" % (tmp_path / "nope" / "c1.json"))
    assert not (tmp_path / "nope").exists()


def test_write_snapshot_leaves_no_temporary_file_on_error(tmp_path):
    path = tmp_path / "c1.json"
    path.write_text('{"cluster": "c1"}')
    with pytest.raises(TypeError):
        _mesh_read.write_snapshot(str(path), {"cluster": "c1", "not_json": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.json"] and json.loads(path.read_text()) == {"cluster": "c1"}


def test_clusters_mode_reads_each_cluster_with_its_own_connection_and_reports_failures_per_cluster(monkeypatch, tmp_path, capsys):
    connections = {}

    def fake_client(params):
        connections[params["context"]] = dict((key, params.get(key)) for key in ("kubeconfig", "context", "api_key"))
        return params["context"]

    def fake_snapshot(api_client, **kwargs):
        if api_client == "ctx-down":
            raise mesh_snapshot.SnapshotError("cluster %s: GET /api/v1/namespaces failed: 503 Service Unavailable" % kwargs["cluster_name"])
        return {"cluster": kwargs["cluster_name"], "requests": 13, "missing": [], "seconds": 0.1, "network": kwargs["expected_network"]}
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "create_api_client", fake_client)
    rc, out = run({
        "kubeconfig": "/module/level/kubeconfig", "context": "module-level",  # as module_defaults would pass: not used for the clusters
        "clusters": [
            {"name": "h1", "cluster_name": "c1", "context": "ctx-1", "kubeconfig": "/kc1", "expected_network": "n1",
             "snapshot_file": str(tmp_path / "h1.json")},
            {"name": "h2", "cluster_name": "c2", "context": "ctx-down", "api_key": "tok-secret-2", "snapshot_file": str(tmp_path / "h2.json")},
        ],
        "attempts": 2, "attempt_delay": 0, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False
    assert out["clusters"] == [
        {"name": "h1", "attempts": 1, "snapshot_file": str(tmp_path / "h1.json"),
         "summary": {"cluster": "c1", "requests": 13, "missing": [], "seconds": 0.1}},
        {"name": "h2", "attempts": 2, "failed": True, "msg": "cluster c2: GET /api/v1/namespaces failed: 503 Service Unavailable"}]
    assert json.loads((tmp_path / "h1.json").read_text())["network"] == "n1" and not (tmp_path / "h2.json").exists()
    assert connections == {"ctx-1": {"kubeconfig": "/kc1", "context": "ctx-1", "api_key": None},
                           "ctx-down": {"kubeconfig": None, "context": "ctx-down", "api_key": "tok-secret-2"}}
    assert "tok-secret-2" not in json.dumps(out)


def test_clusters_mode_refuses_several_clusters_without_their_own_context(monkeypatch, tmp_path, capsys):
    fake(monkeypatch)
    rc, out = run({"context": "module-level", "clusters": [
        {"name": "h1", "context": "ctx-1", "snapshot_file": str(tmp_path / "h1.json")},
        {"name": "h2", "snapshot_file": str(tmp_path / "h2.json")},
        {"name": "h3", "snapshot_file": str(tmp_path / "h3.json")}]}, capsys)
    assert rc == 1 and out["msg"].startswith("clusters h2, h3: no context and no host.") and not list(tmp_path.iterdir())


def test_clusters_mode_excludes_the_single_cluster_options(tmp_path, capsys):
    rc, out = run({"cluster_name": "c1", "clusters": [{"name": "h1", "snapshot_file": str(tmp_path / "h1.json")}]}, capsys)
    assert rc == 1 and "mutually exclusive" in out["msg"]


def test_clusters_mode_returns_the_snapshot_of_a_cluster_without_a_file(monkeypatch, tmp_path, capsys):
    snap = fake(monkeypatch)
    rc, out = run({"clusters": [{"name": "h1", "context": "ctx-1"}, {"name": "h2", "context": "ctx-2", "snapshot_file": str(tmp_path / "h2.json")}]},
                  capsys)
    assert rc == 0 and out["clusters"][0] == {"name": "h1", "attempts": 1, "snapshot": snap,
                                              "summary": {"cluster": "c1", "requests": 12, "missing": ["x"], "seconds": 0.5}}
    assert "snapshot" not in out["clusters"][1] and json.loads((tmp_path / "h2.json").read_text()) == snap


def test_clusters_are_read_without_the_cyclic_garbage_collector_and_it_is_back_after(monkeypatch, capsys):
    seen = []

    def fake_snapshot(api_client, **kwargs):
        seen.append(gc.isenabled())
        if kwargs["context"] == "ctx-down":
            raise mesh_snapshot.SnapshotError("cluster down: GET /api/v1/namespaces failed")
        return {"cluster": kwargs["context"], "requests": 12, "missing": [], "seconds": 0.1}
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "create_api_client", lambda params: object())
    assert gc.isenabled()
    rc, out = run({"clusters": [{"name": "h1", "context": "ctx-1"}, {"name": "h2", "context": "ctx-down"}]}, capsys)
    assert rc == 0 and out["clusters"][1]["failed"] and seen == [False, False]
    assert gc.isenabled()
