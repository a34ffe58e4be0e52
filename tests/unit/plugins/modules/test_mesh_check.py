# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils", "checks"))

from mesh_fixtures import healthy  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_read  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.modules import mesh_check  # noqa: E402

NO_PKI = ["intermediate_certs", "spire_upstream_ca"]


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            mesh_check.main()
    out = json.loads(capsys.readouterr().out)
    return exc.value.code, out


def test_healthy_passes_and_writes_reports(tmp_path, capsys):
    rc, out = run({"snapshots": list(healthy().values()), "skip_checks": NO_PKI, "reports_dir": str(tmp_path / "r"), "verbose": True}, capsys)
    assert rc == 0 and not out.get("failed") and out["changed"] is False
    assert out["summary"]["passed"] is True
    assert set(out["report_files"]) == {"json", "junit", "html", "text"}
    for path in out["report_files"].values():
        assert os.path.getsize(path) > 100
    assert "--- Peers Check ---" in out["report_lines"]


def test_failure_fails_task_with_findings(capsys):
    snaps = healthy()
    snaps["cluster2"]["istiod_deployments"][0]["env"]["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "false"
    rc, out = run({"snapshots": list(snaps.values()), "skip_checks": NO_PKI}, capsys)
    assert rc == 1 and out["failed"] and out["msg"] == "multicluster check found issues: env_vars"
    assert out["summary"]["failed_checks"] == ["env_vars"] and out["findings"]
    rc, out = run({"snapshots": list(snaps.values()), "skip_checks": NO_PKI, "fail_on_error": False}, capsys)
    assert rc == 0 and not out["summary"]["passed"]


def test_precheck_does_not_fail_on_missing_peers(capsys):
    snaps = healthy()
    for snap in snaps.values():
        snap["gateways"] = [g for g in snap["gateways"] if g["class"] != "istio-remote"]
    rc, out = run({"snapshots": list(snaps.values()), "skip_checks": NO_PKI}, capsys)
    assert rc == 1 and out["summary"]["failed_checks"] == ["peers"]
    rc, out = run({"snapshots": list(snaps.values()), "skip_checks": NO_PKI, "precheck": True}, capsys)
    assert rc == 0 and out["summary"]["passed"]


def test_check_mode_writes_nothing(tmp_path, capsys):
    rc, out = run({"snapshots": list(healthy().values()), "skip_checks": NO_PKI, "reports_dir": str(tmp_path / "r"), "_ansible_check_mode": True},
                  capsys)
    assert rc == 0 and "report_files" not in out and not (tmp_path / "r").exists()


def test_bad_inputs(tmp_path, capsys):
    rc, out = run({"snapshots": list(healthy().values()), "checks": ["nope"]}, capsys)
    assert rc == 1 and "unknown check ids nope" in out["msg"]
    snap = healthy()["cluster1"]
    rc, out = run({"snapshots": [snap, snap]}, capsys)
    assert rc == 1 and "two snapshots for cluster cluster1" in out["msg"]
    rc, out = run({"snapshots": list(healthy().values()), "root_ca_bundle": str(tmp_path / "none.pem")}, capsys)
    assert rc == 1 and "cannot read root_ca_bundle" in out["msg"]
    rc, out = run({"snapshots": []}, capsys)
    assert rc == 1 and out["msg"] == "no snapshots given"


def write_files(tmp_path, snaps):
    paths = []
    for name, snap in snaps.items():
        path = tmp_path / ("%s.json" % name)
        path.write_text(json.dumps(snap))
        paths.append(str(path))
    return paths


def test_snapshot_files_give_the_same_result_as_snapshots(tmp_path, capsys):
    snaps = healthy()
    snaps["cluster2"]["istiod_deployments"][0]["env"]["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "false"
    rc, direct = run({"snapshots": list(snaps.values()), "skip_checks": NO_PKI, "fail_on_error": False}, capsys)
    rc2, files = run({"snapshot_files": write_files(tmp_path, snaps), "skip_checks": NO_PKI, "fail_on_error": False}, capsys)
    assert rc == rc2 == 0 and files["summary"]["failed_checks"] == ["env_vars"]
    assert files["findings"] == direct["findings"] and files["summary"] == direct["summary"]


def test_bad_snapshot_files(tmp_path, capsys):
    paths = write_files(tmp_path, healthy())
    rc, out = run({"snapshot_files": paths + [str(tmp_path / "none.json")]}, capsys)
    assert rc == 1 and out["msg"].startswith("cannot read snapshot file %s" % (tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{not json")
    rc, out = run({"snapshot_files": [str(tmp_path / "bad.json")]}, capsys)
    assert rc == 1 and out["msg"].startswith("snapshot file %s is not valid JSON" % (tmp_path / "bad.json"))
    (tmp_path / "list.json").write_text("[]")
    rc, out = run({"snapshot_files": [str(tmp_path / "list.json")]}, capsys)
    assert rc == 1 and "does not hold a snapshot" in out["msg"]
    rc, out = run({"snapshot_files": [paths[0], paths[0]]}, capsys)
    assert rc == 1 and "two snapshots for cluster cluster1" in out["msg"]
    rc, out = run({"snapshot_files": paths, "snapshots": list(healthy().values())}, capsys)
    assert rc == 1 and "mutually exclusive" in out["msg"]
    rc, out = run({"precheck": True}, capsys)
    assert rc == 1 and "one of the following is required: clusters, snapshots, snapshot_files" in out["msg"]


def test_remove_snapshot_files(tmp_path, capsys):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    paths = write_files(scratch, healthy())
    rc, out = run({"snapshot_files": paths, "skip_checks": NO_PKI, "remove_snapshot_files": True, "_ansible_check_mode": True}, capsys)
    assert rc == 0 and out["summary"]["passed"] and not scratch.exists()  # the files, then the emptied directory
    kept = tmp_path / "kept"
    kept.mkdir()
    paths = write_files(kept, healthy())
    (kept / "other.txt").write_text("not a snapshot")
    (kept / "bad.json").write_text("{")
    rc, out = run({"snapshot_files": paths + [str(kept / "bad.json")], "remove_snapshot_files": True}, capsys)
    assert rc == 1 and "is not valid JSON" in out["msg"]
    assert sorted(p.name for p in kept.iterdir()) == ["other.txt"]  # removed on failure too; a directory not left empty stays
    paths = write_files(kept, healthy())
    rc, out = run({"snapshot_files": paths, "skip_checks": NO_PKI}, capsys)
    assert rc == 0 and all(os.path.exists(p) for p in paths)  # default: only read


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
    monkeypatch.setattr(_mesh_read, "create_api_client", fake_client)
    return connections


def cluster_args(snaps, **extra):
    return [dict({"name": "h-%s" % name, "context": name, "cluster_name": name, "expected_network": name,
                  "expected_trust_domain": snap["mesh_config"]["trust_domain"]}, **extra) for name, snap in snaps.items()]


def test_clusters_are_read_and_evaluated_in_one_run_like_the_same_snapshots(monkeypatch, tmp_path, capsys):
    snaps = healthy(3)
    snaps["cluster2"]["istiod_deployments"][0]["env"]["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "false"
    connections = fake_clusters(monkeypatch, snaps)
    clusters = cluster_args(snaps, kubeconfig="/kc", api_key="tok-secret-1")
    rc, read = run({"clusters": clusters, "skip_checks": NO_PKI, "fail_on_error": False, "reports_dir": str(tmp_path / "r"),
                    "_ansible_check_mode": True}, capsys)
    assert rc == 0 and read["summary"]["failed_checks"] == ["env_vars"]
    assert [(e["name"], e["attempts"], e["summary"]["cluster"]) for e in read["clusters"]] == [
        ("h-cluster1", 1, "cluster1"), ("h-cluster2", 1, "cluster2"), ("h-cluster3", 1, "cluster3")]
    assert all("snapshot" not in e and "failed" not in e for e in read["clusters"])  # the snapshots stay in the module
    assert sorted(connections) == ["cluster1", "cluster2", "cluster3"] and connections["cluster1"]["api_key"] == "tok-secret-1"
    assert "tok-secret-1" not in json.dumps(read) and not (tmp_path / "r").exists()  # check mode: no report file
    expected = [dict(s, expected={"network": n, "trust_domain": s["mesh_config"]["trust_domain"]}) for n, s in snaps.items()]
    rc, given = run({"snapshots": expected, "skip_checks": NO_PKI, "fail_on_error": False}, capsys)
    assert given["findings"] == read["findings"] and given["summary"] == read["summary"]


def test_a_cluster_that_cannot_be_read_is_reported_and_left_out(monkeypatch, tmp_path, capsys):
    snaps = healthy(3)
    fake_clusters(monkeypatch, snaps, down=("cluster3",))
    clusters = cluster_args(snaps)
    clusters[0]["snapshot_file"] = str(tmp_path / "c1.json")
    rc, out = run({"clusters": clusters, "attempts": 2, "attempt_delay": 0, "skip_checks": NO_PKI + ["peers", "network"]}, capsys)
    assert rc == 0 and out["summary"]["clusters"] == ["cluster1", "cluster2"]
    assert out["clusters"][2] == {"name": "h-cluster3", "attempts": 2, "failed": True,
                                  "msg": "cluster cluster3: GET /api/v1/namespaces failed: 503 Service Unavailable"}
    assert out["clusters"][0]["snapshot_file"] == str(tmp_path / "c1.json")
    assert json.loads((tmp_path / "c1.json").read_text())["cluster"] == "cluster1"


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
