# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args

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
    monkeypatch.setattr(mesh_snapshot, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(mesh_snapshot, "create_api_client", lambda params: object())
    rc, out = run({"cluster_name": "c1", "expected_network": "n1", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False and out["snapshot"] == {"cluster": "c1", "requests": 13}
    assert captured["expected_network"] == "n1" and captured["istio_namespace"] == "istio-system"


def fake(monkeypatch):
    snap = {"cluster": "c1", "requests": 12, "missing": ["x"], "seconds": 0.5, "pod_index": ["ns/p%d" % i for i in range(100)]}
    monkeypatch.setattr(mesh_snapshot, "take_snapshot", lambda api_client, **kwargs: snap)
    monkeypatch.setattr(mesh_snapshot, "create_api_client", lambda params: object())
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
        mesh_snapshot.write_snapshot(str(path), {"cluster": "c1", "not_json": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.json"] and json.loads(path.read_text()) == {"cluster": "c1"}
