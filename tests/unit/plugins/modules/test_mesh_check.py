# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gc
import json
import os
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils", "checks"))

from mesh_fixtures import healthy  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_read  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.modules import mesh_check  # noqa: E402


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mesh_check.main()
    out = json.loads(capsys.readouterr().out)
    return exc.value.code, out


def fake_clusters(monkeypatch, snaps, down=()):
    """take_snapshot reads the fixture snapshot of the context's cluster; contexts in `down` answer 503."""
    connections = {}

    def fake_client(params):
        connections[params["context"]] = dict((key, params.get(key)) for key in ("kubeconfig", "context", "api_key"))
        return params["context"]

    def fake_snapshot(api_client, **kwargs):
        if api_client in down:
            raise RuntimeError("cluster %s: GET /api/v1/namespaces failed: 503 Service Unavailable" % kwargs["cluster_name"])
        snap = json.loads(json.dumps(snaps[api_client]))
        snap["expected"] = {"network": kwargs["expected_network"], "trust_domain": kwargs["expected_trust_domain"]}
        return snap
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "connect", fake_client)
    return connections


def cluster_args(snaps, **extra):
    return [dict({"name": "h-%s" % name, "context": name, "cluster_name": name, "expected_network": name,
                  "expected_trust_domain": snap["mesh_config"]["trust_domain"]}, **extra) for name, snap in snaps.items()]


def check(monkeypatch, capsys, snaps, **args):
    """Run the module on the fixture snapshots (every certificate check included), read through fake clusters."""
    fake_clusters(monkeypatch, snaps)
    return run(dict({"clusters": cluster_args(snaps)}, **args), capsys)


def test_healthy_passes_and_writes_reports(monkeypatch, tmp_path, capsys):
    rc, out = check(monkeypatch, capsys, healthy(), reports_dir=str(tmp_path / "r"), verbose=True)
    assert rc == 0 and not out.get("failed") and out["changed"] is True  # the reports are new
    assert out["summary"]["passed"] is True and out["summary"]["unread_clusters"] == []
    assert {"intermediate_certs", "spire_upstream_ca"} <= set(c["id"] for c in out["summary"]["checks"])
    assert set(out["report_files"]) == {"json", "junit", "html", "text"}
    for path in out["report_files"].values():
        assert os.path.getsize(path) > 100
    assert "--- Peers Check ---" in out["report_lines"]
    assert "--- Intermediate Certs Compatibility Check ---" in out["report_lines"]
    assert "✅ Intermediate Certs Compatibility Check: all clusters have compatible intermediate certificates" in out["report_lines"]
    assert any(line.startswith("✅ SPIRE Upstream CA Check: SPIRE upstream CA chains to the shared root (SHA256 ") for line in out["report_lines"])


def test_reports_are_rewritten_only_when_they_change(monkeypatch, tmp_path, capsys):
    snaps = healthy()
    rc, first = check(monkeypatch, capsys, snaps, reports_dir=str(tmp_path / "r"))
    assert rc == 0 and first["changed"] is True
    stamps = dict((path, os.stat(path).st_mtime_ns) for path in first["report_files"].values())
    for path in stamps:
        os.utime(path, ns=(1, 1))
    rc, second = check(monkeypatch, capsys, snaps, reports_dir=str(tmp_path / "r"))
    assert rc == 0 and second["changed"] is False and second["report_files"] == first["report_files"]
    assert all(os.stat(path).st_mtime_ns == 1 for path in stamps)  # not rewritten
    snaps["cluster2"]["pods"]["istiod"][0]["ready"] = False
    rc, third = check(monkeypatch, capsys, snaps, reports_dir=str(tmp_path / "r"), fail_on_error=False)
    assert rc == 0 and third["changed"] is True
    assert json.loads(open(third["report_files"]["json"]).read())["summary"]["failed_checks"] == ["pods_istiod"]


def test_failure_fails_task_with_findings(monkeypatch, capsys):
    snaps = healthy()
    snaps["cluster2"]["istiod_deployments"][0]["env"]["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "false"
    rc, out = check(monkeypatch, capsys, snaps)
    assert rc == 1 and out["failed"] and out["msg"] == "multicluster check found issues: env_vars"
    assert out["summary"]["failed_checks"] == ["env_vars"] and out["findings"]
    rc, out = check(monkeypatch, capsys, snaps, fail_on_error=False)
    assert rc == 0 and not out["summary"]["passed"]


def test_precheck_does_not_fail_on_missing_peers(monkeypatch, capsys):
    snaps = healthy()
    for snap in snaps.values():
        snap["gateways"] = [g for g in snap["gateways"] if g["class"] != "istio-remote"]
    rc, out = check(monkeypatch, capsys, snaps)
    assert rc == 1 and out["summary"]["failed_checks"] == ["peers"]
    rc, out = check(monkeypatch, capsys, snaps, precheck=True)
    assert rc == 0 and out["summary"]["passed"]


def test_check_mode_writes_nothing_and_predicts_the_change(monkeypatch, tmp_path, capsys):
    rc, out = check(monkeypatch, capsys, healthy(), reports_dir=str(tmp_path / "r"), _ansible_check_mode=True)
    assert rc == 0 and "report_files" not in out and not (tmp_path / "r").exists() and out["changed"] is True
    rc, out = check(monkeypatch, capsys, healthy(), reports_dir=str(tmp_path / "r"))
    assert rc == 0 and out["changed"] is True
    before = dict((p.name, p.read_bytes()) for p in (tmp_path / "r").iterdir())
    rc, out = check(monkeypatch, capsys, healthy(), reports_dir=str(tmp_path / "r"), _ansible_check_mode=True)
    assert rc == 0 and out["changed"] is False
    snaps = healthy()
    snaps["cluster1"]["pods"]["ztunnel"][0]["ready"] = False
    rc, out = check(monkeypatch, capsys, snaps, reports_dir=str(tmp_path / "r"), fail_on_error=False, _ansible_check_mode=True)
    assert rc == 0 and out["changed"] is True and out["summary"]["failed_checks"] == ["pods_ztunnel"]
    assert dict((p.name, p.read_bytes()) for p in (tmp_path / "r").iterdir()) == before  # nothing written, nothing left behind


def test_bad_inputs(monkeypatch, tmp_path, capsys):
    snaps = healthy()
    connections = fake_clusters(monkeypatch, snaps)
    rc, out = run({"clusters": cluster_args(snaps), "checks": ["nope"]}, capsys)
    assert rc == 1 and "unknown check ids nope" in out["msg"]
    twice = cluster_args(snaps)
    twice[1]["cluster_name"] = "cluster1"
    twice[1]["context"] = "cluster1"
    rc, out = run({"clusters": twice}, capsys)
    assert rc == 1 and "two snapshots for cluster cluster1" in out["msg"]
    connections.clear()
    rc, out = run({"clusters": cluster_args(snaps), "root_ca_bundle": str(tmp_path / "none.pem")}, capsys)
    assert rc == 1 and "cannot read root_ca_bundle" in out["msg"] and connections == {}  # refused before reading
    rc, out = run({"clusters": []}, capsys)
    assert rc == 1 and out["msg"] == "clusters: no cluster given"
    rc, out = run({"precheck": True}, capsys)
    assert rc == 1 and out["msg"] == "missing required arguments: clusters"
    for removed in ("snapshots", "snapshot_files", "remove_snapshot_files"):
        rc, out = run({"clusters": cluster_args(snaps), removed: []}, capsys)
        assert rc == 1 and "Unsupported parameters" in out["msg"] and removed in out["msg"]


def test_clusters_are_read_and_evaluated_in_one_run(monkeypatch, tmp_path, capsys):
    snaps = healthy(3)
    snaps["cluster2"]["istiod_deployments"][0]["env"]["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "false"
    connections = fake_clusters(monkeypatch, snaps)
    clusters = cluster_args(snaps, kubeconfig="/kc", api_key="tok-secret-1")
    rc, read = run({"clusters": clusters, "fail_on_error": False, "reports_dir": str(tmp_path / "r"), "_ansible_check_mode": True}, capsys)
    assert rc == 0 and read["summary"]["failed_checks"] == ["env_vars"]
    assert [(e["name"], e["attempts"], e["summary"]["cluster"]) for e in read["clusters"]] == [
        ("h-cluster1", 1, "cluster1"), ("h-cluster2", 1, "cluster2"), ("h-cluster3", 1, "cluster3")]
    assert all("snapshot" not in e and "failed" not in e for e in read["clusters"])  # the snapshots stay in the module
    assert sorted(connections) == ["cluster1", "cluster2", "cluster3"] and connections["cluster1"]["api_key"] == "tok-secret-1"
    assert "tok-secret-1" not in json.dumps(read) and not (tmp_path / "r").exists()  # check mode: no report file
    assert read["summary"]["clusters"] == ["cluster1", "cluster2", "cluster3"]


def test_a_cluster_that_cannot_be_read_is_reported_and_the_mesh_not_passed(monkeypatch, tmp_path, capsys):
    """The clusters read are checked; the verdict, in the result and every report, says the mesh was not fully checked."""
    snaps = healthy(3)
    fake_clusters(monkeypatch, snaps, down=("cluster3",))
    rc, out = run({"clusters": cluster_args(snaps), "attempts": 2, "attempt_delay": 0, "skip_checks": ["peers", "network"],
                   "reports_dir": str(tmp_path / "r"), "fail_on_error": False}, capsys)
    why = "cluster cluster3: GET /api/v1/namespaces failed: 503 Service Unavailable"
    assert rc == 0 and out["clusters"][2] == {"name": "h-cluster3", "attempts": 2, "failed": True, "msg": why}
    summary = out["summary"]
    assert summary["passed"] is False and summary["unread_clusters"] == ["cluster3"]
    assert summary["clusters"] == ["cluster1", "cluster2", "cluster3"] and summary["failed_checks"] == ["cluster_read"]
    assert [f for f in out["findings"] if f["check"] == "cluster_read"] == [{
        "check": "cluster_read", "cluster": "cluster3", "level": "error", "message": "not checked: " + why,
        "hint": "The cluster was not checked. Check its connection (kubeconfig, context, credentials) and that its API server answers "
                "(`kubectl get ns --context <ctx>`), then run the mesh check again."}]
    lines = out["report_lines"]
    assert "❌ Cluster Read Check: not checked: " + why in lines
    assert "❌ Multicluster check incomplete: cluster3 could not be read, the mesh was not fully checked" in lines
    assert not any("Multicluster check passed" in line for line in lines)
    files = out["report_files"]
    report = json.loads(open(files["json"]).read())
    assert report["summary"]["passed"] is False and report["summary"]["unread_clusters"] == ["cluster3"]
    junit = open(files["junit"]).read()
    assert '<testcase classname="mesh_check.cluster_read" name="Cluster Read Check [cluster3]"><failure' in junit
    html = open(files["html"]).read()
    assert "Multicluster check not fully checked (cluster3 could not be read)" in html and "Multicluster check passed" not in html
    assert "❌ Multicluster check incomplete: cluster3 could not be read" in open(files["text"]).read()
    rc, out = run({"clusters": cluster_args(snaps), "attempt_delay": 0, "skip_checks": ["peers", "network"]}, capsys)
    assert rc == 1 and out["msg"] == "multicluster check found issues: cluster_read"


def test_no_cluster_read_fails_with_every_reason(monkeypatch, capsys):
    snaps = healthy(2)
    fake_clusters(monkeypatch, snaps, down=("cluster1", "cluster2"))
    rc, out = run({"clusters": cluster_args(snaps)}, capsys)
    assert rc == 1 and out["msg"] == ("no cluster could be read: cluster cluster1: GET /api/v1/namespaces failed: 503 Service Unavailable; "
                                      "cluster cluster2: GET /api/v1/namespaces failed: 503 Service Unavailable")
    assert [e["failed"] for e in out["clusters"]] == [True, True]


def test_several_clusters_without_their_own_context_are_refused_before_reading(monkeypatch, capsys):
    snaps = healthy(2)
    connections = fake_clusters(monkeypatch, snaps)
    rc, out = run({"clusters": [{"name": "h1", "context": "cluster1"}, {"name": "h2"}]}, capsys)
    assert rc == 1 and out["msg"].startswith("clusters h2: no context and no host.") and connections == {}
    rc, out = run({"clusters": [{"name": "h1", "context": "cluster1"}, {"name": "h1", "context": "cluster2"}]}, capsys)
    assert rc == 1 and out["msg"] == "clusters: every name must be unique" and connections == {}


TOKEN = "tok-ENTIRELY-secret-7f3a"
KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "cluster1",
              "clusters": [{"name": "cluster1", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": "Q0EtZGF0YQ=="}}],
              "users": [{"name": "u1", "user": {"token": TOKEN, "auth-provider": {"config": {
                  "access-token": "access-" + TOKEN, "refresh-token": "refresh-" + TOKEN, "secret": "secret-" + TOKEN}}}}],
              "contexts": [{"name": "cluster1", "context": {"cluster": "cluster1", "user": "u1"}}]}


@pytest.mark.parametrize("args,fragment", [
    ({"checks": ["nope"]}, "unknown check ids nope"),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster1"},
                   {"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster2"}]}, "clusters: every name must be unique"),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster1"}, {"name": "h2", "kubeconfig": KUBECONFIG}]},
     "clusters h2: no context and no host."),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "nope"}]}, "could not load kubeconfig (dict) (context nope)"),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster1", "bogus": 1}]}, "Unsupported parameters"),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster1"}], "report_formats": ["pdf"]}, "report_formats"),
    ({"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "api_key": "api-" + TOKEN, "password": "pw-" + TOKEN,
                    "proxy_headers": {"proxy_basic_auth": "u:proxy-" + TOKEN}}], "warning_days": "many"}, "warning_days"),
])
def test_secrets_are_masked_in_every_early_failure(args, fragment, capsys):
    params = {"clusters": [{"name": "h1", "kubeconfig": KUBECONFIG, "context": "cluster1"}], "_ansible_verbosity": 3}
    params.update(args)
    rc, out = run(params, capsys)
    text = json.dumps(out)
    assert rc == 1 and fragment in out["msg"], out["msg"]
    assert TOKEN not in text and "Q0EtZGF0YQ==" not in text
    assert "cluster1" in json.dumps(out["invocation"])  # only the secrets are masked, not the names


def test_clusters_are_read_without_the_cyclic_garbage_collector_and_it_is_back_after(monkeypatch, capsys):
    snaps = healthy(2)
    seen = []

    def fake_snapshot(api_client, **kwargs):
        seen.append(gc.isenabled())
        if kwargs["context"] == "cluster2":
            raise RuntimeError("cluster cluster2: GET /api/v1/namespaces failed")
        return json.loads(json.dumps(snaps[kwargs["context"]]))
    monkeypatch.setattr(_mesh_read, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(_mesh_read, "connect", lambda params: object())
    assert gc.isenabled()
    rc, out = run({"clusters": cluster_args(snaps), "fail_on_error": False}, capsys)
    assert rc == 0 and out["clusters"][1]["failed"] and seen == [False, False]
    assert gc.isenabled()
