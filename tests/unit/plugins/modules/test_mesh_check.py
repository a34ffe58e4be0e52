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
    assert rc == 1 and "one of the following is required: snapshots, snapshot_files" in out["msg"]


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
