# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_read
from ansible_collections.meshops.ambient_spire.plugins.modules import mesh_snapshot_info

TOKEN = "tok-ENTIRELY-secret-91ce"


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mesh_snapshot_info.main()
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


def test_snapshot_is_returned_and_nothing_written(monkeypatch, tmp_path, capsys):
    captured = {}

    def fake_snapshot(api_client, **kwargs):
        captured.update(kwargs)
        return {"cluster": kwargs["cluster_name"], "requests": 13}
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "connect", lambda params: object())
    monkeypatch.chdir(tmp_path)
    rc, out = run({"cluster_name": "c1", "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["changed"] is False and out["snapshot"] == {"cluster": "c1", "requests": 13}
    assert captured["istio_namespace"] == "istio-system" and captured["expected_network"] is None
    assert list(tmp_path.iterdir()) == []


def test_the_removed_write_options_are_refused(capsys):
    for removed in ({"snapshot_file": "/tmp/x.json"}, {"clusters": [{"name": "h1"}]}, {"expected_network": "n1"}):
        rc, out = run(dict({"cluster_name": "c1"}, **removed), capsys)
        assert rc == 1 and "Unsupported parameters" in out["msg"]


def test_connection_options_are_kubernetes_cores(monkeypatch, capsys):
    seen = {}

    def fake_client(params):
        seen.update(params)
        return object()
    monkeypatch.setattr(_mesh_read, "connect", fake_client)
    monkeypatch.setattr(_mesh_read, "take_snapshot", lambda api_client, **kwargs: {"cluster": "c1"})
    rc, out = run({"context": "c1", "impersonate_user": "auditor", "impersonate_groups": ["readers"], "no_proxy": "10.0.0.0/8",
                   "proxy": "http://proxy:3128", "proxy_headers": {"proxy_basic_auth": "u:" + TOKEN}, "verify_ssl": False}, capsys)
    assert rc == 0
    assert (seen["impersonate_user"], seen["impersonate_groups"], seen["no_proxy"], seen["validate_certs"]) == (
        "auditor", ["readers"], "10.0.0.0/8", False)
    assert TOKEN not in json.dumps(out)


@pytest.mark.parametrize("args,fragment", [
    ({"context": "nope"}, "could not load kubeconfig (dict) (context nope)"),
    ({"context": "cluster1", "bogus": 1}, "Unsupported parameters"),
    ({"context": "cluster1", "request_timeout": "soon"}, "request_timeout"),
])
def test_secrets_are_masked_in_every_early_failure(args, fragment, capsys):
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "cluster1",
                  "clusters": [{"name": "cluster1", "cluster": {"server": "https://127.0.0.1:1"}}],
                  "users": [{"name": "u1", "user": {"token": TOKEN, "auth-provider": {"config": {"refresh-token": "r-" + TOKEN}}}}],
                  "contexts": [{"name": "cluster1", "context": {"cluster": "cluster1", "user": "u1"}}]}
    rc, out = run(dict({"kubeconfig": kubeconfig, "cluster_name": "c1", "_ansible_verbosity": 3}, **args), capsys)
    assert rc == 1 and fragment in out["msg"], out["msg"]
    assert TOKEN not in json.dumps(out) and "cluster1" in json.dumps(out["invocation"])
